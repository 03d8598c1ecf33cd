//! A saved model (see [`super::saved`]) as a PyTorch user loads it: the state dict of
//! NAS-Bench-201's reference implementation, xautodl's
//! `xautodl.models.cell_infers.tiny_network.TinyNetwork(C, N, genotype, num_classes)` with
//! `genotype = xautodl.models.cell_searchs.genotypes.Structure.str2structure(arch)`, as
//! safetensors ([`STATE_DICT_FILE`]), a JSON description ([`DESCRIPTION_FILE`]: arch string,
//! macro settings, class names, input shape and normalisation) and, when the model's dataset can
//! be read, a check ([`CHECK_FILE`]: the first held-out images and xnas's logits on them) to
//! verify a load against.
//!
//! xnas's layers are NAS-Bench-201's, so exporting is renaming ([`xautodl_name`]) plus two
//! things xautodl has and xnas does not: BatchNorm's `num_batches_tracked` counter (written as
//! 0; it only matters to BatchNorm with `momentum=None`), and a 3-channel stem. A model trained on
//! 1-channel images gets its stem kernel repeated over 3 input channels and divided by 3, so a
//! gray image replicated into 3 channels gives exactly the logits it gives in xnas.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use tch::nn::ModuleT;
use tch::{Device, Kind, Tensor};
use xnas_space::{Genome, MacroConfig, EDGES};

use super::saved::{load_network, read_model_input, read_saved_record, ModelInput};
use super::{load_dataset, EvalError};
use crate::data::Normalizer;
use crate::train::torch_message;

/// File names of an export folder.
pub const STATE_DICT_FILE: &str = "state_dict.safetensors";
pub const DESCRIPTION_FILE: &str = "model.json";
pub const CHECK_FILE: &str = "check.json";

/// Input channels of xautodl's `TinyNetwork` stem.
const XAUTODL_INPUT_CHANNELS: usize = 3;

/// Held-out images whose logits [`CHECK_FILE`] holds.
pub const CHECK_IMAGES: usize = 8;

/// Why a model could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Saved(#[from] EvalError),
    #[error("the saved model's architecture {arch:?} is not a NAS-Bench-201 arch string: {message}")]
    Arch { arch: String, message: String },
    #[error("the saved weights hold {name:?}, which has no place in xautodl's TinyNetwork")]
    UnknownParameter { name: String },
    #[error("a model trained on {channels}-channel images cannot be fed to xautodl's 3-channel stem")]
    Channels { channels: usize },
    #[error("cannot write {path}: {message}")]
    Write { path: String, message: String },
}

/// The JSON description beside the exported state dict.
#[derive(Debug, Clone, Serialize)]
pub struct Description {
    /// How to build the network the state dict fits.
    pub model: &'static str,
    pub genotype: &'static str,
    /// NAS-Bench-201 arch string, for `Structure.str2structure`.
    pub arch: String,
    /// The paper's six op codes.
    pub genome: String,
    /// `TinyNetwork`'s `C` (channels of the first stage) and `N` (cells per stage).
    #[serde(rename = "C")]
    pub channels: usize,
    #[serde(rename = "N")]
    pub cells_per_stage: usize,
    pub num_classes: usize,
    pub class_names: Vec<String>,
    /// `[channels, height, width]` that the exported network takes (xautodl's stem: 3 channels).
    pub input_shape: [usize; 3],
    /// The images the model was trained on had this many channels.
    pub trained_input_channels: usize,
    /// Present for 1-channel models: replicate the normalised image over this many channels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_channels_replicate: Option<usize>,
    pub normalisation: Normalisation,
    pub weights: &'static str,
    /// What `forward` returns: xautodl's `TinyNetwork` returns `(features, logits)`.
    pub outputs: &'static str,
    pub notes: Vec<String>,
    /// The record's held-out accuracy, for reference.
    pub val_accuracy: Option<f64>,
    pub dataset: String,
    pub xnas_version: String,
}

