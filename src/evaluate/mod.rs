//! Train and measure one architecture: genome + config → [`MeasurementRecord`] (the validation
//! pass in `measure`, the trust measurements on the training and test splits in [`trust`]); save
//! the trained model beside its record ([`saved`]) and export it for PyTorch ([`export`]);
//! fine-tune a saved model to repair a confounded class pair ([`finetune`]).
//!
//! This is the unit of work of a search. A configuration problem (unknown device, missing data,
//! invalid genome, a bad ω) is an error; a training problem (NaN loss) is a record with status
//! `failed`, so a search can go on.

pub mod export;
pub mod finetune;
mod measure;
mod saved;
pub mod trust;

use tch::{nn, Device, Kind, Tensor};
use xnas_datasets::Dataset;
use xnas_space::{Genome, MacroConfig};

pub use measure::{measure, Measurement, ValidationProgress};
pub use saved::{load_model, load_network, read_model_input, read_saved_record, save_model, ModelInput};

use crate::data::{Augmenter, DeviceImages, Normalizer};
use crate::introspect::WeightsError;
use crate::nn::Network;
use crate::record::{ComputeSettings, EpochPoint, EvalConfig, MeasurementRecord, SplitRecord, Status};
use crate::train::{train_stoppable, Regularizer, TrainProgress};

/// Why an evaluation could not start.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{genome} is not a valid architecture: no path from the cell input to its output avoids 'none' edges, so the network would ignore its input")]
    InvalidGenome { genome: String },
    #[error("unknown device {0:?}; use cpu, cuda, cuda:N or auto")]
    UnknownDevice(String),
    #[error("device {requested} was asked for but {reason}")]
    DeviceUnavailable { requested: String, reason: String },
    #[error(transparent)]
    Data(#[from] xnas_datasets::DataError),
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error("{what} {path}: {message}")]
    Model { what: &'static str, path: String, message: String },
}

/// Resolves `cpu`, `cuda`, `cuda:N` or `auto` (CUDA when there is a GPU, else CPU).
pub fn resolve_device(name: &str) -> Result<Device, EvalError> {
    let gpus = tch::Cuda::device_count();
    let cuda = |index: usize| {
        if (index as i64) < gpus {
            Ok(Device::Cuda(index))
        } else {
            Err(EvalError::DeviceUnavailable {
                requested: name.to_string(),
                reason: match gpus {
                    0 => "libtorch sees no CUDA device (no GPU, no driver, or a CPU-only libtorch)".into(),
                    n => format!("libtorch sees only {n} CUDA device(s): cuda:0..cuda:{}", n - 1),
                },
            })
        }
    };
    match name.trim() {
        "cpu" => Ok(Device::Cpu),
        "auto" => Ok(if gpus > 0 { Device::Cuda(0) } else { Device::Cpu }),
        "cuda" | "gpu" => cuda(0),
        other => match other.strip_prefix("cuda:").and_then(|i| i.parse::<usize>().ok()) {
            Some(index) => cuda(index),
            None => Err(EvalError::UnknownDevice(other.to_string())),
        },
    }
}

/// Reads the dataset a config asks for (subsets, split and seed included).
pub fn load_dataset(config: &EvalConfig) -> Result<Dataset, EvalError> {
    Ok(xnas_datasets::load(&config.load_options())?)
}

/// The macro settings a config implies for a dataset.
pub fn macro_config(config: &EvalConfig, dataset: &Dataset) -> MacroConfig {
    let t = &dataset.train;
    MacroConfig {
        channels: config.channels,
        cells_per_stage: config.cells_per_stage,
        num_classes: dataset.class_names.len(),
        input: (t.channels, t.height, t.width),
    }
}

/// A dataset moved to a device, with what training and measuring need around it.
pub struct Prepared {
    pub device: Device,
    pub macro_config: MacroConfig,
    pub norm: Normalizer,
    pub train: DeviceImages,
    pub validation: DeviceImages,
    /// The test split, which only the trust measurements see.
    pub test: DeviceImages,
    pub augmenter: Option<Augmenter>,
}

impl Prepared {
    pub fn new(config: &EvalConfig, dataset: &Dataset) -> Result<Prepared, EvalError> {
        let device = resolve_device(&config.device)?;
        let macro_config = macro_config(config, dataset);
        let (mean, std) = dataset.train.channel_mean_std();
        Ok(Prepared {
            device,
            norm: Normalizer::new(&mean, &std, device),
            train: DeviceImages::new(&dataset.train, device),
            validation: DeviceImages::new(&dataset.validation, device),
            test: DeviceImages::new(&dataset.test, device),
            augmenter: config.augment.then(|| Augmenter::new(dataset.train.height, dataset.train.width)),
            macro_config,
        })
    }

