//! The statistics against SciPy: fixed numbers computed once with SciPy 1.17
//! (`spearmanr`, `pearsonr`, `rankdata`, `t.interval(level, n-1, loc=mean, scale=sem)`), which
//! always run; and random inputs handed to SciPy live when a Python with SciPy is found
//! (`XNAS_PYTHON`, else `$XNAS_VENV/bin/python`, else `python3`), skipped with a note otherwise
//! (a failure under CI, where it must run).

mod live_python;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xnas_analysis::{
    average_ranks, mean_confidence_interval, median, pearson, spearman, summarize, AnalysisError, Correlation,
};

const X: [f64; 10] = [0.91, 0.88, 0.93, 0.88, 0.75, 0.97, 0.85, 0.91, 0.80, 0.90];
const Y: [f64; 10] = [0.12, 0.30, 0.08, 0.25, 0.41, 0.05, 0.33, 0.15, 0.38, 0.20];
const Z: [f64; 10] = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0];

fn close(actual: f64, expected: f64, relative: f64) -> bool {
    (actual - expected).abs() <= relative * expected.abs().max(1e-300)
}

fn assert_correlation(actual: Correlation, coefficient: f64, p_value: f64) {
    assert!(close(actual.coefficient, coefficient, 1e-12), "r {} vs scipy {coefficient}", actual.coefficient);
    let p = actual.p_value.unwrap();
    assert!(close(p, p_value, 1e-9), "p {p} vs scipy {p_value}");
}

#[test]
fn spearman_and_pearson_match_scipy_on_fixed_numbers() {
    assert_correlation(spearman(&X, &Y).unwrap(), -0.9939209163101398, 5.931422714952701e-09);
    assert_correlation(pearson(&X, &Y).unwrap(), -0.9370705291354939, 6.356453978062387e-05);
    assert_correlation(spearman(&X, &Z).unwrap(), 0.3046168265919412, 0.39211578042664547);
    assert_correlation(pearson(&X, &Z).unwrap(), 0.21622134423430392, 0.5485152285483829);
    assert_correlation(spearman(&Y, &Z).unwrap(), -0.27524094128159016, 0.441487372562929);
    assert_correlation(pearson(&Y, &Z).unwrap(), -0.3775273836415507, 0.28213938112103193);
    assert_correlation(spearman(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]).unwrap(), 0.5, 0.6666666666666666);
    assert_eq!(average_ranks(&X), [7.5, 4.5, 9.0, 4.5, 1.0, 10.0, 3.0, 7.5, 2.0, 6.0]);
}

#[test]
fn intervals_and_medians_match_scipy_on_fixed_numbers() {
    for (sample, mean, ci95, ci99, median_value, std_dev) in [
        (
            &X[..],
            0.8779999999999999,
            (0.8321575837025232, 0.9238424162974765),
            (0.812142368069724, 0.9438576319302758),
            0.89,
            0.06408327915038889,
        ),
        (
            &Z[..],
            3.9,
            (2.1331987752405404, 5.6668012247594595),
            (1.3617973014530174, 6.4382026985469825),
            3.5,
            2.4698178070456938,
        ),
        (
            &[1.5, 2.5][..],
            2.0,
            (-4.353102368087347, 8.353102368087347),
            (-29.828370581435763, 33.82837058143576),
            2.0,
            // SciPy's 0.7071067811865476.
            std::f64::consts::FRAC_1_SQRT_2,
        ),
    ] {
        let interval = mean_confidence_interval(sample, 0.95).unwrap();
        assert!(close(interval.low, ci95.0, 1e-10) && close(interval.high, ci95.1, 1e-10), "{interval:?} vs {ci95:?}");
        let interval = mean_confidence_interval(sample, 0.99).unwrap();
        assert!(close(interval.low, ci99.0, 1e-10) && close(interval.high, ci99.1, 1e-10), "{interval:?} vs {ci99:?}");
        assert_eq!(median(sample).unwrap(), median_value);
        let summary = summarize(sample).unwrap();
        assert!(close(summary.mean, mean, 1e-14));
        assert!(close(summary.std_dev.unwrap(), std_dev, 1e-12));
        assert_eq!(summary.ci95, Some(mean_confidence_interval(sample, 0.95).unwrap()));
    }
}

