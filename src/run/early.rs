//! Early stopping in the run loop: what the script's rule (`exp.stop_early`) is shown after an
//! epoch of a candidate's training, and what the run must remember to show it. The front it
//! sees is the search's current non-dominated set of finished candidates, in the search's own
//! objectives and directions (what the run loop holds; re-scored with the archive on a reload),
//! each with its record's measurement of the same epoch. The per-epoch measurements of finished
//! candidates are kept here as their records are scored, and read once from the store for the
//! candidates a resumed run finished before. See `docs/architecture.md` for the whole loop.

use std::collections::HashMap;

use xnas_moo::{non_dominated, Direction, Status};
use xnas_space::Genome;

use super::search::Search;
use crate::record::{EpochPoint, MeasurementRecord};
use crate::script::{Experiment, FrontPoint, PartialCandidate, PartialEvaluation};
use crate::store::{EvalStatus, Store, StoreError};

/// A job whose epochs the rule decides on.
struct InTraining {
    genome: Genome,
    epochs: usize,
}

/// A finished candidate's per-epoch measurements.
struct Measured {
    genome: String,
    epochs: Vec<EpochPoint>,
}

/// The run loop's early-stopping state.
#[derive(Default)]
pub(super) struct EarlyStopping {
    /// By job (evaluation) id.
    in_training: HashMap<u64, InTraining>,
    /// By search candidate id.
    measured: HashMap<u64, Measured>,
    /// The store's finished records were read (see [`EarlyStopping::load`]).
    loaded: bool,
    /// The rule failed under the current script version and the run said so.
    error_reported: bool,
}

impl EarlyStopping {
    /// A job that waits after each epoch was submitted.
    pub(super) fn started(&mut self, job: u64, genome: Genome, epochs: usize) {
        self.in_training.insert(job, InTraining { genome, epochs });
    }

    /// A job left the executor (with a record or not).
    pub(super) fn ended(&mut self, job: u64) {
        self.in_training.remove(&job);
    }

    /// A candidate's record was scored: its epochs can stand on the front from now on.
    pub(super) fn finished(&mut self, candidate: u64, record: &MeasurementRecord) {
        if !record.epochs.is_empty() {
            let measured = Measured { genome: record.genome.clone(), epochs: record.epochs.clone() };
            self.measured.insert(candidate, measured);
        }
    }

    /// Reads the per-epoch measurements of the run's finished records, once: those scored before
    /// this process started (a resumed run).
    pub(super) fn load(&mut self, store: &Store) -> Result<(), StoreError> {
        if self.loaded {
            return Ok(());
        }
        for e in store.evaluations(Some(EvalStatus::Done))? {
            if let Some(record) = e.record.filter(|r| !r.epochs.is_empty()) {
                self.measured
                    .entry(e.candidate)
                    .or_insert(Measured { genome: e.genome.compact(), epochs: record.epochs });
            }
        }
        self.loaded = true;
        Ok(())
    }

    /// A new script version runs: its rule's first error is worth reporting again.
    pub(super) fn script_changed(&mut self) {
        self.error_reported = false;
    }

    /// Whether this failure of the rule is the first under the current script version.
    pub(super) fn first_error(&mut self) -> bool {
        !std::mem::replace(&mut self.error_reported, true)
    }

    /// What the rule decides on after `point` of `job`; `None` for a job this run did not start
    /// with a rule.
    pub(super) fn partial(
        &self,
        job: u64,
        point: &EpochPoint,
        search: &Search,
        directions: &[Direction],
    ) -> Option<PartialEvaluation> {
        let training = self.in_training.get(&job)?;
        let front = front_candidates(search, directions)
            .into_iter()
            .filter_map(|candidate| {
                let measured = self.measured.get(&candidate)?;
                same_epoch(&measured.genome, &measured.epochs, point.epoch)
            })
            .collect();
        Some(PartialEvaluation {
            epoch: point.epoch,
            epochs: training.epochs,
            candidate: PartialCandidate {
                genome: training.genome.compact(),
                arch: training.genome.arch_string(),
                val_accuracy: point.val_accuracy,
                introspectability: point.introspectability,
                images: point.images,
            },
            front,
        })
    }
}

