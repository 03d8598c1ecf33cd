//! The validation pass: accuracy, loss, confusion matrix, and the class-distance matrix D from
//! per-class activation sums streamed during the same pass.

use std::time::Instant;

use tch::nn::ModuleT;
use tch::{Device, Kind, Tensor};

use crate::data::{DeviceImages, Normalizer};
use crate::introspect::stream::ClassMeanAccumulator;
use crate::introspect::{introspectability, ClassGrouping, DistanceMatrix, TapConsumer, TapSet};
use crate::nn::Network;
use crate::record::{EvalConfig, MeasurementRecord};

/// What one validation pass measured.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub accuracy: f64,
    pub loss: f64,
    pub per_class_accuracy: Vec<Option<f64>>,
    pub confusion: Vec<Vec<u64>>,
    pub distances: DistanceMatrix,
    pub introspectability: Option<f64>,
    pub introspect_images: usize,
    pub tapped_layers: usize,
    pub tapped_features: u64,
    pub seconds: f64,
}

impl Measurement {
    /// Copies the measured facts into a record.
    pub fn fill(&self, record: &mut MeasurementRecord) {
        record.val_accuracy = Some(self.accuracy);
        record.val_loss = Some(self.loss);
        record.per_class_accuracy = self.per_class_accuracy.clone();
        record.confusion = self.confusion.clone();
        record.class_distance = self.distances.clone();
        record.introspectability = self.introspectability;
        record.introspect_images = self.introspect_images;
        record.tapped_layers = self.tapped_layers;
        record.tapped_features = self.tapped_features;
        record.eval_seconds = self.seconds;
    }
}

/// Events of the validation pass, for progress displays.
#[derive(Debug, Clone, Copy)]
pub struct ValidationProgress {
    pub images_done: usize,
    pub images: usize,
}

/// The logits of a batch `x` (eval mode) whose first `keep` images also pass through `consumer`'s
/// taps; the rest run untapped. Only the first images of a split feed class means, so a batch
/// may straddle that limit.
pub(crate) fn forward_tapping_head(
    net: &Network,
    x: &Tensor,
    keep: i64,
    taps: TapSet,
    consumer: &mut dyn TapConsumer,
) -> Tensor {
    let len = x.size()[0];
    let head = net.forward_tapped(&x.narrow(0, 0, keep), false, taps, consumer);
    if keep < len {
        Tensor::cat(&[head, net.forward_t(&x.narrow(0, keep, len - keep), false)], 0)
    } else {
        head
    }
}

/// Runs `net` over the validation images once (twice when classes are grouped by prediction).
pub fn measure(
    net: &Network,
    val: &DeviceImages,
    norm: &Normalizer,
    num_classes: usize,
    config: &EvalConfig,
    progress: &mut dyn FnMut(ValidationProgress),
) -> Measurement {
    let started = Instant::now();
    let _no_grad = tch::no_grad_guard();
    let device = val.images.device();
    let batch = config.batch_size.max(1);
    let introspect_limit = config.introspect_max_samples.min(val.len);
    let mut accumulator = ClassMeanAccumulator::new(num_classes, device);
    let tap_now = config.grouping == ClassGrouping::TrueLabel;
    let k2 = (num_classes * num_classes) as i64;
    let mut loss_sum = Tensor::zeros([], (Kind::Double, device));
    let mut confusion = Tensor::zeros([k2], (Kind::Int64, device));
    let mut predictions = Vec::new();
    for index in val.sequential_batches(batch) {
        let first = index.int64_value(&[0]) as usize;
        let len = index.size()[0];
        let (x, y) = val.batch(&index, norm);
        let logits = if tap_now && first < introspect_limit {
            // Only the first `introspect_limit` images feed the class means.
            let keep = ((introspect_limit - first) as i64).min(len);
            accumulator.begin_batch(&y.narrow(0, 0, keep));
            forward_tapping_head(net, &x, keep, config.taps, &mut accumulator)
        } else {
            net.forward_t(&x, false)
        };
        loss_sum += logits.to_kind(Kind::Double).cross_entropy_loss::<Tensor>(&y, None, tch::Reduction::Sum, -100, 0.0);
        let predicted = logits.argmax(1, false);
        confusion += (&y * num_classes as i64 + &predicted).bincount::<Tensor>(None, k2);
        if !tap_now {
            predictions.push(predicted);
        }
        progress(ValidationProgress { images_done: first + len as usize, images: val.len });
    }
    if !tap_now && introspect_limit > 0 {
        // Grouping by prediction needs the predictions before the taps: a second pass.
        let predicted = Tensor::cat(&predictions, 0);
        for index in val.sequential_batches(batch) {
            let first = index.int64_value(&[0]) as usize;
            if first >= introspect_limit {
                break;
            }
            let keep = ((introspect_limit - first) as i64).min(index.size()[0]);
            let index = index.narrow(0, 0, keep);
            let (x, _) = val.batch(&index, norm);
            accumulator.begin_batch(&predicted.index_select(0, &index));
            let _ = net.forward_tapped(&x, false, config.taps, &mut accumulator);
        }
    }

    let n = val.len.max(1) as f64;
    let flat: Vec<i64> = Vec::try_from(confusion.to_device(Device::Cpu)).expect("int64 confusion");
    let confusion: Vec<Vec<u64>> = flat.chunks(num_classes).map(|r| r.iter().map(|&v| v as u64).collect()).collect();
    let correct: u64 = (0..num_classes).map(|c| confusion[c][c]).sum();
    let per_class_accuracy = confusion
        .iter()
        .enumerate()
        .map(|(c, row)| {
            let total: u64 = row.iter().sum();
            (total > 0).then(|| row[c] as f64 / total as f64)
        })
        .collect();
    let (distances, layers, features) = if introspect_limit > 0 {
        let measured = accumulator.finish();
        (measured.distances, measured.tapped_layers, measured.tapped_features)
    } else {
        (Vec::new(), 0, 0)
    };
    Measurement {
        accuracy: correct as f64 / n,
        loss: loss_sum.double_value(&[]) / n,
        per_class_accuracy,
        introspectability: introspectability(&distances),
        distances,
        confusion,
        introspect_images: introspect_limit,
        tapped_layers: layers,
        tapped_features: features,
        seconds: started.elapsed().as_secs_f64(),
    }
}
