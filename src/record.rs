//! The measurement record: the raw, objective-free facts one evaluation produces, and the
//! configuration that produced them.
//!
//! Objectives are functions *of* a record (docs/architecture.md), so the record keeps everything an
//! objective might want — accuracy, loss, the confusion matrix, the class-distance matrix D —
//! and nothing that depends on which objectives a search uses. Records are JSON (serde).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use xnas_datasets::DatasetName;

use crate::introspect::{ClassGrouping, DistanceMatrix, PairWeights, TapSet};

/// Everything that decides how an architecture is trained and measured. Two evaluations with
/// equal configs (and equal genomes) are the same experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    pub dataset: DatasetName,
    /// Where the dataset files are; `None` means the dataset's default location.
    pub data_dir: Option<PathBuf>,
    /// ImageNet16 only: the class → wnid list (devkit `map_clsloc.txt` or one wnid per line).
    pub wnids_file: Option<PathBuf>,
    /// Train on a seeded, class-stratified subset of this many training images.
    pub train_subset: Option<usize>,
    /// Validate (and measure introspectability) on a subset of this many validation images.
    pub val_subset: Option<usize>,
    /// Cells' channels in the first stage (the paper's F = 16).
    pub channels: usize,
    /// Cells per stage (the paper's 5).
    pub cells_per_stage: usize,
    pub epochs: usize,
    pub batch_size: usize,
    /// Peak learning rate (after warmup).
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    pub nesterov: bool,
    /// Linear warmup length in epochs (appendix B: half an epoch).
    pub warmup_epochs: f64,
    /// Pad-and-crop, horizontal flip and cutout (appendix B).
    pub augment: bool,
    /// `cpu`, `cuda`, `cuda:N` or `auto`.
    pub device: String,
    pub seed: u64,
    pub taps: TapSet,
    pub grouping: ClassGrouping,
    /// At most this many validation images feed the class means (the authors used 25,000).
    pub introspect_max_samples: usize,
    /// Weight of the introspectability regularizer in the training loss (appendix B: 0.5); 0 is off.
    pub regularizer: f64,
    /// Pair weights ω for the regularizer (eq. 5); `None` weighs every pair 1.
    pub omega: Option<PairWeights>,
}

impl Default for EvalConfig {
    /// Appendix B's recipe with NAS-Bench-201's macro settings, on Fashion-MNIST for 5 epochs.
    fn default() -> Self {
        EvalConfig {
            dataset: DatasetName::FashionMnist,
            data_dir: None,
            wnids_file: None,
            train_subset: None,
            val_subset: None,
            channels: 16,
            cells_per_stage: 5,
            epochs: 5,
            batch_size: 512,
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 5e-4,
            nesterov: true,
            warmup_epochs: 0.5,
            augment: true,
            device: "auto".into(),
            seed: 0,
            taps: TapSet::default(),
            grouping: ClassGrouping::default(),
            introspect_max_samples: 25_000,
            regularizer: 0.0,
            omega: None,
        }
    }
}

/// A training setting that no evaluation can run with, named as the config names it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("training setting {field} = {value}: must be {requirement}")]
pub struct ConfigError {
    pub field: &'static str,
    pub value: String,
    pub requirement: &'static str,
}

impl EvalConfig {
    /// What the dataset readers need to know of this configuration to find and subset its files.
    pub fn load_options(&self) -> xnas_datasets::LoadOptions {
        xnas_datasets::LoadOptions {
            dataset: self.dataset,
            data_dir: self.data_dir.clone(),
            wnids_file: self.wnids_file.clone(),
            train_subset: self.train_subset,
            val_subset: self.val_subset,
            seed: self.seed,
            ..Default::default()
        }
    }

    /// Rejects settings that would make every training fail (or silently train nothing): a
    /// negative or NaN learning rate, zero epochs, an empty subset, an unknown device name.
    /// Checked before any training starts, by `xnas eval`, `xnas check` and at run start, so
    /// that a typo costs an error message and not a run's worth of failed children.
    pub fn validate(&self) -> Result<(), ConfigError> {
        fn require(
            ok: bool,
            field: &'static str,
            value: impl ToString,
            requirement: &'static str,
        ) -> Result<(), ConfigError> {
            if ok {
                Ok(())
            } else {
                Err(ConfigError { field, value: value.to_string(), requirement })
            }
        }
        let finite_at_least = |x: f64, low: f64| x.is_finite() && x >= low;
        require(self.epochs >= 1, "epochs", self.epochs, "at least 1")?;
        require(self.batch_size >= 2, "batch_size", self.batch_size, "at least 2 (batch norm needs two images)")?;
        require(self.lr.is_finite() && self.lr > 0.0, "lr", self.lr, "a finite number > 0")?;
        require(
            self.momentum.is_finite() && (0.0..1.0).contains(&self.momentum),
            "momentum",
            self.momentum,
            "a number in [0, 1)",
        )?;
        require(finite_at_least(self.weight_decay, 0.0), "weight_decay", self.weight_decay, "a finite number ≥ 0")?;
        require(finite_at_least(self.warmup_epochs, 0.0), "warmup_epochs", self.warmup_epochs, "a finite number ≥ 0")?;
        require(
            finite_at_least(self.regularizer, 0.0),
            "regularizer",
            self.regularizer,
            "a finite weight ≥ 0 (0 is off)",
        )?;
        require(self.channels >= 1, "channels", self.channels, "at least 1")?;
        require(self.cells_per_stage >= 1, "cells", self.cells_per_stage, "at least 1")?;
        require(self.introspect_max_samples >= 1, "introspect_max_samples", self.introspect_max_samples, "at least 1")?;
        for (field, subset) in [("train_subset", self.train_subset), ("val_subset", self.val_subset)] {
            if let Some(n) = subset {
                require(n >= 1, field, n, "at least 1 image (leave it out to use the whole split)")?;
            }
        }
        require(is_device_name(&self.device), "device", format!("{:?}", self.device), "cpu, cuda, cuda:N or auto")
    }
}

