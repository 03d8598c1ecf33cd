//! `xnas run SCRIPT` and `xnas resume RUN_DIR`: start or continue a search.

use std::path::PathBuf;

use anyhow::Context;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::Args;

use xnas::run::{
    resume, start, ExecutionOverrides, ExecutorKind, ResumeChanges, RunOptions, RunSummary, Scheduling, Workers,
};
use xnas::run_dir::default_run_dir;
use xnas::script::{parse_override, KeepModels, TableMiss};
use xnas::store::Store;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The experiment script, e.g. experiments/quickstart.rhai.
    pub script: PathBuf,
    /// Run name: results go to runs/NAME (default: the experiment's name). One folder name:
    /// letters, digits, '-', '_' and '.'.
    #[arg(long)]
    pub name: Option<String>,
    /// Results folder anywhere (overrides --name); new, empty, or an earlier failed start's.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Reload the script when it (or a module it imports) changes; applies at the next generation.
    #[arg(long)]
    pub watch: bool,
    /// Train on this device (cpu, cuda, cuda:N, auto) whatever the script says.
    #[arg(long)]
    pub device: Option<String>,
    /// Override a setting, e.g. --set search.population=16 --set training.epochs=1.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Start from an earlier run's finished evaluations (e.g. after an edit its search could not
    /// take, such as another number of objectives): each is re-scored under this script, and
    /// reused instead of trained whenever this search proposes its genome under the same training
    /// configuration (with the old run's seed, the whole first generation). The old run is only read.
    #[arg(long, value_name = "RUN_DIR")]
    pub from: Option<PathBuf>,
    /// Run the experiment once per search seed, each a run in runs/NAME-s<seed>: a range (1..5, both
    /// ends included), a list (1,2,7) or both (1..3,10). The study is `runs/NAME-s*` for resume,
    /// status and `compare --group`.
    #[arg(long, value_name = "LIST")]
    pub seeds: Option<String>,
    #[command(flatten)]
    pub execution: ExecutionArgs,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// A run folder (runs/NAME), or several (a study: runs/NAME-s*), resumed one after another.
    #[arg(required = true, num_args = 1..)]
    pub run_dirs: Vec<PathBuf>,
    /// Reload the script on edits (the run's script file, or --script); applies at the next generation.
    #[arg(long)]
    pub watch: bool,
    #[arg(long)]
    pub device: Option<String>,
    /// Continue with this script file instead of the version stored in the run; the settings it
    /// changes are shown before anything runs.
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// Fix an override, e.g. --set training.epochs=1: replaces the saved override of that key (or
    /// adds one) and is saved for later resumes.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Execution settings replace those the run saved; the others stay.
    #[command(flatten)]
    pub execution: ExecutionArgs,
}

