//! The run store: one SQLite database per search (`runs/<name>/xnas.db`) holding everything needed
//! to resume it, report on it and re-score it — the run's configuration, every script version,
//! every evaluation with its measurement record, objective scores per script version, each
//! generation's population and search state, and hypervolume per generation.
//!
//! Crash safety: the database runs in WAL mode with `synchronous=FULL`, and every operation that
//! writes more than one row is one transaction, so `kill -9` at any moment leaves the database
//! as it was after the last committed operation. What a crash can lose is the work in flight:
//! evaluations marked `running`, which [`Store::requeue_running`] hands back on resume.
//! Every attempt at an evaluation — where it ran, how it ended — is a row of its own
//! ([`Store::attempts`]), so retries after a dead worker are visible after the fact.
//!
//! The API follows the run loop: [`Store::create`] / [`Store::open`], [`Store::add_script_version`],
//! [`Store::enqueue`] → [`Store::mark_running`] → [`Store::finish`] or [`Store::fail`],
//! [`Store::save_scores`], [`Store::save_generation`] (population + search state + hypervolume
//! in one transaction), and on resume [`Store::latest_generation`], [`Store::requeue_running`],
//! [`Store::evaluations`] and [`Store::find_done`] (so nothing is trained twice).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use xnas_space::Genome;

use crate::record::{MeasurementRecord, Status};
use crate::script::Experiment;

/// The database file inside a run directory.
pub const DB_FILE: &str = "xnas.db";

/// The schema this code reads and writes; stored in `meta` so an old binary refuses a newer file.
pub const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = include_str!("schema.sql");

