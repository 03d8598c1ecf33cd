//! Datasets on the device: images stay uint8 in one tensor, and whole batches are gathered,
//! normalised and augmented there rather than one sample at a time on the CPU
//! (`scripts/bench-train.sh` compares it with PyTorch's per-sample DataLoader).
//!
//! Reading files is [`xnas_datasets`]'s job; this module only moves an `ImageSet` to a device.

mod augment;

pub use augment::Augmenter;

use tch::{Device, Kind, Tensor};
use xnas_datasets::ImageSet;

/// One split of a dataset on a device.
#[derive(Debug)]
pub struct DeviceImages {
    /// `[n, c, h, w]` uint8.
    pub images: Tensor,
    /// `[n]` int64 class indices.
    pub labels: Tensor,
    pub len: usize,
}

impl DeviceImages {
    pub fn new(set: &ImageSet, device: Device) -> DeviceImages {
        let shape = [set.len() as i64, set.channels as i64, set.height as i64, set.width as i64];
        let images = Tensor::from_slice(&set.images).view(shape).to_device(device);
        let labels: Vec<i64> = set.labels.iter().map(|&l| l as i64).collect();
        let labels = Tensor::from_slice(&labels).to_device(device);
        DeviceImages { images, labels, len: set.len() }
    }

    /// The images at `index` (an int64 tensor on the device) as normalised float32, and their labels.
    pub fn batch(&self, index: &Tensor, norm: &Normalizer) -> (Tensor, Tensor) {
        let raw = self.images.index_select(0, index);
        (norm.apply(&raw), self.labels.index_select(0, index))
    }

    /// The first `n` images (all of them when there are fewer): a fixed subset that shares the
    /// split's memory.
    pub fn first(&self, n: usize) -> DeviceImages {
        let n = n.min(self.len);
        DeviceImages { images: self.images.narrow(0, 0, n as i64), labels: self.labels.narrow(0, 0, n as i64), len: n }
    }

    /// Consecutive index batches `[start, start+batch)` covering the whole split, for evaluation.
    pub fn sequential_batches(&self, batch_size: usize) -> impl Iterator<Item = Tensor> + '_ {
        let device = self.images.device();
        (0..self.len).step_by(batch_size.max(1)).map(move |start| {
            let end = (start + batch_size).min(self.len);
            Tensor::arange_start(start as i64, end as i64, (Kind::Int64, device))
        })
    }
}

/// Channel-wise z-score with the training set's statistics: `(x/255 − mean)/std`.
#[derive(Debug)]
pub struct Normalizer {
    scale: Tensor,
    shift: Tensor,
}

impl Normalizer {
    /// From per-channel mean and standard deviation on the [0, 1] scale.
    pub fn new(mean: &[f64], std: &[f64], device: Device) -> Normalizer {
        let c = mean.len() as i64;
        // x/255/std − mean/std, folded into one multiply-add per pixel.
        let scale: Vec<f32> = std.iter().map(|s| (1.0 / (255.0 * s.max(1e-12))) as f32).collect();
        let shift: Vec<f32> = mean.iter().zip(std).map(|(m, s)| (-m / s.max(1e-12)) as f32).collect();
        Normalizer {
            scale: Tensor::from_slice(&scale).view([1, c, 1, 1]).to_device(device),
            shift: Tensor::from_slice(&shift).view([1, c, 1, 1]).to_device(device),
        }
    }

    pub fn apply(&self, raw: &Tensor) -> Tensor {
        raw.to_kind(Kind::Float) * &self.scale + &self.shift
    }
}
