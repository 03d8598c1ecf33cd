//! Early stopping in the run loop: what the script's rule (`exp.stop_early`) is shown after an
//! epoch of a candidate's training, and what the run must remember to show it. The front it
//! sees is the search's current non-dominated set of finished candidates, in the search's own
//! objectives and directions (what the run loop holds; re-scored with the archive on a reload),
//! each with its record's measurement of the same epoch. The per-epoch measurements of finished
//! candidates are kept here as their records are scored, and read once from the store for the
//! candidates a resumed run finished before. See `docs/architecture.md` for the whole loop.

use std::collections::HashMap;

use xnas_moo::{Direction, Status};
use xnas_space::Genome;

use super::search::Search;
use crate::record::{EpochPoint, MeasurementRecord};
use crate::script::{FrontPoint, PartialCandidate, PartialEvaluation};
use crate::store::{EvalStatus, Store, StoreError};

/// A job whose epochs the rule decides on.
struct InTraining {
    genome: Genome,
    epochs: usize,
}

/// A finished candidate's per-epoch measurements.
struct Measured {
    genome: String,
    epochs: Vec<EpochPoint>,
}

/// The run loop's early-stopping state.
#[derive(Default)]
pub(super) struct EarlyStopping {
    /// By job (evaluation) id.
    in_training: HashMap<u64, InTraining>,
    /// By search candidate id.
    measured: HashMap<u64, Measured>,
    /// The store's finished records were read (see [`EarlyStopping::load`]).
    loaded: bool,
    /// The rule failed under the current script version and the run said so.
    error_reported: bool,
}

impl EarlyStopping {
    /// A job that waits after each epoch was submitted.
    pub(super) fn started(&mut self, job: u64, genome: Genome, epochs: usize) {
        self.in_training.insert(job, InTraining { genome, epochs });
    }

    /// A job left the executor (with a record or not).
    pub(super) fn ended(&mut self, job: u64) {
        self.in_training.remove(&job);
    }

    /// A candidate's record was scored: its epochs can stand on the front from now on.
    pub(super) fn finished(&mut self, candidate: u64, record: &MeasurementRecord) {
        if !record.epochs.is_empty() {
            let measured = Measured { genome: record.genome.clone(), epochs: record.epochs.clone() };
            self.measured.insert(candidate, measured);
        }
    }

    /// Reads the per-epoch measurements of the run's finished records, once: those scored before
    /// this process started (a resumed run).
    pub(super) fn load(&mut self, store: &Store) -> Result<(), StoreError> {
        if self.loaded {
            return Ok(());
        }
        for e in store.evaluations(Some(EvalStatus::Done))? {
            if let Some(record) = e.record.filter(|r| !r.epochs.is_empty()) {
                self.measured.entry(e.candidate).or_insert(Measured { genome: e.genome.compact(), epochs: record.epochs });
            }
        }
        self.loaded = true;
        Ok(())
    }

    /// A new script version runs: its rule's first error is worth reporting again.
    pub(super) fn script_changed(&mut self) {
        self.error_reported = false;
    }

    /// Whether this failure of the rule is the first under the current script version.
    pub(super) fn first_error(&mut self) -> bool {
        !std::mem::replace(&mut self.error_reported, true)
    }

    /// What the rule decides on after `point` of `job`; `None` for a job this run did not start
    /// with a rule.
    pub(super) fn partial(
        &self,
        job: u64,
        point: &EpochPoint,
        search: &Search,
        directions: &[Direction],
    ) -> Option<PartialEvaluation> {
        let training = self.in_training.get(&job)?;
        let front = front_candidates(search, directions)
            .into_iter()
            .filter_map(|candidate| {
                let measured = self.measured.get(&candidate)?;
                let same = measured.epochs.iter().find(|p| p.epoch == point.epoch)?;
                Some(FrontPoint {
                    genome: measured.genome.clone(),
                    val_accuracy: same.val_accuracy,
                    introspectability: same.introspectability,
                })
            })
            .collect();
        Some(PartialEvaluation {
            epoch: point.epoch,
            epochs: training.epochs,
            candidate: PartialCandidate {
                genome: training.genome.compact(),
                arch: training.genome.arch_string(),
                val_accuracy: point.val_accuracy,
                introspectability: point.introspectability,
                images: point.images,
            },
            front,
        })
    }
}

/// The search's finished candidates that no other finished candidate dominates, in its
/// objectives and directions, in candidate order.
fn front_candidates(search: &Search, directions: &[Direction]) -> Vec<u64> {
    let scored: Vec<(u64, &Vec<f64>)> = search
        .records()
        .iter()
        .filter_map(|r| match &r.status {
            Status::Evaluated(values) if values.len() == directions.len() => Some((r.id, values)),
            _ => None,
        })
        .collect();
    let points: Vec<&Vec<f64>> = scored.iter().map(|(_, v)| *v).collect();
    let ranks = xnas_moo::pareto_ranks_directed(&points, directions).unwrap_or_default();
    scored.iter().zip(ranks).filter(|(_, rank)| *rank == 0).map(|((id, _), _)| *id).collect()
}
