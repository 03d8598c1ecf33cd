//! A seeded percentile bootstrap of the difference of two groups' means — how much better one
//! group of runs is than another, with an interval that a second compare of the same runs
//! reproduces to the last digit (the seed fixes every resample).
//!
//! The resampling, exactly (so that anyone can redo it): a `rand_chacha::ChaCha8Rng` seeded with
//! `seed_from_u64(seed)`; for each resample, independent groups draw `x.len()` indices into `x`
//! and then `y.len()` indices into `y`, paired groups draw `x.len()` pair indices, each index
//! `rng.random_range(0..len)`. A resample's difference is mean(x*) − mean(y*) (paired: the mean
//! of the resampled pairs' differences); the interval's ends are NumPy's default (linear)
//! percentiles of those differences at (1 − level)/2 and (1 + level)/2.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::error::{check_column, check_length, AnalysisError};

/// Whether the two groups' values pair (run i of one group and run i of the other share a seed)
/// and are resampled as pairs, or are two independent samples resampled apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pairing {
    Independent,
    Paired,
}

/// The observed difference of means and its bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BootstrapInterval {
    /// mean(x) − mean(y).
    pub difference: f64,
    pub low: f64,
    pub high: f64,
    pub level: f64,
    pub resamples: usize,
    pub seed: u64,
}

/// The percentile bootstrap interval of mean(x) − mean(y) at `level` (e.g. 0.95) from
/// `resamples` resamples drawn as the module header says. `x` and `y` are non-empty and finite;
/// paired samples have the same length.
pub fn bootstrap_mean_difference(
    x: &[f64],
    y: &[f64],
    pairing: Pairing,
    level: f64,
    resamples: usize,
    seed: u64,
) -> Result<BootstrapInterval, AnalysisError> {
    check_column("x", x)?;
    check_column("y", y)?;
    if pairing == Pairing::Paired {
        check_length("y", x.len(), y.len())?;
    }
    if !(level > 0.0 && level < 1.0) {
        return Err(AnalysisError::ConfidenceLevel { level });
    }
    if resamples == 0 {
        return Err(AnalysisError::TooFew { what: "bootstrap resamples".into(), needed: 1, found: 0 });
    }
    let mean = |values: &mut dyn Iterator<Item = f64>, n: usize| values.sum::<f64>() / n as f64;
    let difference = mean(&mut x.iter().copied(), x.len()) - mean(&mut y.iter().copied(), y.len());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut differences: Vec<f64> = (0..resamples)
        .map(|_| match pairing {
            Pairing::Independent => {
                let mean_x = mean(&mut (0..x.len()).map(|_| x[rng.random_range(0..x.len())]), x.len());
                let mean_y = mean(&mut (0..y.len()).map(|_| y[rng.random_range(0..y.len())]), y.len());
                mean_x - mean_y
            }
            Pairing::Paired => mean(
                &mut (0..x.len()).map(|_| {
                    let i = rng.random_range(0..x.len());
                    x[i] - y[i]
                }),
                x.len(),
            ),
        })
        .collect();
    differences.sort_by(f64::total_cmp);
    Ok(BootstrapInterval {
        difference,
        low: linear_percentile(&differences, (1.0 - level) / 2.0),
        high: linear_percentile(&differences, (1.0 + level) / 2.0),
        level,
        resamples,
        seed,
    })
}

/// NumPy's default `np.percentile(values, 100·fraction)` of sorted values: the value at the
/// virtual index fraction·(n − 1), interpolated linearly between its neighbours.
fn linear_percentile(sorted: &[f64], fraction: f64) -> f64 {
    let position = fraction * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let weight = position - below as f64;
    let (a, b) = (sorted[below], sorted[above]);
    // NumPy's lerp, which is exact at both ends and monotone.
    if weight >= 0.5 {
        b - (b - a) * (1.0 - weight)
    } else {
        a + (b - a) * weight
    }
}
