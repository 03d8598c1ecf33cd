//! The trained models a run keeps, under `models/<candidate id>/` in the run folder, read: which
//! candidates have one, and the folder of one (`xnas export`). A model folder holds what
//! `xnas eval --save` writes (`xnas::evaluate::save_model`: weights, record and input
//! normalisation; the same files whoever writes them) and is complete once its record is there.
//!
//! The candidate id is the one the report, the run's log, `xnas status`, `xnas export --id` and
//! Optuna show. Runs made before that named the folders by evaluation id (the store's row, one
//! per training of a candidate): the store says which naming a run uses
//! ([`Store::models_by_candidate`]), and such a run is read with its folders as they are. A
//! reused evaluation has no model of its own: its folder is the one of the evaluation it repeats.
//! Which models a run keeps, and their tidying, is the search loop's (`crate::run`'s `ModelKeeper`).

use std::path::{Path, PathBuf};

use super::RunDir;
use crate::store::{EvalStatus, Store, StoreError};

/// The files of a saved model folder; the saver writes [`RECORD_FILE`] last, so a folder with it
/// is complete.
pub const WEIGHTS_FILE: &str = "weights.safetensors";
pub const RECORD_FILE: &str = "record.json";
pub const INPUT_FILE: &str = "model.json";

/// Marks a staging folder a save left unfinished: `.NAME.partial-PID` beside the folder `NAME`.
pub const STAGING_MARK: &str = ".partial-";

/// Whether a file name is a staging folder left by a save that did not finish.
pub fn is_staging(name: &str) -> bool {
    name.starts_with('.') && name.contains(STAGING_MARK)
}

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
pub(crate) fn folder_name(by_candidate: bool, evaluation: i64, candidate: u64) -> i64 {
    if by_candidate {
        candidate as i64
    } else {
        evaluation
    }
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

/// A finished evaluation and the model folder of the network it trained, or reused.
struct Finished {
    evaluation: i64,
    candidate: u64,
    folder: Option<PathBuf>,
}

impl RunDir {
    /// The folder of the kept model of `id`; a reused evaluation gives the model of the one it
    /// repeats. An error names the candidates that have kept models.
    pub fn kept_model(&self, id: ModelId) -> Result<PathBuf, ModelsError> {
        // A candidate asked again (a resumed run) has several rows: its newest says what it is now.
        let found = self.finished()?.into_iter().rev().find(|e| match id {
            ModelId::Candidate(c) => e.candidate == c,
            ModelId::Evaluation(n) => e.evaluation == n,
        });
        match found.and_then(|e| e.folder).filter(|dir| dir.join(RECORD_FILE).is_file()) {
            Some(dir) => Ok(dir),
            None => Err(ModelsError::NotKept { id, run_dir: self.path().to_path_buf(), kept: self.kept_candidates()? }),
        }
    }

    /// The candidates whose model the run keeps, ascending, each once (a candidate a resumed run
    /// asked again, or one that reused another's training, has several rows).
    pub fn kept_candidates(&self) -> Result<Vec<u64>, ModelsError> {
        let mut candidates: Vec<u64> = self
            .finished()?
            .into_iter()
            .filter(|e| e.folder.as_ref().is_some_and(|dir| dir.join(RECORD_FILE).is_file()))
            .map(|e| e.candidate)
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        Ok(candidates)
    }

    /// The run's finished evaluations in the store's order, each with its model folder.
    fn finished(&self) -> Result<Vec<Finished>, ModelsError> {
        let store = Store::open_read_only(self.path())?;
        let by_candidate = store.models_by_candidate()?;
        let done = store.evaluations(Some(EvalStatus::Done))?;
        let candidate_of: std::collections::HashMap<i64, u64> = done.iter().map(|e| (e.id, e.candidate)).collect();
        let models = self.models();
        Ok(done
            .iter()
            .map(|e| {
                let origin = e.reused_from.unwrap_or(e.id);
                let folder = candidate_of
                    .get(&origin)
                    .map(|&trained| models.join(folder_name(by_candidate, origin, trained).to_string()));
                Finished { evaluation: e.id, candidate: e.candidate, folder }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asking_for_a_model_that_is_not_kept_names_the_kept_ones() {
        let message = no_model_message(ModelId::Candidate(5), Path::new("runs/x"), &[2, 3]);
        assert!(message.contains("candidate 5") && message.contains("2, 3") && message.contains("--keep-models all"));
        let message = no_model_message(ModelId::Evaluation(5), Path::new("runs/x"), &[]);
        assert!(message.contains("evaluation #5") && message.contains("keeps none"), "{message}");
    }
}
