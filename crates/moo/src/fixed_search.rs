//! A search whose candidates are given: a fixed list of genomes, handed out once (one
//! generation) with the same ask/tell interface and archive as the other searches. It is how a
//! known set — another run's Pareto front, say — is trained again under other settings while the
//! run machinery (queue, retries, store, resume) stays the same.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::archive::{genome_key, Archive, Candidate, Evaluation, Record, SearchError};
use crate::nsga2::{ConfigError, Problem, TellProgress};

/// Fixed-list search state; serialise it whole to save a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FixedSearch {
    problem: Problem,
    /// The genomes to hand out, each once, in the order given (duplicates dropped).
    genomes: Vec<Vec<f64>>,
    /// How many of `genomes` have been handed out.
    asked: usize,
    generation: u64,
    archive: Archive,
    /// Steady-state candidates handed out and not told yet.
    in_flight: BTreeSet<u64>,
}

impl FixedSearch {
    /// A search over `genomes` (each a point of the problem's space; repeated genomes count once).
    pub fn new(problem: Problem, genomes: Vec<Vec<f64>>) -> Result<Self, ConfigError> {
        problem.space.validate()?;
        if problem.directions.is_empty() {
            return Err(ConfigError::NoObjectives);
        }
        let mut seen = std::collections::HashSet::new();
        let genomes: Vec<Vec<f64>> = genomes.into_iter().filter(|x| seen.insert(genome_key(x))).collect();
        if genomes.is_empty() {
            return Err(ConfigError::NoCandidates);
        }
        Ok(FixedSearch {
            problem,
            genomes,
            asked: 0,
            generation: 0,
            archive: Archive::default(),
            in_flight: BTreeSet::new(),
        })
    }

    /// 1 once every genome has been told, 0 before.
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

    /// Every genome not handed out yet, as one batch (empty once all were). Refused while
    /// candidates are pending. No repair: the list is what the caller asked to train.
    pub fn ask(&mut self) -> Result<Vec<Candidate>, SearchError> {
        if self.archive.pending() > 0 {
            return Err(SearchError::Pending { count: self.archive.pending() });
        }
        let rest: Vec<(Vec<f64>, Vec<u64>)> =
            self.genomes[self.asked..].iter().map(|x| (x.clone(), Vec::new())).collect();
        self.asked = self.genomes.len();
        Ok(self.archive.register(rest, self.generation))
    }

    /// Steady-state: the next genome of the list; `Ok(None)` once all were handed out.
    pub fn ask_one(&mut self) -> Result<Option<Candidate>, SearchError> {
        let Some(x) = self.genomes.get(self.asked).cloned() else { return Ok(None) };
        self.asked += 1;
        let candidate = self.archive.register(vec![(x, Vec::new())], self.generation).pop().expect("one registered");
        self.in_flight.insert(candidate.id);
        Ok(Some(candidate))
    }

    /// Takes evaluations; the one generation is complete when every genome was handed out and told.
    pub fn tell<I: IntoIterator<Item = (u64, Evaluation)>>(&mut self, results: I) -> Result<TellProgress, SearchError> {
        let told = self.archive.tell(results.into_iter().collect(), self.problem.directions.len())?;
        for id in told {
            self.in_flight.remove(&id);
        }
        let pending = self.archive.pending();
        let complete = self.generation == 0 && pending == 0 && self.asked == self.genomes.len();
        if complete {
            self.generation = 1;
        }
        Ok(TellProgress { pending, generation_complete: complete })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Direction, SearchSpace};

    fn problem() -> Problem {
        Problem {
            space: SearchSpace::integers(&[0, 0], &[4, 4]).unwrap(),
            directions: vec![Direction::Maximise, Direction::Maximise],
        }
    }

    #[test]
    fn hands_out_the_list_once_in_one_generation() {
        let genomes = vec![vec![0.0, 1.0], vec![2.0, 3.0], vec![0.0, 1.0]];
        let mut search = FixedSearch::new(problem(), genomes).unwrap();
        let batch = search.ask().unwrap();
        assert_eq!(batch.iter().map(|c| c.x.clone()).collect::<Vec<_>>(), [vec![0.0, 1.0], vec![2.0, 3.0]]);
        assert!(matches!(search.ask(), Err(SearchError::Pending { count: 2 })));
        let progress = search.tell(vec![(0, vec![0.9, 0.1].into())]).unwrap();
        assert!(!progress.generation_complete);
        let progress = search.tell(vec![(1, vec![0.8, 0.3].into())]).unwrap();
        assert!(progress.generation_complete && search.generation() == 1);
        assert!(search.ask().unwrap().is_empty());
        assert_eq!(search.front().len(), 2);
        // Saved and restored, it is spent the same way.
        let restored: FixedSearch = serde_json::from_str(&serde_json::to_string(&search).unwrap()).unwrap();
        assert_eq!(restored.generation(), 1);
    }

    #[test]
    fn steady_state_hands_out_one_at_a_time() {
        let mut search = FixedSearch::new(problem(), vec![vec![1.0, 1.0], vec![2.0, 2.0]]).unwrap();
        let a = search.ask_one().unwrap().unwrap();
        let b = search.ask_one().unwrap().unwrap();
        assert!(search.ask_one().unwrap().is_none());
        assert!(!search.tell(vec![(a.id, Evaluation::Failed("x".into()))]).unwrap().generation_complete);
        assert!(search.tell(vec![(b.id, vec![0.5, 0.5].into())]).unwrap().generation_complete);
        assert!(FixedSearch::new(problem(), Vec::new()).is_err());
    }
}
