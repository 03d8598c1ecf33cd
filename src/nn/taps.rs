//! Which layers' outputs feed introspectability, and the consumer interface they are fed to.
//!
//! The forward pass calls the consumer with each tapped activation as soon as it exists, so an
//! accumulator can fold it into per-class sums and drop it: nothing of a batch's activations is
//! kept (concatenating them would take gigabytes at batch 512).

use tch::Tensor;

pub use crate::introspect::TapSet;

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

/// Numbers the tapped layers of one forward pass and filters them by tap set.
pub(crate) struct Tapper<'a> {
    pub set: Option<TapSet>,
    pub next_layer: usize,
    pub consumer: &'a mut dyn TapConsumer,
}

impl Tapper<'_> {
    pub fn conv_or_relu(&mut self, activation: &Tensor) {
        if self.set == Some(TapSet::ConvAndRelu) {
            self.emit(activation);
        }
    }

    pub fn cell(&mut self, activation: &Tensor) {
        if self.set == Some(TapSet::Cells) {
            self.emit(activation);
        }
    }

    fn emit(&mut self, activation: &Tensor) {
        self.consumer.tap(self.next_layer, activation);
        self.next_layer += 1;
    }
}
