//! `xnas check`: a dry run of an experiment's closures — objectives on a synthetic measurement
//! record, the repair on toy genomes, the callback on synthetic generation statistics, the
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

use xnas_space::{Genome, MacroConfig};

use super::error::ScriptError;
use super::experiment::{
    CallbackOutcome, Experiment, FrontPoint, GenerationStats, MemberStats, PartialCandidate, PartialEvaluation,
};
use crate::introspect;
use crate::introspect::calibration::{
    accuracy_after_removal, binned_calibration, detection_after_flagging, removal_percents, CALIBRATION_BINS,
};
use crate::record::{
    Calibration, ClassMeanSummary, ConfusionCorrelation, Correlation, EvalConfig, MeasurementRecord, RemovalCurves,
    SplitRecord, Status,
};

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

/// A plausible, deterministic measurement record for `genome` under `config`: one class per
/// dataset label, accuracy around 0.87, a diagonal-heavy confusion matrix, a symmetric distance
/// matrix D with values in 0.15..0.65, introspectability (eq. 1) from D, the real parameter
/// and FLOP counts, and trust measurements (calibration, removal curves, class-mean summary,
/// appendix K) computed by the real formulas from synthetic per-sample scores. Nothing is trained.
pub fn synthetic_record(config: &EvalConfig, genome: &Genome) -> MeasurementRecord {
    let n = config.dataset.num_classes();
    let class_names: Vec<String> = match xnas_datasets::class_names(config.dataset) {
        Some(names) => names.iter().map(|s| s.to_string()).collect(),
        None => (0..n).map(|c| format!("class{c}")).collect(),
    };
    let per_class: Vec<f64> = (0..n).map(|c| 0.80 + 0.015 * (c % 10) as f64).collect();
    let per_class_val = 50u64;
    let confusion: Vec<Vec<u64>> = (0..n)
        .map(|c| {
            let right = (per_class[c] * per_class_val as f64).round() as u64;
            (0..n)
                .map(|k| match k {
                    _ if k == c => right,
                    _ if k == (c + 1) % n => per_class_val - right,
                    _ => 0,
                })
                .collect()
        })
        .collect();
    let correct: u64 = (0..n).map(|c| confusion[c][c]).sum();
    let val_images = n * per_class_val as usize;
    let distance: introspect::DistanceMatrix = (0..n)
        .map(|c| {
            (0..n)
                .map(|k| {
                    let (a, b) = (c.min(k), c.max(k));
                    Some(if a == b { 0.0 } else { 0.15 + 0.05 * ((a * 7 + b * 3 + a * b) % 11) as f64 })
                })
                .collect()
        })
        .collect();
    let macro_config = MacroConfig {
        channels: config.channels,
        cells_per_stage: config.cells_per_stage,
        num_classes: n,
        input: config.dataset.image_shape(),
    };
    let mut record = MeasurementRecord {
        arch: genome.arch_string(),
        genome: genome.compact(),
        config: config.clone(),
        status: Status::Done,
        error: None,
        class_names,
        train_images: config.train_subset.unwrap_or(50_000),
        val_images,
        val_accuracy: Some(correct as f64 / val_images as f64),
        val_loss: Some(0.38),
        train_loss_per_epoch: (0..config.epochs).map(|e| 1.2 / (e + 1) as f64).collect(),
        epochs: Vec::new(),
        per_class_accuracy: per_class
            .iter()
            .map(|&a| Some((a * per_class_val as f64).round() / per_class_val as f64))
            .collect(),
        confusion,
        introspectability: introspect::introspectability(&distance),
        class_distance: distance,
        introspect_images: val_images,
        tapped_features: 4096,
        tapped_layers: 12,
        params: xnas_space::params(genome, &macro_config),
        flops: xnas_space::flops(genome, &macro_config),
        train_seconds: 1.0,
        eval_seconds: 0.1,
        train_images_per_second: 1000.0,
        device: "cpu".into(),
        xnas_version: env!("CARGO_PKG_VERSION").into(),
        splits: None,
        train_accuracy: None,
        test_accuracy: None,
        test_loss: None,
        class_means: None,
        calibration: None,
        mispredictions: None,
        mislabels: None,
        confusion_correlation: None,
        trust_seconds: 0.08,
        compute: Some(crate::record::ComputeSettings::PLAIN),
    };
    add_synthetic_trust(&mut record, config, &macro_config);
    record
}

