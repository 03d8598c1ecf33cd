//! What is checked before a run starts (and by `xnas check`): everything that would make every
//! evaluation fail the same way. A child that cannot train because the training settings are out
//! of range, the data files are missing or the device does not exist fails deterministically —
//! retrying it, or breeding more candidates for it, only burns time — so these are caught here,
//! before a run folder is created, with the message the child would have given.
//!
//! In order: the training settings ([`EvalConfig::validate`]), the data files (by name only,
//! [`xnas_datasets::check_present`]), the devices the local executor would use, and the script's
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
    #[error("{0} (fix it in the script's training or dataset section, or with --set)")]
    Training(ConfigError),
    #[error(transparent)]
    Data(#[from] xnas_datasets::DataError),
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
    if execution.executor == ExecutorKind::Local {
        xnas_datasets::check_present(&config.load_options())?;
        check_devices(&resolve_devices(execution.devices.as_deref(), &config.device, worker)?, worker)?;
    }
    Ok(crate::script::check_with_records(experiment, archive)?)
}

/// The records of a run's finished evaluations: the real records its script's objectives must
/// score when it resumes.
pub fn finished_records(store: &Store) -> Result<Vec<MeasurementRecord>, StoreError> {
    Ok(store.evaluations(Some(EvalStatus::Done))?.into_iter().filter_map(|e| e.record).collect())
}
