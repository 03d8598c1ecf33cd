//! The evaluations between the search and the executor — those waiting for a slot and those in
//! flight — with the retry policy (a lost or failed job goes again; one whose configuration
//! cannot run never does), the count of evaluations that ended without a record, and the
//! one event loop both schedulings share ([`Jobs::drive`]), which also answers each epoch of a
//! job that waits for an early-stopping decision. Plain data over the [`Executor`]
//! trait and a small [`Work`] trait for the run's side, so that retry, give-up, the stop rule,
//! cancellation and resume are tested with a fake executor, without libtorch or a store.

use std::collections::{HashMap, HashSet, VecDeque};

use anyhow::Context;

use crate::exec::{ExecEvent, Executor, Job, JobOutcome};
use crate::record::{EpochPoint, MeasurementRecord};
use crate::store::AttemptOutcome;

/// An evaluation waiting for a slot or in flight.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    /// The store's evaluation id (the job id).
    pub id: i64,
    pub candidate: u64,
    pub genome: String,
    /// Attempts already made (a resumed evaluation keeps those of the run before).
    pub attempts: u32,
}

/// How a job that left the executor stands.
#[derive(Debug)]
pub enum Settled {
    /// It produced a record.
    Record(Queued, Box<MeasurementRecord>),
    /// It ended without a record and goes back to the front of the queue for another attempt.
    Retry { queued: Queued, outcome: AttemptOutcome, message: String },
    /// It ended without a record after its last attempt.
    GaveUp { queued: Queued, outcome: AttemptOutcome, message: String },
    /// Its configuration cannot run ([`JobOutcome::Config`]): not retried, since every
    /// evaluation of the run would fail alike; the run stops.
    Refused { queued: Queued, message: String },
}

/// What the event loop needs from the run: where more work comes from, the job of an evaluation,
/// and where events and results go.
pub trait Work {
    /// A slot is free and nothing waits: the evaluations to queue next (steady-state breeds a
    /// child; empty when it was answered from the store at once), or `None` when there is no more.
    fn refill(&mut self) -> anyhow::Result<Option<Vec<Queued>>>;
    /// The job of an evaluation about to be submitted (the run records the attempt here).
    fn job(&mut self, queued: &Queued) -> anyhow::Result<Job>;
    /// A job started, made progress, or the executor has something to say.
    fn notice(&mut self, event: ExecEvent) -> anyhow::Result<()>;
    /// A job that waits after each epoch ([`Job::decide_each_epoch`]) measured one: whether to
    /// stop its training now.
    fn epoch(&mut self, job: u64, point: EpochPoint) -> anyhow::Result<bool>;
    /// A job left the executor; `streak` already counts it.
    fn settled(&mut self, settled: Settled, streak: &NoRecordStreak) -> anyhow::Result<()>;
    /// Whether queued evaluations may still be submitted: `false` leaves them queued (a fixed
    /// list out of time), and [`Jobs::drive`] returns once what is in flight has finished.
    fn may_submit(&mut self) -> bool {
        true
    }
}

/// Evaluations that ended without a record after all their attempts, in a row. Many in a row
/// mean a setup problem (missing data, bad config, broken install), not bad architectures, and the
/// run stops instead of burning its budget.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NoRecordStreak {
    pub in_a_row: usize,
    /// The first such error of the run, to show when it stops.
    pub first_error: Option<String>,
}

impl NoRecordStreak {
    /// The stop rule: the last `window` evaluations (at least one) all ended without a record.
    pub fn reached(&self, window: usize) -> bool {
        window > 0 && self.in_a_row >= window
    }
}

/// The evaluations of a run that are not finished, and the executor that runs them.
pub struct Jobs {
    executor: Box<dyn Executor>,
    /// Retries go first.
    waiting: VecDeque<Queued>,
    /// Submitted to the executor, by job id.
    running: HashMap<u64, Queued>,
    /// Jobs in flight that wait for a decision after each epoch.
    deciding: HashSet<u64>,
    max_attempts: u32,
    streak: NoRecordStreak,
}

impl Jobs {
    pub fn new(executor: Box<dyn Executor>, max_attempts: u32) -> Jobs {
        Jobs {
            executor,
            waiting: VecDeque::new(),
            running: HashMap::new(),
            deciding: HashSet::new(),
            max_attempts,
            streak: Default::default(),
        }
    }

    pub fn slots(&self) -> usize {
        self.executor.slots()
    }

