//! `xnas run` and `xnas resume`: the search loop. It asks the search for candidates, reuses any
//! genome already trained under the same training configuration, sends the rest to an executor
//! (child processes here, or Ray tasks on a cluster; see [`crate::exec`]), scores records with
//! the script's objectives, tells the search, and saves each generation — population, search
//! state and hypervolume — in one transaction. Hot reload swaps the script at generation
//! boundaries.
//!
//! Two schedulings ([`Scheduling`]): generational (a barrier per generation: the whole batch is
//! evaluated, `jobs` at a time, before survival; the results do not depend on how many jobs ran at
//! once) and steady-state (whenever a slot frees, one new child is bred from the population as it
//! is then; generation boundaries are counted in evaluations).
//!
//! Jobs whose process, worker or node dies, or that end without a record, are retried up to
//! `max_attempts` times; every attempt is a row in the store.
//!
//! Crash safety: every evaluation's record is committed as it arrives. Generational runs save
//! the search state at each generation boundary; a resumed run restores it and asks again — the
//! search is deterministic, so it proposes the same candidates, and those already finished are
//! taken from the store instead of being trained again. Steady-state runs save the search state
//! after every ask and tell, so a resumed run knows every candidate that was in flight and runs
//! exactly those again.
//!
//! This file holds the entry points (start, resume) and the run's row in the store ([`run_info`]);
//! `jobs.rs` the queue, retry policy and event loop; `runner.rs` what happens to each evaluation
//! (and the script versions it stores); `events.rs` the run's events and the features that follow
//! them (kept models, the live Optuna journal; `progress.rs` the progress display); `early.rs`
//! what the early-stopping rule is shown after an epoch; `search.rs` the search behind one type;
//! `execution.rs` the executor settings; `models.rs` which trained models the run keeps (its
//! front's, by default); `resume.rs` the experiment a resumed run continues with (the stored
//! script version); `preflight.rs` what is checked before a run starts; `reload.rs` which script
//! edits a running search can take; `from.rs` the records of the run a run started from
//! (`--from`); `table.rs` and `table_file.rs` the table a replay answers from (`--table`), and
//! its file; `refine.rs` `xnas refine`, a run's front trained again with the regularizer as a new
//! run; `study.rs` `xnas run --seeds`, the experiment repeated once per seed, each a run. A stored
//! run read for its report (and its final front) is [`crate::report::input`]'s, a run as an Optuna
//! journal [`crate::optuna`]'s, and the run folder's files, its lock and names [`crate::run_dir`]'s.

mod early;
mod events;
mod execution;
mod from;
mod jobs;
mod landscape;
mod models;
mod preflight;
mod progress;
mod refine;
mod reload;
mod resume;
mod runner;
mod search;
mod study;
mod table;
mod table_file;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;

pub use early::{replay as replay_early_stopping, EarlyStopReplay, ReplayedCandidate};
pub use execution::{Execution, ExecutionOverrides, ExecutorKind, Scheduling, Workers};
pub use from::{FromError, Inherited};
pub use landscape::{table_cells, Landscape, ScoredCell};
pub use models::ModelKeeper;
pub use preflight::{preflight, PreflightError};
pub use refine::{refine, refined_run_name};
pub use resume::ResumeChanges;
pub use runner::{save_version, RunSummary};
pub use search::{exhaustive_order, Member, Search};
pub use study::{
    refined_seed_run_name, resume_study, seed_folders, seed_from, seed_overrides, seed_run_name, start_study,
    SeedOutcome, Seeds, StudyError, SEED_SETTING,
};
pub use table::{Table, TableEntry, TableError};
pub use table_file::{export_table, is_table_file, read_table_file, TableConfiguration, TableHeader};

