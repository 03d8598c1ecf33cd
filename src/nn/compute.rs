//! How a training forward pass does its arithmetic: fp32 as the layers are, or mixed bf16 —
//! convolutions and the classifier on bf16 copies of their inputs and weights, batch norm with
//! f32 parameters and statistics, logits back in f32 — which is what PyTorch's CUDA autocast
//! does with these layers. tch's `autocast` can only give CUDA's default (fp16, which needs loss
//! scaling), so the casts are written out here; they are ordinary differentiable ops, and the
//! gradients reach the f32 weights the optimiser keeps.
//!
//! Also the channels-last layout of an input batch: which of these a training uses is decided
//! from the training settings and the device (`crate::record::ComputeSettings`); on a CPU it is
//! always [`Compute::F32`] with the contiguous layout.

use tch::nn::{Conv2D, Linear};
use tch::{Kind, Tensor};

use super::taps::Tapper;

/// One forward pass: training or evaluation mode, its arithmetic, and its taps.
pub(crate) struct Pass<'a> {
    pub train: bool,
    pub compute: Compute,
    pub tapper: Tapper<'a>,
}

/// The arithmetic of convolutions and the classifier in one forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compute {
    /// The layers as they are: the only path evaluation and every CPU training take.
    #[default]
    F32,
    /// Mixed precision: bf16 compute, f32 weights, batch-norm statistics and logits.
    Bf16,
}

impl Compute {
    /// `conv(x)` for a conv without bias, dilation 1 and one group (every conv of the network),
    /// with its `stride` and zero `padding`.
    pub(crate) fn conv(self, x: &Tensor, conv: &Conv2D, stride: i64, padding: i64) -> Tensor {
        match self {
            Compute::F32 => x.apply(conv),
            Compute::Bf16 => x.to_kind(Kind::BFloat16).conv2d(
                &conv.ws.to_kind(Kind::BFloat16),
                None::<Tensor>,
                [stride, stride],
                [padding, padding],
                [1, 1],
                1,
            ),
        }
    }

    /// The classifier; its logits are f32 either way, so the loss is computed in f32.
    pub(crate) fn linear(self, x: &Tensor, linear: &Linear) -> Tensor {
        match self {
            Compute::F32 => x.apply(linear),
            Compute::Bf16 => {
                let bias = linear.bs.as_ref().map(|b| b.to_kind(Kind::BFloat16));
                x.to_kind(Kind::BFloat16).linear(&linear.ws.to_kind(Kind::BFloat16), bias).to_kind(Kind::Float)
            }
        }
    }
}

/// `x` (`[b, c, h, w]`) with the same values in channels-last memory order (strides
/// `[h·w·c, 1, w·c, c]`), the layout PyTorch's `memory_format=torch.channels_last` gives (tch has
/// no memory-format argument). cuDNN runs a convolution in NHWC when its input is laid out so,
/// and batch norm, ReLU, pooling and sums keep the layout, so one conversion per batch suffices.
pub fn channels_last(x: &Tensor) -> Tensor {
    x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::{self, Module};
    use tch::Device;

    #[test]
    fn channels_last_keeps_the_values_and_strides_channels_fastest() {
        let x = Tensor::arange(2 * 3 * 4 * 5, (Kind::Float, Device::Cpu)).view([2, 3, 4, 5]);
        let y = channels_last(&x);
        assert_eq!(y.size(), [2, 3, 4, 5]);
        assert_eq!(y.stride(), [60, 1, 15, 3]);
        assert!(bool::try_from(y.eq_tensor(&x).all()).unwrap());
    }

    /// The mixed path computes what the f32 path does, to bf16's precision, gives f32 logits,
    /// and its gradients reach the f32 weights (run on a CPU here, which training never does).
    #[test]
    fn bf16_conv_and_linear_match_f32_to_bf16_precision() {
        tch::manual_seed(2);
        let vs = nn::VarStore::new(Device::Cpu);
        let config = nn::ConvConfig { stride: 2, padding: 1, bias: false, ..Default::default() };
        let conv = nn::conv2d(vs.root() / "c", 3, 4, 3, config);
        let linear = nn::linear(vs.root() / "l", 6, 5, Default::default());
        let x = Tensor::randn([2, 3, 8, 8], (Kind::Float, Device::Cpu));
        let exact = conv.forward(&x);
        let mixed = Compute::Bf16.conv(&x, &conv, 2, 1);
        assert_eq!(mixed.kind(), Kind::BFloat16);
        let error = (mixed.to_kind(Kind::Float) - &exact).abs().max().double_value(&[]);
        assert!(error < 0.05 * exact.abs().max().double_value(&[]), "{error}");
        assert!(Compute::F32.conv(&x, &conv, 2, 1).equal(&exact));

        let h = Tensor::randn([4, 6], (Kind::Float, Device::Cpu));
        let logits = Compute::Bf16.linear(&h, &linear);
        assert_eq!(logits.kind(), Kind::Float);
        let error = (&logits - linear.forward(&h)).abs().max().double_value(&[]);
        assert!(error < 0.05, "{error}");
        logits.sum(Kind::Float).backward();
        assert_eq!(linear.ws.grad().kind(), Kind::Float);
        assert!(linear.ws.grad().abs().sum(Kind::Float).double_value(&[]) > 0.0);
    }

    struct KindsSeen(Vec<Kind>);

    impl crate::introspect::TapConsumer for KindsSeen {
        fn tap(&mut self, _layer: usize, activation: &Tensor) {
            self.0.push(activation.kind());
        }
    }

    /// A whole mixed-precision training pass through every kind of edge and both reduction
    /// blocks, in channels-last layout: f32 logits near the f32 pass's, f32 taps, and f32
    /// gradients for every weight (on a CPU, where training itself never takes this path).
    #[test]
    fn a_mixed_channels_last_pass_trains_the_whole_network() {
        use crate::introspect::TapSet;
        use crate::nn::{MacroConfig, Network};
        tch::manual_seed(4);
        let genome: xnas_space::Genome = "012400".parse().unwrap(); // every edge kind but none, all live
        let config = MacroConfig { channels: 4, cells_per_stage: 1, num_classes: 3, input: (3, 8, 8) };
        let (vs, net) = Network::build(&genome, &config, Device::Cpu);
        let x = Tensor::randn([6, 3, 8, 8], (Kind::Float, Device::Cpu));
        let exact = net.forward_training(&x, Compute::F32, None);
        let mut seen = KindsSeen(Vec::new());
        let mixed = net.forward_training(&channels_last(&x), Compute::Bf16, Some((TapSet::ConvAndRelu, &mut seen)));
        assert_eq!(mixed.kind(), Kind::Float);
        let error = (&mixed - &exact).abs().max().double_value(&[]);
        assert!(error < 0.1 * (1.0 + exact.abs().max().double_value(&[])), "{error}");
        assert!(!seen.0.is_empty() && seen.0.iter().all(|&k| k == Kind::Float), "{:?}", seen.0);
        mixed.sum(Kind::Float).backward();
        for (name, w) in vs.variables() {
            if w.requires_grad() {
                let grad = w.grad();
                assert!(grad.defined(), "{name} has no gradient");
                assert_eq!((name.as_str(), grad.kind()), (name.as_str(), Kind::Float));
                assert!(bool::try_from(grad.isfinite().all()).unwrap(), "{name}");
            }
        }
    }
}
