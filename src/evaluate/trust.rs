//! The trust measurements (paper §4.5, figures 5–8, appendix K) of one trained network: passes
//! over the unaugmented training images (training accuracy on every image, class means by given
//! label from the images `trust_mean_images` picks), a pass over the test split (test accuracy
//! and loss, softmax and activation confidence of each prediction), and with corrupted labels
//! the scores of each given label. Per-sample numbers stay O(images) on the device until the
//! pass ends; class means O(classes × features). The formulas on those numbers are
//! `crate::introspect`'s pure functions.
//!
//! With `trust_mean_images` at `"all"` the passes are those every record was measured with
//! before the setting existed, bit for bit: the first `introspect_max_samples` training images
//! feed the means during the training-accuracy pass, and corrupted labels cost a second tapped
//! pass over the training split (the means must be complete before an image is scored against
//! them). With a count, a first pass taps only that seeded, class-stratified subset; the
//! training-accuracy pass then reads the other images untapped, or, with corrupted labels, every
//! image tapped against the finished means, scoring the given labels in the same forward. A count
//! also sums the similarity taps' squared norms in f32 ([`NormSum::F32`]: the costliest part of a
//! tap in f64, and rounding far below what the scores are read at); `"all"` keeps f64.

use std::time::Instant;

use tch::nn::ModuleT;
use tch::{Device, Kind, Tensor};
use xnas_datasets::stratified_subset;
use xnas_space::Genome;

use super::measure::forward_tapping_head;
use crate::data::{DeviceImages, Normalizer};
use crate::introspect::calibration::{
    accuracy_after_removal, binned_calibration, detection_after_flagging, removal_percents, CALIBRATION_BINS,
};
use crate::introspect::stream::{ClassMeanAccumulator, MeanSimilarity, NormSum};
use crate::introspect::summary::{block_means, center_gram, network_blocks, pca_from_centered_gram, LayerClassMeans};
use crate::introspect::{confusion_correlation_with_diagonal, confusion_diagnostic};
use crate::nn::Network;
use crate::record::{
    Calibration, CalibrationQuality, ClassMeanSummary, ConfusionCorrelation, Correlation, EvalConfig, ImageCount,
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

/// The passes of the trust measurements, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustPass {
    /// The seeded subset of training images that feeds the class means (`trust_mean_images` a count).
    ClassMeans,
    /// Every training image not read yet, for training accuracy; with `trust_mean_images` at
    /// `"all"` the first of them also feed the class means, and with a count and corrupted labels
    /// every image is read and its given label scored.
    TrainingAccuracy,
    /// The test split.
    Test,
    /// With corrupted labels and `trust_mean_images` at `"all"`: every training image again,
    /// its given label scored against the finished class means.
    GivenLabels,
}

impl TrustPass {
    /// The pass as a progress display names it.
    pub fn name(self) -> &'static str {
        match self {
            TrustPass::ClassMeans => "trust: class means",
            TrustPass::TrainingAccuracy => "trust: training accuracy",
            TrustPass::Test => "trust: test split",
            TrustPass::GivenLabels => "trust: given labels",
        }
    }
}

/// Where a trust pass stands, for progress displays.
#[derive(Debug, Clone, Copy)]
pub struct TrustProgress {
    pub pass: TrustPass,
    pub images_done: usize,
    pub images: usize,
}

/// What one trust pass read and how long it took (the bench's breakdown).
#[derive(Debug, Clone, Copy)]
pub struct PassTiming {
    pub pass: TrustPass,
    pub images: usize,
    /// Of them, the images whose activations were tapped (class means or similarities).
    pub tapped: usize,
    pub batch_size: usize,
    pub seconds: f64,
    /// CPU seconds of the whole process meanwhile (all its threads): what the pass cost on a
    /// machine shared with other work.
    pub cpu_seconds: f64,
}

/// The seed of the `trust_mean_images` subset: the run's seed, salted so that the subset is not
/// the same draw as the dataset's own subsets.
const TRUST_MEANS_SALT: u64 = 0x7_2057;

