//! The NAS-Bench-201 network in libtorch (tch): the macro skeleton, the searched cell, and
//! activation taps that hand every tapped layer's output to a consumer during the forward pass.
//!
//! The structure is NAS-Bench-201's `TinyNetwork`: a 3×3 conv stem with BN; `N` cells at `C`
//! channels; a residual reduction block to `2C` (stride 2); `N` cells; a block to `4C`; `N` cells;
//! BN + ReLU; global average pooling; a linear classifier. Parameter counts equal
//! [`xnas_space`]'s closed-form counts and NAS-Bench-201's published ones (tests check both).
//!
//! Evaluation passes compute in f32; a training pass may compute in mixed bf16 on CUDA
//! ([`Compute`]), with its batch in channels-last layout ([`channels_last`]).

mod cell;
mod compute;
mod network;
mod taps;

pub use compute::{channels_last, Compute};
pub use network::Network;
pub use xnas_space::MacroConfig;

/// PyTorch's default initialisation of conv and linear weights (kaiming-uniform with a = √5,
/// i.e. bounds ±1/√fan_in), which NAS-Bench-201's networks train with. tch's own default uses
/// the ReLU gain, √6 times wider, and trains these networks noticeably worse in few epochs.
pub(crate) const PYTORCH_DEFAULT_INIT: tch::nn::Init = tch::nn::Init::Kaiming {
    dist: tch::nn::init::NormalOrUniform::Uniform,
    fan: tch::nn::init::FanInOut::FanIn,
    non_linearity: tch::nn::init::NonLinearity::ExplicitGain(0.577_350_269_189_625_8), // 1/√3
};
