//! The replay executor: every job is answered from a table of measurements — the records of an
//! earlier run, one per canonical cell — instead of a worker. No process starts and nothing loads
//! libtorch, so a whole search replays in seconds, and searches compared on the same table see
//! exactly the same measurements.
//!
//! Time is simulated: each job takes its record's measured seconds (training, validation and
//! trust passes) on a [`SimulatedClock`], `slots` jobs at once. A job starts when it is submitted
//! (the run loop submits only while a slot is free) and finishes at start + its seconds; events
//! come back in simulated finishing order, so a generational run's barrier and a steady-state
//! run's refills fall where they would on `slots` real workers, and `search.max_seconds` reads
//! this clock (the run loop asks [`Executor::simulated_clock`]).
//!
//! A job that waits for a decision after each epoch (the run has an early-stopping rule) gets
//! the record's per-epoch points (`training.epoch_validation`) as epoch events, each at its
//! share of the training seconds; a stop ends it there, its record what the table knows of that
//! epoch (see [`stopped_record`]), and saves the remaining epochs' simulated seconds.
//!
//! Which record answers a job, and whether the table's training configuration is the job's, is
//! the run's business (`src/run/table.rs`): this executor gets the answers by canonical form and,
//! for a cell it has no answer for, the reason to give.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::Arc;

use xnas_space::{CanonicalForm, Genome};

use super::{ExecError, ExecEvent, Executor, Job, JobOutcome};
use crate::record::MeasurementRecord;

/// Seconds on a simulated clock, shared between the replay executor that moves it and the run
/// loop that reads it.
#[derive(Debug, Clone, Default)]
pub struct SimulatedClock(Arc<AtomicU64>);

impl SimulatedClock {
    /// Simulated seconds since the replay began.
    pub fn seconds(&self) -> f64 {
        f64::from_bits(self.0.load(AtomicOrdering::Relaxed))
    }

    fn advance_to(&self, seconds: f64) {
        if seconds > self.seconds() {
            self.0.store(seconds.to_bits(), AtomicOrdering::Relaxed);
        }
    }
}

/// A table's answer for one canonical cell.
#[derive(Debug, Clone)]
pub struct TableAnswer {
    /// The record as the table holds it; the replayed one is this with `replayed_from` set.
    pub record: MeasurementRecord,
    /// Where it comes from, for the record's `replayed_from` (e.g. `/runs/table #17`).
    pub source: String,
}

/// The seconds a record's evaluation took: training and the measurement passes after it.
pub fn record_seconds(record: &MeasurementRecord) -> f64 {
    let seconds = record.train_seconds + record.eval_seconds + record.trust_seconds;
    if seconds.is_finite() && seconds > 0.0 {
        seconds
    } else {
        0.0
    }
}

/// The next moment of a job in flight on the simulated clock — the end of one of its measured
/// epochs, or its end — ordered so that the heap pops the earliest first (and, at equal times,
/// the earliest scheduled).
#[derive(Debug)]
struct Moment {
    at: f64,
    order: u64,
    job: u64,
    /// The index in the record's `epochs` of the epoch that ends; `None`: the job ends.
    epoch: Option<usize>,
}

impl PartialEq for Moment {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Moment {}

impl PartialOrd for Moment {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Moment {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap.
        other.at.total_cmp(&self.at).then(other.order.cmp(&self.order))
    }
}

/// A job in flight: its outcome as the table gives it, and when it started.
#[derive(Debug)]
struct Replaying {
    outcome: JobOutcome,
    start: f64,
    seconds: f64,
    /// The job waits for a decision after each measured epoch (an early-stopping rule).
    decides: bool,
    /// The index in the record's `epochs` of the epoch measured last, which a decision is about.
    measured: Option<usize>,
}

impl Replaying {
    fn record(&self) -> Option<&MeasurementRecord> {
        match &self.outcome {
            JobOutcome::Record(record) => Some(record),
            _ => None,
        }
    }

