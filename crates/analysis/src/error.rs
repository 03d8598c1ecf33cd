//! The one error type of this crate: what is wrong with the data an analysis was given.

/// Why an analysis cannot run on the data it was given. `what` names the offending input as the
/// caller's documentation does (e.g. `"x"`, `"accuracy"`, `"front genomes"`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalysisError {
    #[error("{what} is empty; this analysis needs at least one value")]
    Empty { what: String },
    #[error("{what} has {found} value(s) but needs at least {needed}")]
    TooFew { what: String, needed: usize, found: usize },
    #[error("{what} has {found} value(s) but {expected} were expected (every column must have one value per point)")]
    LengthMismatch { what: String, expected: usize, found: usize },
    #[error("{what}[{index}] is NaN or infinite; drop the point (or its failed evaluation) before the analysis")]
    NotFinite { what: String, index: usize },
    #[error("{what} is constant, so its correlation with anything is undefined")]
    Constant { what: String },
    #[error("confidence level {level} is not strictly between 0 and 1")]
    ConfidenceLevel { level: f64 },
    #[error("percentile {percentile} is not between 0 and 100 (0 is the best run's attainment surface, 50 the median, 100 the worst)")]
    Percentile { percentile: f64 },
    #[error("motif size {size} is out of range; motifs have 1 to 6 fixed edges")]
    MotifSize { size: usize },
    #[error("invalid motif {input:?}: {message} (write six entries in brackets, each an op code 0-4 or *, e.g. [0 * * * 3 *])")]
    MotifSyntax { input: String, message: String },
    #[error("evaluation {id} is named (as the chosen solution or as a parent) but is not among the evaluations given")]
    UnknownEvaluation { id: u64 },
    #[error("evaluation {id} appears more than once among the evaluations given")]
    DuplicateEvaluation { id: u64 },
}

/// Checks that a column is not empty and every value is finite.
pub(crate) fn check_column(what: &str, values: &[f64]) -> Result<(), AnalysisError> {
    if values.is_empty() {
        return Err(AnalysisError::Empty { what: what.to_string() });
    }
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(AnalysisError::NotFinite { what: what.to_string(), index }),
        None => Ok(()),
    }
}

/// Checks that a column has `expected` entries.
pub(crate) fn check_length(what: &str, expected: usize, found: usize) -> Result<(), AnalysisError> {
    if expected == found {
        Ok(())
    } else {
        Err(AnalysisError::LengthMismatch { what: what.to_string(), expected, found })
    }
}