/// The trust fields of [`synthetic_record`]: 500 test samples whose correctness follows their
/// confidence (so both calibrations are good, activation a little less), and with label noise
/// 200 training samples of which the corrupted ones score low.
fn add_synthetic_trust(record: &mut MeasurementRecord, config: &EvalConfig, macro_config: &MacroConfig) {
    let n = record.class_names.len();
    let samples = 500;
    // A fixed, well-spread sequence in [0, 1) (golden-ratio steps) stands in for random draws.
    let spread = |i: usize| (i as f64 * 0.618_033_988_749_895).fract();
    let softmax: Vec<f64> = (0..samples).map(|i| 0.3 + 0.7 * spread(i)).collect();
    let activation: Vec<f64> = (0..samples).map(|i| 0.2 + 0.6 * spread(i) + 0.1 * spread(7 * i)).collect();
    let correct: Vec<bool> = (0..samples).map(|i| spread(3 * i + 1) < softmax[i]).collect();
    let percents = removal_percents();
    let defined = |points: Vec<Option<f64>>| points.into_iter().map(|p| p.unwrap_or(0.0)).collect::<Vec<f64>>();
    let train = config.train_subset.unwrap_or(50_000);
    let noisy = 200;
    let corrupted_labels: Vec<u32> = (0..noisy as u32)
        .filter(|i| config.label_noise > 0.0 && spread(*i as usize * 5) < config.label_noise)
        .collect();
    let mislabels = (!corrupted_labels.is_empty()).then(|| {
        let truth: Vec<bool> = (0..noisy as u32).map(|i| corrupted_labels.contains(&i)).collect();
        let score = |shift: f64| -> Vec<f64> {
            truth.iter().enumerate().map(|(i, &t)| spread(11 * i) - if t { shift } else { 0.0 }).collect()
        };
        RemovalCurves {
            activation: defined(detection_after_flagging(&score(0.5), &truth, &percents)),
            softmax: defined(detection_after_flagging(&score(0.3), &truth, &percents)),
            percent: percents.clone(),
        }
    });
    let blocks = introspect::summary::network_blocks(
        &"002404".parse().expect("a fixed genome"),
        macro_config.cells_per_stage,
        config.taps,
    );
    let without = introspect::confusion_diagnostic(&record.class_distance, &record.confusion);
    let (pearson, spearman) =
        introspect::confusion_correlation_with_diagonal(&record.class_distance, &record.confusion);
    let test = config.test_subset.unwrap_or(10_000);
    *record = MeasurementRecord {
        splits: Some(SplitRecord {
            train,
            validation: record.val_images,
            test,
            validation_from: match config.validation {
                xnas_datasets::ValidationSplit::HeldOut => "held-out".into(),
                _ => "train".into(),
            },
            seed: config.seed,
            label_noise: config.label_noise,
            corrupted_labels,
        }),
        train_accuracy: Some(0.93),
        test_accuracy: Some(correct.iter().filter(|&&c| c).count() as f64 / samples as f64),
        test_loss: Some(0.4),
        class_means: Some(ClassMeanSummary {
            images: config.trust_mean_image_count(train),
            block_means: (0..n).map(|c| (0..blocks.len()).map(|b| spread(c * 13 + b) * 2.0 - 1.0).collect()).collect(),
            blocks: blocks.into_iter().map(|b| b.name).collect(),
            pca: (0..n).map(|c| [spread(c * 3) - 0.5, spread(c * 3 + 1) - 0.5]).collect(),
            pca_explained: [0.45, 0.2],
        }),
        calibration: Some(Calibration {
            activation: binned_calibration(&activation, &correct, CALIBRATION_BINS).into(),
            softmax: binned_calibration(&softmax, &correct, CALIBRATION_BINS).into(),
        }),
        mispredictions: Some(RemovalCurves {
            activation: defined(accuracy_after_removal(&activation, &correct, &percents)),
            softmax: defined(accuracy_after_removal(&softmax, &correct, &percents)),
            percent: percents,
        }),
        mislabels,
        confusion_correlation: Some(ConfusionCorrelation {
            with_diagonal: Correlation { pearson, spearman },
            without_diagonal: Correlation { pearson: without.pearson, spearman: without.spearman },
        }),
        ..record.clone()
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_record_is_consistent() {
        let config = EvalConfig { channels: 8, cells_per_stage: 1, ..EvalConfig::default() };
        let genome: Genome = "002404".parse().unwrap();
        let r = synthetic_record(&config, &genome);
        assert_eq!(r.class_names.len(), 10);
        let correct: u64 = (0..10).map(|c| r.confusion[c][c]).sum();
        assert_eq!(r.val_accuracy, Some(correct as f64 / 500.0));
        assert!(r.confusion.iter().all(|row| row.iter().sum::<u64>() == 50));
        for c in 0..10 {
            for k in 0..10 {
                assert_eq!(r.class_distance[c][k], r.class_distance[k][c]);
            }
        }
        assert_eq!(r.introspectability, introspect::introspectability(&r.class_distance));
        let mc = MacroConfig { channels: 8, cells_per_stage: 1, num_classes: 10, input: (1, 28, 28) };
        assert_eq!(r.params, xnas_space::params(&genome, &mc));
    }
}
