//! The paper's search-level analyses as functions of plain data — front points, genomes, parent
//! ids, per-generation columns — so that reports, comparisons and scripts compute them the same
//! way. Pure Rust, no libtorch, no run store: callers pass vectors and get serialisable rows.
//!
//! | module | holds | paper |
//! |---|---|---|
//! | [`stats`] | Spearman, Pearson (with p-values), mean and t-interval, median, summaries | as SciPy computes them |
//! | [`hypothesis`] | Wilcoxon signed-rank and Mann–Whitney U, two-sided | as SciPy computes them |
//! | [`bootstrap`] | seeded percentile bootstrap interval of a difference of means | — |
//! | [`attainment`] | attainment surfaces of groups of fronts; the difference of two groups' | as moocore computes them |
//! | [`indicators`] | IGD+ of a found front to a reference front | as moocore computes it |
//! | [`operators`] | conv and pooling edges per cell; operator frequencies over a front | Fig. 4, G1–G2; Tables E1–E3 |
//! | [`motifs`] | motifs with wildcards (`[0 * * * 3 *]`), their support in a set | Tables F1–F3 |
//! | [`discovery`] | the seven-step motif discovery over a front | App. G, Fig. G3–G15 |
//! | [`phylogeny`] | a solution's ancestry DAG with Pareto marks; a generation's front | Fig. 3 |
//! | [`generations`] | per-generation mean, spread and 95 % interval of an axis | App. H, Fig. H1–H3 |
//! | [`generalization`] | generalization error; Spearman table of quantities against axes | App. J, Fig. J4–J6 |
//!
//! Every function checks its input and answers an [`AnalysisError`] for empty columns, columns of
//! different lengths, NaN or infinite values, and the like.

pub mod attainment;
pub mod bootstrap;
pub mod discovery;
mod error;
pub mod generalization;
pub mod generations;
pub mod hypothesis;
pub mod indicators;
pub mod motifs;
pub mod operators;
pub mod phylogeny;
pub mod stats;

pub use attainment::{attainment_difference, attainment_surfaces, AttainmentDifference, AttainmentSurface};
pub use bootstrap::{bootstrap_mean_difference, BootstrapInterval, Pairing};
pub use discovery::{discover_motifs, front_order, Discovery, DiscoveryOptions, Pattern, ScoredPattern};
pub use error::AnalysisError;
pub use generalization::{generalization_error, spearman_table, CorrelationCell};
pub use generations::{per_generation, GenerationSummary};
pub use hypothesis::{mann_whitney_u, wilcoxon_signed_rank, TestMethod, TestResult};
pub use indicators::igd_plus;
pub use motifs::{most_frequent_motifs, motif_supports, motifs_of, Motif, MotifSupport};
pub use operators::{conv_edges, op_counts, operator_frequencies, pooling_edges, OperatorFrequency};
pub use phylogeny::{ancestry, pareto_members, AncestorNode, Ancestry, GenerationFront, Lineage};
pub use stats::{
    average_ranks, mean, mean_confidence_interval, median, pearson, spearman, summarize, Correlation, Interval, Summary,
};
