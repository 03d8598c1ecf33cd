//! The trained models a run keeps, under `models/<candidate id>/` in the run folder (weights,
//! record and input normalisation, as `xnas eval --save` writes them; `xnas export` reads them).
//! The candidate id is the one the report, the run's log, `xnas status`, `xnas export --id` and
//! Optuna show. Runs made before that named the folders by evaluation id (the store's row, one
//! per training of a candidate): the store says which naming a run uses ([`Store::models_by_candidate`]),
//! and such a run is read, and continued when resumed, with its folders as they are.
//!
//! Which ones is the run's [`KeepModels`] setting: with `front`, those of the evaluations on the
//! run's current front — non-dominated among all its finished evaluations in the search
//! objectives — so a model that falls off the front is deleted; with `all`, every trained one;
//! with `none`, no new one (folders already there are left alone). Each evaluation's job names
//! its folder and the child writes it whole or not at all (a staging folder renamed into place).
//!
//! The front is computed here from the objectives the run scored ([`ModelKeeper::scored`]),
//! seeded from the store when the run starts, so crash safety needs nothing of its own: on
//! (re)start, staging leftovers and folders of evaluations the store does not hold as finished
//! (a model written just before a crash, before its record was committed) are removed, and the
//! front is recomputed from the store. While the run goes on, folders of evaluations it has not
//! scored yet are never touched: they are still in flight. A reused evaluation has no model of
//! its own: its folder is the one of the evaluation it repeats. Records taken from another run
//! (`--from`) have no model here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use xnas_moo::Direction;

use crate::script::KeepModels;
use crate::store::{EvalStatus, Store, StoreError};

/// The folder of kept models in a run folder.
pub const MODELS_DIR: &str = "models";

/// The file a saved model folder is complete with: the saver writes it last (see
/// `xnas::evaluate::save_model`).
const RECORD_FILE: &str = "record.json";

/// Marks a staging folder a save left unfinished: `.NAME.partial-PID`.
const STAGING_MARK: &str = ".partial-";

/// Why kept models could not be read or tidied.
#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}: {message}", path.display())]
    Io { path: PathBuf, message: String },
    /// `kept`: the candidates (the report's ids) that have a kept model.
    #[error("{}", no_model_message(*id, run_dir, kept))]
    NotKept { id: ModelId, run_dir: PathBuf, kept: Vec<u64> },
}

fn no_model_message(id: ModelId, run_dir: &Path, kept: &[u64]) -> String {
    let kept = if kept.is_empty() {
        "it keeps none".to_string()
    } else {
        let ids: Vec<String> = kept.iter().map(u64::to_string).collect();
        format!(
            "it keeps the models of candidate(s) {} (the ids the report, the run's log and `xnas status` show; \
             export one with --id N)",
            ids.join(", ")
        )
    };
    format!(
        "the run in {} keeps no model of {id}: {kept}. A run keeps the models of its front \
         (`--keep-models front`, the default); run with `--keep-models all` (or `search.keep_models: \"all\"`) \
         to keep every one",
        run_dir.display()
    )
}

/// The name of the model folder of the network that evaluation `evaluation` of candidate
/// `candidate` trained: the candidate id, or in a run made before, the evaluation id.
fn folder_name(by_candidate: bool, evaluation: i64, candidate: u64) -> i64 {
    if by_candidate {
        candidate as i64
    } else {
        evaluation
    }
}

/// The kept models of a run: which to keep, and the scored points their front is computed from.
#[derive(Debug)]
pub struct ModelKeeper {
    dir: PathBuf,
    /// Whether folders are named by candidate id (else by evaluation id: a run made before).
    by_candidate: bool,
    /// Objectives (under the current script version) of each finished, scored evaluation that
    /// trained a network, by the name of its model folder.
    scored: BTreeMap<i64, Vec<f64>>,
}

impl ModelKeeper {
    /// The kept models of the run in `run_dir` (its store `store`), tidied after whatever
    /// stopped the run before: staging leftovers and folders of evaluations that are not
    /// finished in the store are removed, and the scored points are read from the store.
    pub fn open(run_dir: &Path, store: &Store, objectives: usize) -> Result<ModelKeeper, ModelsError> {
        let dir = std::path::absolute(run_dir.join(MODELS_DIR)).unwrap_or_else(|_| run_dir.join(MODELS_DIR));
        let mut keeper = ModelKeeper { dir, by_candidate: store.models_by_candidate()?, scored: BTreeMap::new() };
        keeper.reload(store, objectives)?;
        let finished: std::collections::HashSet<i64> = store
            .evaluations(Some(EvalStatus::Done))?
            .into_iter()
            .filter(|e| e.reused_from.is_none())
            .map(|e| keeper.folder_name(e.id, e.candidate))
            .collect();
        for (name, path) in keeper.entries()? {
            let stale = match name.parse::<i64>() {
                Ok(id) => !finished.contains(&id) || !path.join(RECORD_FILE).is_file(),
                Err(_) => name.starts_with('.') && name.contains(STAGING_MARK),
            };
            if stale {
                remove(&path)?;
            }
        }
        Ok(keeper)
    }

