//! `xnas run NEW_SCRIPT --from runs/OLD`: a new run that starts from an old run's finished
//! evaluations — the way forward from an edit a running search cannot take (another number of
//! objectives, another algorithm).
//!
//! The semantics: the old run's finished records seed the new run's reuse. Before the new run
//! starts, its objectives score every one of them (the dry run on real records: a NaN or an error
//! stops it before its folder exists). Then it searches as any run does, and whenever it proposes
//! a genome the old run trained under the same training configuration, that record is taken —
//! stored in the new run and re-scored under the new script — instead of training again. With the
//! old run's seed and population the first generation is the old one's, reused whole; later
//! generations follow the new objectives. Records under another training configuration are not
//! reused (they measured something else).
//!
//! The old run's folder is remembered in the new one (`from.json`), so `xnas resume` reuses
//! the same records; the old run itself is only read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::record::MeasurementRecord;
use crate::run_dir::RunDir;
use crate::store::{EvalStatus, Store, StoreError};

/// Why a run cannot start from another.
#[derive(Debug, thiserror::Error)]
pub enum FromError {
    #[error("--from {}: {source}", dir.display())]
    Store { dir: PathBuf, source: StoreError },
    #[error("--from {}: not an xnas run folder (it has no xnas.db)", .0.display())]
    NotARun(PathBuf),
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
}

/// The finished records of the run a run started from, by genome and training configuration.
#[derive(Debug, Default)]
pub struct Inherited {
    source: Option<PathBuf>,
    /// (compact genome, training hash) → (the old run's evaluation id, its record).
    records: HashMap<(String, String), (i64, MeasurementRecord)>,
}

impl Inherited {
    /// Reads the finished evaluations of the run in `old` (nothing when `old` is `None`).
    pub fn read(old: Option<&Path>) -> Result<Inherited, FromError> {
        let Some(old) = old else { return Ok(Inherited::default()) };
        if !RunDir::new(old).holds_run() {
            return Err(FromError::NotARun(old.to_path_buf()));
        }
        let store_error = |source| FromError::Store { dir: old.to_path_buf(), source };
        let store = Store::open(old).map_err(store_error)?;
        let mut records = HashMap::new();
        for e in store.evaluations(Some(EvalStatus::Done)).map_err(store_error)? {
            if let Some(record) = e.record {
                records.entry((e.genome.compact(), e.training_hash)).or_insert((e.id, record));
            }
        }
        let source = std::fs::canonicalize(old).unwrap_or_else(|_| old.to_path_buf());
        Ok(Inherited { source: Some(source), records })
    }

    /// The records, for the dry run of the new script on real records.
    pub fn records(&self) -> Vec<MeasurementRecord> {
        self.records.values().map(|(_, record)| record.clone()).collect()
    }

    /// The run these records come from.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// The old run's record of `genome` under `training_hash`, with its evaluation id there.
    pub fn find(&self, genome: &str, training_hash: &str) -> Option<(i64, &MeasurementRecord)> {
        self.records.get(&(genome.to_string(), training_hash.to_string())).map(|(id, record)| (*id, record))
    }

    /// What the new run takes from the old one, for its log; `None` when it starts from nothing.
    pub fn describe(&self, training_hash: &str) -> Option<String> {
        let source = self.source.as_ref()?;
        let reusable = self.records.keys().filter(|(_, hash)| hash == training_hash).count();
        Some(format!(
            "from {}: {} finished evaluation(s), re-scored under this script without retraining; {reusable} \
             trained under this training configuration are reused whenever the search proposes their genome, \
             {} trained under another must be trained again if proposed",
            source.display(),
            self.records.len(),
            self.records.len() - reusable
        ))
    }

    /// Remembers the old run in the new run's folder, for `xnas resume`.
    pub fn save(&self, run_dir: &Path) -> Result<(), FromError> {
        let Some(source) = &self.source else { return Ok(()) };
        let path = RunDir::new(run_dir).file(RunDir::FROM);
        let text = serde_json::to_string_pretty(&serde_json::json!({ "from": source })).expect("json");
        std::fs::write(&path, text).map_err(|e| FromError::File { path, message: e.to_string() })
    }

    /// The records of the run that the run in `run_dir` started from, if it did.
    pub fn load(run_dir: &Path) -> Result<Inherited, FromError> {
        let path = RunDir::new(run_dir).file(RunDir::FROM);
        let Ok(text) = std::fs::read_to_string(&path) else { return Ok(Inherited::default()) };
        let bad = |message: String| FromError::File { path: path.clone(), message };
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let old = value["from"].as_str().ok_or_else(|| bad("no \"from\" folder in it".into()))?;
        Inherited::read(Some(Path::new(old)))
    }
}
