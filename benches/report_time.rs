//! How long `xnas report` takes on a 64-evaluation run (the goal: under 2 s), without training:
//! a real run store is written through the store API — the quickstart experiment compiled from
//! `experiments/quickstart.rhai`, 8 generations of 8 candidates with parents, records made by the
//! script layer's synthetic record with varied accuracy and class distances, scores and saved
//! populations — then read and written as the report, as `xnas report` does. It prints the time of
//! each step, the best of five runs.
//!
//!     cargo bench --bench report_time

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xnas::record::synthetic_record;
use xnas::report::input::report_input;
use xnas::report::write_report;
use xnas::run::{run_info, save_version};
use xnas::script::compile_file;
use xnas::space::Genome;
use xnas::store::{NewEvaluation, NewGeneration, Score, Store};

const GENERATIONS: u64 = 8;
const PER_GENERATION: u64 = 8;

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("experiments/quickstart.rhai");
    let experiment = compile_file(&script).expect("the quickstart script compiles");
    let dir = std::env::temp_dir().join(format!("xnas-report-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::create(&dir, &run_info(&experiment, &script)).unwrap();
    let version = save_version(&store, &experiment).unwrap();

    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let valid: Vec<Genome> = Genome::all().filter(Genome::is_valid).collect();
    let mut population: Vec<u64> = Vec::new();
    for generation in 0..GENERATIONS {
        let candidates: Vec<NewEvaluation> = (0..PER_GENERATION)
            .map(|k| {
                let id = generation * PER_GENERATION + k;
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
            let accuracy = rng.random_range(0.6..0.95);
            record.val_accuracy = Some(accuracy);
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
    drop(store);

    let (mut best_read, mut best_write) = (f64::INFINITY, f64::INFINITY);
    let (mut first, mut files) = (0.0, 0);
    for attempt in 0..5 {
        let started = Instant::now();
        let input = report_input(&dir).expect("the bench store reads");
        let read = started.elapsed().as_secs_f64();
        let written = write_report(&input, &dir.join("report")).expect("the report writes");
        best_read = best_read.min(read);
        best_write = best_write.min(started.elapsed().as_secs_f64() - read);
        files = written.len();
        if attempt == 0 {
            // The first read also loads WordNet for the eq. 3–4 column (cached for the process after).
            first = started.elapsed().as_secs_f64();
        }
        assert_eq!(input.points.len() as u64, GENERATIONS * PER_GENERATION);
    }
    println!(
        "report of a {}-evaluation run ({files} files): first {first:.3} s (WordNet loaded once, as each `xnas report` \
         does); then read {best_read:.3} s + write {best_write:.3} s = {:.3} s (best of 5); goal < 2 s",
        GENERATIONS * PER_GENERATION,
        best_read + best_write
    );
    std::fs::remove_dir_all(dir).ok();
}
