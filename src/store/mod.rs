//! The run store: one SQLite database per search (`runs/<name>/xnas.db`) holding everything needed
//! to resume it, report on it and re-score it — the run's configuration, every script version,
//! every evaluation with its measurement record, objective scores per script version, each
//! generation's population and search state, and hypervolume per generation. It takes plain
//! values and knows nothing of scripts or searches, so everything above it may read a run.
//!
//! Crash safety: the database runs in WAL mode with `synchronous=FULL`, and every write is one
//! transaction (through one helper, `Store::write`), so `kill -9` at any moment leaves the
//! database as it was after the last committed operation. What a crash can lose is the work in
//! flight: evaluations marked `running`, which [`Store::requeue_running`] hands back on resume.
//! Every attempt at an evaluation — where it ran, how it ended — is a row of its own
//! ([`Store::attempts`]), so retries after a dead worker are visible after the fact.
//!
//! The API follows the run loop: [`Store::create`] / [`Store::open`], [`Store::add_script_version`],
//! [`Store::enqueue`] → [`Store::mark_running`] → [`Store::finish`], [`Store::retry`] or
//! [`Store::fail_attempt`], [`Store::save_scores`], [`Store::save_generation`] (population + search
//! state + hypervolume in one transaction), and on resume [`Store::latest_generation`],
//! [`Store::requeue_running`], [`Store::evaluations`] and [`Store::find_done`] (so nothing is
//! trained twice). Row types live in `rows.rs`, the schema and its upgrades in `migrate.rs`.

mod migrate;
mod rows;

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags, Params, Row};
use xnas_space::Genome;

pub use migrate::SCHEMA_VERSION;
pub use rows::{
    now, Attempt, AttemptOutcome, EvalStatus, NewEvaluation, NewGeneration, RunInfo, SavedGeneration, Score,
    ScriptVersion, StatusCounts, StoredEvaluation,
};

use crate::record::{MeasurementRecord, Status as RecordStatus};

/// The database file inside a run directory.
pub const DB_FILE: &str = "xnas.db";

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
    #[error(
        "run database {} {problem}, so the run cannot be read. If the folder holds nothing you need, move it \
         away and start the run again; otherwise restore {DB_FILE} from a backup (copy it together with \
         {DB_FILE}-wal when that file exists)",
        path.display()
    )]
    Unusable { path: PathBuf, problem: String },
}

/// A [`StoreError`] before it knows which file it is about: what queries and row mappers return.
#[derive(Debug)]
enum Fault {
    Sqlite(rusqlite::Error),
    NotFound(String),
    Corrupt { what: String, message: String },
}

impl From<rusqlite::Error> for Fault {
    fn from(e: rusqlite::Error) -> Self {
        Fault::Sqlite(e)
    }
}

impl Fault {
    fn at(self, path: &Path) -> StoreError {
        let path = path.to_path_buf();
        match self {
            Fault::Sqlite(e) => StoreError::Sqlite { path, message: e.to_string() },
            Fault::NotFound(what) => StoreError::NotFound { path, what },
            Fault::Corrupt { what, message } => StoreError::Corrupt { path, what, message },
        }
    }
}

/// A file path as the path part of an SQLite URI (`file:PATH?…`).
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

/// Runs an `UPDATE` of one evaluation; a missing evaluation is an error, not a silent no-op.
fn update_evaluation(conn: &Connection, evaluation: i64, sql: &str, params: impl Params) -> Result<(), Fault> {
    match conn.execute(sql, params)? {
        0 => Err(Fault::NotFound(format!("evaluation {evaluation}"))),
        _ => Ok(()),
    }
}

