//! Pareto dominance for any number of objectives, each minimised or maximised.
//!
//! Everything else in this crate works on minimisation only; [`Direction`] and
//! [`to_minimisation`] are the one place where a maximised objective is turned into a minimised
//! one (by negation), so the convention cannot drift between modules.

use serde::{Deserialize, Serialize};

/// Whether an objective is to be made small or large.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[default]
    Minimise,
    Maximise,
}

impl Direction {
    /// The value as a minimisation objective: itself, or its negation for a maximised objective.
    pub fn to_minimisation(self, value: f64) -> f64 {
        match self {
            Direction::Minimise => value,
            Direction::Maximise => -value,
        }
    }
}

/// How two objective vectors relate under Pareto dominance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dominance {
    /// The first is no worse in every objective and better in at least one.
    Dominates,
    /// The second dominates the first.
    DominatedBy,
    /// Equal in every objective.
    Equal,
    /// Each is better than the other in some objective.
    Incomparable,
}

/// Compares two minimisation vectors of the same length. NaN compares as incomparable.
pub fn compare(a: &[f64], b: &[f64]) -> Dominance {
    debug_assert_eq!(a.len(), b.len());
    compare_pairs(a.iter().copied().zip(b.iter().copied()))
}

fn compare_pairs(pairs: impl Iterator<Item = (f64, f64)>) -> Dominance {
    let mut a_better = false;
    let mut b_better = false;
    for (x, y) in pairs {
        if x < y {
            a_better = true;
        } else if y < x {
            b_better = true;
        } else if x != y {
            // At least one NaN: no order.
            return Dominance::Incomparable;
        }
    }
    match (a_better, b_better) {
        (true, false) => Dominance::Dominates,
        (false, true) => Dominance::DominatedBy,
        (false, false) => Dominance::Equal,
        (true, true) => Dominance::Incomparable,
    }
}

/// Whether `a` dominates `b` (both minimised): no worse anywhere, better somewhere.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    compare(a, b) == Dominance::Dominates
}

/// Compares two vectors given in their natural directions.
pub fn compare_with(a: &[f64], b: &[f64], directions: &[Direction]) -> Dominance {
    debug_assert_eq!(a.len(), directions.len());
    compare_pairs(a.iter().zip(b).zip(directions).map(|((&x, &y), &d)| (d.to_minimisation(x), d.to_minimisation(y))))
}

/// A copy of `point` with every maximised objective negated.
pub fn to_minimisation(point: &[f64], directions: &[Direction]) -> Vec<f64> {
    debug_assert_eq!(point.len(), directions.len());
    point.iter().zip(directions).map(|(&v, &d)| d.to_minimisation(v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_cases() {
        assert_eq!(compare(&[1.0, 2.0], &[2.0, 2.0]), Dominance::Dominates);
        assert_eq!(compare(&[2.0, 2.0], &[1.0, 2.0]), Dominance::DominatedBy);
        assert_eq!(compare(&[1.0, 3.0], &[2.0, 2.0]), Dominance::Incomparable);
        assert_eq!(compare(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]), Dominance::Equal);
        assert_eq!(compare(&[f64::NAN, 0.0], &[1.0, 1.0]), Dominance::Incomparable);
        assert!(dominates(&[0.0, 0.0, 0.0, 0.0, -1.0], &[0.0, 0.0, 0.0, 0.0, 0.0]));
        assert!(!dominates(&[0.0], &[0.0]));
    }

    #[test]
    fn maximised_objectives_flip_the_order() {
        let dirs = [Direction::Maximise, Direction::Minimise];
        // Higher accuracy, same cost: better.
        assert_eq!(compare_with(&[0.9, 5.0], &[0.8, 5.0], &dirs), Dominance::Dominates);
        assert_eq!(compare_with(&[0.9, 6.0], &[0.8, 5.0], &dirs), Dominance::Incomparable);
        assert_eq!(to_minimisation(&[0.9, 5.0], &dirs), vec![-0.9, 5.0]);
    }
}
