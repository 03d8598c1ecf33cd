//! `xnas run SCRIPT --table RUN`: a search replayed from a table of measurements instead of
//! trained. The table is a run folder — usually an exhaustive search's (`search.algorithm
//! "exhaustive"`: every distinct cell of a space, trained once), but any run's store will do. Its
//! finished records are read by canonical cell: whatever genome the search proposes, the record of
//! the cell it is isomorphic to answers it.
//!
//! A table travels as one file too (`table_file.rs`, `xnas table export`), which `--table`
//! reads as it reads the folder.
//!
//! The rule for which records may answer is `--from`'s: those trained under the same training
//! configuration (the same training hash; the device and other execution settings do not count).
//! A cell the table holds only under another configuration is a miss whose error names the
//! settings that differ; a table with nothing under this configuration is refused before the run
//! starts, with the same list. The answering itself, on a simulated clock, is
//! [`crate::exec::ReplayExecutor`]'s.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use xnas_space::CanonicalForm;

use crate::exec::TableAnswer;
use crate::record::{EvalConfig, MeasurementRecord};
use crate::run_dir::RunDir;
use crate::script::{setting_kind, SettingKind};
use crate::store::{EvalStatus, Store, StoreError};

/// Why a table cannot be replayed from.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("--table {}: not an xnas run folder (it has no xnas.db) nor a table file; a table is a run \
             folder, e.g. of an exhaustive search (search.algorithm \"exhaustive\"), or the file \
             `xnas table export` writes", .0.display())]
    NotARun(PathBuf),
    #[error("table file {}: {message}", path.display())]
    File { path: PathBuf, message: String },
    #[error("--table {}: {source}", dir.display())]
    Store { dir: PathBuf, source: StoreError },
    #[error("--table {}: it has no finished evaluation to replay", .0.display())]
    Empty(PathBuf),
    #[error("--table {}: none of its {records} record(s) was trained under this script's training configuration, \
             so none can answer this search; {differences}. Set the script's training as the table's \
             (e.g. with --set), or build a table for this configuration (search.algorithm \"exhaustive\")",
            dir.display())]
    OtherTraining { dir: PathBuf, records: usize, differences: String },
}

/// A table read for one training configuration: the answers by canonical cell, and why the
/// cells it holds only under other configurations cannot answer.
#[derive(Debug, Default)]
pub struct Table {
    /// The table's folder or file, absolute where it can be resolved.
    pub dir: PathBuf,
    pub answers: HashMap<CanonicalForm, TableAnswer>,
    pub misses: HashMap<CanonicalForm, String>,
}

/// One finished evaluation of a table, from a run's store or a table file.
#[derive(Debug, Clone)]
pub struct TableEntry {
    /// Its id in the run it was trained in.
    pub evaluation: i64,
    pub genome: xnas_space::Genome,
    pub training_hash: String,
    pub record: MeasurementRecord,
}

/// The finished evaluations of the run in `dir` (with its absolute path), in id order.
pub fn store_entries(dir: &Path) -> Result<(PathBuf, Vec<TableEntry>), TableError> {
    if !RunDir::new(dir).holds_run() {
        return Err(TableError::NotARun(dir.to_path_buf()));
    }
    let store_error = |source| TableError::Store { dir: dir.to_path_buf(), source };
    let store = Store::open_read_only(dir).map_err(store_error)?;
    let entries = store
        .evaluations(Some(EvalStatus::Done))
        .map_err(store_error)?
        .into_iter()
        .filter_map(|e| {
            let record = e.record?;
            Some(TableEntry { evaluation: e.id, genome: e.genome, training_hash: e.training_hash, record })
        })
        .collect();
    Ok((std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()), entries))
}

