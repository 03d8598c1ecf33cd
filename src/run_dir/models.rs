//! The trained models a run keeps under `models/<candidate id>/`, read: the folder of one
//! (`xnas export`) and which candidates have one; and the files of a saved model folder, whoever
//! saves it (`xnas::evaluate::save_model`). Runs made before named the folders by evaluation id
//! (the store's row, one per training of a candidate): the store says which naming a run uses
//! ([`Store::models_by_candidate`]). A reused evaluation's folder is the one of the evaluation it
//! repeats. Which models a run keeps is the search loop's (`crate::run`'s `ModelKeeper`).

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

/// A finished evaluation of a run, and the model folder of the network it trained or reused.
pub(crate) struct Finished {
    pub evaluation: i64,
    /// The evaluation that trained its network: itself, or the one it reused.
    pub origin: i64,
    pub candidate: u64,
    /// The model folder's name; none when the training it reused is not finished.
    pub folder: Option<i64>,
}

/// The finished evaluations in `store`, in its order, each with its model folder's name.
pub(crate) fn finished(store: &Store) -> Result<Vec<Finished>, StoreError> {
    let by_candidate = store.models_by_candidate()?;
    let done = store.evaluations(Some(EvalStatus::Done))?;
    let candidate_of: std::collections::HashMap<i64, u64> = done.iter().map(|e| (e.id, e.candidate)).collect();
    Ok(done
        .iter()
        .map(|e| {
            let origin = e.reused_from.unwrap_or(e.id);
            let folder = candidate_of.get(&origin).map(|&trained| folder_name(by_candidate, origin, trained));
            Finished { evaluation: e.id, origin, candidate: e.candidate, folder }
        })
        .collect())
}

impl RunDir {
    /// The folder of the kept model of `id`; a reused evaluation gives the model of the one it
    /// repeats. An error names the candidates that have kept models.
    pub fn kept_model(&self, id: ModelId) -> Result<PathBuf, ModelsError> {
        // A candidate asked again (a resumed run) has several rows: its newest says what it is now.
        let found = finished(&Store::open_read_only(self.path())?)?.into_iter().rev().find(|e| match id {
            ModelId::Candidate(c) => e.candidate == c,
            ModelId::Evaluation(n) => e.evaluation == n,
        });
        match found.and_then(|e| self.complete_model(&e)) {
            Some(dir) => Ok(dir),
            None => Err(ModelsError::NotKept { id, run_dir: self.path().to_path_buf(), kept: self.kept_candidates()? }),
        }
    }

    /// The candidates whose model the run keeps, ascending, each once (a candidate a resumed run
    /// asked again, or one that reused another's training, has several rows).
    pub fn kept_candidates(&self) -> Result<Vec<u64>, ModelsError> {
        let finished = finished(&Store::open_read_only(self.path())?)?;
        let mut candidates: Vec<u64> =
            finished.iter().filter(|e| self.complete_model(e).is_some()).map(|e| e.candidate).collect();
        candidates.sort_unstable();
        candidates.dedup();
        Ok(candidates)
    }

    /// The model folder of `evaluation`, when it is there whole.
    fn complete_model(&self, evaluation: &Finished) -> Option<PathBuf> {
        let dir = self.file(RunDir::MODELS).join(evaluation.folder?.to_string());
        dir.join(RECORD_FILE).is_file().then_some(dir)
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
