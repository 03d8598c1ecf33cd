//! The measurement record: the raw, objective-free facts one evaluation produces, and the
//! configuration that produced them.
//!
//! Objectives are functions *of* a record (docs/architecture.md), so the record keeps everything an
//! objective might want — accuracy, loss, the confusion matrix, the class-distance matrix D —
//! and nothing that depends on which objectives a search uses. Records are JSON (serde).
//!
//! [`synthetic_record`] is a plausible record made without training: `xnas check` scores a
//! script's objectives on it, and tests use it instead of writing records out by hand.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use xnas_datasets::{DatasetName, ValidationSplit};

use xnas_space::{Genome, MacroConfig};

use crate::introspect::calibration::{
    accuracy_after_removal, binned_calibration, detection_after_flagging, removal_percents, CALIBRATION_BINS,
};
use crate::introspect::{self, ClassGrouping, DistanceMatrix, PairWeights, TapSet};

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
    /// Where validation images come from: a seeded, class-stratified count (default 5000) or
    /// fraction of the official training split, or `held-out` (the official test split, as the
    /// authors' code did). A record without it was written before splits existed: held-out.
    #[serde(default = "held_out")]
    pub validation: ValidationSplit,
    /// Measure the test split on a seeded, class-stratified subset of this many images.
    pub test_subset: Option<usize>,
    /// Fraction in [0, 1) of the training labels replaced, seeded, by another class (for
    /// mislabel detection); validation and test labels are never corrupted.
    pub label_noise: f64,
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
    /// At most this many validation images feed the class means of D (the authors used 25,000),
    /// and, with `trust_mean_images` at `"all"`, at most this many training images (the first)
    /// those of the trust measurements.
    pub introspect_max_samples: usize,
    /// Which training images feed the class means of the trust measurements (the class-mean
    /// summary, activation confidence, mislabel scores): `"all"`, the first
    /// `introspect_max_samples` of the split, or a number, a seeded, class-stratified subset of
    /// that many (cheaper: the training accuracy reads every image either way). Left out of the
    /// serialised configuration at `"all"`, so configurations from before it keep their training hash.
    #[serde(skip_serializing_if = "ImageCount::is_all")]
    pub trust_mean_images: ImageCount,
    /// Measure validation accuracy and introspectability after every epoch on the first this
    /// many validation images (a fixed subset, cheap), kept in the record's `epochs`: what a
    /// script's early-stopping rule (`exp.stop_early`) decides on. `None`: only after training.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch_validation: Option<usize>,
    /// Weight of the introspectability regularizer in the training loss (appendix B: 0.5); 0 is off.
    pub regularizer: f64,
    /// Pair weights ω for the regularizer (eq. 5); `None` weighs every pair 1.
    pub omega: Option<PairWeights>,
    /// Measure the trust properties (class means from training data, calibration, misprediction
    /// and mislabel curves, appendix K both ways) after training; `false` keeps only the training
    /// and test accuracy.
    pub trust: bool,
    /// Arithmetic of training's convolutions and classifier: `fp32`, `bf16` (mixed: bf16
    /// compute, f32 weights, batch-norm statistics and loss; CUDA only) or `auto`. `auto` is
    /// fp32 for now: it switches to bf16 on CUDA only once `scripts/gpu-check.sh` has measured
    /// that bf16 keeps accuracy within noise. Validation and trust passes always run in fp32.
    pub precision: Precision,
    /// Train with images in channels-last (NHWC) layout, which cuDNN's fastest kernels use:
    /// `auto` (on for CUDA), `true` (CUDA only) or `false`. The same arithmetic in another order.
    pub channels_last: Switch,
    /// Let cuDNN time its convolution algorithms on the first batches and keep the fastest:
    /// `auto` (on for CUDA), `true` (CUDA only) or `false`.
    pub cudnn_benchmark: Switch,
}

fn held_out() -> ValidationSplit {
    ValidationSplit::HeldOut
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
            validation: ValidationSplit::TrainCount(5000),
            test_subset: None,
            label_noise: 0.0,
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
            trust_mean_images: ImageCount::All,
            epoch_validation: None,
            regularizer: 0.0,
            omega: None,
            trust: true,
            precision: Precision::Auto,
            channels_last: Switch::Auto,
            cudnn_benchmark: Switch::Auto,
        }
    }
}

/// A number of images to use, or all of them (`"all"` in scripts and records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImageCount {
    #[default]
    All,
    Count(usize),
}

impl ImageCount {
    pub fn is_all(&self) -> bool {
        *self == ImageCount::All
    }
}

impl std::fmt::Display for ImageCount {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            ImageCount::All => f.write_str("\"all\""),
            ImageCount::Count(n) => write!(f, "{n}"),
        }
    }
}

impl Serialize for ImageCount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ImageCount::All => serializer.serialize_str("all"),
            ImageCount::Count(n) => serializer.serialize_u64(*n as u64),
        }
    }
}

