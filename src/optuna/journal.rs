//! Optuna's journal format, written and replayed from plain types: the JSON-lines log that
//! Optuna's `JournalStorage` over a `JournalFileBackend` keeps (checked against Optuna 5.0.0's
//! `optuna/storages/journal/_storage.py` and `_file.py`). Each line is one operation with an
//! `op_code` and a `worker_id`; studies get ids 0, 1, … in the order they are created (a name
//! already taken is ignored), trials get ids over the whole file in the order they are created
//! and numbers per study; a finished trial takes no more changes. Datetimes are ISO 8601 in UTC
//! with microseconds, distributions are the JSON text of `optuna.distributions.distribution_to_json`,
//! and a categorical parameter's internal value is its index among the choices.
//!
//! [`Journal`] is one journal file: it replays what is there (refusing operations newer than it
//! knows, a partial last line, or anything it cannot read, with the file and the fix in the
//! message) and appends whole lines under the lock Optuna's file backend takes (a symlink
//! `FILE.lock`), re-reading what others appended first, so that its idea of trial ids stays the
//! file's. Trials are found again by a system attribute carrying xnas's key ([`KEY_ATTR`]).

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Map, Value};
use xnas_moo::Direction;
use xnas_space::{Genome, Op, EDGES};

/// The operations of Optuna's `JournalOperation` (Optuna 5.0.0).
const CREATE_STUDY: u64 = 0;
const DELETE_STUDY: u64 = 1;
const SET_STUDY_USER_ATTR: u64 = 2;
const SET_STUDY_SYSTEM_ATTR: u64 = 3;
const CREATE_TRIAL: u64 = 4;
const SET_TRIAL_PARAM: u64 = 5;
const SET_TRIAL_STATE_VALUES: u64 = 6;
const SET_TRIAL_INTERMEDIATE_VALUE: u64 = 7;
const SET_TRIAL_USER_ATTR: u64 = 8;
const SET_TRIAL_SYSTEM_ATTR: u64 = 9;
/// The newest operation the journal format xnas writes has (`DISCARD_TRIALS`); a journal with a
/// higher op code was written by a newer Optuna, which Optuna 5.0 itself cannot read either.
pub const NEWEST_OP_CODE: u64 = 10;

/// The study system attribute Optuna's `Study.set_metric_names` writes.
pub const METRIC_NAMES_ATTR: &str = "study:metric_names";
/// The trial system attribute holding xnas's key of a trial (the candidate id).
pub const KEY_ATTR: &str = "xnas:candidate";
/// Optuna's file backend's lock: a symlink beside the journal (`JournalFileSymlinkLock`).
pub const LOCK_SUFFIX: &str = ".lock";
/// How long a lock may sit unchanged before it is taken as left by a dead writer (Optuna's grace period).
const LOCK_GRACE: Duration = Duration::from_secs(30);

/// The six edges as parameter names, `to<-from` as in NAS-Bench-201's node numbering: `1<-0`,
/// `2<-0`, `2<-1`, `3<-0`, `3<-1`, `3<-2` (the genome's edge order).
pub fn edge_names() -> [String; 6] {
    EDGES.map(|e| format!("{}<-{}", e.to, e.from))
}

/// A trial's state, with Optuna's `TrialState` numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrialState {
    Running = 0,
    Complete = 1,
    /// Pruned by Optuna. xnas does not write it: a candidate its early-stopping rule stopped is
    /// scored on its last epoch and joins the search, so it is a complete trial (`super::trial_state`).
    Pruned = 2,
    Fail = 3,
    /// Enqueued, not started: xnas never writes it, but a journal may hold it.
    Waiting = 4,
}

impl TrialState {
    fn from_code(code: u64) -> Option<TrialState> {
        [TrialState::Running, TrialState::Complete, TrialState::Pruned, TrialState::Fail, TrialState::Waiting]
            .into_iter()
            .find(|s| *s as u64 == code)
    }

    pub fn is_finished(self) -> bool {
        matches!(self, TrialState::Complete | TrialState::Pruned | TrialState::Fail)
    }
}

/// A study as xnas creates it.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyHeader {
    pub name: String,
    pub directions: Vec<Direction>,
    /// Shown by the dashboard as the objectives' names.
    pub metric_names: Vec<String>,
    pub user_attrs: Vec<(String, Value)>,
}