/// The search's finished candidates that no other finished candidate dominates, in its
/// objectives and directions, in candidate order.
fn front_candidates(search: &Search, directions: &[Direction]) -> Vec<u64> {
    let scored: Vec<(u64, &Vec<f64>)> = search
        .records()
        .iter()
        .filter_map(|r| match &r.status {
            Status::Evaluated(values) if values.len() == directions.len() => Some((r.id, values)),
            _ => None,
        })
        .collect();
    let points: Vec<&Vec<f64>> = scored.iter().map(|(_, v)| *v).collect();
    non_dominated(&points, directions).unwrap_or_default().into_iter().map(|i| scored[i].0).collect()
}

/// A front member as the rule sees it: its measurement after `epoch`, if it has one.
fn same_epoch(genome: &str, epochs: &[EpochPoint], epoch: usize) -> Option<FrontPoint> {
    let same = epochs.iter().find(|p| p.epoch == epoch)?;
    Some(FrontPoint {
        genome: genome.to_string(),
        val_accuracy: same.val_accuracy,
        introspectability: same.introspectability,
    })
}

// ---- Replaying a rule over a finished run (`xnas check SCRIPT --replay RUN`) ----

/// One finished candidate of a replayed run.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayedCandidate {
    /// The store's evaluation id.
    pub evaluation: i64,
    /// The candidate id (the `#N` of the run's log, the report and `models/`).
    pub candidate: u64,
    pub genome: String,
    /// Epochs it trained in the run.
    pub epochs_trained: usize,
    /// Epochs its training had in all.
    pub epochs: usize,
    /// The epoch after which the replayed rule stopped it (`None`: it would have trained on).
    pub stopped_after: Option<usize>,
    /// The run itself stopped it (its later epochs are unknown).
    pub stopped_in_run: bool,
    /// Its objective values as the run finished it (`None`: an objective failed on it).
    pub values: Option<Vec<f64>>,
    /// On the front of the run's finished candidates, in the script's objectives.
    pub on_final_front: bool,
}

/// What a script's early-stopping rule would have done in a finished run: the run's candidates
/// in the order they finished, each decided after each measured epoch against the front of
/// those finished before it (the stopped ones with the values of their last epoch), as the
/// run loop decides. A replay keeps the run's candidates: a live run with the rule would breed
/// from what it keeps, and would use the time saved for more candidates.
#[derive(Debug, Clone)]
pub struct EarlyStopReplay {
    pub objective_names: Vec<String>,
    /// Finished candidates in finish order.
    pub candidates: Vec<ReplayedCandidate>,
    /// Finished candidates without per-epoch measurements (copied from an earlier training, or
    /// trained without `epoch_validation`): never stopped by a replay.
    pub unmeasured: usize,
    /// The archive's hypervolume (script's objectives and reference point) as the run trained it.
    pub hypervolume: f64,
    /// The same with the replay's stops (a stopped candidate scored with its stopped record).
    pub replayed_hypervolume: f64,
}

impl EarlyStopReplay {
    pub fn stopped(&self) -> impl Iterator<Item = &ReplayedCandidate> {
        self.candidates.iter().filter(|c| c.stopped_after.is_some())
    }

    /// Epochs of every candidate trained to the end, and those trained with the replay's stops.
    pub fn epochs(&self) -> (usize, usize) {
        let run = self.candidates.iter().map(|c| c.epochs).sum();
        let replayed = self.candidates.iter().map(|c| c.stopped_after.unwrap_or(c.epochs_trained)).sum();
        (run, replayed)
    }
}

