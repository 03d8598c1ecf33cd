//! `xnas check`: a dry run of an experiment's closures — objectives on a synthetic measurement
//! record ([`synthetic_record`]), the repair on toy genomes, the callback on synthetic generation statistics, the
//! early-stopping rule on a synthetic epoch — so a
//! script's mistakes show up in a second, not an hour into a search. When a run already has
//! finished evaluations ([`check_with_records`], used at run start, on resume and by hot reload),
//! the objectives also score those real records: an objective that is NaN or fails on a real
//! network (but not on the synthetic one, whose accuracy is 0.87) is caught before it can wipe a
//! population. The records come in as plain values; this module knows nothing of the store.
//! An objective that needs WordNet where this machine has none is an error too: the head scores
//! every record, so a run would train every candidate and score none. A dataset file it cannot
//! read (ImageNet16's wnid list) is only a warning here: the data check before a run refuses it.

use std::fmt;

use xnas_space::Genome;

use super::error::ScriptError;
use super::experiment::{
    CallbackOutcome, Experiment, FrontPoint, GenerationStats, MemberStats, PartialCandidate, PartialEvaluation,
};
use crate::introspect;
use crate::record::{synthetic_record, MeasurementRecord, Status};

/// What a dry run found.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// [`Experiment::summary`].
    pub summary: String,
    /// Each objective's value on the synthetic record (objectives that could not run for lack of
    /// data on this machine are missing, with a warning).
    pub scores: Vec<(String, f64)>,
    /// Real (finished) records every objective scored without an error.
    pub real_records: usize,
    /// Toy genomes and what the repair made of them (`None`: rejected).
    pub repairs: Vec<(Genome, Option<Genome>)>,
    /// What the callback returned, if the experiment has one.
    pub callback: Option<CallbackOutcome>,
    /// What the early-stopping rule decided on a synthetic epoch, if the experiment has one.
    pub stop_early: Option<bool>,
    /// Hypervolume of the synthetic population.
    pub hypervolume: f64,
    /// Things that could not be checked here but are not errors in the script (a dataset file
    /// that is not on this machine).
    pub warnings: Vec<String>,
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.summary)?;
        writeln!(f, "dry run on a synthetic record:")?;
        for (name, value) in &self.scores {
            writeln!(f, "  objective {name} = {value:.6}")?;
        }
        for (genome, repaired) in &self.repairs {
            let outcome = match repaired {
                Some(g) if g == genome => "kept".to_string(),
                Some(g) => format!("→ {}", g.compact()),
                None => "rejected".to_string(),
            };
            writeln!(f, "  repair {} {outcome}", genome.compact())?;
        }
        if let Some(outcome) = self.callback {
            writeln!(
                f,
                "  on_generation returned {}",
                if outcome == CallbackOutcome::Stop { "\"stop\"" } else { "(continue)" }
            )?;
        }
        if let Some(stop) = self.stop_early {
            writeln!(f, "  stop_early on a synthetic first epoch returned {stop}")?;
        }
        writeln!(f, "  hypervolume of the synthetic population: {:.6}", self.hypervolume)?;
        if self.real_records > 0 {
            writeln!(f, "  objectives scored on {} real record(s) of the archive", self.real_records)?;
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        write!(f, "ok")
    }
}

/// Toy genomes inside the experiment's space: a few fixed cells (valid and invalid) where the
/// space allows them, and the first valid and first invalid cell of the space.
fn toy_genomes(experiment: &Experiment) -> Vec<Genome> {
    let space = &experiment.spec().space;
    let allowed = |g: &Genome| space.encode(g).is_ok();
    let mut toys: Vec<Genome> = ["002404", "000000", "333333", "313131", "123412"]
        .iter()
        .map(|s| s.parse().expect("fixed genomes parse"))
        .filter(allowed)
        .collect();
    for want_valid in [true, false] {
        if !toys.iter().any(|g| g.is_valid() == want_valid) {
            if let Some(g) = Genome::all().find(|g| g.is_valid() == want_valid && allowed(g)) {
                toys.push(g);
            }
        }
    }
    toys
}

/// Dry-runs `experiment`: every objective on a synthetic record, the repair on toy genomes, the
/// callback on synthetic statistics. An error is the first problem, with file:line:column.
pub fn check(experiment: &Experiment) -> Result<CheckReport, ScriptError> {
    check_with_records(experiment, &[])
}

