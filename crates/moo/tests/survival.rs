//! Environmental selection worked by hand: rank-and-crowding keeps whole fronts while they fit and
//! the most widely spaced points of the front that does not, with ties in crowding broken at
//! random (pymoo's randomized argsort); single-objective survival keeps the best values, stably.

use std::collections::HashMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use xnas_moo::{fitness_survival, rank_and_crowding};

const INF: f64 = f64::INFINITY;

#[test]
fn rank_and_crowding_splits_the_last_front_by_crowding() {
    let points = vec![
        vec![7.0, 7.0], // 0: front 2
        vec![1.0, 5.0], // 1: front 1 ...
        vec![0.0, 4.0], // 2: front 0
        vec![2.0, 4.5],
        vec![3.0, 4.2],
        vec![5.0, 1.0],
        vec![6.0, 0.5], // 6: ... front 1
        vec![4.0, 0.0], // 7: front 0
    ];
    // Front 1 spans 5 in f1 and 4.5 in f2. Crowding, (f1 gap / 5 + f2 gap / 4.5) / 2:
    //   (2, 4.5): (2/5 + 0.8/4.5) / 2 = 0.288…;  (3, 4.2): (3/5 + 3.5/4.5) / 2 = 0.688…;
    //   (5, 1): (3/5 + 3.7/4.5) / 2 = 0.711…;  the extremes (1, 5) and (6, 0.5): infinite.
    let survivors = rank_and_crowding(&points, 5, &mut ChaCha8Rng::seed_from_u64(1));
    let kept: HashMap<usize, (usize, f64)> = survivors
        .indices
        .iter()
        .zip(survivors.rank.iter().zip(&survivors.crowding))
        .map(|(&i, (&rank, &crowding))| (i, (rank, crowding)))
        .collect();
    assert_eq!(kept.len(), 5);
    // A front of two: both infinitely far from crowding.
    assert_eq!(kept[&2], (0, INF));
    assert_eq!(kept[&7], (0, INF));
    assert_eq!(kept[&1], (1, INF));
    assert_eq!(kept[&6], (1, INF));
    let (rank, crowding) = kept[&5];
    assert_eq!(rank, 1);
    assert!((crowding - (3.0 / 5.0 + 3.7 / 4.5) / 2.0).abs() < 1e-12, "{crowding}");
    // Whole fronts first, in order.
    assert_eq!(survivors.rank, vec![0, 0, 1, 1, 1]);

    // Everything fits: every point kept, front 2 included.
    assert_eq!(rank_and_crowding(&points, 8, &mut ChaCha8Rng::seed_from_u64(1)).indices.len(), 8);
}

#[test]
fn ties_in_crowding_are_broken_at_random() {
    // (0, 0) dominates a straight front whose three interior points all have crowding
    // (2/4 + 2/4) / 2 = 0.5; keeping 4 takes (0, 0), both ends and one interior point.
    let points: Vec<Vec<f64>> =
        std::iter::once(vec![0.0, 0.0]).chain((1..=5).map(|k| vec![k as f64, 6.0 - k as f64])).collect();
    let mut chosen = [0usize; 6];
    for seed in 0..300 {
        let survivors = rank_and_crowding(&points, 4, &mut ChaCha8Rng::seed_from_u64(seed));
        let mut kept = survivors.indices.clone();
        kept.sort();
        assert_eq!(&kept[..2], &[0, 1]);
        assert_eq!(kept[3], 5);
        chosen[kept[2]] += 1;
        let interior = survivors.indices.iter().position(|&i| i == kept[2]).unwrap();
        assert_eq!(survivors.crowding[interior], 0.5);
    }
    // Each of the three about 100 times in 300.
    for (i, &count) in chosen.iter().enumerate().take(5).skip(2) {
        assert!((60..=140).contains(&count), "point {i} kept {count} times: {chosen:?}");
    }
}

#[test]
fn fitness_survival_keeps_the_best_values_stably() {
    let points = vec![vec![3.0, 0.0], vec![1.0, 9.0], vec![2.0, 5.0], vec![1.0, 7.0], vec![0.5, 8.0]];
    let survivors = fitness_survival(&points, 0, 3);
    // 0.5, then the two 1.0s in their original order.
    assert_eq!(survivors.indices, vec![4, 1, 3]);
    assert_eq!(survivors.rank, vec![0, 1, 2]);
    assert_eq!(survivors.crowding, vec![0.0; 3]);
    assert_eq!(fitness_survival(&points, 1, 2).indices, vec![0, 2]);
}
