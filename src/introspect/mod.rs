//! Introspectability (paper §3.3, eq. 1): how far apart a network's per-class mean activations are.
//!
//! Everything here except [`stream`] is a pure function of numbers stored in a measurement record
//! (or of per-sample numbers: [`calibration`], [`summary`]), so stored results can be re-scored
//! without retraining and every formula is tested on plain numbers. The streaming accumulators that
//! produce those numbers during a pass over a split live in [`stream`] (libtorch).

pub mod calibration;
mod diagnostic;
#[cfg(feature = "torch")]
pub mod regularizer;
#[cfg(feature = "torch")]
pub mod stream;
pub mod summary;
#[cfg(feature = "torch")]
mod taps;
mod weights;

pub use diagnostic::{
    confusion_correlation_with_diagonal, confusion_diagnostic, pearson, ranks, ConfoundedPair, ConfusionDiagnostic,
};
#[cfg(feature = "torch")]
pub use taps::{NoTap, TapConsumer};
pub use weights::{PairWeight, PairWeights, WeightsError};

use serde::{Deserialize, Serialize};

/// Which label groups a validation sample into a class when class means are formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClassGrouping {
    /// The sample's true label — the paper's definition.
    #[default]
    TrueLabel,
    /// The network's predicted label — what the authors' code did.
    Predicted,
}

impl std::str::FromStr for ClassGrouping {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "true-label" | "true" | "label" => Ok(ClassGrouping::TrueLabel),
            "predicted" | "prediction" => Ok(ClassGrouping::Predicted),
            other => Err(format!("unknown class grouping {other:?}; known: true-label, predicted")),
        }
    }
}

/// The set of layers whose outputs are tapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TapSet {
    /// The output of every convolution and every ReLU in the network (stem, cell edges,
    /// reduction blocks, the final ReLU) — the authors' original set.
    #[default]
    ConvAndRelu,
    /// The output of every cell only: far fewer features, a cheaper proxy.
    Cells,
}

impl std::str::FromStr for TapSet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "conv-and-relu" => Ok(TapSet::ConvAndRelu),
            "cells" => Ok(TapSet::Cells),
            other => Err(format!("unknown tap set {other:?}; known: conv-and-relu, cells")),
        }
    }
}

/// Pairwise cosine distances between class means, `N_C × N_C`. `None` where the distance is
/// undefined: a class with no samples, or a class mean that is the zero vector.
pub type DistanceMatrix = Vec<Vec<Option<f64>>>;

/// Cosine distances `1 − ⟨a,b⟩/(‖a‖‖b‖)` from the Gram matrix `G[c][k] = ⟨mean_c, mean_k⟩` of
/// the class means over all tapped features. `present[c]` says whether class c had any sample.
///
/// Working from the Gram matrix means the class means of different layers never have to be
/// concatenated: `G` is the sum of the per-layer Gram matrices.
pub fn cosine_distances_from_gram(gram: &[Vec<f64>], present: &[bool]) -> DistanceMatrix {
    let n = gram.len();
    let norm: Vec<f64> = (0..n).map(|c| gram[c][c].max(0.0).sqrt()).collect();
    (0..n)
        .map(|c| {
            (0..n)
                .map(|k| {
                    let defined = present[c] && present[k] && norm[c] > 0.0 && norm[k] > 0.0;
                    let cos = gram[c][k] / (norm[c] * norm[k]);
                    (defined && cos.is_finite()).then(|| (1.0 - cos.clamp(-1.0, 1.0)).max(0.0))
                })
                .collect()
        })
        .collect()
}

/// Eq. 1: the mean cosine distance over class pairs c < k. Pairs whose distance is undefined
/// are dropped (as the authors' code did); with no defined pair the score is undefined.
pub fn introspectability(distances: &DistanceMatrix) -> Option<f64> {
    let mut sum = 0.0;
    let mut pairs = 0usize;
    for (c, row) in distances.iter().enumerate() {
        for d in row.iter().skip(c + 1).flatten() {
            sum += d;
            pairs += 1;
        }
    }
    (pairs > 0).then(|| sum / pairs as f64)
}

