//! Random search with the same ask/tell interface and archive as NSGA-II: each ask hands out a
//! batch of uniformly random genomes never proposed before (repaired like offspring). The
//! baseline every search should beat. In steady-state mode ([`RandomSearch::ask_one_with`]) it
//! hands out one such genome whenever a worker frees, as NSGA-II's steady-state mode does.

use std::collections::{BTreeSet, HashSet};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::archive::{Archive, Candidate, Evaluation, NoRepair, Record, Repair, SearchError};
use crate::nsga2::{ConfigError, Problem, TellProgress};

/// Random search state; serialise it whole to save a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RandomSearch {
    problem: Problem,
    batch_size: usize,
    rng: ChaCha8Rng,
    generation: u64,
    archive: Archive,
    /// Steady-state candidates handed out and not told yet (absent in states saved before the
    /// steady-state mode existed, hence the defaults).
    #[serde(default)]
    in_flight: BTreeSet<u64>,
    /// Steady-state candidates told since `generation` last went up.
    #[serde(default)]
    steady_told: u64,
}

impl RandomSearch {
    /// A new search handing out `batch_size` genomes per ask.
    pub fn new(problem: Problem, batch_size: usize, seed: u64) -> Result<Self, ConfigError> {
        problem.space.validate()?;
        if problem.directions.is_empty() {
            return Err(ConfigError::NoObjectives);
        }
        if batch_size == 0 {
            return Err(ConfigError::Sizes { population: batch_size, offspring: batch_size });
        }
        Ok(RandomSearch {
            problem,
            batch_size,
            rng: ChaCha8Rng::seed_from_u64(seed),
            generation: 0,
            archive: Archive::default(),
            in_flight: BTreeSet::new(),
            steady_told: 0,
        })
    }

    /// Completed batches. In steady-state mode, completed batch-equivalents: steady-state
    /// candidates told (failures count) / batch size, rounded down; a run that switches modes
    /// counts on from where the other left it. A candidate's `generation` is this value at the
    /// moment it was asked.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn archive(&self) -> &Archive {
        &self.archive
    }

    /// The evaluated candidates no other evaluated candidate dominates.
    pub fn front(&self) -> Vec<&Record> {
        self.archive.non_dominated(&self.problem.directions)
    }

    pub fn ask(&mut self) -> Result<Vec<Candidate>, SearchError> {
        self.ask_with(&mut NoRepair)
    }

    /// The next batch of new random genomes (fewer only when the space is nearly exhausted).
    /// Refused while candidates are pending, including steady-state ones.
    pub fn ask_with(&mut self, repair: &mut dyn Repair) -> Result<Vec<Candidate>, SearchError> {
        if self.archive.pending() > 0 {
            return Err(SearchError::Pending { count: self.archive.pending() });
        }
        let mut taken = HashSet::new();
        let samples =
            self.archive.sample_new(&self.problem.space, self.batch_size, &mut taken, repair, &mut self.rng)?;
        Ok(self.archive.register(samples.into_iter().map(|x| (x, Vec::new())).collect(), self.generation))
    }

    /// Steady-state: one new random genome, allowed while others are still pending. `Ok(None)`
    /// only when the space is exhausted, as for [`crate::Nsga2::ask_one_with`]. Refused while a
    /// batch of [`RandomSearch::ask_with`] is pending.
    pub fn ask_one_with(&mut self, repair: &mut dyn Repair) -> Result<Option<Candidate>, SearchError> {
        let pending = self.archive.pending();
        if pending > self.in_flight.len() {
            return Err(SearchError::Pending { count: pending });
        }
        let mut taken = HashSet::new();
        let space = &self.problem.space;
        let mut sample = self.archive.sample_new(space, 1, &mut taken, repair, &mut self.rng)?.pop();
        if sample.is_none() {
            sample = self.archive.enumerate_new(space, &mut taken, repair, &mut self.rng)?;
        }
        let Some(x) = sample else { return Ok(None) };
        let candidate = self.archive.register(vec![(x, Vec::new())], self.generation).pop().expect("one registered");
        self.in_flight.insert(candidate.id);
        Ok(Some(candidate))
    }

    /// Takes evaluations; a batch is complete when nothing is pending, a steady-state
    /// batch-equivalent when `batch_size` steady-state candidates have been told since the last.
    pub fn tell<I: IntoIterator<Item = (u64, Evaluation)>>(&mut self, results: I) -> Result<TellProgress, SearchError> {
        let told = self.archive.tell(results.into_iter().collect(), self.problem.directions.len())?;
        let pending = self.archive.pending();
        let generation = self.generation;
        let mut batch_told = false;
        for id in told {
            if self.in_flight.remove(&id) {
                self.steady_told += 1;
                if self.steady_told >= self.batch_size as u64 {
                    self.generation += 1;
                    self.steady_told = 0;
                }
            } else {
                batch_told = true;
            }
        }
        if batch_told && pending == 0 {
            self.generation += 1;
            self.steady_told = 0;
        }
        Ok(TellProgress { pending, generation_complete: self.generation > generation })
    }
}
