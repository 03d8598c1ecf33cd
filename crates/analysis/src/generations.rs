//! How a report axis moves over a search (App. H; the panel under Fig. 3): per generation, the
//! mean, median, spread and 95 % confidence interval of the values of that generation's
//! population or front.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{check_column, check_length, AnalysisError};
use crate::stats::{summarize, Summary};

/// One generation's [`Summary`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GenerationSummary {
    pub generation: u64,
    pub summary: Summary,
}

/// Groups `values` by `generations` (two columns of equal length: point i belongs to generation
/// `generations[i]`) and summarises each group, generations ascending. A point that belongs to
/// several generations (a survivor) is listed once per generation by the caller.
pub fn per_generation(generations: &[u64], values: &[f64]) -> Result<Vec<GenerationSummary>, AnalysisError> {
    check_column("values", values)?;
    check_length("generations", values.len(), generations.len())?;
    let mut groups: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for (&generation, &value) in generations.iter().zip(values) {
        groups.entry(generation).or_default().push(value);
    }
    groups
        .into_iter()
        .map(|(generation, group)| Ok(GenerationSummary { generation, summary: summarize(&group)? }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_generation_in_order() {
        let generations = [2, 0, 0, 1, 0, 1];
        let values = [0.7, 0.1, 0.3, 0.4, 0.2, 0.6];
        let rows = per_generation(&generations, &values).unwrap();
        let layout: Vec<(u64, usize, f64, f64)> =
            rows.iter().map(|r| (r.generation, r.summary.n, r.summary.median, r.summary.max)).collect();
        assert_eq!(layout, [(0, 3, 0.2, 0.3), (1, 2, 0.5, 0.6), (2, 1, 0.7, 0.7)]);
        assert!((rows[0].summary.mean - 0.2).abs() < 1e-15);
        // SciPy: t.interval(0.95, 2, loc=0.2, scale=sem([0.1, 0.2, 0.3])) = (-0.048413771, 0.448413771).
        let ci = rows[0].summary.ci95.unwrap();
        assert!((ci.low + 0.04841377118).abs() < 1e-9 && (ci.high - 0.44841377118).abs() < 1e-9, "{ci:?}");
        assert_eq!(rows[2].summary.ci95, None);
        assert!(matches!(per_generation(&[0], &[1.0, 2.0]), Err(AnalysisError::LengthMismatch { .. })));
        assert!(matches!(per_generation(&[], &[]), Err(AnalysisError::Empty { .. })));
    }
}