impl std::fmt::Display for EarlyStopReplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (all_epochs, replayed_epochs) = self.epochs();
        let stopped: Vec<&ReplayedCandidate> = self.stopped().collect();
        let mut by_epoch: Vec<(usize, usize)> = Vec::new();
        for epoch in stopped.iter().filter_map(|c| c.stopped_after) {
            match by_epoch.iter_mut().find(|(e, _)| *e == epoch) {
                Some((_, n)) => *n += 1,
                None => by_epoch.push((epoch, 1)),
            }
        }
        by_epoch.sort();
        let when: Vec<String> = by_epoch.iter().map(|(e, n)| format!("after epoch {e}: {n}")).collect();
        writeln!(
            f,
            "early stopping replayed over {} finished candidate(s), in the order they finished:",
            self.candidates.len()
        )?;
        let saved = all_epochs - replayed_epochs;
        writeln!(
            f,
            "  the rule stops {} ({}): {saved} of {all_epochs} epochs not trained ({:.1} %)",
            stopped.len(),
            if when.is_empty() { "none".to_string() } else { when.join(", ") },
            100.0 * saved as f64 / all_epochs.max(1) as f64
        )?;
        let front = self.candidates.iter().filter(|c| c.on_final_front).count();
        let lost: Vec<&&ReplayedCandidate> = stopped.iter().filter(|c| c.on_final_front && !c.stopped_in_run).collect();
        writeln!(
            f,
            "  of the run's front ({front} candidate(s)) it stops {}",
            if lost.is_empty() { "none".into() } else { lost.len().to_string() }
        )?;
        writeln!(
            f,
            "  archive hypervolume {:.4} as trained, {:.4} with these stops",
            self.hypervolume, self.replayed_hypervolume
        )?;
        if self.unmeasured > 0 {
            writeln!(f, "  {} candidate(s) without per-epoch measurements are never stopped", self.unmeasured)?;
        }
        for c in &stopped {
            let values = match &c.values {
                Some(values) => self
                    .objective_names
                    .iter()
                    .zip(values)
                    .map(|(name, v)| format!("{name} {v:.4}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                None => "an objective failed on it".into(),
            };
            let mark = match (c.stopped_in_run, c.on_final_front) {
                (true, _) => " (stopped there in the run too)",
                (false, true) => " ON THE RUN'S FRONT",
                (false, false) => "",
            };
            writeln!(
                f,
                "    #{} {} after epoch {} of {}; as trained: {values}{mark}",
                c.candidate,
                c.genome,
                c.stopped_after.unwrap_or(0),
                c.epochs
            )?;
        }
        write!(f, "  (a replay keeps the run's candidates; a run with the rule breeds from what it keeps)")
    }
}

/// The record a training stopped after `point` would have left: that epoch's accuracy and
/// introspectability (what a per-epoch measurement has), no trust measurements, status stopped.
/// Fields an epoch does not measure (per-class accuracy, confusion, distances) keep the
/// finished training's values.
fn stopped_record(record: &MeasurementRecord, point: &EpochPoint) -> MeasurementRecord {
    let mut stopped = record.clone();
    stopped.status = crate::record::Status::Stopped;
    stopped.val_accuracy = Some(point.val_accuracy);
    stopped.introspectability = point.introspectability;
    stopped.val_images = point.images;
    stopped.val_loss = None;
    stopped.epochs.retain(|p| p.epoch <= point.epoch);
    stopped.train_loss_per_epoch.truncate(point.epoch);
    stopped.train_accuracy = None;
    stopped.test_accuracy = None;
    stopped.test_loss = None;
    stopped.class_means = None;
    stopped.calibration = None;
    stopped.mispredictions = None;
    stopped.mislabels = None;
    stopped.confusion_correlation = None;
    stopped
}

