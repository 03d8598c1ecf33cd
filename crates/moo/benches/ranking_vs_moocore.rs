//! Front ranking against moocore 0.3.2 on the same point sets, in one run (`cargo bench -p xnas-moo
//! --bench ranking_vs_moocore`). Prints a table of both times, their ratio and whether the ranks
//! agree; it is a benchmark that prints figures, not a timed test.
//!
//! Sets: mutually non-dominated points (|N(0,1)| vectors scaled to the unit sphere) with n = 1k,
//! 10k, 100k in 2-D and 3-D, 1k and 10k in 4-D, 1k in 5-D; and uniformly random (mostly dominated)
//! sets of 10k points in 2-, 3- and 5-D, as in moocore's ranking figures. The sets are written as
//! raw f64 files; `moocore_ranks.py` times `moocore.pareto_rank` on them in-process
//! (`time.perf_counter`, median of repeats) and writes its ranks back for the comparison.
//! The Python is `$XNAS_PYTHON`, else the workspace's `.venv/bin/python`, else `python3`; moocore
//! 0.3.2 is pip-installed into it when missing.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xnas_moo::pareto_ranks_flat;

#[path = "../../../benches/support/moocore.rs"]
mod moocore;
use moocore::{ensure_moocore, python, MOOCORE_VERSION};

struct Set {
    name: &'static str,
    n: usize,
    d: usize,
    values: Vec<f64>,
}

fn non_dominated_set(n: usize, d: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let mut values = Vec::with_capacity(n * d);
    for _ in 0..n {
        let mut row: Vec<f64> = (0..d).map(|_| standard_normal(rng).abs() + 1e-12).collect();
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        row.iter_mut().for_each(|v| *v /= norm);
        values.extend(row);
    }
    values
}

fn random_set(n: usize, d: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    (0..n * d).map(|_| rng.random::<f64>()).collect()
}

/// Box–Muller; the benchmark needs no more than this.
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = 1.0 - rng.random::<f64>();
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// Median and minimum over enough repeats to fill about half a second (3 to 51 of them).
fn time_ours(values: &[f64], d: usize) -> (Duration, Duration, usize, Vec<usize>) {
    let start = Instant::now();
    let ranks = pareto_ranks_flat(values, d).expect("valid points");
    let once = start.elapsed().max(Duration::from_micros(1));
    let repeats = ((0.5 / once.as_secs_f64()) as usize).clamp(3, 51);
    let mut times: Vec<Duration> = (0..repeats)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(pareto_ranks_flat(std::hint::black_box(values), d).unwrap());
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[times.len() / 2], times[0], repeats, ranks)
}

fn main() {
    let mut rng = ChaCha8Rng::seed_from_u64(20250617);
    let mut sets = Vec::new();
    for (n, d) in [
        (1_000, 2),
        (10_000, 2),
        (100_000, 2),
        (1_000, 3),
        (10_000, 3),
        (100_000, 3),
        (1_000, 4),
        (10_000, 4),
        (1_000, 5),
    ] {
        sets.push(Set { name: "non-dominated", n, d, values: non_dominated_set(n, d, &mut rng) });
    }
    for d in [2, 3, 5] {
        sets.push(Set { name: "random", n: 10_000, d, values: random_set(10_000, d, &mut rng) });
    }

    let dir = std::env::temp_dir().join(format!("xnas-ranking-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let python = python();
    ensure_moocore(&python);

    // Each set is timed by both right after each other, so a change in machine load between sets
    // does not skew the ratio.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/moocore_ranks.py");
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for (k, set) in sets.iter().enumerate() {
        let path = dir.join(format!("set{k}_{}_{}x{}.f64", set.name, set.n, set.d));
        let bytes: Vec<u8> = set.values.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&path, bytes).unwrap();
        let (median, min, repeats, ranks) = time_ours(&set.values, set.d);
        let manifest_path = dir.join(format!("manifest{k}.txt"));
        std::fs::write(&manifest_path, format!("{} {} {} {}\n", path.display(), set.n, set.d, repeats)).unwrap();
        let output = Command::new(&python).arg(&script).arg(&manifest_path).output().expect("python runs");
        assert!(output.status.success(), "moocore timing failed:\n{}", String::from_utf8_lossy(&output.stderr));
        let stdout = String::from_utf8(output.stdout).unwrap();
        let fields: Vec<&str> = stdout.split_whitespace().collect();
        assert_eq!(fields.len(), 3, "moocore printed {stdout}");
        theirs.push((fields[1].parse::<f64>().unwrap(), fields[2].parse::<f64>().unwrap()));
        ours.push((path, median, min, ranks));
    }

    println!(
        "front ranking, xnas-moo vs moocore {MOOCORE_VERSION} (median of repeats; one core; ratio = moocore / xnas)"
    );
    println!("| set | n | d | fronts | xnas-moo | moocore | ratio | ranks equal |");
    println!("|---|---:|---:|---:|---:|---:|---:|:---:|");
    let mut all_equal = true;
    for (set, ((path, median, _min, ranks), (their_median, _their_min))) in sets.iter().zip(ours.iter().zip(&theirs)) {
        let bytes = std::fs::read(format!("{}.moocore", path.display())).unwrap();
        let their_ranks: Vec<usize> =
            bytes.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap()) as usize).collect();
        let equal = &their_ranks == ranks;
        all_equal &= equal;
        let fronts = ranks.iter().max().map_or(0, |r| r + 1);
        let ours_ms = median.as_secs_f64() * 1e3;
        let theirs_ms = their_median * 1e3;
        println!(
            "| {} | {} | {} | {} | {:.3} ms | {:.3} ms | {:.2}× | {} |",
            set.name,
            set.n,
            set.d,
            fronts,
            ours_ms,
            theirs_ms,
            theirs_ms / ours_ms,
            if equal { "yes" } else { "NO" }
        );
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(all_equal, "ranks differ from moocore's");
}