impl<'de> Deserialize<'de> for ImageCount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<ImageCount, D::Error> {
        struct ImageCountVisitor;
        impl serde::de::Visitor<'_> for ImageCountVisitor {
            type Value = ImageCount;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("\"all\" or a whole number of images")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<ImageCount, E> {
                usize::try_from(n)
                    .map(ImageCount::Count)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(n), &self))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<ImageCount, E> {
                u64::try_from(n)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(n), &self))
                    .and_then(|n| self.visit_u64(n))
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<ImageCount, E> {
                match text {
                    "all" => Ok(ImageCount::All),
                    other => other
                        .parse::<u64>()
                        .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(other), &self))
                        .and_then(|n| self.visit_u64(n)),
                }
            }
        }
        deserializer.deserialize_any(ImageCountVisitor)
    }
}

/// The `precision` training setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// fp32 until `scripts/gpu-check.sh` has measured bf16 against it (see [`EvalConfig::precision`]).
    #[default]
    Auto,
    Fp32,
    Bf16,
}

/// A setting that the device decides (`"auto"`) or the user turns on (`true`) or off (`false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Switch {
    #[default]
    Auto,
    On,
    Off,
}

impl Serialize for Switch {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Switch::Auto => serializer.serialize_str("auto"),
            Switch::On => serializer.serialize_bool(true),
            Switch::Off => serializer.serialize_bool(false),
        }
    }
}

impl<'de> Deserialize<'de> for Switch {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Switch, D::Error> {
        struct SwitchVisitor;
        impl serde::de::Visitor<'_> for SwitchVisitor {
            type Value = Switch;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("\"auto\", true or false")
            }
            fn visit_bool<E: serde::de::Error>(self, on: bool) -> Result<Switch, E> {
                Ok(if on { Switch::On } else { Switch::Off })
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Switch, E> {
                // `--set training.channels_last=true` arrives as text when it is not read as JSON.
                match text {
                    "auto" => Ok(Switch::Auto),
                    "true" => Ok(Switch::On),
                    "false" => Ok(Switch::Off),
                    other => Err(E::invalid_value(serde::de::Unexpected::Str(other), &self)),
                }
            }
        }
        deserializer.deserialize_any(SwitchVisitor)
    }
}

/// What training's arithmetic actually was on the device it ran on: the `auto` settings
/// resolved, and every CUDA-only setting off on a CPU. A record keeps it, so a result says its
/// precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputeSettings {
    /// `fp32` or `bf16`.
    pub precision: Precision,
    pub channels_last: bool,
    pub cudnn_benchmark: bool,
}

impl ComputeSettings {
    /// fp32, contiguous NCHW, no benchmark: the only arithmetic a CPU training uses.
    pub const PLAIN: ComputeSettings =
        ComputeSettings { precision: Precision::Fp32, channels_last: false, cudnn_benchmark: false };

    /// The settings `config` asks for on a CUDA device (`cuda`) or a CPU (`!cuda`). On a CPU
    /// everything is [`ComputeSettings::PLAIN`], whatever was asked: the CPU path never changes.
    pub fn resolve(config: &EvalConfig, cuda: bool) -> ComputeSettings {
        if !cuda {
            return ComputeSettings::PLAIN;
        }
        let switch = |s: Switch| !matches!(s, Switch::Off);
        ComputeSettings {
            precision: match config.precision {
                Precision::Bf16 => Precision::Bf16,
                Precision::Auto | Precision::Fp32 => Precision::Fp32,
            },
            channels_last: switch(config.channels_last),
            cudnn_benchmark: switch(config.cudnn_benchmark),
        }
    }
}

/// A training setting that no evaluation can run with, named as the config names it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("training setting {field} = {value}: must be {requirement}")]
pub struct ConfigError {
    pub field: &'static str,
    pub value: String,
    pub requirement: String,
}

/// The most memory a training may be estimated to need ([`EvalConfig::training_memory`]): more
/// than any single GPU or most machines have, so only a configuration no one can train is refused.
pub const MAX_TRAINING_MEMORY: u64 = 512 << 30;

/// Bytes in a human unit (`3.1 PiB`), for messages.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

impl EvalConfig {
    /// How many of a training split of `train` images feed the trust measurements' class means.
    pub fn trust_mean_image_count(&self, train: usize) -> usize {
        match self.trust_mean_images {
            ImageCount::All => self.introspect_max_samples.min(train),
            ImageCount::Count(n) => n.min(train),
        }
    }

    /// What the dataset readers need to know of this configuration to find and subset its files.
    pub fn load_options(&self) -> xnas_datasets::LoadOptions {
        xnas_datasets::LoadOptions {
            dataset: self.dataset,
            data_dir: self.data_dir.clone(),
            wnids_file: self.wnids_file.clone(),
            split: self.validation,
            train_subset: self.train_subset,
            val_subset: self.val_subset,
            test_subset: self.test_subset,
            label_noise: self.label_noise,
            seed: self.seed,
        }
    }

    /// An upper estimate of the memory training takes with this configuration: the space's
    /// largest cell (every edge a 3×3 conv) at these channels and cells, on batches of
    /// `batch_size` images of the dataset's shape (see [`xnas_space::training_memory`]).
    pub fn training_memory(&self) -> u64 {
        self.training_memory_with(self.channels)
    }

    fn training_memory_with(&self, channels: usize) -> u64 {
        let largest = xnas_space::Genome([xnas_space::Op::Conv3x3; xnas_space::NUM_EDGES]);
        let network = xnas_space::MacroConfig {
            channels,
            cells_per_stage: self.cells_per_stage,
            num_classes: self.dataset.num_classes(),
            input: self.dataset.image_shape(),
        };
        xnas_space::training_memory(&largest, &network, self.batch_size)
    }

