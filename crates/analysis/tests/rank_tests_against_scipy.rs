//! The rank tests and the bootstrap against SciPy and NumPy: fixed numbers computed once with
//! SciPy 1.17 (always run), random and tie-heavy samples of many sizes handed to SciPy live
//! (skipped with a note without SciPy, a failure under CI), and the bootstrap's resamples redone
//! by NumPy from the draws its documentation promises.

mod live_python;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xnas_analysis::{
    bootstrap_mean_difference, mann_whitney_u, wilcoxon_signed_rank, AnalysisError, Pairing, TestMethod, TestResult,
};

fn assert_matches(actual: TestResult, statistic: f64, p_value: f64, context: &str) {
    assert!(
        (actual.statistic - statistic).abs() <= 1e-12 * statistic.abs().max(1.0),
        "statistic {actual:?} vs scipy {statistic}: {context}"
    );
    assert!(
        (actual.p_value - p_value).abs() <= 1e-9 * p_value.abs(),
        "p-value {actual:?} vs scipy {p_value} (relative {:e}): {context}",
        (actual.p_value - p_value).abs() / p_value.abs()
    );
}

#[test]
fn fixed_numbers_match_scipy() {
    let x = [0.91, 0.88, 0.93, 0.84, 0.75, 0.97, 0.85, 0.92, 0.80, 0.90];
    let y = [0.89, 0.85, 0.94, 0.80, 0.70, 0.90, 0.86, 0.87, 0.71, 0.82];
    let tied = [1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0];
    let other = [2.0, 2.0, 3.0, 5.0, 1.0, 3.0, 6.0];
    // Each: ours, then SciPy 1.17.1's statistic and p-value of `wilcoxon` / `mannwhitneyu` on the
    // same numbers, and the method SciPy's rules pick (x − y has two equal differences of 0.05).
    for (ours, statistic, p_value, method) in [
        (wilcoxon_signed_rank(&x, &y), 3.0, 0.009765625, TestMethod::Permutation),
        (wilcoxon_signed_rank(&tied, &other), 4.0, 0.4375, TestMethod::Permutation),
        (mann_whitney_u(&x, &y), 65.5, 0.25630224769644216, TestMethod::Asymptotic),
        (mann_whitney_u(&x[..6], &y), 41.0, 0.26348651348651353, TestMethod::Exact),
        (mann_whitney_u(&tied, &other), 21.5, 0.7407125599698001, TestMethod::Asymptotic),
    ] {
        let ours = ours.unwrap();
        assert_matches(ours, statistic, p_value, "fixed numbers");
        assert_eq!(ours.method, method);
    }
}

#[test]
fn bad_inputs_are_typed_errors() {
    assert!(matches!(wilcoxon_signed_rank(&[1.0, 2.0], &[1.0]), Err(AnalysisError::LengthMismatch { .. })));
    assert!(matches!(wilcoxon_signed_rank(&[], &[]), Err(AnalysisError::Empty { .. })));
    assert!(matches!(mann_whitney_u(&[1.0], &[f64::NAN]), Err(AnalysisError::NotFinite { .. })));
    assert!(matches!(mann_whitney_u(&[], &[1.0]), Err(AnalysisError::Empty { .. })));
    assert!(matches!(
        bootstrap_mean_difference(&[1.0], &[2.0], Pairing::Independent, 0.95, 0, 1),
        Err(AnalysisError::TooFew { .. })
    ));
    assert!(matches!(
        bootstrap_mean_difference(&[1.0, 2.0], &[2.0], Pairing::Paired, 0.95, 10, 1),
        Err(AnalysisError::LengthMismatch { .. })
    ));
    assert!(matches!(
        bootstrap_mean_difference(&[1.0], &[2.0], Pairing::Independent, 1.5, 10, 1),
        Err(AnalysisError::ConfidenceLevel { .. })
    ));
    // Every difference positive: R⁻ is an empty sum, written 0 as SciPy writes it (not −0).
    let all_above = wilcoxon_signed_rank(&[2.0, 3.0, 4.0], &[1.0, 1.0, 1.0]).unwrap();
    assert!(all_above.statistic == 0.0 && all_above.statistic.is_sign_positive(), "{all_above:?}");
    // Identical groups: no difference to rank, p = 1.
    let same = wilcoxon_signed_rank(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]).unwrap();
    assert_eq!((same.statistic, same.p_value), (0.0, 1.0));
}

