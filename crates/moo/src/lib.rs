//! Multi-objective search machinery for xnas, general enough for any problem a script defines:
//! Pareto dominance, non-dominated sorting (as fast as moocore), crowding distance, binary
//! tournament, sampling, SBX and polynomial mutation on integer or real genomes, rank-and-crowding
//! and reference-point (R-NSGA-II) survival, and NSGA-II, a single-objective GA, random search and a
//! fixed list of candidates as serialisable ask/tell state machines. Pure Rust, no libtorch.
//!
//! Convention: objectives are minimised inside; [`Direction`] says per objective whether the
//! user's values are minimised or maximised, and the searches take and return the user's values.

pub mod archive;
pub mod crowding;
pub mod dominance;
pub mod fixed_search;
pub mod nsga2;
pub mod operators;
pub mod points;
pub mod random_search;
pub mod selection;
pub mod sorting;
pub mod survival;

mod serde_float;

pub use archive::{Archive, Candidate, Evaluation, NoRepair, Record, Repair, SearchError, Status};
pub use crowding::crowding_distance;
pub use dominance::{compare, compare_with, dominates, to_minimisation, Direction, Dominance};
pub use fixed_search::FixedSearch;
pub use nsga2::{ConfigError, Member, Nsga2, Nsga2Config, Problem, Survival, TellProgress};
pub use operators::{Offspring, PolynomialMutation, Sbx, SearchSpace, SpaceError, Variable, VariableKind};
pub use points::{parse_point_sets, PointsError};
pub use random_search::RandomSearch;
pub use selection::{binary_tournament, tournament_winner};
pub use sorting::{
    fronts_from_ranks, non_dominated, non_dominated_sort, pareto_ranks, pareto_ranks_directed, pareto_ranks_flat,
    SortError,
};
pub use survival::{fitness_survival, rank_and_crowding, reference_point_survival, ReferencePoints, Survivors};
