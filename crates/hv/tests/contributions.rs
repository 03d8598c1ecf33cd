//! Exclusive contributions against HV(S) − HV(S \ {p}) and against an independent cell count,
//! with the library's convention for dominated, duplicated and out-of-reference points.

mod common;

use common::{assert_close, cell_contributions, integer, rng, sphere, uniform};
use xnas_hv::{contributions, contributions_max, hypervolume};

fn without(points: &[Vec<f64>], index: usize) -> Vec<Vec<f64>> {
    points.iter().enumerate().filter(|&(i, _)| i != index).map(|(_, p)| p.clone()).collect()
}

#[test]
fn hand_computed_contributions() {
    // Staircase (1,3), (2,2), (3,1) to (4,4): each point owns a unit square.
    let staircase = [[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]];
    assert_eq!(contributions(&staircase, &[4.0, 4.0]).unwrap(), vec![1.0, 1.0, 1.0]);
    // The three rotated boxes of [0,2]×[1,2]×[1,2]: each owns its box less the shared cube, 1.
    let rotated = [[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]];
    assert_eq!(contributions(&rotated, &[2.0, 2.0, 2.0]).unwrap(), vec![1.0, 1.0, 1.0]);
    // A duplicate pair owns nothing but still covers its square; the dominated point (3.5, 3.5)
    // and the one outside the reference neither own anything nor take anything from the others.
    let messy = [[1.0, 3.0], [2.0, 2.0], [2.0, 2.0], [3.0, 1.0], [3.5, 3.5], [5.0, 0.0]];
    assert_eq!(contributions(&messy, &[4.0, 4.0]).unwrap(), vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    // Without its twin, (2, 2) owns its square again.
    let single = [[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [3.5, 3.5]];
    assert_eq!(contributions(&single, &[4.0, 4.0]).unwrap(), vec![1.0, 1.0, 1.0, 0.0]);
    // Maximised: the mirror image.
    let mirrored = [[-1.0, -3.0], [-2.0, -2.0], [-3.0, -1.0]];
    assert_eq!(contributions_max(&mirrored, &[-4.0, -4.0]).unwrap(), vec![1.0, 1.0, 1.0]);
}

#[test]
fn contributions_equal_the_volume_lost_by_removing_the_point() {
    for (d, n) in [(2, 300), (3, 300), (4, 60), (5, 25)] {
        for seed in 0..2 {
            let mut rng = rng(17 * seed + d as u64);
            let points = sphere(&mut rng, n, d);
            let reference = vec![1.1; d];
            let total = hypervolume(&points, &reference).unwrap();
            let contribution = contributions(&points, &reference).unwrap();
            for (i, &c) in contribution.iter().enumerate() {
                let expected = total - hypervolume(&without(&points, i), &reference).unwrap();
                // The difference of two volumes carries their rounding: compare against the total.
                assert!((c - expected).abs() <= 1e-12 * total, "d={d} point {i}: {c} vs {expected}");
            }
        }
    }
}

#[test]
fn against_an_independent_cell_count_with_ties_duplicates_and_dominated_points() {
    for (d, n, k) in [(2, 40, 9), (3, 40, 6), (4, 25, 4), (5, 14, 3)] {
        for seed in 0..4 {
            let mut rng = rng(1234 + 7 * seed + d as u64);
            let points = integer(&mut rng, n, d, k);
            let reference = vec![f64::from(k) + 0.5; d];
            let expected = cell_contributions(&points, &reference);
            assert_eq!(contributions(&points, &reference).unwrap(), expected, "d={d} n={n} seed={seed}");
        }
    }
}

#[test]
fn contributions_of_small_integer_sets_in_four_and_five_objectives_match_the_cell_count() {
    // Every exclusive volume here is a 4-D or 5-D hypervolume of a limited set full of ties.
    for (d, n) in [(4, 16), (5, 10)] {
        for seed in 0..60 {
            let mut rng = rng(31_000 + 100 * d as u64 + seed);
            let points = integer(&mut rng, n, d, 2);
            let reference = vec![3.0; d];
            let expected = cell_contributions(&points, &reference);
            assert_eq!(contributions(&points, &reference).unwrap(), expected, "d={d} seed={seed}: {points:?}");
        }
    }
}

#[test]
fn continuous_random_sets_match_the_cell_count() {
    for (d, n) in [(2, 80), (3, 40), (4, 14)] {
        let mut rng = rng(77 + d as u64);
        let points = uniform(&mut rng, n, d);
        let reference = vec![1.0; d];
        let expected = cell_contributions(&points, &reference);
        for (i, (&c, &e)) in contributions(&points, &reference).unwrap().iter().zip(&expected).enumerate() {
            assert_close(c, e, &format!("d={d} point {i}"));
        }
    }
}
