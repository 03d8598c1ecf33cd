//! Hypervolume against hand-computed cases and two independent brute-force references
//! (inclusion–exclusion, cell decomposition) on random sets in 2 to 6 dimensions.

mod common;

use common::{assert_close, cell_decomposition, inclusion_exclusion, integer, rng, sphere, uniform};
use xnas_hv::{hypervolume, hypervolume_flat, hypervolume_max, HvError};

#[test]
fn hand_computed_two_and_three_dimensional_fronts() {
    // Staircase (1,3), (2,2), (3,1) to (4,4), as horizontal strips: 3·1 + 2·1 + 1·1 = 6.
    assert_eq!(hypervolume(&[[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]], &[4.0, 4.0]).unwrap(), 6.0);
    // A dominated point and one on the reference line change nothing.
    let with_noise = [[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [3.0, 3.0], [4.0, 0.0]];
    assert_eq!(hypervolume(&with_noise, &[4.0, 4.0]).unwrap(), 6.0);
    // Boxes [0,2]×[1,2]×[1,2] and its two rotations: three of volume 2, each pair and the triple
    // meeting in [1,2]³; inclusion–exclusion by hand: 3·2 − 3·1 + 1 = 4.
    let points = [[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]];
    assert_eq!(hypervolume(&points, &[2.0, 2.0, 2.0]).unwrap(), 4.0);
    // One point: its box.
    assert_eq!(hypervolume(&[[0.5, 0.25, 0.0, 0.0, 0.0]], &[1.0; 5]).unwrap(), 0.5 * 0.75);
    // One dimension: the best value's distance to the reference.
    assert_eq!(hypervolume(&[[3.0], [1.0], [2.0]], &[5.0]).unwrap(), 4.0);
}

#[test]
fn maximisation_is_minimisation_of_the_negated_values() {
    // XNAS: accuracy and introspectability maximised, reference (0, 1/N_C) with N_C = 10.
    let front = [[0.9, 0.5], [0.6, 0.8], [0.05, 0.9]];
    let expected = 0.9 * (0.5 - 0.1) + 0.6 * (0.8 - 0.5) + 0.05 * (0.9 - 0.8);
    assert_close(hypervolume_max(&front, &[0.0, 0.1]).unwrap(), expected, "hand-computed");
    let negated: Vec<Vec<f64>> = front.iter().map(|p| p.iter().map(|v| -v).collect()).collect();
    assert_eq!(hypervolume_max(&front, &[0.0, 0.1]).unwrap(), hypervolume(&negated, &[0.0, -0.1]).unwrap());
    // Below-chance accuracy adds nothing.
    assert_eq!(hypervolume_max(&[[0.5, 0.05]], &[0.0, 0.1]).unwrap(), 0.0);
}

#[test]
fn against_inclusion_exclusion_on_small_random_sets() {
    for d in 2..=6 {
        for seed in 0..12 {
            let mut rng = rng(1000 * d as u64 + seed);
            let n = 1 + (seed as usize % 11);
            let points = uniform(&mut rng, n, d);
            let reference = vec![1.0; d];
            let expected = inclusion_exclusion(&points, &reference);
            assert_close(hypervolume(&points, &reference).unwrap(), expected, &format!("d={d} n={n} seed={seed}"));
        }
    }
}

#[test]
fn against_cell_decomposition_on_integer_sets_with_ties_and_duplicates() {
    for (d, n, k) in [(2, 60, 8), (3, 50, 7), (4, 35, 5), (5, 20, 4)] {
        for seed in 0..4 {
            let mut rng = rng(7 + 31 * seed + d as u64);
            let points = integer(&mut rng, n, d, k);
            let reference = vec![f64::from(k) + 1.0; d];
            let expected = cell_decomposition(&points, &reference);
            assert_eq!(hypervolume(&points, &reference).unwrap(), expected, "d={d} n={n} seed={seed}");
        }
    }
}

#[test]
fn many_small_integer_sets_exercise_every_tie() {
    // Coordinates in 0..=3 make equal x, y, z and w common in every combination, which is where
    // the sweeps' tie-breaking rules matter.
    for (d, n) in [(3, 24), (4, 20), (5, 12), (6, 9)] {
        for seed in 0..300 {
            let mut rng = rng(50_000 + seed + 1000 * d as u64);
            let points = integer(&mut rng, n, d, 3);
            let reference = vec![4.0; d];
            let expected = cell_decomposition(&points, &reference);
            assert_eq!(hypervolume(&points, &reference).unwrap(), expected, "d={d} seed={seed}: {points:?}");
        }
    }
}

#[test]
fn a_point_taking_the_place_of_a_neighbour_with_equal_x_and_y() {
    // (x, y, z, w). Swept by w: a and b, then d, equal to b in x and y but lower in z, so d drops
    // b from the 3-D front; a had b as its neighbour and must now have d. HV4D+ used to keep b,
    // and c's 3-D contribution then followed b's stale links forever. Every input order, and
    // the same set lifted to five and six objectives.
    let (a, b, c, d) = ([1.0, 2.0, 1.0, 0.0], [2.0, 1.0, 1.0, 0.0], [0.0, 1.0, 0.0, 2.0], [2.0, 1.0, 0.0, 1.0]);
    let points = [a, b, c, d].map(|p| p.to_vec());
    let expected = inclusion_exclusion(&points, &[3.0; 4]);
    for order in permutations(4) {
        let shuffled: Vec<Vec<f64>> = order.iter().map(|&i| points[i].clone()).collect();
        assert_eq!(hypervolume(&shuffled, &[3.0; 4]).unwrap(), expected, "{order:?}");
        for extra in [1, 2] {
            let lifted: Vec<Vec<f64>> =
                shuffled.iter().map(|p| p.iter().copied().chain(std::iter::repeat_n(0.5, extra)).collect()).collect();
            let volume = hypervolume(&lifted, &vec![3.0; 4 + extra]).unwrap();
            assert_eq!(volume, expected * 2.5f64.powi(extra as i32), "{order:?} + {extra}");
        }
    }
}

/// Every ordering of 0..n.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut all = Vec::new();
    for shorter in permutations(n - 1) {
        for slot in 0..n {
            let mut order = shorter.clone();
            order.insert(slot, n - 1);
            all.push(order);
        }
    }
    all
}

