//! The trained models a run keeps, written and tidied (where they are and how they are read:
//! [`crate::run_dir`]'s `models`).
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

use crate::run_dir::{finished, folder_name, is_staging, ModelsError, RunDir, RECORD_FILE};
use crate::script::KeepModels;
use crate::store::Store;

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
        let models = RunDir::new(run_dir).file(RunDir::MODELS);
        let dir = std::path::absolute(&models).unwrap_or(models);
        let mut keeper = ModelKeeper { dir, by_candidate: store.models_by_candidate()?, scored: BTreeMap::new() };
        keeper.reload(store, objectives)?;
        let trained = finished(store)?.into_iter().filter(|e| e.origin == e.evaluation);
        let finished: std::collections::HashSet<i64> = trained.filter_map(|e| e.folder).collect();
        for (name, path) in keeper.entries()? {
            let stale = match name.parse::<i64>() {
                Ok(id) => !finished.contains(&id) || !path.join(RECORD_FILE).is_file(),
                Err(_) => is_staging(&name),
            };
            if stale {
                remove(&path)?;
            }
        }
        Ok(keeper)
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
        for e in finished(store)? {
            let Some(folder) = e.folder else { continue };
            if let Some(values) = newest.get(&e.evaluation).or_else(|| newest.get(&e.origin)) {
                self.scored.entry(folder).or_insert_with(|| values.clone());
            }
        }
        Ok(())
    }

    /// Notes the objectives of a finished evaluation that trained a network (`evaluation` of
    /// `candidate`).
    pub fn scored(&mut self, evaluation: i64, candidate: u64, objectives: Vec<f64>) {
        self.scored.insert(folder_name(self.by_candidate, evaluation, candidate), objectives);
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
}