/// Fills the record's trust fields (all of them, or with `config.trust` off only the training
/// and test accuracy) and the seconds they took, reporting each batch to `progress`; returns
/// what each pass cost. Reads the record's validation D and confusion matrix for appendix K, so
/// it runs after the validation pass.
pub fn measure_trust(
    net: &Network,
    inputs: &TrustInputs,
    config: &EvalConfig,
    record: &mut MeasurementRecord,
    progress: &mut dyn FnMut(TrustProgress),
) -> Vec<PassTiming> {
    let started = Instant::now();
    let _no_grad = tch::no_grad_guard();
    let mut timings = Vec::new();
    let mut train = match (config.trust, config.trust_mean_images) {
        (true, ImageCount::Count(count)) => subset_training_passes(net, inputs, config, count, progress, &mut timings),
        _ => first_images_training_pass(net, inputs, config, progress, &mut timings),
    };
    record.train_accuracy = Some(train.accuracy);
    let mut similarity = train.similarity.take();
    let test = test_pass(net, inputs, config, similarity.as_mut(), progress, &mut timings);
    record.test_accuracy = Some(test.correct.iter().filter(|&&c| c).count() as f64 / test.correct.len().max(1) as f64);
    record.test_loss = Some(test.loss);
    if let (true, Some(accumulator), Some(similarity)) = (config.trust, &train.accumulator, similarity.as_mut()) {
        record.class_means = class_mean_summary(accumulator, inputs.genome, inputs.num_classes, config);
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
            let activation = match train.given_label_similarity.take() {
                Some(scored) => scored,
                None => given_label_similarity(net, inputs, config, similarity, progress, &mut timings),
            };
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
    timings
}

struct TrainingPass {
    accuracy: f64,
    /// Class means of the training images `trust_mean_images` picks, by given label (trust on).
    accumulator: Option<ClassMeanAccumulator>,
    /// Cosine similarity to those means, for the passes after (trust on).
    similarity: Option<MeanSimilarity>,
    /// Softmax probability of each image's given label (trust on and labels corrupted).
    given_label_softmax: Vec<f64>,
    /// Each image's similarity to its given label's mean, when the pass already scored it.
    given_label_similarity: Option<Vec<f64>>,
}

/// Times one pass and reports its batches: `run` gets a callback to call with the images done.
fn timed_pass<T>(
    pass: TrustPass,
    images: usize,
    tapped: usize,
    batch_size: usize,
    progress: &mut dyn FnMut(TrustProgress),
    timings: &mut Vec<PassTiming>,
    run: impl FnOnce(&mut dyn FnMut(usize)) -> T,
) -> T {
    let (started, cpu_started) = (Instant::now(), process_cpu_seconds());
    let out = run(&mut |images_done| progress(TrustProgress { pass, images_done, images }));
    let (seconds, cpu_seconds) = (started.elapsed().as_secs_f64(), process_cpu_seconds() - cpu_started);
    timings.push(PassTiming { pass, images, tapped, batch_size, seconds, cpu_seconds });
    out
}

/// CPU seconds this process has used so far, all threads together.
pub fn process_cpu_seconds() -> f64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec, which lives on this stack frame.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    if status != 0 {
        return f64::NAN;
    }
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}

/// Training accuracy over every training image, the first `introspect_max_samples` of them
/// tapped for the class means (`trust_mean_images` at `"all"`, or trust off: nothing tapped).
fn first_images_training_pass(
    net: &Network,
    inputs: &TrustInputs,
    config: &EvalConfig,
    progress: &mut dyn FnMut(TrustProgress),
    timings: &mut Vec<PassTiming>,
) -> TrainingPass {
    let train = inputs.train;
    let device = train.images.device();
    let limit = if config.trust { config.trust_mean_image_count(train.len) } else { 0 };
    let batch = config.batch_size.max(1);
    let mut accumulator = ClassMeanAccumulator::new(inputs.num_classes, device);
    let want_softmax = config.trust && !inputs.corrupted_labels.is_empty();
    let mut correct = Tensor::zeros([], (Kind::Int64, device));
    let mut given_label_softmax = Vec::new();
    timed_pass(TrustPass::TrainingAccuracy, train.len, limit, batch, progress, timings, |done| {
        for (number, index) in train.sequential_batches(batch).enumerate() {
            let first = number * batch;
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
                given_label_softmax.push(given_label_probability(&logits, &y));
            }
            done(first + len as usize);
        }
    });
    let accumulator = (limit > 0).then_some(accumulator);
    TrainingPass {
        accuracy: correct.int64_value(&[]) as f64 / train.len.max(1) as f64,
        similarity: accumulator.as_ref().map(|a| MeanSimilarity::new(a.class_means(), NormSum::F64)),
        accumulator,
        given_label_softmax: concat_to_host(given_label_softmax),
        given_label_similarity: None,
    }
}

