//! A run's store read into the report's plain input ([`ReportInput`]): every finished evaluation
//! with its record and its scores under the latest script version, its values on the report axes
//! the script names, the front in the search's objectives, each candidate's lineage and each saved
//! generation's population; and the genomes of a run's final front in those axes
//! ([`front_genomes`], what `xnas refine` trains again). It lives in the run layer because it is
//! the one place that knows the store, the scripts' spec and the report.
//!
//! It also finds Table 1's population ([`FinalPopulation`]): a run's last saved generation, or for
//! a refinement (✓+reg) its source run's with the front replaced by the retraining.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use xnas_moo::Direction;

use crate::record::{MeasurementRecord, Status as RecordStatus};
use crate::report::trust::{Highlight, TrustInput, TrustModel};
use crate::report::{FinalPopulation, LineageRow, ReportAxes, ReportInput, ReportPoint, StoppedEarly, TableFront};
use crate::script::{Algorithm, ExperimentSpec, REPORT_FIELDS};
use crate::store::{EvalStatus, Store};

/// Where a report axis takes its values.
#[derive(Debug, Clone, Copy, PartialEq)]
enum AxisSource {
    /// The objective at this index, as scored under the latest script version.
    Objective(usize),
    /// A record field of [`REPORT_FIELDS`].
    Field(&'static str),
}

/// The report axes a spec names (see `ExperimentSpec::report_axis_names`) and where each one's
/// values come from; the reference is the objective's own, or the field's natural one.
fn report_axes(spec: &ExperimentSpec) -> (ReportAxes, [AxisSource; 2]) {
    let names = spec.report_axis_names();
    let chance = 1.0 / spec.dataset.name.num_classes().max(1) as f64;
    let resolve = |name: &String| -> (AxisSource, f64) {
        if let Some(i) = spec.objectives.iter().position(|o| &o.name == name) {
            return (AxisSource::Objective(i), spec.reference_point.get(i).copied().unwrap_or(0.0));
        }
        // Validated with the spec: a name that is no objective is one of the fields.
        let (field, reference) =
            REPORT_FIELDS.iter().find(|(field, _)| field == name).copied().unwrap_or(REPORT_FIELDS[0]);
        (AxisSource::Field(field), reference.unwrap_or(chance))
    };
    let ((first, ref_first), (second, ref_second)) = (resolve(&names[0]), resolve(&names[1]));
    (ReportAxes { names, reference: [ref_first, ref_second] }, [first, second])
}

/// A finished evaluation's values on the report axes, when both are finite.
fn axis_values(
    sources: &[AxisSource; 2],
    record: &MeasurementRecord,
    wordnet: Option<f64>,
    objectives: Option<&Vec<f64>>,
) -> Option<[f64; 2]> {
    let value = |source: &AxisSource| -> Option<f64> {
        match *source {
            AxisSource::Objective(i) => objectives?.get(i).copied(),
            AxisSource::Field("val_accuracy") => record.val_accuracy,
            AxisSource::Field("introspectability") => record.introspectability,
            AxisSource::Field(_) => wordnet,
        }
    };
    let values = [value(&sources[0])?, value(&sources[1])?];
    values.iter().all(|v| v.is_finite()).then_some(values)
}

/// Reads measurement records' values on a spec's report axes, for records outside the run (a
/// table's cells): an axis that is an objective takes the given scores.
pub struct AxisReader {
    sources: [AxisSource; 2],
    similarity: Option<Vec<Vec<f64>>>,
}

impl AxisReader {
    pub fn new(spec: &ExperimentSpec) -> AxisReader {
        let (_, sources) = report_axes(spec);
        AxisReader { sources, similarity: spec.dataset.label_similarity().ok() }
    }

