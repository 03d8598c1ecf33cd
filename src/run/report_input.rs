//! A run's store read into the report's plain input ([`ReportInput`]): every finished evaluation
//! with its record and its scores under the latest script version, the front in the search's
//! objectives, each candidate's lineage and each saved generation's population. It lives in the
//! run layer because it is the one place that knows the store, the scripts' spec and the report.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use xnas_moo::Direction;

use crate::report::{LineageRow, ReportInput, ReportPoint};
use crate::script::{Algorithm, ExperimentSpec};
use crate::store::{EvalStatus, Store};

/// Everything a report shows, read from a run's store with its latest script version's scores.
pub fn report_input(run_dir: &Path) -> anyhow::Result<ReportInput> {
    let store = Store::open_read_only(run_dir)?;
    let info = store.run()?;
    let version = store.latest_script_version()?.context("the run has no script version yet")?;
    let spec: ExperimentSpec = serde_json::from_value(version.config.clone())
        .context("reading the experiment settings stored with the latest script version")?;
    let scores: HashMap<i64, Vec<f64>> =
        store.scores(version.id)?.into_iter().filter_map(|s| s.result.ok().map(|v| (s.evaluation, v))).collect();
    let similarity = wordnet_similarity(&spec);
    let mut points = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in store.evaluations(Some(EvalStatus::Done))? {
        let Some(record) = e.record else { continue };
        // A reused evaluation repeats an earlier one: show each trained network once.
        let origin = e.reused_from.unwrap_or(e.id);
        if !seen.insert(origin) {
            continue;
        }
        points.push(ReportPoint {
            id: e.candidate,
            genome: e.genome.compact(),
            arch: e.genome.arch_string(),
            // Candidates of the initial population are born in generation 1, as saved generations count.
            generation: e.generation + 1,
            accuracy: record.val_accuracy,
            introspectability: record.introspectability,
            wordnet_introspectability: similarity
                .as_ref()
                .and_then(|s| crate::introspect::wordnet_introspectability(&record.class_distance, s)),
            objectives: scores.get(&e.id).or_else(|| scores.get(&origin)).cloned(),
            params: record.params,
            flops: record.flops,
            train_images_per_second: record.train_images_per_second,
        });
    }
    // Every candidate once (a resumed run may have asked one again), finished records first.
    let mut lineage: Vec<LineageRow> = Vec::new();
    let mut position: HashMap<u64, usize> = HashMap::new();
    for e in store.evaluations(None)? {
        let row = LineageRow {
            id: e.candidate,
            genome: e.genome.compact(),
            generation: e.generation + 1,
            parents: e.parents.clone(),
            accuracy: e.record.as_ref().and_then(|r| r.val_accuracy),
            introspectability: e.record.as_ref().and_then(|r| r.introspectability),
        };
        match position.get(&e.candidate) {
            Some(&at) if lineage[at].accuracy.is_some() => {}
            Some(&at) => lineage[at] = row,
            None => {
                position.insert(e.candidate, lineage.len());
                lineage.push(row);
            }
        }
    }
    let populations: Vec<(u64, Vec<u64>)> =
        store.generations()?.into_iter().map(|g| (g.generation, g.population)).collect();
    let directions = spec.directions();
    let scored: Vec<usize> = (0..points.len()).filter(|&i| points[i].objectives.is_some()).collect();
    let objective_rows: Vec<&Vec<f64>> = scored.iter().map(|&i| points[i].objectives.as_ref().unwrap()).collect();
    let ranks = xnas_moo::pareto_ranks_directed(&objective_rows, &directions).unwrap_or_default();
    let front: Vec<usize> = scored.iter().zip(&ranks).filter(|(_, &r)| r == 0).map(|(&i, _)| i).collect();
    let versions: HashMap<i64, HashMap<u64, f64>> = store
        .script_versions()?
        .iter()
        .map(|v| Ok((v.id, store.hypervolumes(v.id)?.into_iter().collect())))
        .collect::<anyhow::Result<_>>()?;
    let hypervolume_per_generation = store
        .generations()?
        .iter()
        .filter_map(|g| {
            versions.get(&g.script_version).and_then(|m| m.get(&g.generation)).map(|&hv| (g.generation, hv))
        })
        .collect();
    let single_objective = spec.objectives.len() == 1 || spec.search.algorithm == Algorithm::Ga;
    let variant = match (single_objective, spec.training.regularizer > 0.0) {
        (_, true) => "reg",
        (true, false) => "✗",
        (false, false) => "✓",
    };
    Ok(ReportInput {
        run_name: info.name,
        variant: variant.into(),
        dataset: spec.dataset.name.to_string(),
        num_classes: spec.dataset.name.num_classes(),
        objective_names: spec.objectives.iter().map(|o| o.name.clone()).collect(),
        maximise: directions.iter().map(|d| *d == Direction::Maximise).collect(),
        reference_point: spec.reference_point.clone(),
        points,
        front,
        hypervolume_per_generation,
        lineage,
        populations,
    })
}

/// The label path-similarity matrix behind eq. 3–4, when WordNet is installed and the dataset's
/// labels map to it (with the script's synset overrides); `None` otherwise, and the report leaves
/// the WordNet columns empty.
fn wordnet_similarity(spec: &ExperimentSpec) -> Option<Vec<Vec<f64>>> {
    let wordnet = xnas_wordnet::WordNet::open_shared(spec.dataset.wordnet_dir.as_deref()).ok()?;
    let overrides: Vec<xnas_wordnet::SynsetOverride> = spec
        .dataset
        .synsets
        .iter()
        .map(|(label, synset)| xnas_wordnet::SynsetOverride {
            label: label.clone(),
            spec: synset.clone(),
            origin: None,
        })
        .collect();
    let labels = xnas_wordnet::LabelSynsets::for_dataset(
        &wordnet,
        spec.dataset.name,
        spec.dataset.wnids_file.as_deref(),
        &overrides,
    )
    .ok()?;
    labels.similarity_matrix(&wordnet).ok()
}