use crate::exec::{Executor, ReplayExecutor, TableFirstExecutor};
use crate::run_dir::{check_new_run_dir, RunDir, RunLock};
use crate::script::{compile_file, Algorithm, Experiment, ScriptWatcher};
use crate::store::{now, AttemptOutcome, EvalStatus, RunInfo, Store, StoreError};

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub watch: bool,
    /// Overrides the experiment's training device (`cpu`, `cuda:1`, …) without changing what counts
    /// as the same training configuration.
    pub device: Option<String>,
    /// The `xnas-worker` binary that runs evaluations (normally the one beside this xnas).
    pub program: PathBuf,
    /// Progress bars on stderr (when it is a terminal).
    pub progress: bool,
    /// Executor settings given now (on top of those the run saved, on resume).
    pub execution: ExecutionOverrides,
    /// `xnas run --from RUN_DIR`: start from that run's finished evaluations (see `from.rs`).
    pub from: Option<PathBuf>,
}

/// Starts a new run of `script` in `run_dir` (missing, empty, or left by a failed start; see
/// [`check_new_run_dir`]), which it holds locked for as long as it runs.
pub fn start(
    script: &Path,
    run_dir: &Path,
    overrides: &[(String, String)],
    options: &RunOptions,
) -> anyhow::Result<RunSummary> {
    check_new_run_dir(run_dir)?;
    let mut experiment = compile_file(script)?;
    experiment.apply_overrides(overrides)?;
    start_compiled(experiment, script, run_dir, overrides, options)
}

/// [`start`] with the experiment compiled already (`xnas refine` compiles a run's stored script
/// version); `script` is the path the run records for it, `overrides` those applied to it.
pub fn start_compiled(
    experiment: Experiment,
    script: &Path,
    run_dir: &Path,
    overrides: &[(String, String)],
    options: &RunOptions,
) -> anyhow::Result<RunSummary> {
    let Created { store, experiment, overrides, execution, executor, _lock } =
        create(experiment, script, run_dir, overrides, options, true)?;
    let executor = executor.expect("create starts the executor when asked to");
    let search = Search::new(experiment.spec())?;
    eprintln!("xnas run: {} → {}", script.display(), run_dir.display());
    eprintln!("{}", experiment.summary());
    run(store, experiment, script, &overrides, search, run_dir, options, execution, executor)
}

/// Creates the run [`start`] would start — its folder, store, saved overrides and script version,
/// every check done — and trains nothing: `resume` runs it from its first generation exactly as
/// `start` would have (`xnas run --seeds` creates every seed's run before it trains one, so that
/// an interrupted study leaves each seed resumable, see `study.rs`).
pub fn prepare(
    script: &Path,
    run_dir: &Path,
    overrides: &[(String, String)],
    options: &RunOptions,
) -> anyhow::Result<()> {
    check_new_run_dir(run_dir)?;
    let mut experiment = compile_file(script)?;
    experiment.apply_overrides(overrides)?;
    let created = create(experiment, script, run_dir, overrides, options, false)?;
    save_version(&created.store, &created.experiment)?;
    Ok(())
}

/// A new run's folder and store, created and locked: what [`start_compiled`] runs and [`prepare`] leaves.
struct Created {
    store: Store,
    experiment: Experiment,
    /// The overrides the run saved (a fixed search's front resolved into them).
    overrides: Vec<(String, String)>,
    execution: Execution,
    /// Started when asked for, before the store exists.
    executor: Option<Box<dyn Executor>>,
    _lock: RunLock,
}

