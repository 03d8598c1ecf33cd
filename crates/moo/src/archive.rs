//! What every search here shares: candidates handed out by `ask`, evaluations taken by `tell`,
//! the archive of everything ever proposed (so nothing is proposed twice), and the repair hook.

use std::collections::HashSet;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::dominance::Direction;
use crate::operators::{SearchSpace, SpaceError, VariableKind};
use crate::sorting::non_dominated;

/// A genome to evaluate. `parents` are the ids of the candidates it was bred from: two after a
/// crossover, the one it copies when the mating did not cross, none for a random sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub id: u64,
    pub x: Vec<f64>,
    pub parents: Vec<u64>,
    /// The generation that bred it (0 for the initial population); in steady-state mode, the
    /// search's count of generation-equivalents when it was asked.
    pub generation: u64,
}

/// The outcome of evaluating a candidate, in the objectives' own directions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evaluation {
    Objectives(Vec<f64>),
    /// The evaluation failed (a crash, a NaN loss...). The candidate stays in the archive, so it
    /// is never proposed again, but it takes no part in selection or survival.
    Failed(String),
}

impl From<Vec<f64>> for Evaluation {
    fn from(objectives: Vec<f64>) -> Self {
        Evaluation::Objectives(objectives)
    }
}

/// Where a proposed candidate stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Evaluated(Vec<f64>),
    Failed(String),
}

/// One proposed candidate and its outcome so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: u64,
    pub x: Vec<f64>,
    pub parents: Vec<u64>,
    pub generation: u64,
    pub status: Status,
}

/// Why `ask` or `tell` refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SearchError {
    #[error("{count} candidate(s) handed out are not told yet; tell their evaluations (or failures) first")]
    Pending { count: usize },
    #[error("candidate {id} was never handed out by ask")]
    UnknownId { id: u64 },
    #[error("candidate {id} was already told")]
    AlreadyTold { id: u64 },
    #[error("candidate {id} appears twice in one tell")]
    ToldTwice { id: u64 },
    #[error("candidate {id}: {found} objective value(s) told, the problem has {expected}")]
    ObjectiveCount { id: u64, expected: usize, found: usize },
    #[error("the repair hook returned a genome outside the search space: {0}")]
    Repair(SpaceError),
}

/// How a genome becomes acceptable before it is proposed: the genome to evaluate instead, or
/// `None` to reject it (the search then mates again, or samples again). It must be deterministic
/// for a resumed run to continue exactly.
pub trait Repair {
    fn repair(&mut self, x: &[f64]) -> Option<Vec<f64>>;
}

/// Accepts every genome as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRepair;

impl Repair for NoRepair {
    fn repair(&mut self, x: &[f64]) -> Option<Vec<f64>> {
        Some(x.to_vec())
    }
}

impl<F: FnMut(&[f64]) -> Option<Vec<f64>>> Repair for F {
    fn repair(&mut self, x: &[f64]) -> Option<Vec<f64>> {
        self(x)
    }
}

/// The most genomes a space may hold for [`Archive::enumerate_new`] to walk it: NAS-Bench-201's
/// 15,625 and far larger cell spaces fit, and a walk is one repair and one hash look-up per genome.
pub(crate) const ENUMERABLE: u64 = 1 << 20;

/// A genome to propose and the ids of its parents.
pub(crate) type Proposal = (Vec<f64>, Vec<u64>);

/// Exact identity of a genome (-0.0 and 0.0 are the same).
pub(crate) fn genome_key(x: &[f64]) -> Vec<u64> {
    x.iter().map(|v| (v + 0.0).to_bits()).collect()
}

/// Everything ever proposed, indexed by id (ids are positions), with the set of genomes seen.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Archive {
    records: Vec<Record>,
    pending: usize,
    /// Rebuilt from `records` after deserialisation (see [`Archive::index`]).
    #[serde(skip)]
    seen: HashSet<Vec<u64>>,
}

impl Archive {
    /// All records, in id order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The record of one candidate.
    pub(crate) fn records_mut(&mut self) -> &mut [Record] {
        &mut self.records
    }

    pub fn get(&self, id: u64) -> Option<&Record> {
        self.records.get(id as usize)
    }

    /// Number of candidates handed out but not told.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// Whether a genome was ever proposed.
    pub fn contains(&mut self, x: &[f64]) -> bool {
        self.index().contains(&genome_key(x))
    }

    /// The evaluated records no other evaluated record dominates.
    pub fn non_dominated(&self, directions: &[Direction]) -> Vec<&Record> {
        let evaluated: Vec<(&Record, &Vec<f64>)> = self
            .records
            .iter()
            .filter_map(|r| match &r.status {
                Status::Evaluated(f) => Some((r, f)),
                _ => None,
            })
            .collect();
        let points: Vec<&Vec<f64>> = evaluated.iter().map(|(_, f)| *f).collect();
        let front = non_dominated(&points, directions).expect("told objectives are finite and of one length");
        front.into_iter().map(|i| evaluated[i].0).collect()
    }

    fn index(&mut self) -> &mut HashSet<Vec<u64>> {
        if self.seen.len() != self.records.len() {
            self.seen = self.records.iter().map(|r| genome_key(&r.x)).collect();
        }
        &mut self.seen
    }