/// Whether `name` is a device name evaluations understand (whether that device exists is only
/// known where the evaluation runs).
pub fn is_device_name(name: &str) -> bool {
    match name.trim() {
        "cpu" | "auto" | "cuda" | "gpu" => true,
        other => other.strip_prefix("cuda:").is_some_and(|i| i.parse::<usize>().is_ok()),
    }
}

/// How an evaluation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Done,
    /// Training or measurement could not finish (NaN loss, out of memory, …): `error` says why.
    Failed,
}

/// One architecture's evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasurementRecord {
    /// NAS-Bench-201 arch string.
    pub arch: String,
    /// The paper's six op codes.
    pub genome: String,
    pub config: EvalConfig,
    pub status: Status,
    pub error: Option<String>,
    pub class_names: Vec<String>,
    pub train_images: usize,
    pub val_images: usize,
    /// Fraction of validation images classified correctly.
    pub val_accuracy: Option<f64>,
    /// Mean cross entropy on the validation images.
    pub val_loss: Option<f64>,
    /// Mean training loss of each finished epoch.
    pub train_loss_per_epoch: Vec<f64>,
    pub per_class_accuracy: Vec<Option<f64>>,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<u64>>,
    /// D: cosine distances between class-mean activations (`null` where undefined).
    pub class_distance: DistanceMatrix,
    /// Eq. 1 of the paper on `class_distance`.
    pub introspectability: Option<f64>,
    /// Validation images that fed the class means.
    pub introspect_images: usize,
    /// Length of the concatenated tapped activation vector of one image.
    pub tapped_features: u64,
    pub tapped_layers: usize,
    pub params: u64,
    pub flops: u64,
    pub train_seconds: f64,
    pub eval_seconds: f64,
    /// Training throughput (images per second over all epochs, forward + backward + step).
    pub train_images_per_second: f64,
    pub device: String,
    pub xnas_version: String,
}

impl MeasurementRecord {
    /// A one-line human summary.
    pub fn summary(&self) -> String {
        let pct = |x: Option<f64>| x.map_or("n/a".into(), |v| format!("{:.2}%", 100.0 * v));
        let num = |x: Option<f64>| x.map_or("n/a".into(), |v| format!("{v:.4}"));
        match self.status {
            Status::Done => format!(
                "{} acc {} loss {} introspectability {} params {:.4}M MFLOPs {:.1} train {:.1}s ({:.0} img/s) on {}",
                self.genome,
                pct(self.val_accuracy),
                num(self.val_loss),
                num(self.introspectability),
                self.params as f64 / 1e6,
                self.flops as f64 / 1e6,
                self.train_seconds,
                self.train_images_per_second,
                self.device
            ),
            Status::Failed => format!("{} FAILED: {}", self.genome, self.error.as_deref().unwrap_or("unknown error")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_recipe_is_valid() {
        EvalConfig::default().validate().unwrap();
    }

    #[test]
    fn settings_no_training_can_use_are_named() {
        let bad = |edit: fn(&mut EvalConfig)| {
            let mut config = EvalConfig::default();
            edit(&mut config);
            config.validate().unwrap_err()
        };
        assert_eq!(bad(|c| c.lr = -1.0).field, "lr");
        assert_eq!(bad(|c| c.lr = f64::NAN).field, "lr");
        assert_eq!(bad(|c| c.lr = 0.0).field, "lr");
        assert_eq!(bad(|c| c.epochs = 0).field, "epochs");
        assert_eq!(bad(|c| c.batch_size = 1).field, "batch_size");
        assert_eq!(bad(|c| c.momentum = 1.0).field, "momentum");
        assert_eq!(bad(|c| c.weight_decay = f64::INFINITY).field, "weight_decay");
        assert_eq!(bad(|c| c.regularizer = -0.5).field, "regularizer");
        assert_eq!(bad(|c| c.train_subset = Some(0)).field, "train_subset");
        assert_eq!(bad(|c| c.val_subset = Some(0)).field, "val_subset");
        assert_eq!(bad(|c| c.device = "cuda:x".into()).field, "device");
        let message = bad(|c| c.lr = -1.0).to_string();
        assert_eq!(message, "training setting lr = -1: must be a finite number > 0");
    }

    #[test]
    fn device_names() {
        for ok in ["cpu", "auto", "cuda", "gpu", "cuda:0", "cuda:7", " cpu "] {
            assert!(is_device_name(ok), "{ok}");
        }
        for bad in ["", "cuda:", "cuda:-1", "tpu", "cuda0"] {
            assert!(!is_device_name(bad), "{bad}");
        }
    }
}