    /// The most channels whose [`EvalConfig::training_memory`] stays within
    /// [`MAX_TRAINING_MEMORY`] at this configuration's cells, batch size and dataset (0 when
    /// not even one channel does).
    pub fn max_channels(&self) -> usize {
        let (mut fits, mut too_many) = (0usize, 1usize << 40);
        while too_many - fits > 1 {
            let middle = fits + (too_many - fits) / 2;
            if self.training_memory_with(middle) <= MAX_TRAINING_MEMORY {
                fits = middle;
            } else {
                too_many = middle;
            }
        }
        fits
    }

    /// Rejects settings that would make every training fail (or silently train nothing): a
    /// negative or NaN learning rate, zero epochs, an empty subset, an unknown device name, a
    /// network too large for any machine, a validation split or subset too small to score.
    /// Checked before any training starts, by `xnas eval`, `xnas check` and at run start, so
    /// that a typo costs an error message and not a run's worth of failed children.
    pub fn validate(&self) -> Result<(), ConfigError> {
        fn require(
            ok: bool,
            field: &'static str,
            value: impl ToString,
            requirement: impl Into<String>,
        ) -> Result<(), ConfigError> {
            if ok {
                Ok(())
            } else {
                Err(ConfigError { field, value: value.to_string(), requirement: requirement.into() })
            }
        }
        let classes = self.dataset.num_classes();
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
        let memory = self.training_memory();
        if memory > MAX_TRAINING_MEMORY {
            let (c, h, w) = self.dataset.image_shape();
            let most = self.max_channels();
            let requirement = format!(
                "at most {most} with {} cells per stage, batch_size {} and {}'s {c}×{h}×{w} images: the largest \
                 cell would need {} to train (weights, gradients, momentum and a batch's activations), over \
                 the bound of {}; lower the channels, the cells or the batch size",
                self.cells_per_stage,
                self.batch_size,
                self.dataset,
                if memory == u64::MAX {
                    "more than 16 EiB".to_string()
                } else {
                    format!("about {}", human_bytes(memory))
                },
                human_bytes(MAX_TRAINING_MEMORY)
            );
            require(false, "channels", self.channels, requirement)?;
        }
        require(self.introspect_max_samples >= 1, "introspect_max_samples", self.introspect_max_samples, "at least 1")?;
        if let ImageCount::Count(n) = self.trust_mean_images {
            let requirement = format!(
                "\"all\" or at least {classes} images, one per class of {} (a smaller subset leaves a class \
                 without a mean)",
                self.dataset
            );
            require(n >= classes, "trust_mean_images", n, requirement)?;
        }
        require(
            self.epoch_validation.is_none_or(|n| n >= 1),
            "epoch_validation",
            self.epoch_validation.map_or_else(|| "unset".to_string(), |n| n.to_string()),
            "at least 1 image (or unset)",
        )?;
        // A stratified subset smaller than the class count leaves classes without an image:
        // training cannot learn them and the validation measurements (introspectability needs
        // class means) cannot score.
        for (field, subset) in [("train_subset", self.train_subset), ("val_subset", self.val_subset)] {
            if let Some(n) = subset {
                let requirement = format!(
                    "at least {classes} images, one per class of {} (leave it out to use the whole split)",
                    self.dataset
                );
                require(n >= classes.max(2), field, n, requirement)?;
            }
        }
        if let Some(n) = self.test_subset {
            require(n >= 1, "test_subset", n, "at least 1 image (leave it out to use the whole split)")?;
        }
        require((0.0..1.0).contains(&self.label_noise), "label_noise", self.label_noise, "a fraction in [0, 1)")?;
        let validation_ok = match self.validation {
            ValidationSplit::HeldOut => true,
            ValidationSplit::TrainFraction(x) => x > 0.0 && x < 1.0,
            ValidationSplit::TrainCount(n) => n >= classes,
        };
        require(
            validation_ok,
            "validation",
            self.validation,
            format!(
                "\"held-out\", a fraction of the training images above 0 and below 1 (e.g. 0.1), or a whole \
                 number of training images of at least {classes}, one per class of {}",
                self.dataset
            ),
        )?;
        require(is_device_name(&self.device), "device", format!("{:?}", self.device), "cpu, cuda, cuda:N or auto")?;
        // On a CPU these are ignored; asking for them by name on one is a mistake worth a message.
        let cpu = self.device.trim() == "cpu";
        require(!(cpu && self.precision == Precision::Bf16), "precision", "\"bf16\"", CUDA_ONLY)?;
        require(!(cpu && self.channels_last == Switch::On), "channels_last", true, CUDA_ONLY)?;
        require(!(cpu && self.cudnn_benchmark == Switch::On), "cudnn_benchmark", true, CUDA_ONLY)
    }
}

const CUDA_ONLY: &str = "\"auto\" or off with device \"cpu\" (it is a CUDA setting)";

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
    /// The script's early-stopping rule stopped the training after an epoch: the measurements
    /// are those of that epoch on the per-epoch validation subset (the last of `epochs`); the
    /// trust measurements are not taken. Scored like any record, never trained again.
    Stopped,
}