/// One trial: a candidate's architecture as six categorical parameters, its state and values.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialEntry {
    /// xnas's key of the trial ([`KEY_ATTR`]).
    pub key: u64,
    pub genome: Genome,
    pub state: TrialState,
    /// One per objective, for a complete trial.
    pub values: Option<Vec<f64>>,
    /// Seconds since the Unix epoch.
    pub started: Option<f64>,
    pub completed: Option<f64>,
    /// Per-step intermediate values (Optuna's `trial.report`).
    pub intermediate_values: Vec<(u64, f64)>,
    pub user_attrs: Vec<(String, Value)>,
}

/// Why a journal cannot be read or extended.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(
        "{path}: line {line} is operation {op_code}, newer than the Optuna journal format xnas writes \
         (Optuna 5.0, operations 0-{NEWEST_OP_CODE}); it was written by a newer Optuna. Write this run's \
         journal to another file (--optuna NEW_FILE), or `xnas export RUN --optuna NEW_FILE` for a fresh one"
    )]
    NewerFormat { path: PathBuf, line: usize, op_code: u64 },
    #[error(
        "{path}: line {line} is not an Optuna journal operation ({reason}); xnas cannot extend it. \
         Write this run's journal to another file (--optuna NEW_FILE), or `xnas export RUN --optuna NEW_FILE`"
    )]
    Unreadable { path: PathBuf, line: usize, reason: String },
    #[error(
        "{path} ends in a partial line (a writer died mid-write), which Optuna cannot read past; remove \
         that last line, or write this run's journal to another file (--optuna NEW_FILE)"
    )]
    PartialLine { path: PathBuf },
    #[error(
        "{path}: its study {study:?} has objectives {found:?}, this run's are {expected:?}; write this run's \
         journal to another file (--optuna NEW_FILE)"
    )]
    OtherDirections { path: PathBuf, study: String, found: Vec<Direction>, expected: Vec<Direction> },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: the lock {lock} has been held for over {seconds} s by a writer that keeps it alive")]
    Locked { path: PathBuf, lock: PathBuf, seconds: u64 },
}

/// What xnas knows of a trial it finds in a journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownTrial {
    /// Optuna's trial id (over the whole file).
    pub id: u64,
    /// Its number in the study (what the dashboard shows).
    pub number: u64,
    pub state: TrialState,
}

/// A journal's operations replayed as far as xnas needs them, as Optuna's
/// `JournalStorageReplayResult` applies them.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    /// Study names by id, `None` once deleted.
    studies: Vec<Option<String>>,
    directions: Vec<Vec<u64>>,
    /// Per trial id: its study, its number there, its state.
    trials: Vec<(usize, u64, TrialState)>,
    trials_per_study: HashMap<usize, u64>,
    /// xnas's keys of the trials of each study.
    keys: HashMap<(usize, u64), u64>,
    /// Each study's user attributes.
    study_attrs: HashMap<(usize, String), Value>,
}

impl Replay {
    /// The id of the living study with this name.
    pub fn study(&self, name: &str) -> Option<usize> {
        self.studies.iter().position(|s| s.as_deref() == Some(name))
    }

    /// The trial of `study` keyed `key`.
    pub fn trial(&self, study: usize, key: u64) -> Option<KnownTrial> {
        let &id = self.keys.get(&(study, key))?;
        let (_, number, state) = self.trials[id as usize];
        Some(KnownTrial { id, number, state })
    }

    /// A user attribute of `study`.
    pub fn study_user_attr(&self, study: usize, key: &str) -> Option<&Value> {
        self.study_attrs.get(&(study, key.to_string()))
    }

    /// The ids of the studies not deleted.
    pub fn living_studies(&self) -> impl Iterator<Item = (usize, &str)> {
        self.studies.iter().enumerate().filter_map(|(id, name)| Some((id, name.as_deref()?)))
    }

    /// How many trials `study` has.
    pub fn trial_count(&self, study: usize) -> u64 {
        self.trials_per_study.get(&study).copied().unwrap_or(0)
    }