    /// When the measured epoch at `index` of the record's `epochs` ends: its share of the
    /// training seconds (the per-epoch measurement is timed within them).
    fn epoch_end(&self, index: usize) -> Option<f64> {
        let record = self.record()?;
        let point = record.epochs.get(index)?;
        let epochs = record.config.epochs.max(point.epoch).max(1) as f64;
        Some(self.start + record.train_seconds.max(0.0) * point.epoch as f64 / epochs)
    }
}

/// The record of a training an early-stopping rule stopped after the measured epoch at `index`:
/// what a worker's stopped record holds, as far as the table knows it. The epoch's point gives
/// the accuracy and introspectability; the class-level fields of that measurement (confusion,
/// class distances, per-class accuracy, class means) were not kept per epoch, so they are left
/// empty, and there are no trust measurements, as after a real stop.
fn stopped_record(full: &MeasurementRecord, index: usize) -> MeasurementRecord {
    let point = full.epochs[index];
    let epochs = full.config.epochs.max(point.epoch).max(1) as f64;
    let mut record = full.clone();
    record.status = crate::record::Status::Stopped;
    record.epochs.truncate(index + 1);
    record.train_loss_per_epoch.truncate(point.epoch);
    record.val_accuracy = Some(point.val_accuracy);
    record.introspectability = point.introspectability;
    record.val_images = point.images;
    record.introspect_images = point.images;
    record.val_loss = None;
    record.per_class_accuracy = Vec::new();
    record.confusion = Vec::new();
    record.class_distance = Vec::new();
    record.validation_class_means = None;
    record.train_seconds = full.train_seconds.max(0.0) * point.epoch as f64 / epochs;
    record.eval_seconds = 0.0;
    record.train_accuracy = None;
    record.test_accuracy = None;
    record.test_loss = None;
    record.class_means = None;
    record.calibration = None;
    record.mispredictions = None;
    record.mislabels = None;
    record.confusion_correlation = None;
    record.trust_seconds = 0.0;
    record
}

/// Answers jobs from a table on a simulated clock; see the module docs.
pub struct ReplayExecutor {
    answers: HashMap<CanonicalForm, TableAnswer>,
    /// Why a cell without an answer has none (it is in the table under another training
    /// configuration, say); cells in neither map are simply not in the table.
    misses: HashMap<CanonicalForm, String>,
    /// The table, as the messages name it.
    table: String,
    slots: usize,
    clock: SimulatedClock,
    started: VecDeque<ExecEvent>,
    in_flight: HashMap<u64, Replaying>,
    moments: BinaryHeap<Moment>,
    scheduled: u64,
}

impl ReplayExecutor {
    /// An executor answering from `answers`, `slots` jobs at once (at least one).
    pub fn new(
        table: String,
        answers: HashMap<CanonicalForm, TableAnswer>,
        misses: HashMap<CanonicalForm, String>,
        slots: usize,
    ) -> ReplayExecutor {
        ReplayExecutor {
            answers,
            misses,
            table,
            slots: slots.max(1),
            clock: SimulatedClock::default(),
            started: VecDeque::new(),
            in_flight: HashMap::new(),
            moments: BinaryHeap::new(),
            scheduled: 0,
        }
    }

    fn schedule(&mut self, job: u64, at: f64, epoch: Option<usize>) {
        self.moments.push(Moment { at, order: self.scheduled, job, epoch });
        self.scheduled += 1;
    }

    /// The job's next moment after its measured epoch `after` (`None`: from its start): the
    /// next measured epoch when it waits for decisions, else its end.
    fn schedule_next(&mut self, job: u64, after: Option<usize>) {
        let Some(replaying) = self.in_flight.get(&job) else { return };
        let next = after.map_or(0, |index| index + 1);
        let epoch_end = if replaying.decides { replaying.epoch_end(next) } else { None };
        match epoch_end {
            Some(at) => self.schedule(job, at, Some(next)),
            None => {
                let end = replaying.start + replaying.seconds;
                self.schedule(job, end, None);
            }
        }
    }

    /// The outcome of a job and the seconds it takes: the table's record, or the reason it has none.
    fn answer(&self, job: &Job) -> (JobOutcome, f64) {
        let genome: Genome = match job.genome.parse() {
            Ok(genome) => genome,
            Err(e) => return (JobOutcome::Config(format!("genome {:?}: {e}", job.genome)), 0.0),
        };
        let form = genome.canonical();
        match self.answers.get(&form) {
            Some(answer) => {
                let mut record = answer.record.clone();
                record.replayed_from = Some(answer.source.clone());
                let seconds = record_seconds(&record);
                (JobOutcome::Record(Box::new(record)), seconds)
            }
            None => {
                let why = self.misses.get(&form).cloned().unwrap_or_else(|| "the table has no record of it".into());
                let message = format!(
                    "cell {} (canonical form {form}) cannot be replayed from the table {}: {why}. Replay with a \
                     table of this space and training configuration (build one with search.algorithm \
                     \"exhaustive\"), restrict space.ops to the table's cells, or train the cells it lacks \
                     (--table-miss train)",
                    genome.compact(),
                    self.table
                );
                (JobOutcome::Config(message), 0.0)
            }
        }
    }
}

impl Executor for ReplayExecutor {
    fn submit(&mut self, job: Job) -> Result<(), ExecError> {
        let (outcome, seconds) = self.answer(&job);
        self.started.push_back(ExecEvent::Started { job: job.id, worker: "table".into() });
        let replaying =
            Replaying { outcome, start: self.clock.seconds(), seconds, decides: job.decide_each_epoch, measured: None };
        self.in_flight.insert(job.id, replaying);
        self.schedule_next(job.id, None);
        Ok(())
    }

