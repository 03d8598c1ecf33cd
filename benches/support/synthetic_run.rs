//! A run store written without training, for the benches that time reading runs
//! (`benches/report_time.rs`, `benches/compare_time.rs`, both include this file): the quickstart
//! experiment compiled from `experiments/quickstart.rhai`, generations of candidates with parents
//! drawn from the previous population, records made by the record layer's synthetic record with
//! varied accuracy and class distances, scores and saved populations, all through the store API.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xnas::record::synthetic_record;
use xnas::run::{run_info, save_version};
use xnas::script::Experiment;
use xnas::space::Genome;
use xnas::store::{NewEvaluation, NewGeneration, Score, Store};

/// The quickstart experiment and its script's path.
pub fn quickstart() -> (Experiment, std::path::PathBuf) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/quickstart.rhai");
    let experiment = xnas::script::compile_file(&script).expect("the quickstart script compiles");
    (experiment, script)
}

/// Writes a run of `generations` × `per_generation` evaluations into the new folder `dir`, its
/// draws from `seed`.
#[allow(dead_code)] // Each bench includes this file and uses what it needs.
pub fn write_synthetic_run(
    dir: &Path,
    (experiment, script): &(Experiment, std::path::PathBuf),
    generations: u64,
    per_generation: u64,
    seed: u64,
) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let store = Store::create(dir, &run_info(experiment, script)).unwrap();
    let version = save_version(&store, experiment).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let valid: Vec<Genome> = Genome::all().filter(Genome::is_valid).collect();
    let mut population: Vec<u64> = Vec::new();
    for generation in 0..generations {
        let candidates: Vec<NewEvaluation> = (0..per_generation)
            .map(|k| {
                let id = generation * per_generation + k;
                let parents = if population.is_empty() {
                    Vec::new()
                } else {
                    (0..2).map(|_| population[rng.random_range(0..population.len())]).collect()
                };
                NewEvaluation { candidate: id, genome: valid[rng.random_range(0..valid.len())], parents, generation }
            })
            .collect();
        let ids = store.enqueue(&candidates, "bench", version).unwrap();
        let mut scores = Vec::new();
        for (candidate, &id) in candidates.iter().zip(&ids) {
            let mut record = synthetic_record(experiment.eval_config(), &candidate.genome);
            record.val_accuracy = Some(rng.random_range(0.6..0.95));
            for row in record.class_distance.iter_mut() {
                for d in row.iter_mut().flatten() {
                    *d *= rng.random_range(0.5..1.5);
                }
            }
            record.introspectability = xnas::introspect::introspectability(&record.class_distance);
            store.mark_running(id, "cpu").unwrap();
            store.finish(id, &record).unwrap();
            scores.push(Score { evaluation: id, result: experiment.score(&record).map_err(|e| e.to_string()) });
        }
        store.save_scores(version, &scores).unwrap();
        population = candidates.iter().map(|c| c.candidate).collect();
        store
            .save_generation(&NewGeneration {
                generation: generation + 1,
                population: &population,
                search_state: "{}",
                script_version: version,
                hypervolume: None,
            })
            .unwrap();
    }
}

/// Writes a table into the new folder `dir`: every distinct valid cell of the space trained once
/// (one generation, as an exhaustive search stores it), under the experiment's training hash so
/// that the experiment replays from it, each record the synthetic one with accuracy and class
/// distances varied by the cell's draws from `seed`.
#[allow(dead_code)] // Each bench includes this file and uses what it needs.
pub fn write_synthetic_table(dir: &Path, (experiment, script): &(Experiment, std::path::PathBuf), seed: u64) -> usize {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let store = Store::create(dir, &run_info(experiment, script)).unwrap();
    let version = save_version(&store, experiment).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let cells = xnas::space::distinct_valid_cells(Genome::all());
    let candidates: Vec<NewEvaluation> = cells
        .iter()
        .enumerate()
        .map(|(k, &genome)| NewEvaluation { candidate: k as u64, genome, parents: Vec::new(), generation: 0 })
        .collect();
    let ids = store.enqueue(&candidates, &experiment.training_hash(), version).unwrap();
    for (candidate, &id) in candidates.iter().zip(&ids) {
        let mut record = synthetic_record(experiment.eval_config(), &candidate.genome);
        record.val_accuracy = Some(rng.random_range(0.3..0.9));
        for row in record.class_distance.iter_mut() {
            for d in row.iter_mut().flatten() {
                *d *= rng.random_range(0.5..1.5);
            }
        }
        record.introspectability = xnas::introspect::introspectability(&record.class_distance);
        record.train_seconds = rng.random_range(1.0..3.0);
        store.mark_running(id, "cpu").unwrap();
        store.finish(id, &record).unwrap();
    }
    cells.len()
}