    /// Applies one parsed line; `Err` says why it is none of the operations xnas knows.
    fn apply(&mut self, op: &Value) -> Result<(), Unknown> {
        let field = |name: &str| op.get(name).ok_or_else(|| Unknown::Bad(format!("no field {name:?}")));
        let index = |name: &str| field(name)?.as_u64().ok_or_else(|| Unknown::Bad(format!("{name:?} is no integer")));
        let code = index("op_code")?;
        field("worker_id")?;
        match code {
            CREATE_STUDY => {
                let name = field("study_name")?.as_str().ok_or_else(|| Unknown::Bad("study_name".into()))?;
                let directions = field("directions")?
                    .as_array()
                    .and_then(|d| d.iter().map(Value::as_u64).collect::<Option<Vec<u64>>>())
                    .ok_or_else(|| Unknown::Bad("directions".into()))?;
                if self.study(name).is_none() {
                    self.studies.push(Some(name.to_string()));
                    self.directions.push(directions);
                }
            }
            DELETE_STUDY => {
                if let Some(study) = self.studies.get_mut(index("study_id")? as usize) {
                    *study = None;
                }
            }
            CREATE_TRIAL => {
                let study = index("study_id")? as usize;
                if self.studies.get(study).is_some_and(Option::is_some) {
                    let state = match op.get("state").and_then(Value::as_u64) {
                        None => TrialState::Running,
                        Some(code) => TrialState::from_code(code).ok_or(Unknown::Bad(format!("state {code}")))?,
                    };
                    let number = self.trials_per_study.entry(study).or_default();
                    let id = self.trials.len() as u64;
                    self.trials.push((study, *number, state));
                    *number += 1;
                    if let Some(key) = op.pointer(&format!("/system_attrs/{KEY_ATTR}")).and_then(Value::as_u64) {
                        self.keys.insert((study, key), id);
                    }
                }
            }
            SET_TRIAL_STATE_VALUES => {
                let state = TrialState::from_code(index("state")?).ok_or(Unknown::Bad("state".into()))?;
                if let Some(trial) = self.trials.get_mut(index("trial_id")? as usize) {
                    if !trial.2.is_finished() {
                        trial.2 = state;
                    }
                }
            }
            SET_TRIAL_SYSTEM_ATTR => {
                let id = index("trial_id")?;
                if let (Some(&(study, _, state)), Some(key)) = (
                    self.trials.get(id as usize),
                    op.pointer(&format!("/system_attr/{KEY_ATTR}")).and_then(Value::as_u64),
                ) {
                    if !state.is_finished() {
                        self.keys.insert((study, key), id);
                    }
                }
            }
            SET_STUDY_USER_ATTR => {
                let study = index("study_id")? as usize;
                let attr = field("user_attr")?.as_object().ok_or_else(|| Unknown::Bad("user_attr".into()))?;
                for (key, value) in attr {
                    self.study_attrs.insert((study, key.clone()), value.clone());
                }
            }
            SET_STUDY_SYSTEM_ATTR
            | SET_TRIAL_PARAM
            | SET_TRIAL_INTERMEDIATE_VALUE
            | SET_TRIAL_USER_ATTR
            | NEWEST_OP_CODE => {}
            newer => return Err(Unknown::Newer(newer)),
        }
        Ok(())
    }
}

enum Unknown {
    Newer(u64),
    Bad(String),
}

/// The operations that create a study: the study, its metric names, its user attributes.
pub fn create_study_ops(worker: &str, study: &StudyHeader, study_id: usize) -> Vec<Value> {
    let directions: Vec<u64> = study.directions.iter().map(|&d| direction_code(d)).collect();
    let mut ops = vec![json!({
        "op_code": CREATE_STUDY, "worker_id": worker, "study_name": study.name, "directions": directions,
    })];
    ops.push(json!({
        "op_code": SET_STUDY_SYSTEM_ATTR, "worker_id": worker, "study_id": study_id,
        "system_attr": { METRIC_NAMES_ATTR: study.metric_names },
    }));
    ops.extend(study.user_attrs.iter().map(|(key, value)| set_study_user_attr_op(worker, study_id, key, value)));
    ops
}

/// Sets one user attribute of a study (Optuna takes one per operation).
pub fn set_study_user_attr_op(worker: &str, study_id: usize, key: &str, value: &Value) -> Value {
    json!({ "op_code": SET_STUDY_USER_ATTR, "worker_id": worker, "study_id": study_id, "user_attr": { key: value } })
}

