//! The search algorithm of a run behind one type: NSGA-II (also the single-objective GA and
//! R-NSGA-II, by its survival), random search, a fixed list of genomes trained once (`xnas
//! refine`), or every distinct cell of the space trained once in a seeded order (exhaustive: a
//! table of the space), with its whole state serialisable for resume.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use xnas_moo::{
    Candidate, Evaluation, FixedSearch, Nsga2, RandomSearch, Record, Repair, SearchError, Status, TellProgress,
};

use crate::script::{Algorithm, ExperimentSpec};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Search {
    Nsga2(Nsga2),
    Random(RandomSearch),
    Fixed(FixedSearch),
    /// A fixed list too: the space's distinct cells, shuffled by the search seed (see [`exhaustive_order`]).
    Exhaustive(FixedSearch),
}

/// One member of the current population.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The search's candidate id.
    pub id: u64,
    pub objectives: Vec<f64>,
    /// Its non-domination front; 0 is the Pareto front.
    pub rank: usize,
}

impl Member {
    pub fn on_front(&self) -> bool {
        self.rank == 0
    }
}

impl Search {
    /// A fresh search for an experiment.
    pub fn new(spec: &ExperimentSpec) -> Result<Search, xnas_moo::ConfigError> {
        Ok(match spec.search.algorithm {
            Algorithm::Random => {
                Search::Random(RandomSearch::new(spec.problem(), spec.search.population, spec.search.seed)?)
            }
            Algorithm::Nsga2 | Algorithm::Ga => Search::Nsga2(Nsga2::new(spec.nsga2_config())?),
            Algorithm::Fixed => {
                // The spec's validation parsed and placed every genome; `front_of` is resolved into
                // `genomes` before the search starts (see `crate::report::input::front_genomes`).
                let genomes = spec.search.genomes.iter().filter_map(|g| g.parse().ok());
                let xs = genomes.filter_map(|g| spec.space.encode(&g).ok()).collect();
                Search::Fixed(FixedSearch::new(spec.problem(), xs)?)
            }
            Algorithm::Exhaustive => {
                let xs = exhaustive_order(spec).iter().filter_map(|g| spec.space.encode(g).ok()).collect();
                Search::Exhaustive(FixedSearch::new(spec.problem(), xs)?)
            }
        })
    }

    pub fn ask_with(&mut self, repair: &mut dyn Repair) -> Result<Vec<Candidate>, SearchError> {
        match self {
            Search::Nsga2(s) => s.ask_with(repair),
            Search::Random(s) => s.ask_with(repair),
            Search::Fixed(s) | Search::Exhaustive(s) => s.ask(),
        }
    }

    /// Steady-state: one candidate, while others may still be pending; `None` when the space is
    /// exhausted.
    pub fn ask_one_with(&mut self, repair: &mut dyn Repair) -> Result<Option<Candidate>, SearchError> {
        match self {
            Search::Nsga2(s) => s.ask_one_with(repair),
            Search::Random(s) => s.ask_one_with(repair),
            Search::Fixed(s) | Search::Exhaustive(s) => s.ask_one(),
        }
    }

    pub fn tell(&mut self, results: Vec<(u64, Evaluation)>) -> Result<TellProgress, SearchError> {
        match self {
            Search::Nsga2(s) => s.tell(results),
            Search::Random(s) => s.tell(results),
            Search::Fixed(s) | Search::Exhaustive(s) => s.tell(results),
        }
    }

    /// Completed generations.
    pub fn generation(&self) -> u64 {
        match self {
            Search::Nsga2(s) => s.generation(),
            Search::Random(s) => s.generation(),
            Search::Fixed(s) | Search::Exhaustive(s) => s.generation(),
        }
    }

    pub fn records(&self) -> &[Record] {
        match self {
            Search::Nsga2(s) => s.archive().records(),
            Search::Random(s) => s.archive().records(),
            Search::Fixed(s) | Search::Exhaustive(s) => s.archive().records(),
        }
    }

    /// The current population. Random, fixed and exhaustive searches have none; their archive's
    /// non-dominated set stands in (rank 0).
    pub fn population(&self) -> Vec<Member> {
        let front = |records: Vec<&Record>| -> Vec<Member> {
            records
                .into_iter()
                .filter_map(|r| match &r.status {
                    Status::Evaluated(f) => Some(Member { id: r.id, objectives: f.clone(), rank: 0 }),
                    _ => None,
                })
                .collect()
        };
        match self {
            Search::Nsga2(s) => s
                .population()
                .iter()
                .map(|m| Member { id: m.id, objectives: m.objectives.clone(), rank: m.rank })
                .collect(),
            Search::Random(s) => front(s.front()),
            Search::Fixed(s) | Search::Exhaustive(s) => front(s.front()),
        }
    }

    /// Re-scores finished candidates after the objectives changed (see `Nsga2::rescore`).
    pub fn rescore(&mut self, score: impl FnMut(&Record) -> Option<Evaluation>) -> Result<(), SearchError> {
        match self {
            Search::Nsga2(s) => s.rescore(score),
            // Random and fixed searches keep no population to re-rank; their archive is re-scored in the store.
            Search::Random(_) | Search::Fixed(_) | Search::Exhaustive(_) => Ok(()),
        }
    }

    /// Applies changed search settings between generations (NSGA-II only).
    pub fn reconfigure(&mut self, spec: &ExperimentSpec) -> Result<(), xnas_moo::ConfigError> {
        match self {
            Search::Nsga2(s) => s.set_config(spec.nsga2_config()),
            Search::Random(_) | Search::Fixed(_) | Search::Exhaustive(_) => Ok(()),
        }
    }
}

/// The order an exhaustive search trains the space's distinct cells in: shuffled by the search
/// seed, so that a run stopped part-way has trained a uniform random sample of the space, and the
/// same seed gives the same order (a resumed run goes on where it stopped).
pub fn exhaustive_order(spec: &ExperimentSpec) -> Vec<xnas_space::Genome> {
    let mut cells = spec.space.distinct_cells();
    cells.shuffle(&mut ChaCha8Rng::seed_from_u64(spec.search.seed));
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::ExperimentSpec;

    #[test]
    fn the_exhaustive_order_is_the_spaces_cells_shuffled_by_the_seed() {
        let mut spec = ExperimentSpec::new("t");
        let cells = spec.space.distinct_cells();
        let first = exhaustive_order(&spec);
        assert_eq!(first, exhaustive_order(&spec), "the same seed, the same order (resume relies on it)");
        let mut sorted = first.clone();
        sorted.sort_by_key(|g| g.compact());
        let mut expected = cells.clone();
        expected.sort_by_key(|g| g.compact());
        assert_eq!(sorted, expected, "every cell once");
        assert_ne!(first, cells, "shuffled, not in enumeration order");
        spec.search.seed = 1;
        assert_ne!(exhaustive_order(&spec), first, "another seed, another order");
    }
}