/// A sample of `n` values: continuous, or drawn from a few whole numbers so that ties are common.
fn sample(rng: &mut ChaCha8Rng, n: usize, tie_heavy: bool) -> Vec<f64> {
    (0..n).map(|_| if tie_heavy { rng.random_range(0..5) as f64 } else { rng.random_range(-1.0..1.0) }).collect()
}

#[test]
fn rank_tests_match_live_scipy() {
    let Some(python) = live_python::python_with("scipy") else {
        return live_python::without("scipy", "live comparison of the rank tests with SciPy");
    };
    let mut rng = ChaCha8Rng::seed_from_u64(20);
    let mut paired = Vec::new();
    let mut independent = Vec::new();
    // SciPy's own permutation test takes a second or two at 13 pairs, so few cases reach it.
    for case in 0..130 {
        let tie_heavy = case % 3 == 0;
        // Sizes around SciPy's switches: 13 (permutation), 50 (exact Wilcoxon), 8 (exact Mann–Whitney).
        let n = [1, 2, 3, 5, 8, 10, 13, 14, 20, 35, 50, 51, 70][case % 13];
        let x = sample(&mut rng, n, tie_heavy);
        // A shift keeps the p-values away from 1 in some cases, makes them tiny in others.
        let shift = [0.0, 0.3, 1.5][case / 3 % 3];
        let mut y: Vec<f64> = sample(&mut rng, n, tie_heavy).iter().map(|v| v + shift).collect();
        if case % 5 == 0 && n > 1 {
            // Some equal pairs: zero differences.
            y[0] = x[0];
        }
        paired.push((x.clone(), y));
        let (n1, n2) =
            [(1, 1), (3, 40), (8, 8), (8, 30), (9, 9), (5, 3), (12, 20), (2, 7), (30, 45), (9, 4)][case % 10];
        let shift = if case % 4 == 0 { 2.0 } else { 0.2 };
        let x = sample(&mut rng, n1, tie_heavy);
        let y: Vec<f64> = sample(&mut rng, n2, tie_heavy).iter().map(|v| v + shift).collect();
        independent.push((x, y));
    }
    let script = r#"
import json, sys
import scipy.stats as st
paired, independent = json.load(sys.stdin)
import numpy as np
def pair(r): return [float(r.statistic), float(r.pvalue)]
def wilcoxon(x, y):
    # SciPy refuses a single pair whose difference is zero (too few for its permutation test).
    if len(x) == 1 and x == y: return [0.0, None]
    with np.errstate(invalid="ignore"): s, p = pair(st.wilcoxon(x, y))
    return [s, None if np.isnan(p) else p]
print(json.dumps([[wilcoxon(x, y) for x, y in paired], [pair(st.mannwhitneyu(x, y)) for x, y in independent]]))
"#;
    // SciPy's p-value is None (NaN) where every difference is zero.
    type StatisticAndP<P> = Vec<(f64, P)>;
    let (wilcoxon, mann_whitney): (StatisticAndP<Option<f64>>, StatisticAndP<f64>) =
        live_python::run_json(&python, script, &(&paired, &independent));
    let mut methods = std::collections::BTreeMap::new();
    for ((x, y), (statistic, p_value)) in paired.iter().zip(wilcoxon) {
        let ours = wilcoxon_signed_rank(x, y).unwrap();
        let Some(p_value) = p_value else {
            // SciPy has no variance when every difference is zero; we answer p = 1.
            assert!(x == y && ours.p_value == 1.0, "x = {x:?}, y = {y:?}");
            continue;
        };
        assert_matches(ours, statistic, p_value, &format!("wilcoxon x = {x:?}, y = {y:?}"));
        *methods.entry(format!("wilcoxon {:?}", ours.method)).or_insert(0) += 1;
    }
    for ((x, y), (statistic, p_value)) in independent.iter().zip(mann_whitney) {
        let ours = mann_whitney_u(x, y).unwrap();
        assert_matches(ours, statistic, p_value, &format!("mannwhitneyu x = {x:?}, y = {y:?}"));
        *methods.entry(format!("mann-whitney {:?}", ours.method)).or_insert(0) += 1;
    }
    // Every branch of both tests was exercised.
    assert_eq!(methods.len(), 5, "{methods:?}");
    println!("rank tests agree with SciPy ({python}): {methods:?}");
}