    pub fn streak(&self) -> &NoRecordStreak {
        &self.streak
    }

    pub fn queue(&mut self, queued: impl IntoIterator<Item = Queued>) {
        self.waiting.extend(queued);
    }

    /// Evaluations queued and not submitted (left when [`Work::may_submit`] said no).
    pub fn left_waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Runs the queue, and whatever `work` refills it with, until nothing waits or runs: keeps
    /// every slot of the executor busy and hands each event to `work`. On an error, the jobs
    /// still in flight are cancelled (`xnas resume` runs them again).
    pub fn drive(&mut self, work: &mut impl Work) -> anyhow::Result<()> {
        let result = self.event_loop(work);
        if result.is_err() {
            self.executor.cancel_all();
            self.running.clear();
            self.deciding.clear();
        }
        result
    }

    fn event_loop(&mut self, work: &mut impl Work) -> anyhow::Result<()> {
        loop {
            while self.executor.in_flight() < self.executor.slots() {
                if !self.waiting.is_empty() && !work.may_submit() {
                    break;
                }
                if let Some(next) = self.waiting.pop_front() {
                    let job = work.job(&next)?;
                    if job.decide_each_epoch {
                        self.deciding.insert(job.id);
                    }
                    self.executor.submit(job).with_context(|| format!("submitting candidate #{}", next.candidate))?;
                    self.running.insert(next.id as u64, next);
                } else if let Some(more) = work.refill()? {
                    self.waiting.extend(more);
                } else {
                    break;
                }
            }
            if self.executor.in_flight() == 0 && (self.waiting.is_empty() || !work.may_submit()) {
                return Ok(());
            }
            match self.executor.next_event() {
                Some(ExecEvent::Finished { job, outcome }) => {
                    let settled = self.settle(job, outcome);
                    work.settled(settled, &self.streak)?;
                }
                // Only a job that waits is answered; another's epochs are facts for no one yet.
                Some(ExecEvent::Epoch { job, point }) if self.deciding.contains(&job) => {
                    let stop = work.epoch(job, point)?;
                    self.executor.decide(job, stop);
                }
                Some(event) => work.notice(event)?,
                None => {}
            }
        }
    }