#[test]
fn tied_sets_in_four_to_six_objectives_match_the_cell_count() {
    // Few distinct values per coordinate, copies of some points, and a reference equal to the
    // largest value half the time, so that some points lie on the reference boundary.
    for (d, n) in [(4, 24), (5, 14), (6, 9)] {
        for k in 1..=3 {
            for seed in 0..150 {
                let mut rng = rng(70_000 + 1000 * d as u64 + 100 * u64::from(k) + seed);
                let mut points = integer(&mut rng, n, d, k);
                let copies: Vec<Vec<f64>> = points.iter().step_by(4).cloned().collect();
                points.extend(copies);
                let top = if seed % 2 == 0 { f64::from(k) } else { f64::from(k) + 1.0 };
                let reference = vec![top; d];
                let expected = cell_decomposition(&points, &reference);
                assert_eq!(hypervolume(&points, &reference).unwrap(), expected, "d={d} k={k} seed={seed}: {points:?}");
            }
        }
    }
}

#[test]
fn large_integer_sets_in_five_and_six_objectives_match_the_cell_count() {
    // Hundreds of points on a small grid: most are dominated or duplicated, and the 5-D sweep's
    // pruning of dominated points is exercised at every step.
    for (d, n, k) in [(5, 400, 3), (5, 250, 5), (6, 200, 3)] {
        for seed in 0..2 {
            let mut rng = rng(80_000 + 10 * d as u64 + u64::from(k) + 1000 * seed);
            let points = integer(&mut rng, n, d, k);
            let reference = vec![f64::from(k) + 1.0; d];
            let expected = cell_decomposition(&points, &reference);
            assert_eq!(hypervolume(&points, &reference).unwrap(), expected, "d={d} n={n} k={k} seed={seed}");
        }
    }
}

#[test]
fn small_random_sets_in_five_and_six_objectives_match_inclusion_exclusion() {
    for d in [5, 6] {
        for seed in 0..150 {
            let mut rng = rng(60_000 + 1000 * d as u64 + seed);
            let n = 2 + (seed as usize % 11);
            let points = uniform(&mut rng, n, d);
            let reference = vec![1.0; d];
            let expected = inclusion_exclusion(&points, &reference);
            assert_close(hypervolume(&points, &reference).unwrap(), expected, &format!("d={d} n={n} seed={seed}"));
        }
    }
}

