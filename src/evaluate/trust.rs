//! The trust measurements (paper §4.5, figures 5–8, appendix K) of one trained network: a pass
//! over the unaugmented training images (training accuracy and the class means from training
//! data), a pass over the test split (test accuracy and loss, softmax and activation confidence
//! of each prediction), and with corrupted labels a second training pass that scores each given
//! label. Per-sample numbers stay O(images) on the host; class means O(classes × features) on
//! the device. The formulas on those numbers are `crate::introspect`'s pure functions.

use std::time::Instant;

use tch::nn::ModuleT;
use tch::{Device, Kind, Tensor};
use xnas_space::Genome;

use super::measure::forward_tapping_head;
use crate::data::{DeviceImages, Normalizer};
use crate::introspect::calibration::{
    accuracy_after_removal, binned_calibration, detection_after_flagging, removal_percents, CALIBRATION_BINS,
};
use crate::introspect::stream::{ClassMeanAccumulator, MeanSimilarity};
use crate::introspect::summary::{block_means, center_gram, network_blocks, pca_from_centered_gram, LayerClassMeans};
use crate::introspect::{confusion_correlation_with_diagonal, confusion_diagnostic};
use crate::nn::Network;
use crate::record::{
    Calibration, CalibrationQuality, ClassMeanSummary, ConfusionCorrelation, Correlation, EvalConfig,
    MeasurementRecord, RemovalCurves,
};

/// What the trust passes need besides the network: the splits on the device, the input
/// normalisation and the corrupted training indices.
pub struct TrustInputs<'a> {
    pub genome: &'a Genome,
    pub train: &'a DeviceImages,
    pub test: &'a DeviceImages,
    pub norm: &'a Normalizer,
    pub num_classes: usize,
    pub corrupted_labels: &'a [u32],
}

/// Fills the record's trust fields (all of them, or with `config.trust` off only the training
/// and test accuracy) and the seconds they took. Reads the record's validation D and confusion
/// matrix for appendix K, so it runs after the validation pass.
pub fn measure_trust(net: &Network, inputs: &TrustInputs, config: &EvalConfig, record: &mut MeasurementRecord) {
    let started = Instant::now();
    let _no_grad = tch::no_grad_guard();
    let train = training_pass(net, inputs, config);
    record.train_accuracy = Some(train.accuracy);
    let mut similarity = train.accumulator.as_ref().map(|a| MeanSimilarity::new(a.class_means()));
    let test = test_pass(net, inputs, config, similarity.as_mut());
    record.test_accuracy = Some(test.correct.iter().filter(|&&c| c).count() as f64 / test.correct.len().max(1) as f64);
    record.test_loss = Some(test.loss);
    if let (true, Some(accumulator), Some(similarity)) = (config.trust, &train.accumulator, similarity.as_mut()) {
        record.class_means = class_mean_summary(accumulator, inputs, config);
        let activation = test.activation_confidence.as_deref().unwrap_or_default();
        record.calibration = Some(Calibration {
            activation: CalibrationQuality::from(binned_calibration(activation, &test.correct, CALIBRATION_BINS)),
            softmax: CalibrationQuality::from(binned_calibration(
                &test.softmax_confidence,
                &test.correct,
                CALIBRATION_BINS,
            )),
        });
        let percents = removal_percents();
        record.mispredictions = Some(RemovalCurves {
            activation: curve(accuracy_after_removal(activation, &test.correct, &percents)),
            softmax: curve(accuracy_after_removal(&test.softmax_confidence, &test.correct, &percents)),
            percent: percents.clone(),
        });
        if !inputs.corrupted_labels.is_empty() {
            let activation = given_label_similarity(net, inputs, config, similarity);
            let mut truth = vec![false; inputs.train.len];
            inputs.corrupted_labels.iter().for_each(|&i| truth[i as usize] = true);
            record.mislabels = Some(RemovalCurves {
                activation: curve(detection_after_flagging(&activation, &truth, &percents)),
                softmax: curve(detection_after_flagging(&train.given_label_softmax, &truth, &percents)),
                percent: percents,
            });
        }
        let without = confusion_diagnostic(&record.class_distance, &record.confusion);
        let (pearson, spearman) = confusion_correlation_with_diagonal(&record.class_distance, &record.confusion);
        record.confusion_correlation = Some(ConfusionCorrelation {
            with_diagonal: Correlation { pearson, spearman },
            without_diagonal: Correlation { pearson: without.pearson, spearman: without.spearman },
        });
    }
    record.trust_seconds = started.elapsed().as_secs_f64();
}

struct TrainingPass {
    accuracy: f64,
    /// Class means of the first `introspect_max_samples` images by given label (trust on).
    accumulator: Option<ClassMeanAccumulator>,
    /// Softmax probability of each image's given label (trust on and labels corrupted).
    given_label_softmax: Vec<f64>,
}

