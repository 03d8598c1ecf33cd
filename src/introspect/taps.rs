//! The interface between the network and introspectability: a consumer of tapped activations.
//!
//! The forward pass ([`crate::nn::Network::forward_tapped`]) calls the consumer with each tapped
//! activation as soon as it exists, so an accumulator can fold it into per-class sums and drop it:
//! nothing of a batch's activations is kept (concatenating them would take gigabytes at batch 512).
//! It lives here, beside [`TapSet`](super::TapSet) and its two consumers ([`super::stream`],
//! [`super::regularizer`]), so that `nn` depends on `introspect` and never the other way round.

use tch::Tensor;

/// Receives tapped activations, in a fixed order, during a forward pass.
pub trait TapConsumer {
    /// `layer` counts tapped layers from 0 in forward order; it is the same for the same layer
    /// on every forward pass of one network. `activation` is `[batch, ...]`.
    fn tap(&mut self, layer: usize, activation: &Tensor);
}

/// A consumer that ignores everything: plain training and inference.
pub struct NoTap;

impl TapConsumer for NoTap {
    fn tap(&mut self, _layer: usize, _activation: &Tensor) {}
}
