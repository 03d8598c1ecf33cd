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
use crate::script::KeepModels;

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

/// Everything about execution a run keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Execution {
    pub executor: ExecutorKind,
    pub scheduling: Scheduling,
    /// Local: concurrent jobs on each device.
    pub jobs_per_device: usize,
    /// Local: `--devices` as given (`cpu`, `0,1`); `None` follows the experiment's device.
    pub devices: Option<String>,
    /// Local: libtorch CPU threads for all concurrent jobs together; `None`: the machine's cores.
    pub threads: Option<usize>,
    /// Attempts per evaluation when its process, worker or node dies or it ends without a record.
    pub max_attempts: u32,
    /// Ray: the cluster's address (`HOST:PORT`, or `auto` on a cluster node).
    pub ray_address: Option<String>,
    /// Ray: the Python that runs the driver (default: `$XNAS_PYTHON`, else `python3`).
    pub ray_python: Option<PathBuf>,
    /// Ray: the xnas-worker binary as the worker nodes see it (default: the one beside this xnas).
    pub ray_program: Option<PathBuf>,
    /// Ray: GPUs per evaluation.
    pub ray_gpus: f64,
    /// Ray: CPUs per evaluation.
    pub ray_cpus: f64,
    /// `--keep-models`: which trained models the run keeps; `None` follows the script's
    /// `search.keep_models`.
    pub keep_models: Option<KeepModels>,
    /// Local: long-lived workers or a process per evaluation.
    pub workers: Workers,
    /// Local: a long-lived worker is replaced after this many evaluations.
    pub worker_recycle_after: usize,
    /// Local: … or when its resident memory passed this many MiB after an evaluation (0: never).
    pub worker_max_memory_mib: u64,
    /// Local: a worker that writes nothing and uses no CPU time for this many seconds while it
    /// runs a job is killed and the job retried (0: never).
    pub worker_stall_timeout_s: u64,
    /// `--optuna FILE`: the Optuna journal the run appends to (absolute); `None` follows the
    /// script's `search.optuna`.
    pub optuna: Option<PathBuf>,
}

impl Default for Execution {
    fn default() -> Self {
        Execution {
            executor: ExecutorKind::Local,
            scheduling: Scheduling::Generational,
            jobs_per_device: 1,
            devices: None,
            threads: None,
            max_attempts: 3,
            ray_address: None,
            ray_python: None,
            ray_program: None,
            ray_gpus: 1.0,
            ray_cpus: 1.0,
            keep_models: None,
            workers: Workers::Persistent,
            worker_recycle_after: WorkerPolicy::default().recycle_after,
            worker_max_memory_mib: WorkerPolicy::default().max_memory_mib.unwrap_or(0),
            worker_stall_timeout_s: DEFAULT_STALL_TIMEOUT.as_secs(),
            optuna: None,
        }
    }
}

/// Settings given for one `xnas run` or `xnas resume`; each `Some` replaces the saved (or
/// default) value. The fields mean what [`Execution`]'s do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionOverrides {
    pub executor: Option<ExecutorKind>,
    pub scheduling: Option<Scheduling>,
    pub jobs_per_device: Option<usize>,
    pub devices: Option<String>,
    pub threads: Option<usize>,
    pub max_attempts: Option<u32>,
    pub ray_address: Option<String>,
    pub ray_python: Option<PathBuf>,
    pub ray_program: Option<PathBuf>,
    pub ray_gpus: Option<f64>,
    pub ray_cpus: Option<f64>,
    pub keep_models: Option<KeepModels>,
    pub workers: Option<Workers>,
    pub worker_recycle_after: Option<usize>,
    pub worker_max_memory_mib: Option<u64>,
    pub worker_stall_timeout_s: Option<u64>,
    pub optuna: Option<PathBuf>,
}

impl Execution {
    /// These settings with the overrides on top.
    pub fn with(mut self, args: &ExecutionOverrides) -> Execution {
        // Settings that always have a value take the flag's; optional ones take it when given.
        macro_rules! take {
            ($($field:ident),*) => { $( if let Some(v) = &args.$field { self.$field = v.clone(); } )* };
        }
        macro_rules! take_optional {
            ($($field:ident),*) => { $( if args.$field.is_some() { self.$field = args.$field.clone(); } )* };
        }
        take!(
            executor,
            scheduling,
            jobs_per_device,
            max_attempts,
            ray_gpus,
            ray_cpus,
            workers,
            worker_recycle_after,
            worker_max_memory_mib,
            worker_stall_timeout_s
        );
        take_optional!(devices, threads, ray_address, ray_python, ray_program, keep_models, optuna);
        self
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

    #[test]
    fn settings_that_cannot_work_are_refused_by_flag_name() {
        let ray = Execution { executor: ExecutorKind::Ray, ..Execution::default() };
        assert!(ray.validate().unwrap_err().to_string().contains("--ray-address"));
        let zero = Execution { jobs_per_device: 0, ..Execution::default() };
        assert!(zero.validate().unwrap_err().to_string().contains("--jobs-per-device"));
    }
}