    /// The retry policy: a job without a record goes again until it has had `max_attempts`.
    fn settle(&mut self, job: u64, outcome: JobOutcome) -> Settled {
        let mut queued = self.running.remove(&job).expect("the executor reports jobs this run submitted");
        self.deciding.remove(&job);
        queued.attempts += 1;
        let (outcome, message) = match outcome {
            JobOutcome::Record(record) => {
                self.streak.in_a_row = 0;
                return Settled::Record(queued, record);
            }
            JobOutcome::Config(message) => return Settled::Refused { queued, message },
            JobOutcome::Error(message) => (AttemptOutcome::Error, message),
            JobOutcome::Lost(message) => (AttemptOutcome::Lost, message),
        };
        if queued.attempts < self.max_attempts {
            self.waiting.push_front(queued.clone());
            return Settled::Retry { queued, outcome, message };
        }
        self.streak.in_a_row += 1;
        self.streak.first_error.get_or_insert_with(|| message.clone());
        Settled::GaveUp { queued, outcome, message }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;
    use crate::exec::fake::{Asked, FakeExecutor, Plan};
    use crate::record::EvalConfig;

    fn record(job: &Job) -> JobOutcome {
        JobOutcome::Record(Box::new(crate::record::synthetic_record(&job.config, &job.genome.parse().unwrap())))
    }

    /// The run's side: a list of genomes to breed, and everything it was told.
    #[derive(Default)]
    struct Log {
        to_breed: Vec<&'static str>,
        next_id: i64,
        submitted: Vec<(i64, u32)>,
        settled: Vec<String>,
        /// Stops with an error once this many evaluations in a row ended without a record.
        patience: Option<usize>,
        /// Jobs with odd ids wait for a decision after each epoch, and are stopped at this one.
        stop_at_epoch: Option<usize>,
        /// (job, epoch) of every epoch asked about, and how many epoch events were only noticed.
        asked: Vec<(u64, usize)>,
        noticed_epochs: usize,
    }

    impl Work for Log {
        fn refill(&mut self) -> anyhow::Result<Option<Vec<Queued>>> {
            let Some(genome) = self.to_breed.pop() else { return Ok(None) };
            self.next_id += 1;
            Ok(Some(vec![Queued { id: self.next_id, candidate: 0, genome: genome.into(), attempts: 0 }]))
        }
        fn job(&mut self, queued: &Queued) -> anyhow::Result<Job> {
            self.submitted.push((queued.id, queued.attempts));
            Ok(Job {
                id: queued.id as u64,
                genome: queued.genome.clone(),
                config: EvalConfig::default(),
                threads: None,
                device_name: None,
                model_dir: None,
                decide_each_epoch: self.stop_at_epoch.is_some() && queued.id % 2 == 1,
            })
        }
        fn notice(&mut self, event: ExecEvent) -> anyhow::Result<()> {
            self.noticed_epochs += matches!(event, ExecEvent::Epoch { .. }) as usize;
            Ok(())
        }
        fn epoch(&mut self, job: u64, point: EpochPoint) -> anyhow::Result<bool> {
            self.asked.push((job, point.epoch));
            Ok(Some(point.epoch) == self.stop_at_epoch)
        }
        fn settled(&mut self, settled: Settled, streak: &NoRecordStreak) -> anyhow::Result<()> {
            self.settled.push(match settled {
                Settled::Record(q, _) => format!("#{} record after {}", q.id, q.attempts),
                Settled::Retry { queued, outcome, .. } => format!("#{} retry after {:?}", queued.id, outcome),
                Settled::GaveUp { queued, .. } => format!("#{} gave up after {}", queued.id, queued.attempts),
                Settled::Refused { queued, message } => {
                    self.settled.push(format!("#{} refused after {}: {message}", queued.id, queued.attempts));
                    anyhow::bail!("stopped: {message}");
                }
            });
            match self.patience {
                Some(n) if streak.reached(n) => anyhow::bail!("{} in a row without a record", streak.in_a_row),
                _ => Ok(()),
            }
        }
    }

    /// The loop over the shared fake executor ([`FakeExecutor`]): `slots` at once, each job
    /// measuring `epochs` epochs and ending as `plan` says.
    fn jobs_with_epochs(slots: usize, max_attempts: u32, plan: Plan, epochs: usize) -> (Jobs, Rc<RefCell<Asked>>) {
        let (executor, asked) = FakeExecutor::new(slots, plan);
        (Jobs::new(Box::new(executor.measuring(Some(epochs))), max_attempts), asked)
    }

    fn jobs(slots: usize, max_attempts: u32, plan: Plan) -> (Jobs, Rc<RefCell<Asked>>) {
        jobs_with_epochs(slots, max_attempts, plan, 0)
    }

    #[test]
    fn only_jobs_that_wait_are_asked_and_answered_after_each_epoch() {
        let (mut jobs, asked) = jobs_with_epochs(1, 1, |job, _| record(job), 3);
        jobs.queue([queued(1, "111111", 0), queued(2, "222222", 0), queued(3, "333333", 0)]);
        let mut log = Log { stop_at_epoch: Some(2), ..Log::default() };
        jobs.drive(&mut log).unwrap();
        assert_eq!(log.asked, [(1, 1), (1, 2), (3, 1), (3, 2)], "#2 does not wait; #1 and #3 stop after epoch 2");
        let decisions: Vec<(u64, bool)> = asked.borrow().decisions.iter().map(|d| (d.0, d.2)).collect();
        assert_eq!(decisions, [(1, false), (1, true), (3, false), (3, true)]);
        assert_eq!(log.noticed_epochs, 3, "#2's epochs are only noticed");
        assert_eq!(log.settled, ["#1 record after 1", "#2 record after 1", "#3 record after 1"]);
        assert!(jobs.deciding.is_empty());
    }

    fn queued(id: i64, genome: &str, attempts: u32) -> Queued {
        Queued { id, candidate: id as u64, genome: genome.into(), attempts }
    }

    #[test]
    fn a_lost_job_is_retried_first_until_it_records() {
        // 111111 is lost on its first attempt and errs on its second; everything else records.
        let (mut jobs, _) = jobs(1, 3, |job, attempt| match (job.genome.as_str(), attempt) {
            ("111111", 1) => JobOutcome::Lost("worker died".into()),
            ("111111", 2) => JobOutcome::Error("exit status 1".into()),
            _ => record(job),
        });
        jobs.queue([queued(1, "111111", 0), queued(2, "222222", 0)]);
        let mut log = Log::default();
        jobs.drive(&mut log).unwrap();
        assert_eq!(log.submitted, [(1, 0), (1, 1), (1, 2), (2, 0)], "a retry goes before what waited");
        assert_eq!(
            log.settled,
            ["#1 retry after Lost", "#1 retry after Error", "#1 record after 3", "#2 record after 1"]
        );
        assert_eq!(jobs.streak(), &NoRecordStreak::default());
    }

    #[test]
    fn a_job_gives_up_after_max_attempts_and_a_record_ends_the_streak() {
        let (mut jobs, _) = jobs(2, 2, |job, _| match job.genome.as_str() {
            "000000" => JobOutcome::Error("no dataset".into()),
            _ => record(job),
        });
        jobs.queue([queued(1, "000000", 0), queued(2, "000000", 0)]);
        let mut log = Log::default();
        jobs.drive(&mut log).unwrap();
        assert!(log.settled.contains(&"#1 gave up after 2".to_string()), "{:?}", log.settled);
        assert!(log.settled.contains(&"#2 gave up after 2".to_string()), "{:?}", log.settled);
        assert_eq!(log.submitted.len(), 4);
        assert_eq!((jobs.streak().in_a_row, jobs.streak().first_error.as_deref()), (2, Some("no dataset")));
        assert!(jobs.streak().reached(2) && !jobs.streak().reached(3) && !jobs.streak().reached(0));
        jobs.queue([queued(3, "123123", 0)]);
        jobs.drive(&mut log).unwrap();
        assert_eq!(jobs.streak().in_a_row, 0);
        assert_eq!(jobs.streak().first_error.as_deref(), Some("no dataset"), "the first error of the run stays");
    }

    #[test]
    fn every_evaluation_failing_stops_the_loop_and_cancels_what_is_in_flight() {
        let (mut jobs, asked) = jobs(3, 1, |_, _| JobOutcome::Error("bad install".into()));
        let mut log = Log { to_breed: vec!["000000"; 10], patience: Some(3), ..Log::default() };
        let error = jobs.drive(&mut log).unwrap_err();
        assert_eq!(error.to_string(), "3 in a row without a record");
        assert_eq!(log.settled.len(), 3);
        // Slots were refilled after each failure: two more were running when the loop stopped.
        assert_eq!(asked.borrow().cancelled, 2);
        assert_eq!(jobs.running.len(), 0);
        assert_eq!(log.to_breed.len(), 5);
    }

    #[test]
    fn a_configuration_error_is_not_retried_and_stops_the_loop() {
        let (mut jobs, asked) = jobs(2, 3, |job, _| match job.genome.as_str() {
            "000000" => JobOutcome::Config("lr must be > 0".into()),
            _ => record(job),
        });
        jobs.queue([queued(1, "000000", 0), queued(2, "123123", 0), queued(3, "123412", 0)]);
        let mut log = Log::default();
        let error = jobs.drive(&mut log).unwrap_err();
        assert_eq!(error.to_string(), "stopped: lr must be > 0");
        assert_eq!(log.submitted, [(1, 0), (2, 0)], "submitted once, and nothing after it");
        assert_eq!(log.settled, ["#1 refused after 1: lr must be > 0"]);
        assert_eq!(asked.borrow().cancelled, 1, "the job still in flight is cancelled");
    }

    #[test]
    fn refilling_keeps_every_slot_busy_until_the_work_runs_out() {
        let (mut jobs, _) = jobs(2, 3, |job, _| record(job));
        let mut log = Log { to_breed: vec!["000001", "000002", "000003"], ..Log::default() };
        jobs.drive(&mut log).unwrap();
        assert_eq!(log.submitted, [(1, 0), (2, 0), (3, 0)]);
        assert_eq!(log.settled.len(), 3);
        assert!(jobs.waiting.is_empty());
    }

    #[test]
    fn resumed_evaluations_run_before_new_ones_and_keep_their_attempts() {
        // #7 was in flight when the run stopped, after two attempts: one more loss is its last.
        let (mut jobs, _) = jobs(1, 3, |job, _| match job.genome.as_str() {
            "444444" => JobOutcome::Lost("node died".into()),
            _ => record(job),
        });
        jobs.queue([queued(7, "444444", 2)]);
        let mut log = Log { to_breed: vec!["000001"], next_id: 7, ..Log::default() };
        jobs.drive(&mut log).unwrap();
        assert_eq!(log.submitted, [(7, 2), (8, 0)]);
        assert_eq!(log.settled, ["#7 gave up after 3", "#8 record after 1"]);
    }
}