    /// The record's values on the report axes, when both are finite; `objectives` are its scores
    /// under the spec's objectives.
    pub fn values(&self, record: &MeasurementRecord, objectives: Option<&Vec<f64>>) -> Option<[f64; 2]> {
        let wordnet = self
            .similarity
            .as_ref()
            .and_then(|s| crate::introspect::wordnet_introspectability(&record.class_distance, s));
        axis_values(&self.sources, record, wordnet, objectives)
    }
}

/// A table's cells in a replayed run's report axes (see [`crate::report::TableFront`]).
#[derive(Debug, Clone, Default)]
pub struct TableCells {
    /// The table, as the run names it.
    pub table: String,
    /// Distinct valid cells of the run's space, and how many of them the table holds.
    pub space_cells: usize,
    pub held: usize,
    /// Each held cell's values on the report axes (cells without both are left out).
    pub axes: Vec<[f64; 2]>,
}

/// What a report may be asked beyond the run's own data.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// WordNet synsets whose classes the PCA figure highlights (`primate.n.02`, a wnid, a noun);
    /// `None`: the two largest hypernym groups among the labels.
    pub highlight: Option<Vec<String>>,
    /// What Table 1's population-level statistics are over.
    pub table1_over: Table1Over,
    /// The table a replayed run was answered from, in its report axes: the report then gives
    /// the table's front and the run's distance to it.
    pub table: Option<TableCells>,
}

/// What Table 1's population-level statistics are over (see [`FinalPopulation`] for the paper's
/// reading, section 4.3 and Table 1's header).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Table1Over {
    /// The final population (a ✓+reg run: its source's, the front replaced by the retraining).
    #[default]
    FinalPopulation,
    /// Every evaluation of the run (the archive).
    Archive,
}

/// Everything a report shows, read from a run's store with its latest script version's scores.
pub fn report_input(run_dir: &Path) -> anyhow::Result<ReportInput> {
    report_input_with(run_dir, &ReportOptions::default())
}

