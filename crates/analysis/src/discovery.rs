//! App. G's motif discovery: which motifs are favoured in one part of a Pareto front (the
//! accurate end or the introspectable end) more than in the other, following the paper's seven
//! steps.
//!
//! 1–2. The front (genome, accuracy, introspectability) is sorted by accuracy ascending, then
//!      introspectability descending — on a 2-D front, the order from the introspectable end to
//!      the accurate end. A solution's rank is its position in that order.
//! 3.   Each genome's count of every operation is recorded ([`crate::operators::op_counts`]).
//! 4.   Every motif of size 1–5 held by a front genome is a candidate ([`crate::motifs`]).
//! 5.   Each candidate is scored by Spearman's ρ between rank and presence (1 or 0). "If
//!      applicable, the count of the operator is used instead": each operation's per-genome count
//!      from step 3 is a candidate too ([`Pattern::OperatorCount`], size 1, held where the count is
//!      positive), scored by ρ between rank and count. ρ > 0: favoured at the accurate end.
//!      A presence or count that is the same for every solution has no ρ; it scores 0.
//! 6.   Support (number of holders) and size are recorded with the score.
//! 7.   The Pareto set of the candidates, maximising |ρ|, support and size (a larger motif says
//!      more; its sub-motifs always have at least its support, so support and size trade off),
//!      is kept, and then those with support below 3 or |ρ| below 0.2 are dropped.

use std::fmt;

use serde::{Serialize, Serializer};
use xnas_moo::{pareto_ranks_directed, Direction};
use xnas_space::{Genome, Op, NUM_EDGES};

use crate::error::{check_column, check_length, AnalysisError};
use crate::motifs::{motif_supports, Motif};
use crate::operators::op_counts;
use crate::stats::spearman;

/// A candidate of step 4 or 5: a motif, or the number of edges carrying one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pattern {
    Motif(Motif),
    OperatorCount(Op),
}

impl Pattern {
    /// Fixed edges of a motif; 1 for an operator count.
    pub fn size(&self) -> usize {
        match self {
            Pattern::Motif(motif) => motif.size(),
            Pattern::OperatorCount(_) => 1,
        }
    }
}

impl fmt::Display for Pattern {
    /// A motif in the paper's notation; an operator count as `count(0)` for op code 0.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Motif(motif) => motif.fmt(f),
            Pattern::OperatorCount(op) => write!(f, "count({})", op.code()),
        }
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The thresholds and candidate set; [`Default`] is the paper's.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveryOptions {
    /// Motif sizes to enumerate (paper: 1 to 5; 6 would be whole genomes).
    pub sizes: std::ops::RangeInclusive<usize>,
    /// Whether per-operation counts are candidates (step 5's "if applicable").
    pub operator_counts: bool,
    /// Step 7's support threshold (paper: 3).
    pub min_support: usize,
    /// Step 7's |ρ| threshold (paper: 0.2).
    pub min_abs_rho: f64,
}

impl Default for DiscoveryOptions {
    fn default() -> Self {
        DiscoveryOptions { sizes: 1..=5, operator_counts: true, min_support: 3, min_abs_rho: 0.2 }
    }
}

/// A candidate with its step 5–6 scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoredPattern {
    pub pattern: Pattern,
    /// Spearman's ρ against the front rank (signed; 0 when undefined).
    pub rho: f64,
    pub support: usize,
    pub size: usize,
    /// Indices of the holders in the front as given (not the sorted order), ascending.
    pub holders: Vec<usize>,
}

/// The outcome of all seven steps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Discovery {
    /// Step 2: front indices from the introspectable end to the accurate end.
    pub order: Vec<usize>,
    /// Steps 4–6: every candidate, in pattern order.
    pub scored: Vec<ScoredPattern>,
    /// Step 7: the Pareto-optimal candidates that pass both thresholds, highest |ρ| first (then
    /// support, size, pattern).
    pub retained: Vec<ScoredPattern>,
    /// Front indices holding none of the retained patterns (the paper's "N/A" panel), ascending.
    pub unexplained: Vec<usize>,
}