    /// Records new candidates as pending and hands them out.
    pub(crate) fn register(&mut self, proposals: Vec<Proposal>, generation: u64) -> Vec<Candidate> {
        self.index();
        proposals
            .into_iter()
            .map(|(x, parents)| {
                let id = self.records.len() as u64;
                let fresh = self.seen.insert(genome_key(&x));
                debug_assert!(fresh, "proposals are new genomes");
                self.records.push(Record {
                    id,
                    x: x.clone(),
                    parents: parents.clone(),
                    generation,
                    status: Status::Pending,
                });
                self.pending += 1;
                Candidate { id, x, parents, generation }
            })
            .collect()
    }

    /// Checks a whole tell before any of it is applied, then applies it. Non-finite objective
    /// values (NaN, ±inf) are recorded as failures. Returns the ids told.
    pub(crate) fn tell(&mut self, results: Vec<(u64, Evaluation)>, objectives: usize) -> Result<Vec<u64>, SearchError> {
        let mut ids = HashSet::new();
        for (id, evaluation) in &results {
            let record = self.records.get(*id as usize).ok_or(SearchError::UnknownId { id: *id })?;
            if record.status != Status::Pending {
                return Err(SearchError::AlreadyTold { id: *id });
            }
            if !ids.insert(*id) {
                return Err(SearchError::ToldTwice { id: *id });
            }
            if let Evaluation::Objectives(f) = evaluation {
                if f.len() != objectives {
                    return Err(SearchError::ObjectiveCount { id: *id, expected: objectives, found: f.len() });
                }
            }
        }
        let mut told = Vec::with_capacity(results.len());
        for (id, evaluation) in results {
            let status = match evaluation {
                Evaluation::Objectives(f) if f.iter().all(|v| v.is_finite()) => Status::Evaluated(f),
                Evaluation::Objectives(f) => Status::Failed(format!("non-finite objective values {f:?}")),
                Evaluation::Failed(reason) => Status::Failed(reason),
            };
            self.records[id as usize].status = status;
            self.pending -= 1;
            told.push(id);
        }
        Ok(told)
    }

    /// Up to `count` uniformly random genomes, repaired, never proposed before nor in `taken`.
    /// Gives up after 100 draws per wanted genome (a nearly exhausted space), returning fewer.
    pub(crate) fn sample_new<G: Rng + ?Sized>(
        &mut self,
        space: &SearchSpace,
        count: usize,
        taken: &mut HashSet<Vec<u64>>,
        repair: &mut dyn Repair,
        rng: &mut G,
    ) -> Result<Vec<Vec<f64>>, SearchError> {
        let mut out = Vec::with_capacity(count);
        let mut draws = 0;
        while out.len() < count && draws < 100 * count {
            draws += 1;
            let Some(x) = repair.repair(&space.sample(rng)) else { continue };
            space.check(&x).map_err(SearchError::Repair)?;
            if self.take_if_new(&x, taken) {
                out.push(x);
            }
        }
        Ok(out)
    }

    /// A genome new to the archive and to `taken` (after repair), found by walking the whole space
    /// in mixed-radix order from a random start: the last resort of a steady-state ask once random
    /// draws only hit known genomes, so that it reports exhaustion only when there is nothing left.
    /// `None` also for a space too large to walk (real variables, or more than [`ENUMERABLE`]
    /// genomes): for those, the failed random draws are all the evidence of exhaustion there is.
    pub(crate) fn enumerate_new<G: Rng + ?Sized>(
        &mut self,
        space: &SearchSpace,
        taken: &mut HashSet<Vec<u64>>,
        repair: &mut dyn Repair,
        rng: &mut G,
    ) -> Result<Option<Vec<f64>>, SearchError> {
        let mut sizes = Vec::with_capacity(space.len());
        let mut total: u64 = 1;
        for v in &space.variables {
            let size = match v.kind {
                VariableKind::Integer => (v.upper - v.lower) as u64 + 1,
                VariableKind::Real if v.lower == v.upper => 1,
                VariableKind::Real => return Ok(None),
            };
            total = match total.checked_mul(size) {
                Some(t) if t <= ENUMERABLE => t,
                _ => return Ok(None),
            };
            sizes.push(size);
        }
        let start = rng.random_range(0..total);
        let mut x = vec![0.0; space.len()];
        for step in 0..total {
            let mut index = (start + step) % total;
            for ((value, v), &size) in x.iter_mut().zip(&space.variables).zip(&sizes) {
                *value = v.lower + (index % size) as f64;
                index /= size;
            }
            let Some(y) = repair.repair(&x) else { continue };
            space.check(&y).map_err(SearchError::Repair)?;
            if self.take_if_new(&y, taken) {
                return Ok(Some(y));
            }
        }
        Ok(None)
    }

    /// Whether `x` is new to the archive and to `taken`; if so, it joins `taken`.
    pub(crate) fn take_if_new(&mut self, x: &[f64], taken: &mut HashSet<Vec<u64>>) -> bool {
        let key = genome_key(x);
        !self.index().contains(&key) && taken.insert(key)
    }
}
