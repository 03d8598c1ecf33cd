//! Exact hypervolume indicator in any dimension, and each point's exclusive contribution.
//!
//! The hypervolume of a set of points is the volume of the region they dominate, bounded by a
//! reference point. Algorithms, by number of objectives d:
//! - d = 2: one sort and a sweep, O(n log n);
//! - d = 3: the dimension sweep of Beume et al. (2009) over a 2-D front kept in a rank set,
//!   O(n log n);
//! - d = 4: HV4D+ (Guerreiro & Fonseca 2018), O(n²);
//! - d = 5: a sweep on the last objective accumulating each point's exclusive 4-D contribution,
//!   computed against the swept points kept in presorted orders (the structure of moocore's
//!   recursion, Fonseca, Paquete & López-Ibáñez 2006); O(n³) at worst, far less on typical fronts;
//! - d ≥ 6: the same sweep with exclusive contributions from the WFG "limited" sets (While,
//!   Bradstreet & Barone 2012), down to the 5-D sweep.
//!
//! Convention: every objective is **minimised** inside; [`hypervolume_max`] and
//! [`contributions_max`] take maximised objectives (XNAS maximises accuracy and
//! introspectability, with reference point (0, 1/N_C)). Points that do not strictly dominate the
//! reference point add nothing and are ignored; dominated points are filtered by the sweeps.
//! NaN or infinite coordinates are an error, never a silent NaN result.
//!
//! The cost of an exact hypervolume grows steeply with the number of objectives (a few thousand
//! points in 8-D take minutes, a few hundred in 14-D hours). A caller with a time budget uses
//! [`hypervolume_until`] or [`contributions_until`]: past the deadline they stop with
//! [`HvError::DeadlinePassed`], which names the size that did not finish.
//!
//! ```
//! // Two maximised objectives, reference (0, 0.1): boxes [0,0.9]×[0.1,0.5] ∪ [0,0.6]×[0.1,0.8].
//! let volume = xnas_hv::hypervolume_max(&[[0.9, 0.5], [0.6, 0.8]], &[0.0, 0.1]).unwrap();
//! assert!((volume - (0.9 * 0.4 + 0.6 * 0.3)).abs() < 1e-15);
//! ```

mod clock;
mod error;
mod five;
mod four;
mod front3;
mod many;
mod nondominated;
mod order;
mod rank_set;
mod three;
mod two;

use std::time::Instant;

pub use error::HvError;

/// The hypervolume of minimised `points` with respect to `reference`.
pub fn hypervolume<P: AsRef<[f64]>>(points: &[P], reference: &[f64]) -> Result<f64, HvError> {
    let problem = Problem::from_rows(points, reference, false)?;
    Ok(problem.hypervolume())
}

/// [`hypervolume`] that gives up at `deadline` with [`HvError::DeadlinePassed`] (it looks at the
/// clock as it sweeps, so it returns shortly after the deadline whatever the input's size).
///
/// ```
/// use std::time::Instant;
/// // A deadline already past: any set that needs a sweep is stopped.
/// let points: Vec<Vec<f64>> = (0..200).map(|i| (0..8).map(|j| ((i * 7 + j * 13) % 97) as f64).collect()).collect();
/// let error = xnas_hv::hypervolume_until(&points, &[100.0; 8], Instant::now()).unwrap_err();
/// assert!(matches!(error, xnas_hv::HvError::DeadlinePassed { points: 200, dimension: 8 }));
/// ```
pub fn hypervolume_until<P: AsRef<[f64]>>(points: &[P], reference: &[f64], deadline: Instant) -> Result<f64, HvError> {
    let problem = Problem::from_rows(points, reference, false)?;
    problem.hypervolume_until(Some(deadline), points.len())
}

/// The hypervolume of maximised `points` with respect to `reference` (every point should be
/// above the reference in every objective to count).
pub fn hypervolume_max<P: AsRef<[f64]>>(points: &[P], reference: &[f64]) -> Result<f64, HvError> {
    let problem = Problem::from_rows(points, reference, true)?;
    Ok(problem.hypervolume())
}

/// The hypervolume of minimised points given as one row-major buffer of `reference.len()` values
/// per point (no per-point allocation, for large sets).
pub fn hypervolume_flat(values: &[f64], reference: &[f64]) -> Result<f64, HvError> {
    let dimension = reference.len().max(1);
    if !values.len().is_multiple_of(dimension) {
        return Err(HvError::RaggedBuffer { len: values.len(), dimension });
    }
    let rows: Vec<&[f64]> = values.chunks_exact(dimension).collect();
    hypervolume(&rows, reference)
}