/// One operation creating a whole trial in its state (Optuna's `create_new_trial` with a
/// template trial): parameters, values, attributes, dates and intermediate values at once.
pub fn create_trial_op(worker: &str, study_id: usize, trial: &TrialEntry) -> Value {
    let names = edge_names();
    let distribution = categorical_distribution();
    let mut op = json!({
        "op_code": CREATE_TRIAL,
        "worker_id": worker,
        "study_id": study_id,
        "datetime_start": trial.started.map(iso_datetime),
        "state": trial.state as u64,
        "value": Value::Null,
        "values": values_json(trial),
        "distributions": names.iter().map(|n| (n.clone(), Value::from(distribution.clone()))).collect::<Map<_, _>>(),
        "params": names.iter().zip(trial.genome.0).map(|(n, op)| (n.clone(), Value::from(op_index(op)))).collect::<Map<_, _>>(),
        "user_attrs": trial.user_attrs.iter().cloned().collect::<Map<_, _>>(),
        "system_attrs": { KEY_ATTR: trial.key },
        "intermediate_values": trial.intermediate_values.iter().map(|(step, v)| (step.to_string(), Value::from(*v))).collect::<Map<_, _>>(),
    });
    // Optuna reads `datetime_complete` whenever the key is there.
    if let Some(completed) = trial.completed.filter(|_| trial.state.is_finished()) {
        op["datetime_complete"] = Value::from(iso_datetime(completed));
    }
    op
}

/// The operations that bring a trial created running to the entry's end: its user attributes and
/// intermediate values, then its state and values (last: a finished trial takes no more changes).
pub fn finish_trial_ops(worker: &str, trial_id: u64, trial: &TrialEntry) -> Vec<Value> {
    let mut ops: Vec<Value> = trial
        .user_attrs
        .iter()
        .map(|(key, value)| {
            json!({ "op_code": SET_TRIAL_USER_ATTR, "worker_id": worker, "trial_id": trial_id, "user_attr": { key: value } })
        })
        .collect();
    ops.extend(trial.intermediate_values.iter().map(|(step, value)| {
        json!({
            "op_code": SET_TRIAL_INTERMEDIATE_VALUE, "worker_id": worker, "trial_id": trial_id,
            "step": step, "intermediate_value": value,
        })
    }));
    let mut state = json!({
        "op_code": SET_TRIAL_STATE_VALUES, "worker_id": worker, "trial_id": trial_id,
        "state": trial.state as u64, "values": values_json(trial),
    });
    if trial.state.is_finished() {
        state["datetime_complete"] = Value::from(iso_datetime(trial.completed.unwrap_or_else(unix_now)));
    }
    ops.push(state);
    ops
}

fn values_json(trial: &TrialEntry) -> Value {
    match (&trial.values, trial.state) {
        (Some(values), TrialState::Complete) => json!(values),
        _ => Value::Null,
    }
}

fn direction_code(direction: Direction) -> u64 {
    // Optuna's StudyDirection: MINIMIZE 1, MAXIMIZE 2.
    match direction {
        Direction::Minimise => 1,
        Direction::Maximise => 2,
    }
}

/// The edges' distribution: every NAS-Bench-201 op, in the paper's op-code order, on every edge
/// (whatever a script's space allows, so that trials of any script version stay comparable).
fn categorical_distribution() -> String {
    let choices: Vec<&str> = Op::ALL.iter().map(|op| op.nb201_name()).collect();
    // As Python's json.dumps writes it (", " and ": "), the text distribution_to_json gives.
    let choices = choices.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
    format!("{{\"name\": \"CategoricalDistribution\", \"attributes\": {{\"choices\": [{choices}]}}}}")
}

fn op_index(op: Op) -> u64 {
    Op::ALL.iter().position(|o| *o == op).expect("every op is in Op::ALL") as u64
}

pub fn unix_now() -> f64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Seconds since the Unix epoch as Python's `datetime.isoformat(timespec="microseconds")` writes
/// a UTC time: `2026-12-02T01:54:21.576432+00:00`.
pub fn iso_datetime(unix_seconds: f64) -> String {
    let micros = (unix_seconds * 1e6).round() as i64;
    let (seconds, micro) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micro:06}+00:00",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// The first bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

/// One journal file, replayed, appended to under Optuna's lock.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    /// This writer's `worker_id`.
    worker: String,
    replay: Replay,
    /// Bytes of the file replayed so far (always at a line's end).
    read: u64,
    lines: usize,
}