    /// The earliest moment: an epoch's measurement (the job then waits for [`Executor::decide`])
    /// or a job's end.
    fn next_event(&mut self) -> Option<ExecEvent> {
        if let Some(started) = self.started.pop_front() {
            return Some(started);
        }
        let moment = self.moments.pop()?;
        self.clock.advance_to(moment.at);
        match moment.epoch {
            Some(index) => {
                let replaying = self.in_flight.get_mut(&moment.job)?;
                replaying.measured = Some(index);
                let point = replaying.record()?.epochs[index];
                Some(ExecEvent::Epoch { job: moment.job, point })
            }
            None => {
                let replaying = self.in_flight.remove(&moment.job)?;
                Some(ExecEvent::Finished { job: moment.job, outcome: replaying.outcome })
            }
        }
    }

    /// A stop ends the job now, with what the table knows of that epoch; going on schedules its
    /// next epoch or its end as the table's record measured them.
    fn decide(&mut self, job: u64, stop: bool) {
        let Some(replaying) = self.in_flight.get_mut(&job) else { return };
        let Some(index) = replaying.measured else { return };
        if stop {
            let Some(record) = replaying.record() else { return };
            replaying.outcome = JobOutcome::Record(Box::new(stopped_record(record, index)));
            let now = self.clock.seconds();
            self.schedule(job, now, None);
        } else {
            self.schedule_next(job, Some(index));
        }
    }

    fn cancel_all(&mut self) {
        self.started.clear();
        self.in_flight.clear();
        self.moments.clear();
    }

    fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    fn slots(&self) -> usize {
        self.slots
    }

    fn describe(&self) -> String {
        format!(
            "replay from the table {} ({} cell(s)), {} simulated slot(s); nothing is trained",
            self.table,
            self.answers.len(),
            self.slots
        )
    }

