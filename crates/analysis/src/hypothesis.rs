//! Two-sided rank tests between two groups of runs: the Wilcoxon signed-rank test for samples
//! that pair (the same seeds in both groups) and the Mann–Whitney U test for independent ones.
//!
//! Both reproduce SciPy 1.17's defaults number for number — `scipy.stats.wilcoxon(x, y)` and
//! `scipy.stats.mannwhitneyu(x, y)` — including how SciPy picks the null distribution (exact,
//! enumerated sign flips, or the normal approximation with tie and continuity corrections) and
//! the order of its floating-point sums where a p-value is `1 − Σ…` and rounding shows. A report
//! that cites such a p-value can then be checked with the Python everyone has.

use serde::Serialize;
use statrs::function::erf::erfc;

use crate::error::{check_column, check_length, AnalysisError};
use crate::stats::average_ranks;

/// How a test's p-value was computed, as SciPy's `method="auto"` would choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TestMethod {
    /// The exact null distribution of the statistic (no ties, no zero differences, small samples).
    Exact,
    /// Every sign flip of the differences enumerated (Wilcoxon with ties or zeros, at most 13 pairs).
    Permutation,
    /// The normal approximation with tie correction (and continuity correction for Mann–Whitney).
    Asymptotic,
}

/// A two-sided test's statistic and p-value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TestResult {
    /// Wilcoxon: min(R⁺, R⁻), the smaller signed-rank sum. Mann–Whitney: U of the first sample.
    pub statistic: f64,
    /// Two-sided, in [0, 1].
    pub p_value: f64,
    pub method: TestMethod,
}

/// SciPy switches Wilcoxon to the normal approximation above this many pairs.
const WILCOXON_EXACT_MAX: usize = 50;
/// With ties or zeros, SciPy enumerates all 2ⁿ sign flips while 2ⁿ is below its 9 999 resamples.
const WILCOXON_PERMUTATION_MAX: usize = 13;
/// Mann–Whitney is exact (without ties) unless both samples are larger than this.
const MANN_WHITNEY_EXACT_MAX: usize = 8;

/// The two-sided Wilcoxon signed-rank test of paired samples `x` and `y` (same length, finite),
/// as `scipy.stats.wilcoxon(x, y)`: zero differences are dropped ("wilcox"); up to 50 pairs
/// without ties or zeros the exact distribution, up to 13 pairs with them every sign flip, else the
/// normal approximation with tie correction (and, as SciPy's default, without continuity
/// correction). When every difference is
/// zero the answer is statistic 0 and p-value 1 (SciPy says NaN beyond 13 pairs, having no variance).
pub fn wilcoxon_signed_rank(x: &[f64], y: &[f64]) -> Result<TestResult, AnalysisError> {
    check_column("x", x)?;
    check_column("y", y)?;
    check_length("y", x.len(), y.len())?;
    let differences: Vec<f64> = x.iter().zip(y).map(|(a, b)| a - b).collect();
    let pairs = differences.len();
    let nonzero: Vec<f64> = differences.iter().copied().filter(|&d| d != 0.0).collect();
    let zeros = pairs - nonzero.len();
    if nonzero.is_empty() {
        return Ok(TestResult { statistic: 0.0, p_value: 1.0, method: TestMethod::Permutation });
    }
    let magnitudes: Vec<f64> = nonzero.iter().map(|d| d.abs()).collect();
    let ranks = average_ranks(&magnitudes);
    let rank_sum = |positive: bool| -> f64 {
        // Folded from +0.0: Rust's empty f64 sum is −0.0, SciPy's 0.0.
        nonzero.iter().zip(&ranks).filter(|(d, _)| (**d > 0.0) == positive).fold(0.0, |sum, (_, r)| sum + r)
    };
    let (r_plus, r_minus) = (rank_sum(true), rank_sum(false));
    let statistic = r_plus.min(r_minus);
    let ties = tie_counts(&magnitudes);
    let has_ties = ties.iter().any(|&t| t > 1);

    let method = if pairs > WILCOXON_EXACT_MAX {
        TestMethod::Asymptotic
    } else if !has_ties && zeros == 0 {
        TestMethod::Exact
    } else if pairs <= WILCOXON_PERMUTATION_MAX {
        TestMethod::Permutation
    } else {
        TestMethod::Asymptotic
    };
    let p_value = match method {
        TestMethod::Exact => wilcoxon_exact_p(nonzero.len(), r_plus),
        TestMethod::Permutation => wilcoxon_permutation_p(&ranks, r_plus),
        TestMethod::Asymptotic => {
            let count = nonzero.len() as f64;
            let mean = count * (count + 1.0) * 0.25;
            let tie_correction: f64 = ties.iter().map(|&t| (t * t * t - t) as f64).sum();
            let variance_sum = count * (count + 1.0) * (2.0 * count + 1.0);
            let se = ((variance_sum - tie_correction / 2.0) / 24.0).sqrt();
            // SciPy's default `correction=False`: no continuity correction for Wilcoxon.
            let z = (r_plus - mean) / se;
            2.0 * normal_sf(z.abs())
        }
    };
    Ok(TestResult { statistic, p_value, method })
}

