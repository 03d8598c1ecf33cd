//! Introspectability variants over a measurement record (eq. 1, WordNet-weighted eq. 3–4,
//! pairwise-ω eq. 5) and WordNet similarity, for objectives written in scripts.
//!
//! A record reaches a script as an object map (rhai's serde support over `MeasurementRecord`);
//! these functions read its `class_distance` matrix (and, for WordNet, `config.dataset` and
//! `config.wnids_file`) and call the same pure functions `xnas inspect` uses, so scores from a
//! script and from the command line agree.

use std::path::PathBuf;
use std::sync::Arc;

use rhai::plugin::*;
use rhai::{Array, Dynamic, Engine, EvalAltResult, FuncRegistration, Map, NativeCallContext};
use xnas_datasets::DatasetName;
use xnas_wordnet::{SynsetOverride, WordNet, WordNetError};

use super::{doc, float_array, number, optional_float, OptionalFloat};
use crate::introspect::{self, DistanceMatrix, PairWeight, PairWeights};
use crate::script::engine::off_budget;
use crate::script::error::{fail, runtime_error, DataUnavailable, RhaiResult};
use crate::script::session::Session;

/// The `class_distance` matrix of a record map, or the matrix itself.
fn distances(ctx: &NativeCallContext, function: &str, value: &Dynamic) -> RhaiResult<DistanceMatrix> {
    let matrix = if let Some(map) = value.read_lock::<Map>() {
        match map.get("class_distance") {
            Some(d) => d.clone(),
            None => {
                return fail(
                    ctx,
                    function,
                    "the map has no class_distance field; pass a measurement record or a distance matrix",
                )
            }
        }
    } else {
        value.clone()
    };
    let rows = matrix.into_array().or_else(|t| {
        fail(ctx, function, format!("expected a record or a distance matrix (array of arrays), got {t}"))
    })?;
    let n = rows.len();
    rows.into_iter()
        .enumerate()
        .map(|(c, row)| {
            let row =
                row.into_array().or_else(|t| fail(ctx, function, format!("distance row {c} is {t}, not an array")))?;
            if row.len() != n {
                return fail(
                    ctx,
                    function,
                    format!("distance row {c} has {} values; the matrix is {n}×{n}", row.len()),
                );
            }
            row.iter()
                .enumerate()
                .map(|(k, v)| match number(v) {
                    Some(d) => Ok(Some(d)),
                    None if v.is_unit() => Ok(None),
                    None => {
                        fail(ctx, function, format!("distance [{c}][{k}] is {}, not a number or ()", v.type_name()))
                    }
                })
                .collect()
        })
        .collect()
}

/// A square matrix of numbers (similarities, ω).
fn matrix(ctx: &NativeCallContext, function: &str, value: &Array, n: usize) -> RhaiResult<Vec<Vec<f64>>> {
    if value.len() != n {
        return fail(ctx, function, format!("the matrix has {} rows; the record has {n} classes", value.len()));
    }
    value
        .iter()
        .enumerate()
        .map(|(c, row)| {
            let row = row.as_array_ref().or_else(|t| fail(ctx, function, format!("row {c} is {t}, not an array")))?;
            if row.len() != n {
                return fail(ctx, function, format!("row {c} has {} values; the record has {n} classes", row.len()));
            }
            super::numbers(&row).or_else(|e| fail(ctx, function, format!("row {c}: {e}")))
        })
        .collect()
}

