//! The one error type of the crate: what is wrong with the points or the reference point a caller
//! gave, naming the offending point and coordinate so the caller can fix the input.

/// Why a hypervolume could not be computed. Point indices and coordinates are 0-based.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HvError {
    /// The reference point has no coordinates.
    #[error("the reference point is empty; give one coordinate per objective")]
    EmptyReference,
    /// A reference coordinate is NaN or infinite.
    #[error(
        "reference coordinate {coordinate} is {value}; the reference point must be finite \
         (pick a value a little worse than the worst point in that objective)"
    )]
    NonFiniteReference { coordinate: usize, value: f64 },
    /// A point has a different number of coordinates than the reference point.
    #[error(
        "point {index} has {found} coordinate(s) but the reference point has {expected}; \
         every point needs one coordinate per objective"
    )]
    DimensionMismatch { index: usize, found: usize, expected: usize },
    /// A point coordinate is NaN or infinite.
    #[error("coordinate {coordinate} of point {index} is {value}; hypervolume needs finite values")]
    NonFinitePoint { index: usize, coordinate: usize, value: f64 },
    /// A flat (row-major) buffer whose length is not a multiple of the dimension.
    #[error(
        "a flat buffer of {len} values cannot hold points of dimension {dimension}; \
         its length must be a multiple of the reference point's length"
    )]
    RaggedBuffer { len: usize, dimension: usize },
    /// The computation was stopped at the caller's deadline ([`crate::hypervolume_until`]).
    #[error(
        "the exact hypervolume of {points} points in {dimension} objectives did not finish in time and was \
         stopped; its cost grows steeply with the number of objectives: give only the non-dominated points, \
         fewer points or fewer objectives"
    )]
    DeadlinePassed { points: usize, dimension: usize },
}