/// The two-sided Mann–Whitney U test of independent samples `x` and `y` (each non-empty, finite),
/// as `scipy.stats.mannwhitneyu(x, y)`: the statistic is U of `x`; exact when one sample has at
/// most 8 values and there are no ties, else the normal approximation with tie correction and
/// continuity correction.
pub fn mann_whitney_u(x: &[f64], y: &[f64]) -> Result<TestResult, AnalysisError> {
    check_column("x", x)?;
    check_column("y", y)?;
    let (n1, n2) = (x.len(), y.len());
    let pooled: Vec<f64> = x.iter().chain(y).copied().collect();
    let ranks = average_ranks(&pooled);
    let rank_sum_x: f64 = ranks[..n1].iter().sum();
    let u_x = rank_sum_x - (n1 * (n1 + 1)) as f64 / 2.0;
    let u_y = (n1 * n2) as f64 - u_x;
    let larger_u = u_x.max(u_y);
    let ties = tie_counts(&pooled);
    let has_ties = ties.iter().any(|&t| t > 1);

    let exact = n1.min(n2) <= MANN_WHITNEY_EXACT_MAX && !has_ties;
    let one_sided = if exact {
        // P(U ≥ larger_u) = P(U ≤ n1·n2 − larger_u) by symmetry; larger_u is a whole number here.
        mann_whitney_exact_cdf(n1.min(n2), n1.max(n2), n1 * n2 - larger_u as usize)
    } else {
        let n = (n1 + n2) as f64;
        let tie_term: f64 = ties.iter().map(|&t| (t * t * t - t) as f64).sum();
        let spread = ((n1 * n2) as f64 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)))).sqrt();
        let z = (larger_u - (n1 * n2) as f64 / 2.0 - 0.5) / spread;
        normal_sf(z)
    };
    Ok(TestResult {
        statistic: u_x,
        p_value: (2.0 * one_sided).clamp(0.0, 1.0),
        method: if exact { TestMethod::Exact } else { TestMethod::Asymptotic },
    })
}

/// The sizes of the groups of equal values (each value in exactly one group).
fn tie_counts(values: &[f64]) -> Vec<usize> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.chunk_by(|a, b| a == b).map(<[f64]>::len).collect()
}

/// P(Z > z) for a standard normal Z, accurate in both tails (SciPy's `ndtr(-z)`).
fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Two-sided exact p-value of R⁺ for `n` pairs without ties or zeros, with SciPy's
/// `WilcoxonDistribution`: each tail summed directly below the mean and as 1 − the other side
/// above it, in NumPy's summation order so that the cancellation rounds as SciPy's does.
fn wilcoxon_exact_p(n: usize, r_plus: f64) -> f64 {
    let pmf = wilcoxon_pmf(n);
    let mean = (n * (n + 1)) as f64 / 4.0;
    let cdf = |k: usize| {
        if k as f64 <= mean {
            numpy_sum(&pmf[..=k])
        } else {
            1.0 - numpy_sum(&pmf[(k + 1).min(pmf.len())..])
        }
    };
    let sf = |k: usize| if k as f64 <= mean { numpy_sum(&pmf[k..]) } else { 1.0 - numpy_sum(&pmf[..k]) };
    // R⁺ is a whole number without ties; floor and ceil are SciPy's guard for the tied case.
    let p = 2.0 * sf(r_plus.floor() as usize).min(cdf(r_plus.ceil() as usize));
    p.clamp(0.0, 1.0)
}

/// P(R⁺ = r) for r = 0 ..= n(n+1)/2, built as SciPy's `_get_wilcoxon_distr` builds it: adding
/// rank k either to the positive side or not, each with probability ½.
fn wilcoxon_pmf(n: usize) -> Vec<f64> {
    let mut pmf = vec![1.0];
    for k in 1..=n {
        let previous = pmf;
        pmf = vec![0.0; k * (k + 1) / 2 + 1];
        let shift = pmf.len() - previous.len();
        for (i, p) in previous.iter().enumerate() {
            pmf[i] = p * 0.5;
        }
        for (i, p) in previous.iter().enumerate() {
            pmf[shift + i] += p * 0.5;
        }
    }
    pmf
}

/// Two-sided p-value of R⁺ over every assignment of signs to the ranked non-zero differences
/// (SciPy's exact `permutation_test` for 2ⁿ ≤ 9 999): 2·min(P(null ≤ R⁺), P(null ≥ R⁺)), capped
/// at 1. Ranks are multiples of ½, so sums are done on doubled ranks in integers, exactly.
fn wilcoxon_permutation_p(ranks: &[f64], r_plus: f64) -> f64 {
    let doubled: Vec<u64> = ranks.iter().map(|r| (2.0 * r) as u64).collect();
    let observed = (2.0 * r_plus) as u64;
    let (mut at_most, mut at_least) = (0u64, 0u64);
    for signs in 0u64..1 << doubled.len() {
        let sum: u64 = doubled.iter().enumerate().filter(|(i, _)| signs >> i & 1 == 1).map(|(_, r)| r).sum();
        at_most += u64::from(sum <= observed);
        at_least += u64::from(sum >= observed);
    }
    let total = (1u64 << doubled.len()) as f64;
    (2.0 * (at_most as f64 / total).min(at_least as f64 / total)).clamp(0.0, 1.0)
}