impl Table {
    /// Reads the table at `path` — a run folder, or a file `xnas table export` wrote — for the
    /// evaluations trained under `training_hash` (the script's, whose configuration is
    /// `config`), one per canonical cell (the first stored).
    pub fn read(path: &Path, training_hash: &str, config: &EvalConfig) -> Result<Table, TableError> {
        let (source, entries) = if path.is_file() {
            let entries = cached_table_file(path)?;
            (std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()), entries.to_vec())
        } else {
            store_entries(path)?
        };
        let mut table = Table { dir: source, ..Table::default() };
        let mut elsewhere: HashMap<CanonicalForm, EvalConfig> = HashMap::new();
        let records = entries.len();
        for entry in entries {
            let form = entry.genome.canonical();
            if entry.training_hash == training_hash {
                let source = format!("{} #{}", table.dir.display(), entry.evaluation);
                table.answers.entry(form).or_insert(TableAnswer { record: entry.record, source });
            } else {
                elsewhere.entry(form).or_insert(entry.record.config);
            }
        }
        if table.answers.is_empty() {
            let Some(other) = elsewhere.values().next() else { return Err(TableError::Empty(path.to_path_buf())) };
            return Err(TableError::OtherTraining {
                dir: path.to_path_buf(),
                records,
                differences: describe_differences(other, config),
            });
        }
        for (form, other) in elsewhere {
            if !table.answers.contains_key(&form) {
                let why = format!(
                    "the table has it only under another training configuration; {}",
                    describe_differences(&other, config)
                );
                table.misses.insert(form, why);
            }
        }
        Ok(table)
    }

    /// Up to `limit` of the records that answer, spread over the table by canonical form, for
    /// the dry run of the script's objectives on real records: a whole table's thousands would
    /// cost a replay more than its search (an objective that fails on another record fails that
    /// candidate's scoring in the run, named as any scoring failure is).
    pub fn sample_records(&self, limit: usize) -> Vec<MeasurementRecord> {
        let mut forms: Vec<&CanonicalForm> = self.answers.keys().collect();
        forms.sort_by_cached_key(|form| form.to_string());
        let step = forms.len().div_ceil(limit.max(1)).max(1);
        forms.into_iter().step_by(step).map(|form| self.answers[form].record.clone()).collect()
    }
}

/// The entries of a table file, read once per process while the file stays the same (its path,
/// size and modification time): the seeds of a study (`--seeds`) replay from one read.
fn cached_table_file(path: &Path) -> Result<Arc<Vec<TableEntry>>, TableError> {
    type Key = (PathBuf, u64, Option<std::time::SystemTime>);
    static READ: Mutex<Option<(Key, Arc<Vec<TableEntry>>)>> = Mutex::new(None);
    let metadata =
        std::fs::metadata(path).map_err(|e| TableError::File { path: path.into(), message: e.to_string() })?;
    let key = (std::fs::canonicalize(path).unwrap_or_else(|_| path.into()), metadata.len(), metadata.modified().ok());
    let mut read = READ.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((cached, entries)) = read.as_ref() {
        if *cached == key {
            return Ok(entries.clone());
        }
    }
    let (_, entries) = super::table_file::read_table_file(path)?;
    let entries = Arc::new(entries);
    *read = Some((key, entries.clone()));
    Ok(entries)
}

/// The training settings (as a script names them: `training.epochs`, `dataset.train_subset`, …)
/// in which the table's configuration differs from the script's, execution settings (the device,
/// …) left out as the training hash leaves them out.
pub fn differences(table: &EvalConfig, script: &EvalConfig) -> Vec<String> {
    let as_map = |config: &EvalConfig| match serde_json::to_value(config).expect("an EvalConfig serialises") {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("an EvalConfig serialises as an object"),
    };
    let (table, script) = (as_map(table), as_map(script));
    let mut keys: Vec<&String> = table.keys().chain(script.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| setting_kind(&format!("training.{key}")) != SettingKind::Execution)
        .filter_map(|key| {
            let (ours, theirs) = (script.get(key.as_str()), table.get(key.as_str()));
            let text = |value: Option<&serde_json::Value>| value.map_or("unset".to_string(), |v| v.to_string());
            (ours != theirs).then(|| {
                format!(
                    "{} is {} in the table and {} in the script",
                    super::preflight::setting_key(key),
                    text(theirs),
                    text(ours)
                )
            })
        })
        .collect()
}

fn describe_differences(table: &EvalConfig, script: &EvalConfig) -> String {
    match differences(table, script).as_slice() {
        [] => "its training configuration differs from the script's only in how it was hashed (e.g. precision \
               \"auto\" against an explicit one)"
            .to_string(),
        listed => format!("it differs in {}", listed.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_the_script_setting_and_skip_execution_ones() {
        let script = EvalConfig { epochs: 3, train_subset: Some(3000), ..EvalConfig::default() };
        let table = EvalConfig { epochs: 1, device: "cuda:1".into(), ..script.clone() };
        assert_eq!(differences(&table, &script), ["training.epochs is 1 in the table and 3 in the script"]);
        let table = EvalConfig { train_subset: Some(200), ..script.clone() };
        assert_eq!(
            differences(&table, &script),
            ["dataset.train_subset is 200 in the table and 3000 in the script"],
            "a dataset setting the training section holds is named as the script sets it"
        );
        assert!(differences(&script, &script).is_empty());
    }
}
