//! Search spaces and the variation operators NSGA-II uses on them: uniform sampling, simulated
//! binary crossover (SBX) and polynomial mutation (PM), following pymoo 0.4's formulas.
//!
//! A genome is a fixed-length `Vec<f64>`; each variable is real or integer with inclusive bounds.
//! Integer variables are handled as pymoo does: the operator works on reals in the bounds widened
//! by 0.5 − 1e-16 on each side (so every integer owns an interval of width one), then the result is
//! rounded half-to-even (numpy's `rint`). Unlike pymoo, the rounded value is then clamped to the
//! bounds: for an odd upper bound, rounding the widened bound itself would otherwise step outside.

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Whether a variable takes any real value in its bounds or only integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VariableKind {
    Real,
    Integer,
}

/// One decision variable: `lower ..= upper`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Variable {
    pub lower: f64,
    pub upper: f64,
    pub kind: VariableKind,
}

/// Why a search space or a genome is not acceptable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpaceError {
    #[error("a search space needs at least one variable")]
    Empty,
    #[error("variable {index}: bounds {lower}..={upper} must be finite with lower <= upper")]
    Bounds { index: usize, lower: f64, upper: f64 },
    #[error("variable {index} is an integer but its bounds {lower}..={upper} are not integers")]
    FractionalIntegerBounds { index: usize, lower: f64, upper: f64 },
    #[error("genome has {found} value(s); the search space has {expected} variable(s)")]
    Length { expected: usize, found: usize },
    #[error("genome value {value} of variable {index} is outside {lower}..={upper}")]
    OutOfBounds { index: usize, value: f64, lower: f64, upper: f64 },
    #[error("genome value {value} of integer variable {index} is not an integer")]
    NotInteger { index: usize, value: f64 },
}

/// The variables of a problem, in genome order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchSpace {
    pub variables: Vec<Variable>,
}

/// What pymoo subtracts from 0.5 when widening integer bounds.
const INTEGER_WIDENING: f64 = 0.5 - 1e-16;

impl SearchSpace {
    /// A space from explicit variables, checked.
    pub fn new(variables: Vec<Variable>) -> Result<Self, SpaceError> {
        let space = SearchSpace { variables };
        space.validate()?;
        Ok(space)
    }

    /// Integer variables with these inclusive bounds.
    pub fn integers(lower: &[i64], upper: &[i64]) -> Result<Self, SpaceError> {
        Self::new(
            lower
                .iter()
                .zip(upper)
                .map(|(&l, &u)| Variable { lower: l as f64, upper: u as f64, kind: VariableKind::Integer })
                .collect(),
        )
    }

    /// Real variables with these inclusive bounds.
    pub fn reals(lower: &[f64], upper: &[f64]) -> Result<Self, SpaceError> {
        Self::new(
            lower
                .iter()
                .zip(upper)
                .map(|(&lower, &upper)| Variable { lower, upper, kind: VariableKind::Real })
                .collect(),
        )
    }

    /// Number of variables.
    pub fn len(&self) -> usize {
        self.variables.len()
    }

    /// Whether there are no variables (never true for a validated space).
    pub fn is_empty(&self) -> bool {
        self.variables.is_empty()
    }

    /// Checks the bounds.
    pub fn validate(&self) -> Result<(), SpaceError> {
        if self.variables.is_empty() {
            return Err(SpaceError::Empty);
        }
        for (index, v) in self.variables.iter().enumerate() {
            if !(v.lower.is_finite() && v.upper.is_finite() && v.lower <= v.upper) {
                return Err(SpaceError::Bounds { index, lower: v.lower, upper: v.upper });
            }
            if v.kind == VariableKind::Integer && (v.lower.fract() != 0.0 || v.upper.fract() != 0.0) {
                return Err(SpaceError::FractionalIntegerBounds { index, lower: v.lower, upper: v.upper });
            }
        }
        Ok(())
    }

    /// Checks that a genome belongs to the space: length, bounds, integrality.
    pub fn check(&self, x: &[f64]) -> Result<(), SpaceError> {
        if x.len() != self.variables.len() {
            return Err(SpaceError::Length { expected: self.variables.len(), found: x.len() });
        }
        for (index, (v, &value)) in self.variables.iter().zip(x).enumerate() {
            if !(value >= v.lower && value <= v.upper) {
                return Err(SpaceError::OutOfBounds { index, value, lower: v.lower, upper: v.upper });
            }
            if v.kind == VariableKind::Integer && value.fract() != 0.0 {
                return Err(SpaceError::NotInteger { index, value });
            }
        }
        Ok(())
    }

    /// The bounds the operators work in: widened for integer variables.
    fn operator_bounds(&self, index: usize) -> (f64, f64) {
        let v = &self.variables[index];
        match v.kind {
            VariableKind::Real => (v.lower, v.upper),
            VariableKind::Integer => (v.lower - INTEGER_WIDENING, v.upper + INTEGER_WIDENING),
        }
    }

