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

mod execution;
mod search;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use xnas_moo::{Candidate, Evaluation};

pub use execution::{Execution, ExecutionArgs, ExecutorKind, Scheduling};
pub use search::Search;

use crate::exec::{ExecEvent, Executor, Job, JobOutcome, JobProgress};
use crate::record::{MeasurementRecord, Status as RecordStatus};
use crate::script::{compile_file, Budget, CallbackOutcome, Experiment, GenerationStats, MemberStats, ScriptWatcher};
use crate::store::{AttemptOutcome, EvalStatus, GenomeMatch, NewEvaluation, NewGeneration, RunInfo, Score, Store};

/// The file in a run folder that keeps the command line's `--set` overrides for `xnas resume`.
pub const OVERRIDES_FILE: &str = "overrides.json";
/// Where children's log lines go.
pub const LOG_FILE: &str = "evaluations.log";

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub watch: bool,
    /// Overrides the experiment's training device (`cpu`, `cuda:1`, …) without changing what counts
    /// as the same training configuration.
    pub device: Option<String>,
    /// The xnas binary that runs evaluations (normally this one).
    pub program: PathBuf,
    /// Progress bars on stderr (when it is a terminal).
    pub progress: bool,
    /// Executor settings from the command line (on top of those the run saved, on resume).
    pub execution: ExecutionArgs,
}

/// What a finished (or stopped) run did.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub run_dir: PathBuf,
    pub generations: u64,
    pub evaluated: usize,
    pub trained: usize,
    pub reused: usize,
    pub failed: usize,
    /// Attempts that were run again after a lost worker or an error.
    pub retried: usize,
    pub hypervolume: Option<f64>,
}

