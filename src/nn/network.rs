//! The whole network: stem, three stages of cells joined by reduction blocks, and the head.

use tch::nn::{self, ModuleT};
use tch::{Device, Tensor};
use xnas_space::{Genome, MacroConfig};

use super::cell::{Cell, ReductionBlock};
use super::compute::{Compute, Pass};
use super::taps::Tapper;
use crate::introspect::{NoTap, TapConsumer, TapSet};

#[derive(Debug)]
enum Stage {
    Cell(Cell),
    Reduction(Box<ReductionBlock>),
}

/// A NAS-Bench-201 network for one genome. Its parameters live in the `VarStore` it was built in.
#[derive(Debug)]
pub struct Network {
    stem_conv: nn::Conv2D,
    stem_bn: nn::BatchNorm,
    stages: Vec<Stage>,
    head_bn: nn::BatchNorm,
    classifier: nn::Linear,
}

impl Network {
    /// Builds the network's layers under `p`. Input images are `[batch, c, h, w]` as in `config.input`.
    pub fn new(p: &nn::Path, genome: &Genome, config: &MacroConfig) -> Network {
        let c = config.channels as i64;
        let stem_config =
            nn::ConvConfig { padding: 1, bias: false, ws_init: super::PYTORCH_DEFAULT_INIT, ..Default::default() };
        let stem_conv = nn::conv2d(p / "stem_conv", config.input.0 as i64, c, 3, stem_config);
        let stem_bn = nn::batch_norm2d(p / "stem_bn", c, Default::default());
        let mut stages = Vec::new();
        let mut channels = c;
        for stage in 0..3 {
            if stage > 0 {
                let name = format!("reduction_{stage}");
                stages.push(Stage::Reduction(Box::new(ReductionBlock::new(p / name, channels, 2 * channels))));
                channels *= 2;
            }
            for k in 0..config.cells_per_stage {
                let name = format!("cell_{stage}_{k}");
                stages.push(Stage::Cell(Cell::new(p / name, genome, channels)));
            }
        }
        let head_bn = nn::batch_norm2d(p / "head_bn", channels, Default::default());
        let linear_config = nn::LinearConfig { ws_init: super::PYTORCH_DEFAULT_INIT, ..Default::default() };
        let classifier = nn::linear(p / "classifier", channels, config.num_classes as i64, linear_config);
        Network { stem_conv, stem_bn, stages, head_bn, classifier }
    }

    /// Logits for a batch, handing the activations of the layers in `taps` to `consumer`.
    pub fn forward_tapped(&self, x: &Tensor, train: bool, taps: TapSet, consumer: &mut dyn TapConsumer) -> Tensor {
        let tapper = Tapper { set: Some(taps), next_layer: 0, consumer };
        self.forward_with(x, &mut Pass { train, compute: Compute::F32, tapper })
    }

    /// Logits (f32) of a training batch computed with `compute`, handing the activations of
    /// `taps` (as f32) to `consumer` when there are taps.
    pub fn forward_training(
        &self,
        x: &Tensor,
        compute: Compute,
        taps: Option<(TapSet, &mut dyn TapConsumer)>,
    ) -> Tensor {
        let mut no_tap = NoTap;
        let tapper = match taps {
            Some((set, consumer)) => Tapper { set: Some(set), next_layer: 0, consumer },
            None => Tapper { set: None, next_layer: 0, consumer: &mut no_tap },
        };
        self.forward_with(x, &mut Pass { train: true, compute, tapper })
    }

    fn forward_with(&self, x: &Tensor, pass: &mut Pass) -> Tensor {
        let stem = pass.compute.conv(x, &self.stem_conv, 1, 1);
        pass.tapper.conv_or_relu(&stem);
        let mut h = stem.apply_t(&self.stem_bn, pass.train);
        for stage in &self.stages {
            h = match stage {
                Stage::Cell(cell) => {
                    let out = cell.forward(&h, pass);
                    pass.tapper.cell(&out);
                    out
                }
                Stage::Reduction(block) => block.forward(&h, pass),
            };
        }
        let h = h.apply_t(&self.head_bn, pass.train).relu();
        pass.tapper.conv_or_relu(&h);
        let pooled = h.adaptive_avg_pool2d([1, 1]).flatten(1, -1);
        pass.compute.linear(&pooled, &self.classifier)
    }

    /// The number of trainable parameters in a `VarStore` (BN running statistics excluded).
    pub fn count_parameters(vs: &nn::VarStore) -> u64 {
        vs.trainable_variables().iter().map(|t| t.numel() as u64).sum()
    }

    /// Builds a network in a fresh `VarStore` on `device`.
    pub fn build(genome: &Genome, config: &MacroConfig, device: Device) -> (nn::VarStore, Network) {
        let vs = nn::VarStore::new(device);
        let net = Network::new(&vs.root(), genome, config);
        (vs, net)
    }
}

impl ModuleT for Network {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut no_tap = NoTap;
        let tapper = Tapper { set: None, next_layer: 0, consumer: &mut no_tap };
        self.forward_with(x, &mut Pass { train, compute: Compute::F32, tapper })
    }
}
