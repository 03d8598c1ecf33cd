//! The run's side of the event loop: everything that happens to an evaluation besides being run.
//! It turns candidates into stored evaluations (reusing genomes already trained), records every
//! attempt, scores records with the script's objectives, tells the search, saves generations and
//! steady-state checkpoints, calls the script's `on_generation` and its early-stopping rule after
//! each epoch of a job that waits for it (see [`super::early`]), and swaps in a reloaded script at
//! generation boundaries. The two schedulings differ only in when they ask the search for
//! candidates; both hand the evaluations to the one loop in [`super::jobs`]. The script versions
//! the run stores ([`save_version`]) and the [`RunSummary`] it ends with are made here too. What
//! the features that follow the run need (progress, kept models, the Optuna journal), it says
//! once, as events to its observers ([`super::events`]).
//!
//! An evaluation that ends without a record after every attempt is told to the search only once
//! a record shows the setup works: when the run stops for a streak of them (a broken worker or
//! install), they are queued again and `xnas resume` trains them, instead of a search that
//! breeds on from failures. Everything the user sees names a candidate by its candidate id; the
//! store's evaluation id stays the job's id inside (attempts, retries).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::bail;
use xnas_moo::{Candidate, Evaluation};

use super::early::EarlyStopping;
use super::events::{Observers, RunEvent};
use super::execution::{Execution, ExecutorKind, Scheduling};
use super::from::Inherited;
use super::jobs::{Jobs, NoRecordStreak, Queued, Settled, Work};
use super::models::ModelDirs;
use super::preflight::job_config;
use super::reload::{self, Finished, Rescored};
use super::search::{Member, Search};
use crate::exec::{ExecEvent, Job, SimulatedClock};
use crate::record::{EpochPoint, MeasurementRecord, Status as RecordStatus};
use crate::run_dir::RunDir;
use crate::script::{
    Algorithm, Budget, CallbackOutcome, Experiment, ExperimentDiff, GenerationStats, KeepModels, MemberStats,
    ScriptWatcher,
};
use crate::store::{AttemptOutcome, EvalStatus, NewEvaluation, NewGeneration, Score, Store, StoreError};

/// What a finished (or stopped) run did.
#[derive(Debug, Clone, Default)]
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

/// Records the version of a compiled experiment — its sources and spec — and returns its id.
pub fn save_version(store: &Store, experiment: &Experiment) -> Result<i64, StoreError> {
    let sources = serde_json::to_value(experiment.sources()).expect("sources serialise");
    let config = serde_json::to_value(experiment.spec()).expect("a spec serialises");
    let text = experiment.sources().first().map(|s| s.text.as_str()).unwrap_or_default();
    store.add_script_version(experiment.version_hash(), text, &sources, &config)
}

/// A run in progress: its store, script, search and counts.
pub(super) struct Runner {
    pub(super) store: Store,
    pub(super) experiment: Experiment,
    pub(super) watcher: Option<ScriptWatcher>,
    pub(super) search: Search,
    pub(super) execution: Execution,
    /// The store's id of the script version now in use.
    pub(super) version: i64,
    pub(super) training_hash: String,
    /// `--device`: trains there whatever the script says.
    pub(super) device: Option<String>,
    /// The executor's slots: a steady-state run stops after this many (or a population's worth
    /// of) evaluations in a row without a record.
    pub(super) slots: usize,
    pub(super) started: Instant,
    /// A replay's simulated clock (see [`crate::exec::ReplayExecutor`]): the time budget and the
    /// elapsed seconds read it instead of `started`.
    pub(super) clock: Option<SimulatedClock>,
    /// The features that follow the run: progress, kept models, the Optuna journal (see [`super::events`]).
    pub(super) observers: Observers,
    pub(super) summary: RunSummary,
    /// Generation boundaries already saved (steady-state counts them as evaluations are told).
    pub(super) saved_generation: u64,
    /// Steady-state: no more candidates to ask for (the script asked to stop, or the space is spent).
    pub(super) stopping: bool,
    pub(super) exhausted: bool,
    /// `--from`: the finished records of the run this one started from, reused by genome.
    pub(super) inherited: Inherited,
    /// Where each job writes its model (which ones the run keeps is an observer's business).
    pub(super) model_dirs: ModelDirs,
    /// What the early-stopping rule needs to know (see [`super::early`]).
    pub(super) early: EarlyStopping,
    /// Evaluations that gave up without a record since the last record came back: not yet told
    /// to the search nor stored as failed, because if the run stops for them (a broken worker or
    /// install, not bad architectures) they are queued again for `xnas resume` to train.
    pub(super) held: Vec<GaveUp>,
    /// The candidate of each job in flight: the job id is the store's evaluation id, the id the
    /// user sees (log, progress, models/) is the candidate's.
    pub(super) candidate_of_job: HashMap<u64, u64>,
}