/// Execution settings on the command line; each one given replaces the saved (or default) value.
#[derive(Debug, Clone, Default, Args)]
pub struct ExecutionArgs {
    /// Where evaluations run: `local` (this machine) or `ray` (a Ray cluster, see --ray-address).
    #[arg(long, value_parser = executors())]
    pub executor: Option<ExecutorKind>,
    /// `generational` (a barrier per generation, the paper's mode) or `steady-state` (a new child as
    /// soon as a slot frees).
    #[arg(long, value_parser = schedulings())]
    pub scheduling: Option<Scheduling>,
    /// Local: evaluations running at once on each device.
    #[arg(long, value_name = "K")]
    pub jobs_per_device: Option<usize>,
    /// Local: devices to use, `cpu` or GPU indices (`0,1,2,3`); each job sees only its GPU.
    /// Default: the experiment's device (`cuda`/`auto`: every visible GPU).
    #[arg(long, value_name = "LIST")]
    pub devices: Option<String>,
    /// Local: libtorch CPU threads for all concurrent jobs together (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Attempts per evaluation when its process, worker or node dies (default 3).
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,
    /// Ray: the cluster's address, e.g. 10.0.0.1:6379 (`auto` on a cluster node).
    #[arg(long, value_name = "HOST:PORT")]
    pub ray_address: Option<String>,
    /// Ray: a Python with ray==2.60.0 installed, to run the driver (default: $XNAS_PYTHON or python3).
    #[arg(long, value_name = "PATH")]
    pub ray_python: Option<PathBuf>,
    /// Ray: the xnas-worker binary's path on the worker nodes (default: the one beside this xnas).
    #[arg(long, value_name = "PATH")]
    pub ray_program: Option<PathBuf>,
    /// Ray: GPUs each evaluation requests (default 1; 0 runs on CPU workers).
    #[arg(long, value_name = "N")]
    pub ray_gpus: Option<f64>,
    /// Ray: CPUs each evaluation requests (default 1); also its libtorch threads.
    #[arg(long, value_name = "N")]
    pub ray_cpus: Option<f64>,
    /// Which trained models the run keeps under RUN/models/ID for `xnas export`: `front` (those on
    /// the run's current front), `all` or `none`. Default: the script's `search.keep_models` (front).
    #[arg(long, value_parser = kept_models(), value_name = "WHICH")]
    pub keep_models: Option<KeepModels>,
    /// Append every evaluation to this Optuna journal as the run goes (created if missing; a
    /// resumed run goes on in it without duplicating a trial), for `optuna-dashboard FILE`.
    /// Default: the script's `search.optuna`.
    #[arg(long, value_name = "FILE")]
    pub optuna: Option<PathBuf>,
    /// Local: `persistent` (default: one long-lived worker per slot, libtorch and the dataset stay
    /// loaded between evaluations) or `per-evaluation` (a fresh process for each).
    #[arg(long, value_parser = worker_kinds(), value_name = "HOW")]
    pub workers: Option<Workers>,
    /// Local: replace a long-lived worker after this many evaluations (default 100).
    #[arg(long, value_name = "N")]
    pub worker_recycle_after: Option<usize>,
    /// Local: replace a long-lived worker whose resident memory passed this many MiB after an
    /// evaluation (default 16384; 0: never).
    #[arg(long, value_name = "MIB")]
    pub worker_max_memory: Option<u64>,
    /// Local: a worker that writes no progress and uses no CPU time for this many seconds while it
    /// runs an evaluation (stopped with kill -STOP, hung in a driver) is killed and the evaluation
    /// retried (default 600; 0: never).
    #[arg(long, value_name = "SECONDS")]
    pub worker_stall_timeout: Option<u64>,
    /// Replay the search from a table instead of training: every evaluation is answered by the
    /// record of its canonical cell in this run folder (e.g. an exhaustive search's), trained under
    /// the same training configuration; a cell it lacks stops the run with an error naming it. No
    /// worker starts; time is simulated (--jobs-per-device slots, each record's measured seconds).
    #[arg(long, value_name = "RUN_DIR")]
    pub table: Option<PathBuf>,
    /// With a table (--table or the script's `search.table`): what a cell the table lacks does.
    /// Default: the script's `search.table_miss` (error).
    #[arg(long, value_parser = table_misses(), value_name = "WHAT")]
    pub table_miss: Option<TableMiss>,
}

/// A clap parser for a library enum, its values named as the run stores them (the enum's serde
/// names) and helped as `--help` lists them (an empty help: the value alone): one enum per
/// setting, and clap stays in the cli.
pub(super) fn stored_name<T>(values: &[(&'static str, &'static str)]) -> impl TypedValueParser<Value = T>
where
    T: serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    let possible = values.iter().map(|&(name, help)| match help {
        "" => PossibleValue::new(name),
        help => PossibleValue::new(name).help(help),
    });
    PossibleValuesParser::new(possible).try_map(|name| serde_json::from_value(serde_json::Value::String(name)))
}

fn executors() -> impl TypedValueParser<Value = ExecutorKind> {
    stored_name(&[("local", "Child processes on this machine"), ("ray", "Ray tasks on a cluster")])
}

fn schedulings() -> impl TypedValueParser<Value = Scheduling> {
    let generational = "A barrier per generation: the whole offspring batch is evaluated before survival (the paper's mode; reproducible for a seed whatever the number of jobs)";
    let steady_state = "A new child as soon as a slot frees, bred from the population as it is then: no slot idles while a generation's slowest job finishes, at the price of depending on finishing order";
    stored_name(&[("generational", generational), ("steady-state", steady_state)])
}

fn kept_models() -> impl TypedValueParser<Value = KeepModels> {
    stored_name(&[
        ("front", "The models of the evaluations on the run's current front"),
        ("all", "Every trained model"),
        ("none", "No model"),
    ])
}

fn table_misses() -> impl TypedValueParser<Value = TableMiss> {
    stored_name(&[
        ("error", "Stop the run with an error naming the cell"),
        ("train", "Train it (on the wall clock); the table answers the rest at once"),
    ])
}

