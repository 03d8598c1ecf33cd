//! Time the trust measurements add to an evaluation (the passes of `xnas::evaluate::trust`), as a
//! share of training time, at the quickstart's size: its experiment's own training config
//! (Fashion-MNIST subsets, C = 8, N = 1, 3 epochs, its `trust_mean_images`), for a few
//! architectures, without and with label noise 0.2 (which scores every given label). The goal is
//! ≤ 10 %.
//!
//! Each network is trained once; then, in the same process and alternating, the trust passes run
//! as before `trust_mean_images` existed (`"all"`: the reference) and as the quickstart sets them
//! (the new path), each twice, keeping the faster. The shares use process CPU time as well as wall
//! time: on a machine shared with other work, CPU time is what the passes themselves cost. For
//! the last architecture it also prints where a similarity tap's time goes (the dot products; the
//! norms summed in f64, as `"all"` does, or in f32, as a count does).
//!
//! `cargo bench --bench trust_time [-- --device cpu --archs 002404,013401,444444]`

use std::time::Instant;

use tch::nn::ModuleT;
use tch::Tensor;
use xnas::evaluate::trust::{measure_trust, process_cpu_seconds, PassTiming, TrustInputs};
use xnas::evaluate::{evaluate_model, load_dataset, EvalProgress, Prepared};
use xnas::introspect::stream::{ClassMeanAccumulator, MeanSimilarity, NormSum};
use xnas::introspect::TapConsumer;
use xnas::record::{EvalConfig, ImageCount, MeasurementRecord};
use xnas::space::Genome;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned().unwrap_or_else(|| default.to_string())
}

/// Wall and CPU seconds of one run of the trust passes, and each pass's timing.
struct TrustRun {
    wall: f64,
    cpu: f64,
    passes: Vec<PassTiming>,
}

fn run_trust(
    net: &xnas::nn::Network,
    inputs: &TrustInputs,
    config: &EvalConfig,
    record: &MeasurementRecord,
) -> TrustRun {
    let mut record = record.clone();
    let (wall, cpu) = (Instant::now(), process_cpu_seconds());
    let passes = measure_trust(net, inputs, config, &mut record, &mut |_| {});
    TrustRun { wall: wall.elapsed().as_secs_f64(), cpu: process_cpu_seconds() - cpu, passes }
}

/// The faster of two runs (by CPU time).
fn faster(a: TrustRun, b: TrustRun) -> TrustRun {
    if a.cpu <= b.cpu {
        a
    } else {
        b
    }
}