    fn simulated_clock(&self) -> Option<SimulatedClock> {
        Some(self.clock.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::fake::job;
    use crate::record::{synthetic_record, EpochPoint, EvalConfig};

    /// A table of three cells whose evaluations took 10, 4 and 7 seconds.
    fn executor(slots: usize) -> ReplayExecutor {
        let mut answers = HashMap::new();
        for (genome, seconds) in [("333033", 10.0), ("111111", 4.0), ("222222", 7.0)] {
            let genome: Genome = genome.parse().unwrap();
            let mut record = synthetic_record(&EvalConfig::default(), &genome);
            (record.train_seconds, record.eval_seconds, record.trust_seconds) = (seconds - 1.5, 1.0, 0.5);
            answers.insert(genome.canonical(), TableAnswer { record, source: format!("t #{}", genome.compact()) });
        }
        let mut misses = HashMap::new();
        misses.insert("000000".parse::<Genome>().unwrap().canonical(), "trained with training.epochs 1, not 3".into());
        ReplayExecutor::new("t".into(), answers, misses, slots)
    }

    /// Every event until none is in flight: (job, finish time) of each finished one.
    fn drain(executor: &mut ReplayExecutor) -> Vec<(u64, f64, JobOutcome)> {
        let mut finished = Vec::new();
        while let Some(event) = executor.next_event() {
            if let ExecEvent::Finished { job, outcome } = event {
                finished.push((job, executor.clock.seconds(), outcome));
            }
        }
        finished
    }

    #[test]
    fn an_isomorphic_cell_gets_the_tables_record_marked_as_replayed() {
        let mut executor = executor(1);
        // 433303 is 333033 with a skip before the conv: the same canonical form.
        executor.submit(job(5, "433303")).unwrap();
        let finished = drain(&mut executor);
        let [(5, seconds, JobOutcome::Record(record))] = finished.as_slice() else { panic!("{finished:?}") };
        assert_eq!(*seconds, 10.0);
        assert_eq!(record.genome, "333033", "the record of the cell the table trained");
        assert_eq!(record.replayed_from.as_deref(), Some("t #333033"));
        let mut unmarked = (**record).clone();
        unmarked.replayed_from = None;
        assert_eq!(unmarked, executor.answers[&record.genome.parse::<Genome>().unwrap().canonical()].record);
    }

    #[test]
    fn a_miss_is_a_configuration_error_naming_the_cell_and_why() {
        let mut executor = executor(2);
        executor.submit(job(1, "000000")).unwrap();
        executor.submit(job(2, "040404")).unwrap();
        let messages: Vec<String> = drain(&mut executor)
            .into_iter()
            .map(|(_, _, outcome)| match outcome {
                JobOutcome::Config(message) => message,
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(
            messages[0].contains("cell 000000") && messages[0].contains("training.epochs 1, not 3"),
            "{}",
            messages[0]
        );
        assert!(messages[1].contains("cell 040404") && messages[1].contains("has no record of it"), "{}", messages[1]);
    }

    /// A 3-epoch record of 12 training seconds measured after epochs 1 and 2.
    fn measured_table() -> ReplayExecutor {
        let genome: Genome = "333033".parse().unwrap();
        let config = EvalConfig { epochs: 3, ..EvalConfig::default() };
        let mut record = synthetic_record(&config, &genome);
        (record.train_seconds, record.eval_seconds, record.trust_seconds) = (12.0, 2.0, 1.0);
        record.train_loss_per_epoch = vec![2.0, 1.5, 1.2];
        record.epochs = vec![
            EpochPoint { epoch: 1, val_accuracy: 0.4, introspectability: Some(0.2), images: 100 },
            EpochPoint { epoch: 2, val_accuracy: 0.5, introspectability: Some(0.25), images: 100 },
        ];
        let answers = HashMap::from([(genome.canonical(), TableAnswer { record, source: "t #1".into() })]);
        ReplayExecutor::new("t".into(), answers, HashMap::new(), 1)
    }

    #[test]
    fn an_early_stopping_rule_sees_the_tables_epochs_and_a_stop_saves_the_rest() {
        // Going on after epoch 1 and stopping after epoch 2: the epochs come at 4 s and 8 s (a
        // third of the 12 training seconds each), and the job ends at 8 s, not 15 s.
        let mut executor = measured_table();
        let mut waiting = job(1, "333033");
        waiting.decide_each_epoch = true;
        executor.submit(waiting).unwrap();
        let mut seen = Vec::new();
        let mut outcome = None;
        while let Some(event) = executor.next_event() {
            match event {
                ExecEvent::Epoch { job, point } => {
                    seen.push((point.epoch, executor.clock.seconds()));
                    executor.decide(job, point.epoch == 2);
                }
                ExecEvent::Finished { outcome: o, .. } => outcome = Some((executor.clock.seconds(), o)),
                _ => {}
            }
        }
        assert_eq!(seen, [(1, 4.0), (2, 8.0)]);
        let Some((8.0, JobOutcome::Record(record))) = outcome else { panic!("{outcome:?}") };
        assert_eq!(record.status, crate::record::Status::Stopped);
        assert_eq!((record.val_accuracy, record.introspectability), (Some(0.5), Some(0.25)));
        assert_eq!(record.epochs.len(), 2);
        assert_eq!(record.train_loss_per_epoch, [2.0, 1.5]);
        assert_eq!(record_seconds(&record), 8.0, "two of three epochs, no measurement after");
        assert!(record.confusion.is_empty() && record.class_distance.is_empty() && record.calibration.is_none());
        assert_eq!(record.replayed_from.as_deref(), Some("t #1"));

        // A job that does not wait, or goes on each time, ends as the table's record did.
        for decides in [false, true] {
            let mut executor = measured_table();
            let mut going_on = job(2, "333033");
            going_on.decide_each_epoch = decides;
            executor.submit(going_on).unwrap();
            let mut epochs = 0;
            let mut end = None;
            while let Some(event) = executor.next_event() {
                match event {
                    ExecEvent::Epoch { job, .. } => {
                        epochs += 1;
                        executor.decide(job, false);
                    }
                    ExecEvent::Finished { outcome: JobOutcome::Record(record), .. } => {
                        end = Some((executor.clock.seconds(), record.status));
                    }
                    _ => {}
                }
            }
            assert_eq!(epochs, if decides { 2 } else { 0 });
            assert_eq!(end, Some((15.0, crate::record::Status::Done)));
        }
    }

    #[test]
    fn the_simulated_clock_runs_jobs_on_the_slots_as_workers_would() {
        // Two slots: 10 s and 4 s start at 0; the third (7 s) starts when the 4 s one frees a
        // slot, as the run loop submits it then, and ends at 4 + 7 = 11, after the 10 s one.
        let mut executor = executor(2);
        executor.submit(job(1, "333033")).unwrap();
        executor.submit(job(2, "111111")).unwrap();
        assert_eq!(executor.in_flight(), 2);
        let mut order = Vec::new();
        while let Some(event) = executor.next_event() {
            if let ExecEvent::Finished { job: id, .. } = event {
                order.push((id, executor.clock.seconds()));
                if id == 2 {
                    executor.submit(job(3, "222222")).unwrap();
                }
            }
        }
        assert_eq!(order, [(2, 4.0), (1, 10.0), (3, 11.0)]);
    }
}
