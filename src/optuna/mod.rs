//! A run as an Optuna study, for optuna-dashboard: `xnas export RUN --optuna FILE` writes a
//! fresh journal of a run's store ([`export_journal`]), and `xnas run … --optuna FILE` (or the
//! script's `search.optuna`) appends to one as the run goes ([`LiveJournal`]). The format itself,
//! from plain types, is [`journal`]; this file knows the store and the spec and turns them into
//! it — the one place that knows both, as `crate::report::input` is for the report (see
//! `docs/architecture.md`).
//!
//! One trial per search candidate (the id of the report's tables), keyed by the candidate id in
//! a trial system attribute: a candidate keeps its id when a resumed run asks it again, even where
//! its evaluation gets a new id (a generational run resumed mid-generation), so a trial left
//! RUNNING by a crash is finished by the resumed evaluation instead of being duplicated. Its
//! values are the objectives in the script's directions: in an export, as scored under the latest
//! script version; in a live journal, as scored when the evaluation finished (a finished Optuna
//! trial cannot be changed, so a hot reload's re-scoring shows only in a fresh export).

pub mod journal;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use xnas_moo::Evaluation;

use crate::output::{check_output_file, OutputError, StagedFile};
use crate::record::{MeasurementRecord, Status as RecordStatus};
use crate::run_dir::RunLock;
use crate::script::ExperimentSpec;
use crate::store::{AttemptOutcome, EvalStatus, RunInfo, Store, StoreError, StoredEvaluation};
use journal::{
    create_trial_op, finish_trial_ops, set_study_user_attr_op, Journal, JournalError, StudyHeader, LOCK_SUFFIX,
};
pub use journal::{edge_names, TrialEntry, TrialState, KEY_ATTR, METRIC_NAMES_ATTR, NEWEST_OP_CODE};

/// The study user attribute naming the run folder (absolute) a study belongs to.
const RUN_DIR_ATTR: &str = "run_dir";

/// Why a run cannot be written as an Optuna journal.
#[derive(Debug, thiserror::Error)]
pub enum OptunaError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0} has no script version yet, so no objectives to name")]
    NoScript(PathBuf),
    #[error("reading the experiment settings stored with the latest script version: {0}")]
    Spec(#[from] serde_json::Error),
    #[error(
        "{path}: its study {study:?} belongs to the run in {other}, not this one; write this run's journal \
         to another file (--optuna NEW_FILE)"
    )]
    OtherRun { path: PathBuf, study: String, other: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSummary {
    pub study: String,
    pub trials: usize,
    pub complete: usize,
    pub failed: usize,
    pub running: usize,
}

/// How an evaluation ended as far as its trial goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Still to run, or running.
    Running,
    Scored(Vec<f64>),
    Failed(String),
}

impl From<&Evaluation> for Outcome {
    fn from(evaluation: &Evaluation) -> Outcome {
        match evaluation {
            Evaluation::Objectives(values) => Outcome::Scored(values.clone()),
            Evaluation::Failed(reason) => Outcome::Failed(reason.clone()),
        }
    }
}

/// The mapping point from xnas's outcome of an evaluation to Optuna's trial state. Values that
/// are not finite fail the trial, as Optuna's `tell` does. A candidate its script's rule stopped
/// early (record status `stopped`) is `PRUNED`, as Optuna's pruners leave a trial: see
/// [`trial_entry`].
pub fn trial_state(outcome: &Outcome) -> TrialState {
    match outcome {
        Outcome::Running => TrialState::Running,
        Outcome::Scored(values) if values.iter().all(|v| v.is_finite()) => TrialState::Complete,
        Outcome::Scored(_) | Outcome::Failed(_) => TrialState::Fail,
    }
}

/// The per-epoch intermediate values (Optuna's `trial.report`): the validation accuracy on the
/// per-epoch subset after each measured epoch (`training.epoch_validation`), which is what the
/// dashboard's intermediate-values plot and an early-stopping rule look at.
pub fn intermediate_values(record: &MeasurementRecord) -> Vec<(u64, f64)> {
    record.epochs.iter().map(|p| (p.epoch as u64, p.val_accuracy)).collect()
}