/// Replays `experiment`'s early-stopping rule over the finished evaluations of the run in
/// `store` (see [`EarlyStopReplay`]). A rule that fails is an error, as in `xnas check`.
pub fn replay(experiment: &Experiment, store: &Store) -> anyhow::Result<EarlyStopReplay> {
    anyhow::ensure!(
        experiment.has_stop_rule(),
        "the script has no early-stopping rule to replay; add one, e.g. \
         exp.stop_early(early::dominated_by_front(0.05, 1)) with import \"xnas/early\" as early"
    );
    let directions = experiment.directions();
    let mut finished: Vec<_> = store
        .evaluations(Some(EvalStatus::Done))?
        .into_iter()
        .filter_map(|e| {
            let record = e.record?;
            matches!(record.status, crate::record::Status::Done | crate::record::Status::Stopped).then_some((
                e.id,
                e.finished_at.unwrap_or(f64::INFINITY),
                e.reused_from,
                record,
                e.candidate,
            ))
        })
        .collect();
    finished.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    anyhow::ensure!(
        finished.iter().any(|(_, _, _, record, _)| !record.epochs.is_empty()),
        "the run has no per-epoch measurements to replay a rule on ({} finished candidate(s), none measured after \
         its epochs): run a pilot search with them, e.g. `xnas run SCRIPT --set training.epoch_validation=500`",
        finished.len()
    );
    // What the run loop's search held when each candidate trained: (values, genome, epochs).
    let mut held: Vec<(Vec<f64>, String, Vec<EpochPoint>)> = Vec::new();
    let mut candidates = Vec::new();
    let mut unmeasured = 0;
    let (mut trained_values, mut replayed_values) = (Vec::new(), Vec::new());
    for (id, _, reused_from, record, candidate) in finished {
        let measured = reused_from.is_none() && !record.epochs.is_empty();
        unmeasured += usize::from(!measured);
        let mut stopped_at = None;
        let epochs_to_decide = if measured { record.epochs.as_slice() } else { &[] };
        for point in epochs_to_decide.iter().filter(|p| p.epoch < record.config.epochs) {
            let values: Vec<&Vec<f64>> = held.iter().map(|(v, ..)| v).collect();
            let front = non_dominated(&values, &directions)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|i| same_epoch(&held[i].1, &held[i].2, point.epoch))
                .collect();
            let genome: Genome = record.genome.parse()?;
            let partial = PartialEvaluation {
                epoch: point.epoch,
                epochs: record.config.epochs,
                candidate: PartialCandidate {
                    genome: genome.compact(),
                    arch: genome.arch_string(),
                    val_accuracy: point.val_accuracy,
                    introspectability: point.introspectability,
                    images: point.images,
                },
                front,
            };
            if experiment.stop_early(&partial)? {
                stopped_at = Some(*point);
                break;
            }
        }
        let stopped_in_run = record.status == crate::record::Status::Stopped;
        if stopped_at.is_none() && stopped_in_run {
            stopped_at = record.epochs.last().copied();
        }
        let values = experiment.score(&record).ok();
        let replayed = match &stopped_at {
            Some(point) => experiment.score(&stopped_record(&record, point)).ok(),
            None => values.clone(),
        };
        trained_values.extend(values.clone());
        if let Some(v) = &replayed {
            replayed_values.push(v.clone());
            let known = stopped_at.map_or(usize::MAX, |p| p.epoch);
            let epochs = record.epochs.iter().filter(|p| p.epoch <= known).copied().collect();
            held.push((v.clone(), record.genome.clone(), epochs));
        }
        candidates.push(ReplayedCandidate {
            evaluation: id,
            candidate,
            genome: record.genome.clone(),
            epochs_trained: record.train_loss_per_epoch.len(),
            epochs: record.config.epochs,
            stopped_after: stopped_at.map(|p| p.epoch),
            stopped_in_run,
            values,
            on_final_front: false,
        });
    }
    let scored: Vec<(usize, &Vec<f64>)> =
        candidates.iter().enumerate().filter_map(|(i, c)| c.values.as_ref().map(|v| (i, v))).collect();
    let points: Vec<&Vec<f64>> = scored.iter().map(|(_, v)| *v).collect();
    let front: Vec<usize> =
        non_dominated(&points, &directions).unwrap_or_default().into_iter().map(|i| scored[i].0).collect();
    for i in front {
        candidates[i].on_final_front = true;
    }
    Ok(EarlyStopReplay {
        objective_names: experiment.objective_names().iter().map(|s| s.to_string()).collect(),
        candidates,
        unmeasured,
        hypervolume: experiment.hypervolume(&trained_values)?,
        replayed_hypervolume: experiment.hypervolume(&replayed_values)?,
    })
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::path::{Path, PathBuf};
    use std::rc::Rc;

    use super::*;
    use crate::exec::fake::{point, Asked, FakeExecutor};
    use crate::exec::JobOutcome;
    use crate::record::Status as RecordStatus;
    use crate::script::compile_file;

    /// Runs a small NSGA-II search with `rule` under the fake executor in a fresh folder.
    fn run_with_rule(tag: &str, rule: &str) -> (PathBuf, Rc<RefCell<Asked>>, super::super::RunSummary) {
        let dir = std::env::temp_dir().join(format!("xnas-early-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("exp.rhai");
        let text = format!(
            r#"import "xnas/early" as early;
let exp = experiment("early");
exp.dataset(#{{ name: "fashion-mnist", train_subset: 300, val_subset: 200 }});
exp.space(#{{ channels: 4, cells: 1, ops: ["nor_conv_3x3", "avg_pool_3x3", "skip_connect"] }});
exp.training(#{{ epochs: 3 }});
exp.search(#{{ population: 6, generations: 4, seed: 5, keep_models: "none" }});
exp.objective("accuracy", "max", |r| r.val_accuracy);
exp.objective("introspectability", "max", |r| r.introspectability);
exp.stop_early({rule});
"#
        );
        std::fs::write(&script, text).unwrap();
        let experiment = compile_file(&script).unwrap();
        assert_eq!(experiment.eval_config().epoch_validation, Some(200), "the rule measures every epoch");
        let store = crate::store::Store::create(&dir, &super::super::run_info(&experiment, &script)).unwrap();
        let search = Search::new(experiment.spec()).unwrap();
        // One job at a time, each measuring every epoch its configuration trains.
        let (executor, asked) = FakeExecutor::new(1, |job, _| {
            JobOutcome::Record(Box::new(crate::record::synthetic_record(&job.config, &job.genome.parse().unwrap())))
        });
        let options = super::super::RunOptions {
            watch: false,
            device: None,
            program: PathBuf::from("xnas-worker"),
            progress: false,
            execution: Default::default(),
            from: None,
        };
        let summary = super::super::run(
            store,
            experiment,
            &script,
            &[],
            search,
            &dir,
            &options,
            super::super::Execution::default(),
            Box::new(executor.measuring(None)),
        )
        .unwrap();
        (dir, asked, summary)
    }

    fn done_records(dir: &Path) -> Vec<(i64, MeasurementRecord)> {
        let store = Store::open(dir).unwrap();
        store.evaluations(Some(EvalStatus::Done)).unwrap().into_iter().map(|e| (e.id, e.record.unwrap())).collect()
    }

    /// (genome, the epoch it was stopped after) of a run's initial population, in evaluation order.
    fn initial_population(dir: &Path, stops: impl Fn(i64) -> Option<usize>) -> Vec<(String, Option<usize>)> {
        let store = Store::open_read_only(dir).unwrap();
        let mut initial: Vec<_> = store.evaluations(None).unwrap().into_iter().filter(|e| e.generation == 0).collect();
        initial.sort_by_key(|e| e.id);
        initial.into_iter().map(|e| (e.genome.compact(), stops(e.id))).collect()
    }

    #[test]
    fn a_replay_over_a_run_decides_as_the_run_loop_did() {
        // The same search twice: with a rule that never stops (every epoch still measured), and
        // with the stdlib rule. Their initial populations are the same genomes trained in the same
        // order, so a replay of the stdlib rule over the first run must stop there exactly what
        // the run loop stopped in the second.
        let (never, never_asked, _) = run_with_rule("replay-never", "|partial| false");
        assert!(never_asked.borrow().decisions.iter().all(|d| !d.2));
        // (No margin: the fake's initial population then has candidates to stop.)
        let (live, asked, _) = run_with_rule("replay-live", "early::dominated_by_front(0.0, 1)");
        let rule = compile_file(&live.join("exp.rhai")).unwrap();
        let replayed = replay(&rule, &Store::open_read_only(&never).unwrap()).unwrap();

        let live_stops: HashMap<i64, usize> =
            asked.borrow().decisions.iter().filter(|d| d.2).map(|d| (d.0 as i64, d.1)).collect();
        let live_initial = initial_population(&live, |id| live_stops.get(&id).copied());
        let by_evaluation: HashMap<i64, Option<usize>> =
            replayed.candidates.iter().map(|c| (c.evaluation, c.stopped_after)).collect();
        let replayed_initial = initial_population(&never, |id| by_evaluation[&id]);
        assert_eq!(replayed_initial, live_initial);
        assert!(live_initial.iter().any(|(_, stop)| stop.is_some()), "the rule stops someone: {live_initial:?}");

        // Epochs: every candidate of the first run trained 3; a stop after epoch e saves 3 - e.
        let n = replayed.candidates.len();
        assert_eq!(n, done_records(&never).len());
        let saved: usize = replayed.stopped().map(|c| 3 - c.stopped_after.unwrap()).sum();
        assert_eq!(replayed.epochs(), (3 * n, 3 * n - saved));
        assert!(replayed.stopped().all(|c| !c.stopped_in_run));
        let text = replayed.to_string();
        assert!(text.contains(&format!("the rule stops {}", replayed.stopped().count())), "{text}");
        assert!(replayed.hypervolume > 0.0 && replayed.replayed_hypervolume > 0.0, "{text}");

        // Over the run that used the rule, the replay finds every live stop at its epoch.
        let again = replay(&rule, &Store::open_read_only(&live).unwrap()).unwrap();
        for c in &again.candidates {
            assert_eq!(c.stopped_after, live_stops.get(&c.evaluation).copied(), "#{} {}", c.evaluation, c.genome);
            assert_eq!(c.stopped_in_run, c.stopped_after.is_some());
        }

        // A script without a rule has nothing to replay.
        let plain = never.join("plain.rhai");
        let text = std::fs::read_to_string(never.join("exp.rhai")).unwrap();
        std::fs::write(&plain, text.replace("exp.stop_early(|partial| false);", "")).unwrap();
        let error = replay(&compile_file(&plain).unwrap(), &Store::open_read_only(&never).unwrap()).unwrap_err();
        assert!(error.to_string().contains("no early-stopping rule to replay"), "{error}");
        // A run that did not measure its epochs has nothing to replay on, and says how to get it.
        let db = rusqlite::Connection::open(Store::db_path(&never)).unwrap();
        db.execute("UPDATE evaluations SET record = json_remove(record, '$.epochs')", []).unwrap();
        drop(db);
        let error = replay(&rule, &Store::open_read_only(&never).unwrap()).unwrap_err().to_string();
        assert!(error.contains("no per-epoch measurements") && error.contains("training.epoch_validation"), "{error}");
        std::fs::remove_dir_all(&never).ok();
        std::fs::remove_dir_all(&live).ok();
    }

    #[test]
    fn a_dominated_candidate_is_stopped_stored_scored_and_never_trained_again() {
        let (dir, asked, summary) = run_with_rule("stop", "early::dominated_by_front(0.02, 1)");
        let asked = asked.borrow();
        assert!(asked.submitted.iter().all(|(_, waits)| *waits), "every job waits for the rule");
        let stops: Vec<(u64, usize)> = asked.decisions.iter().filter(|d| d.2).map(|d| (d.0, d.1)).collect();
        assert!(!stops.is_empty(), "some candidate is dominated by the front: {:?}", asked.decisions);
        assert!(asked.decisions.iter().any(|d| !d.2), "and the front's own candidates go on");

        let store = Store::open(&dir).unwrap();
        let version = store.latest_script_version().unwrap().unwrap().id;
        let scores: HashMap<i64, Result<Vec<f64>, String>> =
            store.scores(version).unwrap().into_iter().map(|s| (s.evaluation, s.result)).collect();
        let records: HashMap<i64, MeasurementRecord> = done_records(&dir).into_iter().collect();
        let hash = compile_file(&dir.join("exp.rhai")).unwrap().training_hash();
        for (job, epoch) in &stops {
            let record = &records[&(*job as i64)];
            assert_eq!(record.status, RecordStatus::Stopped);
            assert_eq!(record.epochs.len(), *epoch, "trained no further than the stop");
            let last = point(&record.genome, *epoch);
            assert_eq!(scores[&(*job as i64)], Ok(vec![last.val_accuracy, last.introspectability.unwrap()]));
            // A stopped genome counts as evaluated: asked again, it is reused, not trained.
            let found = store.find_done(&record.genome.parse().unwrap(), &hash).unwrap().unwrap();
            assert_eq!(found.record.unwrap().status, RecordStatus::Stopped);
        }
        let mut genomes: Vec<&String> = asked.submitted.iter().map(|(g, _)| g).collect();
        let trained = genomes.len();
        genomes.sort();
        genomes.dedup();
        assert_eq!(genomes.len(), trained, "no genome is trained twice");
        assert_eq!(summary.trained, trained);

        // The report counts them and its tables and analyses take them as records with values.
        drop(store);
        let input = crate::report::input::report_input(&dir).unwrap();
        let saved: usize = stops.iter().map(|(_, epoch)| 3 - epoch).sum();
        assert_eq!(
            input.early_stops(),
            crate::report::EarlyStops { stopped: stops.len(), evaluated: trained, epochs_not_trained: saved }
        );
        let table = crate::report::Table1::from_input(&input);
        assert!(table.evaluated == trained && table.hypervolume.is_some_and(|hv| hv > 0.0));
        let written = crate::report::write_report(&input, &dir.join("report")).unwrap();
        let html = std::fs::read_to_string(written.iter().find(|p| p.ends_with("index.html")).unwrap()).unwrap();
        assert!(html.contains(&format!("{} of {trained} candidates stopped early", stops.len())));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_failing_rule_stops_nothing_and_the_run_goes_on() {
        for (tag, rule) in [("throw", r#"|p| throw "a broken rule""#), ("string", r#"|p| "yes""#)] {
            let (dir, asked, summary) = run_with_rule(tag, rule);
            let asked = asked.borrow();
            assert!(
                !asked.decisions.is_empty() && asked.decisions.iter().all(|d| !d.2),
                "{tag}: {:?}",
                asked.decisions
            );
            let records = done_records(&dir);
            assert_eq!(records.len(), summary.trained + summary.reused, "{tag}");
            assert!(records.iter().all(|(_, r)| r.status == RecordStatus::Done && r.epochs.len() == 3), "{tag}");
            assert_eq!(summary.generations, 4, "{tag}: the whole budget ran");
            std::fs::remove_dir_all(&dir).ok();
        }
    }

    #[test]
    fn the_front_holds_its_members_measured_after_the_same_epoch() {
        let dir = std::env::temp_dir().join(format!("xnas-early-front-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("exp.rhai");
        let text = r#"let exp = experiment("front");
exp.dataset(#{ name: "fashion-mnist" });
exp.search(#{ algorithm: "fixed", genomes: ["000000", "444444", "222222"] });
exp.objective("accuracy", "max", |r| r.val_accuracy);
exp.objective("introspectability", "max", |r| r.introspectability);
"#;
        std::fs::write(&script, text).unwrap();
        let experiment = compile_file(&script).unwrap();
        std::fs::remove_dir_all(&dir).ok();
        let mut search = Search::new(experiment.spec()).unwrap();
        let candidates = search.ask_with(&mut xnas_moo::NoRepair).unwrap();
        let mut early = EarlyStopping::default();
        let mut told = Vec::new();
        for c in &candidates {
            let genome = experiment.spec().space.decode(&c.x).unwrap().compact();
            // 000000 is accurate, 444444 introspectable, 222222 dominated by both.
            let (values, epochs) = match genome.as_str() {
                "000000" => (vec![0.9, 0.2], 3),
                "444444" => (vec![0.4, 0.5], 1),
                _ => (vec![0.3, 0.1], 3),
            };
            let mut record = crate::record::synthetic_record(&Default::default(), &genome.parse().unwrap());
            record.epochs = (1..=epochs).map(|e| point(&genome, e)).collect();
            early.finished(c.id, &record);
            told.push((c.id, xnas_moo::Evaluation::Objectives(values)));
        }
        search.tell(told).unwrap();
        let directions = experiment.directions();
        early.started(9, "000444".parse().unwrap(), 3);
        assert!(early.partial(8, &point("000444", 1), &search, &directions).is_none(), "a job without the rule");

        let first = early.partial(9, &point("000444", 1), &search, &directions).unwrap();
        assert_eq!((first.epoch, first.epochs, first.candidate.genome.as_str()), (1, 3, "000444"));
        assert_eq!(first.candidate.val_accuracy, point("000444", 1).val_accuracy);
        let genomes: Vec<&str> = first.front.iter().map(|p| p.genome.as_str()).collect();
        assert_eq!(genomes, ["000000", "444444"], "the dominated 222222 is not on the front");
        assert_eq!(first.front[1].introspectability, point("444444", 1).introspectability, "epoch 1's values");

        let second = early.partial(9, &point("000444", 2), &search, &directions).unwrap();
        let genomes: Vec<&str> = second.front.iter().map(|p| p.genome.as_str()).collect();
        assert_eq!(genomes, ["000000"], "444444 was measured after epoch 1 only");
        assert_eq!(second.front[0].val_accuracy, point("000000", 2).val_accuracy);
        early.ended(9);
        assert!(early.partial(9, &point("000444", 2), &search, &directions).is_none());
    }
}
