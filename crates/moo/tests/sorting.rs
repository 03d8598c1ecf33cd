//! Non-dominated sorting against brute force (rank = peeling order of non-dominated subsets) on
//! random sets in 1 to 6 objectives, with and without ties, and on hand-computed cases.

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xnas_moo::{
    compare_with, dominates, fronts_from_ranks, non_dominated, non_dominated_sort, pareto_ranks, pareto_ranks_directed,
    pareto_ranks_flat, Direction, Dominance, SortError,
};

/// Deb's definition by peeling: front 0 is what nothing dominates, front 1 what nothing left
/// dominates once front 0 is removed, and so on. O(N³), for small N only.
fn peeled_ranks(points: &[Vec<f64>]) -> Vec<usize> {
    let mut ranks = vec![usize::MAX; points.len()];
    let mut rank = 0;
    while ranks.contains(&usize::MAX) {
        let front: Vec<usize> = (0..points.len())
            .filter(|&i| ranks[i] == usize::MAX)
            .filter(|&i| !(0..points.len()).any(|j| ranks[j] == usize::MAX && dominates(&points[j], &points[i])))
            .collect();
        for i in front {
            ranks[i] = rank;
        }
        rank += 1;
    }
    ranks
}

fn random_points(rng: &mut ChaCha8Rng, n: usize, d: usize, levels: Option<u32>) -> Vec<Vec<f64>> {
    (0..n)
        .map(|_| {
            (0..d)
                .map(|_| match levels {
                    Some(levels) => rng.random_range(0..levels) as f64,
                    None => rng.random::<f64>(),
                })
                .collect()
        })
        .collect()
}

#[test]
fn random_sets_match_peeling_in_one_to_six_objectives() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for d in 1..=6 {
        for &n in &[2, 3, 10, 60, 250] {
            for levels in [None, Some(3), Some(10)] {
                let points = random_points(&mut rng, n, d, levels);
                assert_eq!(pareto_ranks(&points).unwrap(), peeled_ranks(&points), "d={d} n={n} levels={levels:?}");
            }
        }
    }
}

#[test]
fn non_dominated_sets_are_one_front() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for d in 2..=5 {
        // Points on the positive unit sphere cannot dominate each other.
        let points: Vec<Vec<f64>> = (0..500)
            .map(|_| {
                let v: Vec<f64> = (0..d).map(|_| rng.random::<f64>() + 1e-3).collect();
                let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
                v.into_iter().map(|x| x / norm).collect()
            })
            .collect();
        let ranks = pareto_ranks(&points).unwrap();
        assert_eq!(ranks, peeled_ranks(&points));
        assert!(ranks.iter().all(|&r| r == 0), "d={d}");
    }
}

#[test]
fn hand_computed_two_and_three_objective_cases() {
    let points = vec![
        vec![1.0, 5.0], // front 0
        vec![2.0, 3.0], // front 0
        vec![4.0, 1.0], // front 0
        vec![3.0, 4.0], // dominated by (2,3)
        vec![2.0, 3.0], // duplicate of a front-0 point: front 0
        vec![5.0, 5.0], // dominated by (3,4) which is in front 1
        vec![1.0, 6.0], // dominated by (1,5) only
    ];
    assert_eq!(pareto_ranks(&points).unwrap(), vec![0, 0, 0, 1, 0, 2, 1]);
    assert_eq!(non_dominated(&points, &[Direction::Minimise; 2]).unwrap(), vec![0, 1, 2, 4]);
    assert_eq!(non_dominated_sort(&points).unwrap(), vec![vec![0, 1, 2, 4], vec![3, 6], vec![5]]);

    // A chain in 3-D with a sideways point: (0,0,0) < (1,1,1) < (2,2,2); (0,3,0) is dominated only
    // by (0,0,0); (3,0,0) the same; (2,2,1) is dominated by (1,1,1).
    let points = vec![
        vec![2.0, 2.0, 2.0],
        vec![0.0, 3.0, 0.0],
        vec![1.0, 1.0, 1.0],
        vec![0.0, 0.0, 0.0],
        vec![3.0, 0.0, 0.0],
        vec![2.0, 2.0, 1.0],
    ];
    assert_eq!(pareto_ranks(&points).unwrap(), vec![3, 1, 1, 0, 1, 2]);
}

