//! The training loop: batches gathered and augmented on the device, SGD with the warmup-cosine
//! schedule, and a check that the loss stays finite.

use std::time::Instant;

use tch::nn::{self, ModuleT, OptimizerConfig};
use tch::{Kind, Tensor};

use super::schedule::warmup_cosine_lr;
use crate::data::{Augmenter, DeviceImages, Normalizer};
use crate::introspect::regularizer::BatchClassSimilarity;
use crate::nn::Network;
use crate::record::EvalConfig;

/// Where training is, for progress bars.
#[derive(Debug, Clone, Copy)]
pub struct TrainProgress {
    pub epoch: usize,
    pub epochs: usize,
    pub step: usize,
    pub total_steps: usize,
    /// Mean loss of the current epoch so far (only filled in when it is read back from the device).
    pub loss: Option<f64>,
}

/// What a finished training run measured.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    pub loss_per_epoch: Vec<f64>,
    pub seconds: f64,
    pub images: u64,
    /// The epoch after which `after_epoch` stopped the training; `None` when it ran every epoch.
    pub stopped_after: Option<usize>,
}

/// Why training stopped early.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TrainError {
    #[error("training loss became {value} at epoch {epoch}, step {step} (lr {lr:.4}); the network diverged")]
    NonFiniteLoss { value: f64, epoch: usize, step: usize, lr: f64 },
    #[error("libtorch failed during training: {0}")]
    Torch(String),
}

