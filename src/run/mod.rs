//! `xnas run` and `xnas resume`: the search loop. Generation by generation it asks the search
//! for candidates, reuses any genome already trained under the same training configuration,
//! sends the rest to an executor (child processes), scores records with the script's
//! objectives, tells the search, and saves the generation — population, search state and
//! hypervolume — in one transaction. Hot reload swaps the script at generation boundaries.
//!
//! Crash safety: every evaluation's record is committed as it arrives, and the search state at
//! each generation boundary. A resumed run restores the last saved state and asks again; the
//! search is deterministic, so it proposes the same candidates, and those already finished are
//! taken from the store instead of being trained again.

mod search;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use xnas_moo::{Candidate, Evaluation};

pub use search::Search;

use crate::exec::{Executor, Job, JobOutcome, LocalExecutor};
use crate::record::{MeasurementRecord, Status as RecordStatus};
use crate::script::{compile_file, Budget, CallbackOutcome, Experiment, GenerationStats, MemberStats, ScriptWatcher};
use crate::store::{EvalStatus, GenomeMatch, NewEvaluation, NewGeneration, RunInfo, Score, Store};

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
    let mut experiment = compile_file(script)?;
    experiment.apply_overrides(overrides)?;
    crate::script::check(&experiment)?;
    std::fs::create_dir_all(run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    std::fs::write(run_dir.join(OVERRIDES_FILE), serde_json::to_string_pretty(overrides)?)?;
    let store = Store::create(run_dir, &RunInfo::for_experiment(&experiment, Some(script)))?;
    let search = Search::new(experiment.spec())?;
    eprintln!("xnas run: {} → {}", script.display(), run_dir.display());
    eprintln!("{}", experiment.summary());
    Runner::new(store, experiment, script, overrides, search, run_dir, options)?.run()
}

/// Continues the run in `run_dir` from its last saved generation.
pub fn resume(run_dir: &Path, options: &RunOptions) -> anyhow::Result<RunSummary> {
    let store = Store::open(run_dir)?;
    let info = store.run()?;
    let script = PathBuf::from(info.script_path.as_deref().context("the run does not record its script path")?);
    let overrides: Vec<(String, String)> = match std::fs::read_to_string(run_dir.join(OVERRIDES_FILE)) {
        Ok(text) => serde_json::from_str(&text).with_context(|| format!("reading {OVERRIDES_FILE}"))?,
        Err(_) => Vec::new(),
    };
    let mut experiment = compile_file(&script).with_context(|| {
        format!("recompiling the run's script {} (fix it, or restore the version stored in the run)", script.display())
    })?;
    experiment.apply_overrides(&overrides)?;
    let search = match store.latest_generation()? {
        Some(saved) => serde_json::from_str::<Search>(&saved.search_state)
            .with_context(|| format!("reading the search state of generation {}", saved.generation))?,
        None => Search::new(experiment.spec())?,
    };
    let interrupted =
        store.evaluations(Some(EvalStatus::Running))?.len() + store.evaluations(Some(EvalStatus::Queued))?.len();
    for e in
        store.evaluations(Some(EvalStatus::Running))?.into_iter().chain(store.evaluations(Some(EvalStatus::Queued))?)
    {
        store.fail(e.id, "interrupted (the run stopped before it finished); asked again on resume")?;
    }
    eprintln!(
        "xnas resume: {} at generation {} ({} evaluation(s) were interrupted and run again; finished ones are reused)",
        run_dir.display(),
        search.generation(),
        interrupted
    );
    Runner::new(store, experiment, &script, &overrides, search, run_dir, options)?.run()
}

struct Runner {
    store: Store,
    experiment: Experiment,
    watcher: Option<ScriptWatcher>,
    search: Search,
    executor: LocalExecutor,
    version: i64,
    training_hash: String,
    device: Option<String>,
    started: Instant,
    progress: bool,
    summary: RunSummary,
}

