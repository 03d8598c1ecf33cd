//! The one fake [`Executor`] the run loop's tests share (`run::jobs`, `run::early`): it trains
//! nothing, so retries, give-ups, cancellation and the early-stopping rule are tested without
//! libtorch or child processes. It finishes jobs in submission order, each after its measured
//! epochs, with the outcome the test plans for the job and attempt, and remembers what it was
//! asked.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use super::{ExecError, ExecEvent, Executor, Job, JobOutcome};
use crate::record::{EpochPoint, Status};

/// What the fake executor was asked, shared with the test that made it.
#[derive(Debug, Default)]
pub struct Asked {
    /// (genome, whether the job waits after each epoch) of every job submitted.
    pub submitted: Vec<(String, bool)>,
    /// (job, epoch, stop) of every decision.
    pub decisions: Vec<(u64, usize, bool)>,
    /// Jobs still in flight when everything was cancelled.
    pub cancelled: usize,
}

/// The outcome a test plans for a job's attempt (1 for the first).
pub type Plan = fn(&Job, u32) -> JobOutcome;

/// Runs `slots` jobs at once and finishes the oldest first (see the module docs).
pub struct FakeExecutor {
    slots: usize,
    plan: Plan,
    /// Epochs each job measures before it ends; `None`: as many as its configuration trains.
    epochs: Option<usize>,
    in_flight: VecDeque<Job>,
    attempts: HashMap<u64, u32>,
    measured: HashMap<u64, Vec<EpochPoint>>,
    stopped: Vec<u64>,
    asked: Rc<RefCell<Asked>>,
}

impl FakeExecutor {
    /// A fake with `slots` slots whose jobs measure no epoch and end as `plan` says.
    pub fn new(slots: usize, plan: Plan) -> (FakeExecutor, Rc<RefCell<Asked>>) {
        let asked = Rc::new(RefCell::new(Asked::default()));
        let fake = FakeExecutor {
            slots,
            plan,
            epochs: Some(0),
            in_flight: VecDeque::new(),
            attempts: HashMap::new(),
            measured: HashMap::new(),
            stopped: Vec::new(),
            asked: asked.clone(),
        };
        (fake, asked)
    }

    /// Each job measures `epochs` epochs ([`point`]) before it ends; `None`: as many as its
    /// configuration trains.
    pub fn measuring(mut self, epochs: Option<usize>) -> FakeExecutor {
        self.epochs = epochs;
        self
    }
}

/// A job of `genome` under the default configuration, as the executors' tests submit them.
pub fn job(id: u64, genome: &str) -> Job {
    Job {
        id,
        genome: genome.into(),
        config: crate::record::EvalConfig::default(),
        threads: None,
        device_name: None,
        model_dir: None,
        decide_each_epoch: false,
    }
}

/// A job's measurement after `epoch`, following from its genome: convolutions (`0`) make it
/// accurate, skips (`4`) introspectable, and every epoch adds a little to both.
pub fn point(genome: &str, epoch: usize) -> EpochPoint {
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
        self.measured.insert(job.id, Vec::new());
        self.in_flight.push_back(job);
        Ok(())
    }

    /// The oldest job's next epoch, or its end: a record carries the measured epochs (the last
    /// one's values), and says `stopped` when a decision stopped it.
    fn next_event(&mut self) -> Option<ExecEvent> {
        let job = self.in_flight.front()?;
        let measured = self.measured.get_mut(&job.id).expect("submitted");
        let epochs = self.epochs.unwrap_or(job.config.epochs);
        if measured.len() < epochs && !self.stopped.contains(&job.id) {
            let point = point(&job.genome, measured.len() + 1);
            measured.push(point);
            return Some(ExecEvent::Epoch { job: job.id, point });
        }
        let job = self.in_flight.pop_front()?;
        let attempt = self.attempts.entry(job.id).or_default();
        *attempt += 1;
        let mut outcome = (self.plan)(&job, *attempt);
        let epochs = self.measured.remove(&job.id).unwrap_or_default();
        if let (JobOutcome::Record(record), Some(last)) = (&mut outcome, epochs.last()) {
            record.val_accuracy = Some(last.val_accuracy);
            record.introspectability = last.introspectability;
            record.epochs = epochs;
            if self.stopped.contains(&job.id) {
                record.status = Status::Stopped;
            }
        }
        Some(ExecEvent::Finished { job: job.id, outcome })
    }

    fn cancel_all(&mut self) {
        self.asked.borrow_mut().cancelled += self.in_flight.len();
        self.in_flight.clear();
    }

    fn decide(&mut self, job: u64, stop: bool) {
        let epoch = self.measured.get(&job).map_or(0, Vec::len);
        self.asked.borrow_mut().decisions.push((job, epoch, stop));
        if stop {
            self.stopped.push(job);
        }
    }

    fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    fn slots(&self) -> usize {
        self.slots
    }

    fn describe(&self) -> String {
        "fake".into()
    }
}