    /// Whether this preparation of `dataset` is the one `config` would make: the same device,
    /// augmentation and network size (the dataset itself is the caller's to match).
    pub fn serves(&self, config: &EvalConfig, dataset: &Dataset) -> bool {
        resolve_device(&config.device).is_ok_and(|device| device == self.device)
            && config.augment == self.augmenter.is_some()
            && macro_config(config, dataset) == self.macro_config
    }

    /// The regularizer a config asks for, with ω checked against the class count.
    pub fn regularizer(&self, config: &EvalConfig) -> Result<Option<Regularizer>, EvalError> {
        if config.regularizer == 0.0 {
            return Ok(None);
        }
        let k = self.macro_config.num_classes;
        let dense = match &config.omega {
            Some(weights) => weights.dense(k)?,
            None => vec![vec![1.0; k]; k],
        };
        let flat: Vec<f64> = dense.into_iter().flatten().collect();
        let omega = Tensor::from_slice(&flat).view([k as i64, k as i64]).to_kind(Kind::Float).to_device(self.device);
        Ok(Some(Regularizer { weight: config.regularizer, omega, num_classes: k }))
    }
}

/// Events for a progress display.
#[derive(Debug, Clone, Copy)]
pub enum EvalProgress {
    Training(TrainProgress),
    Validating(ValidationProgress),
    Trust(trust::TrustProgress),
}

/// A trained network and the variables it lives in.
pub struct TrainedModel {
    pub vs: nn::VarStore,
    pub net: Network,
}

/// Trains `genome` with `config` on `dataset` and measures it.
pub fn evaluate(
    genome: &Genome,
    config: &EvalConfig,
    dataset: &Dataset,
    progress: &mut dyn FnMut(EvalProgress),
) -> Result<MeasurementRecord, EvalError> {
    evaluate_model(genome, config, dataset, progress).map(|(record, _)| record)
}

/// As [`evaluate`], and hands back the trained model (e.g. to save it).
pub fn evaluate_model(
    genome: &Genome,
    config: &EvalConfig,
    dataset: &Dataset,
    progress: &mut dyn FnMut(EvalProgress),
) -> Result<(MeasurementRecord, TrainedModel), EvalError> {
    if !genome.is_valid() {
        return Err(EvalError::InvalidGenome { genome: genome.arch_string() });
    }
    let prepared = Prepared::new(config, dataset)?;
    evaluate_prepared(genome, config, dataset, &prepared, progress, &mut |_| false)
}

/// As [`evaluate_model`], on a dataset already on its device: a long-lived worker keeps one
/// [`Prepared`] for every evaluation of the same data and device (see [`Prepared::serves`]).
/// Everything an evaluation draws at random comes from `config.seed`, so the result is the same
/// as with a fresh copy.
///
/// With `config.epoch_validation`, every epoch but the last is measured on that many validation
/// images and `decide` is asked whether to stop there: a stopped training's record says
/// [`Status::Stopped`] and holds that measurement, without the trust measurements.
pub fn evaluate_prepared(
    genome: &Genome,
    config: &EvalConfig,
    dataset: &Dataset,
    prepared: &Prepared,
    progress: &mut dyn FnMut(EvalProgress),
    decide: &mut dyn FnMut(&EpochPoint) -> bool,
) -> Result<(MeasurementRecord, TrainedModel), EvalError> {
    if !genome.is_valid() {
        return Err(EvalError::InvalidGenome { genome: genome.arch_string() });
    }
    let regularizer = prepared.regularizer(config)?;
    tch::manual_seed(config.seed as i64);
    let (vs, net) = Network::build(genome, &prepared.macro_config, prepared.device);
    let mut record = empty_record(genome, config, dataset, prepared, &vs);
    let epoch_images = config.epoch_validation.map(|n| prepared.validation.first(n));
    let mut last_epoch: Option<Measurement> = None;
    let num_classes = prepared.macro_config.num_classes;

    let outcome = train_stoppable(
        &net,
        &vs,
        &prepared.train,
        &prepared.norm,
        prepared.augmenter.as_ref(),
        regularizer.as_ref(),
        config,
        &mut |p| progress(EvalProgress::Training(p)),
        &mut |epoch| {
            let Some(images) = &epoch_images else { return false };
            let measured = measure(&net, genome, images, &prepared.norm, num_classes, config, &mut |_| {});
            let point = EpochPoint {
                epoch,
                val_accuracy: measured.accuracy,
                introspectability: measured.introspectability,
                images: images.len,
            };
            record.epochs.push(point);
            last_epoch = Some(measured);
            decide(&point)
        },
    );
    match outcome {
        Ok(outcome) => {
            record.train_loss_per_epoch = outcome.loss_per_epoch;
            record.train_seconds = outcome.seconds;
            record.train_images_per_second = outcome.images as f64 / outcome.seconds.max(1e-9);
            if outcome.stopped_after.is_some() {
                let measured = last_epoch.expect("a stop follows a measured epoch");
                measured.fill(&mut record);
                record.val_images = record.epochs.last().map_or(record.val_images, |p| p.images);
                record.status = Status::Stopped;
                return Ok((record, TrainedModel { vs, net }));
            }
        }
        Err(e) => {
            record.status = Status::Failed;
            record.error = Some(e.to_string());
            return Ok((record, TrainedModel { vs, net }));
        }
    }
    let measured = measure(&net, genome, &prepared.validation, &prepared.norm, num_classes, config, &mut |p| {
        progress(EvalProgress::Validating(p))
    });
    measured.fill(&mut record);
    if !measured.loss.is_finite() {
        record.status = Status::Failed;
        record.error =
            Some(format!("validation loss is {}: the trained network outputs non-finite logits", measured.loss));
        return Ok((record, TrainedModel { vs, net }));
    }
    let inputs = trust::TrustInputs {
        genome,
        train: &prepared.train,
        test: &prepared.test,
        norm: &prepared.norm,
        num_classes: prepared.macro_config.num_classes,
        corrupted_labels: &dataset.corrupted_labels,
    };
    trust::measure_trust(&net, &inputs, config, &mut record, &mut |p| progress(EvalProgress::Trust(p)));
    Ok((record, TrainedModel { vs, net }))
}

