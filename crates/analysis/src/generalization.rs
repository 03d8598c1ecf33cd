//! App. J's ablations: generalization error (training accuracy − validation accuracy), parameters
//! and training speed, each correlated with each report axis by Spearman's ρ (Fig. J4–J6).

use serde::Serialize;

use crate::error::{check_column, check_length, AnalysisError};
use crate::stats::{spearman, Correlation};

/// `train_accuracy[i] − validation_accuracy[i]` for two finite columns of equal length.
pub fn generalization_error(train_accuracy: &[f64], validation_accuracy: &[f64]) -> Result<Vec<f64>, AnalysisError> {
    check_column("train_accuracy", train_accuracy)?;
    check_column("validation_accuracy", validation_accuracy)?;
    check_length("validation_accuracy", train_accuracy.len(), validation_accuracy.len())?;
    Ok(train_accuracy.iter().zip(validation_accuracy).map(|(t, v)| t - v).collect())
}

/// One cell of the table: a quantity against a report axis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorrelationCell {
    pub quantity: String,
    pub axis: String,
    /// `None` when either column is constant, so ρ is undefined.
    pub spearman: Option<Correlation>,
}

/// Spearman's ρ of every quantity (e.g. `("generalization error", &errors)`, `("parameters",
/// &params)`, `("training speed", &images_per_second)`) against every report axis (e.g.
/// `("accuracy", &acc)`, `("introspectability", &intro)`). All columns hold one finite value per
/// point, at least two points. Cells come quantity by quantity, axes in the order given.
pub fn spearman_table(
    quantities: &[(&str, &[f64])],
    axes: &[(&str, &[f64])],
) -> Result<Vec<CorrelationCell>, AnalysisError> {
    let points = quantities.first().or(axes.first()).map_or(0, |(_, column)| column.len());
    for (name, column) in quantities.iter().chain(axes) {
        check_column(name, column)?;
        check_length(name, points, column.len())?;
    }
    let mut cells = Vec::with_capacity(quantities.len() * axes.len());
    for (quantity, q) in quantities {
        for (axis, a) in axes {
            let spearman = match spearman(q, a) {
                Ok(correlation) => Some(correlation),
                Err(AnalysisError::Constant { .. }) => None,
                Err(other) => return Err(other),
            };
            cells.push(CorrelationCell { quantity: quantity.to_string(), axis: axis.to_string(), spearman });
        }
    }
    Ok(cells)
}
