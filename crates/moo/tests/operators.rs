//! Sampling, SBX and polynomial mutation: children stay in bounds and integral; integer sampling is
//! uniform; the spread follows the distributions η defines (Deb & Agrawal 1995 for SBX; the
//! bounded polynomial distribution for PM), checked against their closed-form CDFs.

use std::collections::VecDeque;

use proptest::prelude::*;
use rand::{RngCore, SeedableRng};
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

/// A generator that yields chosen uniform draws, so an operator can be followed step by step.
/// rand turns a u64 into an f64 in [0, 1) by its top 53 bits; each value here is a multiple of
/// 2^-53 and comes back exactly. Running out, or leaving draws unused, fails the test.
struct Scripted(VecDeque<f64>);

impl Scripted {
    fn new(draws: &[f64]) -> Self {
        Scripted(draws.iter().copied().collect())
    }
}

impl RngCore for Scripted {
    fn next_u64(&mut self) -> u64 {
        let u = self.0.pop_front().expect("the operator drew more than scripted");
        ((u * (1u64 << 53) as f64) as u64) << 11
    }
    fn next_u32(&mut self) -> u32 {
        unreachable!("SBX and PM draw only floats")
    }
    fn fill_bytes(&mut self, _: &mut [u8]) {
        unreachable!("SBX and PM draw only floats")
    }
}

fn near(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
}

/// SBX with η = 1 (so βq is a square root) on four real variables in [0, 1] and one integer in
/// 0..=4 (operator bounds ±(0.5 − 1e-16)), worked by hand from Deb & Agrawal's bounded formulas,
/// as pymoo 0.4 applies them: y1 < y2 the parents' values, δ = y2 − y1, the same u on both sides,
///   β = 1 + 2 (y1 − low) / δ,  α = 2 − β^−2,  βq = √(u α) if u ≤ 1/α else √(1 / (2 − u α)),
///   c1 = (y1 + y2 − βq δ) / 2, and c2 likewise with β = 1 + 2 (high − y2) / δ and + βq δ.
#[test]
fn sbx_matches_children_worked_by_hand_near_both_bounds() {
    let real = |lower, upper| Variable { lower, upper, kind: VariableKind::Real };
    let space = SearchSpace::new(vec![
        real(0.0, 1.0),
        real(0.0, 1.0),
        real(0.0, 1.0),
        real(0.0, 1.0),
        Variable { lower: 0.0, upper: 4.0, kind: VariableKind::Integer },
    ])
    .unwrap();
    let sbx = Sbx { probability: 0.5, per_variable: 0.5, eta: 1.0 };
    let a = [0.8, 0.5, 0.1, 0.9, 4.0];
    let b = [0.3, 0.5, 0.6, 0.7, 1.0];
    #[rustfmt::skip]
    let mut rng = Scripted::new(&[
        0.25,               // the mating crosses (< 0.5)
        0.5, 0.25, 0.75,    // x0 crosses (≤ 0.5), u, no swap (> 0.5)
        0.25,               // x1 would cross, but the parents are equal: no u, no swap drawn
        0.875,              // x2 does not cross
        0.0, 0.875, 0.25,   // x3 crosses, u, swap
        0.125, 0.25, 0.625, // x4 crosses, u, no swap
    ]);
    let bred = sbx.mate(&space, &a, &b, &mut rng);
    assert!(rng.0.is_empty(), "{} draws left", rng.0.len());
    assert!(bred.crossed);
    // x0: y = (0.3, 0.8), δ = 0.5, u = 1/4.
    //   low side: β = 2.2, α = 2 − 1/4.84 = 1.793388…, u ≤ 1/α: βq = √0.448347… = 0.669587…,
    //   c1 = (1.1 − 0.334794) / 2 = 0.382603…;
    //   high side: β = 1.8, α = 2 − 1/3.24 = 1.691358…, βq = √0.422840… = 0.650262…,
    //   c2 = (1.1 + 0.325131) / 2 = 0.712565…
    // x3: y = (0.7, 0.9), δ = 0.2, u = 7/8.
    //   low side: β = 8, α = 2 − 1/64 = 1.984375, u > 1/α: βq = √(1 / 0.263672) = 1.947457…,
    //   c1 = (1.6 − 0.389491) / 2 = 0.605254…;
    //   high side: β = 2, α = 1.75, βq = √(1 / 0.46875) = 1.460593…, c2 = (1.6 + 0.292119) / 2
    //   = 0.946059…; swapped.
    // x4: y = (1, 4), δ = 3, bounds (−0.5, 4.5) less 1e-16, u = 1/4.
    //   low side: β = 2, α = 1.75, βq = √0.4375 = 0.661438, c1 = (5 − 1.984313) / 2 = 1.507843 → 2;
    //   high side: β = 4/3, α = 2 − 0.5625 = 1.4375, βq = √0.359375 = 0.599479,
    //   c2 = (5 + 1.798437) / 2 = 3.399218 → 3.
    assert!(near(&bred.children[0], &[0.3826031833789064, 0.5, 0.1, 0.9460593486680444, 2.0]), "{bred:?}");
    assert!(near(&bred.children[1], &[0.7125652765377726, 0.5, 0.6, 0.6052542017759409, 3.0]), "{bred:?}");

    // A mating that does not cross draws nothing more and copies the parents.
    let mut rng = Scripted::new(&[0.5]);
    let bred = sbx.mate(&space, &a, &b, &mut rng);
    assert!(!bred.crossed && rng.0.is_empty());
    assert_eq!(bred.children, [a.to_vec(), b.to_vec()]);
}