/// Starts a new run of `script` in `run_dir` (which must not hold a run yet).
pub fn start(
    script: &Path,
    run_dir: &Path,
    overrides: &[(String, String)],
    options: &RunOptions,
) -> anyhow::Result<RunSummary> {
    if Store::db_path(run_dir).exists() {
        bail!(
            "{} already holds a run; continue it with `xnas resume {}`, or pick another --name",
            run_dir.display(),
            run_dir.display()
        );
    }
    let execution = Execution::default().with(&options.execution);
    execution.validate()?;
    let mut experiment = compile_file(script)?;
    experiment.apply_overrides(overrides)?;
    crate::script::check(&experiment)?;
    std::fs::create_dir_all(run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    // Before the store exists: a wrong cluster address fails here and the same command can be run again.
    let executor = start_executor(&execution, &experiment, run_dir, options)?;
    std::fs::write(run_dir.join(OVERRIDES_FILE), serde_json::to_string_pretty(overrides)?)?;
    let store = Store::create(run_dir, &RunInfo::for_experiment(&experiment, Some(script)))?;
    store.set_execution(&serde_json::to_value(&execution)?)?;
    let search = Search::new(experiment.spec())?;
    eprintln!("xnas run: {} → {}", script.display(), run_dir.display());
    eprintln!("{}", experiment.summary());
    Runner::new(store, experiment, script, overrides, search, run_dir, options, execution, executor)?.run()
}

/// Continues the run in `run_dir`: a generational run from its last saved generation, a
/// steady-state run from its last checkpoint with the evaluations that were in flight.
pub fn resume(run_dir: &Path, options: &RunOptions) -> anyhow::Result<RunSummary> {
    let store = Store::open(run_dir)?;
    let info = store.run()?;
    let script = PathBuf::from(info.script_path.as_deref().context("the run does not record its script path")?);
    let overrides: Vec<(String, String)> = match std::fs::read_to_string(run_dir.join(OVERRIDES_FILE)) {
        Ok(text) => serde_json::from_str(&text).with_context(|| format!("reading {OVERRIDES_FILE}"))?,
        Err(_) => Vec::new(),
    };
    let saved: Execution = match store.execution()? {
        Some(value) => serde_json::from_value(value).context("reading the run's saved execution settings")?,
        None => Execution::default(),
    };
    let execution = saved.with(&options.execution);
    execution.validate()?;
    store.set_execution(&serde_json::to_value(&execution)?)?;
    let mut experiment = compile_file(&script).with_context(|| {
        format!("recompiling the run's script {} (fix it, or restore the version stored in the run)", script.display())
    })?;
    experiment.apply_overrides(&overrides)?;
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
    let in_flight = search.records().iter().any(|r| r.status == xnas_moo::Status::Pending);
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
    let executor = start_executor(&execution, &experiment, run_dir, options)?;
    Runner::new(store, experiment, &script, &overrides, search, run_dir, options, execution, executor)?.run()
}

/// The executor the settings describe, for the experiment's device (or `--device`).
fn start_executor(
    execution: &Execution,
    experiment: &Experiment,
    run_dir: &Path,
    options: &RunOptions,
) -> anyhow::Result<Box<dyn Executor>> {
    let device = options.device.clone().unwrap_or_else(|| experiment.eval_config().device.clone());
    if execution.executor == ExecutorKind::Ray {
        eprintln!("connecting to the Ray cluster at {} …", execution.ray_address.as_deref().unwrap_or("?"));
    }
    Ok(execution.executor(&device, &options.program, run_dir)?)
}

/// An evaluation waiting for a slot.
#[derive(Debug, Clone)]
struct Queued {
    /// The store's evaluation id (the job id).
    id: i64,
    candidate: u64,
    genome: String,
    /// Attempts already made.
    attempts: u32,
}

struct Runner {
    store: Store,
    experiment: Experiment,
    watcher: Option<ScriptWatcher>,
    search: Search,
    executor: Box<dyn Executor>,
    execution: Execution,
    version: i64,
    training_hash: String,
    device: Option<String>,
    started: Instant,
    progress: bool,
    summary: RunSummary,
    /// Evaluations waiting for a slot (retries go first).
    queue: VecDeque<Queued>,
    /// Evaluations submitted to the executor, by job id.
    running: HashMap<u64, Queued>,
    /// The latest progress of each running job.
    job_progress: BTreeMap<u64, JobProgress>,
    /// Evaluations in a row that ended without a record after all their attempts.
    consecutive_errors: usize,
    /// Evaluations that ended without a record after all their attempts, over the whole run.
    no_record: usize,
    first_error: Option<String>,
    /// Generation boundaries already saved (steady-state counts them as evaluations are told).
    saved_generation: u64,
    /// The script's callback asked to stop.
    stopping: bool,
    bar: ProgressBar,
}

impl Runner {
    #[allow(clippy::too_many_arguments)]
    fn new(
        store: Store,
        experiment: Experiment,
        script: &Path,
        overrides: &[(String, String)],
        search: Search,
        run_dir: &Path,
        options: &RunOptions,
        execution: Execution,
        executor: Box<dyn Executor>,
    ) -> anyhow::Result<Runner> {
        let version = store.add_experiment_version(&experiment)?;
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
        Ok(Runner {
            training_hash: experiment.training_hash(),
            saved_generation: search.generation(),
            executor,
            execution,
            store,
            experiment,
            watcher,
            search,
            version,
            device: options.device.clone(),
            started: Instant::now(),
            progress: options.progress && std::io::stderr().is_terminal(),
            summary: RunSummary {
                run_dir: run_dir.to_path_buf(),
                generations: 0,
                evaluated: 0,
                trained: 0,
                reused: 0,
                failed: 0,
                retried: 0,
                hypervolume: None,
            },
            queue: VecDeque::new(),
            running: HashMap::new(),
            job_progress: BTreeMap::new(),
            consecutive_errors: 0,
            no_record: 0,
            first_error: None,
            stopping: false,
            bar: ProgressBar::hidden(),
        })
    }

    /// Evaluations a steady-state run asks for in all: the budget in evaluations.
    fn evaluation_budget(&self) -> u64 {
        let search = &self.experiment.spec().search;
        match self.experiment.budget() {
            Budget::Evaluations(n) => n,
            Budget::Generations(g) => {
                let offspring = search.offspring.unwrap_or(search.population) as u64;
                search.population as u64 + g.saturating_sub(1) * offspring
            }
        }
    }

    fn budget_reached(&self) -> bool {
        match self.experiment.budget() {
            Budget::Generations(g) => self.search.generation() >= g,
            Budget::Evaluations(n) => self.search.records().len() as u64 >= n,
        }
    }

    fn run(mut self) -> anyhow::Result<RunSummary> {
        let result = self.run_inner();
        self.bar.finish_and_clear();
        if result.is_err() {
            // Whatever is still running is lost with the run; `xnas resume` runs it again.
            self.executor.cancel_all();
        }
        result?;
        self.summary.generations = self.search.generation();
        Ok(self.summary)
    }

    fn run_inner(&mut self) -> anyhow::Result<()> {
        self.recover_in_flight()?;
        match self.execution.scheduling {
            Scheduling::Generational => self.run_generational(),
            Scheduling::SteadyState => self.run_steady_state(),
        }
    }

    /// After a steady-state checkpoint: the candidates the search still waits for are told from
    /// the store when they finished before the crash, and queued again when they did not.
    fn recover_in_flight(&mut self) -> anyhow::Result<()> {
        let pending: Vec<xnas_moo::Record> =
            self.search.records().iter().filter(|r| r.status == xnas_moo::Status::Pending).cloned().collect();
        if pending.is_empty() {
            return Ok(());
        }
        self.bar = self.steady_bar();
        for record in pending {
            let candidate =
                Candidate { id: record.id, x: record.x, parents: record.parents, generation: record.generation };
            let stored = self.store.evaluations_of_candidate(candidate.id)?.pop();
            match stored {
                Some(e) if matches!(e.status, EvalStatus::Queued | EvalStatus::Running) => {
                    self.queue.push_back(Queued {
                        id: e.id,
                        candidate: candidate.id,
                        genome: e.genome.compact(),
                        attempts: e.attempt,
                    });
                }
                Some(e) => {
                    let evaluation = match &e.record {
                        Some(record) => self.score(e.id, record)?,
                        None => Evaluation::Failed(e.error.clone().unwrap_or_else(|| "failed".into())),
                    };
                    self.tell(candidate.id, evaluation)?;
                }
                None => self.dispatch(&[candidate])?,
            }
        }
        Ok(())
    }

    fn run_generational(&mut self) -> anyhow::Result<()> {
        if !self.queue.is_empty() {
            // Left in flight by a steady-state checkpoint: finish them before a new batch.
            self.drain()?;
        }
        if self.budget_reached() {
            eprintln!("the run is already complete ({} generation(s)); see `xnas report`", self.search.generation());
        }
        while !self.budget_reached() {
            self.apply_reload()?;
            let mut repair = self.experiment.search_repair();
            let candidates = self.search.ask_with(&mut repair)?;
            if let Some(error) = repair.error.take() {
                eprintln!("warning: the script's repair failed, so invalid genomes were rejected instead:\n{error}");
            }
            if candidates.is_empty() {
                eprintln!("the search space is exhausted: every genome has been proposed");
                break;
            }
            let generation = candidates[0].generation;
            self.bar = self.generation_bar(generation, candidates.len());
            let no_record_before = self.no_record;
            self.dispatch(&candidates)?;
            let submitted = self.queue.len();
            self.drain()?;
            self.bar.finish_and_clear();
            self.summary.evaluated += candidates.len();
            let outcome = self.finish_generation()?;
            if submitted > 0 && self.no_record - no_record_before == submitted {
                // Every child failed without a record: a setup problem (missing data, bad config,
                // broken install), not a property of the architectures. Stop instead of burning the budget.
                bail!(
                    "every evaluation of generation {} failed without a record, so the run stops (resume it once \
                     fixed). The first error:\n{}\n(children's logs: {})",
                    self.search.generation(),
                    self.first_error.clone().unwrap_or_default(),
                    self.summary.run_dir.join(LOG_FILE).display()
                );
            }
            if outcome == CallbackOutcome::Stop {
                eprintln!("the script's on_generation callback asked to stop");
                break;
            }
        }
        Ok(())
    }

    fn run_steady_state(&mut self) -> anyhow::Result<()> {
        let total = self.evaluation_budget();
        if self.bar.is_hidden() {
            self.bar = self.steady_bar();
        }
        let mut exhausted = false;
        loop {
            while self.executor.in_flight() < self.executor.slots() {
                if let Some(next) = self.queue.pop_front() {
                    self.submit(next)?;
                    continue;
                }
                if exhausted || self.stopping || self.search.records().len() as u64 >= total {
                    break;
                }
                let mut repair = self.experiment.search_repair();
                let candidate = self.search.ask_one_with(&mut repair)?;
                if let Some(error) = repair.error.take() {
                    say(
                        &self.bar,
                        format!(
                            "warning: the script's repair failed, so invalid genomes were rejected instead:\n{error}"
                        ),
                    );
                }
                let Some(candidate) = candidate else {
                    say(&self.bar, "the search space is exhausted: every genome has been proposed".into());
                    exhausted = true;
                    break;
                };
                self.checkpoint()?;
                self.summary.evaluated += 1;
                self.dispatch(&[candidate])?;
            }
            if self.executor.in_flight() == 0 && self.queue.is_empty() {
                break;
            }
            let Some(event) = self.executor.next_event() else { continue };
            self.handle(event)?;
            let patience = self.experiment.spec().search.population.max(self.executor.slots());
            if self.consecutive_errors >= patience {
                bail!(
                    "{} evaluations in a row failed without a record, so the run stops (resume it once fixed). \
                     The first error:\n{}\n(children's logs: {})",
                    self.consecutive_errors,
                    self.first_error.clone().unwrap_or_default(),
                    self.summary.run_dir.join(LOG_FILE).display()
                );
            }
        }
        if self.stopping {
            eprintln!("the script's on_generation callback asked to stop");
        }
        Ok(())
    }

    /// Queues candidates (one transaction), completing at once those whose genome was already
    /// trained under the same training configuration.
    fn dispatch(&mut self, candidates: &[Candidate]) -> anyhow::Result<()> {
        let spec = self.experiment.spec().clone();
        let new: Vec<NewEvaluation> = candidates
            .iter()
            .map(|c| {
                Ok(NewEvaluation {
                    candidate: c.id,
                    genome: spec.space.decode(&c.x).map_err(|e| anyhow::anyhow!("candidate {}: {e}", c.id))?,
                    parents: c.parents.clone(),
                    generation: c.generation,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        let ids = self.store.enqueue(&new, &self.training_hash, self.version)?;
        for ((c, n), &id) in candidates.iter().zip(&new).zip(&ids) {
            if let Some(done) = self.store.find_done(&n.genome, &self.training_hash, GenomeMatch::Exact)? {
                self.store.reuse(id, done.id)?;
                self.summary.reused += 1;
                let record = done.record.expect("done evaluations have records");
                let evaluation = self.score(id, &record)?;
                self.report_line(id, &n.genome.compact(), &record, &evaluation, " (reused, not retrained)");
                self.tell(c.id, evaluation)?;
                continue;
            }
            self.queue.push_back(Queued { id, candidate: c.id, genome: n.genome.compact(), attempts: 0 });
        }
        Ok(())
    }

    /// Hands an evaluation to the executor.
    fn submit(&mut self, queued: Queued) -> anyhow::Result<()> {
        let job = Job { id: queued.id as u64, genome: queued.genome.clone(), config: self.job_config(), threads: None };
        let label = match self.execution.executor {
            ExecutorKind::Local => "local",
            ExecutorKind::Ray => "ray",
        };
        self.store.mark_running(queued.id, label)?;
        self.executor.submit(job).with_context(|| format!("submitting evaluation #{}", queued.id))?;
        self.running.insert(queued.id as u64, queued);
        Ok(())
    }

    /// Runs everything queued to the end (generational: one batch).
    fn drain(&mut self) -> anyhow::Result<()> {
        loop {
            while self.executor.in_flight() < self.executor.slots() {
                let Some(next) = self.queue.pop_front() else { break };
                self.submit(next)?;
            }
            if self.executor.in_flight() == 0 {
                if self.queue.is_empty() {
                    return Ok(());
                }
                continue;
            }
            if let Some(event) = self.executor.next_event() {
                self.handle(event)?;
            }
        }
    }

    fn handle(&mut self, event: ExecEvent) -> anyhow::Result<()> {
        match event {
            ExecEvent::Started { job, worker } => self.store.set_worker(job as i64, &worker)?,
            ExecEvent::Progress { job, progress } => {
                self.job_progress.insert(job, progress);
                self.bar.set_message(progress_message(&self.job_progress));
            }
            ExecEvent::Warning(message) => say(&self.bar, format!("warning: {message}")),
            ExecEvent::Finished { job, outcome } => {
                self.job_progress.remove(&job);
                let queued = self.running.remove(&job).expect("the executor reports jobs this run submitted");
                self.finished(queued, outcome)?;
            }
        }
        Ok(())
    }

    fn finished(&mut self, mut queued: Queued, outcome: JobOutcome) -> anyhow::Result<()> {
        let id = queued.id;
        queued.attempts += 1;
        let evaluation = match outcome {
            JobOutcome::Record(record) => {
                self.store.finish(id, &record)?;
                self.summary.trained += 1;
                self.consecutive_errors = 0;
                let evaluation = self.score(id, &record)?;
                self.report_line(id, &queued.genome, &record, &evaluation, "");
                evaluation
            }
            JobOutcome::Error(ref message) | JobOutcome::Lost(ref message) => {
                let kind =
                    if matches!(outcome, JobOutcome::Lost(_)) { AttemptOutcome::Lost } else { AttemptOutcome::Error };
                let last_line = message.lines().last().unwrap_or("").to_string();
                if queued.attempts < self.execution.max_attempts {
                    self.store.retry(id, kind, message)?;
                    self.summary.retried += 1;
                    say(
                        &self.bar,
                        format!(
                            "  #{id} {} attempt {} {}: {last_line}; trying again ({} of at most {})",
                            queued.genome,
                            queued.attempts,
                            if kind == AttemptOutcome::Lost { "was lost" } else { "failed" },
                            queued.attempts + 1,
                            self.execution.max_attempts
                        ),
                    );
                    self.queue.push_front(queued);
                    return Ok(());
                }
                self.store.fail_attempt(id, kind, message)?;
                self.summary.failed += 1;
                self.consecutive_errors += 1;
                self.no_record += 1;
                say(
                    &self.bar,
                    format!("  #{id} {} FAILED after {} attempt(s): {last_line}", queued.genome, queued.attempts),
                );
                self.first_error.get_or_insert_with(|| message.clone());
                Evaluation::Failed(message.clone())
            }
        };
        self.tell(queued.candidate, evaluation)
    }

    /// Tells the search one result; in steady-state, saves the state and closes a generation
    /// when this result completes one.
    fn tell(&mut self, candidate: u64, evaluation: Evaluation) -> anyhow::Result<()> {
        self.search.tell(vec![(candidate, evaluation)])?;
        self.bar.inc(1);
        if self.execution.scheduling == Scheduling::SteadyState {
            self.checkpoint()?;
            if self.search.generation() > self.saved_generation {
                self.saved_generation = self.search.generation();
                let bar = self.bar.clone();
                bar.suspend(|| -> anyhow::Result<()> {
                    if self.finish_generation()? == CallbackOutcome::Stop {
                        self.stopping = true;
                    }
                    self.apply_reload()?;
                    // A reload may have re-scored the population: keep the newest state newest.
                    self.checkpoint()
                })?;
            }
        }
        Ok(())
    }

    fn checkpoint(&mut self) -> anyhow::Result<()> {
        self.store.save_checkpoint(&serde_json::to_string(&self.search)?)?;
        Ok(())
    }

    /// At a generation boundary: take a new script version if the watcher has one.
    fn apply_reload(&mut self) -> anyhow::Result<()> {
        let Some(watcher) = self.watcher.as_mut() else { return Ok(()) };
        match watcher.poll() {
            None => Ok(()),
            Some(Err(error)) => {
                eprintln!("script edit rejected; the run keeps its last good version:\n{error}");
                Ok(())
            }
            Some(Ok(reload)) => {
                self.experiment = reload.experiment;
                self.version = self.store.add_experiment_version(&self.experiment)?;
                eprintln!("script reloaded (version {}): {}", self.version, describe(&reload.diff));
                if reload.diff.needs_training() {
                    self.training_hash = self.experiment.training_hash();
                    eprintln!(
                        "training settings changed: candidates from now on are trained under the new settings \
                         (records of the old ones are kept but not reused)"
                    );
                }
                if reload.diff.search_changed() {
                    self.search.reconfigure(self.experiment.spec())?;
                }
                if reload.diff.needs_rescoring() {
                    let n = self.rescore_archive()?;
                    eprintln!("re-scored {n} finished evaluation(s) with the new objectives, without retraining");
                }
                Ok(())
            }
        }
    }

    /// Scores every finished record with the current objectives, stores the scores under the
    /// current script version, and hands them to the search.
    fn rescore_archive(&mut self) -> anyhow::Result<usize> {
        let mut by_candidate: HashMap<u64, (i64, MeasurementRecord)> = HashMap::new();
        for e in self.store.evaluations(Some(EvalStatus::Done))? {
            if let Some(record) = e.record {
                by_candidate.insert(e.candidate, (e.id, record));
            }
        }
        let mut scores = Vec::new();
        let mut evaluations: HashMap<u64, Evaluation> = HashMap::new();
        for (&candidate, (id, record)) in &by_candidate {
            let result = self.experiment.score(record).map_err(|e| e.to_string());
            evaluations.insert(
                candidate,
                match &result {
                    Ok(v) => Evaluation::Objectives(v.clone()),
                    Err(e) => Evaluation::Failed(e.clone()),
                },
            );
            scores.push(Score { evaluation: *id, result });
        }
        self.store.save_scores(self.version, &scores)?;
        self.search.rescore(|r| evaluations.get(&r.id).cloned())?;
        Ok(scores.len())
    }

    fn job_config(&self) -> crate::record::EvalConfig {
        let mut config = self.experiment.eval_config().clone();
        if let Some(device) = &self.device {
            config.device = device.clone();
        }
        config
    }

    /// Scores a record with the script's objectives and stores the scores.
    fn score(&mut self, evaluation: i64, record: &MeasurementRecord) -> anyhow::Result<Evaluation> {
        if record.status == RecordStatus::Failed {
            self.summary.failed += 1;
            return Ok(Evaluation::Failed(record.error.clone().unwrap_or_else(|| "training failed".into())));
        }
        let result = self.experiment.score(record).map_err(|e| e.to_string());
        self.store.save_scores(self.version, &[Score { evaluation, result: result.clone() }])?;
        Ok(match result {
            Ok(v) => Evaluation::Objectives(v),
            Err(e) => {
                self.summary.failed += 1;
                Evaluation::Failed(format!("scoring failed: {e}"))
            }
        })
    }

    fn report_line(&self, id: i64, genome: &str, record: &MeasurementRecord, evaluation: &Evaluation, note: &str) {
        let names = self.experiment.objective_names();
        let line = match evaluation {
            Evaluation::Objectives(v) => {
                let parts: Vec<String> = names.iter().zip(v).map(|(n, x)| format!("{n} {x:.4}")).collect();
                format!("  #{id} {genome} {} ({:.1}s){note}", parts.join(", "), record.train_seconds)
            }
            Evaluation::Failed(reason) => format!("  #{id} {genome} FAILED: {reason}{note}"),
        };
        say(&self.bar, line);
    }

    /// A steady-state run's bar: evaluations told out of the whole budget.
    fn steady_bar(&self) -> ProgressBar {
        let total = self.evaluation_budget();
        let told = self.search.records().iter().filter(|r| r.status != xnas_moo::Status::Pending).count() as u64;
        if !self.progress {
            eprintln!("steady-state: {told}/{total} evaluation(s) done");
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("[{bar:30}] {pos}/{len} evaluated ({elapsed}, ETA {eta}) {msg}")
                .expect("static template")
                .progress_chars("=> "),
        );
        bar.set_position(told);
        bar.enable_steady_tick(Duration::from_millis(500));
        bar
    }

    fn generation_bar(&self, generation: u64, total: usize) -> ProgressBar {
        let budget = match self.experiment.budget() {
            Budget::Generations(g) => format!("generation {}/{g}", generation + 1),
            Budget::Evaluations(n) => {
                format!("generation {} ({}/{n} evaluations)", generation + 1, self.search.records().len())
            }
        };
        if !self.progress {
            eprintln!("{budget}: {total} candidate(s)");
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(total as u64);
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} evaluated ({elapsed}, ETA {eta}) {msg}")
                .expect("static template")
                .progress_chars("=> "),
        );
        bar.set_prefix(budget);
        bar.enable_steady_tick(Duration::from_millis(500));
        bar
    }

    fn finish_generation(&mut self) -> anyhow::Result<CallbackOutcome> {
        let population = self.search.population();
        let front: Vec<Vec<f64>> = population.iter().filter(|m| m.2 == 0).map(|m| m.1.clone()).collect();
        let hypervolume = self.experiment.hypervolume(&front).ok();
        let ids: Vec<u64> = population.iter().map(|m| m.0).collect();
        let state = serde_json::to_string(&self.search)?;
        let generation = self.search.generation();
        self.store.save_generation(&NewGeneration {
            generation,
            population: &ids,
            search_state: &state,
            script_version: self.version,
            hypervolume,
        })?;
        self.summary.hypervolume = hypervolume;
        let failed = self.search.records().iter().filter(|r| matches!(r.status, xnas_moo::Status::Failed(_))).count();
        eprintln!(
            "generation {generation} saved: {} in the population, {} on the front, hypervolume {}, {failed} failed so far",
            ids.len(),
            front.len(),
            hypervolume.map_or("n/a".into(), |v| format!("{v:.4}"))
        );
        let genomes: HashMap<u64, &[f64]> = self.search.records().iter().map(|r| (r.id, r.x.as_slice())).collect();
        let member = |(id, objectives, rank): &(u64, Vec<f64>, usize)| {
            let genome = genomes.get(id).and_then(|x| self.experiment.spec().space.decode(x).ok());
            MemberStats {
                id: *id,
                genome: genome.map(|g| g.arch_string()).unwrap_or_default(),
                compact: genome.map(|g| g.compact()).unwrap_or_default(),
                objectives: objectives.clone(),
                rank: *rank,
            }
        };
        let stats = GenerationStats {
            generation,
            evaluations: self.search.records().len(),
            failed,
            hypervolume,
            objectives: self.experiment.objective_names().iter().map(|s| s.to_string()).collect(),
            population: population.iter().map(member).collect(),
            front: population.iter().filter(|m| m.2 == 0).map(member).collect(),
            elapsed_seconds: self.started.elapsed().as_secs_f64(),
        };
        match self.experiment.on_generation(&stats) {
            Ok(outcome) => Ok(outcome),
            Err(error) => {
                eprintln!("warning: the script's on_generation callback failed (the run goes on):\n{error}");
                Ok(CallbackOutcome::Continue)
            }
        }
    }
}

/// The progress bar's message: each running job's epoch and step (the first few).
fn progress_message(progress: &BTreeMap<u64, JobProgress>) -> String {
    const SHOWN: usize = 4;
    let mut parts: Vec<String> = progress
        .iter()
        .take(SHOWN)
        .map(|(job, p)| format!("#{job} epoch {}/{} step {}/{}", p.epoch, p.epochs, p.step, p.total_steps))
        .collect();
    if progress.len() > SHOWN {
        parts.push(format!("+{} more", progress.len() - SHOWN));
    }
    parts.join(" · ")
}

/// Prints a line above the progress bar, or plainly when there is no bar.
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

fn describe(diff: &crate::script::ExperimentDiff) -> String {
    if diff.is_empty() {
        return "no setting changed".into();
    }
    let mut parts: Vec<String> = diff.changes.iter().map(|c| format!("{}: {} → {}", c.key, c.old, c.new)).collect();
    if parts.is_empty() && diff.sources_changed {
        parts.push("function bodies changed".into());
    }
    parts.join("; ")
}

/// The run folder for a script: `runs/<name>` under the current directory.
pub fn default_run_dir(name: &str) -> PathBuf {
    PathBuf::from("runs").join(name)
}