/// ω as a dense matrix, from a matrix or a list of `[a, b, weight]` / `#{ a, b, weight }` pairs.
fn omega(ctx: &NativeCallContext, value: &Array, n: usize) -> RhaiResult<Vec<Vec<f64>>> {
    let function = "weighted_introspectability";
    let is_matrix = value.len() == n
        && value
            .iter()
            .all(|row| row.as_array_ref().is_ok_and(|r| r.len() == n && r.iter().all(|v| number(v).is_some())))
        && !looks_like_pairs(value, n);
    let weights = if is_matrix {
        PairWeights::Matrix(matrix(ctx, function, value, n)?)
    } else {
        let pairs = value
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let (a, b, w) = if let Some(map) = item.read_lock::<Map>() {
                    (map.get("a").cloned(), map.get("b").cloned(), map.get("weight").cloned())
                } else if let Ok(list) = item.as_array_ref() {
                    (list.first().cloned(), list.get(1).cloned(), list.get(2).cloned())
                } else {
                    (None, None, None)
                };
                let class = |v: Option<Dynamic>| v.and_then(|v| v.as_int().ok()).and_then(|i| usize::try_from(i).ok());
                match (class(a), class(b), w.as_ref().and_then(number)) {
                    (Some(a), Some(b), Some(weight)) => Ok(PairWeight { a, b, weight }),
                    _ => fail(
                        ctx,
                        function,
                        format!("ω entry {i} is not [a, b, weight] or #{{ a, b, weight }} with class indices a, b"),
                    ),
                }
            })
            .collect::<RhaiResult<Vec<_>>>()?;
        PairWeights::Pairs(pairs)
    };
    weights.dense(n).or_else(|e| fail(ctx, function, e))
}

/// A 3-class ω matrix and a list of three `[a, b, w]` pairs look alike: rows that start with two
/// different integers are read as pairs (write a 3×3 matrix with floats, `1.0`, to avoid that).
fn looks_like_pairs(value: &Array, n: usize) -> bool {
    n == 3
        && value.iter().all(|row| {
            row.as_array_ref().is_ok_and(|r| {
                r.len() == 3 && r[0].is_int() && r[1].is_int() && r[0].as_int().ok() != r[1].as_int().ok()
            })
        })
}

/// The WordNet label similarity matrix for a record's dataset, cached per experiment.
fn record_similarity(
    ctx: &NativeCallContext,
    session: &Session,
    record: &Map,
    n: usize,
) -> RhaiResult<Arc<Vec<Vec<f64>>>> {
    let function = "wordnet_introspectability";
    let config = record
        .get("config")
        .and_then(|c| c.read_lock::<Map>().map(|m| m.clone()))
        .ok_or_else(|| runtime_error(format!("{function}: the record has no config map"), ctx.call_position()))?;
    let dataset_name = config.get("dataset").map(|d| d.to_string()).unwrap_or_default();
    let dataset: DatasetName = dataset_name.parse().or_else(|e| fail(ctx, function, e))?;
    let wnids = config.get("wnids_file").filter(|v| !v.is_unit()).map(|v| PathBuf::from(v.to_string()));
    similarity_for(ctx, session, dataset, wnids, n)
}

fn similarity_for(
    ctx: &NativeCallContext,
    session: &Session,
    dataset: DatasetName,
    wnids: Option<PathBuf>,
    n: usize,
) -> RhaiResult<Arc<Vec<Vec<f64>>>> {
    let scoring = session.scoring.read().unwrap_or_else(|e| e.into_inner());
    let key = format!("{dataset}|{wnids:?}|{:?}|{:?}", scoring.synsets, scoring.wordnet_dir);
    if let Some(hit) = scoring.similarity_cache.get(&key) {
        return Ok(Arc::clone(hit));
    }
    let (dir, synsets) = (scoring.wordnet_dir.clone(), scoring.synsets.clone());
    drop(scoring);
    let wordnet_error = |e: WordNetError| -> Box<EvalAltResult> {
        let message = format!("WordNet labels of {dataset}: {e}");
        match e {
            WordNetError::ReadList { .. } => {
                EvalAltResult::ErrorRuntime(Dynamic::from(DataUnavailable(message, true)), ctx.call_position()).into()
            }
            WordNetError::MissingFile { .. } | WordNetError::Wnids { .. } => {
                EvalAltResult::ErrorRuntime(Dynamic::from(DataUnavailable(message, false)), ctx.call_position()).into()
            }
            _ => runtime_error(message, ctx.call_position()),
        }
    };
    let overrides: Vec<SynsetOverride> = synsets.iter().map(|(label, spec)| SynsetOverride::new(label, spec)).collect();
    // Loading WordNet and the label matrix happens once per experiment, not per record, so it
    // does not count against the calling objective's time budget.
    let similarity =
        off_budget(|| xnas_wordnet::label_similarity_matrix(dir.as_deref(), dataset, wnids.as_deref(), &overrides));
    let similarity = Arc::new(similarity.map_err(wordnet_error)?);
    if similarity.len() != n {
        return fail(
            ctx,
            "wordnet_introspectability",
            format!("{dataset} has {} labels but the record has {n} classes", similarity.len()),
        );
    }
    let mut scoring = session.scoring.write().unwrap_or_else(|e| e.into_inner());
    scoring.similarity_cache.insert(key, Arc::clone(&similarity));
    Ok(similarity)
}

