//! Training with appendix B's recipe: SGD with Nesterov momentum 0.9, lr 0.1, weight decay 5e-4,
//! batch 512, cross entropy, linear warmup over half an epoch then cosine decay to 0.
//!
//! The schedule is pure (and tested on its own); the loop itself needs libtorch.

mod schedule;
#[cfg(feature = "torch")]
mod trainer;

pub use schedule::warmup_cosine_lr;
#[cfg(feature = "torch")]
pub use trainer::{torch_message, train, train_stoppable, Regularizer, TrainError, TrainOutcome, TrainProgress};
