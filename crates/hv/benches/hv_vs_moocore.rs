//! Hypervolume against moocore 0.3.2 on the same point sets, in one run (`cargo bench -p xnas-hv
//! --bench hv_vs_moocore`). Prints both times, their ratio and the relative difference of the
//! values; a benchmark that prints figures, not a timed test.
//!
//! Sets: mutually non-dominated points (|N(0,1)| vectors scaled to the unit sphere, minimised,
//! reference 1.1 in every objective): n = 1k, 10k, 100k in 2-D and 3-D; 1k and 10k in 4-D; 1k in
//! 5-D and 6-D. They are written as raw f64 files and `moocore_hv.py` times `moocore.hypervolume` on them
//! in-process (median of repeats). The Python is `$XNAS_PYTHON`, else the workspace's
//! `.venv/bin/python`, else `python3`; moocore is pip-installed into it when missing.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[path = "../../../benches/support/moocore.rs"]
mod moocore;
use moocore::{ensure_moocore, python, MOOCORE_VERSION};

fn non_dominated_set(n: usize, d: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let mut values = Vec::with_capacity(n * d);
    for _ in 0..n {
        let mut row: Vec<f64> = (0..d)
            .map(|_| {
                let u: f64 = 1.0 - rng.random::<f64>();
                let v: f64 = rng.random();
                ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()).abs() + 1e-12
            })
            .collect();
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        row.iter_mut().for_each(|v| *v /= norm);
        values.extend(row);
    }
    values
}

/// Median over enough repeats to fill about half a second (3 to 51 of them), and the value.
fn time_ours(values: &[f64], reference: &[f64]) -> (Duration, usize, f64) {
    let start = Instant::now();
    let value = xnas_hv::hypervolume_flat(values, reference).expect("valid points");
    let once = start.elapsed().max(Duration::from_micros(1));
    let repeats = ((0.5 / once.as_secs_f64()) as usize).clamp(3, 51);
    let mut times: Vec<Duration> = (0..repeats)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(xnas_hv::hypervolume_flat(std::hint::black_box(values), reference).unwrap());
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[times.len() / 2], repeats, value)
}

fn main() {
    let mut rng = ChaCha8Rng::seed_from_u64(20261128);
    let dir = std::env::temp_dir().join(format!("xnas-hv-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let python = python();
    ensure_moocore(&python);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/moocore_hv.py");
    println!("hypervolume, xnas-hv vs moocore {MOOCORE_VERSION} (median of repeats; one core; ratio = moocore / xnas)");
    println!("| n | d | xnas-hv | moocore | ratio | relative difference |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let mut worst = 0.0f64;
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
        (1_000, 6),
    ] {
        let values = non_dominated_set(n, d, &mut rng);
        let reference = vec![1.1; d];
        let path = dir.join(format!("set_{n}x{d}.f64"));
        std::fs::write(&path, values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
        let (median, repeats, ours) = time_ours(&values, &reference);
        let reference_text = reference.iter().map(f64::to_string).collect::<Vec<_>>().join(",");
        let output = Command::new(&python)
            .arg(&script)
            .args([path.display().to_string(), n.to_string(), d.to_string(), repeats.to_string(), reference_text])
            .output()
            .expect("python runs");
        assert!(output.status.success(), "moocore timing failed:\n{}", String::from_utf8_lossy(&output.stderr));
        let stdout = String::from_utf8(output.stdout).unwrap();
        let fields: Vec<f64> = stdout.split_whitespace().map(|f| f.parse().unwrap()).collect();
        let (theirs, their_median) = (fields[0], fields[1]);
        let relative = ((ours - theirs) / theirs).abs();
        worst = worst.max(relative);
        let (ours_ms, theirs_ms) = (median.as_secs_f64() * 1e3, their_median * 1e3);
        println!("| {n} | {d} | {ours_ms:.3} ms | {theirs_ms:.3} ms | {:.2}× | {relative:.1e} |", theirs_ms / ours_ms);
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(worst <= 1e-12, "values differ from moocore's by up to {worst:e}");
}