/// A trial from a stored evaluation and its outcome. `wordnet` is the label similarity matrix
/// when the dataset's labels resolve in WordNet (for the WordNet-weighted introspectability).
pub fn trial_entry(e: &StoredEvaluation, outcome: &Outcome, wordnet: Option<&Vec<Vec<f64>>>) -> TrialEntry {
    let stopped = e.record.as_ref().is_some_and(|r| r.status == RecordStatus::Stopped);
    let state = match trial_state(outcome) {
        // Optuna keeps no values for a pruned trial: xnas's scores stay in a user attribute.
        TrialState::Complete if stopped => TrialState::Pruned,
        state => state,
    };
    let mut attrs: Vec<(String, Value)> = vec![
        ("candidate".into(), json!(e.candidate)),
        ("evaluation".into(), json!(e.id)),
        ("arch".into(), json!(e.genome.arch_string())),
        ("genome".into(), json!(e.genome.compact())),
        ("canonical".into(), json!(e.genome.canonical().as_str())),
        // Counted from 1, as saved generations and the report count them.
        ("generation".into(), json!(e.generation + 1)),
        ("parents".into(), json!(e.parents)),
    ];
    if let Some(from) = e.reused_from {
        attrs.push(("reused_from_evaluation".into(), json!(from)));
    }
    if let Some(r) = e.record.as_ref().filter(|_| state != TrialState::Running) {
        attrs.extend([
            ("params".into(), json!(r.params)),
            ("flops".into(), json!(r.flops)),
            ("val_accuracy".into(), json!(r.val_accuracy)),
            ("introspectability".into(), json!(r.introspectability)),
            ("device".into(), json!(r.device)),
            ("seconds".into(), json!(r.train_seconds + r.eval_seconds + r.trust_seconds)),
            ("train_seconds".into(), json!(r.train_seconds)),
        ]);
        let wordnet = wordnet.and_then(|s| crate::introspect::wordnet_introspectability(&r.class_distance, s));
        if let Some(w) = wordnet {
            attrs.push(("wordnet_introspectability".into(), json!(w)));
        }
        match r.status {
            RecordStatus::Failed => attrs.push(("record_status".into(), json!("failed"))),
            RecordStatus::Stopped => {
                attrs.push(("record_status".into(), json!("stopped")));
                attrs.push(("stopped_after_epoch".into(), json!(r.epochs.last().map(|p| p.epoch))));
                if let Outcome::Scored(values) = outcome {
                    attrs.push(("xnas_values".into(), json!(values)));
                }
            }
            RecordStatus::Done => {}
        }
    } else if let Some(device) = &e.device {
        attrs.push(("device".into(), json!(device)));
    }
    match outcome {
        Outcome::Failed(reason) => attrs.push(("fail_reason".into(), json!(reason))),
        Outcome::Scored(values) if state == TrialState::Fail => {
            attrs.push(("fail_reason".into(), json!(format!("objective values not finite: {values:?}"))));
        }
        _ => {}
    }
    TrialEntry {
        key: e.candidate,
        genome: e.genome,
        state,
        values: match outcome {
            Outcome::Scored(values) if state == TrialState::Complete => Some(values.clone()),
            _ => None,
        },
        started: e.started_at.or(Some(e.queued_at)),
        completed: e.finished_at,
        intermediate_values: e.record.as_ref().map(intermediate_values).unwrap_or_default(),
        user_attrs: attrs,
    }
}

/// The study of a run: named as its folder, with the spec's directions and objective names.
pub fn study_header(run_dir: &Path, info: &RunInfo, spec: &ExperimentSpec, script_hash: &str) -> StudyHeader {
    StudyHeader {
        name: study_name(run_dir, &info.name),
        directions: spec.directions(),
        metric_names: spec.objectives.iter().map(|o| o.name.clone()).collect(),
        user_attrs: vec![
            ("script_path".into(), json!(info.script_path)),
            ("script_hash".into(), json!(script_hash)),
            ("dataset".into(), json!(spec.dataset.name.to_string())),
            ("reference_point".into(), json!(spec.reference_point)),
            (RUN_DIR_ATTR.into(), json!(absolute(run_dir))),
            ("xnas_version".into(), json!(info.xnas_version)),
        ],
    }
}