/// An evaluation that ended without a record after its last attempt.
pub(super) struct GaveUp {
    queued: Queued,
    outcome: AttemptOutcome,
    message: String,
}

impl Runner {
    pub(super) fn run(mut self, mut jobs: Jobs) -> anyhow::Result<RunSummary> {
        if let Some(inherited) = self.inherited.describe(&self.training_hash) {
            eprintln!("{inherited}");
        }
        self.observers.emit(&RunEvent::Began, &self.store)?;
        let result = self.recover_in_flight(&mut jobs).and_then(|()| match self.execution.scheduling {
            Scheduling::Generational => self.run_generational(&mut jobs),
            Scheduling::SteadyState => self.run_steady_state(&mut jobs),
        });
        let ended = self.observers.emit(&RunEvent::Ended, &self.store);
        let result = result.and(ended.map_err(anyhow::Error::from));
        if result.is_err() {
            self.queue_held_again()?;
        }
        result?;
        self.summary.generations = self.search.generation();
        Ok(self.summary)
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
        let spent = match self.experiment.budget() {
            Budget::Generations(g) => self.search.generation() >= g,
            Budget::Evaluations(n) => self.search.records().len() as u64 >= n,
        };
        spent || self.out_of_time()
    }

    /// Whether the script's time budget (`search.max_seconds`) has run out.
    fn out_of_time(&self) -> bool {
        self.experiment.spec().search.max_seconds.is_some_and(|limit| self.elapsed_seconds() >= limit)
    }

    /// Seconds since this invocation started: wall clock, or a replay's simulated clock.
    fn elapsed_seconds(&self) -> f64 {
        match &self.clock {
            Some(clock) => clock.seconds(),
            None => self.started.elapsed().as_secs_f64(),
        }
    }

    fn count_steady(&mut self) -> anyhow::Result<()> {
        let told = self.search.records().iter().filter(|r| r.status != xnas_moo::Status::Pending).count() as u64;
        self.observers.emit(&RunEvent::Counting { told, budget: self.evaluation_budget() }, &self.store)?;
        Ok(())
    }

    /// After a steady-state checkpoint: the candidates the search still waits for are told from
    /// the store when they finished before the crash, and queued again when they did not.
    fn recover_in_flight(&mut self, jobs: &mut Jobs) -> anyhow::Result<()> {
        let pending: Vec<Candidate> = self
            .search
            .records()
            .iter()
            .filter(|r| r.status == xnas_moo::Status::Pending)
            .map(|r| Candidate { id: r.id, x: r.x.clone(), parents: r.parents.clone(), generation: r.generation })
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        self.count_steady()?;
        for candidate in pending {
            match self.store.evaluations_of_candidate(candidate.id)?.pop() {
                Some(e) if matches!(e.status, EvalStatus::Queued | EvalStatus::Running) => {
                    jobs.queue([Queued {
                        id: e.id,
                        candidate: candidate.id,
                        genome: e.genome.compact(),
                        attempts: e.attempt,
                    }]);
                }
                Some(e) => {
                    let evaluation = match &e.record {
                        Some(measured) => self.score(candidate.id, e.id, measured)?,
                        None => Evaluation::Failed(e.error.clone().unwrap_or_else(|| "failed".into())),
                    };
                    self.tell(candidate.id, evaluation)?;
                }
                None => jobs.queue(self.dispatch(&[candidate])?),
            }
        }
        Ok(())
    }

    /// Stores and tells the held failures: a record came back since (or the run ends without
    /// stopping for them), so they are the architectures' own.
    fn tell_held(&mut self) -> anyhow::Result<()> {
        for GaveUp { queued, outcome, message } in std::mem::take(&mut self.held) {
            self.store.fail_attempt(queued.id, outcome, &message)?;
            self.tell(queued.candidate, Evaluation::Failed(message))?;
        }
        Ok(())
    }

