//! The tch network against NAS-Bench-201's published parameter counts and the closed-form counts
//! of `xnas-space`, and the streamed introspectability against fully materialised activations.

use tch::nn::ModuleT;
use tch::{Device, Kind, Tensor};
use xnas::introspect::stream::ClassMeanAccumulator;
use xnas::introspect::{introspectability, TapConsumer, TapSet};
use xnas::nn::Network;
use xnas::space::{Genome, MacroConfig, Op};

fn cifar_config() -> MacroConfig {
    MacroConfig { channels: 16, cells_per_stage: 5, num_classes: 10, input: (3, 32, 32) }
}

fn built_params(genome: &Genome, config: &MacroConfig) -> u64 {
    let (vs, _net) = Network::build(genome, config, Device::Cpu);
    Network::count_parameters(&vs)
}

#[test]
fn parameter_counts_are_nas_bench_201s() {
    let config = cifar_config();
    let all = |op| Genome([op; 6]);
    // NAS-Bench-201 (CIFAR-10, C=16, N=5): 0.0733 M with every edge zeroize; each conv3x3 edge
    // adds 243,040 parameters and each conv1x1 edge 28,000.
    let empty = built_params(&all(Op::Zeroize), &config);
    assert_eq!(empty, 73_306);
    assert_eq!(built_params(&all(Op::Conv3x3), &config), empty + 6 * 243_040);
    assert_eq!(built_params(&all(Op::Conv1x1), &config), empty + 6 * 28_000);
    assert_eq!(built_params(&all(Op::Skip), &config), empty);
    let mixed: Genome = "013240".parse().unwrap();
    assert_eq!(built_params(&mixed, &config), empty + 2 * 243_040 + 28_000);
    assert!((built_params(&all(Op::Conv3x3), &config) as f64 / 1e6 - 1.5315).abs() < 1e-4);
}

#[test]
fn closed_form_counts_equal_the_built_network() {
    let configs = [
        cifar_config(),
        MacroConfig { channels: 8, cells_per_stage: 2, num_classes: 10, input: (1, 28, 28) },
        MacroConfig { channels: 4, cells_per_stage: 1, num_classes: 120, input: (3, 16, 16) },
    ];
    // Every 97th genome: all ops on all edges appear, in a few seconds.
    for config in &configs {
        for genome in Genome::all().step_by(97) {
            assert_eq!(built_params(&genome, config), xnas::space::params(&genome, config), "{genome} {config:?}");
        }
    }
}

/// Keeps every tapped activation: the brute-force side of the introspectability check.
struct KeepAll(Vec<Tensor>);

impl TapConsumer for KeepAll {
    fn tap(&mut self, layer: usize, activation: &Tensor) {
        assert_eq!(layer, self.0.len(), "layers are numbered in forward order");
        self.0.push(activation.flatten(1, -1).to_kind(Kind::Double));
    }
}

#[test]
fn streamed_introspectability_equals_brute_force_on_a_real_network() {
    tch::manual_seed(11);
    let config = MacroConfig { channels: 4, cells_per_stage: 1, num_classes: 3, input: (1, 12, 12) };
    let genome: Genome = "012404".parse().unwrap();
    let (_vs, net) = Network::build(&genome, &config, Device::Cpu);
    let x = Tensor::randn([24, 1, 12, 12], (Kind::Float, Device::Cpu));
    let labels = Tensor::from_slice(&(0..24).map(|i| i % 3).collect::<Vec<i64>>());
    for taps in [TapSet::ConvAndRelu, TapSet::Cells] {
        let mut keep = KeepAll(Vec::new());
        let logits = net.forward_tapped(&x, false, taps, &mut keep);
        assert!(logits.allclose(&net.forward_t(&x, false), 1e-6, 1e-6, false));
        let all = Tensor::cat(&keep.0, 1); // [24, features], fully materialised
        let means: Vec<Vec<f64>> = (0..3)
            .map(|c| {
                let rows = labels.eq(c).nonzero().view([-1]);
                Vec::try_from(all.index_select(0, &rows).mean_dim(0, false, Kind::Double)).unwrap()
            })
            .collect();
        let cosine_distance = |a: &[f64], b: &[f64]| {
            let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
            1.0 - dot / (norm(a) * norm(b))
        };
        let brute = (cosine_distance(&means[0], &means[1])
            + cosine_distance(&means[0], &means[2])
            + cosine_distance(&means[1], &means[2]))
            / 3.0;

        // Streamed, in two batches of 12.
        let mut acc = ClassMeanAccumulator::new(3, Device::Cpu);
        for half in 0..2 {
            acc.begin_batch(&labels.narrow(0, half * 12, 12));
            let _ = net.forward_tapped(&x.narrow(0, half * 12, 12), false, taps, &mut acc);
        }
        let measured = acc.finish();
        assert_eq!(measured.tapped_features, all.size()[1] as u64);
        let streamed = introspectability(&measured.distances).unwrap();
        assert!((streamed - brute).abs() < 1e-6, "{taps:?}: streamed {streamed} vs brute force {brute}");
    }
}
