//! The search algorithm of a run behind one type: NSGA-II (also the single-objective GA and
//! R-NSGA-II, by its survival) or random search, with its whole state serialisable for resume.

use serde::{Deserialize, Serialize};
use xnas_moo::{Candidate, Evaluation, Nsga2, RandomSearch, Record, Repair, SearchError, Status, TellProgress};

use crate::script::{Algorithm, ExperimentSpec};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Search {
    Nsga2(Nsga2),
    Random(RandomSearch),
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
        })
    }

    pub fn ask_with(&mut self, repair: &mut dyn Repair) -> Result<Vec<Candidate>, SearchError> {
        match self {
            Search::Nsga2(s) => s.ask_with(repair),
            Search::Random(s) => s.ask_with(repair),
        }
    }

    /// Steady-state: one candidate, while others may still be pending; `None` when the space is
    /// exhausted.
    pub fn ask_one_with(&mut self, repair: &mut dyn Repair) -> Result<Option<Candidate>, SearchError> {
        match self {
            Search::Nsga2(s) => s.ask_one_with(repair),
            Search::Random(s) => s.ask_one_with(repair),
        }
    }

    pub fn tell(&mut self, results: Vec<(u64, Evaluation)>) -> Result<TellProgress, SearchError> {
        match self {
            Search::Nsga2(s) => s.tell(results),
            Search::Random(s) => s.tell(results),
        }
    }

    /// Completed generations.
    pub fn generation(&self) -> u64 {
        match self {
            Search::Nsga2(s) => s.generation(),
            Search::Random(s) => s.generation(),
        }
    }

    pub fn records(&self) -> &[Record] {
        match self {
            Search::Nsga2(s) => s.archive().records(),
            Search::Random(s) => s.archive().records(),
        }
    }

    /// The current population. Random search has no population; its archive's non-dominated set
    /// stands in (rank 0).
    pub fn population(&self) -> Vec<Member> {
        match self {
            Search::Nsga2(s) => s
                .population()
                .iter()
                .map(|m| Member { id: m.id, objectives: m.objectives.clone(), rank: m.rank })
                .collect(),
            Search::Random(s) => s
                .front()
                .into_iter()
                .filter_map(|r| match &r.status {
                    Status::Evaluated(f) => Some(Member { id: r.id, objectives: f.clone(), rank: 0 }),
                    _ => None,
                })
                .collect(),
        }
    }

    /// Re-scores finished candidates after the objectives changed (see `Nsga2::rescore`).
    pub fn rescore(&mut self, score: impl FnMut(&Record) -> Option<Evaluation>) -> Result<(), SearchError> {
        match self {
            Search::Nsga2(s) => s.rescore(score),
            // Random search keeps no population to re-rank; its archive is re-scored in the store.
            Search::Random(_) => Ok(()),
        }
    }

    /// Applies changed search settings between generations (NSGA-II only).
    pub fn reconfigure(&mut self, spec: &ExperimentSpec) -> Result<(), xnas_moo::ConfigError> {
        match self {
            Search::Nsga2(s) => s.set_config(spec.nsga2_config()),
            Search::Random(_) => Ok(()),
        }
    }
}