/// The class means from a seeded, class-stratified subset of `count` training images (read in
/// split order), then training accuracy over the rest untapped; with corrupted labels, over
/// every image tapped against the means, scoring each given label in the same forward.
fn subset_training_passes(
    net: &Network,
    inputs: &TrustInputs,
    config: &EvalConfig,
    count: usize,
    progress: &mut dyn FnMut(TrustProgress),
    timings: &mut Vec<PassTiming>,
) -> TrainingPass {
    let train = inputs.train;
    let device = train.images.device();
    let batch = config.batch_size.max(1);
    let labels: Vec<i64> = Vec::try_from(train.labels.to_device(Device::Cpu)).expect("int64 labels");
    let labels: Vec<u32> = labels.into_iter().map(|l| l as u32).collect();
    let mut chosen = stratified_subset(&labels, inputs.num_classes, count, config.seed ^ TRUST_MEANS_SALT);
    chosen.sort_unstable();
    let score_given_labels = !inputs.corrupted_labels.is_empty();
    let mut accumulator = ClassMeanAccumulator::new(inputs.num_classes, device);
    let mut correct = Tensor::zeros([], (Kind::Int64, device));
    let subset = indices_on(&chosen, device);
    timed_pass(TrustPass::ClassMeans, chosen.len(), chosen.len(), batch, progress, timings, |done| {
        let mut images_done = 0;
        for index in subset.split(batch as i64, 0) {
            let (x, y) = train.batch(&index, inputs.norm);
            accumulator.begin_batch(&y);
            let logits = net.forward_tapped(&x, false, config.taps, &mut accumulator);
            if !score_given_labels {
                correct += logits.argmax(1, false).eq_tensor(&y).sum(Kind::Int64);
            }
            images_done += index.size()[0] as usize;
            done(images_done);
        }
    });
    let mut similarity = MeanSimilarity::new(accumulator.class_means(), NormSum::F32);
    let (mut given_label_softmax, mut given_label_similarity) = (Vec::new(), Vec::new());
    if score_given_labels {
        timed_pass(TrustPass::TrainingAccuracy, train.len, train.len, batch, progress, timings, |done| {
            for (number, index) in train.sequential_batches(batch).enumerate() {
                let (x, y) = train.batch(&index, inputs.norm);
                let logits = net.forward_tapped(&x, false, config.taps, &mut similarity);
                correct += logits.argmax(1, false).eq_tensor(&y).sum(Kind::Int64);
                given_label_softmax.push(given_label_probability(&logits, &y));
                given_label_similarity.push(similarity_to_label(&mut similarity, &y));
                done(number * batch + index.size()[0] as usize);
            }
        });
    } else if chosen.len() < train.len {
        let mut in_subset = vec![false; train.len];
        chosen.iter().for_each(|&i| in_subset[i] = true);
        let rest: Vec<usize> = (0..train.len).filter(|&i| !in_subset[i]).collect();
        let rest_on_device = indices_on(&rest, device);
        timed_pass(TrustPass::TrainingAccuracy, rest.len(), 0, batch, progress, timings, |done| {
            let mut images_done = 0;
            for index in rest_on_device.split(batch as i64, 0) {
                let (x, y) = train.batch(&index, inputs.norm);
                correct += net.forward_t(&x, false).argmax(1, false).eq_tensor(&y).sum(Kind::Int64);
                images_done += index.size()[0] as usize;
                done(images_done);
            }
        });
    }
    TrainingPass {
        accuracy: correct.int64_value(&[]) as f64 / train.len.max(1) as f64,
        accumulator: Some(accumulator),
        similarity: Some(similarity),
        given_label_softmax: concat_to_host(given_label_softmax),
        given_label_similarity: score_given_labels.then(|| concat_to_host(given_label_similarity)),
    }
}

fn indices_on(indices: &[usize], device: Device) -> Tensor {
    Tensor::from_slice(&indices.iter().map(|&i| i as i64).collect::<Vec<_>>()).to_device(device)
}

/// The softmax probability of each image's given label, `[batch]` f64 on the device.
fn given_label_probability(logits: &Tensor, labels: &Tensor) -> Tensor {
    logits.to_kind(Kind::Double).softmax(1, Kind::Double).gather(1, &labels.unsqueeze(1), false).flatten(0, -1)
}

