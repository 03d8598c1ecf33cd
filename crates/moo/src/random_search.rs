//! Random search with the same ask/tell interface and archive as NSGA-II: each ask hands out a
//! batch of uniformly random genomes never proposed before (repaired like offspring). The
//! baseline every search should beat.

use std::collections::HashSet;

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
        })
    }

    /// Completed batches.
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
    pub fn ask_with(&mut self, repair: &mut dyn Repair) -> Result<Vec<Candidate>, SearchError> {
        if self.archive.pending() > 0 {
            return Err(SearchError::Pending { count: self.archive.pending() });
        }
        let mut taken = HashSet::new();
        let samples =
            self.archive.sample_new(&self.problem.space, self.batch_size, &mut taken, repair, &mut self.rng)?;
        Ok(self.archive.register(samples.into_iter().map(|x| (x, Vec::new())).collect(), self.generation))
    }

    /// Takes evaluations; the batch is complete when nothing is pending.
    pub fn tell<I: IntoIterator<Item = (u64, Evaluation)>>(&mut self, results: I) -> Result<TellProgress, SearchError> {
        let told = self.archive.tell(results.into_iter().collect(), self.problem.directions.len())?;
        let pending = self.archive.pending();
        let generation_complete = pending == 0 && !told.is_empty();
        if generation_complete {
            self.generation += 1;
        }
        Ok(TellProgress { pending, generation_complete })
    }
}