/// Eq. 5 as a score: the mean over defined pairs c < k of `D[c][k] · ω[c][k]`. With every ω = 1
/// it is eq. 1. `weights` is a dense `N × N` matrix (see [`PairWeights::dense`]).
pub fn weighted_introspectability(distances: &DistanceMatrix, weights: &[Vec<f64>]) -> Option<f64> {
    let mut sum = 0.0;
    let mut pairs = 0usize;
    for (c, row) in distances.iter().enumerate() {
        for (k, d) in row.iter().enumerate().skip(c + 1) {
            if let Some(d) = d {
                sum += d * weights[c][k];
                pairs += 1;
            }
        }
    }
    (pairs > 0).then(|| sum / pairs as f64)
}

/// Eq. 3–4, normalised as §3.3 says: each pair's distance is weighted by the path similarity of
/// the two labels divided by the mean path similarity over all label pairs, so the score's range
/// matches eq. 1's. `similarity` is the labels' path-similarity matrix (see `xnas_wordnet`).
pub fn wordnet_introspectability(distances: &DistanceMatrix, similarity: &[Vec<f64>]) -> Option<f64> {
    let weights = xnas_wordnet::normalized_pair_weights(similarity).ok()?;
    weighted_introspectability(distances, &weights)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gram_of(means: &[Vec<f64>]) -> Vec<Vec<f64>> {
        means.iter().map(|a| means.iter().map(|b| a.iter().zip(b).map(|(x, y)| x * y).sum()).collect()).collect()
    }

    #[test]
    fn hand_computed_distances() {
        // (1,0), (0,1), (1,1): cos 0 → distance 1; cos 1/√2 → 1 − 0.7071…
        let means = vec![vec![1.0, 0.0], vec![0.0, 2.0], vec![3.0, 3.0]];
        let d = cosine_distances_from_gram(&gram_of(&means), &[true; 3]);
        assert!((d[0][1].unwrap() - 1.0).abs() < 1e-15);
        assert!((d[0][2].unwrap() - (1.0 - 0.5f64.sqrt())).abs() < 1e-15);
        assert!(d[1][1].unwrap().abs() < 1e-15);
        let expected = (1.0 + 2.0 * (1.0 - 0.5f64.sqrt())) / 3.0;
        assert!((introspectability(&d).unwrap() - expected).abs() < 1e-15);
    }

    #[test]
    fn weighted_scores_by_hand() {
        let d = vec![
            vec![Some(0.0), Some(0.2), Some(0.4)],
            vec![Some(0.2), Some(0.0), Some(0.6)],
            vec![Some(0.4), Some(0.6), Some(0.0)],
        ];
        let ones = vec![vec![1.0; 3]; 3];
        assert_eq!(weighted_introspectability(&d, &ones), introspectability(&d));
        let omega = PairWeights::Pairs(vec![PairWeight { a: 2, b: 0, weight: 4.0 }]).dense(3).unwrap();
        // (0.2 + 4·0.4 + 0.6) / 3
        assert!((weighted_introspectability(&d, &omega).unwrap() - 2.4 / 3.0).abs() < 1e-15);
        // Similarities 1/2, 1/4, 1/4: mean 1/3, so weights 1.5, 0.75, 0.75.
        let sim = vec![vec![1.0, 0.5, 0.25], vec![0.5, 1.0, 0.25], vec![0.25, 0.25, 1.0]];
        let expected = (1.5 * 0.2 + 0.75 * 0.4 + 0.75 * 0.6) / 3.0;
        assert!((wordnet_introspectability(&d, &sim).unwrap() - expected).abs() < 1e-15);
    }

    #[test]
    fn undefined_pairs_are_dropped() {
        let means = vec![vec![1.0, 0.0], vec![0.0, 0.0], vec![-1.0, 0.0]];
        let d = cosine_distances_from_gram(&gram_of(&means), &[true, true, true]);
        assert_eq!(d[0][1], None);
        assert_eq!(d[0][2], Some(2.0));
        assert_eq!(introspectability(&d), Some(2.0));
        let absent = cosine_distances_from_gram(&gram_of(&means), &[true, false, false]);
        assert_eq!(introspectability(&absent), None);
        assert_eq!(introspectability(&vec![vec![Some(0.0)]]), None);
    }
}