/// The per-epoch measurement of a training (`EvalConfig::epoch_validation`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochPoint {
    /// 1-based: the epoch just finished.
    pub epoch: usize,
    /// Accuracy on the per-epoch validation subset.
    pub val_accuracy: f64,
    /// Introspectability (eq. 1) on that subset; `None` when it is undefined (a class without images).
    pub introspectability: Option<f64>,
    /// Images of the subset.
    pub images: usize,
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
    /// Per-epoch measurements, when the config asked for them (`epoch_validation`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub epochs: Vec<EpochPoint>,
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
    /// Which images each split had (absent in records written before splits were recorded).
    #[serde(default)]
    pub splits: Option<SplitRecord>,
    /// Fraction of the (unaugmented) training images classified correctly after training; with
    /// `val_accuracy` it gives the generalization error (appendix J).
    #[serde(default)]
    pub train_accuracy: Option<f64>,
    /// Accuracy and mean cross entropy on the test split, which the search never sees.
    #[serde(default)]
    pub test_accuracy: Option<f64>,
    #[serde(default)]
    pub test_loss: Option<f64>,
    /// The class means from training data that activation calibration (§4.5) compares against,
    /// in the compact forms figures 5 and 6 draw.
    #[serde(default)]
    pub class_means: Option<ClassMeanSummary>,
    /// The class means of the validation pass, those D and introspectability are measured on
    /// (and those the authors saved), in the same compact forms: what figures 5 and 6 draw.
    /// Absent in records written before they were kept.
    #[serde(default)]
    pub validation_class_means: Option<ClassMeanSummary>,
    /// Activation-based and softmax calibration on the test split (§4.5, figure 7).
    #[serde(default)]
    pub calibration: Option<Calibration>,
    /// Misprediction identification on the test split (figure 8 top).
    #[serde(default)]
    pub mispredictions: Option<RemovalCurves>,
    /// Mislabel detection on the training split; only when the dataset's labels were corrupted
    /// on purpose (`label_noise`, figure 8 bottom).
    #[serde(default)]
    pub mislabels: Option<RemovalCurves>,
    /// Appendix K: correlation between −D and the folded confusion matrix, both ways.
    #[serde(default)]
    pub confusion_correlation: Option<ConfusionCorrelation>,
    /// Seconds the measurements above added to the evaluation (with `trust` off, only the
    /// training- and test-accuracy passes).
    #[serde(default)]
    pub trust_seconds: f64,
    /// The arithmetic training used (absent in records written before it was recorded: fp32,
    /// NCHW, then the only kind there was).
    #[serde(default)]
    pub compute: Option<ComputeSettings>,
    /// Set when the record was not measured by this run but replayed from a table (`xnas run
    /// --table`): the table's run folder and evaluation id. Absent in trained records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed_from: Option<String>,
}

/// Which images trained, validated and tested one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitRecord {
    pub train: usize,
    pub validation: usize,
    pub test: usize,
    /// `"train"` (a seeded, class-stratified part of the official training split) or
    /// `"held-out"` (the official test split, as the authors' code did: then validation and test
    /// are the same images, and the record says so here).
    pub validation_from: String,
    /// The seed of the split, the subsets and the label corruption.
    pub seed: u64,
    /// Fraction of training labels corrupted on purpose (0: none).
    pub label_noise: f64,
    /// Indices (into the training images as trained) whose label was corrupted, ascending.
    pub corrupted_labels: Vec<u32>,
}

/// Class-mean activations of one split (training data for the trust measurements, the
/// validation pass for introspectability), kept small: `N_C × blocks` and `N_C × 2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMeanSummary {
    /// Images that fed the means.
    pub images: usize,
    /// The network's blocks in forward order (stem, cells of each stage, reductions, head).
    pub blocks: Vec<String>,
    /// `block_means[class][block]`: the class's z-scored mean activation, averaged over the
    /// block's tapped layers (figure 5's heat map).
    pub block_means: Vec<Vec<f64>>,
    /// The class means projected on their first two principal components (figure 6).
    pub pca: Vec<[f64; 2]>,
    /// Fraction of the class means' variance each of the two components explains.
    pub pca_explained: [f64; 2],
}

/// Both calibrations of §4.5, measured on the same test images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Confidence = cosine similarity between a sample's activations and its predicted class's
    /// mean from training data.
    pub activation: CalibrationQuality,
    /// Confidence = the softmax probability of the predicted class.
    pub softmax: CalibrationQuality,
}

/// How well one confidence score tracks accuracy, over 50 linear bins of confidence in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationQuality {
    /// Pearson ρ between the bins' mean confidence and accuracy (non-empty bins).
    pub pearson: Option<f64>,
    /// Spearman ρ between the same.
    pub spearman: Option<f64>,
    /// Expected calibration error: Σ_bins (n_b / n) |accuracy_b − confidence_b|.
    pub ece: f64,
    pub bins: Vec<CalibrationBin>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    pub lower: f64,
    pub upper: f64,
    pub count: u64,
    pub mean_confidence: Option<f64>,
    pub accuracy: Option<f64>,
}