/// The input normalisation, per trained channel: `x = (pixel / 255 − mean[c]) / std[c]`.
#[derive(Debug, Clone, Serialize)]
pub struct Normalisation {
    pub formula: &'static str,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

/// What [`CHECK_FILE`] holds: held-out images as stored (bytes, `[channels, height, width]` of
/// the trained input each), their labels and xnas's logits on them.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub images: Vec<Vec<u8>>,
    pub labels: Vec<u32>,
    pub logits: Vec<Vec<f64>>,
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct Exported {
    pub dir: PathBuf,
    pub description: Description,
    /// Why there is no check file, when there is none (the dataset could not be read).
    pub check_skipped: Option<String>,
}

/// xautodl's name for one of xnas's parameter names, for a network with `cells_per_stage`
/// cells per stage; `None` for a name that is not one of xnas's network parameters.
pub fn xautodl_name(name: &str, cells_per_stage: usize) -> Option<String> {
    let (module, rest) = name.split_once('.')?;
    let bn_or_conv = |rest: &str| -> Option<String> {
        // ReLUConvBN is `op = Sequential(ReLU, Conv2d, BatchNorm2d)`.
        match rest.split_once('.')? {
            ("conv", "weight") => Some("op.1.weight".into()),
            ("bn", field) => Some(format!("op.2.{field}")),
            _ => None,
        }
    };
    let stage_offset = |stage: usize| stage * (cells_per_stage + 1);
    match module {
        "stem_conv" if rest == "weight" => Some("stem.0.weight".into()),
        "stem_bn" => Some(format!("stem.1.{rest}")),
        "head_bn" => Some(format!("lastact.0.{rest}")),
        "classifier" => Some(format!("classifier.{rest}")),
        _ => {
            if let Some(position) = module.strip_prefix("cell_") {
                let (stage, k) = position.split_once('_')?;
                let (stage, k): (usize, usize) = (stage.parse().ok()?, k.parse().ok()?);
                if stage >= 3 || k >= cells_per_stage {
                    return None;
                }
                let (edge, layer) = rest.split_once('.')?;
                let (to, from) = edge.strip_prefix("edge_")?.split_once('_')?;
                let (to, from): (usize, usize) = (to.parse().ok()?, from.parse().ok()?);
                let index = EDGES.iter().position(|e| e.to == to && e.from == from)?;
                Some(format!("cells.{}.layers.{index}.{}", stage_offset(stage) + k, bn_or_conv(layer)?))
            } else if let Some(stage) = module.strip_prefix("reduction_") {
                let stage: usize = stage.parse().ok()?;
                if !(1..3).contains(&stage) {
                    return None;
                }
                let cell = stage_offset(stage) - 1;
                match rest.split_once('.')? {
                    ("shortcut", "weight") => Some(format!("cells.{cell}.downsample.1.weight")),
                    (conv @ ("conv_a" | "conv_b"), layer) => {
                        Some(format!("cells.{cell}.{conv}.{}", bn_or_conv(layer)?))
                    }
                    _ => None,
                }
            } else {
                None
            }
        }
    }
}

/// Exports the model saved in `model_dir` into `out` (created; files in it are replaced).
pub fn export_model(model_dir: &Path, out: &Path) -> Result<Exported, ExportError> {
    let record = read_saved_record(model_dir)?;
    let input = read_model_input(model_dir)?;
    let genome: Genome = record
        .arch
        .parse()
        .map_err(|e: xnas_space::ParseError| ExportError::Arch { arch: record.arch.clone(), message: e.to_string() })?;
    if input.channels != 1 && input.channels != XAUTODL_INPUT_CHANNELS {
        return Err(ExportError::Channels { channels: input.channels });
    }
    let macro_config = MacroConfig {
        channels: record.config.channels,
        cells_per_stage: record.config.cells_per_stage,
        num_classes: record.class_names.len(),
        input: (input.channels, input.height, input.width),
    };
    let model = load_network(model_dir, &genome, &macro_config, Device::Cpu)?;
    let state_dict = state_dict(&model.vs.variables(), &macro_config)?;

    let write_err = |path: &Path, message: String| ExportError::Write { path: path.display().to_string(), message };
    std::fs::create_dir_all(out).map_err(|e| write_err(out, e.to_string()))?;
    let weights = out.join(STATE_DICT_FILE);
    let named: Vec<(&str, &Tensor)> = state_dict.iter().map(|(k, v)| (k.as_str(), v)).collect();
    Tensor::write_safetensors(&named, &weights).map_err(|e| write_err(&weights, torch_message(&e)))?;

    let description = describe(&record, &genome, &macro_config, &input);
    write_json(&out.join(DESCRIPTION_FILE), &description)?;

    let check_path = out.join(CHECK_FILE);
    let check_skipped = match check(&record.config, &input, &model.net) {
        Ok(check) => {
            write_json(&check_path, &check)?;
            None
        }
        Err(why) => {
            // A stale check from an earlier export must not vouch for these weights.
            let _ = std::fs::remove_file(&check_path);
            Some(why)
        }
    };
    Ok(Exported { dir: out.to_path_buf(), description, check_skipped })
}

/// xnas's variables under xautodl's names, with the counters xautodl's BatchNorm has.
fn state_dict(
    variables: &std::collections::HashMap<String, Tensor>,
    macro_config: &MacroConfig,
) -> Result<BTreeMap<String, Tensor>, ExportError> {
    let mut out = BTreeMap::new();
    for (name, tensor) in variables {
        let renamed = xautodl_name(name, macro_config.cells_per_stage)
            .ok_or_else(|| ExportError::UnknownParameter { name: name.clone() })?;
        let mut tensor = tensor.detach().to_kind(Kind::Float).contiguous();
        if name == "stem_conv.weight" && macro_config.input.0 == 1 {
            // A gray image replicated over 3 channels sums three equal terms.
            tensor =
                (tensor.repeat([1, XAUTODL_INPUT_CHANNELS as i64, 1, 1]) / XAUTODL_INPUT_CHANNELS as f64).contiguous();
        }
        if let Some(prefix) = renamed.strip_suffix("running_mean") {
            out.insert(format!("{prefix}num_batches_tracked"), Tensor::from(0i64));
        }
        out.insert(renamed, tensor);
    }
    Ok(out)
}

fn describe(
    record: &crate::record::MeasurementRecord,
    genome: &Genome,
    macro_config: &MacroConfig,
    input: &ModelInput,
) -> Description {
    let gray = input.channels == 1;
    let mut notes =
        vec!["BatchNorm num_batches_tracked is 0: xnas does not count batches; it only matters with momentum=None"
            .into()];
    if gray {
        notes.push(format!(
            "trained on 1-channel images: normalise the gray image with mean[0]/std[0], then repeat it over \
             {XAUTODL_INPUT_CHANNELS} channels; the stem kernel was repeated and divided by {XAUTODL_INPUT_CHANNELS}, \
             so the logits are xnas's"
        ));
    }
    Description {
        model: "xautodl.models.cell_infers.tiny_network.TinyNetwork(C, N, genotype, num_classes)",
        genotype: "xautodl.models.cell_searchs.genotypes.Structure.str2structure(arch)",
        arch: genome.arch_string(),
        genome: genome.compact(),
        channels: macro_config.channels,
        cells_per_stage: macro_config.cells_per_stage,
        num_classes: macro_config.num_classes,
        class_names: record.class_names.clone(),
        input_shape: [XAUTODL_INPUT_CHANNELS, input.height, input.width],
        trained_input_channels: input.channels,
        input_channels_replicate: gray.then_some(XAUTODL_INPUT_CHANNELS),
        normalisation: Normalisation {
            formula: "(pixel / 255 - mean[c]) / std[c]",
            mean: input.mean.clone(),
            std: input.std.clone(),
        },
        weights: STATE_DICT_FILE,
        outputs: "forward(x) returns (features, logits)",
        notes,
        val_accuracy: record.val_accuracy,
        dataset: record.config.dataset.to_string(),
        xnas_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// xnas's logits on the first held-out images of the model's dataset, through xnas's own
/// normalisation and network; the reason when the dataset cannot be read.
fn check(config: &crate::record::EvalConfig, input: &ModelInput, net: &crate::nn::Network) -> Result<Check, String> {
    let dataset = load_dataset(config).map_err(|e| format!("the model's dataset could not be read: {e}"))?;
    // The test split: held out from training and from the search's selection alike.
    let set = &dataset.test;
    let n = set.len().min(CHECK_IMAGES);
    if n == 0 {
        return Err("the model's dataset has no held-out images".into());
    }
    let size = set.image_size();
    let raw = Tensor::from_slice(&set.images[..n * size]).view([
        n as i64,
        set.channels as i64,
        set.height as i64,
        set.width as i64,
    ]);
    let normalizer = Normalizer::new(&input.mean, &input.std, Device::Cpu);
    let logits = tch::no_grad(|| net.forward_t(&normalizer.apply(&raw), false)).to_kind(Kind::Double);
    let logits: Vec<Vec<f64>> =
        (0..n as i64).map(|i| Vec::<f64>::try_from(&logits.get(i)).unwrap_or_default()).collect();
    Ok(Check {
        images: set.images[..n * size].chunks(size).map(<[u8]>::to_vec).collect(),
        labels: set.labels[..n].to_vec(),
        logits,
    })
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), ExportError> {
    let text = serde_json::to_string_pretty(value).expect("export descriptions serialise");
    std::fs::write(path, text)
        .map_err(|e| ExportError::Write { path: path.display().to_string(), message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layer_kind_gets_its_xautodl_name() {
        let n = 2;
        let cases = [
            ("stem_conv.weight", "stem.0.weight"),
            ("stem_bn.running_var", "stem.1.running_var"),
            ("cell_0_1.edge_1_0.conv.weight", "cells.1.layers.0.op.1.weight"),
            ("cell_1_0.edge_3_2.bn.bias", "cells.3.layers.5.op.2.bias"),
            ("cell_2_1.edge_2_1.bn.running_mean", "cells.7.layers.2.op.2.running_mean"),
            ("reduction_1.conv_a.conv.weight", "cells.2.conv_a.op.1.weight"),
            ("reduction_2.conv_b.bn.weight", "cells.5.conv_b.op.2.weight"),
            ("reduction_2.shortcut.weight", "cells.5.downsample.1.weight"),
            ("head_bn.weight", "lastact.0.weight"),
            ("classifier.bias", "classifier.bias"),
        ];
        for (ours, theirs) in cases {
            assert_eq!(xautodl_name(ours, n).as_deref(), Some(theirs), "{ours}");
        }
        for foreign in [
            "stem_conv.bias",
            "cell_3_0.edge_1_0.conv.weight",
            "cell_0_2.edge_1_0.conv.weight",
            "x.y",
            "reduction_0.shortcut.weight",
        ] {
            assert_eq!(xautodl_name(foreign, n), None, "{foreign}");
        }
    }
}
