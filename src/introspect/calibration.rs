//! The trust measurements of §4.5 and figure 8 as pure functions of per-sample numbers:
//! calibration quality of a confidence score over linear bins, and the removal curves that rank
//! samples by a score and drop (or flag) the lowest-scoring ones.
//!
//! The per-sample numbers come from one pass over the test (or training) split
//! (`crate::evaluate`); everything here is plain `f64` so it is tested against numpy and scipy.

use super::diagnostic::{pearson, ranks};

/// The paper's footnote 2: "We use 50 linear bins to estimate these quantities."
pub const CALIBRATION_BINS: usize = 50;

/// The removal percentages of figure 8: p = 0, 1, …, 50.
pub fn removal_percents() -> Vec<f64> {
    (0..=50).map(f64::from).collect()
}

/// Samples of one bin of confidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfidenceBin {
    pub lower: f64,
    pub upper: f64,
    pub count: u64,
    /// Mean confidence of the bin's samples (`None` when empty).
    pub mean_confidence: Option<f64>,
    /// Fraction of the bin's samples that are correct (`None` when empty).
    pub accuracy: Option<f64>,
}

/// How well a confidence score tracks correctness.
#[derive(Debug, Clone, PartialEq)]
pub struct BinnedCalibration {
    pub bins: Vec<ConfidenceBin>,
    /// Pearson ρ between the non-empty bins' mean confidence and accuracy.
    pub pearson: Option<f64>,
    /// Spearman ρ (average ranks for ties) between the same.
    pub spearman: Option<f64>,
    /// Expected calibration error Σ_b (n_b / n) |accuracy_b − confidence_b|; 0 with no samples.
    pub ece: f64,
}

/// Bins `confidence` (clamped to [0, 1]) into `bins` equal bins of [0, 1], the last one closed,
/// and measures each bin's mean confidence and accuracy. A non-finite confidence counts as 0.
pub fn binned_calibration(confidence: &[f64], correct: &[bool], bins: usize) -> BinnedCalibration {
    assert_eq!(confidence.len(), correct.len(), "one correctness flag per confidence");
    let bins = bins.max(1);
    let mut count = vec![0u64; bins];
    let mut confidence_sum = vec![0.0; bins];
    let mut correct_count = vec![0u64; bins];
    for (&c, &ok) in confidence.iter().zip(correct) {
        let c = if c.is_finite() { c.clamp(0.0, 1.0) } else { 0.0 };
        let b = ((c * bins as f64).floor() as usize).min(bins - 1);
        count[b] += 1;
        confidence_sum[b] += c;
        correct_count[b] += ok as u64;
    }
    let n = confidence.len();
    let mut ece = 0.0;
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    let bins: Vec<ConfidenceBin> = (0..bins)
        .map(|b| {
            let width = 1.0 / bins as f64;
            let filled = count[b] > 0;
            let mean_confidence = filled.then(|| confidence_sum[b] / count[b] as f64);
            let accuracy = filled.then(|| correct_count[b] as f64 / count[b] as f64);
            if let (Some(c), Some(a)) = (mean_confidence, accuracy) {
                ece += count[b] as f64 / n as f64 * (a - c).abs();
                xs.push(c);
                ys.push(a);
            }
            ConfidenceBin {
                lower: b as f64 * width,
                upper: (b + 1) as f64 * width,
                count: count[b],
                mean_confidence,
                accuracy,
            }
        })
        .collect();
    BinnedCalibration { bins, pearson: pearson(&xs, &ys), spearman: pearson(&ranks(&xs), &ranks(&ys)), ece }
}

/// Sample indices from the lowest score to the highest; ties in index order. A non-finite score
/// ranks lowest (it is no confidence at all).
pub fn ascending_order(scores: &[f64]) -> Vec<usize> {
    let key = |s: f64| if s.is_finite() { s } else { f64::NEG_INFINITY };
    let mut order: Vec<usize> = (0..scores.len()).collect();
    // A stable sort keeps equal scores in index order.
    order.sort_by(|&i, &j| key(scores[i]).total_cmp(&key(scores[j])));
    order
}

/// How many of `n` samples the lowest `percent` % is: ⌊p·n/100⌋.
pub fn removed_count(percent: f64, n: usize) -> usize {
    ((percent * n as f64 / 100.0).floor() as usize).min(n)
}