/// Each image's cosine similarity (clamped to [0, 1]) to its given label's training mean, from
/// the tapped forward pass just run.
fn similarity_to_label(similarity: &mut MeanSimilarity, labels: &Tensor) -> Tensor {
    similarity.take_batch().gather(1, &labels.unsqueeze(1), false).clamp(0.0, 1.0).flatten(0, -1)
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
    progress: &mut dyn FnMut(TrustProgress),
    timings: &mut Vec<PassTiming>,
) -> TestPass {
    let test = inputs.test;
    let device = test.images.device();
    let batch = config.batch_size.max(1);
    let mut loss_sum = Tensor::zeros([], (Kind::Double, device));
    let (mut correct, mut softmax_confidence, mut activation_confidence) = (Vec::new(), Vec::new(), Vec::new());
    let tapped = similarity.is_some();
    timed_pass(TrustPass::Test, test.len, if tapped { test.len } else { 0 }, batch, progress, timings, |done| {
        for (number, index) in test.sequential_batches(batch).enumerate() {
            let (x, y) = test.batch(&index, inputs.norm);
            let logits = match similarity.as_deref_mut() {
                Some(s) => net.forward_tapped(&x, false, config.taps, s),
                None => net.forward_t(&x, false),
            };
            let logits = logits.to_kind(Kind::Double);
            loss_sum += logits.cross_entropy_loss::<Tensor>(&y, None, tch::Reduction::Sum, -100, 0.0);
            let (confidence, predicted) = logits.softmax(1, Kind::Double).max_dim(1, false);
            correct.push(predicted.eq_tensor(&y));
            softmax_confidence.push(confidence);
            if let Some(s) = similarity.as_deref_mut() {
                activation_confidence
                    .push(s.take_batch().gather(1, &predicted.unsqueeze(1), false).clamp(0.0, 1.0).flatten(0, -1));
            }
            done(number * batch + index.size()[0] as usize);
        }
    });
    TestPass {
        loss: loss_sum.double_value(&[]) / test.len.max(1) as f64,
        correct: concat_to_host(correct).into_iter().map(|c| c != 0.0).collect(),
        softmax_confidence: concat_to_host(softmax_confidence),
        activation_confidence: tapped.then(|| concat_to_host(activation_confidence)),
    }
}

/// Each training image's cosine similarity (clamped to [0, 1]) to its given label's training mean.
fn given_label_similarity(
    net: &Network,
    inputs: &TrustInputs,
    config: &EvalConfig,
    similarity: &mut MeanSimilarity,
    progress: &mut dyn FnMut(TrustProgress),
    timings: &mut Vec<PassTiming>,
) -> Vec<f64> {
    let train = inputs.train;
    let batch = config.batch_size.max(1);
    let mut scores = Vec::new();
    timed_pass(TrustPass::GivenLabels, train.len, train.len, batch, progress, timings, |done| {
        for (number, index) in train.sequential_batches(batch).enumerate() {
            let (x, y) = train.batch(&index, inputs.norm);
            let _ = net.forward_tapped(&x, false, config.taps, similarity);
            scores.push(similarity_to_label(similarity, &y));
            done(number * batch + index.size()[0] as usize);
        }
    });
    concat_to_host(scores)
}