fn worker_kinds() -> impl TypedValueParser<Value = Workers> {
    stored_name(&[
        ("persistent", "One long-lived worker per slot"),
        ("per-evaluation", "A fresh process per evaluation"),
    ])
}

impl From<ExecutionArgs> for ExecutionOverrides {
    fn from(args: ExecutionArgs) -> Self {
        ExecutionOverrides {
            // Absolute, so that `xnas resume` from another directory appends to the same file.
            optuna: args.optuna.map(|p| std::path::absolute(&p).unwrap_or(p)),
            // Absolute too: a resumed run replays from the same table.
            table: args.table.map(|p| std::path::absolute(&p).unwrap_or(p)),
            table_miss: args.table_miss,
            executor: args.executor,
            scheduling: args.scheduling,
            jobs_per_device: args.jobs_per_device,
            devices: args.devices,
            threads: args.threads,
            max_attempts: args.max_attempts,
            ray_address: args.ray_address,
            ray_python: args.ray_python,
            ray_program: args.ray_program,
            ray_gpus: args.ray_gpus,
            ray_cpus: args.ray_cpus,
            keep_models: args.keep_models,
            workers: args.workers,
            worker_recycle_after: args.worker_recycle_after,
            worker_max_memory_mib: args.worker_max_memory,
            worker_stall_timeout_s: args.worker_stall_timeout,
        }
    }
}

pub(super) fn options(watch: bool, device: Option<String>, execution: ExecutionArgs) -> anyhow::Result<RunOptions> {
    Ok(RunOptions {
        from: None,
        watch,
        device,
        program: super::worker::worker_program()?,
        progress: true,
        execution: execution.into(),
    })
}

/// The run's closing lines. The evaluation counts are the store's, worded as `xnas status` words
/// them, so the two always agree.
pub(super) fn print_summary(summary: &RunSummary) -> anyhow::Result<()> {
    let counts = Store::open_read_only(&summary.run_dir)?.counts()?;
    println!(
        "run {}: {} generation(s), {} candidate(s) evaluated now ({} trained, {} reused, {} attempt(s) retried), \
         hypervolume {}",
        summary.run_dir.display(),
        summary.generations,
        summary.evaluated,
        summary.trained,
        summary.reused,
        summary.retried,
        summary.hypervolume.map_or("n/a".into(), |v| format!("{v:.4}"))
    );
    println!("evaluations: {counts}");
    println!("report: xnas report {}", summary.run_dir.display());
    // A run that scored nothing found nothing, however it ended: say so in the exit status too.
    if counts.done == 0 && counts.unscored > 0 {
        anyhow::bail!(
            "no candidate of {} could be scored: the objectives failed on every record ({} trained, none scored; \
             the lines above say why). The trainings are kept: fix the objectives, then `xnas run FIXED.rhai \
             --from {}` scores them again without retraining (and refuses objectives that still fail on them)",
            summary.run_dir.display(),
            counts.unscored,
            summary.run_dir.display()
        );
    }
    Ok(())
}

pub(super) fn parse_overrides(overrides: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    Ok(overrides.iter().map(|o| parse_override(o)).collect::<Result<Vec<_>, _>>()?)
}

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    if args.seeds.is_some() {
        return super::study::run_seeds(args);
    }
    let overrides = parse_overrides(&args.overrides)?;
    let run_dir = match (&args.dir, &args.name) {
        (Some(dir), _) => dir.clone(),
        (None, Some(name)) => default_run_dir(name)?,
        (None, None) => {
            let mut experiment = xnas::script::compile_file(&args.script)?;
            experiment.apply_overrides(&overrides)?;
            default_run_dir(experiment.name()).with_context(|| {
                format!("the experiment's name {:?} names its folder under runs/", experiment.name())
            })?
        }
    };
    let options = RunOptions { from: args.from, ..options(args.watch, args.device, args.execution)? };
    let summary = start(&args.script, &run_dir, &overrides, &options)?;
    print_summary(&summary)
}

pub fn run_resume(args: ResumeArgs) -> anyhow::Result<()> {
    let changes = ResumeChanges { script: args.script, overrides: parse_overrides(&args.overrides)? };
    let options = options(args.watch, args.device, args.execution)?;
    if let [run_dir] = args.run_dirs.as_slice() {
        return print_summary(&resume(run_dir, &options, &changes)?);
    }
    super::study::resume_seeds(&args.run_dirs, &options, &changes)
}
