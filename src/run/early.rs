//! Early stopping in the run loop: what the script's rule (`exp.stop_early`) is shown after an
//! epoch of a candidate's training, and what the run must remember to show it. The front it
//! sees is the search's current non-dominated set of finished candidates, in the search's own
//! objectives and directions (what the run loop holds; re-scored with the archive on a reload),
//! each with its record's measurement of the same epoch. The per-epoch measurements of finished
//! candidates are kept here as their records are scored, and read once from the store for the
//! candidates a resumed run finished before. See `docs/architecture.md` for the whole loop.

use std::collections::HashMap;

use xnas_moo::{Direction, Status};
use xnas_space::Genome;

use super::search::Search;
use crate::record::{EpochPoint, MeasurementRecord};
use crate::script::{FrontPoint, PartialCandidate, PartialEvaluation};
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
                let same = measured.epochs.iter().find(|p| p.epoch == point.epoch)?;
                Some(FrontPoint {
                    genome: measured.genome.clone(),
                    val_accuracy: same.val_accuracy,
                    introspectability: same.introspectability,
                })
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
    let ranks = xnas_moo::pareto_ranks_directed(&points, directions).unwrap_or_default();
    scored.iter().zip(ranks).filter(|(_, rank)| *rank == 0).map(|((id, _), _)| *id).collect()
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::path::{Path, PathBuf};
    use std::rc::Rc;

    use super::*;
    use crate::exec::{ExecError, ExecEvent, Executor, Job, JobOutcome};
    use crate::record::Status as RecordStatus;
    use crate::script::compile_file;

    /// What the fake executor was asked.
    #[derive(Default)]
    struct Asked {
        /// (genome, whether the job waits after each epoch) of every job submitted.
        submitted: Vec<(String, bool)>,
        /// (job, epoch, stop) of every decision.
        decisions: Vec<(u64, usize, bool)>,
    }

    /// Trains nothing: one job at a time, whose accuracy and introspectability after each epoch
    /// follow from its genome (convolutions make it accurate, skips introspectable). A job that
    /// waits for decisions ends after a `stop` with a `stopped` record of that epoch's values.
    struct FakeExecutor {
        in_flight: VecDeque<Job>,
        measured: HashMap<u64, Vec<EpochPoint>>,
        stopped: Vec<u64>,
        asked: Rc<RefCell<Asked>>,
    }

    fn point(genome: &str, epoch: usize) -> EpochPoint {
        let count = |op: char| genome.chars().filter(|&c| c == op).count() as f64;
        EpochPoint {
            epoch,
            val_accuracy: 0.3 + 0.08 * count('0') + 0.03 * epoch as f64,
            introspectability: Some(0.1 + 0.05 * count('4') + 0.01 * epoch as f64),
            images: 200,
        }
    }

    impl Executor for FakeExecutor {
        fn submit(&mut self, job: Job) -> Result<(), ExecError> {
            self.asked.borrow_mut().submitted.push((job.genome.clone(), job.decide_each_epoch));
            self.in_flight.push_back(job);
            Ok(())
        }
        fn next_event(&mut self) -> Option<ExecEvent> {
            let job = self.in_flight.front()?;
            let measured = self.measured.entry(job.id).or_default();
            if measured.len() < job.config.epochs && !self.stopped.contains(&job.id) {
                let point = point(&job.genome, measured.len() + 1);
                measured.push(point);
                return Some(ExecEvent::Epoch { job: job.id, point });
            }
            let job = self.in_flight.pop_front()?;
            let genome = job.genome.parse().unwrap();
            let mut record = crate::script::synthetic_record(&job.config, &genome);
            let epochs = self.measured.remove(&job.id).unwrap_or_default();
            let last = *epochs.last().unwrap();
            record.val_accuracy = Some(last.val_accuracy);
            record.introspectability = last.introspectability;
            record.epochs = epochs;
            if self.stopped.contains(&job.id) {
                record.status = RecordStatus::Stopped;
            }
            Some(ExecEvent::Finished { job: job.id, outcome: JobOutcome::Record(Box::new(record)) })
        }
        fn decide(&mut self, job: u64, stop: bool) {
            let epoch = self.measured.get(&job).map_or(0, Vec::len);
            self.asked.borrow_mut().decisions.push((job, epoch, stop));
            if stop {
                self.stopped.push(job);
            }
        }
        fn cancel_all(&mut self) {
            self.in_flight.clear();
        }
        fn in_flight(&self) -> usize {
            self.in_flight.len()
        }
        fn slots(&self) -> usize {
            1
        }
        fn describe(&self) -> String {
            "fake".into()
        }
    }

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
        let asked = Rc::new(RefCell::new(Asked::default()));
        let executor = FakeExecutor {
            in_flight: VecDeque::new(),
            measured: HashMap::new(),
            stopped: Vec::new(),
            asked: asked.clone(),
        };
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
            Box::new(executor),
        )
        .unwrap();
        (dir, asked, summary)
    }

    fn done_records(dir: &Path) -> Vec<(i64, MeasurementRecord)> {
        let store = Store::open(dir).unwrap();
        store.evaluations(Some(EvalStatus::Done)).unwrap().into_iter().map(|e| (e.id, e.record.unwrap())).collect()
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
        let input = super::super::report_input(&dir).unwrap();
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
            let mut record = crate::script::synthetic_record(&Default::default(), &genome.parse().unwrap());
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