/// A curve over `percent` = the lowest-scoring p % of samples removed (or flagged), p = 0…50,
/// for the activation score and for softmax. For mispredictions the values are the accuracy
/// of the samples that remain; for mislabels, the fraction of all corrupted labels that lie
/// among the flagged samples (the detection rate: chance gives p %).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemovalCurves {
    pub percent: Vec<f64>,
    pub activation: Vec<f64>,
    pub softmax: Vec<f64>,
}

/// Appendix K's ρ(−D, folded confusion): the paper reports it with the diagonal (true positives
/// against 0) — its 0.85 / 0.59 / 0.81 — and without it, which is the one that measures
/// confounding between classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfusionCorrelation {
    pub with_diagonal: Correlation,
    pub without_diagonal: Correlation,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    pub pearson: Option<f64>,
    pub spearman: Option<f64>,
}

impl From<crate::introspect::calibration::BinnedCalibration> for CalibrationQuality {
    fn from(binned: crate::introspect::calibration::BinnedCalibration) -> Self {
        CalibrationQuality {
            pearson: binned.pearson,
            spearman: binned.spearman,
            ece: binned.ece,
            bins: binned
                .bins
                .into_iter()
                .map(|b| CalibrationBin {
                    lower: b.lower,
                    upper: b.upper,
                    count: b.count,
                    mean_confidence: b.mean_confidence,
                    accuracy: b.accuracy,
                })
                .collect(),
        }
    }
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
            Status::Stopped => format!(
                "{} stopped early after epoch {} of {}: acc {} introspectability {} (on {} validation images)",
                self.genome,
                self.epochs.last().map_or(0, |p| p.epoch),
                self.config.epochs,
                pct(self.val_accuracy),
                num(self.introspectability),
                self.val_images
            ),
        }
    }
}

/// A plausible, deterministic measurement record for `genome` under `config`: one class per
/// dataset label, accuracy around 0.87, a diagonal-heavy confusion matrix, a symmetric distance
/// matrix D with values in 0.15..0.65, introspectability (eq. 1) from D, the real parameter
/// and FLOP counts, and trust measurements (calibration, removal curves, class-mean summary,
/// appendix K) computed by the real formulas from synthetic per-sample scores. Nothing is trained.
pub fn synthetic_record(config: &EvalConfig, genome: &Genome) -> MeasurementRecord {
    let n = config.dataset.num_classes();
    let class_names: Vec<String> = match xnas_datasets::class_names(config.dataset) {
        Some(names) => names.iter().map(|s| s.to_string()).collect(),
        None => (0..n).map(|c| format!("class{c}")).collect(),
    };
    let per_class: Vec<f64> = (0..n).map(|c| 0.80 + 0.015 * (c % 10) as f64).collect();
    let per_class_val = 50u64;
    let confusion: Vec<Vec<u64>> = (0..n)
        .map(|c| {
            let right = (per_class[c] * per_class_val as f64).round() as u64;
            (0..n)
                .map(|k| match k {
                    _ if k == c => right,
                    _ if k == (c + 1) % n => per_class_val - right,
                    _ => 0,
                })
                .collect()
        })
        .collect();
    let correct: u64 = (0..n).map(|c| confusion[c][c]).sum();
    let val_images = n * per_class_val as usize;
    let distance: introspect::DistanceMatrix = (0..n)
        .map(|c| {
            (0..n)
                .map(|k| {
                    let (a, b) = (c.min(k), c.max(k));
                    Some(if a == b { 0.0 } else { 0.15 + 0.05 * ((a * 7 + b * 3 + a * b) % 11) as f64 })
                })
                .collect()
        })
        .collect();
    let macro_config = MacroConfig {
        channels: config.channels,
        cells_per_stage: config.cells_per_stage,
        num_classes: n,
        input: config.dataset.image_shape(),
    };
    let mut record = MeasurementRecord {
        arch: genome.arch_string(),
        genome: genome.compact(),
        config: config.clone(),
        status: Status::Done,
        error: None,
        class_names,
        train_images: config.train_subset.unwrap_or(50_000),
        val_images,
        val_accuracy: Some(correct as f64 / val_images as f64),
        val_loss: Some(0.38),
        train_loss_per_epoch: (0..config.epochs).map(|e| 1.2 / (e + 1) as f64).collect(),
        epochs: Vec::new(),
        per_class_accuracy: per_class
            .iter()
            .map(|&a| Some((a * per_class_val as f64).round() / per_class_val as f64))
            .collect(),
        confusion,
        introspectability: introspect::introspectability(&distance),
        class_distance: distance,
        introspect_images: val_images,
        tapped_features: 4096,
        tapped_layers: 12,
        params: xnas_space::params(genome, &macro_config),
        flops: xnas_space::flops(genome, &macro_config),
        train_seconds: 1.0,
        eval_seconds: 0.1,
        train_images_per_second: 1000.0,
        device: "cpu".into(),
        xnas_version: env!("CARGO_PKG_VERSION").into(),
        splits: None,
        train_accuracy: None,
        test_accuracy: None,
        test_loss: None,
        class_means: None,
        validation_class_means: None,
        calibration: None,
        mispredictions: None,
        mislabels: None,
        confusion_correlation: None,
        trust_seconds: 0.08,
        compute: Some(ComputeSettings::PLAIN),
        replayed_from: None,
    };
    add_synthetic_trust(&mut record, config, &macro_config);
    record
}