/// The hypervolume of the non-dominated points among `values`, from the spec's reference point.
fn hypervolume(values: &[Vec<f64>], spec: &ExperimentSpec) -> Option<f64> {
    let directions = spec.directions();
    let front: Vec<Vec<f64>> = xnas_moo::non_dominated(values, &directions)
        .ok()?
        .into_iter()
        .map(|i| xnas_moo::to_minimisation(&values[i], &directions))
        .collect();
    xnas_hv::hypervolume(&front, &xnas_moo::to_minimisation(&spec.reference_point, &directions)).ok()
}

/// Each candidate's latest evaluation, in candidate order; those still queued are left out (their
/// trial starts when they do).
fn latest_per_candidate(store: &Store) -> Result<Vec<StoredEvaluation>, StoreError> {
    let mut latest: HashMap<u64, StoredEvaluation> = HashMap::new();
    for e in store.evaluations(None)? {
        latest.insert(e.candidate, e);
    }
    let mut latest: Vec<StoredEvaluation> = latest.into_values().filter(|e| e.status != EvalStatus::Queued).collect();
    latest.sort_by_key(|e| e.candidate);
    Ok(latest)
}

/// The outcome the store holds for an evaluation, with `scores` (by evaluation id; a reused
/// evaluation falls back to the one it reused).
fn stored_outcome(e: &StoredEvaluation, scores: &HashMap<i64, Result<Vec<f64>, String>>) -> Outcome {
    match e.status {
        EvalStatus::Queued | EvalStatus::Running => Outcome::Running,
        EvalStatus::Failed => Outcome::Failed(e.error.clone().unwrap_or_else(|| "failed".into())),
        EvalStatus::Done => {
            if let Some(record) = e.record.as_ref().filter(|r| r.status == RecordStatus::Failed) {
                return Outcome::Failed(record.error.clone().unwrap_or_else(|| "training failed".into()));
            }
            match scores.get(&e.id).or_else(|| e.reused_from.and_then(|from| scores.get(&from))) {
                Some(Ok(values)) => Outcome::Scored(values.clone()),
                Some(Err(error)) => Outcome::Failed(format!("scoring failed: {error}")),
                None => Outcome::Failed("not scored under the latest script version".into()),
            }
        }
    }
}

/// A finished training that no script version has scored yet (the run stopped between the
/// store's write of its record and the scoring).
fn unscored(e: &StoredEvaluation, scores: &HashMap<i64, Result<Vec<f64>, String>>) -> bool {
    e.status == EvalStatus::Done
        && e.record.as_ref().is_some_and(|r| r.status != RecordStatus::Failed)
        && scores.get(&e.id).or_else(|| e.reused_from.and_then(|from| scores.get(&from))).is_none()
}

fn scores_of(store: &Store, version: i64) -> Result<HashMap<i64, Result<Vec<f64>, String>>, StoreError> {
    Ok(store.scores(version)?.into_iter().map(|s| (s.evaluation, s.result)).collect())
}

/// Writes the run in `run_dir` as a fresh Optuna journal at `file` (replacing it whole, as one
/// rename): its study and one trial per candidate, with values under the latest script version.
pub fn export_journal(run_dir: &Path, file: &Path) -> Result<ExportSummary, OptunaError> {
    let store = Store::open_read_only(run_dir)?;
    let info = store.run()?;
    let version = store.latest_script_version()?.ok_or_else(|| OptunaError::NoScript(run_dir.to_path_buf()))?;
    let spec: ExperimentSpec = serde_json::from_value(version.config.clone())?;
    let scores = scores_of(&store, version.id)?;
    // The journal leaves the WordNet attribute out without WordNet; the report says why.
    let wordnet = spec.dataset.label_similarity().ok();
    let trials: Vec<TrialEntry> = latest_per_candidate(&store)?
        .iter()
        .map(|e| trial_entry(e, &stored_outcome(e, &scores), wordnet.as_ref()))
        .collect();
    let mut header = study_header(run_dir, &info, &spec, &version.hash);
    let complete: Vec<Vec<f64>> = trials.iter().filter_map(|t| t.values.clone()).collect();
    header.user_attrs.push(("hypervolume".into(), json!(hypervolume(&complete, &spec))));
    check_replaceable(file, run_dir)?;
    let staged = StagedFile::new("--optuna", file)?;
    let mut journal = Journal::open(staged.path())?;
    let study = journal.ensure_study(&header)?;
    journal.append_with(|_, worker| trials.iter().map(|t| create_trial_op(worker, study, t)).collect())?;
    staged.commit("--optuna")?;
    let count = |state| trials.iter().filter(|t| t.state == state).count();
    Ok(ExportSummary {
        study: header.name,
        trials: trials.len(),
        complete: count(TrialState::Complete),
        failed: count(TrialState::Fail),
        running: count(TrialState::Running),
    })
}