#[test]
fn five_and_six_objectives_agree_under_every_rotation_of_the_objectives() {
    // Each rotation sweeps other coordinates in other roles (v, w, z), so the same volume is
    // reached along different paths; 6-D exercises the 5-D sweep on limited sets.
    for (d, n) in [(5, 400), (6, 90)] {
        let mut rng = rng(40 + d as u64);
        let points = sphere(&mut rng, n, d);
        let reference = vec![1.1; d];
        let volume = hypervolume(&points, &reference).unwrap();
        for shift in 1..d {
            let rotated: Vec<Vec<f64>> = points.iter().map(|p| (0..d).map(|j| p[(j + shift) % d]).collect()).collect();
            assert_close(hypervolume(&rotated, &reference).unwrap(), volume, &format!("d={d} shift={shift}"));
        }
    }
}

#[test]
fn against_cell_decomposition_on_mutually_non_dominated_sets() {
    for (d, n) in [(2, 200), (3, 45), (4, 16), (5, 9), (6, 7)] {
        for seed in 0..3 {
            let mut rng = rng(99 + seed + 10 * d as u64);
            let points = sphere(&mut rng, n, d);
            let reference = vec![1.1; d];
            let expected = cell_decomposition(&points, &reference);
            assert_close(hypervolume(&points, &reference).unwrap(), expected, &format!("d={d} n={n} seed={seed}"));
        }
    }
}

#[test]
fn a_constant_last_objective_multiplies_the_lower_dimensional_volume() {
    // HV_d of points sharing their last coordinate c equals HV_(d−1) · (r − c): this links the
    // four-, five- and six-objective paths to the verified lower ones on large sets.
    for (d, n) in [(3, 2000), (4, 1000), (5, 200), (6, 60)] {
        let mut rng = rng(5 + d as u64);
        let base = sphere(&mut rng, n, d - 1);
        let lifted: Vec<Vec<f64>> = base.iter().map(|p| p.iter().copied().chain([0.25]).collect()).collect();
        let lower = hypervolume(&base, &vec![1.1; d - 1]).unwrap();
        assert_close(hypervolume(&lifted, &vec![1.1; d]).unwrap(), lower * (1.1 - 0.25), &format!("d={d}"));
    }
}

#[test]
fn non_finite_values_and_wrong_dimensions_are_errors() {
    assert!(matches!(
        hypervolume(&[[0.0, f64::NAN]], &[1.0, 1.0]),
        Err(HvError::NonFinitePoint { index: 0, coordinate: 1, value }) if value.is_nan()
    ));
    assert!(matches!(
        hypervolume(&[[0.0, 0.0], [f64::INFINITY, 0.0]], &[1.0, 1.0]),
        Err(HvError::NonFinitePoint { index: 1, coordinate: 0, .. })
    ));
    assert!(matches!(
        hypervolume(&[[0.0, 0.0]], &[1.0, f64::NEG_INFINITY]),
        Err(HvError::NonFiniteReference { coordinate: 1, .. })
    ));
    assert_eq!(
        hypervolume(&[vec![0.0, 0.0], vec![0.0]], &[1.0, 1.0]),
        Err(HvError::DimensionMismatch { index: 1, found: 1, expected: 2 })
    );
    assert_eq!(hypervolume::<[f64; 0]>(&[], &[]), Err(HvError::EmptyReference));
    assert_eq!(hypervolume_flat(&[0.0, 0.0, 0.5], &[1.0, 1.0]), Err(HvError::RaggedBuffer { len: 3, dimension: 2 }));
    let message = hypervolume(&[[0.0, 0.0, 0.0]], &[1.0, 1.0]).unwrap_err().to_string();
    assert!(message.contains("point 0 has 3 coordinate(s)"), "{message}");
}

#[test]
fn the_flat_buffer_gives_the_same_volume_as_rows() {
    let mut rng = rng(3);
    let points = uniform(&mut rng, 100, 3);
    let flat: Vec<f64> = points.concat();
    assert_eq!(hypervolume_flat(&flat, &[1.0; 3]).unwrap(), hypervolume(&points, &[1.0; 3]).unwrap());
}