/// The trust fields of [`synthetic_record`]: 500 test samples whose correctness follows their
/// confidence (so both calibrations are good, activation a little less), and with label noise
/// 200 training samples of which the corrupted ones score low.
fn add_synthetic_trust(record: &mut MeasurementRecord, config: &EvalConfig, macro_config: &MacroConfig) {
    let n = record.class_names.len();
    let samples = 500;
    // A fixed, well-spread sequence in [0, 1) (golden-ratio steps) stands in for random draws.
    let spread = |i: usize| (i as f64 * 0.618_033_988_749_895).fract();
    let softmax: Vec<f64> = (0..samples).map(|i| 0.3 + 0.7 * spread(i)).collect();
    let activation: Vec<f64> = (0..samples).map(|i| 0.2 + 0.6 * spread(i) + 0.1 * spread(7 * i)).collect();
    let correct: Vec<bool> = (0..samples).map(|i| spread(3 * i + 1) < softmax[i]).collect();
    let percents = removal_percents();
    let defined = |points: Vec<Option<f64>>| points.into_iter().map(|p| p.unwrap_or(0.0)).collect::<Vec<f64>>();
    let train = config.train_subset.unwrap_or(50_000);
    let noisy = 200;
    let corrupted_labels: Vec<u32> = (0..noisy as u32)
        .filter(|i| config.label_noise > 0.0 && spread(*i as usize * 5) < config.label_noise)
        .collect();
    let mislabels = (!corrupted_labels.is_empty()).then(|| {
        let truth: Vec<bool> = (0..noisy as u32).map(|i| corrupted_labels.contains(&i)).collect();
        let score = |shift: f64| -> Vec<f64> {
            truth.iter().enumerate().map(|(i, &t)| spread(11 * i) - if t { shift } else { 0.0 }).collect()
        };
        RemovalCurves {
            activation: defined(detection_after_flagging(&score(0.5), &truth, &percents)),
            softmax: defined(detection_after_flagging(&score(0.3), &truth, &percents)),
            percent: percents.clone(),
        }
    });
    let blocks = introspect::summary::network_blocks(
        &"002404".parse().expect("a fixed genome"),
        macro_config.cells_per_stage,
        config.taps,
    );
    let without = introspect::confusion_diagnostic(&record.class_distance, &record.confusion);
    let (pearson, spearman) =
        introspect::confusion_correlation_with_diagonal(&record.class_distance, &record.confusion);
    let test = config.test_subset.unwrap_or(10_000);
    *record = MeasurementRecord {
        splits: Some(SplitRecord {
            train,
            validation: record.val_images,
            test,
            validation_from: match config.validation {
                xnas_datasets::ValidationSplit::HeldOut => "held-out".into(),
                _ => "train".into(),
            },
            seed: config.seed,
            label_noise: config.label_noise,
            corrupted_labels,
        }),
        train_accuracy: Some(0.93),
        test_accuracy: Some(correct.iter().filter(|&&c| c).count() as f64 / samples as f64),
        test_loss: Some(0.4),
        class_means: Some(ClassMeanSummary {
            images: config.trust_mean_image_count(train),
            block_means: (0..n).map(|c| (0..blocks.len()).map(|b| spread(c * 13 + b) * 2.0 - 1.0).collect()).collect(),
            blocks: blocks.iter().map(|b| b.name.clone()).collect(),
            pca: (0..n).map(|c| [spread(c * 3) - 0.5, spread(c * 3 + 1) - 0.5]).collect(),
            pca_explained: [0.45, 0.2],
        }),
        // Other draws than the training means': a figure shows which of the two it drew.
        validation_class_means: Some(ClassMeanSummary {
            images: record.introspect_images,
            block_means: (0..n).map(|c| (0..blocks.len()).map(|b| spread(c * 17 + b) * 2.0 - 1.0).collect()).collect(),
            blocks: blocks.into_iter().map(|b| b.name).collect(),
            pca: (0..n).map(|c| [spread(c * 5) - 0.5, spread(c * 5 + 2) - 0.5]).collect(),
            pca_explained: [0.5, 0.25],
        }),
        calibration: Some(Calibration {
            activation: binned_calibration(&activation, &correct, CALIBRATION_BINS).into(),
            softmax: binned_calibration(&softmax, &correct, CALIBRATION_BINS).into(),
        }),
        mispredictions: Some(RemovalCurves {
            activation: defined(accuracy_after_removal(&activation, &correct, &percents)),
            softmax: defined(accuracy_after_removal(&softmax, &correct, &percents)),
            percent: percents,
        }),
        mislabels,
        confusion_correlation: Some(ConfusionCorrelation {
            with_diagonal: Correlation { pearson, spearman },
            without_diagonal: Correlation { pearson: without.pearson, spearman: without.spearman },
        }),
        ..record.clone()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_recipe_is_valid() {
        EvalConfig::default().validate().unwrap();
    }

    /// `trust_mean_images` reads `"all"`, a number, or a number as text (`--set`), refuses the
    /// rest, and a subset with fewer images than classes is named with the fix.
    #[test]
    fn trust_mean_images_reads_all_or_a_count() {
        let read = |json: &str| serde_json::from_str::<ImageCount>(json);
        assert_eq!(read("\"all\"").unwrap(), ImageCount::All);
        assert_eq!(read("500").unwrap(), ImageCount::Count(500));
        assert_eq!(read("\"500\"").unwrap(), ImageCount::Count(500));
        assert!(read("-1").is_err() && read("\"some\"").is_err() && read("0.5").is_err());
        assert_eq!(serde_json::to_string(&ImageCount::Count(7)).unwrap(), "7");
        let few = EvalConfig { trust_mean_images: ImageCount::Count(9), ..EvalConfig::default() };
        let error = few.validate().unwrap_err();
        assert_eq!(error.field, "trust_mean_images");
        assert!(error.requirement.contains("at least 10 images"), "{error}");
        EvalConfig { trust_mean_images: ImageCount::Count(10), ..EvalConfig::default() }.validate().unwrap();
        assert_eq!(few.trust_mean_image_count(5), 5, "never more than the split holds");
        assert_eq!(EvalConfig::default().trust_mean_image_count(30_000), 25_000, "\"all\": introspect_max_samples");
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
        assert_eq!(bad(|c| c.test_subset = Some(0)).field, "test_subset");
        assert_eq!(bad(|c| c.label_noise = 1.0).field, "label_noise");
        assert_eq!(bad(|c| c.label_noise = -0.1).field, "label_noise");
        assert_eq!(bad(|c| c.validation = ValidationSplit::TrainCount(0)).field, "validation");
        assert_eq!(bad(|c| c.device = "cuda:x".into()).field, "device");
        let message = bad(|c| c.lr = -1.0).to_string();
        assert_eq!(message, "training setting lr = -1: must be a finite number > 0");
    }

    #[test]
    fn subsets_and_validation_counts_hold_one_image_per_class_and_fractions_stay_below_one() {
        let check = |edit: fn(&mut EvalConfig)| {
            let mut config = EvalConfig::default();
            edit(&mut config);
            config.validate()
        };
        for (field, error) in [
            ("val_subset", check(|c| c.val_subset = Some(1)).unwrap_err()),
            ("val_subset", check(|c| c.val_subset = Some(9)).unwrap_err()),
            ("train_subset", check(|c| c.train_subset = Some(1)).unwrap_err()),
            ("validation", check(|c| c.validation = ValidationSplit::TrainCount(1)).unwrap_err()),
            ("validation", check(|c| c.validation = ValidationSplit::TrainFraction(1.0)).unwrap_err()),
        ] {
            assert_eq!(error.field, field, "{error}");
            assert!(error.requirement.contains("at least 10") || error.requirement.contains("below 1"), "{error}");
        }
        check(|c| c.val_subset = Some(10)).unwrap();
        check(|c| c.validation = ValidationSplit::TrainCount(10)).unwrap();
        check(|c| c.validation = ValidationSplit::TrainFraction(0.999)).unwrap();
        check(|c| c.test_subset = Some(1)).unwrap();
        let mut imagenet = EvalConfig { dataset: DatasetName::ImageNet16_120, ..EvalConfig::default() };
        imagenet.val_subset = Some(100);
        assert!(imagenet.validate().unwrap_err().requirement.contains("at least 120 images"));
    }

    #[test]
    fn networks_beyond_the_memory_bound_are_refused_with_the_largest_that_fits() {
        let config = EvalConfig::default();
        assert!(config.training_memory() < MAX_TRAINING_MEMORY, "the paper's network fits");
        let most = config.max_channels();
        assert!(most > 16 && most < 100_000, "{most}");
        let at = |channels: usize| EvalConfig { channels, ..config.clone() };
        assert!(at(most).training_memory() <= MAX_TRAINING_MEMORY);
        assert!(at(most + 1).training_memory() > MAX_TRAINING_MEMORY);
        at(most).validate().unwrap();
        let error = at(most + 1).validate().unwrap_err();
        assert_eq!(error.field, "channels");
        assert!(
            error
                .requirement
                .starts_with(&format!("at most {most} with 5 cells per stage, batch_size {}", config.batch_size)),
            "{error}"
        );
        let error = at(10_000_000).validate().unwrap_err();
        assert!(error.requirement.contains("PiB") || error.requirement.contains("EiB"), "{error}");
        let error = at(usize::MAX / 4).validate().unwrap_err();
        assert!(error.requirement.contains("more than 16 EiB"), "{error}");
        // A larger batch leaves room for fewer channels.
        assert!(EvalConfig { batch_size: 4096, ..config.clone() }.max_channels() < most);
        assert_eq!(human_bytes(512 << 30), "512.0 GiB");
        assert_eq!(human_bytes(100), "100 B");
    }

    /// A record written before the splits existed validated on the held-out split; it still reads,
    /// and says so.
    #[test]
    fn configs_without_the_split_settings_read_as_held_out() {
        let mut value = serde_json::to_value(EvalConfig::default()).unwrap();
        for key in ["validation", "test_subset", "label_noise", "trust"] {
            value.as_object_mut().unwrap().remove(key);
        }
        let old: EvalConfig = serde_json::from_value(value).unwrap();
        assert_eq!(old.validation, ValidationSplit::HeldOut);
        assert_eq!((old.test_subset, old.label_noise, old.trust), (None, 0.0, true));
        assert_eq!(EvalConfig::default().validation, ValidationSplit::TrainCount(5000));
    }

    #[test]
    fn the_cuda_settings_read_write_and_resolve() {
        let config: EvalConfig =
            serde_json::from_str(r#"{"precision": "bf16", "channels_last": false, "cudnn_benchmark": "auto"}"#)
                .unwrap();
        assert_eq!(config.precision, Precision::Bf16);
        assert_eq!((config.channels_last, config.cudnn_benchmark), (Switch::Off, Switch::Auto));
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(
            (&json["precision"], &json["channels_last"], &json["cudnn_benchmark"]),
            (&serde_json::json!("bf16"), &serde_json::json!(false), &serde_json::json!("auto"))
        );
        let err = serde_json::from_str::<EvalConfig>(r#"{"channels_last": 1}"#).unwrap_err().to_string();
        assert!(err.contains("expected \"auto\", true or false"), "{err}");

        // A CPU always trains plainly, whatever was asked; CUDA's auto is fp32 with the layout
        // and benchmark on until gpu-check has measured bf16.
        assert_eq!(ComputeSettings::resolve(&config, false), ComputeSettings::PLAIN);
        let all_on = EvalConfig { channels_last: Switch::On, cudnn_benchmark: Switch::On, ..config.clone() };
        assert_eq!(ComputeSettings::resolve(&all_on, false), ComputeSettings::PLAIN);
        let auto = ComputeSettings::resolve(&EvalConfig::default(), true);
        assert_eq!(auto, ComputeSettings { precision: Precision::Fp32, channels_last: true, cudnn_benchmark: true });
        let asked = ComputeSettings::resolve(&config, true);
        assert_eq!(asked, ComputeSettings { precision: Precision::Bf16, channels_last: false, cudnn_benchmark: true });

        // Old configs read as auto; asking a CPU by name for a CUDA setting is refused.
        let mut old = serde_json::to_value(EvalConfig::default()).unwrap();
        for key in ["precision", "channels_last", "cudnn_benchmark"] {
            old.as_object_mut().unwrap().remove(key);
        }
        let old: EvalConfig = serde_json::from_value(old).unwrap();
        assert_eq!(
            (old.precision, old.channels_last, old.cudnn_benchmark),
            (Precision::Auto, Switch::Auto, Switch::Auto)
        );
        let cpu = |edit: fn(&mut EvalConfig)| {
            let mut c = EvalConfig { device: "cpu".into(), ..EvalConfig::default() };
            edit(&mut c);
            c.validate()
        };
        let err = cpu(|c| c.precision = Precision::Bf16).unwrap_err();
        assert_eq!(
            err.to_string(),
            "training setting precision = \"bf16\": must be \"auto\" or off with device \"cpu\" (it is a CUDA setting)"
        );
        assert_eq!(cpu(|c| c.channels_last = Switch::On).unwrap_err().field, "channels_last");
        assert_eq!(cpu(|c| c.cudnn_benchmark = Switch::On).unwrap_err().field, "cudnn_benchmark");
        cpu(|c| (c.precision, c.channels_last) = (Precision::Fp32, Switch::Off)).unwrap();
        EvalConfig { precision: Precision::Bf16, device: "cuda".into(), ..EvalConfig::default() }.validate().unwrap();
    }

    /// A record stored before the validation class means were kept reads with none, the rest
    /// unchanged; a new one keeps them through JSON.
    #[test]
    fn a_record_without_validation_class_means_reads() {
        let config = EvalConfig { channels: 4, cells_per_stage: 1, ..EvalConfig::default() };
        let record = synthetic_record(&config, &"002404".parse().unwrap());
        assert!(record.validation_class_means.is_some());
        let mut old = serde_json::to_value(&record).unwrap();
        assert!(old.as_object_mut().unwrap().remove("validation_class_means").is_some());
        let read: MeasurementRecord = serde_json::from_value(old).unwrap();
        assert_eq!(read.validation_class_means, None);
        assert_eq!(MeasurementRecord { validation_class_means: record.validation_class_means.clone(), ..read }, record);
        let again: MeasurementRecord = serde_json::from_value(serde_json::to_value(&record).unwrap()).unwrap();
        assert_eq!(again.validation_class_means, record.validation_class_means);
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

    #[test]
    fn synthetic_record_is_consistent() {
        let config = EvalConfig { channels: 8, cells_per_stage: 1, ..EvalConfig::default() };
        let genome: Genome = "002404".parse().unwrap();
        let r = synthetic_record(&config, &genome);
        assert_eq!(r.class_names.len(), 10);
        let correct: u64 = (0..10).map(|c| r.confusion[c][c]).sum();
        assert_eq!(r.val_accuracy, Some(correct as f64 / 500.0));
        assert!(r.confusion.iter().all(|row| row.iter().sum::<u64>() == 50));
        for c in 0..10 {
            for k in 0..10 {
                assert_eq!(r.class_distance[c][k], r.class_distance[k][c]);
            }
        }
        assert_eq!(r.introspectability, introspect::introspectability(&r.class_distance));
        let mc = MacroConfig { channels: 8, cells_per_stage: 1, num_classes: 10, input: (1, 28, 28) };
        assert_eq!(r.params, xnas_space::params(&genome, &mc));
    }
}