/// Polynomial mutation with η = 1, worked by hand from pymoo 0.4's formula: with δ1 = (x − low) /
/// (high − low) and δ2 = (high − x) / (high − low), for u ≤ 1/2
///   δq = √(2u + (1 − 2u)(1 − δ1)²) − 1, else δq = 1 − √(2(1 − u) + 2(u − 1/2)(1 − δ2)²),
/// and the mutant is x + δq (high − low), clipped, rounded for an integer.
#[test]
fn pm_matches_mutants_worked_by_hand() {
    let space = SearchSpace::new(vec![
        Variable { lower: 0.0, upper: 1.0, kind: VariableKind::Real },
        Variable { lower: 0.0, upper: 1.0, kind: VariableKind::Real },
        Variable { lower: 0.0, upper: 1.0, kind: VariableKind::Real },
        Variable { lower: 0.0, upper: 4.0, kind: VariableKind::Integer },
    ])
    .unwrap();
    let pm = PolynomialMutation { per_variable: Some(0.5), eta: 1.0 };
    #[rustfmt::skip]
    let mut rng = Scripted::new(&[
        0.25, 0.25,  // x0 mutates (< 0.5), u
        0.75,        // x1 does not
        0.0, 0.75,   // x2 mutates, u
        0.125, 0.125, // x3 mutates, u
    ]);
    let y = pm.mutate(&space, &[0.2, 0.2, 0.7, 2.0], &mut rng);
    assert!(rng.0.is_empty(), "{} draws left", rng.0.len());
    // x0 = 0.2, u = 1/4: δq = √(0.5 + 0.5 · 0.64) − 1 = √0.82 − 1 = −0.094461…, so 0.105539…
    // x2 = 0.7, u = 3/4: δq = 1 − √(0.5 + 0.5 · 0.49) = 1 − √0.745 = 0.136866…, so 0.836866…
    // x3 = 2 in (−0.5, 4.5), u = 1/8: δ1 = 1/2, δq = √(0.25 + 0.75 · 0.25) − 1 = −0.338562…,
    //   so 2 − 1.692810… = 0.307189… → 0.
    assert!(near(&y, &[0.10553851381374174, 0.2, 0.8368661749183965, 0.0]), "{y:?}");
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
