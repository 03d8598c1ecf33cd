//! Executors: where evaluations run. The run loop hands jobs (genome + training config) to an
//! executor and takes events back — a job started on a worker, its progress, its outcome — as
//! they happen, in whatever order the jobs finish.
//!
//! Every evaluation runs in a child process (`xnas-worker`: JSON jobs on stdin, records on
//! stdout; see [`job`]), so a crash, an out-of-memory kill or a libtorch abort fails one
//! evaluation, not the run. Two executors share that protocol:
//!
//! - [`LocalExecutor`]: this machine, `jobs_per_device` workers on each device at once — long-lived
//!   ones that serve job after job, or a fresh process per job — each
//!   pinned to its GPU with `CUDA_VISIBLE_DEVICES`, the CPU thread budget split between them;
//! - [`RayExecutor`]: a Ray cluster, one Ray task per job through a small Python driver that this
//!   process starts and talks to in JSON lines (`ray_driver.py`, shipped inside the binary).
//!
//! A third trains nothing: [`ReplayExecutor`] answers each job from a table of earlier records
//! (`xnas run --table`), on a simulated clock; [`TableFirstExecutor`] answers from a table what it
//! holds and hands the rest to one of the others (`--table-miss train`).
//!
//! Retrying is not the executor's business: it reports [`JobOutcome::Lost`],
//! [`JobOutcome::Error`] or [`JobOutcome::Config`], and the run loop, which records every attempt
//! in the store, decides whether to submit the job again. Cancelling is all or nothing ([`Executor::cancel_all`]): a run
//! that stops leaves its in-flight work to `xnas resume`.

mod child;
#[cfg(test)]
pub mod fake;
mod job;
mod local;
mod ray;
mod replay;
mod table_first;

use crate::record::EpochPoint;

pub use job::{
    Decision, Job, JobOutcome, JobProgress, WorkerReply, WorkerResult, CONFIG_ERROR_EXIT, EPOCH_PREFIX, PROGRESS_PREFIX,
};
pub use local::{check_devices, resolve_devices, LocalExecutor, LocalOptions, WorkerPolicy, DEFAULT_STALL_TIMEOUT};
pub use ray::{RayExecutor, RayOptions, RAY_VERSION};
pub use replay::{record_seconds, ReplayExecutor, SimulatedClock, TableAnswer};
pub use table_first::TableFirstExecutor;

/// Something that happened to a submitted job (or to the executor itself).
#[derive(Debug, Clone)]
pub enum ExecEvent {
    /// The job began on `worker` (`cpu#0`, `cuda:1#2`, a Ray node's address…).
    Started {
        job: u64,
        worker: String,
    },
    Progress {
        job: u64,
        progress: JobProgress,
    },
    /// The job finished an epoch and measured it (its config's `epoch_validation`); when the job
    /// asked for it ([`Job::decide_each_epoch`]) its training waits for [`Executor::decide`].
    Epoch {
        job: u64,
        point: EpochPoint,
    },
    /// The job ended; it is no longer in flight.
    Finished {
        job: u64,
        outcome: JobOutcome,
    },
    /// Something the user should know that is about no one job (e.g. the cluster lost its last
    /// GPU node, so evaluations wait).
    Warning(String),
    /// A line for the run's log about how the executor runs jobs, not about one job (a worker
    /// replaced after its share of jobs or past its memory bound, and why).
    Note(String),
}

/// Runs jobs and reports what happens to them.
pub trait Executor {
    /// Starts or queues a job.
    fn submit(&mut self, job: Job) -> Result<(), ExecError>;
    /// Blocks until something happens to a submitted job; `None` when nothing is in flight.
    fn next_event(&mut self) -> Option<ExecEvent>;
    /// Stops every job in flight; none of them will be reported again.
    fn cancel_all(&mut self);
    /// Answers an [`ExecEvent::Epoch`] of a job that waits for it: stop its training now (its
    /// record then says `stopped`), or go on. Executors that cannot reach a running job (Ray)
    /// never report such events, and ignore this.
    fn decide(&mut self, _job: u64, _stop: bool) {}
    /// Jobs submitted and not yet reported finished (or cancelled).
    fn in_flight(&self) -> usize;
    /// How many jobs run at once; steady-state scheduling keeps this many in flight.
    fn slots(&self) -> usize;
    /// One line for the run's log, e.g. `local: 2 job(s) on each of cpu`.
    fn describe(&self) -> String;
    /// The clock the run's time budget reads when jobs take simulated time (a replay); `None`:
    /// the wall clock.
    fn simulated_clock(&self) -> Option<SimulatedClock> {
        None
    }
}

/// An executor could not start a job, or could not start at all.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("cannot start the evaluation process {program}: {message}")]
    Spawn { program: String, message: String },
    #[error("bad executor setting: {0}")]
    Settings(String),
    #[error("the Ray driver: {0}")]
    Ray(String),
}
