//! The training loop: batches gathered and augmented on the device, SGD with the warmup-cosine
//! schedule, and a check that the loss stays finite.
//!
//! On CUDA the loop never waits for the device between steps: the loss is summed and watched for
//! non-finite values on the device and read back once per epoch, and the arithmetic follows the
//! resolved [`ComputeSettings`] (mixed bf16, channels-last batches, cuDNN benchmark mode). On a
//! CPU the settings are always plain and the loss is read every [`LOSS_CHECK_EVERY`] steps, as it
//! always was (a test holds CPU training to numbers captured before the CUDA paths existed).

use std::time::Instant;

use tch::nn::{self, OptimizerConfig};
use tch::{Kind, Tensor};

use super::schedule::warmup_cosine_lr;
use crate::data::{Augmenter, DeviceImages, Normalizer};
use crate::introspect::regularizer::BatchClassSimilarity;
use crate::nn::{channels_last, Compute, Network};
use crate::record::{ComputeSettings, EvalConfig, Precision};

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

/// How often (in steps) a CPU training reads its loss to check it is finite; a CUDA training
/// reads it once per epoch, since every read waits for the device to finish.
const LOSS_CHECK_EVERY: usize = 8;

/// A CUDA training's watch for a non-finite loss, kept on the device: the first step (0-based,
/// counted over the whole training; −1 while none) whose loss was not finite, and that loss.
struct DeviceDivergenceWatch {
    first_step: Tensor,
    first_loss: Tensor,
}

impl DeviceDivergenceWatch {
    fn new(device: tch::Device) -> Self {
        DeviceDivergenceWatch {
            first_step: Tensor::full([], -1, (Kind::Int64, device)),
            first_loss: Tensor::zeros([], (Kind::Double, device)),
        }
    }

    /// Records `loss` of `step` if it is the first non-finite one, without a host sync: the
    /// step number reaches the device as a kernel argument, not a copy.
    fn observe(&mut self, loss: &Tensor, step: usize) {
        let loss = loss.detach().to_kind(Kind::Double);
        let first = loss.isfinite().logical_not().logical_and(&self.first_step.lt(0));
        let device = loss.device();
        self.first_step = Tensor::full([], step as i64, (Kind::Int64, device)).where_self(&first, &self.first_step);
        self.first_loss = loss.where_self(&first, &self.first_loss);
    }

    /// The first non-finite step and its loss, if there was one (a host sync: once per epoch).
    fn first(&self) -> Option<(usize, f64)> {
        let step = self.first_step.int64_value(&[]);
        (step >= 0).then(|| (step as usize, self.first_loss.double_value(&[])))
    }
}

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
    let cuda = device.is_cuda();
    let settings = ComputeSettings::resolve(config, cuda);
    if cuda {
        tch::Cuda::cudnn_set_benchmark(settings.cudnn_benchmark);
    }
    let compute = match settings.precision {
        Precision::Bf16 => Compute::Bf16,
        Precision::Fp32 | Precision::Auto => Compute::F32,
    };
    let mut watch = cuda.then(|| DeviceDivergenceWatch::new(device));
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
            let x = if settings.channels_last { channels_last(&x) } else { x };
            let loss = match regularizer {
                None => net.forward_training(&x, compute, None).cross_entropy_for_logits(&y),
                Some(reg) => {
                    let mut similarity = BatchClassSimilarity::new(&y, reg.num_classes);
                    let logits = net.forward_training(&x, compute, Some((config.taps, &mut similarity)));
                    logits.cross_entropy_for_logits(&y) + similarity.penalty(&reg.omega) * reg.weight
                }
            };
            opt.backward_step(&loss);
            epoch_loss += loss.detach().to_kind(Kind::Double);
            if let Some(watch) = watch.as_mut() {
                watch.observe(&loss, step);
            }
            epoch_batches += 1;
            images += len as u64;
            step += 1;
            // A CUDA training checks at the end of the epoch instead (below).
            let check = !cuda && (epoch_batches % LOSS_CHECK_EVERY == 0 || b + 1 == steps_per_epoch);
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
            let mean = epoch_loss.double_value(&[]) / epoch_batches as f64;
            if let Some(watch) = &watch {
                if let Some((first, value)) = watch.first() {
                    // `first` counts steps from 0; the message counts them from 1, as a CPU's does.
                    return Err(TrainError::NonFiniteLoss {
                        value,
                        epoch: first / steps_per_epoch + 1,
                        step: first + 1,
                        lr: warmup_cosine_lr(config.lr, first, warmup_steps, total_steps),
                    });
                }
                progress(TrainProgress {
                    epoch: epoch + 1,
                    epochs: config.epochs,
                    step,
                    total_steps,
                    loss: Some(mean),
                });
            }
            loss_per_epoch.push(mean);
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
    if cuda {
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
    use super::{torch_message, DeviceDivergenceWatch};
    use tch::{Device, Tensor};

    /// The watch a CUDA training keeps is plain tensor arithmetic, so it is checked here on a CPU.
    #[test]
    fn the_device_watch_keeps_the_first_non_finite_loss() {
        let mut watch = DeviceDivergenceWatch::new(Device::Cpu);
        for (step, loss) in [(0, 2.3f32), (1, 2.1), (2, 1.9)] {
            watch.observe(&Tensor::from(loss), step);
        }
        assert_eq!(watch.first(), None);
        for (step, loss) in [(3, f32::INFINITY), (4, f32::NAN), (5, 1.0)] {
            watch.observe(&Tensor::from(loss), step);
        }
        assert_eq!(watch.first(), Some((3, f64::INFINITY)));
    }

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