    /// Maps an operator's output back into the space: rounding for integers, then clamping.
    fn finish(&self, index: usize, value: f64) -> f64 {
        let v = &self.variables[index];
        let value = match v.kind {
            VariableKind::Real => value,
            VariableKind::Integer => value.round_ties_even(),
        };
        value.clamp(v.lower, v.upper)
    }

    /// A uniform random genome (each integer equally likely).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<f64> {
        (0..self.variables.len())
            .map(|i| {
                let (low, high) = self.operator_bounds(i);
                self.finish(i, low + rng.random::<f64>() * (high - low))
            })
            .collect()
    }
}

/// Simulated binary crossover (Deb & Agrawal 1995) as in pymoo 0.4: with probability
/// `probability` a mating crosses at all; then each variable crosses with probability
/// `per_variable` unless the parents are within 1e-14 there; the two children's values are
/// swapped with probability 0.5; children are clipped to the (widened) bounds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sbx {
    pub probability: f64,
    pub per_variable: f64,
    pub eta: f64,
}

impl Default for Sbx {
    /// The paper's setting: p = 0.9, per-variable 0.5, η = 3.
    fn default() -> Self {
        Sbx { probability: 0.9, per_variable: 0.5, eta: 3.0 }
    }
}

/// Two children and whether the mating crossed (if not, each child copies one parent).
#[derive(Debug, Clone, PartialEq)]
pub struct Offspring {
    pub children: [Vec<f64>; 2],
    pub crossed: bool,
}

impl Sbx {
    /// Mates two parents of `space`.
    pub fn mate<R: Rng + ?Sized>(&self, space: &SearchSpace, a: &[f64], b: &[f64], rng: &mut R) -> Offspring {
        let mut first = a.to_vec();
        let mut second = b.to_vec();
        let crossed = rng.random::<f64>() < self.probability;
        if !crossed {
            return Offspring { children: [first, second], crossed };
        }
        let exponent = 1.0 / (self.eta + 1.0);
        // The spread factor of one side: the bounded SBX distribution for a parent `beta` away
        // (in units of half the parents' distance) from its bound.
        let spread = |beta: f64, u: f64| {
            let alpha = 2.0 - beta.powf(-(self.eta + 1.0));
            if u <= 1.0 / alpha {
                (u * alpha).powf(exponent)
            } else {
                (1.0 / (2.0 - u * alpha)).powf(exponent)
            }
        };
        for i in 0..space.len() {
            let crosses = rng.random::<f64>() <= self.per_variable;
            if !crosses || (a[i] - b[i]).abs() <= 1e-14 {
                continue;
            }
            let (lower, upper) = space.operator_bounds(i);
            let (y1, y2) = (a[i].min(b[i]), a[i].max(b[i]));
            let delta = (y2 - y1).max(1e-10);
            let u = rng.random::<f64>();
            let c1 = 0.5 * ((y1 + y2) - spread(1.0 + 2.0 * (y1 - lower) / delta, u) * delta);
            let c2 = 0.5 * ((y1 + y2) + spread(1.0 + 2.0 * (upper - y2) / delta, u) * delta);
            let (c1, c2) = if rng.random::<f64>() <= 0.5 { (c2, c1) } else { (c1, c2) };
            first[i] = space.finish(i, c1.clamp(lower, upper));
            second[i] = space.finish(i, c2.clamp(lower, upper));
        }
        Offspring { children: [first, second], crossed }
    }
}

/// Polynomial mutation (Deb & Goyal 1996) as in pymoo 0.4: each variable mutates with
/// probability `per_variable` (default 1 / number of variables), by the bounded polynomial
/// distribution with index `eta`, clipped to the (widened) bounds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PolynomialMutation {
    pub per_variable: Option<f64>,
    pub eta: f64,
}

impl Default for PolynomialMutation {
    /// The paper's setting: η = 3, per-variable probability 1 / number of variables (1/6 there).
    fn default() -> Self {
        PolynomialMutation { per_variable: None, eta: 3.0 }
    }
}

impl PolynomialMutation {
    /// A mutated copy of `x`.
    pub fn mutate<R: Rng + ?Sized>(&self, space: &SearchSpace, x: &[f64], rng: &mut R) -> Vec<f64> {
        let probability = self.per_variable.unwrap_or(1.0 / space.len() as f64);
        let exponent = 1.0 / (self.eta + 1.0);
        let mut y = x.to_vec();
        for i in 0..space.len() {
            if rng.random::<f64>() >= probability {
                continue;
            }
            let (lower, upper) = space.operator_bounds(i);
            let width = upper - lower;
            if width <= 0.0 {
                continue;
            }
            let u = rng.random::<f64>();
            let delta_q = if u <= 0.5 {
                let below = 1.0 - (x[i] - lower) / width;
                (2.0 * u + (1.0 - 2.0 * u) * below.powf(self.eta + 1.0)).powf(exponent) - 1.0
            } else {
                let above = 1.0 - (upper - x[i]) / width;
                1.0 - (2.0 * (1.0 - u) + 2.0 * (u - 0.5) * above.powf(self.eta + 1.0)).powf(exponent)
            };
            y[i] = space.finish(i, (x[i] + delta_q * width).clamp(lower, upper));
        }
        y
    }
}
