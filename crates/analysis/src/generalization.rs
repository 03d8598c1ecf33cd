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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generalization_error_is_train_minus_validation() {
        let error = generalization_error(&[0.99, 0.95, 0.90], &[0.90, 0.91, 0.89]).unwrap();
        let expected = [0.09, 0.04, 0.01];
        assert!(error.iter().zip(expected).all(|(e, x)| (e - x).abs() < 1e-12), "{error:?}");
        assert!(matches!(generalization_error(&[0.9], &[0.8, 0.7]), Err(AnalysisError::LengthMismatch { .. })));
        assert!(matches!(generalization_error(&[f64::NAN], &[0.8]), Err(AnalysisError::NotFinite { .. })));
    }

    #[test]
    fn table_of_every_quantity_against_every_axis() {
        let accuracy = [0.80, 0.85, 0.90, 0.95];
        let introspectability = [0.40, 0.30, 0.35, 0.10];
        let error = [0.01, 0.02, 0.03, 0.05];
        let params = [1e5, 1e5, 1e5, 1e5];
        let table = spearman_table(
            &[("generalization error", &error), ("parameters", &params)],
            &[("accuracy", &accuracy), ("introspectability", &introspectability)],
        )
        .unwrap();
        let names: Vec<(&str, &str)> = table.iter().map(|c| (c.quantity.as_str(), c.axis.as_str())).collect();
        assert_eq!(
            names,
            [
                ("generalization error", "accuracy"),
                ("generalization error", "introspectability"),
                ("parameters", "accuracy"),
                ("parameters", "introspectability"),
            ]
        );
        assert_eq!(table[0].spearman.unwrap().coefficient, 1.0);
        // Ranks of introspectability: 4, 2, 3, 1 against 1, 2, 3, 4: ρ = 1 − 6·(9+0+0+9)/(4·15) = −0.8.
        assert!((table[1].spearman.unwrap().coefficient + 0.8).abs() < 1e-12);
        assert_eq!((table[2].spearman, table[3].spearman), (None, None));
        assert!(matches!(
            spearman_table(&[("e", &error[..3])], &[("accuracy", &accuracy)]),
            Err(AnalysisError::LengthMismatch { .. })
        ));
    }
}
