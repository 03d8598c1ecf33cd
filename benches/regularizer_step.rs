//! Step time of training with the introspectability regularizer against plain training of the
//! same network, in one process, alternating the two so that machine load hits both alike.
//!
//! `cargo bench --bench regularizer_step [-- --channels 16 --cells 5 --batch 128 --steps 10 --device cpu]`

use std::time::Instant;

use tch::nn::{ModuleT, OptimizerConfig};
use tch::{Device, Kind, Tensor};
use xnas::introspect::regularizer::BatchClassSimilarity;
use xnas::introspect::TapSet;
use xnas::nn::Network;
use xnas::space::{Genome, MacroConfig};

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned().unwrap_or_else(|| default.to_string())
}

fn main() {
    let channels: usize = arg("--channels", "16").parse().unwrap();
    let cells: usize = arg("--cells", "5").parse().unwrap();
    let batch: i64 = arg("--batch", "128").parse().unwrap();
    let steps: usize = arg("--steps", "10").parse().unwrap();
    let device = match arg("--device", "cpu").as_str() {
        "cpu" => Device::Cpu,
        _ => Device::Cuda(0),
    };
    let genome: Genome = arg("--arch", "002404").parse().unwrap();
    let config = MacroConfig { channels, cells_per_stage: cells, num_classes: 10, input: (1, 28, 28) };
    tch::manual_seed(0);
    let (vs, net) = Network::build(&genome, &config, device);
    let mut opt = tch::nn::Sgd { momentum: 0.9, dampening: 0.0, wd: 5e-4, nesterov: true }.build(&vs, 0.01).unwrap();
    let x = Tensor::randn([batch, 1, 28, 28], (Kind::Float, device));
    let y = Tensor::randint(10, [batch], (Kind::Int64, device));
    let omega = Tensor::ones([10, 10], (Kind::Float, device));

    let mut step = |regularized: bool| {
        let start = Instant::now();
        let loss = if regularized {
            let mut similarity = BatchClassSimilarity::new(&y, 10);
            let logits = net.forward_tapped(&x, true, TapSet::ConvAndRelu, &mut similarity);
            logits.cross_entropy_for_logits(&y) + similarity.penalty(&omega) * 0.5
        } else {
            net.forward_t(&x, true).cross_entropy_for_logits(&y)
        };
        opt.backward_step(&loss);
        let _ = loss.double_value(&[]); // waits for the device
        start.elapsed().as_secs_f64()
    };
    step(false);
    step(true);
    let (mut plain, mut reg) = (Vec::new(), Vec::new());
    for _ in 0..steps {
        plain.push(step(false));
        reg.push(step(true));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (p, r) = (median(&mut plain), median(&mut reg));
    println!(
        "training step, {} C={channels} N={cells}, batch {batch} of 1x28x28, {device:?}, {steps} steps each (median)",
        genome.compact()
    );
    println!("{:>24} {:>10}", "", "ms/step");
    println!("{:>24} {:>10.1}", "plain", 1e3 * p);
    println!("{:>24} {:>10.1}", "with regularizer", 1e3 * r);
    println!("{:>24} {:>10.2}x", "ratio", r / p);
}
