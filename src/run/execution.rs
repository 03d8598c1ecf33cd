//! How a run executes: which executor (this machine or a Ray cluster), how many jobs at once,
//! generational or steady-state scheduling, how often a job is retried. It is a property of the
//! machine, not of the experiment, so it is given per invocation ([`ExecutionOverrides`], which
//! the command line fills), saved in the run store, and read back by `xnas resume`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::exec::{
    resolve_devices, ExecError, Executor, LocalExecutor, LocalOptions, RayExecutor, RayOptions, WorkerPolicy,
    DEFAULT_STALL_TIMEOUT,
};
use crate::run_dir::RunDir;
use crate::script::{ExperimentSpec, KeepModels, TableMiss};

/// Where jobs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutorKind {
    /// Child processes on this machine.
    #[default]
    Local,
    /// Ray tasks on a cluster.
    Ray,
}

/// When new candidates are bred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheduling {
    /// A barrier per generation: the whole offspring batch is evaluated before survival (the
    /// paper's mode; reproducible for a seed whatever the number of jobs).
    #[default]
    Generational,
    /// A new child as soon as a slot frees, bred from the population as it is then: no slot idles
    /// while a generation's slowest job finishes, at the price of depending on finishing order.
    SteadyState,
}

/// Local: how evaluation processes live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workers {
    /// One long-lived worker per slot that keeps libtorch, the CUDA context and the dataset
    /// loaded between evaluations; replaced when it crashes, after so many jobs, or when it grew.
    #[default]
    Persistent,
    /// A fresh process per evaluation (what every evaluation paid before long-lived workers).
    PerEvaluation,
}

