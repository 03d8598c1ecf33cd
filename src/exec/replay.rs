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

/// A job in flight on the simulated clock, ordered so that the heap pops the earliest finish
/// first (and, at equal times, the earliest submitted).
#[derive(Debug)]
struct InFlight {
    finish: f64,
    order: u64,
    job: u64,
    outcome: JobOutcome,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for InFlight {}

impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap.
        other.finish.total_cmp(&self.finish).then(other.order.cmp(&self.order))
    }
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
    in_flight: BinaryHeap<InFlight>,
    submitted: u64,
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
            in_flight: BinaryHeap::new(),
            submitted: 0,
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
        self.in_flight.push(InFlight {
            finish: self.clock.seconds() + seconds,
            order: self.submitted,
            job: job.id,
            outcome,
        });
        self.submitted += 1;
        Ok(())
    }

    fn next_event(&mut self) -> Option<ExecEvent> {
        if let Some(started) = self.started.pop_front() {
            return Some(started);
        }
        let done = self.in_flight.pop()?;
        self.clock.advance_to(done.finish);
        Some(ExecEvent::Finished { job: done.job, outcome: done.outcome })
    }

    fn cancel_all(&mut self) {
        self.started.clear();
        self.in_flight.clear();
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
    use crate::record::{synthetic_record, EvalConfig};

    fn job(id: u64, genome: &str) -> Job {
        Job {
            id,
            genome: genome.into(),
            config: EvalConfig::default(),
            threads: None,
            device_name: None,
            model_dir: None,
            decide_each_epoch: false,
        }
    }

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
