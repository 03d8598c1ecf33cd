//! The empirical attainment functions against moocore 0.3.2 (`eaf`, `eafdiff`), live: random
//! fronts (non-dominated or not, with repeated values) handed to moocore, skipped with a note
//! without moocore, a failure under CI; and a hand-drawn case that always runs.

mod live_python;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xnas_analysis::{attainment_difference, attainment_surfaces, AnalysisError};
use xnas_moo::Direction::{Maximise, Minimise};

#[test]
fn hand_drawn_surfaces() {
    // Three fronts, minimised: A = {(1,3), (3,1)}, B = {(2,2)}, C = {(4,4)}.
    let fronts = vec![vec![[1.0, 3.0], [3.0, 1.0]], vec![[2.0, 2.0]], vec![[4.0, 4.0]]];
    let surfaces = attainment_surfaces(&fronts, [Minimise, Minimise], &[100.0, 0.0, 50.0, 50.0]).unwrap();
    let summary: Vec<(f64, usize, Vec<[f64; 2]>)> =
        surfaces.into_iter().map(|s| (s.percentile, s.level, s.points)).collect();
    assert_eq!(
        summary,
        [
            // Best: anything one front attains.
            (0.0, 1, vec![[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]]),
            // Median (level 2 of 3): A and B both reach (2,3) and (3,2).
            (50.0, 2, vec![[2.0, 3.0], [3.0, 2.0]]),
            // Worst: all three only at (4,4).
            (100.0, 3, vec![[4.0, 4.0]]),
        ]
    );
    // Maximising both axes mirrors the plane.
    let mirrored: Vec<Vec<[f64; 2]>> = fronts.iter().map(|f| f.iter().map(|p| [-p[0], -p[1]]).collect()).collect();
    let best = &attainment_surfaces(&mirrored, [Maximise, Maximise], &[0.0]).unwrap()[0];
    assert_eq!(best.points, [[-1.0, -3.0], [-2.0, -2.0], [-3.0, -1.0]]);

    // A (left) against B (right): at (1,3) and (3,1) only A, at (2,2) only B, (2,3) and (3,2) both.
    let difference = attainment_difference(&fronts[..1], &fronts[1..2], [Minimise, Minimise]).unwrap();
    let by_point: Vec<([f64; 2], f64)> = difference.iter().map(|d| (d.point, d.difference)).collect();
    assert_eq!(
        by_point,
        [([1.0, 3.0], 1.0), ([2.0, 2.0], -1.0), ([3.0, 1.0], 1.0), ([2.0, 3.0], 0.0), ([3.0, 2.0], 0.0)]
    );

    assert!(matches!(attainment_surfaces(&[], [Minimise, Minimise], &[50.0]), Err(AnalysisError::Empty { .. })));
    assert!(matches!(attainment_surfaces(&[vec![]], [Minimise, Minimise], &[50.0]), Err(AnalysisError::Empty { .. })));
    assert!(matches!(
        attainment_surfaces(&fronts, [Minimise, Minimise], &[101.0]),
        Err(AnalysisError::Percentile { .. })
    ));
    assert!(matches!(
        attainment_surfaces(&[vec![[1.0, f64::NAN]]], [Minimise, Minimise], &[50.0]),
        Err(AnalysisError::NotFinite { .. })
    ));
}

/// `sets` fronts of 1–12 points; coordinates from few values in every other case, so that
/// repeated values on both axes are common.
fn random_fronts(rng: &mut ChaCha8Rng, sets: usize, coarse: bool) -> Vec<Vec<[f64; 2]>> {
    (0..sets)
        .map(|_| {
            let size = rng.random_range(1..=12);
            (0..size)
                .map(|_| {
                    if coarse {
                        [rng.random_range(0..6) as f64, rng.random_range(0..6) as f64]
                    } else {
                        let a: f64 = rng.random_range(0.0..1.0);
                        // Mostly a trade-off, sometimes dominated points.
                        [a, 1.0 - a + rng.random_range(0.0..0.3)]
                    }
                })
                .collect()
        })
        .collect()
}

#[test]
fn attainment_matches_live_moocore() {
    let Some(python) = live_python::python_with("moocore") else {
        return live_python::without("moocore", "live comparison of the attainment functions with moocore");
    };
    let mut rng = ChaCha8Rng::seed_from_u64(33);
    let percentiles = [0.0, 25.0, 50.0, 75.0, 100.0, 10.0, 33.3, 90.0];
    let mut cases = Vec::new();
    for case in 0..40 {
        let sets = 1 + case % 9;
        let left = random_fronts(&mut rng, sets, case % 2 == 0);
        let right = random_fronts(&mut rng, sets, case % 2 == 0);
        let directions = [[Minimise, Minimise], [Maximise, Minimise], [Minimise, Maximise]][case % 3];
        cases.push((left, right, directions));
    }
    let input: Vec<_> =
        cases.iter().map(|(left, right, directions)| (left, right, directions.map(|d| d == Maximise))).collect();
    let script = r#"
import json, sys
import numpy as np, moocore
out = []
for left, right, maximise in json.load(sys.stdin):
    sign = np.where(maximise, -1.0, 1.0)
    def table(fronts):
        return np.array([p + [i + 1] for i, f in enumerate(fronts) for p in f], dtype=float)
    x = table(left)
    # moocore.eaf minimises: maximised axes are negated on the way in and out.
    surfaces = moocore.eaf(x[:, :2] * sign, x[:, 2], percentiles=PERCENTILES)
    surfaces[:, :2] *= sign
    diff = moocore.eafdiff(x, table(right), maximise=maximise)
    out.append([surfaces.tolist(), diff.tolist()])
print(json.dumps(out))
"#
    .replace("PERCENTILES", &format!("{percentiles:?}"));
    // Per case, moocore's rows (two axes and the percentile, or the difference in sets): eaf, eafdiff.
    type Rows = Vec<[f64; 3]>;
    let expected: Vec<(Rows, Rows)> = live_python::run_json(&python, &script, &input);
    let mut points = 0;
    for ((left, right, directions), (surfaces, differences)) in cases.iter().zip(expected) {
        let context = format!("directions {directions:?}, left {left:?}, right {right:?}");
        let ours: Vec<[f64; 3]> = attainment_surfaces(left, *directions, &percentiles)
            .unwrap()
            .into_iter()
            .flat_map(|s| s.points.into_iter().map(move |[a, b]| [a, b, s.percentile]))
            .collect();
        assert_eq!(ours, surfaces, "eaf: {context}");
        // moocore's eafdiff counts sets: our share difference times the group size.
        let ours: Vec<[f64; 3]> = attainment_difference(left, right, *directions)
            .unwrap()
            .into_iter()
            .map(|d| [d.point[0], d.point[1], d.difference * left.len() as f64])
            .collect();
        assert_eq!(ours.len(), differences.len(), "eafdiff: {context}\nours {ours:?}\nmoocore {differences:?}");
        for (a, b) in ours.iter().zip(&differences) {
            assert!(a[..2] == b[..2] && (a[2] - b[2]).abs() < 1e-12, "eafdiff {a:?} vs {b:?}: {context}");
        }
        points += surfaces.len() + differences.len();
    }
    println!("{} cases, {points} surface points agree with moocore ({python})", cases.len());
}