/// Step 2's order: indices of the points sorted by accuracy ascending, then introspectability
/// descending; equal points keep their given order.
pub fn front_order(accuracy: &[f64], introspectability: &[f64]) -> Result<Vec<usize>, AnalysisError> {
    check_column("accuracy", accuracy)?;
    check_column("introspectability", introspectability)?;
    check_length("introspectability", accuracy.len(), introspectability.len())?;
    let mut order: Vec<usize> = (0..accuracy.len()).collect();
    order.sort_by(|&a, &b| {
        accuracy[a].total_cmp(&accuracy[b]).then(introspectability[b].total_cmp(&introspectability[a]))
    });
    Ok(order)
}

/// Runs App. G's seven steps on a front given as three columns of equal length (at least two
/// points). `genomes[i]` scored `accuracy[i]` and `introspectability[i]`.
pub fn discover_motifs(
    genomes: &[Genome],
    accuracy: &[f64],
    introspectability: &[f64],
    options: &DiscoveryOptions,
) -> Result<Discovery, AnalysisError> {
    check_length("accuracy", genomes.len(), accuracy.len())?;
    let order = front_order(accuracy, introspectability)?;
    if genomes.len() < 2 {
        return Err(AnalysisError::TooFew { what: "front".into(), needed: 2, found: genomes.len() });
    }
    let mut rank = vec![0.0; genomes.len()];
    for (position, &index) in order.iter().enumerate() {
        rank[index] = position as f64;
    }
    let score = |feature: &[f64]| match spearman(&rank, feature) {
        Ok(correlation) => Ok(correlation.coefficient),
        Err(AnalysisError::Constant { .. }) => Ok(0.0),
        Err(other) => Err(other),
    };

    let mut scored = Vec::new();
    for size in options.sizes.clone().filter(|size| (1..=NUM_EDGES).contains(size)) {
        for support in motif_supports(genomes, size)? {
            let mut presence = vec![0.0; genomes.len()];
            for &holder in &support.holders {
                presence[holder] = 1.0;
            }
            scored.push(ScoredPattern {
                pattern: Pattern::Motif(support.motif),
                rho: score(&presence)?,
                support: support.support,
                size,
                holders: support.holders,
            });
        }
    }
    if options.operator_counts {
        let counts: Vec<_> = genomes.iter().map(op_counts).collect();
        for op in Op::ALL {
            let count: Vec<f64> = counts.iter().map(|c| c[op.code() as usize] as f64).collect();
            let holders: Vec<usize> = (0..genomes.len()).filter(|&i| count[i] > 0.0).collect();
            if holders.is_empty() {
                continue;
            }
            scored.push(ScoredPattern {
                pattern: Pattern::OperatorCount(op),
                rho: score(&count)?,
                support: holders.len(),
                size: 1,
                holders,
            });
        }
    }
    scored.sort_by_key(|s| s.pattern);

    let objectives: Vec<[f64; 3]> = scored.iter().map(|s| [s.rho.abs(), s.support as f64, s.size as f64]).collect();
    let ranks = pareto_ranks_directed(&objectives, &[Direction::Maximise; 3])
        .expect("scores are finite and three per candidate");
    let mut retained: Vec<ScoredPattern> = scored
        .iter()
        .zip(ranks)
        .filter(|(s, rank)| *rank == 0 && s.support >= options.min_support && s.rho.abs() >= options.min_abs_rho)
        .map(|(s, _)| s.clone())
        .collect();
    retained.sort_by(|a, b| {
        b.rho
            .abs()
            .total_cmp(&a.rho.abs())
            .then(b.support.cmp(&a.support))
            .then(b.size.cmp(&a.size))
            .then(a.pattern.cmp(&b.pattern))
    });
    let unexplained = (0..genomes.len()).filter(|i| retained.iter().all(|s| !s.holders.contains(i))).collect();
    Ok(Discovery { order, scored, retained, unexplained })
}