    /// The folder name of the network evaluation `evaluation` of `candidate` trains.
    fn folder_name(&self, evaluation: i64, candidate: u64) -> i64 {
        folder_name(self.by_candidate, evaluation, candidate)
    }

    /// Where the jobs write their models, apart from which the run keeps (the run loop's).
    pub fn dirs(&self) -> ModelDirs {
        ModelDirs { dir: self.dir.clone(), by_candidate: self.by_candidate }
    }

    /// Reads the scored points again from the store (after the archive was re-scored): each
    /// trained evaluation's objectives under the newest script version that scored it with
    /// `objectives` values (a version that changed nothing the objectives read scores nothing anew).
    pub fn reload(&mut self, store: &Store, objectives: usize) -> Result<(), ModelsError> {
        let mut versions = store.script_versions()?;
        versions.reverse();
        let mut newest: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
        for version in versions {
            for score in store.scores(version.id)? {
                if let Ok(values) = score.result {
                    if values.len() == objectives {
                        newest.entry(score.evaluation).or_insert(values);
                    }
                }
            }
        }
        self.scored.clear();
        let done = store.evaluations(Some(EvalStatus::Done))?;
        let candidate_of: std::collections::HashMap<i64, u64> = done.iter().map(|e| (e.id, e.candidate)).collect();
        for e in &done {
            let origin = e.reused_from.unwrap_or(e.id);
            let Some(&origin_candidate) = candidate_of.get(&origin) else { continue };
            if let Some(values) = newest.get(&e.id).or_else(|| newest.get(&origin)) {
                self.scored.entry(self.folder_name(origin, origin_candidate)).or_insert_with(|| values.clone());
            }
        }
        Ok(())
    }

    /// Notes the objectives of a finished evaluation that trained a network (`evaluation` of
    /// `candidate`).
    pub fn scored(&mut self, evaluation: i64, candidate: u64, objectives: Vec<f64>) {
        self.scored.insert(self.folder_name(evaluation, candidate), objectives);
    }

    /// The scored evaluations on the front: non-dominated in `directions`.
    pub fn front(&self, directions: &[Direction]) -> Vec<i64> {
        let ids: Vec<i64> = self.scored.keys().copied().collect();
        let points: Vec<&Vec<f64>> = self.scored.values().collect();
        match xnas_moo::non_dominated(&points, directions) {
            Ok(front) => front.into_iter().map(|i| ids[i]).collect(),
            // Points that cannot be ranked (a length mismatch after an objective change) evict nothing.
            Err(_) => ids,
        }
    }

    /// Deletes the models `policy` does not keep among the scored evaluations' (never one of an
    /// evaluation in flight); returns the folder names of the models kept.
    pub fn evict(&self, policy: KeepModels, directions: &[Direction]) -> Result<Vec<i64>, ModelsError> {
        let front = (policy == KeepModels::Front).then(|| self.front(directions));
        let mut kept = Vec::new();
        for (name, path) in self.entries()? {
            let Ok(id) = name.parse::<i64>() else { continue };
            let off_front = front.as_ref().is_some_and(|f| !f.contains(&id)) && self.scored.contains_key(&id);
            if off_front {
                remove(&path)?;
            } else {
                kept.push(id);
            }
        }
        kept.sort_unstable();
        Ok(kept)
    }

    fn entries(&self) -> Result<Vec<(String, PathBuf)>, ModelsError> {
        entries(&self.dir)
    }
}

/// Where the model of each evaluation of a run goes.
#[derive(Debug, Clone)]
pub struct ModelDirs {
    dir: PathBuf,
    by_candidate: bool,
}

impl ModelDirs {
    /// The folder of the model of evaluation `evaluation` of `candidate` (an absolute path when
    /// the run folder has one).
    pub fn of(&self, evaluation: i64, candidate: u64) -> PathBuf {
        self.dir.join(folder_name(self.by_candidate, evaluation, candidate).to_string())
    }
}

/// The folder names of the models the run in `run_dir` keeps (complete folders only): candidate
/// ids, or evaluation ids in a run made before (see the module docs).
pub fn kept_models(run_dir: &Path) -> Result<Vec<i64>, ModelsError> {
    let mut ids: Vec<i64> = entries(&run_dir.join(MODELS_DIR))?
        .into_iter()
        .filter(|(_, path)| path.join(RECORD_FILE).is_file())
        .filter_map(|(name, _)| name.parse().ok())
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

/// Which model to look up: a candidate, as the report, the run's log and `models/` number them,
/// or an evaluation (the store's row; the log's `#N` of runs made before).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelId {
    Candidate(u64),
    Evaluation(i64),
}

impl std::fmt::Display for ModelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelId::Candidate(id) => write!(f, "candidate {id}"),
            ModelId::Evaluation(id) => write!(f, "evaluation #{id}"),
        }
    }
}