/// The bootstrap redone by NumPy: the test draws the indices the module documentation promises
/// and NumPy computes the resampled means and the percentiles from them.
#[test]
fn bootstrap_matches_numpy_on_the_documented_resamples() {
    let Some(python) = live_python::python_with("numpy") else {
        return live_python::without("numpy", "live comparison of the bootstrap with NumPy");
    };
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut cases = Vec::new();
    for case in 0..12 {
        let paired = case % 2 == 1;
        let (n1, n2) = if paired { (2 + case, 2 + case) } else { (2 + case, 3 + case / 2) };
        let x = sample(&mut rng, n1, case % 3 == 0);
        let y = sample(&mut rng, n2, case % 3 == 0);
        let (seed, resamples, level) = (case as u64 * 31, 200 + 50 * case, [0.95, 0.9, 0.5][case % 3]);
        let mut draws = ChaCha8Rng::seed_from_u64(seed);
        let mut indices_x = Vec::new();
        let mut indices_y = Vec::new();
        for _ in 0..resamples {
            indices_x.push((0..n1).map(|_| draws.random_range(0..n1)).collect::<Vec<_>>());
            if !paired {
                indices_y.push((0..n2).map(|_| draws.random_range(0..n2)).collect::<Vec<_>>());
            }
        }
        if paired {
            indices_y = indices_x.clone();
        }
        let ours = bootstrap_mean_difference(
            &x,
            &y,
            if paired { Pairing::Paired } else { Pairing::Independent },
            level,
            resamples,
            seed,
        )
        .unwrap();
        cases.push((x, y, indices_x, indices_y, level, ours));
    }
    let input: Vec<_> = cases.iter().map(|(x, y, ix, iy, level, _)| (x, y, ix, iy, level)).collect();
    let script = r#"
import json, sys
import numpy as np
out = []
for x, y, ix, iy, level in json.load(sys.stdin):
    x, y = np.array(x), np.array(y)
    d = x[np.array(ix)].mean(axis=1) - y[np.array(iy)].mean(axis=1)
    lo, hi = np.percentile(d, [50 * (1 - level), 50 * (1 + level)])
    out.append([float(x.mean() - y.mean()), float(lo), float(hi)])
print(json.dumps(out))
"#;
    let expected: Vec<[f64; 3]> = live_python::run_json(&python, script, &input);
    for ((x, y, .., ours), [difference, low, high]) in cases.iter().zip(expected) {
        let context = format!("x = {x:?}, y = {y:?}: {ours:?} vs numpy {difference} [{low}, {high}]");
        assert!((ours.difference - difference).abs() < 1e-12, "{context}");
        assert!((ours.low - low).abs() < 1e-12 && (ours.high - high).abs() < 1e-12, "{context}");
        assert!(ours.low <= ours.high, "{context}");
    }
    // The same seed gives the same interval; another seed another one.
    let (x, y) = (&cases[0].0, &cases[0].1);
    let again = bootstrap_mean_difference(x, y, Pairing::Independent, 0.95, 1000, 5).unwrap();
    assert_eq!(again, bootstrap_mean_difference(x, y, Pairing::Independent, 0.95, 1000, 5).unwrap());
    assert_ne!(again, bootstrap_mean_difference(x, y, Pairing::Independent, 0.95, 1000, 6).unwrap());
}