fn breakdown(passes: &[PassTiming]) -> String {
    passes
        .iter()
        .map(|p| {
            format!(
                "{} {} img ({} tapped, batch {}) {:.2} s ({:.2} CPU s)",
                p.pass.name().trim_start_matches("trust: "),
                p.images,
                p.tapped,
                p.batch_size,
                p.seconds,
                p.cpu_seconds
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The similarity tap's dot products alone (no norms): what the matmul part of a tap costs.
struct DotsOnly(Vec<Tensor>);

impl TapConsumer for DotsOnly {
    fn tap(&mut self, layer: usize, activation: &Tensor) {
        let _ = activation.flatten(1, -1).matmul(&self.0[layer].tr());
    }
}

/// Where a similarity tap's time goes, over the test split in the trust passes' batches: CPU
/// seconds of the forward alone, then with the dot products with the class means, then the
/// whole tap with f64 norms (as before) and with f32 norms (now). Each the faster of two runs.
fn tap_costs(net: &xnas::nn::Network, inputs: &TrustInputs, config: &EvalConfig) -> String {
    let _no_grad = tch::no_grad_guard();
    let batch = config.batch_size.max(1);
    let mut accumulator = ClassMeanAccumulator::new(inputs.num_classes, inputs.train.images.device());
    for index in inputs.train.sequential_batches(batch).take(4) {
        let (x, y) = inputs.train.batch(&index, inputs.norm);
        accumulator.begin_batch(&y);
        let _ = net.forward_tapped(&x, false, config.taps, &mut accumulator);
    }
    let test = inputs.test;
    let cpu_seconds = |tap: &mut dyn FnMut(&Tensor)| {
        let mut best = f64::INFINITY;
        for _ in 0..2 {
            let started = process_cpu_seconds();
            for index in test.sequential_batches(batch) {
                tap(&test.batch(&index, inputs.norm).0);
            }
            best = best.min(process_cpu_seconds() - started);
        }
        best
    };
    let forward = cpu_seconds(&mut |x| drop(net.forward_t(x, false)));
    let mut dots = DotsOnly(accumulator.class_means());
    let with_dots = cpu_seconds(&mut |x| drop(net.forward_tapped(x, false, config.taps, &mut dots)));
    let whole = |norm_sum| {
        let mut similarity = MeanSimilarity::new(accumulator.class_means(), norm_sum);
        cpu_seconds(&mut |x| {
            let _ = net.forward_tapped(x, false, config.taps, &mut similarity);
            drop(similarity.take_batch());
        })
    };
    let (f64_norms, f32_norms) = (whole(NormSum::F64), whole(NormSum::F32));
    format!(
        "{} test images, CPU s: forward {forward:.3}; + dot products {:.3}; whole tap with f64 norms (before) \
         +{:.3}, with f32 norms (after) +{:.3}",
        test.len,
        with_dots - forward,
        f64_norms - forward,
        f32_norms - forward
    )
}

fn main() {
    if std::env::var_os("OMP_WAIT_POLICY").is_none() {
        // As the executor runs its workers: spinning OpenMP threads would count as CPU time.
        std::env::set_var("OMP_WAIT_POLICY", "PASSIVE");
    }
    let quickstart = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/quickstart.rhai");
    let experiment = xnas::script::compile_file(&quickstart).expect("the quickstart compiles");
    let new = EvalConfig { device: arg("--device", "cpu"), ..experiment.eval_config().clone() };
    let reference = EvalConfig { trust_mean_images: ImageCount::All, ..new.clone() };
    println!(
        "quickstart size: {} training images, {} test images, C={} N={}, {} epochs, batch {}, device {}, \
         trust_mean_images {} (reference: \"all\", the first {} training images)",
        new.train_subset.map_or("all".into(), |n| n.to_string()),
        new.test_subset.map_or("all".into(), |n| n.to_string()),
        new.channels,
        new.cells_per_stage,
        new.epochs,
        new.batch_size,
        new.device,
        new.trust_mean_images,
        new.introspect_max_samples,
    );
    println!(
        "{:<8} {:>5} {:>8} {:>8} | {:>9} {:>9} {:>7} | {:>9} {:>9} {:>7}",
        "arch", "noise", "train s", "train cpu", "ref s", "ref cpu", "ref %", "new s", "new cpu", "new %"
    );
    for noise in [0.0, 0.2] {
        let (mut train_cpu_total, mut reference_total, mut new_total) = (0.0, 0.0, 0.0);
        let dataset = load_dataset(&EvalConfig { label_noise: noise, ..new.clone() })
            .expect("Fashion-MNIST (scripts/setup.sh installs it)");
        let mut last_breakdowns = (String::new(), String::new(), String::new());
        for arch in arg("--archs", "002404,013401,444444").split(',') {
            let genome: Genome = arch.parse().expect("an architecture");
            let config = EvalConfig { label_noise: noise, ..new.clone() };
            let reference = EvalConfig { label_noise: noise, ..reference.clone() };
            // Training's CPU time: from the start to its first validation batch.
            let started = process_cpu_seconds();
            let mut trained_at = None;
            let (record, model) = evaluate_model(&genome, &config, &dataset, &mut |p| {
                if matches!(p, EvalProgress::Validating(_)) && trained_at.is_none() {
                    trained_at = Some(process_cpu_seconds());
                }
            })
            .expect("an evaluation");
            let train_cpu = trained_at.expect("a validation pass") - started;
            let prepared = Prepared::new(&config, &dataset).expect("the dataset on its device");
            let inputs = TrustInputs {
                genome: &genome,
                train: &prepared.train,
                test: &prepared.test,
                norm: &prepared.norm,
                num_classes: prepared.macro_config.num_classes,
                corrupted_labels: &dataset.corrupted_labels,
            };
            let (first_reference, first_new) =
                (run_trust(&model.net, &inputs, &reference, &record), run_trust(&model.net, &inputs, &config, &record));
            let before = faster(first_reference, run_trust(&model.net, &inputs, &reference, &record));
            let after = faster(first_new, run_trust(&model.net, &inputs, &config, &record));
            println!(
                "{arch:<8} {noise:>5} {:>8.2} {:>8.2} | {:>9.2} {:>9.2} {:>6.1}% | {:>9.2} {:>9.2} {:>6.1}%",
                record.train_seconds,
                train_cpu,
                before.wall,
                before.cpu,
                100.0 * before.cpu / train_cpu,
                after.wall,
                after.cpu,
                100.0 * after.cpu / train_cpu
            );
            train_cpu_total += train_cpu;
            reference_total += before.cpu;
            new_total += after.cpu;
            last_breakdowns =
                (breakdown(&before.passes), breakdown(&after.passes), tap_costs(&model.net, &inputs, &config));
        }
        println!("  passes of the last architecture:");
        println!("    reference: {}", last_breakdowns.0);
        println!("    new:       {}", last_breakdowns.1);
        println!("    similarity tap: {}", last_breakdowns.2);
        println!(
            "  label noise {noise}, over all architectures (CPU time): trust / training = {:.1}% before, {:.1}% \
             after (goal ≤ 10%)",
            100.0 * reference_total / train_cpu_total,
            100.0 * new_total / train_cpu_total
        );
    }
}