fn create(
    mut experiment: Experiment,
    script: &Path,
    run_dir: &Path,
    overrides: &[(String, String)],
    options: &RunOptions,
    start_the_executor: bool,
) -> anyhow::Result<Created> {
    check_new_run_dir(run_dir)?;
    let execution = Execution::default().with(&options.execution).with_script_table(experiment.spec());
    execution.validate()?;
    fixed_runs_generationally(&experiment, &execution)?;
    let overrides = resolve_front(&mut experiment, overrides)?;
    let inherited = Inherited::read(options.from.as_deref())?;
    // A replay's objectives are tried on the table's records, the ones they will score.
    let table = read_table(&execution, &experiment)?;
    let real_records = match &table {
        Some(table) => table.sample_records(TABLE_RECORDS_CHECKED),
        None => inherited.records(),
    };
    preflight(&experiment, &execution, options.device.as_deref(), &options.program, &real_records)?;
    if let Some(journal) = execution.optuna.as_ref().or(experiment.spec().search.optuna.as_ref()) {
        crate::optuna::check_journal(journal, run_dir)?;
    }
    std::fs::create_dir_all(run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    let lock = RunLock::acquire(run_dir)?;
    // Again under the lock: another `xnas run` may have taken the folder since the first look.
    check_new_run_dir(run_dir)?;
    inherited.save(run_dir)?;
    // Before the store exists: a wrong cluster address fails here and the same command can be run again.
    let executor = match start_the_executor {
        true => Some(start_executor(&execution, &experiment, run_dir, options, table)?),
        false => None,
    };
    std::fs::write(RunDir::new(run_dir).file(RunDir::OVERRIDES), serde_json::to_string_pretty(&overrides)?)?;
    let absolute = std::path::absolute(script).with_context(|| format!("locating {}", script.display()))?;
    let store = Store::create(run_dir, &run_info(&experiment, &absolute))?;
    store.set_models_by_candidate()?;
    store.set_execution(&execution)?;
    Ok(Created { store, experiment, overrides, execution, executor, _lock: lock })
}

/// Continues the run in `run_dir` (holding it locked): a generational run from its last saved
/// generation, a steady-state run from its last checkpoint with the evaluations that were in
/// flight. It runs the newest script version the store keeps unless `changes` say otherwise.
pub fn resume(run_dir: &Path, options: &RunOptions, changes: &ResumeChanges) -> anyhow::Result<RunSummary> {
    if !Store::db_path(run_dir).exists() {
        return Err(StoreError::Missing { path: Store::db_path(run_dir) }.into());
    }
    let _lock = RunLock::acquire(run_dir)?;
    let store = Store::open(run_dir)?;
    let resume::Resumed { experiment, script, overrides } = resume::resumed_experiment(&store, run_dir, changes)?;
    let execution = store.execution::<Execution>()?.unwrap_or_default().with(&options.execution);
    execution.validate()?;
    fixed_runs_generationally(&experiment, &execution)?;
    store.set_execution(&execution)?;
    preflight(
        &experiment,
        &execution,
        options.device.as_deref(),
        &options.program,
        &preflight::finished_records(&store)?,
    )?;
    // The newest saved state: a steady-state checkpoint (after every ask and tell) or a generation
    // (a steady-state run may have been resumed as generational since, or the other way round).
    let checkpoint = store.checkpoint()?;
    let generation = store.latest_generation()?;
    let search = match (checkpoint, generation) {
        (Some((state, at)), g) if g.as_ref().is_none_or(|g| g.saved_at <= at) => {
            serde_json::from_str::<Search>(&state).context("reading the run's search checkpoint")?
        }
        (_, Some(saved)) => serde_json::from_str::<Search>(&saved.search_state)
            .with_context(|| format!("reading the search state of generation {}", saved.generation))?,
        (_, None) => Search::new(experiment.spec())?,
    };
    reload::compatible(&search, experiment.spec(), &script, run_dir)
        .map_err(|why| anyhow::anyhow!("{}: {why}", script.display()))?;
    let in_flight = search.records().iter().any(|told| told.status == xnas_moo::Status::Pending);
    let interrupted = if in_flight {
        // The state knows every candidate that was in flight: run those evaluations again as they are.
        store.requeue_running()?
    } else {
        // A generation boundary: the search asks the same candidates again (it is deterministic),
        // and the finished ones among them are reused.
        let unfinished: Vec<_> = store
            .evaluations(Some(EvalStatus::Running))?
            .into_iter()
            .chain(store.evaluations(Some(EvalStatus::Queued))?)
            .collect();
        for e in &unfinished {
            store.fail_attempt(
                e.id,
                AttemptOutcome::Interrupted,
                "interrupted (the run stopped before it finished); asked again on resume",
            )?;
        }
        unfinished.len()
    };
    eprintln!(
        "xnas resume: {} at generation {} ({} evaluation(s) were interrupted and run again; finished ones are reused)",
        run_dir.display(),
        search.generation(),
        interrupted
    );
    let table = read_table(&execution, &experiment)?;
    let executor = start_executor(&execution, &experiment, run_dir, options, table)?;
    run(store, experiment, &script, &overrides, search, run_dir, options, execution, executor)
}

/// A fixed list of candidates (or every cell of the space) is one generation that breeds nothing: steady-state scheduling has
/// nothing to gain there, and its evaluation budget counts a population, not the list.
fn fixed_runs_generationally(experiment: &Experiment, execution: &Execution) -> anyhow::Result<()> {
    let algorithm = experiment.spec().search.algorithm;
    let name = match algorithm {
        Algorithm::Fixed => "a fixed list of candidates (search.algorithm \"fixed\")",
        Algorithm::Exhaustive => "an exhaustive search (search.algorithm \"exhaustive\")",
        _ => return Ok(()),
    };
    anyhow::ensure!(
        execution.scheduling == Scheduling::Generational,
        "{name} is one generation: run it with --scheduling generational (its jobs still run --jobs-per-device \
         at a time)"
    );
    Ok(())
}

/// A fixed search's `front_of`: that run's final front is read now and set as `search.genomes`
/// (after any genomes the script lists), an override the run saves, so that it keeps its list
/// whatever happens to the other run. Returns the overrides with it.
fn resolve_front(experiment: &mut Experiment, overrides: &[(String, String)]) -> anyhow::Result<Vec<(String, String)>> {
    let search = &experiment.spec().search;
    let mut overrides = overrides.to_vec();
    if search.algorithm != Algorithm::Fixed {
        return Ok(overrides);
    }
    let Some(dir) = search.front_of.clone() else {
        anyhow::ensure!(
            !search.genomes.is_empty(),
            "search.algorithm \"fixed\" trains the candidates it is given: set search.genomes (e.g. [\"002404\"]) \
             or search.front_of (a run folder whose front to train again)"
        );
        return Ok(overrides);
    };
    // A live run's front is the front so far: a refinement of it would silently miss what is to come.
    if let Some(holder) = RunLock::holder(&dir) {
        anyhow::bail!(
            "{} is still running ({holder}), so its front is not final yet; refine it once it has finished              (`xnas status {}` shows its progress), or stop it first (then its front so far is what is trained)",
            dir.display(),
            dir.display()
        );
    }
    let mut genomes: Vec<String> =
        search.genomes.iter().filter_map(|g| g.parse::<xnas_space::Genome>().ok()).map(|g| g.compact()).collect();
    let front = crate::report::input::front_genomes(&dir)
        .with_context(|| format!("reading the front of {} (search.front_of)", dir.display()))?;
    eprintln!(
        "the front of {} in its report axes: {} architecture(s): {}",
        dir.display(),
        front.len(),
        front.join(" ")
    );
    for genome in front {
        if !genomes.contains(&genome) {
            genomes.push(genome);
        }
    }
    let list = ("search.genomes".to_string(), serde_json::to_string(&genomes)?);
    experiment.apply_overrides(std::slice::from_ref(&list))?;
    overrides.retain(|(key, _)| key != "search.genomes");
    overrides.push(list);
    Ok(overrides)
}

/// How many of a table's records a replay's objectives are tried on before it starts.
const TABLE_RECORDS_CHECKED: usize = 200;

/// The table a replay (`--table`) answers from, read for the experiment's training configuration.
fn read_table(execution: &Execution, experiment: &Experiment) -> Result<Option<Table>, TableError> {
    let Some(dir) = &execution.table else { return Ok(None) };
    Table::read(dir, &experiment.training_hash(), experiment.eval_config()).map(Some)
}

/// The executor the settings describe, for the experiment's device (or `--device`); a replay's
/// when there is a table, in front of the real one when the table's misses are trained.
fn start_executor(
    execution: &Execution,
    experiment: &Experiment,
    run_dir: &Path,
    options: &RunOptions,
    table: Option<Table>,
) -> anyhow::Result<Box<dyn Executor>> {
    let trainer = || -> anyhow::Result<Box<dyn Executor>> {
        let device = options.device.clone().unwrap_or_else(|| experiment.eval_config().device.clone());
        if execution.executor == ExecutorKind::Ray {
            eprintln!("connecting to the Ray cluster at {} …", execution.ray_address.as_deref().unwrap_or("?"));
        }
        Ok(execution.executor(&device, &options.program, run_dir)?)
    };
    let Some(table) = table else { return trainer() };
    let name = table.dir.display().to_string();
    Ok(match execution.trains() {
        true => Box::new(TableFirstExecutor::new(name, table.answers, trainer()?)),
        false => Box::new(ReplayExecutor::new(name, table.answers, table.misses, execution.jobs_per_device)),
    })
}

/// What the store keeps of the run of a compiled experiment, created now.
pub fn run_info(experiment: &Experiment, script: &Path) -> RunInfo {
    let spec = experiment.spec();
    RunInfo {
        name: spec.name.clone(),
        config: serde_json::to_value(spec).expect("a spec serialises"),
        seeds: serde_json::json!({ "search": spec.search.seed, "training": spec.training.seed }),
        script_path: Some(script.display().to_string()),
        created: now(),
        xnas_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

#[allow(clippy::too_many_arguments)]
fn run(
    store: Store,
    experiment: Experiment,
    script: &Path,
    overrides: &[(String, String)],
    search: Search,
    run_dir: &Path,
    options: &RunOptions,
    execution: Execution,
    executor: Box<dyn Executor>,
) -> anyhow::Result<RunSummary> {
    if execution.table.is_some() && !execution.trains() {
        store.commit_without_waiting_for_the_disk()?;
    }
    let version = save_version(&store, &experiment)?;
    let watcher = if options.watch {
        let w = ScriptWatcher::new(script, experiment.clone(), overrides.to_vec())?;
        eprintln!("watching {} file(s) for edits; changes apply at the next generation", w.watched_files().len());
        Some(w)
    } else {
        None
    };
    eprintln!(
        "executor: {}; {} scheduling; up to {} attempt(s) per evaluation",
        executor.describe(),
        match execution.scheduling {
            Scheduling::Generational => "generational",
            Scheduling::SteadyState => "steady-state",
        },
        execution.max_attempts
    );
    let clock = executor.simulated_clock();
    let jobs = jobs::Jobs::new(executor, execution.max_attempts);
    // The features that follow the run: a new one is one more observer here (see `events.rs`).
    let mut observers =
        events::Observers::new(progress::Progress::new(options.progress && std::io::stderr().is_terminal()));
    let models = ModelKeeper::open(run_dir, &store, experiment.objective_names().len())?;
    let model_dirs = models.dirs();
    observers.add(events::KeptModels::new(models, execution.keep_models, &experiment));
    if let Some(path) = execution.optuna.clone().or_else(|| experiment.spec().search.optuna.clone()) {
        observers.add(crate::optuna::LiveJournal::open(&path, run_dir, &store, experiment.spec())?);
        eprintln!("Optuna journal: {} (see it live: optuna-dashboard {})", path.display(), path.display());
    }
    let runner = runner::Runner {
        training_hash: experiment.training_hash(),
        saved_generation: search.generation(),
        slots: jobs.slots(),
        store,
        experiment,
        watcher,
        search,
        execution,
        version,
        device: options.device.clone(),
        started: Instant::now(),
        clock,
        observers,
        summary: RunSummary { run_dir: run_dir.to_path_buf(), ..RunSummary::default() },
        stopping: false,
        exhausted: false,
        inherited: Inherited::load(run_dir)?,
        model_dirs,
        early: Default::default(),
        held: Vec::new(),
        candidate_of_job: Default::default(),
    };
    runner.run(jobs)
}
