//! What is checked before a run starts (and by `xnas check`): everything that would make every
//! evaluation fail the same way. A child that cannot train because the training settings are out
//! of range, the data files are missing or the device does not exist fails deterministically —
//! retrying it, or breeding more candidates for it, only burns time — so these are caught here,
//! before a run folder is created, with the message the child would have given.
//!
//! In order: the training settings ([`EvalConfig::validate`]: the network's memory estimate and
//! the subsets against the class count included), the data files (by name only,
//! [`xnas_datasets::check_present`]) and the validation split against the training split's size
//! ([`xnas_datasets::check_split_sizes`], from the label file or the batch files' sizes), the devices the local executor would use, and the script's
//! dry run ([`crate::script::check_with_records`]) on a synthetic record and on the real records
//! the run (or the run it starts from) already has. On a Ray cluster the data and the GPUs are
//! the workers', so those two are left to them.

use std::path::Path;

use crate::exec::{check_devices, resolve_devices, ExecError};
use crate::record::{ConfigError, EvalConfig, MeasurementRecord};
use crate::script::{CheckReport, Experiment, ScriptError};
use crate::store::{EvalStatus, Store, StoreError};

use super::execution::{Execution, ExecutorKind};

/// Why a run cannot start.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    // Not a `#[source]`: the message already says it, and error chains would repeat it.
    #[error("{}", training_message(.0))]
    Training(ConfigError),
    #[error(transparent)]
    Data(#[from] xnas_datasets::DataError),
    /// The validation split against the training split's size; the message starts with the
    /// setting's name as the dataset reader says it (`validation = …`).
    #[error("dataset.{0}")]
    Split(xnas_datasets::DataError),
    #[error(transparent)]
    Devices(#[from] ExecError),
    #[error(transparent)]
    Script(#[from] ScriptError),
}

impl From<ConfigError> for PreflightError {
    fn from(error: ConfigError) -> Self {
        PreflightError::Training(error)
    }
}

/// The key a training configuration field is set with: `space.channels`, `dataset.val_subset`,
/// `training.lr`.
pub(super) fn setting_key(field: &str) -> String {
    match crate::script::TRAINING_OWNED
        .iter()
        .find(|(owned, _)| *owned == field || (field == "cells" && *owned == "cells_per_stage"))
    {
        Some((_, key)) => key.to_string(),
        None => format!("training.{field}"),
    }
}

/// A training setting out of range, named by the key that sets it.
fn training_message(error: &ConfigError) -> String {
    let key = setting_key(error.field);
    format!("{key} = {}: must be {} (fix it in the script or with --set {key}=…)", error.value, error.requirement)
}

/// The training configuration evaluations of `experiment` get: the script's, on `device` when
/// `--device` gives one.
pub fn job_config(experiment: &Experiment, device: Option<&str>) -> EvalConfig {
    let mut config = experiment.eval_config().clone();
    if let Some(device) = device {
        config.device = device.to_string();
    }
    config
}

/// Checks that `experiment` can run with `execution` (see the module docs); `archive` holds the
/// finished records its objectives must score; `worker` is the `xnas-worker` that would train
/// (asked how many GPUs it sees). Returns the dry run's report.
pub fn preflight(
    experiment: &Experiment,
    execution: &Execution,
    device: Option<&str>,
    worker: &Path,
    archive: &[MeasurementRecord],
) -> Result<CheckReport, PreflightError> {
    let config = job_config(experiment, device);
    config.validate()?;
    // A replay (`--table`) starts no worker and reads no data, unless it trains the cells its table lacks.
    if execution.executor == ExecutorKind::Local && execution.trains() {
        xnas_datasets::check_present(&config.load_options())?;
        xnas_datasets::check_split_sizes(&config.load_options()).map_err(|e| match e {
            xnas_datasets::DataError::BadOption(_) => PreflightError::Split(e),
            other => PreflightError::Data(other),
        })?;
        check_devices(&resolve_devices(execution.devices.as_deref(), &config.device, worker)?, worker)?;
    }
    Ok(crate::script::check_with_records(experiment, archive)?)
}

/// The records of a run's finished evaluations: the real records its script's objectives must
/// score when it resumes.
pub fn finished_records(store: &Store) -> Result<Vec<MeasurementRecord>, StoreError> {
    Ok(store.evaluations(Some(EvalStatus::Done))?.into_iter().filter_map(|e| e.record).collect())
}
