//! Sampling, SBX and polynomial mutation: children stay in bounds and integral; integer sampling is
//! uniform; the spread follows the distributions η defines (Deb & Agrawal 1995 for SBX; the
//! bounded polynomial distribution for PM), checked against their closed-form CDFs.

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use xnas_moo::{PolynomialMutation, Sbx, SearchSpace, SpaceError, Variable, VariableKind};

fn nb201() -> SearchSpace {
    SearchSpace::integers(&[0; 6], &[4; 6]).unwrap()
}

#[test]
fn integer_sampling_is_uniform_over_every_value() {
    let space = SearchSpace::integers(&[0, -3, 7], &[4, 3, 7]).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut counts = vec![vec![0usize; 7]; 2];
    let draws = 70_000;
    for _ in 0..draws {
        let x = space.sample(&mut rng);
        space.check(&x).unwrap();
        assert_eq!(x[2], 7.0);
        counts[0][x[0] as usize] += 1;
        counts[1][(x[1] + 3.0) as usize] += 1;
    }
    for (counts, values) in counts.iter().zip([5, 7]) {
        let expected = draws as f64 / values as f64;
        for &c in &counts[..values] {
            // Binomial standard deviation is about √expected ≈ 110; allow 5σ.
            assert!((c as f64 - expected).abs() < 5.0 * expected.sqrt(), "{counts:?}");
        }
    }
}

#[test]
fn bad_spaces_and_genomes_are_named() {
    assert_eq!(SearchSpace::reals(&[], &[]).unwrap_err(), SpaceError::Empty);
    assert!(matches!(SearchSpace::reals(&[1.0], &[0.0]), Err(SpaceError::Bounds { index: 0, .. })));
    assert!(matches!(
        SearchSpace::new(vec![Variable { lower: 0.5, upper: 2.0, kind: VariableKind::Integer }]),
        Err(SpaceError::FractionalIntegerBounds { .. })
    ));
    let space = nb201();
    assert!(matches!(space.check(&[0.0; 5]), Err(SpaceError::Length { expected: 6, found: 5 })));
    assert!(matches!(space.check(&[0.0, 0.0, 5.0, 0.0, 0.0, 0.0]), Err(SpaceError::OutOfBounds { index: 2, .. })));
    assert!(matches!(space.check(&[0.0, 0.5, 1.0, 0.0, 0.0, 0.0]), Err(SpaceError::NotInteger { index: 1, .. })));
}

/// Empirical CDF at `t`.
fn ecdf(samples: &[f64], t: f64) -> f64 {
    samples.iter().filter(|&&s| s <= t).count() as f64 / samples.len() as f64
}

#[test]
fn sbx_spread_follows_the_eta_distribution() {
    // Far bounds make the bounded SBX the unbounded one: the spread factor β = |c1 − c2| / |p1 − p2|
    // has CDF 0.5 β^(η+1) for β ≤ 1 and 1 − 0.5 β^−(η+1) above.
    let space = SearchSpace::reals(&[-1e9], &[1e9]).unwrap();
    let sbx = |eta| Sbx { probability: 1.0, per_variable: 1.0, eta };
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut mean_spread = Vec::new();
    for eta in [1.0, 3.0, 15.0] {
        let spreads: Vec<f64> = (0..20_000)
            .map(|_| {
                let children = sbx(eta).mate(&space, &[1.0], &[2.0], &mut rng).children;
                // Children are symmetric about the parents' mean.
                assert!((children[0][0] + children[1][0] - 3.0).abs() < 1e-9);
                (children[0][0] - children[1][0]).abs()
            })
            .collect();
        let cdf = |b: f64| if b <= 1.0 { 0.5 * b.powf(eta + 1.0) } else { 1.0 - 0.5 * b.powf(-(eta + 1.0)) };
        for b in [0.5, 0.8, 1.0, 1.2, 2.0] {
            assert!((ecdf(&spreads, b) - cdf(b)).abs() < 0.015, "eta {eta} at {b}");
        }
        mean_spread.push(spreads.iter().map(|s| (s - 1.0).abs()).sum::<f64>() / spreads.len() as f64);
    }
    // A larger η keeps children closer to their parents.
    assert!(mean_spread[0] > mean_spread[1] && mean_spread[1] > mean_spread[2], "{mean_spread:?}");
}

