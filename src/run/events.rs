//! What happens in a run, as typed events ([`RunEvent`]), and the features that follow them
//! ([`RunObserver`]): the progress display (`progress.rs`), the live Optuna journal (`crate::optuna`, observed here)
//! and the trained models the run keeps (here). The run loop (`runner.rs`) says what happened, once,
//! to the list it owns ([`Observers`]); a new feature is one more observer, added where the list
//! is built (`mod.rs`), and tested by feeding it events.
//!
//! Observers are views of the run, not the run: what they fail to do is a warning and the run
//! goes on (a journal that cannot be written, a model that cannot be deleted), unless the observer
//! cannot follow the run any more ([`ObserverError::Stop`]). What decides the run's course stays
//! in the loop: the script's early-stopping rule and its `on_generation` callback (it may stop
//! the run).

use xnas_moo::{Direction, Evaluation};

use super::models::ModelKeeper;
use super::progress::Progress;
use crate::exec::JobProgress;
use crate::optuna::LiveJournal;
use crate::script::{Experiment, GenerationStats, KeepModels};
use crate::store::Store;

/// Something that happened in a run. Candidates are named by their search id (what the user
/// sees), evaluations by the store's id.
#[derive(Debug, Clone, Copy)]
pub(super) enum RunEvent<'a> {
    /// The run starts (or resumes), before any evaluation.
    Began,
    /// A generational run's batch of `candidates`; `label` says where the budget stands.
    GenerationBegan { label: &'a str, candidates: usize },
    /// Evaluations count out of the whole budget (steady-state, or a steady-state checkpoint
    /// being finished): `told` of `budget` so far.
    Counting { told: u64, budget: u64 },
    /// An evaluation's job goes to the executor (its attempt is stored as running).
    Started { candidate: u64 },
    /// A job's training made progress.
    Training { candidate: u64, progress: &'a JobProgress },
    /// A job left the executor, with a record or not.
    Left { candidate: u64 },
    /// A record new to this run's store — from a job, or from the run it started from
    /// (`--from`) — was scored.
    Scored { evaluation: i64, candidate: u64, result: &'a Evaluation },
    /// The search was told a candidate's result.
    Told { candidate: u64, result: &'a Evaluation },
    /// Every evaluation of a generational batch came back.
    GenerationEvaluated,
    /// A generation was saved in the store.
    GenerationSaved(&'a GenerationStats),
    /// A reloaded script version runs from now on; `rescored`: the archive was scored anew.
    Reloaded { experiment: &'a Experiment, rescored: bool },
    /// The run ends, finished or stopped.
    Ended,
}

/// Why an observer could not take an event.
#[derive(Debug, thiserror::Error)]
pub(super) enum ObserverError {
    /// It could not do its part: the user is warned with this sentence and the run goes on.
    #[error("{0}")]
    Warning(String),
    /// It cannot follow the run any more (the store could not be read): the run stops.
    #[error(transparent)]
    Stop(Box<dyn std::error::Error + Send + Sync>),
}

/// A feature that follows the run.
pub(super) trait RunObserver {
    /// Takes one event; `store` is the run's store as the event leaves it.
    fn on(&mut self, event: &RunEvent<'_>, store: &Store) -> Result<(), ObserverError>;
}

/// The run's observers: the progress display, which also prints the run's lines and the
/// others' warnings, and the others in the order they were added (each sees an event before
/// the display does, so a warning about it shows before the bar moves on).
pub(super) struct Observers {
    progress: Progress,
    others: Vec<Box<dyn RunObserver>>,
}

impl Observers {
    pub(super) fn new(progress: Progress) -> Observers {
        Observers { progress, others: Vec::new() }
    }

    pub(super) fn add(&mut self, observer: impl RunObserver + 'static) {
        self.others.push(Box::new(observer));
    }

    /// Hands `event` to every observer. A warning about a saved generation or a reload is
    /// printed plainly: the bar is out of the way then (finished, or suspended by a steady-state
    /// run, where printing through it would wait on itself).
    pub(super) fn emit(&mut self, event: &RunEvent<'_>, store: &Store) -> Result<(), ObserverError> {
        for observer in &mut self.others {
            match observer.on(event, store) {
                Ok(()) => {}
                Err(ObserverError::Warning(warning)) if at_generation_boundary(event) => {
                    eprintln!("warning: {warning}")
                }
                Err(ObserverError::Warning(warning)) => self.progress.say(format!("warning: {warning}")),
                Err(stop) => return Err(stop),
            }
        }
        self.progress.on(event, store)
    }

    /// Prints a line of the run's log above the progress bar.
    pub(super) fn say(&self, line: String) {
        self.progress.say(line);
    }

    pub(super) fn progress(&self) -> &Progress {
        &self.progress
    }
}

/// Whether `event` comes at a generation boundary, where a steady-state run holds the bar
/// suspended (see [`Observers::emit`]).
fn at_generation_boundary(event: &RunEvent<'_>) -> bool {
    matches!(event, RunEvent::GenerationSaved(_) | RunEvent::Reloaded { .. })
}

/// The trained models the run keeps (see [`super::models`]): each scored record counts in the
/// front they are kept for, and the models the setting no longer keeps are deleted — when the
/// run starts (a run stopped before may have left some), after each score, and after a reload
/// scored the archive anew.
pub(super) struct KeptModels {
    keeper: ModelKeeper,
    /// `--keep-models`: overrides the script's `search.keep_models`.
    forced: Option<KeepModels>,
    policy: KeepModels,
    directions: Vec<Direction>,
    objectives: usize,
}

impl KeptModels {
    pub(super) fn new(keeper: ModelKeeper, forced: Option<KeepModels>, experiment: &Experiment) -> KeptModels {
        let mut kept = KeptModels { keeper, forced, policy: KeepModels::None, directions: Vec::new(), objectives: 0 };
        kept.follow(experiment);
        kept
    }

    /// Takes the settings of the script version now in use.
    fn follow(&mut self, experiment: &Experiment) {
        self.policy = self.forced.unwrap_or(experiment.spec().search.keep_models);
        self.directions = experiment.directions();
        self.objectives = experiment.objective_names().len();
    }

    fn evict(&self) -> Result<(), ObserverError> {
        match self.keeper.evict(self.policy, &self.directions) {
            Ok(_) => Ok(()),
            Err(e) => Err(ObserverError::Warning(format!("could not tidy the kept models: {e}"))),
        }
    }
}

impl RunObserver for KeptModels {
    fn on(&mut self, event: &RunEvent<'_>, store: &Store) -> Result<(), ObserverError> {
        match *event {
            RunEvent::Began => self.evict(),
            RunEvent::Scored { evaluation, candidate, result: Evaluation::Objectives(values) } => {
                self.keeper.scored(evaluation, candidate, values.clone());
                self.evict()
            }
            RunEvent::Reloaded { experiment, rescored } => {
                self.follow(experiment);
                if !rescored {
                    return Ok(());
                }
                self.keeper.reload(store, self.objectives).map_err(|e| ObserverError::Stop(e.into()))?;
                self.evict()
            }
            _ => Ok(()),
        }
    }
}

/// The live Optuna journal (`crate::optuna`) is a view of the run: what it cannot write is a
/// warning, and the run goes on.
impl RunObserver for LiveJournal {
    fn on(&mut self, event: &RunEvent<'_>, store: &Store) -> Result<(), ObserverError> {
        let written = match *event {
            RunEvent::Started { candidate } => self.started(store, candidate),
            RunEvent::Told { candidate, result } => self.told(store, candidate, result),
            RunEvent::GenerationSaved(stats) => self.generation_saved(stats.hypervolume),
            _ => Ok(()),
        };
        written.map_err(|e| {
            ObserverError::Warning(format!("could not write the Optuna journal {}: {e}", self.path().display()))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::path::{Path, PathBuf};
    use std::rc::Rc;

    use super::*;
    use crate::optuna::journal::{Journal, TrialState};
    use crate::run_dir::RunDir;
    use crate::script::compile_file;
    use crate::store::NewEvaluation;

    /// A fresh run folder with a store, for an experiment of two maximised objectives.
    fn run(tag: &str) -> (PathBuf, Store, Experiment) {
        let dir = std::env::temp_dir().join(format!("xnas-events-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("exp.rhai");
        std::fs::write(
            &script,
            r#"let exp = experiment("events");
exp.dataset(#{ name: "fashion-mnist" });
exp.search(#{ population: 4, generations: 2 });
exp.objective("accuracy", "max", |r| r.val_accuracy);
exp.objective("introspectability", "max", |r| r.introspectability);
"#,
        )
        .unwrap();
        let experiment = compile_file(&script).unwrap();
        let store = Store::create(&dir, &super::super::run_info(&experiment, &script)).unwrap();
        store.set_models_by_candidate().unwrap();
        super::super::save_version(&store, &experiment).unwrap();
        (dir, store, experiment)
    }

    fn saved_model(dir: &Path, candidate: u64) {
        let folder = dir.join(RunDir::MODELS).join(candidate.to_string());
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("record.json"), "{}").unwrap();
    }

    fn kept(dir: &Path) -> Vec<i64> {
        let models = std::fs::read_dir(dir.join(RunDir::MODELS)).into_iter().flatten().map(|e| e.unwrap().path());
        let mut ids: Vec<i64> = models
            .filter(|path| path.join("record.json").is_file())
            .filter_map(|path| path.file_name()?.to_str()?.parse().ok())
            .collect();
        ids.sort_unstable();
        ids
    }

    fn scored(candidate: u64, result: &Evaluation) -> RunEvent<'_> {
        RunEvent::Scored { evaluation: 100 + candidate as i64, candidate, result }
    }

    #[test]
    fn kept_models_follow_the_front_of_what_was_scored_and_never_touch_a_model_in_flight() {
        let (dir, store, experiment) = run("models");
        let keeper = ModelKeeper::open(&dir, &store, 2).unwrap();
        let mut front = KeptModels::new(keeper, None, &experiment);
        for candidate in 1..=4 {
            saved_model(&dir, candidate);
        }
        front.on(&RunEvent::Began, &store).unwrap();
        assert_eq!(kept(&dir), [1, 2, 3, 4], "nothing scored yet: every model is in flight");
        let objectives = |a: f64, b: f64| Evaluation::Objectives(vec![a, b]);
        front.on(&scored(1, &objectives(0.5, 0.1)), &store).unwrap();
        assert_eq!(kept(&dir), [1, 2, 3, 4]);
        // 2 dominates 1 in both maximised objectives; 3 trades off with 2; 4 is still training.
        front.on(&scored(2, &objectives(0.6, 0.2)), &store).unwrap();
        assert_eq!(kept(&dir), [2, 3, 4]);
        front.on(&scored(3, &objectives(0.4, 0.9)), &store).unwrap();
        front.on(&scored(4, &Evaluation::Failed("scoring failed".into())), &store).unwrap();
        front.on(&RunEvent::Told { candidate: 4, result: &objectives(0.1, 0.1) }, &store).unwrap();
        assert_eq!(kept(&dir), [2, 3, 4], "a failed score and a told result count nothing");

        // `--keep-models all` keeps every one, whatever the script says.
        let keeper = ModelKeeper::open(&dir, &store, 2).unwrap();
        let mut all = KeptModels::new(keeper, Some(KeepModels::All), &experiment);
        for candidate in 1..=2 {
            saved_model(&dir, candidate);
        }
        all.on(&scored(1, &objectives(0.5, 0.1)), &store).unwrap();
        all.on(&scored(2, &objectives(0.6, 0.2)), &store).unwrap();
        assert_eq!(kept(&dir), [1, 2]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_journal_gets_a_trial_when_a_job_starts_finishes_it_when_told_and_a_hypervolume_per_generation() {
        let (dir, store, experiment) = run("journal");
        // Outside the run folder, as `--optuna` wants it.
        let path = dir.with_extension("log");
        let mut journal = LiveJournal::open(&path, &dir, &store, experiment.spec()).unwrap();
        let genome = "123412".parse().unwrap();
        let version = store.latest_script_version().unwrap().unwrap().id;
        let new = NewEvaluation { candidate: 7, genome, parents: Vec::new(), generation: 0 };
        let id = store.enqueue(&[new], &experiment.training_hash(), version).unwrap()[0];
        store.mark_running(id, "local").unwrap();
        let trial = |path: &Path| {
            let replay = Journal::read(path).unwrap();
            let (study, _) = replay.living_studies().next().unwrap();
            (replay.trial(study, 7).map(|t| t.state), replay.study_user_attr(study, "hypervolume").cloned())
        };

        journal.on(&RunEvent::Started { candidate: 7 }, &store).unwrap();
        assert_eq!(trial(&path), (Some(TrialState::Running), None));
        let record = crate::record::synthetic_record(experiment.eval_config(), &"123412".parse().unwrap());
        store.finish(id, &record).unwrap();
        let result = Evaluation::Objectives(vec![0.8, 0.3]);
        journal.on(&RunEvent::Told { candidate: 7, result: &result }, &store).unwrap();
        assert_eq!(trial(&path).0, Some(TrialState::Complete));
        let stats = GenerationStats {
            generation: 1,
            evaluations: 1,
            failed: 0,
            hypervolume: Some(0.24),
            objectives: experiment.objective_names().iter().map(|s| s.to_string()).collect(),
            population: Vec::new(),
            front: Vec::new(),
            elapsed_seconds: 1.0,
        };
        journal.on(&RunEvent::GenerationSaved(&stats), &store).unwrap();
        assert_eq!(trial(&path).1, Some(serde_json::json!(0.24)));

        // A journal that cannot be written is a warning naming it; the run goes on.
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        match journal.on(&RunEvent::GenerationSaved(&stats), &store) {
            Err(ObserverError::Warning(warning)) => {
                assert!(warning.starts_with(&format!("could not write the Optuna journal {}", path.display())))
            }
            other => panic!("expected a warning, got {other:?}"),
        }
        std::fs::remove_dir_all(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Writes down what it is shown, and fails as it is told to.
    struct Recorder {
        seen: Rc<RefCell<Vec<String>>>,
        name: &'static str,
        fails: Option<fn() -> ObserverError>,
    }

    impl RunObserver for Recorder {
        fn on(&mut self, event: &RunEvent<'_>, _: &Store) -> Result<(), ObserverError> {
            self.seen.borrow_mut().push(format!("{} {event:?}", self.name));
            self.fails.map_or(Ok(()), |fail| Err(fail()))
        }
    }

    #[test]
    fn an_observers_warning_lets_the_others_go_on_and_a_stop_ends_the_event() {
        let (dir, store, _) = run("list");
        let seen = Rc::new(RefCell::new(Vec::new()));
        let mut observers = Observers::new(Progress::new(false));
        let warns = || ObserverError::Warning("a view could not be written".into());
        let stops = || ObserverError::Stop("the store is gone".into());
        for (name, fails) in [("a", Some(warns as fn() -> ObserverError)), ("b", None), ("c", Some(stops)), ("d", None)]
        {
            observers.add(Recorder { seen: seen.clone(), name, fails });
        }
        let error = observers.emit(&RunEvent::Started { candidate: 2 }, &store).unwrap_err();
        assert_eq!(error.to_string(), "the store is gone");
        let started = "Started { candidate: 2 }";
        assert_eq!(*seen.borrow(), [format!("a {started}"), format!("b {started}"), format!("c {started}")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