#[test]
fn maximisation_and_negative_zero() {
    let points = vec![vec![0.9, 10.0], vec![0.8, 10.0], vec![0.95, 20.0]];
    let dirs = [Direction::Maximise, Direction::Minimise];
    assert_eq!(pareto_ranks_directed(&points, &dirs).unwrap(), vec![0, 1, 0]);
    assert_eq!(pareto_ranks(&[vec![0.0, 1.0], vec![-0.0, 1.0]]).unwrap(), vec![0, 0]);
    let inf = f64::INFINITY;
    assert_eq!(pareto_ranks(&[vec![inf, 0.0], vec![inf, -inf], vec![0.0, inf]]).unwrap(), vec![1, 0, 0]);
}

#[test]
fn bad_input_is_refused_with_its_position() {
    assert_eq!(
        pareto_ranks(&[vec![1.0, 2.0], vec![1.0]]).unwrap_err(),
        SortError::Ragged { index: 1, expected: 2, found: 1 }
    );
    assert_eq!(
        pareto_ranks(&[vec![1.0, 2.0], vec![1.0, f64::NAN]]).unwrap_err(),
        SortError::NotANumber { index: 1, objective: 1 }
    );
    assert_eq!(pareto_ranks_flat(&[1.0, 2.0, 3.0], 2).unwrap_err(), SortError::FlatLength { len: 3, dimension: 2 });
    assert!(pareto_ranks_directed(&[vec![1.0, 2.0]], &[Direction::Maximise]).is_err());
    assert_eq!(pareto_ranks::<Vec<f64>>(&[]).unwrap(), Vec::<usize>::new());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Ranks are a valid layering: nobody is dominated by a member of its own or a later front,
    /// and everyone past front 0 is dominated by a member of the front just before.
    #[test]
    fn ranks_are_a_valid_layering(
        d in 2usize..6,
        raw in prop::collection::vec(prop::collection::vec(0u8..6, 6), 1..120),
    ) {
        let points: Vec<Vec<f64>> = raw.iter().map(|r| r[..d].iter().map(|&v| v as f64).collect()).collect();
        let ranks = pareto_ranks(&points).unwrap();
        let fronts = fronts_from_ranks(&ranks);
        for (i, p) in points.iter().enumerate() {
            for (j, q) in points.iter().enumerate() {
                if dominates(q, p) {
                    prop_assert!(ranks[j] < ranks[i], "{q:?} dominates {p:?} but ranks {} >= {}", ranks[j], ranks[i]);
                }
            }
            if ranks[i] > 0 {
                prop_assert!(fronts[ranks[i] - 1].iter().any(|&j| dominates(&points[j], p)));
            }
        }
    }

    /// The Pareto filter in mixed directions is the brute-force one: a point is kept exactly when
    /// no other point dominates it in those directions (ties and duplicates included).
    #[test]
    fn non_dominated_matches_brute_force_in_any_directions(
        d in 1usize..6,
        maximised in prop::collection::vec(any::<bool>(), 6),
        raw in prop::collection::vec(prop::collection::vec(-3i8..4, 6), 0..80),
    ) {
        let directions: Vec<Direction> =
            maximised[..d].iter().map(|&m| if m { Direction::Maximise } else { Direction::Minimise }).collect();
        let points: Vec<Vec<f64>> = raw.iter().map(|r| r[..d].iter().map(|&v| f64::from(v) * 0.5).collect()).collect();
        let brute: Vec<usize> = (0..points.len())
            .filter(|&i| !points.iter().any(|q| compare_with(q, &points[i], &directions) == Dominance::Dominates))
            .collect();
        prop_assert_eq!(non_dominated(&points, &directions).unwrap(), brute);
    }
}

#[test]
fn non_dominated_refuses_what_it_cannot_order() {
    let maximise = [Direction::Maximise; 2];
    assert_eq!(non_dominated(&Vec::<Vec<f64>>::new(), &maximise).unwrap(), Vec::<usize>::new());
    assert_eq!(non_dominated(&[vec![0.5, f64::NAN]], &maximise), Err(SortError::NotANumber { index: 0, objective: 1 }));
    assert_eq!(non_dominated(&[vec![0.5]], &maximise), Err(SortError::Directions { expected: 1, found: 2 }));
}
