//! The store's row types — what goes into the database and what comes back out — and the
//! mappers that read them from SQLite rows. Kept apart from the queries in `mod.rs` so that the
//! shape of the data reads in one place and the SQL in another.

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::Row;
use serde::{Deserialize, Serialize};
use xnas_space::Genome;

use super::Fault;
use crate::record::MeasurementRecord;

/// Unix seconds now.
pub fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Where an evaluation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvalStatus {
    Queued,
    Running,
    Done,
    Failed,
}

impl EvalStatus {
    const ALL: [EvalStatus; 4] = [EvalStatus::Queued, EvalStatus::Running, EvalStatus::Done, EvalStatus::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            EvalStatus::Queued => "queued",
            EvalStatus::Running => "running",
            EvalStatus::Done => "done",
            EvalStatus::Failed => "failed",
        }
    }

    pub(super) fn parse(text: &str) -> Option<EvalStatus> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// How one attempt at an evaluation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttemptOutcome {
    /// Still running (or the run died while it ran).
    Running,
    /// A record came back.
    Done,
    /// A record came back that says the training failed (NaN loss…).
    Failed,
    /// The process exited without a record.
    Error,
    /// The process, its worker or its node died.
    Lost,
    Cancelled,
    /// The run stopped while it ran.
    Interrupted,
}

impl AttemptOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Running => "running",
            AttemptOutcome::Done => "done",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Error => "error",
            AttemptOutcome::Lost => "lost",
            AttemptOutcome::Cancelled => "cancelled",
            AttemptOutcome::Interrupted => "interrupted",
        }
    }

    fn parse(text: &str) -> Option<AttemptOutcome> {
        use AttemptOutcome::*;
        [Running, Done, Failed, Error, Lost, Cancelled, Interrupted].into_iter().find(|o| o.as_str() == text)
    }
}

/// The run a database holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub name: String,
    /// The experiment spec as JSON (see `script::ExperimentSpec`).
    pub config: serde_json::Value,
    /// Every seed of the run, e.g. `{"search": 1, "training": 0}`.
    pub seeds: serde_json::Value,
    pub script_path: Option<String>,
    /// Unix seconds.
    pub created: f64,
    pub xnas_version: String,
}

/// One stored script version.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptVersion {
    pub id: i64,
    pub hash: String,
    pub text: String,
    /// Every source file as `{name, path, text}` JSON.
    pub sources: serde_json::Value,
    pub config: serde_json::Value,
    pub created: f64,
}

/// A candidate to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvaluation {
    /// The search's candidate id.
    pub candidate: u64,
    pub genome: Genome,
    pub parents: Vec<u64>,
    pub generation: u64,
}

/// One stored evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvaluation {
    pub id: i64,
    pub candidate: u64,
    pub genome: Genome,
    pub canonical: String,
    pub training_hash: String,
    pub parents: Vec<u64>,
    pub generation: u64,
    pub status: EvalStatus,
    pub script_version: i64,
    /// How many times it was started.
    pub attempt: u32,
    pub device: Option<String>,
    pub record: Option<MeasurementRecord>,
    pub error: Option<String>,
    /// The evaluation whose record this one copied instead of training again.
    pub reused_from: Option<i64>,
    pub queued_at: f64,
    pub started_at: Option<f64>,
    pub finished_at: Option<f64>,
}

/// One attempt at an evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// 1 for the first.
    pub attempt: u32,
    pub worker: Option<String>,
    pub started_at: f64,
    pub finished_at: Option<f64>,
    pub outcome: AttemptOutcome,
    pub error: Option<String>,
}

/// Objective values of one evaluation under one script version.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub evaluation: i64,
    /// `Ok(objectives)` or the scoring error.
    pub result: Result<Vec<f64>, String>,
}

/// A finished generation to save.
#[derive(Debug, Clone, PartialEq)]
pub struct NewGeneration<'a> {
    /// Completed generations (1 after the initial population).
    pub generation: u64,
    /// Candidate ids of the population after survival.
    pub population: &'a [u64],
    /// The search's state (e.g. `Nsga2::to_json`), enough to resume.
    pub search_state: &'a str,
    pub script_version: i64,
    pub hypervolume: Option<f64>,
}

/// A saved generation.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedGeneration {
    pub generation: u64,
    pub population: Vec<u64>,
    pub search_state: String,
    pub script_version: i64,
    pub saved_at: f64,
}

/// Candidates per status (each by its latest evaluation; see [`super::Store::counts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatusCounts {
    pub queued: usize,
    pub running: usize,
    pub done: usize,
    /// Training failed (a failed record), no record came back after every attempt, or the
    /// objectives could not score the record (`unscored` of them).
    pub failed: usize,
    /// Of `failed`: trained, but the newest script version's objectives failed on the record.
    pub unscored: usize,
    /// Stopped by the end of the run's process before finishing; a resumed run asks them again.
    pub interrupted: usize,
}

impl StatusCounts {
    /// The counts of a run no process is running now (a killed head leaves rows `running`):
    /// those are interrupted, and `xnas resume` runs them again.
    pub fn not_running(mut self) -> StatusCounts {
        self.interrupted += self.running;
        self.running = 0;
        self
    }
}