/// Figures 5 and 6 from an accumulator's class means (the training split's here, the validation
/// pass's in `measure`): z-scored block means and the 2-D PCA. `None` if the tapped layers do not
/// match the network's block layout (they always should).
pub(super) fn class_mean_summary(
    accumulator: &ClassMeanAccumulator,
    genome: &Genome,
    num_classes: usize,
    config: &EvalConfig,
) -> Option<ClassMeanSummary> {
    let means = accumulator.class_means();
    let k = num_classes;
    let blocks = network_blocks(genome, config.cells_per_stage, config.taps);
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
    // A diverged network's means are not finite, and a JSON record cannot hold NaN: it keeps none.
    let finite = |values: &[f64]| values.iter().all(|v| v.is_finite());
    if !gram.iter().all(|row| finite(row)) || !layers.iter().all(|l| finite(&l.class_feature_mean) && l.std.is_finite())
    {
        return None;
    }
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

/// Per-batch vectors kept on the device during a pass, copied to the host once at its end.
fn concat_to_host(batches: Vec<Tensor>) -> Vec<f64> {
    if batches.is_empty() {
        return Vec::new();
    }
    to_host(&Tensor::cat(&batches, 0))
}

/// A removal curve for the record. Its points are all defined here: at most half of a non-empty
/// split is removed, and detection curves are only drawn when some label was corrupted.
fn curve(points: Vec<Option<f64>>) -> Vec<f64> {
    points.into_iter().map(|p| p.expect("a defined removal point")).collect()
}

#[cfg(test)]
mod tests {
    use xnas_datasets::ImageSet;
    use xnas_space::MacroConfig;

    use super::*;
    use crate::evaluate::KeepAll;
    use crate::introspect::TapSet;

    /// The subset path's class means against the means of the same images computed apart: every
    /// layer's activations of every image materialised in one forward pass over the whole split,
    /// averaged per given label in f64 over the images the seeded subset names. Its training
    /// accuracy is that of one plain forward over every image, and the subset is class-stratified.
    #[test]
    fn subset_class_means_equal_the_means_of_the_same_images_from_a_full_pass() {
        tch::manual_seed(4);
        let (classes, len, side) = (3usize, 90usize, 12usize);
        let labels: Vec<u32> = (0..len).map(|i| if i % 6 == 0 { 2 } else { (i % 2) as u32 }).collect();
        let images: Vec<u8> = (0..len * side * side).map(|i| ((i * 37 + i / 7) % 251) as u8).collect();
        let set = ImageSet { images, labels: labels.clone(), channels: 1, height: side, width: side };
        let macro_config =
            MacroConfig { channels: 4, cells_per_stage: 1, num_classes: classes, input: (1, side, side) };
        let genome: Genome = "012404".parse().unwrap();
        let (_vs, net) = Network::build(&genome, &macro_config, Device::Cpu);
        let train = DeviceImages::new(&set, Device::Cpu);
        let norm = Normalizer::new(&[0.5], &[0.25], Device::Cpu);
        let inputs = TrustInputs {
            genome: &genome,
            train: &train,
            test: &train,
            norm: &norm,
            num_classes: classes,
            corrupted_labels: &[],
        };
        let config = EvalConfig { batch_size: 16, seed: 9, taps: TapSet::ConvAndRelu, ..EvalConfig::default() };
        let _no_grad = tch::no_grad_guard();
        let mut events = Vec::new();
        let mut timings = Vec::new();
        let pass = subset_training_passes(&net, &inputs, &config, 30, &mut |p| events.push(p), &mut timings);

        let chosen = stratified_subset(&labels, classes, 30, config.seed ^ TRUST_MEANS_SALT);
        let per_class: Vec<usize> =
            (0..classes).map(|c| chosen.iter().filter(|&&i| labels[i] == c as u32).count()).collect();
        assert_eq!(per_class, [10, 15, 5], "a third of each class: 30, 45 and 15 images");

        let (x, _) = train.batch(&Tensor::arange(len as i64, (Kind::Int64, Device::Cpu)), &norm);
        let mut kept = KeepAll(Vec::new());
        let logits = net.forward_tapped(&x, false, config.taps, &mut kept);
        let accumulator = pass.accumulator.as_ref().expect("class means");
        let means = accumulator.class_means();
        assert_eq!(means.len(), kept.0.len(), "one mean per tapped layer");
        for (layer, (streamed, all)) in means.iter().zip(&kept.0).enumerate() {
            for class in 0..classes {
                let rows: Vec<i64> = chosen.iter().filter(|&&i| labels[i] == class as u32).map(|&i| i as i64).collect();
                let want: Vec<f64> =
                    Vec::try_from(all.index_select(0, &Tensor::from_slice(&rows)).mean_dim(0, false, Kind::Double))
                        .unwrap();
                let got: Vec<f64> = Vec::try_from(streamed.get(class as i64).to_kind(Kind::Double)).unwrap();
                let worst = want.iter().zip(&got).map(|(w, g)| (w - g).abs() / w.abs().max(1.0)).fold(0.0, f64::max);
                assert!(worst < 1e-5, "layer {layer} class {class}: off by {worst}");
            }
        }
        assert_eq!(accumulator.counts(), [10, 15, 5]);

        let predicted: Vec<i64> = Vec::try_from(logits.argmax(1, false)).unwrap();
        let correct = predicted.iter().zip(&labels).filter(|(p, l)| **p == **l as i64).count();
        assert_eq!(pass.accuracy, correct as f64 / len as f64);

        // Two passes (the subset, then the 60 other images), each reporting up to all of its images.
        assert_eq!(
            timings.iter().map(|t| (t.pass, t.images, t.tapped)).collect::<Vec<_>>(),
            [(TrustPass::ClassMeans, 30, 30), (TrustPass::TrainingAccuracy, 60, 0)]
        );
        let last = |pass| events.iter().rfind(|e: &&TrustProgress| e.pass == pass).map(|e| (e.images_done, e.images));
        assert_eq!(last(TrustPass::ClassMeans), Some((30, 30)));
        assert_eq!(last(TrustPass::TrainingAccuracy), Some((60, 60)));
    }
}
