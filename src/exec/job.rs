//! The job protocol between a search and its `xnas-worker` processes (`evaluate`: one job; `serve`: many).
//!
//! stdin: one [`Job`] as JSON on a line; then, for a job that asks the head after each epoch
//! ([`Job::decide_each_epoch`]), one [`Decision`] line per epoch it reported. stdout: the
//! [`MeasurementRecord`] as JSON (a failed training is a record with status `failed`, exit code
//! 0). A job with a [`Job::model_dir`] also leaves the trained model there (weights, record, input
//! normalisation), written whole or not at all. stderr: lines starting with [`PROGRESS_PREFIX`]
//! carry [`JobProgress`] as JSON, lines starting with [`EPOCH_PREFIX`] an epoch's measurement;
//! other lines are the child's log. A non-zero exit means the job could not run and stderr says
//! why: [`CONFIG_ERROR_EXIT`] when its configuration can never run (training settings out of
//! range, data files missing, a device that does not exist: every job of the run would fail
//! alike), any other code for the rest (a crash, a full disk).
//!
//! A long-lived worker (`xnas-worker serve`) speaks the same protocol job after job: stdin carries
//! one [`Job`] per line, stdout one [`WorkerReply`] per job, in order; stderr as above (progress
//! lines belong to the job it is running). It keeps its dataset on the device between jobs of
//! the same data. A worker that dies takes only its current job with it; the executor starts
//! another.
//!
//! The same protocol runs locally ([`super::LocalExecutor`]) and inside a Ray task
//! ([`super::RayExecutor`]), so a job behaves the same on a laptop and on a cluster.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::record::{EvalConfig, MeasurementRecord};

/// One evaluation to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// The run's evaluation id; results are matched by it.
    pub id: u64,
    /// Six paper op codes or an arch string.
    pub genome: String,
    pub config: EvalConfig,
    /// libtorch CPU threads for this job (the executor splits the machine's budget across the jobs
    /// it runs at once); `None` leaves libtorch's default, one per core.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// The device as the run names it, when the child sees it under another name (a GPU pinned
    /// with `CUDA_VISIBLE_DEVICES` is the child's `cuda:0`): the child's messages use this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    /// Where to save the trained model (a folder that appears complete or not at all: the child
    /// writes a temporary folder beside it and renames it); `None` keeps no model. The path is
    /// as the child sees it: a Ray task gets a folder on its worker and the driver carries the
    /// files back to the run folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_dir: Option<PathBuf>,
    /// After each epoch's measurement (`config.epoch_validation`), wait for the head's decision
    /// (a [`Decision`] line on stdin) to stop or go on: the run has an early-stopping rule.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub decide_each_epoch: bool,
}

/// The head's answer to a job's epoch, one JSON line on the worker's stdin: `{"job": 7, "stop": true}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub job: u64,
    pub stop: bool,
}

/// How a job ended.
#[derive(Debug, Clone)]
pub enum JobOutcome {
    /// The child produced a record (which may itself say `failed`, e.g. a NaN loss). Never retried:
    /// training is deterministic, a second attempt would fail the same way.
    Record(Box<MeasurementRecord>),
    /// The child ran and ended without a record (a non-zero exit): the reason, with the end of
    /// its stderr. Retried up to the run's limit — on a cluster this is often a node's problem
    /// (a full disk, a busy GPU), not the job's.
    Error(String),
    /// The child refused the job's configuration ([`CONFIG_ERROR_EXIT`]): every job of the run
    /// would fail the same way, so it is not retried and the run stops with the message.
    Config(String),
    /// The job's process, worker or node died under it (a signal, an out-of-memory kill, a node
    /// lost from the cluster): the job itself is probably fine, so it is retried.
    Lost(String),
}

/// A long-lived worker's answer to one job: one JSON line on its stdout,
/// `{"job": 7, "record": {…}}`, `{"job": 7, "error": "…"}` or `{"job": 7, "config": "…"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerReply {
    pub job: u64,
    #[serde(flatten)]
    pub result: WorkerResult,
}

/// What became of a job in a long-lived worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerResult {
    /// The record (which may itself say `failed`), as `xnas-worker evaluate` prints it.
    Record(Box<MeasurementRecord>),
    /// The job ended without a record (as a one-shot child's exit 1): the reason.
    Error(String),
    /// The job's configuration can never run (as a one-shot child's [`CONFIG_ERROR_EXIT`]).
    Config(String),
}

impl WorkerResult {
    /// The outcome the run loop sees, the same as a one-shot child's.
    pub fn into_outcome(self) -> JobOutcome {
        match self {
            WorkerResult::Record(record) => JobOutcome::Record(record),
            WorkerResult::Error(message) => JobOutcome::Error(message),
            WorkerResult::Config(message) => {
                JobOutcome::Config(format!("the evaluation refused its configuration:\n{message}"))
            }
        }
    }
}

/// The exit code of a child whose job's configuration cannot run: `EX_CONFIG` of BSD's sysexits.
pub const CONFIG_ERROR_EXIT: i32 = 78;

/// Progress of a running job: a training epoch's steps, or after training (`phase` set) the
/// images of a measurement pass, `step` of `total_steps`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobProgress {
    pub epoch: usize,
    pub epochs: usize,
    pub step: usize,
    pub total_steps: usize,
    /// The measurement pass after training (`validation`, `trust: test split`, …); absent while
    /// training, and from workers older than it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
}

/// Marks a progress line on a child's stderr.
pub const PROGRESS_PREFIX: &str = "xnas-progress ";

/// Marks a line on a child's stderr with an epoch's measurement ([`crate::record::EpochPoint`]
/// as JSON); a job with [`Job::decide_each_epoch`] then waits for a [`Decision`] on stdin.
pub const EPOCH_PREFIX: &str = "xnas-epoch ";

#[cfg(test)]
mod tests {
    use super::*;

    /// A progress line from a worker older than `phase` still reads (as training), and a
    /// measurement pass's line round-trips with its phase.
    #[test]
    fn progress_lines_with_and_without_a_phase_read() {
        let old: JobProgress = serde_json::from_str(r#"{"epoch":2,"epochs":3,"step":5,"total_steps":9}"#).unwrap();
        assert_eq!(old, JobProgress { epoch: 2, epochs: 3, step: 5, total_steps: 9, phase: None });
        assert!(!serde_json::to_string(&old).unwrap().contains("phase"), "training lines are as before");
        let pass = JobProgress { phase: Some("trust: test split".into()), ..old.clone() };
        let line = serde_json::to_string(&pass).unwrap();
        assert_eq!(serde_json::from_str::<JobProgress>(&line).unwrap(), pass);
    }
}