/// Refuses an export's `file` when replacing it could lose anything (see `crate::output`): a
/// path inside a run folder or not a plain file, a file that is no Optuna journal, a journal
/// holding a study of another run or one xnas did not write, or a journal in use — by a run
/// that is running now, or by a writer holding its lock.
fn check_replaceable(file: &Path, run_dir: &Path) -> Result<(), OptunaError> {
    check_output_file("--optuna", file, false, |_| Ok(()))?;
    if std::fs::metadata(file).map_or(true, |m| m.len() == 0) {
        return Ok(());
    }
    let not_ours =
        |why: String| OptunaError::Output(OutputError::NotOurs { what: "--optuna".into(), path: file.into(), why });
    let replay = Journal::read(file).map_err(|e| match e {
        JournalError::Unreadable { line, reason, .. } => not_ours(format!(
            "it is not an Optuna journal (line {line}: {reason}), and an export replaces the whole file"
        )),
        other => not_ours(format!("an export would replace it whole, and it cannot be read as a journal: {other}")),
    })?;
    let ours = absolute(run_dir);
    for (study, name) in replay.living_studies() {
        let owner = replay.study_user_attr(study, RUN_DIR_ATTR).and_then(Value::as_str).map(PathBuf::from);
        match owner {
            None => {
                return Err(not_ours(format!(
                    "its study {name:?} was not written by xnas, and an export replaces the whole file"
                )))
            }
            Some(other) if other != ours => {
                return Err(not_ours(format!(
                    "its study {name:?} is the run {}'s, and an export replaces the whole file",
                    other.display()
                )))
            }
            Some(owner) => {
                if let Some(holder) = RunLock::holder(&owner) {
                    return Err(not_ours(format!(
                        "the run {} is running now ({holder}) and may be appending to it; export to another file, \
                         or once the run has finished",
                        owner.display()
                    )));
                }
            }
        }
    }
    let mut lock = file.as_os_str().to_owned();
    lock.push(LOCK_SUFFIX);
    if std::fs::symlink_metadata(PathBuf::from(&lock)).is_ok() {
        return Err(not_ours(format!("a writer holds its lock {} right now", PathBuf::from(lock).display())));
    }
    Ok(())
}

/// Refuses, before a run starts, a journal at `path` that xnas cannot extend for the run in
/// `run_dir` (created empty if missing): one inside a run folder, not a plain file, or not a
/// journal of this run's format.
pub fn check_journal(path: &Path, run_dir: &Path) -> Result<(), OptunaError> {
    check_live_path(path)?;
    let journal = Journal::open(path)?;
    let name = study_name(run_dir, "");
    match journal.replay().study(&name) {
        Some(study) => same_run(&journal, study, &name, run_dir),
        None => Ok(()),
    }
}

/// Two runs in folders of the same name must not share one study (their candidate ids collide).
fn same_run(journal: &Journal, study: usize, name: &str, run_dir: &Path) -> Result<(), OptunaError> {
    let ours = json!(absolute(run_dir));
    match journal.replay().study_user_attr(study, RUN_DIR_ATTR).filter(|v| **v != ours) {
        Some(other) => Err(OptunaError::OtherRun {
            path: journal.path().to_path_buf(),
            study: name.to_string(),
            other: other.as_str().map_or_else(|| other.to_string(), str::to_string),
        }),
        None => Ok(()),
    }
}