/// The folder of the kept model of `id` in the run in `run_dir`; a reused evaluation gives the
/// model of the one it repeats. An error names the candidates that have kept models.
pub fn kept_model(run_dir: &Path, id: ModelId) -> Result<PathBuf, ModelsError> {
    let store = Store::open_read_only(run_dir)?;
    let by_candidate = store.models_by_candidate()?;
    let done = store.evaluations(Some(EvalStatus::Done))?;
    // A candidate asked again (a resumed run) has several rows: its newest says what it is now.
    let found = done.iter().rev().find(|e| match id {
        ModelId::Candidate(c) => e.candidate == c,
        ModelId::Evaluation(n) => e.id == n,
    });
    if let Some(evaluation) = found {
        let origin = evaluation.reused_from.unwrap_or(evaluation.id);
        if let Some(trained) = done.iter().find(|e| e.id == origin) {
            let dir = run_dir.join(MODELS_DIR).join(folder_name(by_candidate, origin, trained.candidate).to_string());
            if dir.join(RECORD_FILE).is_file() {
                return Ok(dir);
            }
        }
    }
    Err(ModelsError::NotKept { id, run_dir: run_dir.to_path_buf(), kept: kept_candidates(run_dir)? })
}

/// The candidates whose model the run in `run_dir` keeps, ascending, each once (a candidate a
/// resumed run asked again, or one that reused another's training, has several rows).
pub fn kept_candidates(run_dir: &Path) -> Result<Vec<u64>, ModelsError> {
    let kept = kept_models(run_dir)?;
    let store = Store::open_read_only(run_dir)?;
    let by_candidate = store.models_by_candidate()?;
    let done = store.evaluations(Some(EvalStatus::Done))?;
    let candidate_of: std::collections::HashMap<i64, u64> = done.iter().map(|e| (e.id, e.candidate)).collect();
    let mut candidates: Vec<u64> = done
        .iter()
        .filter(|e| {
            let origin = e.reused_from.unwrap_or(e.id);
            candidate_of.get(&origin).is_some_and(|&c| kept.contains(&folder_name(by_candidate, origin, c)))
        })
        .map(|e| e.candidate)
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    Ok(candidates)
}

fn entries(dir: &Path) -> Result<Vec<(String, PathBuf)>, ModelsError> {
    let read = match std::fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ModelsError::Io { path: dir.to_path_buf(), message: e.to_string() }),
    };
    let mut out = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| ModelsError::Io { path: dir.to_path_buf(), message: e.to_string() })?;
        out.push((entry.file_name().to_string_lossy().into_owned(), entry.path()));
    }
    Ok(out)
}

fn remove(path: &Path) -> Result<(), ModelsError> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ModelsError::Io { path: path.to_path_buf(), message: e.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keeper(dir: &Path, points: &[(i64, [f64; 2])]) -> ModelKeeper {
        let mut keeper = ModelKeeper { dir: dir.to_path_buf(), by_candidate: true, scored: BTreeMap::new() };
        for (id, p) in points {
            keeper.scored(100 + id, *id as u64, p.to_vec());
        }
        keeper
    }

    fn saved(dir: &Path, id: i64) {
        std::fs::create_dir_all(dir.join(id.to_string())).unwrap();
        std::fs::write(dir.join(id.to_string()).join(RECORD_FILE), "{}").unwrap();
    }

    #[test]
    fn front_keeps_the_non_dominated_and_never_touches_models_in_flight() {
        let dir = std::env::temp_dir().join(format!("xnas-models-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let max = [Direction::Maximise, Direction::Maximise];
        // 2 dominates 1; 3 trades off with 2; 4 is in flight (not scored yet).
        let k = keeper(&dir, &[(1, [0.5, 0.1]), (2, [0.6, 0.2]), (3, [0.4, 0.9])]);
        assert_eq!(k.front(&max), [2, 3]);
        for id in [1, 2, 3, 4] {
            saved(&dir, id);
        }
        assert_eq!(k.evict(KeepModels::All, &max).unwrap(), [1, 2, 3, 4]);
        assert_eq!(k.evict(KeepModels::Front, &max).unwrap(), [2, 3, 4]);
        assert!(!dir.join("1").exists());
        // A flipped direction changes the front.
        let mixed = [Direction::Maximise, Direction::Minimise];
        assert_eq!(k.front(&mixed), [1, 2]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn asking_for_a_model_that_is_not_kept_names_the_kept_ones() {
        let message = no_model_message(ModelId::Candidate(5), Path::new("runs/x"), &[2, 3]);
        assert!(message.contains("candidate 5") && message.contains("2, 3") && message.contains("--keep-models all"));
        let message = no_model_message(ModelId::Evaluation(5), Path::new("runs/x"), &[]);
        assert!(message.contains("evaluation #5") && message.contains("keeps none"), "{message}");
    }

    #[cfg(feature = "torch")]
    #[test]
    fn the_file_names_agree_with_the_saver() {
        assert_eq!(RECORD_FILE, crate::evaluate::RECORD_FILE);
        assert!(crate::evaluate::is_staging(&format!(".7{STAGING_MARK}123")));
    }
}