/// [`check`], and every objective on each finished record of `archive` (failed trainings are
/// skipped: they are never scored). An error names the record's genome.
pub fn check_with_records(experiment: &Experiment, archive: &[MeasurementRecord]) -> Result<CheckReport, ScriptError> {
    struct DryRun;
    impl Drop for DryRun {
        fn drop(&mut self) {
            super::engine::DRY_RUN.store(false, std::sync::atomic::Ordering::Relaxed);
        }
    }
    super::engine::DRY_RUN.store(true, std::sync::atomic::Ordering::Relaxed);
    let _dry_run = DryRun;
    let toys = toy_genomes(experiment);
    let valid = toys.iter().find(|g| g.is_valid()).copied().expect("validate() ensures a valid genome exists");
    let mut warnings = Vec::new();

    let mut scores = Vec::new();
    let mut vectors: Vec<Vec<f64>> = Vec::new();
    for (index, genome) in toys.iter().filter(|g| g.is_valid()).enumerate() {
        let mut record = synthetic_record(experiment.eval_config(), genome);
        // Vary the record a little per genome so the synthetic front has more than one point.
        record.val_accuracy = record.val_accuracy.map(|a| a - 0.02 * index as f64);
        for row in record.class_distance.iter_mut() {
            for d in row.iter_mut().flatten() {
                *d *= 1.0 + 0.1 * index as f64;
            }
        }
        record.introspectability = introspect::introspectability(&record.class_distance);
        match experiment.score(&record) {
            Ok(vector) => {
                if index == 0 {
                    scores = experiment
                        .objective_names()
                        .iter()
                        .map(|s| s.to_string())
                        .zip(vector.iter().copied())
                        .collect();
                }
                vectors.push(vector);
            }
            Err(ScriptError::DataUnavailable { location, message, dataset_file: true }) => {
                warnings.push(format!("{location}: an objective could not be dry-run here: {message}"));
                break;
            }
            Err(e) => return Err(needs_data(e)),
        }
    }

    let mut real_records = 0;
    // A stopped training is scored like a finished one (with the values of the epoch it stopped at).
    for record in archive.iter().filter(|r| matches!(r.status, Status::Done | Status::Stopped)) {
        match experiment.score(record) {
            Ok(_) => real_records += 1,
            Err(ScriptError::DataUnavailable { location, message, dataset_file: true }) => {
                warnings.push(format!("{location}: an objective could not score the archive here: {message}"));
                break;
            }
            Err(e @ ScriptError::DataUnavailable { .. }) => return Err(needs_data(e)),
            Err(e) => {
                return Err(e.with_context(format!(
                    "on the archive's record of {} (a trained network, genome {})",
                    record.arch, record.genome
                )))
            }
        }
    }

    let mut repairs = Vec::new();
    for genome in &toys {
        repairs.push((*genome, experiment.repair(*genome)?));
    }

    let m = experiment.spec().objectives.len();
    if vectors.is_empty() {
        // No objective could run here: exercise the callback with made-up values instead.
        vectors = (0..3).map(|i| (0..m).map(|j| 0.5 + 0.1 * ((i + j) % 3) as f64).collect()).collect();
    }
    let hypervolume = experiment.hypervolume(&vectors).map_err(|e| ScriptError::Experiment {
        file: experiment.main_file().to_string(),
        message: format!("hypervolume of the synthetic population: {e}"),
    })?;
    let ranks =
        xnas_moo::pareto_ranks_directed(&vectors, &experiment.directions()).unwrap_or_else(|_| vec![0; vectors.len()]);
    let members: Vec<MemberStats> = vectors
        .iter()
        .zip(&ranks)
        .enumerate()
        .map(|(i, (objectives, &rank))| {
            let genome = toys.iter().filter(|g| g.is_valid()).nth(i).copied().unwrap_or(valid);
            MemberStats {
                id: i as u64,
                genome: genome.arch_string(),
                compact: genome.compact(),
                objectives: objectives.clone(),
                rank,
            }
        })
        .collect();
    let stats = GenerationStats {
        generation: 1,
        evaluations: members.len(),
        failed: 0,
        hypervolume: Some(hypervolume),
        objectives: experiment.objective_names().iter().map(|s| s.to_string()).collect(),
        front: members.iter().filter(|m| m.rank == 0).cloned().collect(),
        population: members,
        elapsed_seconds: 1.0,
    };
    let callback = match experiment.spec().on_generation {
        Some(_) => Some(experiment.on_generation(&stats)?),
        None => None,
    };
    let stop_early = match experiment.spec().stop_early {
        Some(_) => Some(experiment.stop_early(&synthetic_partial(experiment, &valid))?),
        None => None,
    };
    Ok(CheckReport {
        summary: experiment.summary(),
        scores,
        real_records,
        repairs,
        callback,
        stop_early,
        hypervolume,
        warnings,
    })
}

/// A scoring function's missing data said as what it means for a run, with the fix.
fn needs_data(error: ScriptError) -> ScriptError {
    match error {
        ScriptError::DataUnavailable { location, message, dataset_file } => ScriptError::DataUnavailable {
            location,
            message: format!(
                "an objective needs data this machine does not have: {message}. The head scores every \
                 record, so a run would train every candidate and then fail to score it: install WordNet 3.0, \
                 or set dataset.wordnet_dir (WordNet's dict folder) or dataset.wnids_file (ImageNet16's class \
                 list) in the script or with --set"
            ),
            dataset_file,
        },
        other => other,
    }
}

/// A first epoch of `genome` for the early-stopping rule: a candidate at 50 % accuracy and
/// introspectability 0.3, with a front of one more accurate and one more introspectable point.
fn synthetic_partial(experiment: &Experiment, genome: &Genome) -> PartialEvaluation {
    let images = experiment.eval_config().epoch_validation.unwrap_or(super::spec::DEFAULT_EPOCH_VALIDATION);
    let point = |genome: &str, val_accuracy: f64, introspectability: f64| FrontPoint {
        genome: genome.to_string(),
        val_accuracy,
        introspectability: Some(introspectability),
    };
    PartialEvaluation {
        epoch: 1,
        epochs: experiment.eval_config().epochs,
        candidate: PartialCandidate {
            genome: genome.compact(),
            arch: genome.arch_string(),
            val_accuracy: 0.5,
            introspectability: Some(0.3),
            images,
        },
        front: vec![point("002404", 0.7, 0.2), point("444444", 0.4, 0.6)],
    }
}
