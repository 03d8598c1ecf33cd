//! The statistics behind every analysis: Spearman's ρ and Pearson's r with two-sided p-values,
//! the mean with its Student-t confidence interval, the median, and a one-call summary of a sample.
//!
//! Each follows SciPy's definition so that numbers agree with the paper's Python tooling:
//! `scipy.stats.spearmanr` (average ranks for ties), `scipy.stats.pearsonr`, and
//! `scipy.stats.t.interval(level, n − 1, loc = mean, scale = sem)`. The paper uses them for App. G's
//! motif scores, App. H's 95 % intervals and App. J's correlations.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::error::{check_column, check_length, AnalysisError};

/// A correlation coefficient and its two-sided p-value (null hypothesis: no correlation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Correlation {
    /// In [−1, 1].
    pub coefficient: f64,
    /// From the t statistic r·√((n−2)/(1−r²)) with n − 2 degrees of freedom, as SciPy computes it;
    /// `None` below three points, where the test has no degrees of freedom.
    pub p_value: Option<f64>,
    /// Number of points.
    pub n: usize,
}

/// A two-sided confidence interval around a sample mean.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// The usual description of one sample, e.g. one generation's accuracies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    pub median: f64,
    /// Sample standard deviation (n − 1 in the denominator); `None` for a single value.
    pub std_dev: Option<f64>,
    pub min: f64,
    pub max: f64,
    /// The 95 % interval of [`mean_confidence_interval`]; `None` for a single value.
    pub ci95: Option<Interval>,
}

/// Pearson's r of two paired columns `x` and `y` (same length, at least 2, finite, neither constant).
pub fn pearson(x: &[f64], y: &[f64]) -> Result<Correlation, AnalysisError> {
    check_pair(x, y)?;
    let coefficient = pearson_unchecked(x, y)?;
    Ok(Correlation { coefficient, p_value: p_value(coefficient, x.len()), n: x.len() })
}

/// Spearman's ρ of two paired columns: Pearson's r of their ranks, tied values sharing the average
/// of their ranks. Same input rules as [`pearson`].
pub fn spearman(x: &[f64], y: &[f64]) -> Result<Correlation, AnalysisError> {
    check_pair(x, y)?;
    let coefficient = pearson_unchecked(&average_ranks(x), &average_ranks(y))?;
    Ok(Correlation { coefficient, p_value: p_value(coefficient, x.len()), n: x.len() })
}

/// The 1-based ranks of `values`, ties given the mean of the ranks they span (SciPy's
/// `rankdata(method="average")`).
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end (0-based) hold ranks start+1..=end; their mean:
        let rank = (start + end + 1) as f64 / 2.0;
        for &index in &order[start..end] {
            ranks[index] = rank;
        }
        start = end;
    }
    ranks
}

/// The arithmetic mean of a non-empty, finite sample.
pub fn mean(values: &[f64]) -> Result<f64, AnalysisError> {
    check_column("values", values)?;
    Ok(mean_unchecked(values))
}

/// The median of a non-empty, finite sample (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Result<f64, AnalysisError> {
    check_column("values", values)?;
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    Ok(if sorted.len() % 2 == 1 { sorted[middle] } else { (sorted[middle - 1] + sorted[middle]) / 2.0 })
}

/// The interval `mean ± t(n−1, (1+level)/2) · s/√n` for a sample of at least two finite values,
/// as `scipy.stats.t.interval(level, n - 1, loc=mean, scale=sem)`. A sample of equal values gives
/// the zero-width interval at its mean (SciPy answers NaN there, having no scale).
pub fn mean_confidence_interval(values: &[f64], level: f64) -> Result<Interval, AnalysisError> {
    check_column("values", values)?;
    if !(level > 0.0 && level < 1.0) {
        return Err(AnalysisError::ConfidenceLevel { level });
    }
    if values.len() < 2 {
        return Err(AnalysisError::TooFew { what: "values".into(), needed: 2, found: values.len() });
    }
    let mean = mean_unchecked(values);
    let standard_error = sample_std_dev(values, mean) / (values.len() as f64).sqrt();
    if standard_error == 0.0 {
        return Ok(Interval { low: mean, high: mean });
    }
    let half_width = students_t(values.len() - 1).inverse_cdf((1.0 + level) / 2.0) * standard_error;
    Ok(Interval { low: mean - half_width, high: mean + half_width })
}

/// Size, mean, median, spread and 95 % interval of a non-empty, finite sample.
pub fn summarize(values: &[f64]) -> Result<Summary, AnalysisError> {
    check_column("values", values)?;
    let mean = mean_unchecked(values);
    let several = values.len() > 1;
    Ok(Summary {
        n: values.len(),
        mean,
        median: median(values)?,
        std_dev: several.then(|| sample_std_dev(values, mean)),
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ci95: if several { Some(mean_confidence_interval(values, 0.95)?) } else { None },
    })
}

fn check_pair(x: &[f64], y: &[f64]) -> Result<(), AnalysisError> {
    check_column("x", x)?;
    check_column("y", y)?;
    check_length("y", x.len(), y.len())?;
    if x.len() < 2 {
        return Err(AnalysisError::TooFew { what: "x".into(), needed: 2, found: x.len() });
    }
    Ok(())
}

fn pearson_unchecked(x: &[f64], y: &[f64]) -> Result<f64, AnalysisError> {
    let (mean_x, mean_y) = (mean_unchecked(x), mean_unchecked(y));
    let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        let (dx, dy) = (a - mean_x, b - mean_y);
        xy += dx * dy;
        xx += dx * dx;
        yy += dy * dy;
    }
    // Exact equality: a centred column is all zeros only when every value is the same.
    if xx == 0.0 {
        return Err(AnalysisError::Constant { what: "x".into() });
    }
    if yy == 0.0 {
        return Err(AnalysisError::Constant { what: "y".into() });
    }
    // Rounding can carry |r| a hair past 1.
    Ok((xy / (xx * yy).sqrt()).clamp(-1.0, 1.0))
}

fn p_value(r: f64, n: usize) -> Option<f64> {
    if n < 3 {
        return None;
    }
    if r.abs() == 1.0 {
        return Some(0.0);
    }
    let degrees = (n - 2) as f64;
    let t = r * (degrees / ((1.0 - r) * (1.0 + r))).sqrt();
    Some((2.0 * students_t(n - 2).sf(t.abs())).min(1.0))
}

fn students_t(degrees_of_freedom: usize) -> StudentsT {
    StudentsT::new(0.0, 1.0, degrees_of_freedom as f64).expect("degrees of freedom are positive")
}

fn mean_unchecked(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

fn sample_std_dev(values: &[f64], mean: f64) -> f64 {
    let squares: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (squares / (values.len() - 1) as f64).sqrt()
}