/// A live journal never goes inside a run folder (it would mix with the run's own files, or
/// append to its store) nor through a symlink or special file.
fn check_live_path(path: &Path) -> Result<(), OptunaError> {
    Ok(check_output_file("--optuna", path, false, |_| Ok(()))?)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A run's study is named as its folder.
fn study_name(run_dir: &Path, run_name: &str) -> String {
    run_dir.file_name().map_or_else(|| run_name.to_string(), |n| n.to_string_lossy().into_owned())
}

/// The journal a running search appends to: a trial created RUNNING when a candidate's job
/// starts, finished when it is scored, and the study's hypervolume at every generation.
pub struct LiveJournal {
    journal: Journal,
    study: usize,
    wordnet: Option<Vec<Vec<f64>>>,
}

impl LiveJournal {
    /// Opens (or creates) the journal at `path` for the run in `run_dir`, refusing one xnas cannot
    /// extend, and catches up with the store: every candidate that finished while the journal
    /// was not written (a crash between the store's write and the journal's) gets its trial.
    pub fn open(path: &Path, run_dir: &Path, store: &Store, spec: &ExperimentSpec) -> Result<LiveJournal, OptunaError> {
        let info = store.run()?;
        let versions = store.script_versions()?;
        let hash = versions.last().map(|v| v.hash.clone()).unwrap_or_default();
        check_live_path(path)?;
        let mut journal = Journal::open(path)?;
        let header = study_header(run_dir, &info, spec, &hash);
        let study = journal.ensure_study(&header)?;
        same_run(&journal, study, &header.name, run_dir)?;
        let mut live = LiveJournal { journal, study, wordnet: spec.dataset.label_similarity().ok() };
        // Each evaluation as scored last, by whichever script version that was.
        let mut scores = HashMap::new();
        for version in &versions {
            scores.extend(scores_of(store, version.id)?);
        }
        for e in latest_per_candidate(store)? {
            let outcome = stored_outcome(&e, &scores);
            // Interrupted by the stop being resumed (its last attempt, or queued without one):
            // the candidate is asked and run again, and that finishes its trial.
            let interrupted = e.status == EvalStatus::Failed
                && e.reused_from.is_none()
                && store.attempts(e.id)?.last().is_none_or(|a| a.outcome == AttemptOutcome::Interrupted);
            // Trained but stopped before it was scored: the resumed run scores it, and that
            // finishes its trial (written now, it would stay FAIL: Optuna changes no finished trial).
            if outcome != Outcome::Running && !interrupted && !unscored(&e, &scores) {
                live.write(&e, &outcome)?;
            }
        }
        Ok(live)
    }

    /// A candidate was scored (or failed): its trial finished with the values of now.
    pub fn finished(&mut self, e: &StoredEvaluation, evaluation: &Evaluation) -> Result<(), OptunaError> {
        self.write(e, &Outcome::from(evaluation))
    }

    fn write(&mut self, e: &StoredEvaluation, outcome: &Outcome) -> Result<(), OptunaError> {
        let (study, trial) = (self.study, trial_entry(e, outcome, self.wordnet.as_ref()));
        self.journal.append_with(|replay, worker| match replay.trial(study, e.candidate) {
            None => vec![create_trial_op(worker, study, &trial)],
            Some(known) if !known.state.is_finished() => finish_trial_ops(worker, known.id, &trial),
            // Optuna takes no change to a finished trial.
            Some(_) => Vec::new(),
        })?;
        Ok(())
    }

    /// A candidate's job started: its trial RUNNING, unless the journal holds it already (left
    /// running by a crash, or finished).
    pub fn started(&mut self, store: &Store, candidate: u64) -> Result<(), OptunaError> {
        let Some(e) = store.evaluations_of_candidate(candidate)?.pop() else { return Ok(()) };
        let (study, trial) = (self.study, trial_entry(&e, &Outcome::Running, self.wordnet.as_ref()));
        self.journal.append_with(|replay, worker| match replay.trial(study, candidate) {
            Some(_) => Vec::new(),
            None => vec![create_trial_op(worker, study, &trial)],
        })?;
        Ok(())
    }

    /// The search was told a candidate's result: its trial finished with the values of now.
    pub fn told(&mut self, store: &Store, candidate: u64, result: &Evaluation) -> Result<(), OptunaError> {
        match store.evaluations_of_candidate(candidate)?.pop() {
            Some(e) => self.finished(&e, result),
            None => Ok(()),
        }
    }

    /// A generation was saved: the study's hypervolume of now.
    pub fn generation_saved(&mut self, hypervolume: Option<f64>) -> Result<(), OptunaError> {
        let study = self.study;
        self.journal
            .append_with(|_, worker| vec![set_study_user_attr_op(worker, study, "hypervolume", &json!(hypervolume))])?;
        Ok(())
    }

    /// The journal's file.
    pub fn path(&self) -> &Path {
        self.journal.path()
    }
}