/// Declares [`Execution`] (every setting with its default), [`ExecutionOverrides`] (the same
/// settings, each optional) and [`Execution::with`] from one list, so that a new setting is one
/// entry here (and its flag in `src/cli/run.rs`). `optional` settings default to `None`.
macro_rules! execution_settings {
    (
        always { $( $(#[$doc:meta])* $field:ident: $ty:ty = $default:expr, )* }
        optional { $( $(#[$optional_doc:meta])* $optional:ident: $optional_ty:ty, )* }
    ) => {
        /// Everything about execution a run keeps.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct Execution {
            $( $(#[$doc])* pub $field: $ty, )*
            $( $(#[$optional_doc])* pub $optional: Option<$optional_ty>, )*
        }

        impl Default for Execution {
            fn default() -> Self {
                Execution { $( $field: $default, )* $( $optional: None, )* }
            }
        }

        /// Settings given for one `xnas run` or `xnas resume`; each `Some` replaces the saved (or
        /// default) value. The fields mean what [`Execution`]'s do.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct ExecutionOverrides {
            $( pub $field: Option<$ty>, )*
            $( pub $optional: Option<$optional_ty>, )*
        }

        impl Execution {
            /// These settings with the overrides on top.
            pub fn with(mut self, overrides: &ExecutionOverrides) -> Execution {
                $( if let Some(value) = &overrides.$field { self.$field = value.clone(); } )*
                $( if overrides.$optional.is_some() { self.$optional = overrides.$optional.clone(); } )*
                self
            }
        }
    };
}

execution_settings! {
    always {
        executor: ExecutorKind = ExecutorKind::Local,
        scheduling: Scheduling = Scheduling::Generational,
        /// Local: concurrent jobs on each device.
        jobs_per_device: usize = 1,
        /// Attempts per evaluation when its process, worker or node dies or it ends without a record.
        max_attempts: u32 = 3,
        /// Ray: GPUs per evaluation.
        ray_gpus: f64 = 1.0,
        /// Ray: CPUs per evaluation.
        ray_cpus: f64 = 1.0,
        /// Local: long-lived workers or a process per evaluation.
        workers: Workers = Workers::Persistent,
        /// Local: a long-lived worker is replaced after this many evaluations.
        worker_recycle_after: usize = WorkerPolicy::default().recycle_after,
        /// Local: … or when its resident memory passed this many MiB after an evaluation (0: never).
        worker_max_memory_mib: u64 = WorkerPolicy::default().max_memory_mib.unwrap_or(0),
        /// Local: a worker that writes nothing and uses no CPU time for this many seconds while it
        /// runs a job is killed and the job retried (0: never).
        worker_stall_timeout_s: u64 = DEFAULT_STALL_TIMEOUT.as_secs(),
    }
    optional {
        /// Local: `--devices` as given (`cpu`, `0,1`); `None` follows the experiment's device.
        devices: String,
        /// Local: libtorch CPU threads for all concurrent jobs together; `None`: the machine's cores.
        threads: usize,
        /// Ray: the cluster's address (`HOST:PORT`, or `auto` on a cluster node).
        ray_address: String,
        /// Ray: the Python that runs the driver (default: `$XNAS_PYTHON`, else `python3`).
        ray_python: PathBuf,
        /// Ray: the xnas-worker binary as the worker nodes see it (default: the one beside this xnas).
        ray_program: PathBuf,
        /// `--keep-models`: which trained models the run keeps; `None` follows the script's
        /// `search.keep_models`.
        keep_models: KeepModels,
        /// `--optuna FILE`: the Optuna journal the run appends to (absolute); `None` follows the
        /// script's `search.optuna`.
        optuna: PathBuf,
        /// `--table RUN`: the run folder (absolute) whose records answer every evaluation instead
        /// of a worker (a replay on a simulated clock, `jobs_per_device` slots; see `table.rs`).
        #[serde(skip_serializing_if = "Option::is_none")]
        table: PathBuf,
        /// `--table-miss`: with a table, what a cell it lacks does; `None` follows the script's
        /// `search.table_miss` (an error).
        #[serde(skip_serializing_if = "Option::is_none")]
        table_miss: TableMiss,
    }
}

impl Execution {
    /// These settings with the script's `search.table` and `search.table_miss` where the command
    /// line gave none (the table's path made absolute, so that a resumed run replays from it too).
    pub fn with_script_table(mut self, spec: &ExperimentSpec) -> Execution {
        if self.table.is_none() {
            self.table = spec.search.table.as_ref().map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()));
        }
        if self.table_miss.is_none() && self.table.is_some() {
            self.table_miss = Some(spec.search.table_miss);
        }
        self
    }

    /// Whether evaluations may train (no table, or one whose misses are trained): what needs
    /// the dataset, the devices and a worker.
    pub fn trains(&self) -> bool {
        self.table.is_none() || self.table_miss == Some(TableMiss::Train)
    }

    /// Refuses settings that cannot work, naming the flag.
    pub fn validate(&self) -> Result<(), ExecError> {
        let bad = |m: &str| Err(ExecError::Settings(m.to_string()));
        if self.jobs_per_device == 0 {
            return bad("--jobs-per-device must be at least 1");
        }
        if self.max_attempts == 0 {
            return bad("--max-attempts must be at least 1");
        }
        if self.threads == Some(0) {
            return bad("--threads must be at least 1");
        }
        if self.worker_recycle_after == 0 {
            return bad("--worker-recycle-after must be at least 1");
        }
        if self.table_miss.is_some() && self.table.is_none() {
            return bad("--table-miss says what a cell a table lacks does: give the table too (--table RUN_OR_FILE, \
                        or search.table in the script)");
        }
        if self.executor == ExecutorKind::Ray && self.ray_address.is_none() {
            return bad("--executor ray needs --ray-address HOST:PORT (the address `ray start --head` printed)");
        }
        Ok(())
    }

    fn worker_policy(&self) -> WorkerPolicy {
        WorkerPolicy {
            persistent: self.workers == Workers::Persistent,
            recycle_after: self.worker_recycle_after,
            max_memory_mib: (self.worker_max_memory_mib > 0).then_some(self.worker_max_memory_mib),
            stall_timeout: (self.worker_stall_timeout_s > 0)
                .then(|| std::time::Duration::from_secs(self.worker_stall_timeout_s)),
        }
    }

    /// Starts the executor these settings describe. `device` is the experiment's training device
    /// (after `--device`); `program` this xnas binary.
    pub fn executor(&self, device: &str, program: &Path, run_dir: &Path) -> Result<Box<dyn Executor>, ExecError> {
        self.validate()?;
        let log = Some(RunDir::new(run_dir).file(RunDir::LOG));
        Ok(match self.executor {
            ExecutorKind::Local => Box::new(LocalExecutor::new(LocalOptions {
                program: program.to_path_buf(),
                devices: resolve_devices(self.devices.as_deref(), device, program)?,
                jobs_per_device: self.jobs_per_device,
                cpu_threads: self.threads,
                log,
                workers: self.worker_policy(),
            })?),
            ExecutorKind::Ray => Box::new(RayExecutor::connect(RayOptions {
                address: self.ray_address.clone().expect("validated"),
                python: self.ray_python.clone().unwrap_or_else(|| {
                    std::env::var_os("XNAS_PYTHON").map_or_else(|| PathBuf::from("python3"), PathBuf::from)
                }),
                program: self.ray_program.clone().unwrap_or_else(|| program.to_path_buf()),
                workers: self.worker_policy(),
                num_gpus: self.ray_gpus,
                num_cpus: self.ray_cpus,
                driver_path: RunDir::new(run_dir).file(RunDir::RAY_DRIVER),
                log,
            })?),
        })
    }
}

impl std::fmt::Display for Execution {
    /// Where and how the jobs run, as `xnas status` says it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(table) = &self.table {
            if self.trains() {
                write!(f, "replay from the table {}, the cells it lacks trained on ", table.display())?;
                self.fmt_executor(f)?;
            } else {
                write!(f, "replay from the table {}, {} simulated slot(s)", table.display(), self.jobs_per_device)?;
            }
        } else {
            self.fmt_executor(f)?;
        }
        let scheduling = match self.scheduling {
            Scheduling::Generational => "generational",
            Scheduling::SteadyState => "steady-state",
        };
        write!(f, ", {scheduling} scheduling")
    }
}

impl Execution {
    fn fmt_executor(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.executor {
            ExecutorKind::Ray => write!(f, "ray at {}", self.ray_address.as_deref().unwrap_or_default())?,
            ExecutorKind::Local => {
                write!(f, "local, {} job(s) per device", self.jobs_per_device)?;
                if let Some(devices) = &self.devices {
                    write!(f, " on {devices}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_settings_replace_saved_ones_and_the_rest_stays() {
        let saved = Execution { jobs_per_device: 4, scheduling: Scheduling::SteadyState, ..Execution::default() };
        let args = ExecutionOverrides { jobs_per_device: Some(2), devices: Some("0,1".into()), ..Default::default() };
        let merged = saved.with(&args);
        assert_eq!(merged.jobs_per_device, 2);
        assert_eq!(merged.devices.as_deref(), Some("0,1"));
        assert_eq!(merged.scheduling, Scheduling::SteadyState);
        assert_eq!(merged.keep_models, None, "without the flag, the script's setting holds");
        let all = merged.clone().with(&ExecutionOverrides { keep_models: Some(KeepModels::All), ..Default::default() });
        assert_eq!(all.keep_models, Some(KeepModels::All));
        assert_eq!(serde_json::to_value(&all).unwrap()["keep_models"], "all");
        let json = serde_json::to_value(&merged).unwrap();
        assert_eq!(json["scheduling"], "steady-state");
        // Settings saved by an older xnas (fewer fields) read with defaults.
        let old: Execution = serde_json::from_str(r#"{"executor":"local"}"#).unwrap();
        assert_eq!(old, Execution::default());
    }

    /// Saved execution settings from before they were reshaped (tests/fixtures/settings) read
    /// back and serialise byte for byte as they were saved.
    #[test]
    fn saved_execution_settings_from_before_read_back_byte_identically() {
        for name in ["execution_local.json", "execution_ray.json"] {
            let saved = std::fs::read_to_string(Path::new("tests/fixtures/settings").join(name)).unwrap();
            let execution: Execution = serde_json::from_str(saved.trim_end()).unwrap();
            assert_eq!(serde_json::to_value(&execution).unwrap().to_string(), saved.trim_end(), "{name}");
        }
    }

    /// `xnas status`'s line, as it read the saved JSON by key before the settings were typed.
    #[test]
    fn status_describes_saved_execution_settings_as_before() {
        let saved = |name: &str| -> Execution {
            serde_json::from_str(&std::fs::read_to_string(Path::new("tests/fixtures/settings").join(name)).unwrap())
                .unwrap()
        };
        assert_eq!(
            saved("execution_local.json").to_string(),
            "local, 2 job(s) per device on 0,1, steady-state scheduling"
        );
        assert_eq!(saved("execution_ray.json").to_string(), "ray at 10.0.0.1:6379, generational scheduling");
        assert_eq!(Execution::default().to_string(), "local, 1 job(s) per device, generational scheduling");
    }

    #[test]
    fn settings_that_cannot_work_are_refused_by_flag_name() {
        let ray = Execution { executor: ExecutorKind::Ray, ..Execution::default() };
        assert!(ray.validate().unwrap_err().to_string().contains("--ray-address"));
        let zero = Execution { jobs_per_device: 0, ..Execution::default() };
        assert!(zero.validate().unwrap_err().to_string().contains("--jobs-per-device"));
    }
}
