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
