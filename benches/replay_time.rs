//! How fast searches replay from a table (issue 21's goal: a study of 4 algorithms × 30 seeds ×
//! 300 evaluations on the full space's table in under 30 s on 2 cores), without training: a
//! table of every distinct cell (6,461) with synthetic records is written through the store API
//! (`support/synthetic_run.rs`) and exported as a table file, as a shipped table is; then
//! NSGA-II, R-NSGA-II, the GA and random search replay quickstart's objectives from it, each
//! over `XNAS_BENCH_SEEDS` seeds (default 30), population 30 for 10 generations, each a whole
//! `xnas run --table FILE` (its run folder, store, scoring and hypervolume included) but in this
//! process, as `xnas run --seeds` runs a study. It prints the study's time, the time per run and
//! per replayed evaluation, and the first read of the table file (the process reads it once).
//!
//!     cargo bench --bench replay_time --no-default-features

use std::path::PathBuf;
use std::time::Instant;

use xnas::run::{start, ExecutionOverrides, RunOptions, Table};

#[path = "support/synthetic_run.rs"]
mod synthetic_run;

const ALGORITHMS: [(&str, &[(&str, &str)]); 4] = [
    ("NSGA-II", &[("search.algorithm", "\"nsga2\"")]),
    ("R-NSGA-II", &[("search.algorithm", "\"nsga2\""), ("search.reference_points", "[[0.9, 0.5]]")]),
    ("GA", &[("search.algorithm", "\"ga\"")]),
    ("random", &[("search.algorithm", "\"random\"")]),
];
const POPULATION: u64 = 30;
const GENERATIONS: u64 = 10;

fn main() {
    let seeds: u64 = std::env::var("XNAS_BENCH_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    let root = std::env::temp_dir().join(format!("xnas-replay-bench-{}", std::process::id()));
    let experiment = synthetic_run::quickstart();
    let cells = synthetic_run::write_synthetic_table(&root.join("table"), &experiment, 7);
    let file = root.join("table.jsonl.gz");
    xnas::run::export_table(&root.join("table"), &file).expect("the table exports");

    let started = Instant::now();
    Table::read(&file, &experiment.0.training_hash(), experiment.0.eval_config()).expect("the table reads");
    let read = started.elapsed().as_secs_f64();

    let options = RunOptions {
        watch: false,
        device: None,
        program: PathBuf::new(),
        progress: false,
        execution: ExecutionOverrides { table: Some(file.clone()), ..ExecutionOverrides::default() },
        from: None,
    };
    let started = Instant::now();
    let mut evaluations = 0;
    let mut runs = 0;
    for (name, settings) in ALGORITHMS {
        let algorithm_started = Instant::now();
        for seed in 1..=seeds {
            let mut overrides: Vec<(String, String)> =
                settings.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect();
            overrides.push(("search.seed".into(), seed.to_string()));
            overrides.push(("search.population".into(), POPULATION.to_string()));
            overrides.push(("search.generations".into(), GENERATIONS.to_string()));
            let dir = root.join(format!("{name}-s{seed}"));
            let summary = start(&experiment.1, &dir, &overrides, &options).expect("a replay runs");
            evaluations += summary.evaluated;
            runs += 1;
        }
        eprintln!("{name}: {seeds} seed(s) in {:.1} s", algorithm_started.elapsed().as_secs_f64());
    }
    let study = started.elapsed().as_secs_f64();
    println!(
        "replay study: {} algorithms × {seeds} seeds × {} evaluations on a {cells}-cell table: {study:.1} s \
         ({:.2} s a run, {:.2} ms an evaluation; the first read of the table file {read:.2} s); goal < 30 s for 30 seeds",
        ALGORITHMS.len(),
        POPULATION * GENERATIONS,
        study / runs as f64,
        1000.0 * study / evaluations.max(1) as f64,
    );
    std::fs::remove_dir_all(root).ok();
}
