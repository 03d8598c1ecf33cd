//! Train and measure one architecture: genome + config → [`MeasurementRecord`].
//!
//! This is the unit of work of a search. A configuration problem (unknown device, missing data,
//! invalid genome) is an error; a training problem (NaN loss) is a record with status `failed`,
//! so a search can go on.

use std::time::Instant;

use tch::nn::ModuleT;
use tch::{Device, Kind, Tensor};
use xnas_datasets::Dataset;
use xnas_space::{Genome, MacroConfig};

use crate::data::{Augmenter, DeviceImages, Normalizer};
use crate::introspect::stream::ClassMeanAccumulator;
use crate::introspect::{introspectability, ClassGrouping};
use crate::nn::Network;
use crate::record::{EvalConfig, MeasurementRecord, Status};
use crate::train::{train, TrainError, TrainProgress};

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
    Ok(xnas_datasets::load(&load_options(config))?)
}

pub fn load_options(config: &EvalConfig) -> xnas_datasets::LoadOptions {
    xnas_datasets::LoadOptions {
        dataset: config.dataset,
        data_dir: config.data_dir.clone(),
        wnids_file: config.wnids_file.clone(),
        train_subset: config.train_subset,
        val_subset: config.val_subset,
        seed: config.seed,
        ..Default::default()
    }
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

/// Events for a progress display.
#[derive(Debug, Clone, Copy)]
pub enum EvalProgress {
    Training(TrainProgress),
    Validating { images_done: usize, images: usize },
}

/// Trains `genome` with `config` on `dataset` and measures it.
pub fn evaluate(
    genome: &Genome,
    config: &EvalConfig,
    dataset: &Dataset,
    progress: &mut dyn FnMut(EvalProgress),
) -> Result<MeasurementRecord, EvalError> {
    if !genome.is_valid() {
        return Err(EvalError::InvalidGenome { genome: genome.arch_string() });
    }
    let device = resolve_device(&config.device)?;
    tch::manual_seed(config.seed as i64);
    let macro_config = macro_config(config, dataset);
    let num_classes = macro_config.num_classes;
    let (mean, std) = dataset.train.channel_mean_std();
    let norm = Normalizer::new(&mean, &std, device);
    let train_images = DeviceImages::new(&dataset.train, device);
    let val_images = DeviceImages::new(&dataset.validation, device);
    let (vs, net) = Network::build(genome, &macro_config, device);
    let augmenter = config.augment.then(|| Augmenter::new(dataset.train.height, dataset.train.width));

    let mut record = MeasurementRecord {
        arch: genome.arch_string(),
        genome: genome.compact(),
        config: config.clone(),
        status: Status::Done,
        error: None,
        class_names: dataset.class_names.clone(),
        train_images: train_images.len,
        val_images: val_images.len,
        val_accuracy: None,
        val_loss: None,
        train_loss_per_epoch: Vec::new(),
        per_class_accuracy: Vec::new(),
        confusion: Vec::new(),
        class_distance: Vec::new(),
        introspectability: None,
        introspect_images: 0,
        tapped_features: 0,
        tapped_layers: 0,
        params: Network::count_parameters(&vs),
        flops: xnas_space::flops(genome, &macro_config),
        train_seconds: 0.0,
        eval_seconds: 0.0,
        train_images_per_second: 0.0,
        device: format!("{device:?}").to_lowercase(),
        xnas_version: env!("CARGO_PKG_VERSION").to_string(),
    };

    let outcome = train(&net, &vs, &train_images, &norm, augmenter.as_ref(), config, &mut |p| {
        progress(EvalProgress::Training(p))
    });
    match outcome {
        Ok(outcome) => {
            record.train_loss_per_epoch = outcome.loss_per_epoch;
            record.train_seconds = outcome.seconds;
            record.train_images_per_second = outcome.images as f64 / outcome.seconds.max(1e-9);
        }
        Err(e @ TrainError::NonFiniteLoss { .. }) | Err(e @ TrainError::Torch(_)) => {
            record.status = Status::Failed;
            record.error = Some(e.to_string());
            return Ok(record);
        }
    }

    let started = Instant::now();
    let _no_grad = tch::no_grad_guard();
    let batch = config.batch_size.max(1);
    let introspect_limit = config.introspect_max_samples.min(val_images.len);
    let mut accumulator = ClassMeanAccumulator::new(num_classes, device);
    let tap_now = config.grouping == ClassGrouping::TrueLabel;
    let mut loss_sum = Tensor::zeros([], (Kind::Double, device));
    let mut confusion = Tensor::zeros([(num_classes * num_classes) as i64], (Kind::Int64, device));
    let mut predictions = Vec::new();
    for index in val_images.sequential_batches(batch) {
        let first = index.int64_value(&[0]) as usize;
        let (x, y) = val_images.batch(&index, &norm);
        let logits = if tap_now && first < introspect_limit {
            let keep = (introspect_limit - first).min(index.size()[0] as usize) as i64;
            // Only the first `introspect_limit` images feed the class means.
            let (x_in, y_in) = (x.narrow(0, 0, keep), y.narrow(0, 0, keep));
            accumulator.begin_batch(&y_in);
            let head = net.forward_tapped(&x_in, false, config.taps, &mut accumulator);
            if keep < x.size()[0] {
                Tensor::cat(&[head, net.forward_t(&x.narrow(0, keep, x.size()[0] - keep), false)], 0)
            } else {
                head
            }
        } else {
            net.forward_t(&x, false)
        };
        loss_sum += logits.cross_entropy_loss::<Tensor>(&y, None, tch::Reduction::Sum, -100, 0.0).to_kind(Kind::Double);
        let predicted = logits.argmax(1, false);
        confusion += (&y * num_classes as i64 + &predicted).bincount::<Tensor>(None, (num_classes * num_classes) as i64);
        if !tap_now {
            predictions.push(predicted);
        }
        progress(EvalProgress::Validating { images_done: first + index.size()[0] as usize, images: val_images.len });
    }
    if !tap_now && introspect_limit > 0 {
        // Grouping by prediction needs the predictions before the taps: a second pass.
        let predicted = Tensor::cat(&predictions, 0);
        for index in val_images.sequential_batches(batch) {
            let first = index.int64_value(&[0]) as usize;
            if first >= introspect_limit {
                break;
            }
            let keep = (introspect_limit - first).min(index.size()[0] as usize) as i64;
            let index = index.narrow(0, 0, keep);
            let (x, _) = val_images.batch(&index, &norm);
            accumulator.begin_batch(&predicted.index_select(0, &index));
            let _ = net.forward_tapped(&x, false, config.taps, &mut accumulator);
        }
    }

    let n = val_images.len.max(1) as f64;
    let confusion: Vec<i64> = Vec::try_from(confusion.to_device(Device::Cpu)).expect("int64 confusion");
    let confusion: Vec<Vec<u64>> = confusion.chunks(num_classes).map(|r| r.iter().map(|&v| v as u64).collect()).collect();
    let correct: u64 = (0..num_classes).map(|c| confusion[c][c]).sum();
    record.val_accuracy = Some(correct as f64 / n);
    record.per_class_accuracy = confusion
        .iter()
        .enumerate()
        .map(|(c, row)| {
            let total: u64 = row.iter().sum();
            (total > 0).then(|| row[c] as f64 / total as f64)
        })
        .collect();
    record.confusion = confusion;
    let val_loss = loss_sum.double_value(&[]) / n;
    record.val_loss = Some(val_loss);
    if introspect_limit > 0 {
        let measured = accumulator.finish();
        record.introspectability = introspectability(&measured.distances);
        record.class_distance = measured.distances;
        record.tapped_layers = measured.tapped_layers;
        record.tapped_features = measured.tapped_features;
        record.introspect_images = introspect_limit;
    }
    if device.is_cuda() {
        tch::Cuda::synchronize(0);
    }
    record.eval_seconds = started.elapsed().as_secs_f64();
    if !val_loss.is_finite() {
        record.status = Status::Failed;
        record.error = Some(format!("validation loss is {val_loss}: the trained network outputs non-finite logits"));
    }
    Ok(record)
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