impl Journal {
    /// Opens (creating it empty if missing) and replays the journal at `path`.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let worker = format!("xnas-{}-{}", std::process::id(), unix_now());
        let mut journal = Journal { path: path.to_path_buf(), worker, replay: Replay::default(), read: 0, lines: 0 };
        OpenOptions::new().create(true).append(true).open(path).map_err(|e| journal.io(e))?;
        // Under the lock: a writer busy appending would otherwise leave a partial last line.
        let _lock = FileLock::acquire(path)?;
        journal.sync()?;
        Ok(journal)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn worker(&self) -> &str {
        &self.worker
    }

    pub fn replay(&self) -> &Replay {
        &self.replay
    }

    /// The study named as `header`, created if the journal has none; a study of that name with
    /// other objectives is refused.
    pub fn ensure_study(&mut self, header: &StudyHeader) -> Result<usize, JournalError> {
        let expected: Vec<u64> = header.directions.iter().map(|&d| direction_code(d)).collect();
        self.append_with(|replay, worker| match replay.study(&header.name) {
            Some(_) => Vec::new(),
            None => create_study_ops(worker, header, replay.studies.len()),
        })?;
        let id = self.replay.study(&header.name).expect("created above");
        if self.replay.directions[id] != expected {
            let decode = |codes: &[u64]| -> Vec<Direction> {
                codes.iter().map(|&c| if c == 2 { Direction::Maximise } else { Direction::Minimise }).collect()
            };
            return Err(JournalError::OtherDirections {
                path: self.path.clone(),
                study: header.name.clone(),
                found: decode(&self.replay.directions[id]),
                expected: header.directions.clone(),
            });
        }
        Ok(id)
    }

    /// Appends the operations `ops` builds from the journal as it is now (others' appends
    /// included), as whole lines in one write under Optuna's lock, and replays them.
    pub fn append_with(&mut self, ops: impl FnOnce(&Replay, &str) -> Vec<Value>) -> Result<(), JournalError> {
        let _lock = FileLock::acquire(&self.path)?;
        self.sync()?;
        let ops = ops(&self.replay, &self.worker);
        if ops.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for op in &ops {
            text.push_str(&serde_json::to_string(op).expect("journal operations serialise"));
            text.push('\n');
        }
        let mut file = OpenOptions::new().append(true).open(&self.path).map_err(|e| self.io(e))?;
        file.write_all(text.as_bytes()).and_then(|()| file.sync_data()).map_err(|e| self.io(e))?;
        self.sync()
    }

    /// Replays the lines appended since the last look.
    fn sync(&mut self) -> Result<(), JournalError> {
        let mut file = std::fs::File::open(&self.path).map_err(|e| self.io(e))?;
        file.seek(SeekFrom::Start(self.read)).map_err(|e| self.io(e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| self.io(e))?;
        // The whole lines first: a file that is no journal at all (a run store, a log) must be
        // called that, not a journal with a partial last line.
        let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |end| end + 1);
        let foreign_start = self.read == 0 && bytes.starts_with(SQLITE_MAGIC);
        for line in bytes[..whole].split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            self.lines += 1;
            let bad = |reason: String| JournalError::Unreadable { path: self.path.clone(), line: self.lines, reason };
            if foreign_start {
                return Err(bad("it is an SQLite database (a run store?), not an Optuna journal".into()));
            }
            let op: Value = serde_json::from_slice(line).map_err(|e| bad(e.to_string()))?;
            self.replay.apply(&op).map_err(|unknown| match unknown {
                Unknown::Newer(op_code) => {
                    JournalError::NewerFormat { path: self.path.clone(), line: self.lines, op_code }
                }
                Unknown::Bad(reason) => bad(reason),
            })?;
        }
        self.read += whole as u64;
        let rest = &bytes[whole..];
        if rest.is_empty() {
            return Ok(());
        }
        if rest.first() == Some(&b'{') && !foreign_start {
            return Err(JournalError::PartialLine { path: self.path.clone() });
        }
        let reason = if foreign_start {
            "it is an SQLite database (a run store?), not an Optuna journal".to_string()
        } else {
            "it is not JSON lines".to_string()
        };
        Err(JournalError::Unreadable { path: self.path.clone(), line: self.lines + 1, reason })
    }

    /// Replays the journal at `path` without creating, locking or changing it (a look before
    /// replacing it).
    pub fn read(path: &Path) -> Result<Replay, JournalError> {
        let worker = String::new();
        let mut journal = Journal { path: path.to_path_buf(), worker, replay: Replay::default(), read: 0, lines: 0 };
        journal.sync()?;
        Ok(journal.replay)
    }

    fn io(&self, source: std::io::Error) -> JournalError {
        JournalError::Io { path: self.path.clone(), source }
    }
}