/// Why the store could not do something, naming the database file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("run database {}: {message}", path.display())]
    Sqlite { path: PathBuf, message: String },
    #[error("a run already exists at {}; resume it with `xnas resume {}` or choose another --name", path.display(), dir.display())]
    Exists { path: PathBuf, dir: PathBuf },
    #[error("no run database at {}; start a run with `xnas run SCRIPT`", path.display())]
    Missing { path: PathBuf },
    #[error("run database {} has schema version {found}, this xnas reads version {expected}", path.display())]
    SchemaVersion { path: PathBuf, found: i64, expected: i64 },
    #[error("run database {}: no {what}", path.display())]
    NotFound { path: PathBuf, what: String },
    #[error("run database {}: stored {what} is not valid: {message}", path.display())]
    Corrupt { path: PathBuf, what: String, message: String },
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
    pub fn as_str(self) -> &'static str {
        match self {
            EvalStatus::Queued => "queued",
            EvalStatus::Running => "running",
            EvalStatus::Done => "done",
            EvalStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Option<EvalStatus> {
        [EvalStatus::Queued, EvalStatus::Running, EvalStatus::Done, EvalStatus::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
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

impl RunInfo {
    /// The run of a compiled experiment, created now.
    pub fn for_experiment(experiment: &Experiment, script_path: Option<&Path>) -> RunInfo {
        let spec = experiment.spec();
        RunInfo {
            name: spec.name.clone(),
            config: serde_json::to_value(spec).expect("a spec serialises"),
            seeds: serde_json::json!({ "search": spec.search.seed, "training": spec.training.seed }),
            script_path: script_path.map(|p| p.display().to_string()),
            created: now(),
            xnas_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
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
pub struct Evaluation {
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

/// How [`Store::find_done`] matches genomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenomeMatch {
    /// The same six operations.
    Exact,
    /// The same NAS-Bench-201 canonical form: cells that compute the same function.
    Canonical,
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

/// Evaluations per status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatusCounts {
    pub queued: usize,
    pub running: usize,
    pub done: usize,
    pub failed: usize,
}

/// Unix seconds now.
pub fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// An open run database. One writer (the run loop) at a time; readers (`xnas status`) may open
/// the same file concurrently.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

const EVALUATION_COLUMNS: &str = "id, candidate, genome, canonical, training_hash, parents, generation, status, \
     script_version, attempt, device, record, error, reused_from, queued_at, started_at, finished_at";

impl Store {
    /// The database path of a run directory.
    pub fn db_path(run_dir: &Path) -> PathBuf {
        run_dir.join(DB_FILE)
    }

    fn sqlite(&self, e: rusqlite::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.clone(), message: e.to_string() }
    }

    fn connect(path: &Path) -> Result<Connection, StoreError> {
        let err = |e: rusqlite::Error| StoreError::Sqlite { path: path.to_path_buf(), message: e.to_string() };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(err)?;
        // WAL: readers never block the writer; FULL: a committed transaction survives a crash
        // of the machine too, not only of the process (writes are rare, evaluations are long).
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(err)?;
        Ok(conn)
    }

    /// Creates the run directory and its database. Refuses when a run is already there.
    pub fn create(run_dir: &Path, run: &RunInfo) -> Result<Store, StoreError> {
        let path = Self::db_path(run_dir);
        if path.exists() {
            return Err(StoreError::Exists { path, dir: run_dir.to_path_buf() });
        }
        std::fs::create_dir_all(run_dir).map_err(|e| StoreError::Sqlite {
            path: path.clone(),
            message: format!("cannot create {}: {e}", run_dir.display()),
        })?;
        let mut conn = Self::connect(&path)?;
        let err = |e: rusqlite::Error| StoreError::Sqlite { path: path.clone(), message: e.to_string() };
        let tx = conn.transaction().map_err(err)?;
        tx.execute_batch(SCHEMA).map_err(err)?;
        tx.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?1)", params![SCHEMA_VERSION.to_string()])
            .map_err(err)?;
        tx.execute(
            "INSERT INTO run (id, name, config, seeds, script_path, created, xnas_version) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
            params![run.name, run.config.to_string(), run.seeds.to_string(), run.script_path, run.created, run.xnas_version],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Store { conn, path })
    }

    /// Opens the run in `run_dir`.
    pub fn open(run_dir: &Path) -> Result<Store, StoreError> {
        let path = Self::db_path(run_dir);
        if !path.exists() {
            return Err(StoreError::Missing { path });
        }
        let conn = Self::connect(&path)?;
        let store = Store { conn, path };
        let version: Option<String> = store
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| r.get(0))
            .optional()
            .map_err(|e| store.sqlite(e))?;
        let found = version.and_then(|v| v.parse().ok()).unwrap_or(0);
        if found == 1 {
            // Version 2 only adds tables (attempts, checkpoint): create them and move on.
            let err = |e: rusqlite::Error| store.sqlite(e);
            let tx = store.conn.unchecked_transaction().map_err(err)?;
            tx.execute_batch(SCHEMA).map_err(err)?;
            tx.execute("UPDATE meta SET value = ?1 WHERE key = 'schema_version'", params![SCHEMA_VERSION.to_string()])
                .map_err(err)?;
            tx.commit().map_err(err)?;
            return Ok(store);
        }
        if found != SCHEMA_VERSION {
            return Err(StoreError::SchemaVersion { path: store.path.clone(), found, expected: SCHEMA_VERSION });
        }
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn json<T: serde::de::DeserializeOwned>(&self, what: &str, text: &str) -> Result<T, StoreError> {
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
            path: self.path.clone(),
            what: what.to_string(),
            message: e.to_string(),
        })
    }

    /// The run.
    pub fn run(&self) -> Result<RunInfo, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT name, config, seeds, script_path, created, xnas_version FROM run WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .map_err(|e| self.sqlite(e))?;
        Ok(RunInfo {
            name: row.0,
            config: self.json("run config", &row.1)?,
            seeds: self.json("run seeds", &row.2)?,
            script_path: row.3,
            created: row.4,
            xnas_version: row.5,
        })
    }

    /// Records a script version (idempotent: a version already stored, by hash, returns its id).
    pub fn add_script_version(
        &self,
        hash: &str,
        text: &str,
        sources: &serde_json::Value,
        config: &serde_json::Value,
    ) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO script_versions (hash, text, sources, config, created) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(hash) DO NOTHING",
                params![hash, text, sources.to_string(), config.to_string(), now()],
            )
            .map_err(|e| self.sqlite(e))?;
        self.conn
            .query_row("SELECT id FROM script_versions WHERE hash = ?1", params![hash], |r| r.get(0))
            .map_err(|e| self.sqlite(e))
    }

    /// Records the version of a compiled experiment: its sources and spec.
    pub fn add_experiment_version(&self, experiment: &Experiment) -> Result<i64, StoreError> {
        let sources = serde_json::to_value(experiment.sources()).expect("sources serialise");
        let config = serde_json::to_value(experiment.spec()).expect("a spec serialises");
        let text = experiment.sources().first().map(|s| s.text.as_str()).unwrap_or_default();
        self.add_script_version(experiment.version_hash(), text, &sources, &config)
    }

    fn script_version_row(&self, r: &Row) -> rusqlite::Result<(i64, String, String, String, String, f64)> {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
    }

    /// Every script version, oldest first.
    pub fn script_versions(&self) -> Result<Vec<ScriptVersion>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT id, hash, text, sources, config, created FROM script_versions ORDER BY id")
            .map_err(|e| self.sqlite(e))?;
        let rows = statement
            .query_map([], |r| self.script_version_row(r))
            .map_err(|e| self.sqlite(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sqlite(e))?;
        rows.into_iter()
            .map(|(id, hash, text, sources, config, created)| {
                Ok(ScriptVersion {
                    id,
                    hash,
                    text,
                    sources: self.json("script sources", &sources)?,
                    config: self.json("script config", &config)?,
                    created,
                })
            })
            .collect()
    }

    /// The newest script version.
    pub fn latest_script_version(&self) -> Result<Option<ScriptVersion>, StoreError> {
        Ok(self.script_versions()?.pop())
    }

    /// Queues candidates for evaluation under one training configuration and script version,
    /// in one transaction; returns their evaluation ids in order.
    pub fn enqueue(
        &mut self,
        candidates: &[NewEvaluation],
        training_hash: &str,
        script_version: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let path = self.path.clone();
        let err = |e: rusqlite::Error| StoreError::Sqlite { path: path.clone(), message: e.to_string() };
        let tx = self.conn.transaction().map_err(err)?;
        let mut ids = Vec::with_capacity(candidates.len());
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO evaluations (candidate, genome, canonical, training_hash, parents, generation, status,
                                              script_version, queued_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?8)",
                )
                .map_err(err)?;
            let queued_at = now();
            for c in candidates {
                insert
                    .execute(params![
                        c.candidate as i64,
                        c.genome.compact(),
                        c.genome.canonical().to_string(),
                        training_hash,
                        serde_json::to_string(&c.parents).expect("ids serialise"),
                        c.generation as i64,
                        script_version,
                        queued_at,
                    ])
                    .map_err(err)?;
                ids.push(tx.last_insert_rowid());
            }
        }
        tx.commit().map_err(err)?;
        Ok(ids)
    }

    fn update_one(&self, sql: &str, params: impl rusqlite::Params, evaluation: i64) -> Result<(), StoreError> {
        let changed = self.conn.execute(sql, params).map_err(|e| self.sqlite(e))?;
        if changed == 0 {
            return Err(StoreError::NotFound { path: self.path.clone(), what: format!("evaluation {evaluation}") });
        }
        Ok(())
    }

    /// Marks an evaluation as started on `worker` (a device or a cluster node): one more attempt,
    /// with its own row in `attempts`.
    pub fn mark_running(&self, evaluation: i64, worker: &str) -> Result<(), StoreError> {
        let err = |e: rusqlite::Error| self.sqlite(e);
        let tx = self.conn.unchecked_transaction().map_err(err)?;
        let changed = tx
            .execute(
                "UPDATE evaluations SET status = 'running', device = ?2, attempt = attempt + 1, started_at = ?3,
                        error = NULL WHERE id = ?1",
                params![evaluation, worker, now()],
            )
            .map_err(err)?;
        if changed == 0 {
            return Err(StoreError::NotFound { path: self.path.clone(), what: format!("evaluation {evaluation}") });
        }
        tx.execute(
            "INSERT OR REPLACE INTO attempts (evaluation, attempt, worker, started_at, outcome)
             SELECT id, attempt, device, started_at, 'running' FROM evaluations WHERE id = ?1",
            params![evaluation],
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// The running attempt of an evaluation learnt where it runs (a Ray task reports its node).
    pub fn set_worker(&self, evaluation: i64, worker: &str) -> Result<(), StoreError> {
        let err = |e: rusqlite::Error| self.sqlite(e);
        let tx = self.conn.unchecked_transaction().map_err(err)?;
        tx.execute("UPDATE evaluations SET device = ?2 WHERE id = ?1", params![evaluation, worker]).map_err(err)?;
        tx.execute(
            "UPDATE attempts SET worker = ?2 WHERE evaluation = ?1
                AND attempt = (SELECT attempt FROM evaluations WHERE id = ?1)",
            params![evaluation, worker],
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Closes the current attempt of an evaluation (if one is open) with `outcome`.
    fn close_attempt(
        conn: &Connection,
        evaluation: i64,
        outcome: AttemptOutcome,
        error: Option<&str>,
    ) -> rusqlite::Result<usize> {
        conn.execute(
            "UPDATE attempts SET outcome = ?2, error = ?3, finished_at = ?4
             WHERE evaluation = ?1 AND outcome = 'running'
               AND attempt = (SELECT attempt FROM evaluations WHERE id = ?1)",
            params![evaluation, outcome.as_str(), error, now()],
        )
    }

    /// Stores the record of a finished evaluation: `done`, or `failed` when the record says so
    /// (NaN loss, …) with its error.
    pub fn finish(&self, evaluation: i64, record: &MeasurementRecord) -> Result<(), StoreError> {
        let (status, error, outcome) = match record.status {
            Status::Done => ("done", None, AttemptOutcome::Done),
            Status::Failed => {
                ("failed", Some(record.error.clone().unwrap_or_else(|| "failed".into())), AttemptOutcome::Failed)
            }
        };
        let err = |e: rusqlite::Error| self.sqlite(e);
        let tx = self.conn.unchecked_transaction().map_err(err)?;
        let changed = tx
            .execute(
                "UPDATE evaluations SET status = ?2, record = ?3, error = ?4, finished_at = ?5,
                        train_seconds = ?6, eval_seconds = ?7 WHERE id = ?1",
                params![
                    evaluation,
                    status,
                    serde_json::to_string(record).expect("a record serialises"),
                    error,
                    now(),
                    record.train_seconds,
                    record.eval_seconds
                ],
            )
            .map_err(err)?;
        if changed == 0 {
            return Err(StoreError::NotFound { path: self.path.clone(), what: format!("evaluation {evaluation}") });
        }
        Self::close_attempt(&tx, evaluation, outcome, error.as_deref()).map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Marks an evaluation failed without a record (the child crashed, timed out, …; or it was
    /// interrupted) — its open attempt ends with `outcome`.
    pub fn fail_attempt(&self, evaluation: i64, outcome: AttemptOutcome, error: &str) -> Result<(), StoreError> {
        let err = |e: rusqlite::Error| self.sqlite(e);
        let tx = self.conn.unchecked_transaction().map_err(err)?;
        let changed = tx
            .execute(
                "UPDATE evaluations SET status = 'failed', error = ?2, finished_at = ?3 WHERE id = ?1",
                params![evaluation, error, now()],
            )
            .map_err(err)?;
        if changed == 0 {
            return Err(StoreError::NotFound { path: self.path.clone(), what: format!("evaluation {evaluation}") });
        }
        Self::close_attempt(&tx, evaluation, outcome, Some(error)).map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Marks an evaluation failed without a record (its process exited without one).
    pub fn fail(&self, evaluation: i64, error: &str) -> Result<(), StoreError> {
        self.fail_attempt(evaluation, AttemptOutcome::Error, error)
    }

    /// Ends the current attempt with `outcome` and queues the evaluation for another one.
    pub fn retry(&self, evaluation: i64, outcome: AttemptOutcome, error: &str) -> Result<(), StoreError> {
        let err = |e: rusqlite::Error| self.sqlite(e);
        let tx = self.conn.unchecked_transaction().map_err(err)?;
        let changed = tx
            .execute("UPDATE evaluations SET status = 'queued', error = ?2 WHERE id = ?1", params![evaluation, error])
            .map_err(err)?;
        if changed == 0 {
            return Err(StoreError::NotFound { path: self.path.clone(), what: format!("evaluation {evaluation}") });
        }
        Self::close_attempt(&tx, evaluation, outcome, Some(error)).map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Every attempt at an evaluation, first to last.
    pub fn attempts(&self, evaluation: i64) -> Result<Vec<Attempt>, StoreError> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT attempt, worker, started_at, finished_at, outcome, error FROM attempts
                 WHERE evaluation = ?1 ORDER BY attempt",
            )
            .map_err(|e| self.sqlite(e))?;
        let rows = statement
            .query_map(params![evaluation], |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, f64>(2)?,
                    r.get::<_, Option<f64>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })
            .map_err(|e| self.sqlite(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sqlite(e))?;
        rows.into_iter()
            .map(|(attempt, worker, started_at, finished_at, outcome, error)| {
                Ok(Attempt {
                    attempt,
                    worker,
                    started_at,
                    finished_at,
                    outcome: AttemptOutcome::parse(&outcome).ok_or_else(|| StoreError::Corrupt {
                        path: self.path.clone(),
                        what: "attempt outcome".into(),
                        message: outcome.clone(),
                    })?,
                    error,
                })
            })
            .collect()
    }

    /// Saves how the run executes (executor, scheduling, …) as JSON; `xnas resume` reads it back.
    pub fn set_execution(&self, execution: &serde_json::Value) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('execution', ?1)",
                params![execution.to_string()],
            )
            .map(|_| ())
            .map_err(|e| self.sqlite(e))
    }

    /// What [`Store::set_execution`] saved, if anything.
    pub fn execution(&self) -> Result<Option<serde_json::Value>, StoreError> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'execution'", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.sqlite(e))?;
        text.map(|t| self.json("execution settings", &t)).transpose()
    }

    /// Saves the latest search state of a steady-state run (replacing the previous one).
    pub fn save_checkpoint(&self, search_state: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO checkpoint (id, search_state, saved_at) VALUES (1, ?1, ?2)",
                params![search_state, now()],
            )
            .map(|_| ())
            .map_err(|e| self.sqlite(e))
    }

    /// The state [`Store::save_checkpoint`] saved last, and when (Unix seconds), if any.
    pub fn checkpoint(&self) -> Result<Option<(String, f64)>, StoreError> {
        self.conn
            .query_row("SELECT search_state, saved_at FROM checkpoint WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(|e| self.sqlite(e))
    }

    /// Completes an evaluation with the record of an earlier one of the same genome and
    /// training configuration, instead of training again.
    pub fn reuse(&self, evaluation: i64, from: i64) -> Result<(), StoreError> {
        self.update_one(
            "UPDATE evaluations SET (status, record, error, device, train_seconds, eval_seconds) =
                    (SELECT status, record, error, device, train_seconds, eval_seconds FROM evaluations WHERE id = ?2),
                    reused_from = ?2, finished_at = ?3
             WHERE id = ?1 AND EXISTS (SELECT 1 FROM evaluations WHERE id = ?2 AND status IN ('done', 'failed'))",
            params![evaluation, from, now()],
            evaluation,
        )
    }

    /// On resume: evaluations left `running` by a crash go back to `queued` (their open attempt
    /// ends `interrupted`). Returns how many.
    pub fn requeue_running(&self) -> Result<usize, StoreError> {
        let err = |e: rusqlite::Error| self.sqlite(e);
        let tx = self.conn.unchecked_transaction().map_err(err)?;
        tx.execute(
            "UPDATE attempts SET outcome = 'interrupted', finished_at = ?1 WHERE outcome = 'running'",
            params![now()],
        )
        .map_err(err)?;
        let n = tx.execute("UPDATE evaluations SET status = 'queued' WHERE status = 'running'", []).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(n)
    }

    fn evaluation_from_row(&self, r: &Row) -> Result<Evaluation, StoreError> {
        let get = |e: rusqlite::Error| self.sqlite(e);
        let genome: String = r.get(2).map_err(get)?;
        let parents: String = r.get(5).map_err(get)?;
        let status: String = r.get(7).map_err(get)?;
        let record: Option<String> = r.get(11).map_err(get)?;
        Ok(Evaluation {
            id: r.get(0).map_err(get)?,
            candidate: r.get::<_, i64>(1).map_err(get)? as u64,
            genome: genome.parse().map_err(|e: xnas_space::ParseError| StoreError::Corrupt {
                path: self.path.clone(),
                what: "genome".into(),
                message: e.to_string(),
            })?,
            canonical: r.get(3).map_err(get)?,
            training_hash: r.get(4).map_err(get)?,
            parents: self.json("parent ids", &parents)?,
            generation: r.get::<_, i64>(6).map_err(get)? as u64,
            status: EvalStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
                path: self.path.clone(),
                what: "status".into(),
                message: status.clone(),
            })?,
            script_version: r.get(8).map_err(get)?,
            attempt: r.get(9).map_err(get)?,
            device: r.get(10).map_err(get)?,
            record: record.map(|text| self.json("measurement record", &text)).transpose()?,
            error: r.get(12).map_err(get)?,
            reused_from: r.get(13).map_err(get)?,
            queued_at: r.get(14).map_err(get)?,
            started_at: r.get(15).map_err(get)?,
            finished_at: r.get(16).map_err(get)?,
        })
    }

    fn query_evaluations(
        &self,
        where_clause: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<Evaluation>, StoreError> {
        let sql = format!("SELECT {EVALUATION_COLUMNS} FROM evaluations {where_clause}");
        let mut statement = self.conn.prepare(&sql).map_err(|e| self.sqlite(e))?;
        let mut rows = statement.query(params).map_err(|e| self.sqlite(e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.sqlite(e))? {
            out.push(self.evaluation_from_row(row)?);
        }
        Ok(out)
    }

    /// Evaluations with `status` (all when `None`), in id order.
    pub fn evaluations(&self, status: Option<EvalStatus>) -> Result<Vec<Evaluation>, StoreError> {
        match status {
            Some(s) => self.query_evaluations("WHERE status = ?1 ORDER BY id", params![s.as_str()]),
            None => self.query_evaluations("ORDER BY id", []),
        }
    }

    /// One evaluation.
    pub fn evaluation(&self, id: i64) -> Result<Option<Evaluation>, StoreError> {
        Ok(self.query_evaluations("WHERE id = ?1", params![id])?.pop())
    }

    /// The evaluations of one search candidate (several after retraining under a new config).
    pub fn evaluations_of_candidate(&self, candidate: u64) -> Result<Vec<Evaluation>, StoreError> {
        self.query_evaluations("WHERE candidate = ?1 ORDER BY id", params![candidate as i64])
    }

    /// A finished (`done`) evaluation of `genome` under the training configuration
    /// `training_hash`, so it need not be trained again; the oldest if there are several.
    pub fn find_done(
        &self,
        genome: &Genome,
        training_hash: &str,
        matching: GenomeMatch,
    ) -> Result<Option<Evaluation>, StoreError> {
        let found = match matching {
            GenomeMatch::Exact => self.query_evaluations(
                "WHERE training_hash = ?1 AND genome = ?2 AND status = 'done' ORDER BY id LIMIT 1",
                params![training_hash, genome.compact()],
            )?,
            GenomeMatch::Canonical => self.query_evaluations(
                "WHERE training_hash = ?1 AND canonical = ?2 AND status = 'done' ORDER BY id LIMIT 1",
                params![training_hash, genome.canonical().to_string()],
            )?,
        };
        Ok(found.into_iter().next())
    }

    /// Evaluations per status.
    pub fn counts(&self) -> Result<StatusCounts, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT status, COUNT(*) FROM evaluations GROUP BY status")
            .map_err(|e| self.sqlite(e))?;
        let rows = statement
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as usize)))
            .map_err(|e| self.sqlite(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sqlite(e))?;
        let mut counts = StatusCounts::default();
        for (status, n) in rows {
            match EvalStatus::parse(&status) {
                Some(EvalStatus::Queued) => counts.queued = n,
                Some(EvalStatus::Running) => counts.running = n,
                Some(EvalStatus::Done) => counts.done = n,
                Some(EvalStatus::Failed) => counts.failed = n,
                None => {}
            }
        }
        Ok(counts)
    }

    /// Stores objective values (or scoring errors) of evaluations under a script version, in one
    /// transaction. Scoring the same pair again replaces its row.
    pub fn save_scores(&mut self, script_version: i64, scores: &[Score]) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |e: rusqlite::Error| StoreError::Sqlite { path: path.clone(), message: e.to_string() };
        let tx = self.conn.transaction().map_err(err)?;
        {
            let mut insert = tx
                .prepare(
                    "INSERT OR REPLACE INTO scores (evaluation, script_version, objectives, error, scored_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(err)?;
            let scored_at = now();
            for score in scores {
                let (objectives, error) = match &score.result {
                    Ok(values) => (Some(serde_json::to_string(values).expect("numbers serialise")), None),
                    Err(message) => (None, Some(message.as_str())),
                };
                insert.execute(params![score.evaluation, script_version, objectives, error, scored_at]).map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// Every score under a script version, by evaluation id.
    pub fn scores(&self, script_version: i64) -> Result<Vec<Score>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT evaluation, objectives, error FROM scores WHERE script_version = ?1 ORDER BY evaluation")
            .map_err(|e| self.sqlite(e))?;
        let rows = statement
            .query_map(params![script_version], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, Option<String>>(2)?))
            })
            .map_err(|e| self.sqlite(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sqlite(e))?;
        rows.into_iter()
            .map(|(evaluation, objectives, error)| {
                let result = match objectives {
                    // NaN and infinities are stored as null by serde_json; they are never valid scores.
                    Some(text) => {
                        let values: Vec<Option<f64>> = self.json("objective values", &text)?;
                        values
                            .into_iter()
                            .collect::<Option<Vec<f64>>>()
                            .ok_or_else(|| "non-finite objective".to_string())
                    }
                    None => Err(error.unwrap_or_else(|| "scoring failed".into())),
                };
                Ok(Score { evaluation, result })
            })
            .collect()
    }

    /// Saves a finished generation — population, search state and hypervolume — in one
    /// transaction. Saving a generation again replaces it (a resumed run redoing it).
    pub fn save_generation(&mut self, generation: &NewGeneration) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |e: rusqlite::Error| StoreError::Sqlite { path: path.clone(), message: e.to_string() };
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute(
            "INSERT OR REPLACE INTO generations (generation, population, search_state, script_version, saved_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                generation.generation as i64,
                serde_json::to_string(generation.population).expect("ids serialise"),
                generation.search_state,
                generation.script_version,
                now()
            ],
        )
        .map_err(err)?;
        if let Some(value) = generation.hypervolume {
            tx.execute(
                "INSERT OR REPLACE INTO hypervolumes (generation, script_version, value) VALUES (?1, ?2, ?3)",
                params![generation.generation as i64, generation.script_version, value],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    fn generation_rows(&self, sql: &str) -> Result<Vec<SavedGeneration>, StoreError> {
        let mut statement = self.conn.prepare(sql).map_err(|e| self.sqlite(e))?;
        let rows = statement
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, f64>(4)?,
                ))
            })
            .map_err(|e| self.sqlite(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sqlite(e))?;
        rows.into_iter()
            .map(|(generation, population, search_state, script_version, saved_at)| {
                Ok(SavedGeneration {
                    generation: generation as u64,
                    population: self.json("population", &population)?,
                    search_state,
                    script_version,
                    saved_at,
                })
            })
            .collect()
    }

    /// The last saved generation: resume from its search state.
    pub fn latest_generation(&self) -> Result<Option<SavedGeneration>, StoreError> {
        Ok(self
            .generation_rows(
                "SELECT generation, population, search_state, script_version, saved_at FROM generations
                 ORDER BY generation DESC LIMIT 1",
            )?
            .pop())
    }

    /// Every saved generation, in order.
    pub fn generations(&self) -> Result<Vec<SavedGeneration>, StoreError> {
        self.generation_rows("SELECT generation, population, search_state, script_version, saved_at FROM generations ORDER BY generation")
    }

    /// Records (or replaces) a generation's hypervolume under a script version (after re-scoring).
    pub fn set_hypervolume(&self, generation: u64, script_version: i64, value: f64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO hypervolumes (generation, script_version, value) VALUES (?1, ?2, ?3)",
                params![generation as i64, script_version, value],
            )
            .map(|_| ())
            .map_err(|e| self.sqlite(e))
    }

    /// `(generation, hypervolume)` under a script version, in generation order.
    pub fn hypervolumes(&self, script_version: i64) -> Result<Vec<(u64, f64)>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT generation, value FROM hypervolumes WHERE script_version = ?1 ORDER BY generation")
            .map_err(|e| self.sqlite(e))?;
        let rows = statement
            .query_map(params![script_version], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, f64>(1)?)))
            .map_err(|e| self.sqlite(e))?
            .collect::<Result<Vec<_>, _>>();
        rows.map_err(|e| self.sqlite(e))
    }

    /// SQLite's own consistency check: `Ok(())` or the problems it lists.
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let result: String =
            self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(|e| self.sqlite(e))?;
        if result == "ok" {
            Ok(())
        } else {
            Err(StoreError::Corrupt { path: self.path.clone(), what: "database".into(), message: result })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for s in [EvalStatus::Queued, EvalStatus::Running, EvalStatus::Done, EvalStatus::Failed] {
            assert_eq!(EvalStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(EvalStatus::parse("finished"), None);
    }

    #[test]
    fn schema_is_valid_sql() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        // Running it twice is harmless (IF NOT EXISTS everywhere).
        conn.execute_batch(SCHEMA).unwrap();
    }
}
