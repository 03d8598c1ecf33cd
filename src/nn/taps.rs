//! Numbering and filtering of the tapped layers during one forward pass. Which layers are tapped
//! ([`TapSet`]) and who receives them ([`TapConsumer`]) are introspectability's side of the
//! interface (`crate::introspect`); the network only calls them.

use tch::{Kind, Tensor};

use crate::introspect::{TapConsumer, TapSet};

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

    /// Consumers get f32 whatever the pass computes in: in a mixed-precision pass the
    /// regularizer's class sums and Gram matrix would otherwise be formed in bf16.
    fn emit(&mut self, activation: &Tensor) {
        if activation.kind() == Kind::Float {
            self.consumer.tap(self.next_layer, activation);
        } else {
            self.consumer.tap(self.next_layer, &activation.to_kind(Kind::Float));
        }
        self.next_layer += 1;
    }
}