/// P(U ≤ k) for samples of `small` ≤ `large` values without ties, as SciPy's `_MWU` computes it:
/// the count of arrangements with each U by the recurrence on divisor sums (Andrews' identity, in
/// SciPy's `build_u_freqs_array`), divided by C(small + large, small) and summed in order.
fn mann_whitney_exact_cdf(small: usize, large: usize, k: usize) -> f64 {
    // σ(u) = Σ of the divisors d of u with d ≤ small, minus those with large < d ≤ large + small.
    let sigma = |u: usize| -> f64 {
        let plus: usize = (1..=small).filter(|d| u % d == 0).sum();
        let minus: usize = (large + 1..=large + small).filter(|d| u % d == 0).sum();
        plus as f64 - minus as f64
    };
    let sigmas: Vec<f64> = (0..=k).map(|u| if u == 0 { 0.0 } else { sigma(u) }).collect();
    let mut counts = vec![1.0f64];
    for u in 1..=k {
        let dot: f64 = (0..u).map(|i| counts[i] * sigmas[u - i]).sum();
        // SciPy keeps the counts in unsigned 64-bit integers while they fit, truncating the division.
        let value = dot / u as f64;
        counts.push(if value <= u64::MAX as f64 { value.trunc() } else { value });
    }
    let total = scipy_binom(small + large, small);
    counts.iter().map(|c| c / total).sum()
}

/// C(n, k) as `scipy.special.binom` computes it for small whole k: a running product of ratios.
fn scipy_binom(n: usize, k: usize) -> f64 {
    let n = n as f64;
    let mut k = k as f64;
    if k > n / 2.0 && n > 0.0 {
        k = n - k;
    }
    let (mut numerator, mut denominator) = (1.0f64, 1.0f64);
    for i in 1..=(k as usize) {
        numerator *= i as f64 + n - k;
        denominator *= i as f64;
        if numerator.abs() > 1e50 {
            numerator /= denominator;
            denominator = 1.0;
        }
    }
    numerator / denominator
}

/// NumPy's pairwise summation of a contiguous `float64` array (`np.sum`), so that sums whose
/// rounding matters round as they do in SciPy: blocks of up to 128 values in eight interleaved
/// accumulators, halves of longer arrays summed apart.
fn numpy_sum(values: &[f64]) -> f64 {
    const BLOCK: usize = 128;
    let n = values.len();
    if n < 8 {
        values.iter().fold(0.0, |sum, v| sum + v)
    } else if n <= BLOCK {
        let mut lanes = [0.0; 8];
        lanes.copy_from_slice(&values[..8]);
        let whole = n - n % 8;
        for chunk in values[8..whole].chunks_exact(8) {
            for (lane, v) in lanes.iter_mut().zip(chunk) {
                *lane += v;
            }
        }
        let mut sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
        for v in &values[whole..] {
            sum += v;
        }
        sum
    } else {
        let mut half = n / 2;
        half -= half % 8;
        numpy_sum(&values[..half]) + numpy_sum(&values[half..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilcoxon_distribution_matches_hand_counts() {
        // n = 3: the 8 sign patterns give R⁺ = 0, 1, 2, 3, 3, 4, 5, 6.
        assert_eq!(wilcoxon_pmf(3), [0.125, 0.125, 0.125, 0.25, 0.125, 0.125, 0.125]);
    }

    #[test]
    fn mann_whitney_counts_match_hand_enumeration() {
        // Samples of 2 and 3: the C(5,2) = 10 placements of the first sample give U = 0,1,2,2,3,3,4,4,5,6.
        let cdf: Vec<f64> = (0..=6).map(|k| mann_whitney_exact_cdf(2, 3, k)).collect();
        let expected = [1.0, 2.0, 4.0, 6.0, 8.0, 9.0, 10.0].map(|c| c / 10.0);
        for (a, b) in cdf.iter().zip(expected) {
            assert!((a - b).abs() < 1e-15, "{cdf:?}");
        }
    }

    #[test]
    fn pairwise_sum_follows_numpy_blocks() {
        // 1e16 + 1 + … loses the ones in a running sum but not when the ones are summed in their own lanes.
        let mut values = vec![1.0; 200];
        values[0] = 1e16;
        let running: f64 = values.iter().sum();
        assert_eq!(running, 1e16);
        // NumPy 2.4's `np.sum` of the same arrays (a 200-value and a 20-value one).
        assert_eq!(numpy_sum(&values) - 1e16, 188.0);
        let mut short = vec![1.0; 20];
        short[0] = 1e16;
        assert_eq!(numpy_sum(&short) - 1e16, 16.0);
    }
}