/// Each point's exclusive contribution HV(S) − HV(S \ {p}) for minimised `points`, in input order,
/// where S is the set of non-dominated points (moocore's default): dominated points get zero and
/// do not lower anyone else's contribution; a point present twice gets zero (removing one copy
/// changes nothing); points that do not strictly dominate the reference get zero.
///
/// O(n log n) for two objectives and usually for three; for four and more, one exclusive volume
/// per non-dominated point (the point's box minus the others limited to it).
pub fn contributions<P: AsRef<[f64]>>(points: &[P], reference: &[f64]) -> Result<Vec<f64>, HvError> {
    let problem = Problem::from_rows(points, reference, false)?;
    Ok(problem.contributions(points.len()))
}

/// [`contributions`] that gives up at `deadline` with [`HvError::DeadlinePassed`].
pub fn contributions_until<P: AsRef<[f64]>>(
    points: &[P],
    reference: &[f64],
    deadline: Instant,
) -> Result<Vec<f64>, HvError> {
    let problem = Problem::from_rows(points, reference, false)?;
    problem.contributions_until(points.len(), Some(deadline))
}

/// [`contributions`] for maximised `points`.
pub fn contributions_max<P: AsRef<[f64]>>(points: &[P], reference: &[f64]) -> Result<Vec<f64>, HvError> {
    let problem = Problem::from_rows(points, reference, true)?;
    Ok(problem.contributions(points.len()))
}

/// Checked, minimisation-oriented input: the rows that strictly dominate the reference.
struct Problem {
    data: Vec<f64>,
    rows: Vec<usize>,
    dimension: usize,
    reference: Vec<f64>,
}

impl Problem {
    fn from_rows<P: AsRef<[f64]>>(points: &[P], reference: &[f64], maximise: bool) -> Result<Problem, HvError> {
        if reference.is_empty() {
            return Err(HvError::EmptyReference);
        }
        if let Some((coordinate, &value)) = reference.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(HvError::NonFiniteReference { coordinate, value });
        }
        let dimension = reference.len();
        // Negating turns maximisation into minimisation; adding 0.0 turns −0.0 into +0.0 so that
        // equal values sort together.
        let orient = |v: f64| if maximise { -v + 0.0 } else { v + 0.0 };
        let reference: Vec<f64> = reference.iter().map(|&v| orient(v)).collect();
        let mut data = Vec::with_capacity(points.len() * dimension);
        let mut rows = Vec::with_capacity(points.len());
        for (index, point) in points.iter().enumerate() {
            let point = point.as_ref();
            if point.len() != dimension {
                return Err(HvError::DimensionMismatch { index, found: point.len(), expected: dimension });
            }
            if let Some((coordinate, &value)) = point.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(HvError::NonFinitePoint { index, coordinate, value });
            }
            if point.iter().zip(&reference).all(|(&v, &r)| orient(v) < r) {
                data.extend(point.iter().map(|&v| orient(v)));
                rows.push(index);
            }
        }
        Ok(Problem { data, rows, dimension, reference })
    }

    fn hypervolume(&self) -> f64 {
        many::hypervolume(&self.data, self.dimension, &self.reference, &mut many::Workspace::default())
    }

    fn hypervolume_until(&self, deadline: Option<Instant>, count: usize) -> Result<f64, HvError> {
        let mut workspace = many::Workspace::with_clock(clock::Clock::until(deadline));
        let volume = many::hypervolume(&self.data, self.dimension, &self.reference, &mut workspace);
        match workspace.clock.expired() {
            true => Err(HvError::DeadlinePassed { points: count, dimension: self.dimension }),
            false => Ok(volume),
        }
    }

    fn contributions(&self, count: usize) -> Vec<f64> {
        self.contributions_until(count, None).expect("no deadline, nothing to pass")
    }

    fn contributions_until(&self, count: usize, deadline: Option<Instant>) -> Result<Vec<f64>, HvError> {
        let (values, clock) =
            many::contributions(&self.data, self.dimension, &self.reference, clock::Clock::until(deadline));
        if clock.expired() {
            return Err(HvError::DeadlinePassed { points: count, dimension: self.dimension });
        }
        let mut result = vec![0.0; count];
        for (value, &row) in values.into_iter().zip(&self.rows) {
            result[row] = value;
        }
        Ok(result)
    }
}
