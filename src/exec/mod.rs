//! Executors: where evaluations run. The search hands jobs (genome + training config) to an
//! executor and takes measurement records back as they finish.
//!
//! Every evaluation runs in a child process (`xnas evaluate`, a JSON job on stdin, the record
//! on stdout), so a crash, an out-of-memory kill or a libtorch abort fails one evaluation, not
//! the run. [`LocalExecutor`] runs them on this machine, one at a time per device; parallel and
//! distributed executors plug in behind the same [`Executor`] trait.

mod job;
mod local;

pub use job::{Job, JobOutcome, JobProgress, PROGRESS_PREFIX};
pub use local::LocalExecutor;

/// Runs jobs and reports their outcomes.
pub trait Executor {
    /// Starts or queues a job.
    fn submit(&mut self, job: Job) -> Result<(), ExecError>;
    /// Blocks until some submitted job ends and returns it; `None` when nothing is in flight.
    /// `progress` sees progress events of running jobs meanwhile.
    fn next(&mut self, progress: &mut dyn FnMut(u64, JobProgress)) -> Option<(u64, JobOutcome)>;
    /// Stops every job in flight (they are lost, and will be run again on resume).
    fn cancel_all(&mut self);
    /// Jobs submitted and not yet returned by `next`.
    fn in_flight(&self) -> usize;
}

/// An executor could not start a job at all.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("cannot start the evaluation process {program}: {message}")]
    Spawn { program: String, message: String },
}