fn wordnet_path_similarity(ctx: &NativeCallContext, session: &Session, a: &str, b: &str) -> RhaiResult<OptionalFloat> {
    let dir = session.scoring.read().unwrap_or_else(|e| e.into_inner()).wordnet_dir.clone();
    let error = |e: WordNetError| -> Box<EvalAltResult> {
        match e {
            WordNetError::MissingFile { .. } => {
                EvalAltResult::ErrorRuntime(Dynamic::from(DataUnavailable(e.to_string(), false)), ctx.call_position())
                    .into()
            }
            _ => runtime_error(format!("path_similarity: {e}"), ctx.call_position()),
        }
    };
    let wordnet = off_budget(|| WordNet::open_shared(dir.as_deref())).map_err(error)?;
    let (a, b) = (wordnet.resolve(a).map_err(error)?, wordnet.resolve(b).map_err(error)?);
    Ok(optional_float(wordnet.path_similarity(a, b).map_err(error)?))
}

#[export_module]
mod record_scores {
    use super::*;

    /// Eq. 1: the mean cosine distance between class-mean activations over class pairs, from a record's
    /// `class_distance` (or a distance matrix). `()` when no pair is defined.
    ///
    /// ```rhai
    /// exp.objective("introspectability", "max", |r| introspectability(r));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn introspectability(ctx: NativeCallContext, record_or_distances: Dynamic) -> RhaiResult<OptionalFloat> {
        let d = distances(&ctx, "introspectability", &record_or_distances)?;
        Ok(optional_float(introspect::introspectability(&d)))
    }

    /// Eq. 5: the mean over class pairs of distance × ω. `omega` is an N×N matrix or a list of pairs
    /// `[a, b, weight]` / `#{ a, b, weight }` (other pairs weigh 1). With every ω = 1 it equals eq. 1.
    ///
    /// ```rhai
    /// |r| weighted_introspectability(r, [[3, 5, 25.0]])
    /// ```
    #[rhai_fn(return_raw)]
    pub fn weighted_introspectability(
        ctx: NativeCallContext,
        record_or_distances: Dynamic,
        omega: Array,
    ) -> RhaiResult<OptionalFloat> {
        let d = distances(&ctx, "weighted_introspectability", &record_or_distances)?;
        let w = super::omega(&ctx, &omega, d.len())?;
        Ok(optional_float(introspect::weighted_introspectability(&d, &w)))
    }

    /// Eq. 3–4 with an explicit label similarity matrix (N×N).
    #[rhai_fn(return_raw)]
    pub fn wordnet_introspectability(
        ctx: NativeCallContext,
        record_or_distances: Dynamic,
        similarity: Array,
    ) -> RhaiResult<OptionalFloat> {
        let d = distances(&ctx, "wordnet_introspectability", &record_or_distances)?;
        let similarity = matrix(&ctx, "wordnet_introspectability", &similarity, d.len())?;
        Ok(optional_float(introspect::wordnet_introspectability(&d, &similarity)))
    }
}

