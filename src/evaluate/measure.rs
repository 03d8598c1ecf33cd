//! The validation pass: accuracy, loss, confusion matrix, and the class-distance matrix D from
//! per-class activation sums streamed during the same pass, with those class means kept in the
//! compact forms figures 5 and 6 draw.

use std::time::Instant;

use tch::nn::ModuleT;
use tch::{Device, Kind, Tensor};

use crate::data::{DeviceImages, Normalizer};
use crate::introspect::stream::ClassMeanAccumulator;
use crate::introspect::{introspectability, ClassGrouping, DistanceMatrix, TapConsumer, TapSet};
use xnas_space::Genome;

use crate::nn::Network;
use crate::record::{ClassMeanSummary, EvalConfig, MeasurementRecord};

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
    /// The class means D was measured on, summarised (`None` when no image fed them).
    pub class_means: Option<ClassMeanSummary>,
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
        record.validation_class_means = self.class_means.clone();
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

/// Runs `net` (the network of `genome`) over the validation images once (twice when classes are
/// grouped by prediction).
pub fn measure(
    net: &Network,
    genome: &Genome,
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
    let (distances, layers, features, class_means) = if introspect_limit > 0 {
        let measured = accumulator.finish();
        let summary = super::trust::class_mean_summary(&accumulator, genome, num_classes, config);
        (measured.distances, measured.tapped_layers, measured.tapped_features, summary)
    } else {
        (Vec::new(), 0, 0, None)
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
        class_means,
        seconds: started.elapsed().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use xnas_datasets::ImageSet;
    use xnas_space::MacroConfig;

    use super::*;
    use crate::evaluate::KeepAll;
    use crate::introspect::summary::network_blocks;
    use crate::introspect::TapSet;

    /// The validation pass keeps the class means D was measured on: those of the first
    /// `introspect_max_samples` images by true label. Against a reference built apart from one
    /// forward pass that keeps every activation: per layer, the class means of those images in
    /// f64, z-scored over all their entries, averaged over features, then over each block's layers.
    #[test]
    fn the_validation_class_means_are_those_of_the_images_that_fed_d() {
        tch::manual_seed(5);
        let (classes, len, side, kept) = (3usize, 60usize, 12usize, 40usize);
        let labels: Vec<u32> = (0..len).map(|i| ((i * 7) % 3) as u32).collect();
        let images: Vec<u8> = (0..len * side * side).map(|i| ((i * 31 + i / 5) % 253) as u8).collect();
        let set = ImageSet { images, labels: labels.clone(), channels: 1, height: side, width: side };
        let macro_config =
            MacroConfig { channels: 4, cells_per_stage: 1, num_classes: classes, input: (1, side, side) };
        let genome: Genome = "012404".parse().unwrap();
        let (_vs, net) = Network::build(&genome, &macro_config, Device::Cpu);
        let val = DeviceImages::new(&set, Device::Cpu);
        let norm = Normalizer::new(&[0.5], &[0.25], Device::Cpu);
        let config = EvalConfig {
            batch_size: 16,
            cells_per_stage: 1,
            taps: TapSet::ConvAndRelu,
            introspect_max_samples: kept,
            ..EvalConfig::default()
        };
        let measured = measure(&net, &genome, &val, &norm, classes, &config, &mut |_| {});
        let summary = measured.class_means.as_ref().expect("the validation class means");
        assert_eq!(summary.images, kept);

        let _no_grad = tch::no_grad_guard();
        let (x, _) = val.batch(&Tensor::arange(len as i64, (Kind::Int64, Device::Cpu)), &norm);
        let mut all = KeepAll(Vec::new());
        let _ = net.forward_tapped(&x, false, config.taps, &mut all);
        let per_layer: Vec<Vec<f64>> = all
            .0
            .iter()
            .map(|layer| {
                let means: Vec<Vec<f64>> = (0..classes)
                    .map(|c| {
                        let rows: Vec<i64> = (0..kept).filter(|&i| labels[i] == c as u32).map(|i| i as i64).collect();
                        Vec::try_from(layer.index_select(0, &Tensor::from_slice(&rows)).mean_dim(
                            0,
                            false,
                            Kind::Double,
                        ))
                        .unwrap()
                    })
                    .collect();
                let entries: Vec<f64> = means.iter().flatten().copied().collect();
                let mean = entries.iter().sum::<f64>() / entries.len() as f64;
                let std = (entries.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / entries.len() as f64).sqrt();
                means.iter().map(|row| (row.iter().sum::<f64>() / row.len() as f64 - mean) / std).collect()
            })
            .collect();
        let blocks = network_blocks(&genome, 1, config.taps);
        assert_eq!(summary.blocks, blocks.iter().map(|b| b.name.clone()).collect::<Vec<_>>());
        let mut start = 0;
        for (b, block) in blocks.iter().enumerate() {
            for c in 0..classes {
                let layers = &per_layer[start..start + block.tapped_layers];
                let want = layers.iter().map(|z| z[c]).sum::<f64>() / layers.len() as f64;
                let got = summary.block_means[c][b];
                assert!((want - got).abs() < 1e-4, "class {c}, block {}: {got} against {want}", block.name);
            }
            start += block.tapped_layers;
        }
        assert_eq!(summary.pca.len(), classes);

        let mut record = crate::record::synthetic_record(&config, &genome);
        record.validation_class_means = None;
        measured.fill(&mut record);
        assert_eq!(record.validation_class_means.as_ref(), Some(summary));
    }
}
