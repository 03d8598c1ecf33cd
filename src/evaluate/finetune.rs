//! Fine-tuning a trained model (appendix K's "model repair", the `xnas repair` command): train it
//! further with the pairwise-weighted introspectability regularizer to push a confounded class
//! pair apart, and report D, the folded confusion matrix and accuracy before and after.
//! Inside the code "repair" means only the script's genome repair; this operation is `finetune`.
//!
//! The paper's case study: 5 more epochs at lr 0.001 with ω(3,5) = 25 and every other ω = 1.
//! Fine-tuning here uses the recipe's cosine decay from that lr, without warmup.

use std::path::Path;

use serde::{Deserialize, Serialize};
use xnas_datasets::Dataset;
use xnas_space::Genome;

use super::{load_model, measure, read_saved_record, EvalError, EvalProgress, Measurement, Prepared};
use crate::introspect::{confusion_diagnostic, ConfusionDiagnostic, DistanceMatrix, PairWeights};
use crate::record::EvalConfig;
use crate::train::train;

/// How to fine-tune.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FinetuneConfig {
    pub epochs: usize,
    pub lr: f64,
    /// Weight of the regularizer in the loss.
    pub regularizer: f64,
    pub omega: PairWeights,
    /// `None` keeps the device the model was trained on.
    pub device: Option<String>,
    /// Seed of the fine-tuning's shuffling and augmentation; `None` reuses the training seed.
    /// Appendix K's study repeats a repair over seeds to tell its effect from noise.
    #[serde(default)]
    pub seed: Option<u64>,
}

/// The facts compared before and after.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FinetuneSnapshot {
    pub accuracy: f64,
    pub introspectability: Option<f64>,
    pub class_distance: DistanceMatrix,
    /// `confusion[a][b] + confusion[b][a]` off the diagonal, true positives on it.
    pub folded_confusion: Vec<Vec<u64>>,
    pub diagnostic: ConfusionDiagnostic,
}

/// One pair whose ω differs from 1.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetedPair {
    pub a: usize,
    pub b: usize,
    pub omega: f64,
    pub distance_before: Option<f64>,
    pub distance_after: Option<f64>,
    pub confused_before: u64,
    pub confused_after: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FinetuneReport {
    pub arch: String,
    pub config: FinetuneConfig,
    pub before: FinetuneSnapshot,
    pub after: FinetuneSnapshot,
    pub targeted: Vec<TargetedPair>,
    pub accuracy_change: f64,
    /// Set when fine-tuning diverged; `after` then repeats `before`.
    pub error: Option<String>,
}

fn snapshot(m: &Measurement) -> FinetuneSnapshot {
    let n = m.confusion.len();
    let folded = (0..n)
        .map(|a| {
            (0..n).map(|b| if a == b { m.confusion[a][a] } else { m.confusion[a][b] + m.confusion[b][a] }).collect()
        })
        .collect();
    FinetuneSnapshot {
        accuracy: m.accuracy,
        introspectability: m.introspectability,
        class_distance: m.distances.clone(),
        folded_confusion: folded,
        diagnostic: confusion_diagnostic(&m.distances, &m.confusion),
    }
}