fn empty_record(
    genome: &Genome,
    config: &EvalConfig,
    dataset: &Dataset,
    prepared: &Prepared,
    vs: &nn::VarStore,
) -> MeasurementRecord {
    MeasurementRecord {
        arch: genome.arch_string(),
        genome: genome.compact(),
        config: config.clone(),
        status: Status::Done,
        error: None,
        class_names: dataset.class_names.clone(),
        train_images: prepared.train.len,
        val_images: prepared.validation.len,
        val_accuracy: None,
        val_loss: None,
        train_loss_per_epoch: Vec::new(),
        epochs: Vec::new(),
        per_class_accuracy: Vec::new(),
        confusion: Vec::new(),
        class_distance: Vec::new(),
        introspectability: None,
        introspect_images: 0,
        tapped_features: 0,
        tapped_layers: 0,
        params: Network::count_parameters(vs),
        flops: xnas_space::flops(genome, &prepared.macro_config),
        train_seconds: 0.0,
        eval_seconds: 0.0,
        train_images_per_second: 0.0,
        device: format!("{:?}", prepared.device).to_lowercase(),
        xnas_version: env!("CARGO_PKG_VERSION").to_string(),
        splits: Some(SplitRecord {
            train: prepared.train.len,
            validation: prepared.validation.len,
            test: prepared.test.len,
            validation_from: match config.validation {
                xnas_datasets::ValidationSplit::HeldOut => "held-out".into(),
                _ => "train".into(),
            },
            seed: config.seed,
            label_noise: config.label_noise,
            corrupted_labels: dataset.corrupted_labels.clone(),
        }),
        train_accuracy: None,
        test_accuracy: None,
        test_loss: None,
        class_means: None,
        validation_class_means: None,
        calibration: None,
        mispredictions: None,
        mislabels: None,
        confusion_correlation: None,
        trust_seconds: 0.0,
        compute: Some(ComputeSettings::resolve(config, prepared.device.is_cuda())),
        replayed_from: None,
    }
}

/// Evaluates on the dataset named in the config, loading it first.
pub fn evaluate_config(
    genome: &Genome,
    config: &EvalConfig,
    progress: &mut dyn FnMut(EvalProgress),
) -> Result<MeasurementRecord, EvalError> {
    let dataset = load_dataset(config)?;
    evaluate(genome, config, &dataset, progress)
}

/// Every tapped activation of a forward pass, flattened per layer and kept in f64: the reference
/// the tests check the streamed accumulators against.
#[cfg(test)]
struct KeepAll(Vec<tch::Tensor>);

#[cfg(test)]
impl crate::introspect::TapConsumer for KeepAll {
    fn tap(&mut self, _layer: usize, activation: &tch::Tensor) {
        self.0.push(activation.flatten(1, -1).to_kind(tch::Kind::Double));
    }
}
