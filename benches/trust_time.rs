//! Time the trust measurements add to an evaluation (the training and test passes of
//! `xnas::evaluate::trust`), as a fraction of training time, at the quickstart's size: its
//! experiment's own training config (Fashion-MNIST subsets, C = 8, N = 1, 3 epochs), for a few
//! architectures, with and without label noise (which adds a second pass over the training images).
//! The goal is ≤ 10 %.
//!
//! `cargo bench --bench trust_time [-- --device cpu --archs 002404,013401,444444]`

use xnas::evaluate::{evaluate, load_dataset};
use xnas::record::EvalConfig;
use xnas::space::Genome;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned().unwrap_or_else(|| default.to_string())
}

fn main() {
    let quickstart = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/quickstart.rhai");
    let experiment = xnas::script::compile_file(&quickstart).expect("the quickstart compiles");
    let base = EvalConfig { device: arg("--device", "cpu"), ..experiment.eval_config().clone() };
    println!(
        "quickstart size: {} training images, {} test images, C={} N={}, {} epochs, batch {}, device {}",
        base.train_subset.map_or("all".into(), |n| n.to_string()),
        base.test_subset.map_or("all".into(), |n| n.to_string()),
        base.channels,
        base.cells_per_stage,
        base.epochs,
        base.batch_size,
        base.device
    );
    println!("{:<8} {:>11} {:>10} {:>10} {:>9}", "arch", "label noise", "train s", "trust s", "fraction");
    let (mut train_total, mut trust_total) = (0.0, 0.0);
    for noise in [0.0, 0.2] {
        let config = EvalConfig { label_noise: noise, ..base.clone() };
        let dataset = load_dataset(&config).expect("Fashion-MNIST (scripts/setup.sh installs it)");
        for arch in arg("--archs", "002404,013401,444444").split(',') {
            let genome: Genome = arch.parse().expect("an architecture");
            let record = evaluate(&genome, &config, &dataset, &mut |_| {}).expect("an evaluation");
            let fraction = record.trust_seconds / record.train_seconds;
            println!(
                "{arch:<8} {noise:>11} {:>10.2} {:>10.2} {:>8.1}%",
                record.train_seconds,
                record.trust_seconds,
                100.0 * fraction
            );
            if noise == 0.0 {
                train_total += record.train_seconds;
                trust_total += record.trust_seconds;
            }
        }
    }
    println!(
        "without label noise, over all architectures: trust / training = {:.1}% (goal ≤ 10%)",
        100.0 * trust_total / train_total
    );
}
