//! The job protocol between a search and an `xnas evaluate` child process.
//!
//! stdin: one [`Job`] as JSON. stdout: the [`MeasurementRecord`] as JSON (a failed training is a
//! record with status `failed`, exit code 0). stderr: lines starting with [`PROGRESS_PREFIX`]
//! carry [`JobProgress`] as JSON; other lines are the child's log. A non-zero exit means the job
//! could not run (bad config, missing data, crash) and stderr says why.

use serde::{Deserialize, Serialize};

use crate::record::{EvalConfig, MeasurementRecord};

/// One evaluation to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// The search's candidate id; results are matched by it.
    pub id: u64,
    /// Six paper op codes or an arch string.
    pub genome: String,
    pub config: EvalConfig,
}

/// How a job ended.
#[derive(Debug, Clone)]
pub enum JobOutcome {
    /// The child produced a record (which may itself say `failed`, e.g. a NaN loss).
    Record(Box<MeasurementRecord>),
    /// The child could not produce a record: the reason, with the end of its stderr.
    Error(String),
}

/// Progress of a running job.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct JobProgress {
    pub epoch: usize,
    pub epochs: usize,
    pub step: usize,
    pub total_steps: usize,
}

/// Marks a progress line on a child's stderr.
pub const PROGRESS_PREFIX: &str = "xnas-progress ";
