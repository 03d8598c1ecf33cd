//! Crowding distance against a hand-computed front and against an independent brute force
//! (nearest neighbours by value, without sorting) on random fronts.

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xnas_moo::crowding_distance;

const INF: f64 = f64::INFINITY;

#[test]
fn hand_computed_front() {
    // Objective 1 spans 0..4, objective 2 spans 0..8.
    let front = vec![vec![0.0, 8.0], vec![1.0, 4.0], vec![3.0, 1.0], vec![4.0, 0.0]];
    let d = crowding_distance(&front);
    assert_eq!(d[0], INF);
    assert_eq!(d[3], INF);
    // (3 − 0)/4 + (8 − 1)/8, halved.
    assert!((d[1] - (0.75 + 0.875) / 2.0).abs() < 1e-15);
    // (4 − 1)/4 + (4 − 0)/8, halved.
    assert!((d[2] - (0.75 + 0.5) / 2.0).abs() < 1e-15);
}

#[test]
fn small_fronts_duplicates_and_flat_objectives() {
    assert_eq!(crowding_distance::<Vec<f64>>(&[]), Vec::<f64>::new());
    assert_eq!(crowding_distance(&[vec![1.0, 2.0], vec![1.0, 2.0]]), vec![INF, INF]);
    // The later copy of (1, 3) gets 0 and is ignored by the others.
    let d = crowding_distance(&[vec![0.0, 4.0], vec![1.0, 3.0], vec![1.0, 3.0], vec![4.0, 0.0]]);
    assert_eq!(d[2], 0.0);
    assert_eq!((d[0], d[3]), (INF, INF));
    assert!((d[1] - (4.0 / 4.0 + 4.0 / 4.0) / 2.0).abs() < 1e-15);
    // An objective where everyone is equal gives nobody anything, not even infinity.
    let d = crowding_distance(&[vec![5.0, 0.0], vec![5.0, 1.0], vec![5.0, 3.0]]);
    assert_eq!(d, vec![INF, 3.0 / 3.0 / 2.0, INF]);
}

/// For distinct values: extremes are infinite, anything else gets (next larger − next smaller)
/// / range per objective, averaged — found by scanning, not sorting.
fn brute_force(front: &[Vec<f64>]) -> Vec<f64> {
    let m = front[0].len();
    front
        .iter()
        .map(|p| {
            let mut total = 0.0;
            for j in 0..m {
                let values: Vec<f64> = front.iter().map(|q| q[j]).collect();
                let low = values.iter().cloned().fold(INF, f64::min);
                let high = values.iter().cloned().fold(-INF, f64::max);
                if p[j] == low || p[j] == high {
                    return INF;
                }
                let above = values.iter().cloned().filter(|&v| v > p[j]).fold(INF, f64::min);
                let below = values.iter().cloned().filter(|&v| v < p[j]).fold(-INF, f64::max);
                total += (above - below) / (high - low);
            }
            total / m as f64
        })
        .collect()
}

#[test]
fn random_fronts_match_brute_force() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for m in 2..=5 {
        for n in [3, 4, 10, 50] {
            let front: Vec<Vec<f64>> = (0..n).map(|_| (0..m).map(|_| rng.random::<f64>()).collect()).collect();
            let ours = crowding_distance(&front);
            for (a, b) in ours.iter().zip(brute_force(&front)) {
                assert!(a == &b || (a - b).abs() < 1e-12, "m={m} n={n}: {a} vs {b}");
            }
        }
    }
}

proptest! {
    #[test]
    fn crowding_is_non_negative_and_each_objective_has_infinite_extremes(
        front in prop::collection::vec(prop::collection::vec(-100i32..100, 3), 3..40),
    ) {
        let front: Vec<Vec<f64>> = front.into_iter().map(|p| p.into_iter().map(f64::from).collect()).collect();
        let d = crowding_distance(&front);
        prop_assert!(d.iter().all(|&v| v >= 0.0));
        for j in 0..3 {
            let low = front.iter().map(|p| p[j]).fold(INF, f64::min);
            let high = front.iter().map(|p| p[j]).fold(-INF, f64::max);
            if low < high {
                // Some point holding the minimum (the first copy of it) is infinitely far.
                prop_assert!((0..front.len()).any(|i| front[i][j] == low && d[i] == INF));
                prop_assert!((0..front.len()).any(|i| front[i][j] == high && d[i] == INF));
            }
        }
    }
}