/// [`report_input`] with options (`xnas report --highlight`).
pub fn report_input_with(run_dir: &Path, options: &ReportOptions) -> anyhow::Result<ReportInput> {
    let store = Store::open_read_only(run_dir)?;
    let info = store.run()?;
    let version = store.latest_script_version()?.context("the run has no script version yet")?;
    let spec: ExperimentSpec = serde_json::from_value(version.config.clone())
        .context("reading the experiment settings stored with the latest script version")?;
    let scores: HashMap<i64, Vec<f64>> =
        store.scores(version.id)?.into_iter().filter_map(|s| s.result.ok().map(|v| (s.evaluation, v))).collect();
    let similarity = spec.dataset.label_similarity();
    let (axes, sources) = report_axes(&spec);
    let mut points = Vec::new();
    let mut records: HashMap<u64, MeasurementRecord> = HashMap::new();
    // Each trained network's point, by its evaluation and by every candidate that took it.
    let mut point_of_origin: HashMap<i64, usize> = HashMap::new();
    let mut point_of_candidate: HashMap<u64, usize> = HashMap::new();
    for e in store.evaluations(Some(EvalStatus::Done))? {
        let Some(record) = e.record else { continue };
        // A reused evaluation repeats an earlier one: show each trained network once.
        let origin = e.reused_from.unwrap_or(e.id);
        if let Some(&at) = point_of_origin.get(&origin) {
            point_of_candidate.entry(e.candidate).or_insert(at);
            continue;
        }
        point_of_origin.insert(origin, points.len());
        point_of_candidate.insert(e.candidate, points.len());
        let wordnet = similarity
            .as_ref()
            .ok()
            .and_then(|s| crate::introspect::wordnet_introspectability(&record.class_distance, s));
        let objectives = scores.get(&e.id).or_else(|| scores.get(&origin)).cloned();
        points.push(ReportPoint {
            id: e.candidate,
            genome: e.genome.compact(),
            arch: e.genome.arch_string(),
            // Candidates of the initial population are born in generation 1, as saved generations count.
            generation: e.generation + 1,
            accuracy: record.val_accuracy,
            introspectability: record.introspectability,
            wordnet_introspectability: wordnet,
            axes: axis_values(&sources, &record, wordnet, objectives.as_ref()),
            objectives,
            params: record.params,
            flops: record.flops,
            train_images_per_second: record.train_images_per_second,
            generalization_error: record.train_accuracy.zip(record.val_accuracy).map(|(t, v)| t - v),
            stopped: (record.status == RecordStatus::Stopped).then(|| StoppedEarly {
                epoch: record.epochs.last().map_or(0, |p| p.epoch),
                epochs: record.config.epochs,
            }),
            replayed_from: record.replayed_from.clone(),
        });
        records.insert(e.candidate, record);
    }
    // Every candidate once (a resumed run may have asked one again), finished records first.
    let mut lineage: Vec<LineageRow> = Vec::new();
    let mut position: HashMap<u64, usize> = HashMap::new();
    let axes_of: HashMap<u64, [f64; 2]> = points.iter().filter_map(|p| Some((p.id, p.axes?))).collect();
    for e in store.evaluations(None)? {
        let row = LineageRow {
            id: e.candidate,
            genome: e.genome.compact(),
            generation: e.generation + 1,
            parents: e.parents.clone(),
            // A reused evaluation's candidate is no point of its own: score its record the same way.
            axes: axes_of.get(&e.candidate).copied().or_else(|| {
                let record = e.record.as_ref()?;
                let wordnet = similarity
                    .as_ref()
                    .ok()
                    .and_then(|s| crate::introspect::wordnet_introspectability(&record.class_distance, s));
                axis_values(&sources, record, wordnet, scores.get(&e.id))
            }),
        };
        match position.get(&e.candidate) {
            Some(&at) if lineage[at].axes.is_some() => {}
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
    let front_rows = xnas_moo::non_dominated(&objective_rows, &directions).unwrap_or_default();
    let front: Vec<usize> = front_rows.into_iter().map(|k| scored[k]).collect();
    let versions: HashMap<i64, HashMap<u64, f64>> = store
        .script_versions()?
        .iter()
        .map(|v| Ok((v.id, store.hypervolumes(v.id)?.into_iter().collect())))
        .collect::<anyhow::Result<_>>()?;
    let hypervolume_per_generation: Vec<(u64, f64)> = store
        .generations()?
        .iter()
        .filter_map(|g| {
            versions.get(&g.script_version).and_then(|m| m.get(&g.generation)).map(|&hv| (g.generation, hv))
        })
        .collect();
    let final_population = match options.table1_over {
        Table1Over::Archive => None,
        Table1Over::FinalPopulation => {
            final_population(&spec, &populations, &points, &point_of_candidate, hypervolume_per_generation.len())
        }
    };
    let variant = variant(&spec);
    let table_front = options.table.as_ref().map(|cells| TableFront::of(cells, axes.reference));
    let mut input = ReportInput {
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
        axes,
        trust: TrustInput::default(),
        wordnet_unavailable: similarity.err().map(|e| e.to_string()),
        final_population,
        table_front,
    };
    let class_names = records.values().next().map(|r| r.class_names.clone()).unwrap_or_default();
    let models = input
        .report_front()
        .into_iter()
        .filter_map(|i| {
            let p = &input.points[i];
            let [accuracy, introspectability] = p.axes?;
            let record = records.remove(&p.id)?;
            Some(TrustModel { id: p.id, genome: p.genome.clone(), accuracy, introspectability, record })
        })
        .collect();
    input.trust = TrustInput { models, highlight: highlight(&spec, options.highlight.as_deref())?, class_names };
    Ok(input)
}

/// The class groups the PCA figure colours: the named synsets' labels, or by default the two
/// largest hypernym groups (none when WordNet or the labels' synsets are not available). A named
/// synset WordNet does not know is an error.
fn highlight(spec: &ExperimentSpec, named: Option<&[String]>) -> anyhow::Result<Vec<Highlight>> {
    let Ok((wordnet, labels)) = spec.dataset.label_synsets() else {
        anyhow::ensure!(
            named.is_none(),
            "--highlight needs WordNet and the dataset's labels mapped to synsets (install wordnet-base; \
             `xnas wordnet labels` shows the mapping)"
        );
        return Ok(Vec::new());
    };
    let ids = labels.ids();
    match named {
        Some(names) => names
            .iter()
            .map(|name| {
                let synset = wordnet.resolve(name).with_context(|| format!("--highlight {name}"))?;
                let group = wordnet.group_under(&ids, synset)?;
                anyhow::ensure!(
                    !group.members.is_empty(),
                    "--highlight {name}: no class of {} lies under {}",
                    spec.dataset.name,
                    group.name
                );
                Ok(Highlight { name: group.name, members: group.members })
            })
            .collect(),
        None => Ok(wordnet
            .largest_hypernym_groups(&ids, 2)
            .unwrap_or_default()
            .into_iter()
            .map(|g| Highlight { name: g.name, members: g.members })
            .collect()),
    }
}

/// Table 1's variant: `✗` a single-objective search, `✓` a multi-objective one, `reg` a search
/// with the regularizer in every candidate's training, `✓+reg` a front trained again with it
/// (a fixed search, as `xnas refine` runs).
fn variant(spec: &ExperimentSpec) -> &'static str {
    let single_objective = spec.objectives.len() == 1 || spec.search.algorithm == Algorithm::Ga;
    match (spec.search.algorithm, single_objective, spec.training.regularizer > 0.0) {
        (Algorithm::Fixed, _, true) => "✓+reg",
        (_, _, true) => "reg",
        (_, true, false) => "✗",
        (_, false, false) => "✓",
    }
}

/// Table 1's population ([`FinalPopulation`]): a `nsga2` or `ga` run's last saved generation
/// (its survivors), each member as the point it was evaluated as; for a front trained again (a
/// fixed search over `search.front_of`, the ✓+reg row) the source run's final population with
/// every member this run trained again replaced by its retraining; `None` for a random or fixed
/// search of its own or a run that saved no generation (Table 1 is then over every evaluation).
fn final_population(
    spec: &ExperimentSpec,
    populations: &[(u64, Vec<u64>)],
    points: &[ReportPoint],
    point_of_candidate: &HashMap<u64, usize>,
    saved_generations: usize,
) -> Option<FinalPopulation> {
    match (spec.search.algorithm, &spec.search.front_of) {
        (Algorithm::Nsga2 | Algorithm::Ga, _) => {
            let (generation, members) = populations.last()?;
            let members: Vec<ReportPoint> =
                members.iter().filter_map(|id| point_of_candidate.get(id).map(|&i| points[i].clone())).collect();
            Some(FinalPopulation {
                members,
                generations: saved_generations,
                description: format!("generation {generation}'s population"),
            })
        }
        (Algorithm::Fixed, Some(source)) => Some(match report_input(source) {
            Ok(source_input) => {
                let source_table = crate::report::Table1::from_input(&source_input);
                let source_members = source_input.final_population.map_or(source_input.points, |p| p.members);
                FinalPopulation {
                    members: FinalPopulation::with_retraining(source_members, points),
                    generations: source_table.generations,
                    description: format!(
                        "the final population of {} with the architectures this run trained again replaced by their retraining",
                        source.display()
                    ),
                }
            }
            // The source run was moved or deleted: this run's own evaluations are all there is.
            Err(error) => FinalPopulation {
                members: points.to_vec(),
                generations: saved_generations,
                description: format!(
                    "this run's evaluations alone (its source run {} could not be read: {error:#})",
                    source.display()
                ),
            },
        }),
        (Algorithm::Random | Algorithm::Fixed | Algorithm::Exhaustive, _) => None,
    }
}

/// The genomes (compact codes) of a run's final front in its report axes, most accurate first
/// (the first axis), each once: the front its report draws and `xnas refine` trains again.
pub fn front_genomes(run_dir: &Path) -> anyhow::Result<Vec<String>> {
    let input = report_input(run_dir)?;
    let mut front = input.report_front();
    front.sort_by(|&a, &b| {
        let key = |i: usize| input.points[i].axes.map_or([f64::NAN; 2], |a| a);
        key(b)[0].total_cmp(&key(a)[0]).then(key(b)[1].total_cmp(&key(a)[1]))
    });
    let mut genomes: Vec<String> = Vec::new();
    for i in front {
        let genome = &input.points[i].genome;
        if !genomes.contains(genome) {
            genomes.push(genome.clone());
        }
    }
    anyhow::ensure!(
        !genomes.is_empty(),
        "{} has no finished evaluation with both report axes ({}), so it has no front to train again",
        run_dir.display(),
        input.axes.label()
    );
    Ok(genomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table1_over_is_named_as_the_command_line_names_it() {
        let named = |name: &str| serde_json::from_value::<Table1Over>(serde_json::Value::String(name.into())).unwrap();
        assert_eq!(named("final-population"), Table1Over::FinalPopulation);
        assert_eq!(named("archive"), Table1Over::Archive);
    }
    use crate::report::Table1;

    /// A script whose report axes are its accuracy objective and a second objective (twice the
    /// plain introspectability, so that the two planes differ).
    fn experiment(axes: &str) -> crate::script::Experiment {
        // Tests run in parallel: one folder per call.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let call = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("xnas-axes-{}-{call}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("axes.rhai");
        std::fs::write(
            &path,
            format!(
                "let exp = experiment(\"axes\");\n\
                 exp.dataset(#{{ name: \"fashion-mnist\" }});\n\
                 exp.search(#{{ population: 4, generations: 1 }});\n\
                 exp.objective(\"accuracy\", \"max\", |r| r.val_accuracy);\n\
                 exp.objective(\"wordnet\", \"max\", |r| 2.0 * r.introspectability);\n\
                 exp.reference_point([0.1, 0.0]);\n{axes}"
            ),
        )
        .unwrap();
        crate::script::compile_file(&path).unwrap()
    }

    /// Table 1 of three records, (accuracy, introspectability) (0.9, 0.1), (0.6, 0.3), (0.5, 0.2),
    /// in the script's report axes.
    fn table(experiment: &crate::script::Experiment) -> Table1 {
        let (axes, sources) = report_axes(experiment.spec());
        let mut input = crate::report::tests::sample();
        input.points.truncate(3);
        for (p, (accuracy, intro)) in input.points.iter_mut().zip([(0.9, 0.1), (0.6, 0.3), (0.5, 0.2)]) {
            let genome = "002404".parse().unwrap();
            let mut record = crate::record::synthetic_record(experiment.eval_config(), &genome);
            record.val_accuracy = Some(accuracy);
            record.introspectability = Some(intro);
            let objectives = experiment.score(&record).unwrap();
            p.axes = axis_values(&sources, &record, None, Some(&objectives));
        }
        input.axes = axes;
        Table1::from_input(&input)
    }

    #[test]
    fn the_scripts_report_axes_set_table_1s_hypervolume() {
        // Default axes, from (0.1, 0): (0.9, 0.1) and (0.6, 0.3) on the front: 0.8·0.1 + 0.5·0.2 = 0.18.
        let default = table(&experiment(""));
        assert!((default.hypervolume.unwrap() - 0.18).abs() < 1e-12, "{:?}", default.hypervolume);
        // Axes (accuracy, wordnet = 2 × introspectability): (0.9, 0.2), (0.6, 0.6) and the dominated
        // (0.5, 0.4): 0.8·0.2 + 0.5·0.4 = 0.36.
        let custom = experiment("exp.report_axes([\"accuracy\", \"wordnet\"]);");
        assert_eq!(custom.spec().report_axis_names(), ["accuracy", "wordnet"]);
        let t = table(&custom);
        assert!((t.hypervolume.unwrap() - 0.36).abs() < 1e-12, "{:?}", t.hypervolume);
        // The same through --set, and a bad axis is named.
        let mut set = experiment("");
        set.apply_overrides(&[("report_axes".into(), "[\"accuracy\",\"wordnet\"]".into())]).unwrap();
        assert!((table(&set).hypervolume.unwrap() - 0.36).abs() < 1e-12);
        let error = set.apply_overrides(&[("report_axes".into(), "[\"accuracy\",\"wordnte\"]".into())]).unwrap_err();
        assert!(error.to_string().contains("report axis \"wordnte\" is neither an objective"), "{error}");
    }

    #[test]
    fn the_wordnet_matrix_says_why_it_is_missing() {
        let mut spec = experiment("").spec().clone();
        spec.dataset.wordnet_dir = Some("/nonexistent/wordnet".into());
        let error = spec.dataset.label_similarity().unwrap_err().to_string();
        assert!(error.contains("/nonexistent/wordnet/") && error.contains("wordnet-base"), "{error}");
    }

    /// A stored candidate: its id, genome, generation and (accuracy, introspectability), or `None`
    /// for a reuse of the training of the candidate of the same genome before it.
    type StoredCandidate<'a> = (u64, &'a str, u64, Option<(f64, f64)>);

    /// A stored run of `spec` in `dir`: its candidates finished in order, then the `populations`
    /// saved one generation each.
    fn stored_run(
        dir: &Path,
        experiment: &crate::script::Experiment,
        spec: &ExperimentSpec,
        candidates: &[StoredCandidate],
        populations: &[&[u64]],
    ) {
        use crate::store::{NewEvaluation, NewGeneration};
        let info = crate::store::RunInfo {
            name: spec.name.clone(),
            config: serde_json::to_value(spec).unwrap(),
            seeds: serde_json::json!({}),
            script_path: None,
            created: 0.0,
            xnas_version: "test".into(),
        };
        let store = Store::create(dir, &info).unwrap();
        let version = store.add_script_version("h", "", &serde_json::json!([]), &info.config).unwrap();
        let mut trained: HashMap<&str, i64> = HashMap::new();
        for &(candidate, genome, generation, values) in candidates {
            let parsed: xnas_space::Genome = genome.parse().unwrap();
            let new = NewEvaluation { candidate, genome: parsed, parents: Vec::new(), generation };
            let id = store.enqueue(&[new], "t", version).unwrap()[0];
            match values {
                Some((accuracy, intro)) => {
                    let mut record = crate::record::synthetic_record(experiment.eval_config(), &parsed);
                    (record.val_accuracy, record.introspectability) = (Some(accuracy), Some(intro));
                    store.finish(id, &record).unwrap();
                    trained.insert(genome, id);
                }
                None => store.reuse(id, trained[genome]).unwrap(),
            }
        }
        for (generation, population) in populations.iter().enumerate() {
            let saved = NewGeneration {
                generation: generation as u64 + 1,
                population,
                search_state: "{}",
                script_version: version,
                hypervolume: Some(0.0),
            };
            store.save_generation(&saved).unwrap();
        }
    }

    /// Table 1 from stores: an NSGA-II run's last saved population (one member a reused
    /// training) and a refinement of its front (✓+reg), every number by hand from (0.1, 0).
    #[test]
    fn table_1_is_over_the_stored_final_population_and_a_refinement_replaces_its_front() {
        let experiment = experiment("");
        let dir = std::env::temp_dir().join(format!("xnas-final-population-{}", std::process::id()));
        let (source, refined) = (dir.join("source"), dir.join("refined"));
        // Candidate 4 reuses candidate 1's training; candidate 3 is on the archive's front but
        // left generation 2's population.
        let candidates = [
            (0, "000000", 0, Some((0.9, 0.1))),
            (1, "111111", 0, Some((0.6, 0.3))),
            (2, "000011", 0, Some((0.5, 0.2))),
            (3, "000022", 0, Some((0.95, 0.05))),
            (4, "111111", 1, None),
            (5, "001100", 1, Some((0.3, 0.6))),
        ];
        stored_run(&source, &experiment, experiment.spec(), &candidates, &[&[0, 1, 2, 3], &[0, 4, 2, 5]]);
        let table = Table1::from_input(&report_input(&source).unwrap());
        // Members (0.9, 0.1), (0.6, 0.3), (0.5, 0.2), (0.3, 0.6).
        assert_eq!((table.evaluated, table.population, table.generations), (5, 4, 2));
        assert_eq!((table.max_accuracy, table.max_introspectability), (Some(0.9), Some(0.6)));
        assert!((table.median_accuracy.unwrap() - 0.55).abs() < 1e-12, "{table:?}");
        assert!((table.median_introspectability.unwrap() - 0.25).abs() < 1e-12, "{table:?}");
        // (0.5, 0.2) dominated: 0.8·0.1 + 0.5·0.2 + 0.2·0.3 = 0.24; the archive adds (0.95, 0.05):
        // 0.85·0.05 + 0.8·0.05 + 0.10 + 0.06 = 0.2425.
        assert!((table.hypervolume.unwrap() - 0.24).abs() < 1e-12, "{table:?}");
        assert!((table.archive_hypervolume.unwrap() - 0.2425).abs() < 1e-12, "{table:?}");
        // The other reading: every evaluation (median accuracy of 0.9, 0.6, 0.5, 0.95, 0.3).
        let options = ReportOptions { table1_over: Table1Over::Archive, ..Default::default() };
        let archive = Table1::from_input(&report_input_with(&source, &options).unwrap());
        assert_eq!((archive.population, archive.median_accuracy), (5, Some(0.6)));
        assert_eq!(archive.hypervolume, table.archive_hypervolume);

        // The front (0.95, 0.05), (0.9, 0.1), (0.6, 0.3), (0.3, 0.6) trained again.
        let mut spec = experiment.spec().clone();
        (spec.search.algorithm, spec.search.front_of, spec.training.regularizer) =
            (Algorithm::Fixed, Some(source.clone()), 0.5);
        let retrained = [
            (0, "000022", 0, Some((0.94, 0.2))),
            (1, "000000", 0, Some((0.88, 0.3))),
            (2, "111111", 0, Some((0.6, 0.5))),
            (3, "001100", 0, Some((0.3, 0.7))),
        ];
        stored_run(&refined, &experiment, &spec, &retrained, &[&[0, 1, 2, 3]]);
        let input = report_input(&refined).unwrap();
        assert_eq!(input.variant, "✓+reg");
        let table = Table1::from_input(&input);
        // Members (0.88, 0.3), (0.6, 0.5), (0.5, 0.2) kept, (0.3, 0.7); the source's generations.
        assert_eq!((table.evaluated, table.population, table.generations), (4, 4, 2));
        assert_eq!((table.max_accuracy, table.max_introspectability), (Some(0.88), Some(0.7)));
        assert!((table.median_accuracy.unwrap() - 0.55).abs() < 1e-12, "{table:?}");
        assert!((table.median_introspectability.unwrap() - 0.4).abs() < 1e-12, "{table:?}");
        // 0.78·0.3 + 0.5·0.2 + 0.2·0.2 = 0.374; its archive: 0.84·0.2 + 0.78·0.1 + 0.10 + 0.04 = 0.386.
        assert!((table.hypervolume.unwrap() - 0.374).abs() < 1e-12, "{table:?}");
        assert!((table.archive_hypervolume.unwrap() - 0.386).abs() < 1e-12, "{table:?}");
        // Its source gone, a refinement's Table 1 is over its own evaluations and says why.
        std::fs::rename(&source, dir.join("moved")).unwrap();
        let input = report_input(&refined).unwrap();
        let population = input.final_population.as_ref().unwrap();
        assert_eq!(population.members.len(), 4);
        assert!(population.description.contains("could not be read"), "{}", population.description);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_fixed_search_with_the_regularizer_is_the_refined_row() {
        let mut spec = experiment("").spec().clone();
        assert_eq!(variant(&spec), "✓");
        spec.training.regularizer = 0.5;
        assert_eq!(variant(&spec), "reg");
        spec.search.algorithm = Algorithm::Fixed;
        assert_eq!(variant(&spec), "✓+reg");
    }
}