/// libtorch's own words for an error, without the C++ stack frames it appends
/// ("Exception raised from … frame #0: …"), which say nothing to a user.
pub fn torch_message(error: &tch::TchError) -> String {
    let text = error.to_string();
    let cut = ["Exception raised from", "\nframe #"].iter().filter_map(|marker| text.find(marker)).min();
    let kept = cut.map_or(text.as_str(), |at| &text[..at]);
    kept.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

/// How often the loss is read back from the device to check it is finite. Each read is a
/// device synchronisation, so not every step on a GPU.
const LOSS_CHECK_EVERY: usize = 8;

/// The introspectability regularizer's settings for one training run.
pub struct Regularizer {
    /// Weight of the penalty in the loss.
    pub weight: f64,
    /// Dense `K × K` pair weights ω on the training device.
    pub omega: Tensor,
    pub num_classes: usize,
}

/// Trains `net` on `train` in place.
#[allow(clippy::too_many_arguments)]
pub fn train(
    net: &Network,
    vs: &nn::VarStore,
    train: &DeviceImages,
    norm: &Normalizer,
    augmenter: Option<&Augmenter>,
    regularizer: Option<&Regularizer>,
    config: &EvalConfig,
    progress: &mut dyn FnMut(TrainProgress),
) -> Result<TrainOutcome, TrainError> {
    train_stoppable(net, vs, train, norm, augmenter, regularizer, config, progress, &mut |_| false)
}

/// As [`train`], asking `after_epoch(epoch)` after every epoch but the last (1-based) whether to
/// stop there. It draws nothing at random, so a training it lets go on is the same as [`train`]'s.
#[allow(clippy::too_many_arguments)]
pub fn train_stoppable(
    net: &Network,
    vs: &nn::VarStore,
    train: &DeviceImages,
    norm: &Normalizer,
    augmenter: Option<&Augmenter>,
    regularizer: Option<&Regularizer>,
    config: &EvalConfig,
    progress: &mut dyn FnMut(TrainProgress),
    after_epoch: &mut dyn FnMut(usize) -> bool,
) -> Result<TrainOutcome, TrainError> {
    let batch = config.batch_size.max(2);
    let steps_per_epoch = train.len.div_ceil(batch);
    let total_steps = steps_per_epoch * config.epochs;
    let warmup_steps = ((config.warmup_epochs * steps_per_epoch as f64).round() as usize).min(total_steps);
    let sgd = nn::Sgd { momentum: config.momentum, dampening: 0.0, wd: config.weight_decay, nesterov: config.nesterov };
    let mut opt = sgd.build(vs, config.lr).map_err(|e| TrainError::Torch(torch_message(&e)))?;
    let device = vs.device();
    let start = Instant::now();
    let mut images = 0u64;
    let mut loss_per_epoch = Vec::with_capacity(config.epochs);
    let mut stopped_after = None;
    let mut paused = std::time::Duration::ZERO;
    let mut step = 0;
    for epoch in 0..config.epochs {
        let order = Tensor::randperm(train.len as i64, (Kind::Int64, device));
        let mut epoch_loss = Tensor::zeros([], (Kind::Double, device));
        let mut epoch_batches = 0usize;
        for b in 0..steps_per_epoch {
            let lo = b * batch;
            let len = batch.min(train.len - lo);
            // BatchNorm cannot train on a single image; a lone leftover image waits for the next epoch.
            if len < 2 {
                step += 1;
                continue;
            }
            let lr = warmup_cosine_lr(config.lr, step, warmup_steps, total_steps);
            opt.set_lr(lr);
            let index = order.narrow(0, lo as i64, len as i64);
            let (x, y) = train.batch(&index, norm);
            let x = match augmenter {
                Some(a) => a.apply(&x),
                None => x,
            };
            let loss = match regularizer {
                None => net.forward_t(&x, true).cross_entropy_for_logits(&y),
                Some(reg) => {
                    let mut similarity = BatchClassSimilarity::new(&y, reg.num_classes);
                    let logits = net.forward_tapped(&x, true, config.taps, &mut similarity);
                    logits.cross_entropy_for_logits(&y) + similarity.penalty(&reg.omega) * reg.weight
                }
            };
            opt.backward_step(&loss);
            epoch_loss += loss.detach().to_kind(Kind::Double);
            epoch_batches += 1;
            images += len as u64;
            step += 1;
            let check = epoch_batches % LOSS_CHECK_EVERY == 0 || b + 1 == steps_per_epoch;
            let mean = if check {
                let mean = epoch_loss.double_value(&[]) / epoch_batches as f64;
                if !mean.is_finite() {
                    let value = loss.double_value(&[]);
                    return Err(TrainError::NonFiniteLoss {
                        value: if value.is_finite() { mean } else { value },
                        epoch: epoch + 1,
                        step,
                        lr,
                    });
                }
                Some(mean)
            } else {
                None
            };
            progress(TrainProgress { epoch: epoch + 1, epochs: config.epochs, step, total_steps, loss: mean });
        }
        if epoch_batches > 0 {
            loss_per_epoch.push(epoch_loss.double_value(&[]) / epoch_batches as f64);
        }
        if epoch + 1 < config.epochs {
            // The per-epoch measurement and the head's decision are not training time.
            let asked = Instant::now();
            let stop = after_epoch(epoch + 1);
            paused += asked.elapsed();
            if stop {
                stopped_after = Some(epoch + 1);
                break;
            }
        }
    }
    if device.is_cuda() {
        tch::Cuda::synchronize(device_index(device));
    }
    Ok(TrainOutcome { loss_per_epoch, seconds: (start.elapsed() - paused).as_secs_f64(), images, stopped_after })
}

fn device_index(device: tch::Device) -> i64 {
    match device {
        tch::Device::Cuda(i) => i as i64,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::torch_message;

    #[test]
    fn a_libtorch_error_keeps_its_message_and_drops_the_stack_frames() {
        let error = tch::TchError::Torch(
            "Invalid learning rate: -1\nException raised from SGD at torch/csrc/api/src/optim/sgd.cpp:34 (most recent \
             call first):\nframe #0: c10::Error::Error(...) + 0x9c\nframe #1: ..."
                .into(),
        );
        assert_eq!(torch_message(&error), "Internal torch error: Invalid learning rate: -1");
        let plain = tch::TchError::Torch("out of memory".into());
        assert_eq!(torch_message(&plain), "Internal torch error: out of memory");
    }
}