#[test]
fn degenerate_inputs_are_typed_errors() {
    assert!(matches!(spearman(&[], &[]), Err(AnalysisError::Empty { .. })));
    assert!(matches!(spearman(&[1.0], &[2.0]), Err(AnalysisError::TooFew { needed: 2, .. })));
    assert!(matches!(pearson(&[1.0, 2.0], &[1.0]), Err(AnalysisError::LengthMismatch { .. })));
    assert!(matches!(pearson(&[1.0, f64::NAN], &[1.0, 2.0]), Err(AnalysisError::NotFinite { index: 1, .. })));
    assert!(matches!(spearman(&[1.0, 2.0, 3.0], &[4.0; 3]), Err(AnalysisError::Constant { .. })));
    assert!(matches!(mean_confidence_interval(&[1.0], 0.95), Err(AnalysisError::TooFew { .. })));
    assert!(matches!(mean_confidence_interval(&[1.0, 2.0], 1.0), Err(AnalysisError::ConfidenceLevel { .. })));
    assert!(matches!(median(&[]), Err(AnalysisError::Empty { .. })));
    // Two points have no degrees of freedom for a test; a perfect correlation has p = 0.
    assert_eq!(pearson(&[1.0, 2.0], &[3.0, 1.0]).unwrap().p_value, None);
    assert_eq!(spearman(&[1.0, 2.0, 3.0], &[2.0, 4.0, 8.0]).unwrap().p_value, Some(0.0));
    let single = summarize(&[4.0]).unwrap();
    assert_eq!((single.std_dev, single.ci95, single.median), (None, None, 4.0));
}

/// Random samples of 3–40 points, some with many ties, compared with SciPy computing on the same numbers.
#[test]
fn random_inputs_match_live_scipy() {
    let Some(python) = live_python::python_with("scipy") else {
        return live_python::without("scipy", "live comparison with SciPy");
    };
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let mut cases = Vec::new();
    for case in 0..60 {
        let n = rng.random_range(3..=40);
        // Every third case draws from few values, so ties are common.
        let draw = |rng: &mut ChaCha8Rng| {
            if case % 3 == 0 {
                rng.random_range(0..4) as f64
            } else {
                rng.random_range(-1.0..1.0)
            }
        };
        let x: Vec<f64> = (0..n).map(|_| draw(&mut rng)).collect();
        let y: Vec<f64> = x.iter().map(|v| v * rng.random_range(-1.0..2.0) + draw(&mut rng)).collect();
        cases.push((x, y));
    }
    let script = r#"
import json, sys
import numpy as np, scipy.stats as st
out = []
for x, y in json.load(sys.stdin):
    s, p = st.spearmanr(x, y), st.pearsonr(x, y)
    lo, hi = st.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=st.sem(x))
    out.append([float(s.statistic), float(s.pvalue), float(p.statistic), float(p.pvalue), lo, hi, float(np.median(x))])
print(json.dumps(out))
"#;
    let expected: Vec<[f64; 7]> = live_python::run_json(&python, script, &cases);
    for ((x, y), [rho, rho_p, r, r_p, low, high, median_x]) in cases.iter().zip(expected) {
        let s = spearman(x, y).unwrap();
        let p = pearson(x, y).unwrap();
        let interval = mean_confidence_interval(x, 0.95).unwrap();
        let message = format!("x = {x:?}, y = {y:?}");
        assert!((s.coefficient - rho).abs() < 1e-12, "spearman {} vs {rho}: {message}", s.coefficient);
        assert!(close(s.p_value.unwrap(), rho_p, 1e-8), "spearman p {:?} vs {rho_p}: {message}", s.p_value);
        assert!((p.coefficient - r).abs() < 1e-12, "pearson {} vs {r}: {message}", p.coefficient);
        assert!(close(p.p_value.unwrap(), r_p, 1e-8), "pearson p {:?} vs {r_p}: {message}", p.p_value);
        assert!((interval.low - low).abs() < 1e-10 && (interval.high - high).abs() < 1e-10, "{interval:?}: {message}");
        assert_eq!(median(x).unwrap(), median_x, "{message}");
    }
    println!("{} random cases agree with SciPy ({python})", cases.len());
}
