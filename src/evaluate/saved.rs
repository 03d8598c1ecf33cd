//! A trained model saved as a folder: its weights (`weights.safetensors`, the network's own
//! parameter names), its measurement record (`record.json`) and what it expects of its input
//! (`model.json`: image shape and the per-channel normalisation it was trained with, which the
//! record does not hold). `xnas eval --save`, the models a run keeps and `xnas repair` use it;
//! `xnas export` turns it into a PyTorch model ([`super::export`]).
//!
//! A folder is written in a staging folder beside it and renamed into place, so a killed
//! process never leaves a half-written model under the final name. The file names are the run
//! folder's ([`crate::run_dir`]), which also names the leftovers a run removes.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::Device;
use xnas_datasets::ImageSet;
use xnas_space::{Genome, MacroConfig};

use super::{EvalError, Prepared, TrainedModel};
use crate::nn::Network;
use crate::record::MeasurementRecord;
use crate::run_dir::{INPUT_FILE, RECORD_FILE, STAGING_MARK, WEIGHTS_FILE};
use crate::train::torch_message;

/// What a model expects of its input: images of this shape, z-scored per channel with the
/// statistics of the images it was trained on, on the pixel/255 scale:
/// `input = (pixel / 255 − mean[c]) / std[c]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInput {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

impl ModelInput {
    /// The input of a model trained on `train` (the statistics [`Prepared`] normalises with).
    pub fn of(train: &ImageSet) -> ModelInput {
        let (mean, std) = train.channel_mean_std();
        ModelInput { channels: train.channels, height: train.height, width: train.width, mean, std }
    }
}

fn staging_dir(dir: &Path) -> PathBuf {
    let name = dir.file_name().map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned());
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    parent.join(format!(".{name}{STAGING_MARK}{}", std::process::id()))
}

/// Saves a trained model in `dir`: weights, record and input, all or nothing. An empty or missing
/// `dir` is replaced by the finished folder in one rename; into a folder that already holds files
/// (`xnas eval --save` to a used folder, an evaluation saved again) the files are moved one by
/// one, the record last.
pub fn save_model(
    dir: &Path,
    record: &MeasurementRecord,
    model: &TrainedModel,
    input: &ModelInput,
) -> Result<(), EvalError> {
    let model_err = |message: String| EvalError::Model {
        what: "cannot write the model to",
        path: dir.display().to_string(),
        message,
    };
    let staging = staging_dir(dir);
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| model_err(e.to_string()))?;
    let written = (|| {
        model.vs.save(staging.join(WEIGHTS_FILE)).map_err(|e| torch_message(&e))?;
        let input_json = serde_json::to_string_pretty(input).map_err(|e| e.to_string())?;
        std::fs::write(staging.join(INPUT_FILE), input_json).map_err(|e| e.to_string())?;
        let json = serde_json::to_string_pretty(record).map_err(|e| e.to_string())?;
        std::fs::write(staging.join(RECORD_FILE), json).map_err(|e| e.to_string())?;
        move_into_place(&staging, dir).map_err(|e| e.to_string())
    })();
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    written.map_err(model_err)
}

fn move_into_place(staging: &Path, dir: &Path) -> std::io::Result<()> {
    // rename(2) replaces a missing or empty folder at once.
    if std::fs::rename(staging, dir).is_ok() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    for file in [WEIGHTS_FILE, INPUT_FILE, RECORD_FILE] {
        std::fs::rename(staging.join(file), dir.join(file))?;
    }
    std::fs::remove_dir_all(staging)
}

/// Reads a saved model's record.
pub fn read_saved_record(dir: &Path) -> Result<MeasurementRecord, EvalError> {
    let path = dir.join(RECORD_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| EvalError::Model {
        what: "cannot read the saved record",
        path: path.display().to_string(),
        message: format!("{e} (save a model with `xnas eval ARCH --save DIR`)"),
    })?;
    serde_json::from_str(&text).map_err(|e| EvalError::Model {
        what: "the saved record is not a measurement record:",
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Reads what a saved model expects of its input (`model.json`).
pub fn read_model_input(dir: &Path) -> Result<ModelInput, EvalError> {
    let path = dir.join(INPUT_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| EvalError::Model {
        what: "cannot read the model's input description",
        path: path.display().to_string(),
        message: format!("{e} (models saved by an older xnas lack it; save the model again)"),
    })?;
    serde_json::from_str(&text).map_err(|e| EvalError::Model {
        what: "the model's input description is not valid:",
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Rebuilds a saved network on `prepared`'s device and loads its weights.
pub fn load_model(dir: &Path, genome: &Genome, prepared: &Prepared) -> Result<TrainedModel, EvalError> {
    load_network(dir, genome, &prepared.macro_config, prepared.device)
}

/// Rebuilds a saved network for `macro_config` on `device` and loads its weights. A network
/// larger than the weights file can hold (a record edited to millions of channels) is refused
/// before it is built: building it would fail in an allocation deep in libtorch.
pub fn load_network(
    dir: &Path,
    genome: &Genome,
    macro_config: &MacroConfig,
    device: Device,
) -> Result<TrainedModel, EvalError> {
    let path = dir.join(WEIGHTS_FILE);
    check_weights_fit(&path, genome, macro_config)?;
    let (mut vs, net) = Network::build(genome, macro_config, device);
    vs.load(&path).map_err(|e| EvalError::Model {
        what: "cannot load the weights",
        path: path.display().to_string(),
        message: format!(
            "{} (was it saved for the same architecture, channels, cells and dataset?)",
            torch_message(&e)
        ),
    })?;
    Ok(TrainedModel { vs, net })
}

/// Bytes per parameter below which a weights file cannot hold the network: 16-bit floats (the
/// weights are saved as 32-bit ones, so this leaves room for any header).
const MIN_BYTES_PER_PARAMETER: u64 = 2;

/// That the weights file at `path` is large enough for the parameters of the network `genome`
/// builds under `macro_config`; a missing file is left to the load, which names it.
fn check_weights_fit(path: &Path, genome: &Genome, macro_config: &MacroConfig) -> Result<(), EvalError> {
    let Ok(metadata) = std::fs::metadata(path) else { return Ok(()) };
    let parameters = xnas_space::params(genome, macro_config);
    if parameters.saturating_mul(MIN_BYTES_PER_PARAMETER) <= metadata.len() {
        return Ok(());
    }
    Err(EvalError::Model {
        what: "the saved record does not fit the weights in",
        path: path.display().to_string(),
        message: format!(
            "its network ({} channels, {} cells per stage, {} classes) has {parameters} parameters, which \
             need at least {} but the file holds {}; was record.json edited? Restore its config (channels, \
             cells) to the values the model was trained with",
            macro_config.channels,
            macro_config.cells_per_stage,
            macro_config.num_classes,
            crate::record::human_bytes(parameters.saturating_mul(MIN_BYTES_PER_PARAMETER)),
            crate::record::human_bytes(metadata.len())
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_dir::is_staging;

    #[test]
    fn staging_folders_are_recognised_and_sit_beside_their_target() {
        let staging = staging_dir(Path::new("runs/x/models/7"));
        assert_eq!(staging.parent(), Some(Path::new("runs/x/models")));
        let name = staging.file_name().unwrap().to_str().unwrap();
        assert!(is_staging(name), "{name}");
        assert!(!is_staging("7") && !is_staging("partial-7"));
    }
}