/// The one wording of the counts, shared by `xnas status` and the run's own summary so that they
/// always say the same thing.
impl std::fmt::Display for StatusCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} done, {} failed", self.done, self.failed)?;
        match self.unscored {
            0 => write!(f, " (training failed or gave no record after every attempt)")?,
            n if n == self.failed => write!(f, " (trained, but the objectives failed to score the record)")?,
            n => write!(
                f,
                " ({} training failed or gave no record after every attempt, {n} trained but the objectives failed \
                 to score the record)",
                self.failed - n
            )?,
        }
        if self.interrupted > 0 {
            write!(f, ", {} interrupted by a stop and asked again on resume", self.interrupted)?;
        }
        write!(f, ", {} running, {} queued", self.running, self.queued)
    }
}

/// A JSON column read back; `what` names it in the error.
pub(super) fn json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, Fault> {
    serde_json::from_str(text).map_err(|e| Fault::Corrupt { what: what.into(), message: e.to_string() })
}

pub(super) const RUN_COLUMNS: &str = "name, config, seeds, script_path, created, xnas_version";

pub(super) fn run(r: &Row) -> Result<RunInfo, Fault> {
    Ok(RunInfo {
        name: r.get(0)?,
        config: json("run config", &r.get::<_, String>(1)?)?,
        seeds: json("run seeds", &r.get::<_, String>(2)?)?,
        script_path: r.get(3)?,
        created: r.get(4)?,
        xnas_version: r.get(5)?,
    })
}

pub(super) const SCRIPT_VERSION_COLUMNS: &str = "id, hash, text, sources, config, created";

pub(super) fn script_version(r: &Row) -> Result<ScriptVersion, Fault> {
    Ok(ScriptVersion {
        id: r.get(0)?,
        hash: r.get(1)?,
        text: r.get(2)?,
        sources: json("script sources", &r.get::<_, String>(3)?)?,
        config: json("script config", &r.get::<_, String>(4)?)?,
        created: r.get(5)?,
    })
}

pub(super) const EVALUATION_COLUMNS: &str = "id, candidate, genome, canonical, training_hash, parents, generation, \
     status, script_version, attempt, device, record, error, reused_from, queued_at, started_at, finished_at";

pub(super) fn evaluation(r: &Row) -> Result<StoredEvaluation, Fault> {
    let corrupt = |what: &str, message: String| Fault::Corrupt { what: what.into(), message };
    let status: String = r.get(7)?;
    let record: Option<String> = r.get(11)?;
    Ok(StoredEvaluation {
        id: r.get(0)?,
        candidate: r.get::<_, i64>(1)? as u64,
        genome: r.get::<_, String>(2)?.parse().map_err(|e: xnas_space::ParseError| corrupt("genome", e.to_string()))?,
        canonical: r.get(3)?,
        training_hash: r.get(4)?,
        parents: json("parent ids", &r.get::<_, String>(5)?)?,
        generation: r.get::<_, i64>(6)? as u64,
        status: EvalStatus::parse(&status).ok_or_else(|| corrupt("status", status.clone()))?,
        script_version: r.get(8)?,
        attempt: r.get(9)?,
        device: r.get(10)?,
        record: record.map(|text| json("measurement record", &text)).transpose()?,
        error: r.get(12)?,
        reused_from: r.get(13)?,
        queued_at: r.get(14)?,
        started_at: r.get(15)?,
        finished_at: r.get(16)?,
    })
}

pub(super) const ATTEMPT_COLUMNS: &str = "attempt, worker, started_at, finished_at, outcome, error";

pub(super) fn attempt(r: &Row) -> Result<Attempt, Fault> {
    let outcome: String = r.get(4)?;
    Ok(Attempt {
        attempt: r.get(0)?,
        worker: r.get(1)?,
        started_at: r.get(2)?,
        finished_at: r.get(3)?,
        outcome: AttemptOutcome::parse(&outcome)
            .ok_or_else(|| Fault::Corrupt { what: "attempt outcome".into(), message: outcome.clone() })?,
        error: r.get(5)?,
    })
}

/// Reads `evaluation, objectives, error` of the `scores` table.
pub(super) fn score(r: &Row) -> Result<Score, Fault> {
    let objectives: Option<String> = r.get(1)?;
    let result = match objectives {
        // NaN and infinities are stored as null by serde_json; they are never valid scores.
        Some(text) => json::<Vec<Option<f64>>>("objective values", &text)?
            .into_iter()
            .collect::<Option<Vec<f64>>>()
            .ok_or_else(|| "non-finite objective".to_string()),
        None => Err(r.get::<_, Option<String>>(2)?.unwrap_or_else(|| "scoring failed".into())),
    };
    Ok(Score { evaluation: r.get(0)?, result })
}

pub(super) const GENERATION_COLUMNS: &str = "generation, population, search_state, script_version, saved_at";

pub(super) fn generation(r: &Row) -> Result<SavedGeneration, Fault> {
    Ok(SavedGeneration {
        generation: r.get::<_, i64>(0)? as u64,
        population: json("population", &r.get::<_, String>(1)?)?,
        search_state: r.get(2)?,
        script_version: r.get(3)?,
        saved_at: r.get(4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for s in EvalStatus::ALL {
            assert_eq!(EvalStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(EvalStatus::parse("finished"), None);
    }
}