/// Closes the current attempt of an evaluation (if one is open) with `outcome`.
fn close_attempt(
    conn: &Connection,
    evaluation: i64,
    outcome: AttemptOutcome,
    error: Option<&str>,
) -> Result<(), Fault> {
    conn.execute(
        "UPDATE attempts SET outcome = ?2, error = ?3, finished_at = ?4
         WHERE evaluation = ?1 AND outcome = 'running'
           AND attempt = (SELECT attempt FROM evaluations WHERE id = ?1)",
        params![evaluation, outcome.as_str(), error, now()],
    )?;
    Ok(())
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

impl Store {
    /// The database path of a run directory.
    pub fn db_path(run_dir: &Path) -> PathBuf {
        run_dir.join(DB_FILE)
    }

    /// Opens the database file as it is: no pragma, nothing written yet.
    fn connect(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
        let connect = || -> Result<Connection, Fault> {
            let conn = Connection::open_with_flags(path, flags)?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            Ok(conn)
        };
        connect().map_err(|f| f.at(path))
    }

    /// Makes a connection the run's writer.
    fn configure_writer(conn: &Connection, path: &Path) -> Result<(), StoreError> {
        let configure = || -> Result<(), Fault> {
            // WAL: readers never block the writer; FULL: a committed transaction survives a crash
            // of the machine too, not only of the process (writes are rare, evaluations are long).
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            Ok(())
        };
        configure().map_err(|f| f.at(path))
    }

    /// For a replay (`xnas run --table` with nothing to train), whose evaluations take
    /// milliseconds instead of minutes: commits stop waiting for the disk (synchronous NORMAL). In
    /// WAL mode the store stays consistent through any crash; a power loss may undo the last
    /// commits, which `xnas resume` replays again in milliseconds.
    pub fn commit_without_waiting_for_the_disk(&self) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "synchronous", "NORMAL").map_err(|e| Fault::from(e).at(&self.path))
    }

    /// Checks that an existing file is an xnas run store before anything reads or writes it, and
    /// says what is wrong with it otherwise (empty, not SQLite, damaged, another database).
    fn check_file(conn: &Connection, path: &Path) -> Result<(), StoreError> {
        let unusable = |problem: String| StoreError::Unusable { path: path.to_path_buf(), problem };
        let tables: Result<Vec<String>, rusqlite::Error> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect());
        let header = || -> std::io::Result<(u64, Vec<u8>)> {
            use std::io::Read;
            let mut file = std::fs::File::open(path)?;
            let mut head = vec![0; 16];
            let n = file.read(&mut head)?;
            head.truncate(n);
            Ok((file.metadata()?.len(), head))
        };
        let missing: Vec<&str> = match &tables {
            Ok(tables) => ["meta", "run"].into_iter().filter(|t| !tables.iter().any(|x| x == t)).collect(),
            Err(_) => Vec::new(),
        };
        if tables.is_ok() && missing.is_empty() {
            return Ok(());
        }
        match header() {
            Ok((0, _)) => {
                return Err(unusable("is empty (0 bytes): the run never wrote to it, or it was truncated".into()))
            }
            Ok((_, head)) if head != b"SQLite format 3\0" => {
                return Err(unusable("is not an SQLite database (its first bytes are not SQLite's header)".into()))
            }
            _ => {}
        }
        Err(match tables {
            Err(e) => unusable(format!("is damaged ({e})")),
            Ok(_) => unusable(format!(
                "is an SQLite database but not an xnas run store (it has no {} table)",
                missing.join(" or ")
            )),
        })
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
        let conn = Self::connect(&path, OpenFlags::default())?;
        Self::configure_writer(&conn, &path)?;
        let store = Store { conn, path };
        store.write(|tx| {
            migrate::create(tx)?;
            tx.execute(
                "INSERT INTO run (id, name, config, seeds, script_path, created, xnas_version)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    run.name,
                    run.config.to_string(),
                    run.seeds.to_string(),
                    run.script_path,
                    run.created,
                    run.xnas_version
                ],
            )?;
            Ok(())
        })?;
        Ok(store)
    }

    /// Opens the run in `run_dir` to write it, upgrading a database written by an older xnas.
    pub fn open(run_dir: &Path) -> Result<Store, StoreError> {
        let path = Self::db_path(run_dir);
        if !path.exists() {
            return Err(StoreError::Missing { path });
        }
        // Not SQLITE_OPEN_CREATE: the file exists, and a vanished one must not come back empty.
        let conn = Self::connect(&path, OpenFlags::default() - OpenFlags::SQLITE_OPEN_CREATE)?;
        Self::check_file(&conn, &path)?;
        Self::configure_writer(&conn, &path)?;
        match migrate::upgrade(&conn).map_err(|f| f.at(&path))? {
            Ok(()) => Ok(Store { conn, path }),
            Err(found) => Err(StoreError::SchemaVersion { path, found, expected: SCHEMA_VERSION }),
        }
    }

    /// Opens the run in `run_dir` to read it (`xnas status`, `xnas report`, also while the run
    /// runs): SQLite's read-only mode, so reading never creates, grows or changes a file. Only a
    /// database of an older schema is opened to write, once, to upgrade it.
    pub fn open_read_only(run_dir: &Path) -> Result<Store, StoreError> {
        let path = Self::db_path(run_dir);
        if !path.exists() {
            return Err(StoreError::Missing { path });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        // A WAL database read even read-only gets -wal and -shm files beside it. Without a -wal
        // file no writer has it open (a writer keeps one while it lives), so it is read as an
        // immutable file, which creates nothing; with one, the reader shares the writer's files.
        let wal = path.with_file_name(format!("{DB_FILE}-wal"));
        let conn = if wal.exists() {
            Self::connect(&path, flags)?
        } else {
            let uri = format!("file:{}?immutable=1", uri_path(&path));
            Self::connect(Path::new(&uri), flags)?
        };
        Self::check_file(&conn, &path)?;
        match migrate::version(&conn).map_err(|f| f.at(&path))? {
            SCHEMA_VERSION => Ok(Store { conn, path }),
            found if found < SCHEMA_VERSION => {
                drop(conn);
                Self::open(run_dir)
            }
            found => Err(StoreError::SchemaVersion { path, found, expected: SCHEMA_VERSION }),
        }
    }

    /// The one write path: `f` runs inside a transaction, committed when it returns `Ok`.
    fn write<T>(&self, f: impl FnOnce(&Connection) -> Result<T, Fault>) -> Result<T, StoreError> {
        let run = || -> Result<T, Fault> {
            let tx = self.conn.unchecked_transaction()?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        };
        run().map_err(|f| f.at(&self.path))
    }

    /// Every row `sql` selects, read by `row`.
    fn query<T>(
        &self,
        sql: &str,
        params: impl Params,
        row: impl Fn(&Row) -> Result<T, Fault>,
    ) -> Result<Vec<T>, StoreError> {
        let run = || -> Result<Vec<T>, Fault> {
            let mut statement = self.conn.prepare(sql)?;
            let mut rows = statement.query(params)?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(row(r)?);
            }
            Ok(out)
        };
        run().map_err(|f| f.at(&self.path))
    }

    /// The run.
    pub fn run(&self) -> Result<RunInfo, StoreError> {
        let sql = format!("SELECT {} FROM run WHERE id = 1", rows::RUN_COLUMNS);
        self.query(&sql, [], rows::run)?
            .pop()
            .ok_or_else(|| Fault::Sqlite(rusqlite::Error::QueryReturnedNoRows).at(&self.path))
    }

    /// Records a script version (idempotent: a version already stored, by hash, returns its id).
    pub fn add_script_version(
        &self,
        hash: &str,
        text: &str,
        sources: &serde_json::Value,
        config: &serde_json::Value,
    ) -> Result<i64, StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO script_versions (hash, text, sources, config, created) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(hash) DO NOTHING",
                params![hash, text, sources.to_string(), config.to_string(), now()],
            )?;
            Ok(tx.query_row("SELECT id FROM script_versions WHERE hash = ?1", params![hash], |r| r.get(0))?)
        })
    }

    /// Every script version, oldest first.
    pub fn script_versions(&self) -> Result<Vec<ScriptVersion>, StoreError> {
        let sql = format!("SELECT {} FROM script_versions ORDER BY id", rows::SCRIPT_VERSION_COLUMNS);
        self.query(&sql, [], rows::script_version)
    }

    /// The newest script version.
    pub fn latest_script_version(&self) -> Result<Option<ScriptVersion>, StoreError> {
        Ok(self.script_versions()?.pop())
    }

    /// Queues candidates for evaluation under one training configuration and script version,
    /// in one transaction; returns their evaluation ids in order.
    pub fn enqueue(
        &self,
        candidates: &[NewEvaluation],
        training_hash: &str,
        script_version: i64,
    ) -> Result<Vec<i64>, StoreError> {
        self.write(|tx| {
            let mut insert = tx.prepare(
                "INSERT INTO evaluations (candidate, genome, canonical, training_hash, parents, generation, status,
                                          script_version, queued_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?8)",
            )?;
            let queued_at = now();
            let mut ids = Vec::with_capacity(candidates.len());
            for c in candidates {
                insert.execute(params![
                    c.candidate as i64,
                    c.genome.compact(),
                    c.genome.canonical().to_string(),
                    training_hash,
                    serde_json::to_string(&c.parents).expect("ids serialise"),
                    c.generation as i64,
                    script_version,
                    queued_at,
                ])?;
                ids.push(tx.last_insert_rowid());
            }
            Ok(ids)
        })
    }

    /// Marks an evaluation as started on `worker` (a device or a cluster node): one more attempt,
    /// with its own row in `attempts`.
    pub fn mark_running(&self, evaluation: i64, worker: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            update_evaluation(
                tx,
                evaluation,
                "UPDATE evaluations SET status = 'running', device = ?2, attempt = attempt + 1, started_at = ?3,
                        error = NULL WHERE id = ?1",
                params![evaluation, worker, now()],
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO attempts (evaluation, attempt, worker, started_at, outcome)
                 SELECT id, attempt, device, started_at, 'running' FROM evaluations WHERE id = ?1",
                params![evaluation],
            )?;
            Ok(())
        })
    }

    /// The running attempt of an evaluation learnt where it runs (a Ray task reports its node).
    pub fn set_worker(&self, evaluation: i64, worker: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("UPDATE evaluations SET device = ?2 WHERE id = ?1", params![evaluation, worker])?;
            tx.execute(
                "UPDATE attempts SET worker = ?2 WHERE evaluation = ?1
                    AND attempt = (SELECT attempt FROM evaluations WHERE id = ?1)",
                params![evaluation, worker],
            )?;
            Ok(())
        })
    }

    /// Stores the record of a finished evaluation: `done` (also when an early-stopping rule stopped
    /// it), or `failed` when the record says so (NaN loss, …) with its error.
    pub fn finish(&self, evaluation: i64, record: &MeasurementRecord) -> Result<(), StoreError> {
        let (status, error, outcome) = match record.status {
            // A stopped training is finished: its record is kept and scored, never trained again.
            RecordStatus::Done | RecordStatus::Stopped => ("done", None, AttemptOutcome::Done),
            RecordStatus::Failed => {
                ("failed", Some(record.error.clone().unwrap_or_else(|| "failed".into())), AttemptOutcome::Failed)
            }
        };
        self.write(|tx| {
            update_evaluation(
                tx,
                evaluation,
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
            )?;
            close_attempt(tx, evaluation, outcome, error.as_deref())
        })
    }

    /// Marks an evaluation failed without a record (the child crashed, timed out, …; or it was
    /// interrupted) — its open attempt ends with `outcome`.
    pub fn fail_attempt(&self, evaluation: i64, outcome: AttemptOutcome, error: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            update_evaluation(
                tx,
                evaluation,
                "UPDATE evaluations SET status = 'failed', error = ?2, finished_at = ?3 WHERE id = ?1",
                params![evaluation, error, now()],
            )?;
            close_attempt(tx, evaluation, outcome, Some(error))
        })
    }

    /// Ends the current attempt with `outcome` and queues the evaluation for another one.
    pub fn retry(&self, evaluation: i64, outcome: AttemptOutcome, error: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            update_evaluation(
                tx,
                evaluation,
                "UPDATE evaluations SET status = 'queued', error = ?2 WHERE id = ?1",
                params![evaluation, error],
            )?;
            close_attempt(tx, evaluation, outcome, Some(error))
        })
    }

    /// Completes an evaluation with the record of an earlier one of the same genome and
    /// training configuration, instead of training again.
    pub fn reuse(&self, evaluation: i64, from: i64) -> Result<(), StoreError> {
        self.write(|tx| {
            update_evaluation(
                tx,
                evaluation,
                "UPDATE evaluations SET (status, record, error, device, train_seconds, eval_seconds) =
                        (SELECT status, record, error, device, train_seconds, eval_seconds FROM evaluations
                         WHERE id = ?2),
                        reused_from = ?2, finished_at = ?3
                 WHERE id = ?1 AND EXISTS (SELECT 1 FROM evaluations WHERE id = ?2 AND status IN ('done', 'failed'))",
                params![evaluation, from, now()],
            )
        })
    }

    /// On resume: evaluations left `running` by a crash go back to `queued` (their open attempt
    /// ends `interrupted`). Returns how many.
    pub fn requeue_running(&self) -> Result<usize, StoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE attempts SET outcome = 'interrupted', finished_at = ?1 WHERE outcome = 'running'",
                params![now()],
            )?;
            Ok(tx.execute("UPDATE evaluations SET status = 'queued' WHERE status = 'running'", [])?)
        })
    }

    /// Every attempt at an evaluation, first to last.
    pub fn attempts(&self, evaluation: i64) -> Result<Vec<Attempt>, StoreError> {
        let sql = format!("SELECT {} FROM attempts WHERE evaluation = ?1 ORDER BY attempt", rows::ATTEMPT_COLUMNS);
        self.query(&sql, params![evaluation], rows::attempt)
    }

    /// Saves how the run executes (executor, scheduling, …) as JSON; `xnas resume` reads it back.
    pub fn set_execution(&self, execution: &impl serde::Serialize) -> Result<(), StoreError> {
        // Through a `Value`, whose keys are sorted, so the text is as earlier versions saved it.
        let text = serde_json::to_value(execution).expect("execution settings serialise").to_string();
        self.write(|tx| {
            tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('execution', ?1)", params![text])?;
            Ok(())
        })
    }

    /// What [`Store::set_execution`] saved, if anything.
    pub fn execution<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>, StoreError> {
        let read = |r: &Row| rows::json("execution settings", &r.get::<_, String>(0)?);
        Ok(self.query("SELECT value FROM meta WHERE key = 'execution'", [], read)?.pop())
    }

    /// Marks a new run's kept models as named by candidate id (`models/<candidate>/`). Runs
    /// made before named them by evaluation id and keep doing so (see `xnas::run::models`).
    pub fn set_models_by_candidate(&self) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('models', 'by-candidate')", [])?;
            Ok(())
        })
    }

    /// Whether the run's kept models are named by candidate id ([`Store::set_models_by_candidate`]).
    pub fn models_by_candidate(&self) -> Result<bool, StoreError> {
        let read = |r: &Row| Ok(r.get::<_, String>(0)?);
        Ok(self.query("SELECT value FROM meta WHERE key = 'models'", [], read)?.pop().as_deref()
            == Some("by-candidate"))
    }

    /// Saves the latest search state of a steady-state run (replacing the previous one).
    pub fn save_checkpoint(&self, search_state: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO checkpoint (id, search_state, saved_at) VALUES (1, ?1, ?2)",
                params![search_state, now()],
            )?;
            Ok(())
        })
    }

    /// The state [`Store::save_checkpoint`] saved last, and when (Unix seconds), if any.
    pub fn checkpoint(&self) -> Result<Option<(String, f64)>, StoreError> {
        let read = |r: &Row| Ok((r.get(0)?, r.get(1)?));
        Ok(self.query("SELECT search_state, saved_at FROM checkpoint WHERE id = 1", [], read)?.pop())
    }

    fn query_evaluations(&self, where_clause: &str, params: impl Params) -> Result<Vec<StoredEvaluation>, StoreError> {
        let sql = format!("SELECT {} FROM evaluations {where_clause}", rows::EVALUATION_COLUMNS);
        self.query(&sql, params, rows::evaluation)
    }

    /// Evaluations with `status` (all when `None`), in id order.
    pub fn evaluations(&self, status: Option<EvalStatus>) -> Result<Vec<StoredEvaluation>, StoreError> {
        match status {
            Some(s) => self.query_evaluations("WHERE status = ?1 ORDER BY id", params![s.as_str()]),
            None => self.query_evaluations("ORDER BY id", []),
        }
    }

    /// The evaluations of one search candidate (several after retraining under a new config).
    pub fn evaluations_of_candidate(&self, candidate: u64) -> Result<Vec<StoredEvaluation>, StoreError> {
        self.query_evaluations("WHERE candidate = ?1 ORDER BY id", params![candidate as i64])
    }

    /// A finished (`done`) evaluation of the same six operations under the training configuration
    /// `training_hash`, so it need not be trained again; the oldest if there are several.
    pub fn find_done(&self, genome: &Genome, training_hash: &str) -> Result<Option<StoredEvaluation>, StoreError> {
        Ok(self
            .query_evaluations(
                "WHERE training_hash = ?1 AND genome = ?2 AND status = 'done' ORDER BY id LIMIT 1",
                params![training_hash, genome.compact()],
            )?
            .pop())
    }

    /// Candidates per status, each counted once by its latest evaluation, so that the counts agree
    /// with the search (its generation lines) and the report (one point per trained network): an
    /// evaluation a resumed run asked again or reused is not counted twice. A trained record whose
    /// objectives could not be scored under the newest script version counts as failed, as the
    /// search was told; failed ones that were only interrupted (and asked again on resume) are
    /// counted apart.
    pub fn counts(&self) -> Result<StatusCounts, StoreError> {
        let read = |r: &Row| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as usize));
        let mut counts = StatusCounts::default();
        // An interrupted evaluation never started (attempt 0) or its last attempt was interrupted.
        let sql = "SELECT CASE
                     WHEN status = 'failed' AND (attempt = 0 OR EXISTS (
                        SELECT 1 FROM attempts a WHERE a.evaluation = e.id
                          AND a.attempt = e.attempt AND a.outcome = 'interrupted')) THEN 'interrupted'
                     WHEN status = 'done' AND EXISTS (
                        SELECT 1 FROM scores s WHERE s.evaluation = e.id AND s.error IS NOT NULL
                          AND s.script_version = (SELECT MAX(id) FROM script_versions)) THEN 'unscored'
                     ELSE status END AS counted, COUNT(*)
                   FROM evaluations e
                   WHERE e.id = (SELECT MAX(id) FROM evaluations l WHERE l.candidate = e.candidate)
                   GROUP BY counted";
        for (status, n) in self.query(sql, [], read)? {
            match status.as_str() {
                "interrupted" => counts.interrupted = n,
                "unscored" => counts.unscored = n,
                other => match EvalStatus::parse(other) {
                    Some(EvalStatus::Queued) => counts.queued = n,
                    Some(EvalStatus::Running) => counts.running = n,
                    Some(EvalStatus::Done) => counts.done = n,
                    Some(EvalStatus::Failed) => counts.failed += n,
                    None => {}
                },
            }
        }
        counts.failed += counts.unscored;
        Ok(counts)
    }

    /// Stores objective values (or scoring errors) of evaluations under a script version, in one
    /// transaction. Scoring the same pair again replaces its row.
    pub fn save_scores(&self, script_version: i64, scores: &[Score]) -> Result<(), StoreError> {
        self.write(|tx| {
            let mut insert = tx.prepare(
                "INSERT OR REPLACE INTO scores (evaluation, script_version, objectives, error, scored_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let scored_at = now();
            for score in scores {
                let (objectives, error) = match &score.result {
                    Ok(values) => (Some(serde_json::to_string(values).expect("numbers serialise")), None),
                    Err(message) => (None, Some(message.as_str())),
                };
                insert.execute(params![score.evaluation, script_version, objectives, error, scored_at])?;
            }
            Ok(())
        })
    }

    /// Every score under a script version, by evaluation id.
    pub fn scores(&self, script_version: i64) -> Result<Vec<Score>, StoreError> {
        self.query(
            "SELECT evaluation, objectives, error FROM scores WHERE script_version = ?1 ORDER BY evaluation",
            params![script_version],
            rows::score,
        )
    }

    /// Saves a finished generation — population, search state and hypervolume — in one
    /// transaction. Saving a generation again replaces it (a resumed run redoing it).
    pub fn save_generation(&self, generation: &NewGeneration) -> Result<(), StoreError> {
        self.write(|tx| {
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
            )?;
            if let Some(value) = generation.hypervolume {
                tx.execute(
                    "INSERT OR REPLACE INTO hypervolumes (generation, script_version, value) VALUES (?1, ?2, ?3)",
                    params![generation.generation as i64, generation.script_version, value],
                )?;
            }
            Ok(())
        })
    }

    /// The last saved generation: resume from its search state.
    pub fn latest_generation(&self) -> Result<Option<SavedGeneration>, StoreError> {
        let sql = format!("SELECT {} FROM generations ORDER BY generation DESC LIMIT 1", rows::GENERATION_COLUMNS);
        Ok(self.query(&sql, [], rows::generation)?.pop())
    }

    /// Every saved generation, in order.
    pub fn generations(&self) -> Result<Vec<SavedGeneration>, StoreError> {
        let sql = format!("SELECT {} FROM generations ORDER BY generation", rows::GENERATION_COLUMNS);
        self.query(&sql, [], rows::generation)
    }

    /// `(generation, hypervolume)` under a script version, in generation order.
    pub fn hypervolumes(&self, script_version: i64) -> Result<Vec<(u64, f64)>, StoreError> {
        self.query(
            "SELECT generation, value FROM hypervolumes WHERE script_version = ?1 ORDER BY generation",
            params![script_version],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, f64>(1)?)),
        )
    }
}