/// Fine-tunes the model saved in `dir` (by `xnas eval --save`) on `dataset` and reports the change.
pub fn finetune(
    dir: &Path,
    settings: &FinetuneConfig,
    dataset: &Dataset,
    progress: &mut dyn FnMut(EvalProgress),
) -> Result<FinetuneReport, EvalError> {
    let saved = read_saved_record(dir)?;
    let genome: Genome = saved.arch.parse().map_err(|e: xnas_space::ParseError| EvalError::Model {
        what: "the saved record has a bad architecture:",
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let config = EvalConfig {
        epochs: settings.epochs,
        lr: settings.lr,
        warmup_epochs: 0.0,
        regularizer: settings.regularizer,
        omega: Some(settings.omega.clone()),
        device: settings.device.clone().unwrap_or_else(|| saved.config.device.clone()),
        seed: settings.seed.unwrap_or(saved.config.seed),
        ..saved.config.clone()
    };
    let prepared = Prepared::new(&config, dataset)?;
    let k = prepared.macro_config.num_classes;
    let omega = settings.omega.dense(k)?;
    let regularizer = prepared.regularizer(&config)?;
    let model = load_model(dir, &genome, &prepared)?;
    let mut on_validation = |p| progress(EvalProgress::Validating(p));
    let before = measure(&model.net, &genome, &prepared.validation, &prepared.norm, k, &config, &mut on_validation);
    tch::manual_seed(settings.seed.unwrap_or(config.seed) as i64);
    let outcome = train(
        &model.net,
        &model.vs,
        &prepared.train,
        &prepared.norm,
        prepared.augmenter.as_ref(),
        regularizer.as_ref(),
        &config,
        &mut |p| progress(EvalProgress::Training(p)),
    );
    let (after, error) = match outcome {
        Ok(_) => (
            measure(&model.net, &genome, &prepared.validation, &prepared.norm, k, &config, &mut |p| {
                progress(EvalProgress::Validating(p))
            }),
            None,
        ),
        Err(e) => (before.clone(), Some(e.to_string())),
    };
    let mut targeted = Vec::new();
    for (a, row) in omega.iter().enumerate() {
        for (b, &weight) in row.iter().enumerate().skip(a + 1) {
            if weight != 1.0 {
                targeted.push(TargetedPair {
                    a,
                    b,
                    omega: weight,
                    distance_before: before.distances.get(a).and_then(|r| r[b]),
                    distance_after: after.distances.get(a).and_then(|r| r[b]),
                    confused_before: before.confusion[a][b] + before.confusion[b][a],
                    confused_after: after.confusion[a][b] + after.confusion[b][a],
                });
            }
        }
    }
    Ok(FinetuneReport {
        arch: saved.arch,
        config: settings.clone(),
        accuracy_change: after.accuracy - before.accuracy,
        before: snapshot(&before),
        after: snapshot(&after),
        targeted,
        error,
    })
}

/// Mean and sample standard deviation (n − 1) of one quantity over repeated repairs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub mean: f64,
    /// `None` with fewer than two values.
    pub std: Option<f64>,
    pub count: usize,
}

impl Spread {
    /// Of the finite values; `None` when there are none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let std = (n > 1).then(|| (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
        Some(Spread { mean, std, count: n })
    }
}

/// One targeted pair's change over repeated repairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairChange {
    pub a: usize,
    pub b: usize,
    pub omega: f64,
    pub distance_change: Option<Spread>,
    pub confusion_change: Option<Spread>,
}

/// Appendix K's repair study: the same repair over several seeds (the paper: accuracy changes
/// by ±0.6 % across 10 trials), summarised over the runs that did not diverge.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RepairStudy {
    pub seeds: Vec<u64>,
    pub runs: Vec<FinetuneReport>,
    pub accuracy_change: Option<Spread>,
    pub introspectability_change: Option<Spread>,
    pub pairs: Vec<PairChange>,
    /// Runs that diverged (their `error` says why), left out of the summaries.
    pub failed: usize,
}

impl RepairStudy {
    pub fn summarise(seeds: Vec<u64>, runs: Vec<FinetuneReport>) -> RepairStudy {
        let ok: Vec<&FinetuneReport> = runs.iter().filter(|r| r.error.is_none()).collect();
        let intro_change = |r: &&FinetuneReport| Some(r.after.introspectability? - r.before.introspectability?);
        let pairs = ok
            .first()
            .map(|first| {
                first
                    .targeted
                    .iter()
                    .enumerate()
                    .map(|(i, t)| PairChange {
                        a: t.a,
                        b: t.b,
                        omega: t.omega,
                        distance_change: Spread::of(ok.iter().filter_map(|r| {
                            let p = r.targeted.get(i)?;
                            Some(p.distance_after? - p.distance_before?)
                        })),
                        confusion_change: Spread::of(ok.iter().filter_map(|r| {
                            let p = r.targeted.get(i)?;
                            Some(p.confused_after as f64 - p.confused_before as f64)
                        })),
                    })
                    .collect()
            })
            .unwrap_or_default();
        RepairStudy {
            accuracy_change: Spread::of(ok.iter().map(|r| r.accuracy_change)),
            introspectability_change: Spread::of(ok.iter().filter_map(intro_change)),
            pairs,
            failed: runs.len() - ok.len(),
            seeds,
            runs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// numpy: np.mean([0.01, -0.004, 0.002]) = 0.002666…, np.std(..., ddof=1) = 0.0070237…
    #[test]
    fn spread_is_the_mean_and_the_sample_standard_deviation() {
        let s = Spread::of([0.01, -0.004, 0.002, f64::NAN]).unwrap();
        assert_eq!(s.count, 3);
        assert!((s.mean - 0.008 / 3.0).abs() < 1e-15);
        assert!((s.std.unwrap() - 0.007_023_769_168_568_492).abs() < 1e-12, "{s:?}");
        assert_eq!(Spread::of([0.5]).unwrap().std, None);
        assert_eq!(Spread::of([]), None);
    }
}