#[test]
fn sbx_does_not_cross_equal_values_or_matings_it_skips() {
    let space = SearchSpace::reals(&[0.0, 0.0], &[1.0, 1.0]).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let never = Sbx { probability: 0.0, per_variable: 1.0, eta: 3.0 };
    let bred = never.mate(&space, &[0.1, 0.2], &[0.9, 0.8], &mut rng);
    assert!(!bred.crossed);
    assert_eq!(bred.children, [vec![0.1, 0.2], vec![0.9, 0.8]]);
    let always = Sbx { probability: 1.0, per_variable: 1.0, eta: 3.0 };
    for _ in 0..100 {
        let bred = always.mate(&space, &[0.5, 0.2], &[0.5, 0.8], &mut rng);
        assert_eq!(bred.children[0][0], 0.5);
        assert_eq!(bred.children[1][0], 0.5);
    }
}

#[test]
fn pm_spread_follows_the_bounded_polynomial_distribution() {
    // x in the middle of [0, 1]: for δ ≤ 0 the CDF is ((1+δ)^(η+1) − 0.5^(η+1)) / (2 (1 − 0.5^(η+1))),
    // symmetric above — the pymoo formula solved for its uniform draw.
    let space = SearchSpace::reals(&[0.0], &[1.0]).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for eta in [3.0, 20.0] {
        let pm = PolynomialMutation { per_variable: Some(1.0), eta };
        let deltas: Vec<f64> = (0..20_000).map(|_| pm.mutate(&space, &[0.5], &mut rng)[0] - 0.5).collect();
        let floor = 0.5f64.powf(eta + 1.0);
        let cdf = |d: f64| {
            if d <= 0.0 {
                ((1.0 + d).powf(eta + 1.0) - floor) / (2.0 * (1.0 - floor))
            } else {
                1.0 - ((1.0 - d).powf(eta + 1.0) - floor) / (2.0 * (1.0 - floor))
            }
        };
        for d in [-0.3, -0.1, -0.02, 0.0, 0.05, 0.2] {
            assert!((ecdf(&deltas, d) - cdf(d)).abs() < 0.015, "eta {eta} at {d}");
        }
    }
}

#[test]
fn pm_rate_is_one_over_n_by_default() {
    let space = nb201();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let pm = PolynomialMutation::default();
    let x = [2.0; 6];
    let changed: usize =
        (0..10_000).map(|_| pm.mutate(&space, &x, &mut rng).iter().filter(|&&v| v != 2.0).count()).sum();
    // A variable mutates with p = 1/6 but may round back to 2; it can never change more often.
    let rate = changed as f64 / 60_000.0;
    assert!(rate > 0.05 && rate < 1.0 / 6.0 + 0.01, "{rate}");
}

proptest! {
    #[test]
    fn children_and_mutants_stay_in_bounds_and_integral(
        seed in any::<u64>(),
        bounds in prop::collection::vec((-20i64..20, 0i64..6), 1..8),
        eta in 0.0f64..30.0,
    ) {
        let lower: Vec<i64> = bounds.iter().map(|b| b.0).collect();
        let upper: Vec<i64> = bounds.iter().map(|b| b.0 + b.1).collect();
        let space = SearchSpace::integers(&lower, &upper).unwrap();
        let reals = SearchSpace::reals(
            &lower.iter().map(|&v| v as f64).collect::<Vec<_>>(),
            &upper.iter().map(|&v| v as f64 + 0.25).collect::<Vec<_>>(),
        ).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let sbx = Sbx { probability: 1.0, per_variable: 0.5, eta };
        let pm = PolynomialMutation { per_variable: Some(0.5), eta };
        for space in [&space, &reals] {
            for _ in 0..20 {
                let (a, b) = (space.sample(&mut rng), space.sample(&mut rng));
                prop_assert!(space.check(&a).is_ok());
                for child in sbx.mate(space, &a, &b, &mut rng).children {
                    prop_assert!(space.check(&child).is_ok(), "{child:?}");
                    let mutant = pm.mutate(space, &child, &mut rng);
                    prop_assert!(space.check(&mutant).is_ok(), "{mutant:?}");
                }
            }
        }
    }
}