    /// The run stops: the held failures end their last attempt and are queued again, as a
    /// refused configuration is, so that `xnas resume` trains them once the setup is fixed. The
    /// search was never told them (a generational run saves no generation it stopped in).
    fn queue_held_again(&mut self) -> anyhow::Result<()> {
        for GaveUp { queued, outcome, message } in std::mem::take(&mut self.held) {
            self.store.retry(queued.id, outcome, &message)?;
        }
        Ok(())
    }

    fn run_generational(&mut self, jobs: &mut Jobs) -> anyhow::Result<()> {
        // Left in flight by a steady-state checkpoint: finish them before a new batch.
        jobs.drive(self)?;
        self.tell_held()?;
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
                eprintln!("{}", repair.why_no_candidates());
                break;
            }
            let label = match self.experiment.budget() {
                Budget::Generations(g) => format!("generation {}/{g}", candidates[0].generation + 1),
                Budget::Evaluations(n) => format!(
                    "generation {} ({}/{n} evaluations)",
                    candidates[0].generation + 1,
                    self.search.records().len()
                ),
            };
            self.observers
                .emit(&RunEvent::GenerationBegan { label: &label, candidates: candidates.len() }, &self.store)?;
            let queued = self.dispatch(&candidates)?;
            let submitted = queued.len();
            jobs.queue(queued);
            jobs.drive(self)?;
            if jobs.left_waiting() > 0 {
                // A fixed list out of time: no generation is saved, so `xnas resume` asks the list
                // again, reuses what finished, and trains the rest.
                eprintln!(
                    "the time budget ran out (search.max_seconds) with {} of {} evaluation(s) of the list not \
                     started; `xnas resume {}` trains them",
                    jobs.left_waiting(),
                    candidates.len(),
                    self.summary.run_dir.display()
                );
                return Ok(());
            }
            self.observers.emit(&RunEvent::GenerationEvaluated, &self.store)?;
            self.summary.evaluated += candidates.len();
            if jobs.streak().reached(submitted) {
                // Not saved: the resumed run asks this generation again and trains what failed.
                let what = format!("every evaluation of generation {}", candidates[0].generation + 1);
                bail!(self.no_record_stop(&what, jobs.streak()));
            }
            self.tell_held()?;
            let outcome = self.finish_generation()?;
            if outcome == CallbackOutcome::Stop {
                eprintln!("the script's on_generation callback asked to stop");
                break;
            }
        }
        self.say_if_out_of_time();
        Ok(())
    }

    fn say_if_out_of_time(&self) {
        if let Some(limit) = self.experiment.spec().search.max_seconds.filter(|_| self.out_of_time()) {
            eprintln!(
                "the time budget ran out (search.max_seconds = {limit}): {} evaluation(s) in {:.0} s",
                self.search.records().len(),
                self.elapsed_seconds()
            );
        }
    }

    fn run_steady_state(&mut self, jobs: &mut Jobs) -> anyhow::Result<()> {
        self.count_steady()?;
        jobs.drive(self)?;
        self.tell_held()?;
        if self.stopping {
            eprintln!("the script's on_generation callback asked to stop");
        }
        self.say_if_out_of_time();
        Ok(())
    }

    /// The error that stops a run whose evaluations keep ending without a record: a setup
    /// problem (missing data, bad config, broken install), not a property of the architectures.
    fn no_record_stop(&self, what: &str, streak: &NoRecordStreak) -> String {
        format!(
            "{what} failed without a record, so the run stops: a setup problem, not the architectures. Once it is \
             fixed, `xnas resume {}` trains the {} that failed again. The first error:\n{}\n(children's logs: {})",
            self.summary.run_dir.display(),
            match self.held.len() {
                1 => "evaluation".to_string(),
                n => format!("{n} evaluations"),
            },
            streak.first_error.clone().unwrap_or_default(),
            RunDir::new(&self.summary.run_dir).file(RunDir::LOG).display()
        )
    }

    /// Queues candidates in the store (one transaction) and returns those to run; a candidate
    /// whose genome was already trained under the same training configuration is completed at once.
    fn dispatch(&mut self, candidates: &[Candidate]) -> anyhow::Result<Vec<Queued>> {
        let new: Vec<NewEvaluation> = candidates
            .iter()
            .map(|c| {
                Ok(NewEvaluation {
                    candidate: c.id,
                    genome: self
                        .experiment
                        .spec()
                        .space
                        .decode(&c.x)
                        .map_err(|e| anyhow::anyhow!("candidate {}: {e}", c.id))?,
                    parents: c.parents.clone(),
                    generation: c.generation,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        let ids = self.store.enqueue(&new, &self.training_hash, self.version)?;
        let mut to_run = Vec::new();
        for (n, id) in new.into_iter().zip(ids) {
            let genome = n.genome.compact();
            let Some(done) = self.store.find_done(&n.genome, &self.training_hash)? else {
                if let Some((old_id, record)) = self.inherited.find(&genome, &self.training_hash) {
                    let record = record.clone();
                    let from = self.inherited.source().map(|p| p.display().to_string()).unwrap_or_default();
                    self.store.mark_running(id, &format!("from {from} #{old_id}"))?;
                    self.store.finish(id, &record)?;
                    self.summary.reused += 1;
                    let evaluation = self.score(n.candidate, id, &record)?;
                    let scored = RunEvent::Scored { evaluation: id, candidate: n.candidate, result: &evaluation };
                    self.observers.emit(&scored, &self.store)?;
                    self.report_line(
                        n.candidate,
                        &genome,
                        &record,
                        &evaluation,
                        " (reused from the earlier run, not retrained)",
                    );
                    self.tell(n.candidate, evaluation)?;
                } else {
                    to_run.push(Queued { id, candidate: n.candidate, genome, attempts: 0 });
                }
                continue;
            };
            self.store.reuse(id, done.id)?;
            self.summary.reused += 1;
            let record = done.record.expect("done evaluations have records");
            let evaluation = self.score(n.candidate, id, &record)?;
            self.report_line(n.candidate, &genome, &record, &evaluation, " (reused, not retrained)");
            self.tell(n.candidate, evaluation)?;
        }
        Ok(to_run)
    }

    /// Tells the search one result; in steady-state, saves the state and closes a generation
    /// when this result completes one.
    fn tell(&mut self, candidate: u64, evaluation: Evaluation) -> anyhow::Result<()> {
        if matches!(evaluation, Evaluation::Failed(_)) {
            self.summary.failed += 1;
        }
        self.observers.emit(&RunEvent::Told { candidate, result: &evaluation }, &self.store)?;
        self.search.tell(vec![(candidate, evaluation)])?;
        if self.execution.scheduling == Scheduling::SteadyState {
            self.checkpoint()?;
            if self.search.generation() > self.saved_generation {
                self.saved_generation = self.search.generation();
                self.observers.progress().handle().suspend(|| -> anyhow::Result<()> {
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

    /// At a generation boundary: take a new script version if the watcher has one and the
    /// running search can take it (see [`super::reload`]); otherwise say why and keep this one.
    fn apply_reload(&mut self) -> anyhow::Result<()> {
        let Some(mut watcher) = self.watcher.take() else { return Ok(()) };
        let script = watcher.path().to_path_buf();
        let store = &self.store;
        let archive = || -> Result<Vec<Finished>, String> {
            let done = store.evaluations(Some(EvalStatus::Done)).map_err(|e| format!("reading the archive: {e}"))?;
            Ok(done
                .into_iter()
                .filter_map(|e| Some(Finished { candidate: e.candidate, evaluation: e.id, record: e.record? }))
                .collect())
        };
        let (search, current, run_dir) = (&self.search, &self.experiment, &self.summary.run_dir);
        let replay = self.execution.table.is_some();
        let polled = watcher.poll_vetted(|reload| {
            if replay && reload.diff.needs_training() {
                // The table answers one training configuration: under another, every answer would be wrong.
                return Err(format!(
                    "{}: this run replays from a table trained under one training configuration, so its \
                     training settings cannot change ({}); to search under others, build a table with them",
                    script.display(),
                    describe(&reload.diff)
                ));
            }
            reload::vet(search, current, reload, archive, &script, run_dir)
        });
        self.watcher = Some(watcher);
        let (reload, rescored) = match polled {
            None => return Ok(()),
            Some(Err(error)) => {
                eprintln!("script edit rejected; the run keeps its last good version:\n{error}");
                return Ok(());
            }
            Some(Ok(accepted)) => accepted,
        };
        self.experiment = reload.experiment;
        self.early.script_changed();
        self.version = save_version(&self.store, &self.experiment)?;
        eprintln!("script reloaded (version {}): {}", self.version, describe(&reload.diff));
        if reload.diff.needs_training() {
            self.training_hash = self.experiment.training_hash();
            eprintln!(
                "training settings changed: candidates from now on are trained under the new settings \
                 (records of the old ones are kept but not reused)"
            );
        }
        // Vetted: the search takes these settings (also a flipped objective direction).
        self.search.reconfigure(self.experiment.spec())?;
        let rescored = rescored.map(|rescored| self.apply_rescored(rescored)).transpose()?;
        let reloaded = RunEvent::Reloaded { experiment: &self.experiment, rescored: rescored.is_some() };
        self.observers.emit(&reloaded, &self.store)?;
        if let Some(n) = rescored {
            eprintln!("re-scored {n} finished evaluation(s) with the new objectives, without retraining");
        }
        Ok(())
    }

    /// Stores the archive's scores under the current script version and hands them to the
    /// search; returns how many there were.
    fn apply_rescored(&mut self, rescored: Vec<Rescored>) -> anyhow::Result<usize> {
        let n = rescored.len();
        let scores: Vec<Score> =
            rescored.iter().map(|r| Score { evaluation: r.evaluation, result: r.result.clone() }).collect();
        self.store.save_scores(self.version, &scores)?;
        let evaluations: HashMap<u64, Evaluation> = rescored
            .into_iter()
            .map(|r| {
                (
                    r.candidate,
                    match r.result {
                        Ok(v) => Evaluation::Objectives(v),
                        Err(e) => Evaluation::Failed(e),
                    },
                )
            })
            .collect();
        self.search.rescore(|r| evaluations.get(&r.id).cloned())?;
        Ok(n)
    }

    /// Scores a record with the script's objectives and stores the scores. A stopped record is
    /// scored like any other (its values are those of the epoch it stopped at).
    fn score(&mut self, candidate: u64, evaluation: i64, record: &MeasurementRecord) -> anyhow::Result<Evaluation> {
        self.early.finished(candidate, record);
        if record.status == RecordStatus::Failed {
            return Ok(Evaluation::Failed(record.error.clone().unwrap_or_else(|| "training failed".into())));
        }
        let result = self.experiment.score(record).map_err(|e| e.to_string());
        self.store.save_scores(self.version, &[Score { evaluation, result: result.clone() }])?;
        Ok(match result {
            Ok(v) => Evaluation::Objectives(v),
            Err(e) => Evaluation::Failed(format!("scoring failed: {e}")),
        })
    }

    /// Which trained models the run keeps: `--keep-models`, else the script's `search.keep_models`.
    fn keep_models(&self) -> KeepModels {
        self.execution.keep_models.unwrap_or(self.experiment.spec().search.keep_models)
    }

    /// One result as the log shows it, under the candidate's id.
    fn report_line(&self, id: u64, genome: &str, record: &MeasurementRecord, evaluation: &Evaluation, note: &str) {
        let names = self.experiment.objective_names();
        self.observers.say(match evaluation {
            Evaluation::Objectives(v) => {
                let parts: Vec<String> = names.iter().zip(v).map(|(n, x)| format!("{n} {x:.4}")).collect();
                format!("  #{id} {genome} {} ({:.1}s){note}", parts.join(", "), record.train_seconds)
            }
            Evaluation::Failed(reason) => format!("  #{id} {genome} FAILED: {reason}{note}"),
        });
    }

    fn finish_generation(&mut self) -> anyhow::Result<CallbackOutcome> {
        let population = self.search.population();
        let front: Vec<&Member> = population.iter().filter(|m| m.on_front()).collect();
        let points: Vec<Vec<f64>> = front.iter().map(|m| m.objectives.clone()).collect();
        let hypervolume = self.experiment.hypervolume(&points).ok();
        let ids: Vec<u64> = population.iter().map(|m| m.id).collect();
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
        let genomes: HashMap<u64, &[f64]> = self.search.records().iter().map(|r| (r.id, r.x.as_slice())).collect();
        let stats_of = |m: &Member| {
            let genome = genomes.get(&m.id).and_then(|x| self.experiment.spec().space.decode(x).ok());
            MemberStats {
                id: m.id,
                genome: genome.map(|g| g.arch_string()).unwrap_or_default(),
                compact: genome.map(|g| g.compact()).unwrap_or_default(),
                objectives: m.objectives.clone(),
                rank: m.rank,
            }
        };
        let stats = GenerationStats {
            generation,
            evaluations: self.search.records().len(),
            failed,
            hypervolume,
            objectives: self.experiment.objective_names().iter().map(|s| s.to_string()).collect(),
            population: population.iter().map(stats_of).collect(),
            front: front.iter().copied().map(stats_of).collect(),
            elapsed_seconds: self.elapsed_seconds(),
        };
        self.observers.emit(&RunEvent::GenerationSaved(&stats), &self.store)?;
        match self.experiment.on_generation(&stats) {
            Ok(outcome) => Ok(outcome),
            Err(error) => {
                eprintln!("warning: the script's on_generation callback failed (the run goes on):\n{error}");
                Ok(CallbackOutcome::Continue)
            }
        }
    }
}

impl Work for Runner {
    /// A fixed list (or a whole space) is one generation: its time budget stops it between jobs,
    /// where a search's stops it between generations.
    fn may_submit(&mut self) -> bool {
        let one_generation =
            matches!(self.experiment.spec().search.algorithm, Algorithm::Fixed | Algorithm::Exhaustive);
        !(one_generation && self.out_of_time())
    }

    /// Steady-state breeds one child from the population as it is now; generational runs add
    /// nothing while a batch runs.
    fn refill(&mut self) -> anyhow::Result<Option<Vec<Queued>>> {
        if self.execution.scheduling == Scheduling::Generational
            || self.exhausted
            || self.stopping
            || self.search.records().len() as u64 >= self.evaluation_budget()
            || self.out_of_time()
        {
            return Ok(None);
        }
        let mut repair = self.experiment.search_repair();
        let candidate = self.search.ask_one_with(&mut repair)?;
        if let Some(error) = repair.error.take() {
            self.observers.say(format!(
                "warning: the script's repair failed, so invalid genomes were rejected instead:\n{error}"
            ));
        }
        let Some(candidate) = candidate else {
            self.observers.say(repair.why_no_candidates());
            self.exhausted = true;
            return Ok(None);
        };
        self.checkpoint()?;
        self.summary.evaluated += 1;
        Ok(Some(self.dispatch(&[candidate])?))
    }

    fn job(&mut self, queued: &Queued) -> anyhow::Result<Job> {
        let label = match self.execution.executor {
            ExecutorKind::Local => "local",
            ExecutorKind::Ray => "ray",
        };
        self.store.mark_running(queued.id, label)?;
        self.candidate_of_job.insert(queued.id as u64, queued.candidate);
        self.observers.emit(&RunEvent::Started { candidate: queued.candidate }, &self.store)?;
        let config = job_config(&self.experiment, self.device.as_deref());
        // The rule decides on per-epoch measurements: without them there is nothing to wait for.
        let decide_each_epoch = self.experiment.has_stop_rule() && config.epoch_validation.is_some();
        if decide_each_epoch {
            let genome = queued.genome.parse().map_err(|e| anyhow::anyhow!("candidate #{}: {e}", queued.candidate))?;
            self.early.started(queued.id as u64, genome, config.epochs);
        }
        Ok(Job {
            id: queued.id as u64,
            genome: queued.genome.clone(),
            config,
            threads: None,
            device_name: None,
            model_dir: (self.keep_models() != KeepModels::None)
                .then(|| self.model_dirs.of(queued.id, queued.candidate)),
            decide_each_epoch,
        })
    }

    /// Asks the script's rule whether to stop a job after an epoch. A rule that fails stops
    /// nothing and is reported once per script version; the run goes on. A rule removed by a
    /// reload stops nothing.
    fn epoch(&mut self, job: u64, point: EpochPoint) -> anyhow::Result<bool> {
        if !self.experiment.has_stop_rule() {
            return Ok(false);
        }
        self.early.load(&self.store)?;
        let directions = self.experiment.directions();
        let Some(partial) = self.early.partial(job, &point, &self.search, &directions) else { return Ok(false) };
        match self.experiment.stop_early(&partial) {
            Ok(stop) => Ok(stop),
            Err(error) => {
                if self.early.first_error() {
                    self.observers.say(format!(
                        "warning: the script's early-stopping rule failed, so it stops no candidate (reported once \
                         per script version; the run goes on):\n{error}"
                    ));
                }
                Ok(false)
            }
        }
    }

    fn notice(&mut self, event: ExecEvent) -> anyhow::Result<()> {
        match event {
            ExecEvent::Started { job, worker } => self.store.set_worker(job as i64, &worker)?,
            ExecEvent::Progress { job, progress } => {
                let candidate = self.candidate_of_job.get(&job).copied().unwrap_or(job);
                self.observers.emit(&RunEvent::Training { candidate, progress: &progress }, &self.store)?
            }
            // The epochs of jobs that wait for a decision go to `epoch`; the others' are not shown.
            ExecEvent::Epoch { .. } => {}
            ExecEvent::Warning(message) => self.observers.say(format!("warning: {message}")),
            ExecEvent::Note(message) => self.observers.say(message),
            ExecEvent::Finished { .. } => {}
        }
        Ok(())
    }

    fn settled(&mut self, settled: Settled, streak: &NoRecordStreak) -> anyhow::Result<()> {
        let max_attempts = self.execution.max_attempts;
        let (Settled::Record(queued, _)
        | Settled::Retry { queued, .. }
        | Settled::GaveUp { queued, .. }
        | Settled::Refused { queued, .. }) = &settled;
        self.early.ended(queued.id as u64);
        self.candidate_of_job.remove(&(queued.id as u64));
        self.observers.emit(&RunEvent::Left { candidate: queued.candidate }, &self.store)?;
        match settled {
            Settled::Record(queued, record) => {
                self.tell_held()?;
                self.store.finish(queued.id, &record)?;
                match record.replayed_from {
                    Some(_) => self.summary.reused += 1,
                    None => self.summary.trained += 1,
                }
                let evaluation = self.score(queued.candidate, queued.id, &record)?;
                let scored =
                    RunEvent::Scored { evaluation: queued.id, candidate: queued.candidate, result: &evaluation };
                self.observers.emit(&scored, &self.store)?;
                let note = match (record.status, record.epochs.last()) {
                    (RecordStatus::Stopped, Some(last)) => {
                        format!(" (stopped early after epoch {} of {})", last.epoch, record.config.epochs)
                    }
                    _ if record.replayed_from.is_some() => " (replayed from the table, not trained)".to_string(),
                    _ => String::new(),
                };
                self.report_line(queued.candidate, &queued.genome, &record, &evaluation, &note);
                self.tell(queued.candidate, evaluation)?;
            }
            Settled::Retry { queued, outcome, message } => {
                self.store.retry(queued.id, outcome, &message)?;
                self.summary.retried += 1;
                self.observers.say(format!(
                    "  #{} {} attempt {} {}: {}; trying again ({} of at most {max_attempts})",
                    queued.candidate,
                    queued.genome,
                    queued.attempts,
                    if outcome == AttemptOutcome::Lost { "was lost" } else { "failed" },
                    last_line(&message),
                    queued.attempts + 1,
                ));
            }
            Settled::GaveUp { queued, outcome, message } => {
                self.observers.say(format!(
                    "  #{} {} FAILED after {} attempt(s): {}",
                    queued.candidate,
                    queued.genome,
                    queued.attempts,
                    last_line(&message)
                ));
                // Told once a record shows that the setup works (see `held`).
                self.held.push(GaveUp { queued, outcome, message });
            }
            Settled::Refused { queued, message } => {
                // Queued again, so that `xnas resume` runs it once the setting is fixed.
                self.store.retry(queued.id, AttemptOutcome::Error, &message)?;
                bail!(
                    "candidate #{} ({}) cannot run as configured, so the run stops without retrying it \
                     (every evaluation would fail the same way). Fix the setting, then `xnas resume {}`:\n{message}",
                    queued.candidate,
                    queued.genome,
                    self.summary.run_dir.display()
                );
            }
        }
        let patience = self.experiment.spec().search.population.max(self.slots);
        if self.execution.scheduling == Scheduling::SteadyState && streak.reached(patience) {
            bail!(self.no_record_stop(&format!("{} evaluations in a row", streak.in_a_row), streak));
        }
        Ok(())
    }
}

fn last_line(message: &str) -> &str {
    message.lines().last().unwrap_or("")
}

fn describe(diff: &ExperimentDiff) -> String {
    if diff.is_empty() {
        return "no setting changed".into();
    }
    let mut parts: Vec<String> = diff.changes.iter().map(|c| format!("{}: {} → {}", c.key, c.old, c.new)).collect();
    if parts.is_empty() && diff.sources_changed {
        parts.push("function bodies changed".into());
    }
    parts.join("; ")
}