impl Runner {
    fn new(
        store: Store,
        experiment: Experiment,
        script: &Path,
        overrides: &[(String, String)],
        search: Search,
        run_dir: &Path,
        options: &RunOptions,
    ) -> anyhow::Result<Runner> {
        let version = store.add_experiment_version(&experiment)?;
        let watcher = if options.watch {
            let w = ScriptWatcher::new(script, experiment.clone(), overrides.to_vec())?;
            eprintln!("watching {} file(s) for edits; changes apply at the next generation", w.watched_files().len());
            Some(w)
        } else {
            None
        };
        Ok(Runner {
            training_hash: experiment.training_hash(),
            executor: LocalExecutor::new(options.program.clone(), Some(run_dir.join(LOG_FILE))),
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
                hypervolume: None,
            },
        })
    }

    fn budget_reached(&self) -> bool {
        match self.experiment.budget() {
            Budget::Generations(g) => self.search.generation() >= g,
            Budget::Evaluations(n) => self.search.records().len() as u64 >= n,
        }
    }

    fn run(mut self) -> anyhow::Result<RunSummary> {
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
            let outcome = self.run_generation(&candidates)?;
            if outcome == CallbackOutcome::Stop {
                eprintln!("the script's on_generation callback asked to stop");
                break;
            }
        }
        self.summary.generations = self.search.generation();
        Ok(self.summary)
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

    fn run_generation(&mut self, candidates: &[Candidate]) -> anyhow::Result<CallbackOutcome> {
        let spec = self.experiment.spec().clone();
        let generation = candidates[0].generation;
        let new: Vec<NewEvaluation> = candidates
            .iter()
            .map(|c| {
                Ok(NewEvaluation {
                    candidate: c.id,
                    genome: spec.space.decode(&c.x).map_err(|e| anyhow::anyhow!("candidate {}: {e}", c.id))?,
                    parents: c.parents.clone(),
                    generation,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        let ids = self.store.enqueue(&new, &self.training_hash, self.version)?;
        let reused_before = self.summary.reused;
        let bar = self.generation_bar(generation, candidates.len());
        let mut candidate_of: HashMap<u64, (u64, String)> = HashMap::new();
        let (mut crashed, mut first_error): (usize, Option<String>) = (0, None);
        let config = self.job_config();
        for ((c, n), &id) in candidates.iter().zip(&new).zip(&ids) {
            if let Some(done) = self.store.find_done(&n.genome, &self.training_hash, GenomeMatch::Exact)? {
                self.store.reuse(id, done.id)?;
                self.summary.reused += 1;
                let record = done.record.expect("done evaluations have records");
                let evaluation = self.score(id, &record)?;
                self.report_line(&bar, id, &n.genome.compact(), &record, &evaluation, " (reused, not retrained)");
                self.search.tell(vec![(c.id, evaluation)])?;
                bar.inc(1);
                continue;
            }
            candidate_of.insert(id as u64, (c.id, n.genome.compact()));
            self.store.mark_running(id, &config.device)?;
            self.executor.submit(Job { id: id as u64, genome: n.genome.compact(), config: config.clone() })?;
        }
        while let Some((job, outcome)) = self.executor.next(&mut |_, p| {
            bar.set_message(format!("epoch {}/{} step {}/{}", p.epoch, p.epochs, p.step, p.total_steps));
        }) {
            let id = job as i64;
            let (candidate, genome) = candidate_of.remove(&job).expect("a job this generation submitted");
            let evaluation = match outcome {
                JobOutcome::Record(record) => {
                    self.store.finish(id, &record)?;
                    self.summary.trained += 1;
                    let evaluation = self.score(id, &record)?;
                    self.report_line(&bar, id, &genome, &record, &evaluation, "");
                    evaluation
                }
                JobOutcome::Error(message) => {
                    self.store.fail(id, &message)?;
                    self.summary.failed += 1;
                    say(&bar, format!("  #{id} {genome} FAILED: {}", message.lines().last().unwrap_or("")));
                    if first_error.is_none() {
                        first_error = Some(message.clone());
                    }
                    crashed += 1;
                    Evaluation::Failed(message)
                }
            };
            self.search.tell(vec![(candidate, evaluation)])?;
            bar.inc(1);
        }
        let submitted = candidates.len() - (self.summary.reused - reused_before);
        bar.finish_and_clear();
        self.summary.evaluated += candidates.len();
        let outcome = self.finish_generation()?;
        if submitted > 0 && crashed == submitted {
            // Every child failed without a record: a setup problem (missing data, bad config,
            // broken install), not a property of the architectures. Stop instead of burning the budget.
            bail!(
                "every evaluation of generation {} failed without a record, so the run stops (resume it once fixed). \
                 The first error:\n{}\n(children's logs: {})",
                self.search.generation(),
                first_error.unwrap_or_default(),
                self.summary.run_dir.join(LOG_FILE).display()
            );
        }
        Ok(outcome)
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

    fn report_line(
        &self,
        bar: &ProgressBar,
        id: i64,
        genome: &str,
        record: &MeasurementRecord,
        evaluation: &Evaluation,
        note: &str,
    ) {
        let names = self.experiment.objective_names();
        let line = match evaluation {
            Evaluation::Objectives(v) => {
                let parts: Vec<String> = names.iter().zip(v).map(|(n, x)| format!("{n} {x:.4}")).collect();
                format!("  #{id} {genome} {} ({:.1}s){note}", parts.join(", "), record.train_seconds)
            }
            Evaluation::Failed(reason) => format!("  #{id} {genome} FAILED: {reason}{note}"),
        };
        say(bar, line);
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
