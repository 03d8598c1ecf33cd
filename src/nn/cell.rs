//! The searched cell and the residual reduction block, built from a genome.

use tch::nn;
use tch::Tensor;
use xnas_space::{Genome, Op, EDGES, NUM_NODES};

use super::compute::Pass;

/// ReLU → Conv (no bias) → BN: NAS-Bench-201's `ReLUConvBN`.
#[derive(Debug)]
pub(crate) struct ReluConvBn {
    conv: nn::Conv2D,
    bn: nn::BatchNorm,
    stride: i64,
    padding: i64,
}

impl ReluConvBn {
    pub fn new(p: nn::Path, c_in: i64, c_out: i64, kernel: i64, stride: i64) -> Self {
        let config = nn::ConvConfig {
            stride,
            padding: kernel / 2,
            bias: false,
            ws_init: super::PYTORCH_DEFAULT_INIT,
            ..Default::default()
        };
        ReluConvBn {
            conv: nn::conv2d(&p / "conv", c_in, c_out, kernel, config),
            bn: nn::batch_norm2d(&p / "bn", c_out, Default::default()),
            stride,
            padding: kernel / 2,
        }
    }

    pub fn forward(&self, x: &Tensor, pass: &mut Pass) -> Tensor {
        let relu = x.relu();
        pass.tapper.conv_or_relu(&relu);
        let conv = pass.compute.conv(&relu, &self.conv, self.stride, self.padding);
        pass.tapper.conv_or_relu(&conv);
        conv.apply_t(&self.bn, pass.train)
    }
}

#[derive(Debug)]
enum EdgeOp {
    Conv(Box<ReluConvBn>),
    AvgPool,
    Skip,
    Zero,
}

/// A cell: node j is the sum over i < j of edge op_{j←i}(node i); the cell outputs node 3.
#[derive(Debug)]
pub(crate) struct Cell {
    edges: Vec<EdgeOp>,
}

impl Cell {
    pub fn new(p: nn::Path, genome: &Genome, channels: i64) -> Self {
        let edges = genome
            .0
            .iter()
            .zip(EDGES)
            .map(|(op, edge)| {
                let name = format!("edge_{}_{}", edge.to, edge.from);
                match op {
                    Op::Conv3x3 => EdgeOp::Conv(Box::new(ReluConvBn::new(&p / name, channels, channels, 3, 1))),
                    Op::Conv1x1 => EdgeOp::Conv(Box::new(ReluConvBn::new(&p / name, channels, channels, 1, 1))),
                    Op::AvgPool3x3 => EdgeOp::AvgPool,
                    Op::Skip => EdgeOp::Skip,
                    Op::Zeroize => EdgeOp::Zero,
                }
            })
            .collect();
        Cell { edges }
    }

    pub fn forward(&self, x: &Tensor, pass: &mut Pass) -> Tensor {
        let mut nodes: Vec<Tensor> = vec![x.shallow_clone()];
        for to in 1..NUM_NODES {
            let mut sum: Option<Tensor> = None;
            for (edge, op) in EDGES.iter().zip(&self.edges).filter(|(e, _)| e.to == to) {
                let input = &nodes[edge.from];
                let out = match op {
                    EdgeOp::Conv(layer) => layer.forward(input, pass),
                    // count_include_pad=False, as NAS-Bench-201's POOLING op.
                    EdgeOp::AvgPool => input.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None),
                    EdgeOp::Skip => input.shallow_clone(),
                    EdgeOp::Zero => continue,
                };
                sum = Some(match sum {
                    None => out,
                    Some(s) => s + out,
                });
            }
            // A node with no live input is all zeros, as NAS-Bench-201's Zero op makes it.
            nodes.push(sum.unwrap_or_else(|| x.zeros_like()));
        }
        nodes.pop().expect("four nodes")
    }
}

/// NAS-Bench-201's `ResNetBasicblock` with stride 2: two ReLUConvBN 3×3 on the main path, and
/// 2×2 average pooling then a 1×1 conv on the shortcut.
#[derive(Debug)]
pub(crate) struct ReductionBlock {
    conv_a: ReluConvBn,
    conv_b: ReluConvBn,
    shortcut: nn::Conv2D,
}

impl ReductionBlock {
    pub fn new(p: nn::Path, c_in: i64, c_out: i64) -> Self {
        let shortcut_config =
            nn::ConvConfig { bias: false, ws_init: super::PYTORCH_DEFAULT_INIT, ..Default::default() };
        ReductionBlock {
            conv_a: ReluConvBn::new(&p / "conv_a", c_in, c_out, 3, 2),
            conv_b: ReluConvBn::new(&p / "conv_b", c_out, c_out, 3, 1),
            shortcut: nn::conv2d(&p / "shortcut", c_in, c_out, 1, shortcut_config),
        }
    }

    pub fn forward(&self, x: &Tensor, pass: &mut Pass) -> Tensor {
        let main = self.conv_a.forward(x, pass);
        let main = self.conv_b.forward(&main, pass);
        let pooled = x.avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None);
        let shortcut = pass.compute.conv(&pooled, &self.shortcut, 1, 0);
        pass.tapper.conv_or_relu(&shortcut);
        main + shortcut
    }
}
