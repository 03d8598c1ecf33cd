//! Appendix K's diagnostic: does a small distance between two classes' mean activations predict
//! that the network confuses them? Correlates −D with the confusion matrix folded on its diagonal
//! (x_ij + x_ji) over class pairs, and lists the most confounded pairs.

use serde::{Deserialize, Serialize};

use super::DistanceMatrix;

/// One unordered class pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfoundedPair {
    pub a: usize,
    pub b: usize,
    /// `confusion[a][b] + confusion[b][a]`.
    pub folded_confusion: u64,
    pub distance: Option<f64>,
}

/// Correlations between −D and the folded confusion matrix, over the pairs c < k where D is defined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfusionDiagnostic {
    pub spearman: Option<f64>,
    pub pearson: Option<f64>,
    pub pairs_used: usize,
    /// Every pair, most confounded first (ties: smaller distance first).
    pub most_confounded: Vec<ConfoundedPair>,
}

/// The diagnostic for one record's D and confusion matrix (`confusion[true][predicted]`).
///
/// The diagonal is left out: −D is 0 there and the folded confusion holds the true positives,
/// which would inflate the correlation without saying anything about confounding.
pub fn confusion_diagnostic(distances: &DistanceMatrix, confusion: &[Vec<u64>]) -> ConfusionDiagnostic {
    let n = confusion.len().min(distances.len());
    let mut pairs = Vec::new();
    for a in 0..n {
        for b in a + 1..n {
            pairs.push(ConfoundedPair {
                a,
                b,
                folded_confusion: confusion[a][b] + confusion[b][a],
                distance: distances[a][b],
            });
        }
    }
    let (neg_d, folded): (Vec<f64>, Vec<f64>) =
        pairs.iter().filter_map(|p| p.distance.map(|d| (-d, p.folded_confusion as f64))).unzip();
    pairs.sort_by(|x, y| {
        y.folded_confusion
            .cmp(&x.folded_confusion)
            .then(x.distance.unwrap_or(f64::INFINITY).total_cmp(&y.distance.unwrap_or(f64::INFINITY)))
    });
    ConfusionDiagnostic {
        spearman: pearson(&ranks(&neg_d), &ranks(&folded)),
        pearson: pearson(&neg_d, &folded),
        pairs_used: neg_d.len(),
        most_confounded: pairs,
    }
}

/// Appendix K's correlation as the paper reports it (its 0.85 / 0.59 / 0.81): over the pairs
/// c ≤ k, −D[c][k] against the folded confusion, where the diagonal pairs put D = 0 against the
/// true-positive count `confusion[c][c]`. Pairs c < k whose distance is undefined are dropped.
/// Returns (Pearson, Spearman).
pub fn confusion_correlation_with_diagonal(
    distances: &DistanceMatrix,
    confusion: &[Vec<u64>],
) -> (Option<f64>, Option<f64>) {
    let n = confusion.len().min(distances.len());
    let (mut neg_d, mut folded) = (Vec::new(), Vec::new());
    for a in 0..n {
        neg_d.push(0.0);
        folded.push(confusion[a][a] as f64);
        for b in a + 1..n {
            if let Some(d) = distances[a][b] {
                neg_d.push(-d);
                folded.push((confusion[a][b] + confusion[b][a]) as f64);
            }
        }
    }
    (pearson(&neg_d, &folded), pearson(&ranks(&neg_d), &ranks(&folded)))
}

/// Pearson's correlation; `None` with fewer than two points or a constant side.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len();
    if n < 2 || y.len() != n {
        return None;
    }
    let mx = x.iter().sum::<f64>() / n as f64;
    let my = y.iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// 1-based ranks with ties given their average rank (as Spearman's ρ needs).
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end + 1 < order.len() && values[order[end + 1]] == values[order[start]] {
            end += 1;
        }
        let average = (start + end) as f64 / 2.0 + 1.0;
        for &i in &order[start..=end] {
            ranks[i] = average;
        }
        start = end + 1;
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_average_ties() {
        assert_eq!(ranks(&[10.0, 20.0, 10.0, 5.0]), vec![2.5, 4.0, 2.5, 1.0]);
    }

    #[test]
    fn hand_computed_correlations() {
        // x = 1,2,3 and y = 1,3,2: Pearson = 0.5 (cov 0.5·2/… computed by hand: Σdxdy = 1, Σdx² = Σdy² = 2).
        assert!((pearson(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]).unwrap() - 0.5).abs() < 1e-15);
        assert_eq!(pearson(&[1.0, 1.0], &[1.0, 2.0]), None);
    }

    #[test]
    fn close_classes_that_are_confused_correlate() {
        // Three classes: (0,1) close and confused, (0,2) far and rarely confused, (1,2) in between.
        let d = vec![
            vec![Some(0.0), Some(0.1), Some(0.9)],
            vec![Some(0.1), Some(0.0), Some(0.5)],
            vec![Some(0.9), Some(0.5), Some(0.0)],
        ];
        let confusion = vec![vec![50, 20, 1], vec![15, 60, 4], vec![0, 3, 70]];
        let diag = confusion_diagnostic(&d, &confusion);
        assert_eq!(diag.pairs_used, 3);
        assert!((diag.spearman.unwrap() - 1.0).abs() < 1e-12);
        assert!(diag.pearson.unwrap() > 0.9);
        assert_eq!((diag.most_confounded[0].a, diag.most_confounded[0].b), (0, 1));
        assert_eq!(diag.most_confounded[0].folded_confusion, 35);

        // With the diagonal: −D = 0, 0, 0, −0.1, −0.9, −0.5 against 50, 60, 70, 35, 1, 7.
        let (p, s) = confusion_correlation_with_diagonal(&d, &confusion);
        let x = [0.0, -0.1, -0.9, 0.0, -0.5, 0.0];
        let y = [50.0, 35.0, 1.0, 60.0, 7.0, 70.0];
        assert!((p.unwrap() - pearson(&x, &y).unwrap()).abs() < 1e-15);
        // Ranks of x: 0 ×3 → 5; −0.1 → 3; −0.5 → 2; −0.9 → 1. Of y: 4, 3, 1, 5, 2, 6.
        let expected = pearson(&[5.0, 3.0, 1.0, 5.0, 2.0, 5.0], &[4.0, 3.0, 1.0, 5.0, 2.0, 6.0]).unwrap();
        assert!((s.unwrap() - expected).abs() < 1e-15);
    }
}