/// Figure 8 top: for each p in `percents`, the accuracy of the samples left after removing the
/// lowest-scoring p % (see [`removed_count`]). `None` where no sample is left.
pub fn accuracy_after_removal(scores: &[f64], correct: &[bool], percents: &[f64]) -> Vec<Option<f64>> {
    assert_eq!(scores.len(), correct.len(), "one correctness flag per score");
    let order = ascending_order(scores);
    let n = scores.len();
    // correct_from[k]: correct samples among order[k..].
    let mut correct_from = vec![0u64; n + 1];
    for k in (0..n).rev() {
        correct_from[k] = correct_from[k + 1] + correct[order[k]] as u64;
    }
    percents
        .iter()
        .map(|&p| {
            let removed = removed_count(p, n);
            (removed < n).then(|| correct_from[removed] as f64 / (n - removed) as f64)
        })
        .collect()
}

/// Figure 8 bottom: for each p in `percents`, the fraction of all `flagged_truth` samples (e.g.
/// the corrupted labels) that lie among the lowest-scoring p % — the detection rate, which chance
/// puts at p %. `None` when there is no such sample at all.
pub fn detection_after_flagging(scores: &[f64], truth: &[bool], percents: &[f64]) -> Vec<Option<f64>> {
    assert_eq!(scores.len(), truth.len(), "one truth flag per score");
    let order = ascending_order(scores);
    let total = truth.iter().filter(|&&t| t).count();
    let mut found_before = vec![0u64; scores.len() + 1];
    for (k, &i) in order.iter().enumerate() {
        found_before[k + 1] = found_before[k] + truth[i] as u64;
    }
    percents
        .iter()
        .map(|&p| (total > 0).then(|| found_before[removed_count(p, scores.len())] as f64 / total as f64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_by_hand() {
        // Bins of width 0.5: [0, 0.5) holds 0.1 (wrong) and 0.3 (right); [0.5, 1] holds 0.5,
        // 0.9 and 1.0 (closed at 1), two right.
        let got = binned_calibration(&[0.1, 0.3, 0.5, 0.9, 1.0], &[false, true, true, false, true], 2);
        assert_eq!(got.bins.iter().map(|b| b.count).collect::<Vec<_>>(), vec![2, 3]);
        assert!((got.bins[0].mean_confidence.unwrap() - 0.2).abs() < 1e-15);
        assert!((got.bins[1].mean_confidence.unwrap() - 0.8).abs() < 1e-15);
        assert_eq!(got.bins[0].accuracy, Some(0.5));
        // ECE = 2/5 |0.5 − 0.2| + 3/5 |2/3 − 0.8|
        let ece = 0.4 * 0.3 + 0.6 * (0.8 - 2.0 / 3.0);
        assert!((got.ece - ece).abs() < 1e-15);
        assert_eq!(got.bins[1].upper, 1.0);
        // Two points: both correlations are ±1.
        assert!((got.spearman.unwrap() - 1.0).abs() < 1e-15);
        // Out-of-range and non-finite confidences are clamped (NaN counts as 0).
        let clamped = binned_calibration(&[-0.5, 1.5, f64::NAN], &[true, true, false], 50);
        assert_eq!((clamped.bins[0].count, clamped.bins[49].count), (2, 1));
        assert_eq!(binned_calibration(&[], &[], 50).ece, 0.0);
    }

    #[test]
    fn removal_by_hand_with_ties_in_index_order() {
        let scores = [0.5, 0.1, 0.5, 0.9, 0.1, f64::NAN, 0.7, 0.3, 0.8, 0.6];
        let correct = [true, false, false, true, true, false, true, true, true, true];
        // Ascending: NaN (5), 0.1 (1), 0.1 (4), 0.3 (7), 0.5 (0), 0.5 (2), 0.6, 0.7, 0.8, 0.9.
        assert_eq!(ascending_order(&scores)[..6], [5, 1, 4, 7, 0, 2]);
        let got = accuracy_after_removal(&scores, &correct, &[0.0, 19.9, 20.0, 50.0]);
        assert_eq!(got, vec![Some(0.7), Some(7.0 / 9.0), Some(7.0 / 8.0), Some(4.0 / 5.0)]);
        let truth = [false, true, false, false, true, true, false, false, false, false];
        let got = detection_after_flagging(&scores, &truth, &[0.0, 10.0, 30.0, 50.0]);
        assert_eq!(got, vec![Some(0.0), Some(1.0 / 3.0), Some(1.0), Some(1.0)]);
        assert_eq!(detection_after_flagging(&scores, &[false; 10], &[10.0]), vec![None]);
        assert_eq!(removal_percents().len(), 51);
    }
}