fn training_pass(net: &Network, inputs: &TrustInputs, config: &EvalConfig) -> TrainingPass {
    let train = inputs.train;
    let device = train.images.device();
    let limit = if config.trust { config.introspect_max_samples.min(train.len) } else { 0 };
    let mut accumulator = ClassMeanAccumulator::new(inputs.num_classes, device);
    let want_softmax = config.trust && !inputs.corrupted_labels.is_empty();
    let mut correct = Tensor::zeros([], (Kind::Int64, device));
    let mut given_label_softmax = Vec::new();
    for index in train.sequential_batches(config.batch_size.max(1)) {
        let first = index.int64_value(&[0]) as usize;
        let len = index.size()[0];
        let (x, y) = train.batch(&index, inputs.norm);
        let logits = if first < limit {
            let keep = ((limit - first) as i64).min(len);
            accumulator.begin_batch(&y.narrow(0, 0, keep));
            forward_tapping_head(net, &x, keep, config.taps, &mut accumulator)
        } else {
            net.forward_t(&x, false)
        };
        correct += logits.argmax(1, false).eq_tensor(&y).sum(Kind::Int64);
        if want_softmax {
            let p = logits.to_kind(Kind::Double).softmax(1, Kind::Double).gather(1, &y.unsqueeze(1), false);
            given_label_softmax.extend(Vec::<f64>::try_from(p.flatten(0, -1).to_device(Device::Cpu)).expect("f64"));
        }
    }
    TrainingPass {
        accuracy: correct.int64_value(&[]) as f64 / train.len.max(1) as f64,
        accumulator: (limit > 0).then_some(accumulator),
        given_label_softmax,
    }
}

struct TestPass {
    loss: f64,
    correct: Vec<bool>,
    softmax_confidence: Vec<f64>,
    /// Cosine similarity (clamped to [0, 1]) to the predicted class's training mean.
    activation_confidence: Option<Vec<f64>>,
}

fn test_pass(
    net: &Network,
    inputs: &TrustInputs,
    config: &EvalConfig,
    mut similarity: Option<&mut MeanSimilarity>,
) -> TestPass {
    let test = inputs.test;
    let device = test.images.device();
    let mut loss_sum = Tensor::zeros([], (Kind::Double, device));
    let (mut correct, mut softmax_confidence, mut activation_confidence) = (Vec::new(), Vec::new(), Vec::new());
    let tapped = similarity.is_some();
    for index in test.sequential_batches(config.batch_size.max(1)) {
        let (x, y) = test.batch(&index, inputs.norm);
        let logits = match similarity.as_deref_mut() {
            Some(s) => net.forward_tapped(&x, false, config.taps, s),
            None => net.forward_t(&x, false),
        };
        let logits = logits.to_kind(Kind::Double);
        loss_sum += logits.cross_entropy_loss::<Tensor>(&y, None, tch::Reduction::Sum, -100, 0.0);
        let (confidence, predicted) = logits.softmax(1, Kind::Double).max_dim(1, false);
        correct.extend(to_host(&predicted.eq_tensor(&y)).into_iter().map(|c| c != 0.0));
        softmax_confidence.extend(to_host(&confidence));
        if let Some(s) = similarity.as_deref_mut() {
            let cosine = s.take_batch().gather(1, &predicted.unsqueeze(1), false).clamp(0.0, 1.0);
            activation_confidence.extend(to_host(&cosine.flatten(0, -1)));
        }
    }
    TestPass {
        loss: loss_sum.double_value(&[]) / test.len.max(1) as f64,
        correct,
        softmax_confidence,
        activation_confidence: tapped.then_some(activation_confidence),
    }
}

/// Each training image's cosine similarity (clamped to [0, 1]) to its given label's training mean.
fn given_label_similarity(
    net: &Network,
    inputs: &TrustInputs,
    config: &EvalConfig,
    similarity: &mut MeanSimilarity,
) -> Vec<f64> {
    let mut scores = Vec::with_capacity(inputs.train.len);
    for index in inputs.train.sequential_batches(config.batch_size.max(1)) {
        let (x, y) = inputs.train.batch(&index, inputs.norm);
        let _ = net.forward_tapped(&x, false, config.taps, similarity);
        let cosine = similarity.take_batch().gather(1, &y.unsqueeze(1), false).clamp(0.0, 1.0);
        scores.extend(to_host(&cosine.flatten(0, -1)));
    }
    scores
}

/// Figures 5 and 6 from the training class means: z-scored block means and the 2-D PCA. `None`
/// if the tapped layers do not match the network's block layout (they always should).
fn class_mean_summary(
    accumulator: &ClassMeanAccumulator,
    inputs: &TrustInputs,
    config: &EvalConfig,
) -> Option<ClassMeanSummary> {
    let means = accumulator.class_means();
    let k = inputs.num_classes;
    let blocks = network_blocks(inputs.genome, config.cells_per_stage, config.taps);
    if blocks.iter().map(|b| b.tapped_layers).sum::<usize>() != means.len() {
        return None;
    }
    let device = means.first()?.device();
    let mut layers = Vec::with_capacity(means.len());
    let mut gram = Tensor::zeros([k as i64, k as i64], (Kind::Double, device));
    for m in &means {
        let m = m.to_kind(Kind::Double);
        layers.push(LayerClassMeans {
            class_feature_mean: to_host(&m.mean_dim(1, false, Kind::Double)),
            mean: m.mean(Kind::Double).double_value(&[]),
            std: m.std(false).double_value(&[]),
        });
        gram += m.matmul(&m.tr());
    }
    let gram: Vec<Vec<f64>> = to_host(&gram.flatten(0, -1)).chunks(k).map(<[f64]>::to_vec).collect();
    let (pca, pca_explained) = pca_from_centered_gram(&center_gram(&gram));
    Some(ClassMeanSummary {
        images: accumulator.counts().iter().sum::<u64>() as usize,
        block_means: block_means(&layers, &blocks, k),
        blocks: blocks.into_iter().map(|b| b.name).collect(),
        pca,
        pca_explained,
    })
}

fn to_host(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_kind(Kind::Double).to_device(Device::Cpu)).expect("a f64 vector")
}

/// A removal curve for the record. Its points are all defined here: at most half of a non-empty
/// split is removed, and detection curves are only drawn when some label was corrupted.
fn curve(points: Vec<Option<f64>>) -> Vec<f64> {
    points.into_iter().map(|p| p.expect("a defined removal point")).collect()
}
