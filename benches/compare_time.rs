//! How long `xnas compare --group` takes for 2 groups × 5 runs × 100 evaluations (issue 20's goal:
//! under 2 s), without training: ten run stores of 10 generations of 10 candidates are written
//! through the store API (`support/synthetic_run.rs`), then read and compared as groups as the
//! command does — each run's report input, the runs labelled by group and seed (the groups pair
//! by seed), every file of the comparison written. It prints the read and compare times, the
//! best of five. With `XNAS_BENCH_OUT=DIR` the last comparison is also left in DIR, to look at.
//!
//!     cargo bench --bench compare_time

use std::time::Instant;

use xnas::report::compare::{files, ComparedRun};
use xnas::report::input::report_input;

#[path = "support/synthetic_run.rs"]
mod synthetic_run;

const GROUPS: [&str; 2] = ["✗", "✓"];
const RUNS_PER_GROUP: u64 = 5;
const GENERATIONS: u64 = 10;
const PER_GENERATION: u64 = 10;

fn main() {
    let root = std::env::temp_dir().join(format!("xnas-compare-bench-{}", std::process::id()));
    let experiment = synthetic_run::quickstart();
    let mut folders = Vec::new();
    for (g, label) in GROUPS.iter().enumerate() {
        for seed in 0..RUNS_PER_GROUP {
            let dir = root.join(format!("group{g}-s{seed}"));
            synthetic_run::write_synthetic_run(&dir, &experiment, GENERATIONS, PER_GENERATION, 100 * g as u64 + seed);
            folders.push((label, seed, dir));
        }
    }
    let out = std::env::var_os("XNAS_BENCH_OUT").map_or_else(|| root.join("compare"), std::path::PathBuf::from);
    let (mut best_read, mut best_compare, mut written) = (f64::INFINITY, f64::INFINITY, 0);
    for _ in 0..5 {
        let started = Instant::now();
        let runs: Vec<ComparedRun> = folders
            .iter()
            .map(|(label, seed, dir)| {
                let mut run =
                    ComparedRun::new(dir.display().to_string(), report_input(dir).expect("a bench run reads"));
                (run.group, run.seed) = (Some(label.to_string()), Some(*seed));
                run
            })
            .collect();
        let read = started.elapsed().as_secs_f64();
        let comparison = files(&runs);
        std::fs::create_dir_all(&out).unwrap();
        for (name, text) in &comparison {
            std::fs::write(out.join(name), text).unwrap();
        }
        best_read = best_read.min(read);
        best_compare = best_compare.min(started.elapsed().as_secs_f64() - read);
        written = comparison.len();
        let names: Vec<&str> = comparison.iter().map(|(n, _)| n.as_str()).collect();
        for group_file in
            ["groups.csv", "tests.csv", "groups_hypervolume.svg", "groups_evolution.svg", "eaf_difference.svg"]
        {
            assert!(names.contains(&group_file), "{group_file} missing from {names:?}");
        }
        assert!(runs.iter().all(|r| r.input.points.len() as u64 == GENERATIONS * PER_GENERATION));
    }
    println!(
        "compare of {} groups × {RUNS_PER_GROUP} runs × {} evaluations ({written} files): read {best_read:.3} s + \
         compare and write {best_compare:.3} s = {:.3} s (best of 5; the first read loads WordNet once, as each \
         `xnas compare` does); goal < 2 s",
        GROUPS.len(),
        GENERATIONS * PER_GENERATION,
        best_read + best_compare
    );
    std::fs::remove_dir_all(root).ok();
}