/// Registers the scores; those that read the experiment's WordNet settings from the session are
/// registered with their signatures spelled out.
pub(crate) fn register(engine: &mut Engine, session: &Arc<Session>) {
    engine.register_global_module(exported_module!(record_scores).into());
    let s = Arc::clone(session);
    FuncRegistration::new("wordnet_introspectability")
        .with_params_info(["record: Map", "OptionalFloat"])
        .with_comments([doc(
            "Eq. 3–4: distances weighted by the WordNet path similarity of the two labels, divided by the mean\n\
             similarity over all label pairs (so the range matches eq. 1). Labels come from the record's dataset\n\
             (ImageNet16-120: its `wnids_file`) with the experiment's `dataset.synsets` overrides; the WordNet\n\
             database from `dataset.wordnet_dir`, `$XNAS_WORDNET_DIR` or /usr/share/wordnet.\n\n\
             ```rhai\nexp.objective(\"introspectability\", \"max\", |r| wordnet_introspectability(r));\n```",
        )])
        .register_into_engine(engine, move |ctx: NativeCallContext, record: Map| -> RhaiResult<OptionalFloat> {
            let d = distances(&ctx, "wordnet_introspectability", &Dynamic::from_map(record.clone()))?;
            let similarity = record_similarity(&ctx, &s, &record, d.len())?;
            Ok(optional_float(introspect::wordnet_introspectability(&d, &similarity)))
        });

    let s = Arc::clone(session);
    FuncRegistration::new("label_similarity")
        .with_params_info(["dataset: &str", "Array"])
        .with_comments([doc(
            "The WordNet path-similarity matrix of a dataset's labels (with the experiment's synset overrides).\n\n\
             ```rhai\nlet s = label_similarity(\"cifar10\"); // s[3][5]: cat vs dog = 0.2\n```",
        )])
        .register_into_engine(engine, move |ctx: NativeCallContext, dataset: &str| -> RhaiResult<Array> {
            let name: DatasetName = dataset.parse().or_else(|e| fail(&ctx, "label_similarity", e))?;
            let n = name.num_classes();
            let sim = similarity_for(&ctx, &s, name, None, n)?;
            Ok(sim.iter().map(|row| Dynamic::from_array(float_array(row.iter().copied()))).collect())
        });

    let s = Arc::clone(session);
    FuncRegistration::new("path_similarity")
        .with_params_info(["a: &str", "b: &str", "OptionalFloat"])
        .with_comments([doc(
            "NLTK's path similarity 1/(d+1) between two synsets (`dog.n.01`, a wnid `n02084071` or a noun).\n\n\
             ```rhai\npath_similarity(\"dog.n.01\", \"cat.n.01\") // 0.2\n```",
        )])
        .register_into_engine(engine, move |ctx: NativeCallContext, a: &str, b: &str| {
            wordnet_path_similarity(&ctx, &s, a, b)
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_pair_lists_are_not_mistaken_for_matrices() {
        let pairs: Array = vec![
            Dynamic::from_array(vec![Dynamic::from_int(0), Dynamic::from_int(1), Dynamic::from_float(2.0)]),
            Dynamic::from_array(vec![Dynamic::from_int(0), Dynamic::from_int(2), Dynamic::from_float(1.0)]),
            Dynamic::from_array(vec![Dynamic::from_int(1), Dynamic::from_int(2), Dynamic::from_float(1.0)]),
        ];
        assert!(looks_like_pairs(&pairs, 3));
        let matrix: Array = (0..3)
            .map(|_| {
                Dynamic::from_array(vec![Dynamic::from_float(1.0), Dynamic::from_float(1.0), Dynamic::from_float(1.0)])
            })
            .collect();
        assert!(!looks_like_pairs(&matrix, 3));
    }
}