/// Optuna's `JournalFileSymlinkLock`: a symlink `FILE.lock` made atomically; one left unchanged
/// past the grace period is taken as a dead writer's and broken, as Optuna does.
struct FileLock {
    lock: PathBuf,
}

impl FileLock {
    fn acquire(path: &Path) -> Result<FileLock, JournalError> {
        let mut lock = path.as_os_str().to_owned();
        lock.push(LOCK_SUFFIX);
        let lock = PathBuf::from(lock);
        let started = Instant::now();
        let mut seen: Option<(SystemTime, Instant)> = None;
        let mut sleep = Duration::from_millis(1);
        loop {
            match std::os::unix::fs::symlink(path, &lock) {
                Ok(()) => return Ok(FileLock { lock }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(source) => return Err(JournalError::Io { path: lock, source }),
            }
            let modified = std::fs::symlink_metadata(&lock).and_then(|m| m.modified()).ok();
            match (modified, seen) {
                (Some(m), Some((was, since))) if m == was => {
                    if since.elapsed() > LOCK_GRACE {
                        let _ = FileLock { lock: lock.clone() }.release();
                        seen = None;
                        continue;
                    }
                }
                (Some(m), _) => seen = Some((m, Instant::now())),
                (None, _) => {}
            }
            if started.elapsed() > 4 * LOCK_GRACE {
                return Err(JournalError::Locked {
                    path: path.to_path_buf(),
                    lock,
                    seconds: started.elapsed().as_secs(),
                });
            }
            std::thread::sleep(sleep);
            sleep = (sleep * 2).min(Duration::from_millis(200));
        }
    }

    /// As Optuna releases: rename away, then unlink, so that a racing breaker cannot remove a new lock.
    fn release(&self) -> std::io::Result<()> {
        let mut moved = self.lock.as_os_str().to_owned();
        moved.push(format!("{}-{}.rename", std::process::id(), unix_now()));
        std::fs::rename(&self.lock, &moved)?;
        std::fs::remove_file(moved)
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> StudyHeader {
        StudyHeader {
            name: "quickstart".into(),
            directions: vec![Direction::Maximise, Direction::Minimise],
            metric_names: vec!["accuracy".into(), "params".into()],
            user_attrs: vec![("dataset".into(), json!("fashion-mnist"))],
        }
    }

    fn trial(key: u64, state: TrialState) -> TrialEntry {
        TrialEntry {
            key,
            genome: "002404".parse().unwrap(),
            state,
            values: (state == TrialState::Complete).then(|| vec![0.5, 1e4]),
            started: Some(0.25),
            completed: Some(1.5),
            intermediate_values: Vec::new(),
            user_attrs: vec![("arch".into(), json!("|x|"))],
        }
    }

    fn temp_journal(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xnas-journal-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("journal.log");
        let _ = std::fs::remove_file(&path);
        path
    }

    #[test]
    fn datetimes_are_written_as_python_writes_utc_isoformat() {
        assert_eq!(iso_datetime(0.0), "1970-01-01T00:00:00.000000+00:00");
        // datetime.fromtimestamp(1795924461.576432, timezone.utc).isoformat(timespec="microseconds")
        assert_eq!(iso_datetime(1_795_924_461.576_432), "2026-11-29T03:54:21.576432+00:00");
        assert_eq!(iso_datetime(951_782_400.5), "2000-02-29T00:00:00.500000+00:00");
    }

    #[test]
    fn a_study_carries_its_directions_metric_names_and_attributes() {
        let ops = create_study_ops("w", &header(), 0);
        assert_eq!(ops[0], json!({"op_code": 0, "worker_id": "w", "study_name": "quickstart", "directions": [2, 1]}));
        assert_eq!(ops[1]["system_attr"][METRIC_NAMES_ATTR], json!(["accuracy", "params"]));
        assert_eq!(ops[2]["user_attr"], json!({"dataset": "fashion-mnist"}));
    }

    #[test]
    fn a_trial_holds_the_six_edges_as_categorical_indices_of_nb201_names() {
        let op = create_trial_op("w", 0, &trial(7, TrialState::Complete));
        assert_eq!(edge_names(), ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"].map(String::from));
        // 002404: conv3x3, conv3x3, avgpool, conv3x3, skip, conv3x3; choices in op-code order.
        assert_eq!(op["params"], json!({"1<-0": 0, "2<-0": 0, "2<-1": 2, "3<-0": 4, "3<-1": 0, "3<-2": 4}));
        let distribution: Value = serde_json::from_str(op["distributions"]["1<-0"].as_str().unwrap()).unwrap();
        assert_eq!(
            distribution["attributes"]["choices"],
            json!(["nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3", "none", "skip_connect"])
        );
        assert_eq!(op["state"], 1);
        assert_eq!(op["values"], json!([0.5, 1e4]));
        assert_eq!(op["system_attrs"][KEY_ATTR], 7);
        assert!(op.get("datetime_complete").is_some());
        let running = create_trial_op("w", 0, &trial(8, TrialState::Running));
        assert!(running.get("datetime_complete").is_none(), "Optuna reads datetime_complete whenever it is there");
        assert_eq!(running["values"], Value::Null);
        let failed = finish_trial_ops("w", 3, &trial(8, TrialState::Fail));
        assert_eq!(failed.last().unwrap()["state"], 3);
        assert_eq!(failed.last().unwrap()["values"], Value::Null, "a failed trial has no values");
        assert_eq!(failed[0]["user_attr"], json!({"arch": "|x|"}));
    }

    #[test]
    fn a_journal_replays_trials_by_key_and_appends_whole_lines() {
        let path = temp_journal("replay");
        let mut journal = Journal::open(&path).unwrap();
        let study = journal.ensure_study(&header()).unwrap();
        journal
            .append_with(|_, w| {
                vec![
                    create_trial_op(w, study, &trial(10, TrialState::Running)),
                    create_trial_op(w, study, &trial(11, TrialState::Complete)),
                ]
            })
            .unwrap();
        journal
            .append_with(|r, w| finish_trial_ops(w, r.trial(study, 10).unwrap().id, &trial(10, TrialState::Fail)))
            .unwrap();
        // Another process opening the same file sees the same trials.
        let again = Journal::open(&path).unwrap();
        let study_again = again.replay().study("quickstart").unwrap();
        assert_eq!(again.replay().trial_count(study_again), 2);
        assert_eq!(
            again.replay().trial(study_again, 10),
            Some(KnownTrial { id: 0, number: 0, state: TrialState::Fail })
        );
        assert_eq!(again.replay().trial(study_again, 11).unwrap().state, TrialState::Complete);
        assert!(!path.with_extension("log.lock").exists(), "the lock is released");
        let mut same = Journal::open(&path).unwrap();
        assert_eq!(same.ensure_study(&header()).unwrap(), study, "an existing study is not created twice");
        assert_eq!(same.replay().study_user_attr(study, "dataset"), Some(&json!("fashion-mnist")));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with('\n') && text.lines().all(|l| serde_json::from_str::<Value>(l).is_ok()));
    }

    #[test]
    fn journals_xnas_cannot_extend_are_refused_naming_the_file_and_the_fix() {
        let path = temp_journal("newer");
        std::fs::write(&path, "{\"op_code\":0,\"worker_id\":\"w\",\"study_name\":\"s\",\"directions\":[2]}\n{\"op_code\":11,\"worker_id\":\"w\"}\n").unwrap();
        let error = Journal::open(&path).unwrap_err().to_string();
        assert!(error.contains(&path.display().to_string()) && error.contains("operation 11"), "{error}");
        assert!(error.contains("--optuna NEW_FILE"), "{error}");
        std::fs::write(&path, "{\"op_code\":0,\"worker_id\":\"w\",\"study_na").unwrap();
        assert!(matches!(Journal::open(&path).unwrap_err(), JournalError::PartialLine { .. }));
        std::fs::write(&path, "not json\n").unwrap();
        assert!(matches!(Journal::open(&path).unwrap_err(), JournalError::Unreadable { line: 1, .. }));
        std::fs::write(&path, "{\"op_code\":0,\"worker_id\":\"w\",\"study_name\":\"quickstart\",\"directions\":[1]}\n")
            .unwrap();
        let mut journal = Journal::open(&path).unwrap();
        assert!(matches!(journal.ensure_study(&header()).unwrap_err(), JournalError::OtherDirections { .. }));
    }
}
