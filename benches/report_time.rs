//! How long `xnas report` takes on a 64-evaluation run (the goal: under 2 s), without training:
//! a real run store of 8 generations of 8 candidates is written through the store API
//! (`support/synthetic_run.rs`), then read and written as the report, as `xnas report` does. It
//! prints the time of each step, the best of five runs.
//!
//!     cargo bench --bench report_time

use std::time::Instant;

use xnas::report::input::report_input;
use xnas::report::write_report;

#[path = "support/synthetic_run.rs"]
mod synthetic_run;

const GENERATIONS: u64 = 8;
const PER_GENERATION: u64 = 8;

fn main() {
    let dir = std::env::temp_dir().join(format!("xnas-report-bench-{}", std::process::id()));
    synthetic_run::write_synthetic_run(&dir, &synthetic_run::quickstart(), GENERATIONS, PER_GENERATION, 7);

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
