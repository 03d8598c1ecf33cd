//! Readers for the image-classification datasets XNAS searches on, in their real file formats,
//! and the seeded splits and subsets a search trains on.
//!
//! | dataset | files | default folder |
//! |---|---|---|
//! | `fashion-mnist`, `mnist` | IDX: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-…` (raw or `.gz`) | `/usr/share/datasets/fashion-mnist` (Debian's `dataset-fashion-mnist`) |
//! | `cifar10` | binary batches `data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin` | none: `--data-dir` |
//! | `imagenet16-120` | pickled batches `train_data_batch_1` … `_10`, `val_data` (+ a wnid list) | none: `--data-dir` |
//!
//! Images are kept as `u8`, channel-major per image (`N × C × H × W`); labels are 0-based.
//! This crate has no libtorch dependency; `xnas` moves an [`ImageSet`] to a device.

mod cifar;
mod classes;
mod error;
mod idx;
mod imagenet16;
pub mod pickle;
mod subset;

use std::path::PathBuf;

pub use classes::{class_names, DatasetName, UnknownDataset};
pub use error::DataError;
pub use subset::stratified_subset;

/// Images of one split, in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    /// `len × channels × height × width` bytes.
    pub images: Vec<u8>,
    /// 0-based class of each image.
    pub labels: Vec<u32>,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl ImageSet {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Bytes of one image.
    pub fn image_size(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The images at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> ImageSet {
        let size = self.image_size();
        let mut images = Vec::with_capacity(indices.len() * size);
        for &i in indices {
            images.extend_from_slice(&self.images[i * size..(i + 1) * size]);
        }
        ImageSet {
            images,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            channels: self.channels,
            height: self.height,
            width: self.width,
        }
    }

    /// Per-channel mean and standard deviation of pixel/255 over the set (f64), for z-scoring.
    pub fn channel_mean_std(&self) -> (Vec<f64>, Vec<f64>) {
        let plane = self.height * self.width;
        let mut sum = vec![0u64; self.channels];
        let mut sum_sq = vec![0u64; self.channels];
        for image in self.images.chunks_exact(self.image_size().max(1)) {
            for (c, channel) in image.chunks_exact(plane).enumerate() {
                for &v in channel {
                    sum[c] += v as u64;
                    sum_sq[c] += (v as u64) * (v as u64);
                }
            }
        }
        let n = (self.len() * plane).max(1) as f64;
        let mean: Vec<f64> = sum.iter().map(|&s| s as f64 / n / 255.0).collect();
        let std = sum_sq
            .iter()
            .zip(&mean)
            .map(|(&sq, &m)| (sq as f64 / n / (255.0 * 255.0) - m * m).max(0.0).sqrt())
            .collect();
        (mean, std)
    }

    /// Images per class, for `num_classes` classes.
    pub fn class_counts(&self, num_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; num_classes];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }
}

/// A dataset ready for training: the two splits and the class names.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: DatasetName,
    pub train: ImageSet,
    pub validation: ImageSet,
    pub class_names: Vec<String>,
    /// Which files were read, for logs and records.
    pub source: String,
}

/// Where the validation images come from.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValidationSplit {
    /// The dataset's own held-out split (IDX `t10k`, CIFAR `test_batch`, ImageNet16 `val_data`).
    #[default]
    HeldOut,
    /// A seeded, class-stratified fraction of the training set (the rest trains).
    TrainFraction(f64),
}

/// What to load.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadOptions {
    pub dataset: DatasetName,
    /// `None`: the dataset's default folder.
    pub data_dir: Option<PathBuf>,
    /// ImageNet16: the class → wnid list (devkit `map_clsloc.txt` lines or one wnid per line).
    pub wnids_file: Option<PathBuf>,
    pub split: ValidationSplit,
    /// Keep a seeded, class-stratified subset of this many training images.
    pub train_subset: Option<usize>,
    /// Keep a seeded, class-stratified subset of this many validation images.
    pub val_subset: Option<usize>,
    pub seed: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            dataset: DatasetName::FashionMnist,
            data_dir: None,
            wnids_file: None,
            split: ValidationSplit::HeldOut,
            train_subset: None,
            val_subset: None,
            seed: 0,
        }
    }
}

/// The default folder of a dataset, if it has one.
pub fn default_dir(dataset: DatasetName) -> Option<PathBuf> {
    match dataset {
        DatasetName::FashionMnist => Some(PathBuf::from("/usr/share/datasets/fashion-mnist")),
        _ => None,
    }
}

/// Reads a dataset, then applies the split and the subsets.
pub fn load(options: &LoadOptions) -> Result<Dataset, DataError> {
    let dir = match (&options.data_dir, default_dir(options.dataset)) {
        (Some(dir), _) => dir.clone(),
        (None, Some(dir)) => dir,
        (None, None) => return Err(DataError::NoDataDir { dataset: options.dataset }),
    };
    let (train, held_out, class_names, source) = match options.dataset {
        DatasetName::FashionMnist | DatasetName::Mnist => {
            let (train, test) = idx::read_split_pair(&dir, options.dataset)?;
            let names = class_names(options.dataset).expect("fixed names").iter().map(|s| s.to_string()).collect();
            (train, test, names, format!("IDX files in {}", dir.display()))
        }
        DatasetName::Cifar10 => {
            let (train, test, names) = cifar::read(&dir)?;
            (train, test, names, format!("CIFAR-10 binary batches in {}", dir.display()))
        }
        DatasetName::ImageNet16_120 => {
            let k = options.dataset.num_classes();
            let (train, val) = imagenet16::read(&dir, k)?;
            let names = match &options.wnids_file {
                Some(path) => imagenet16::read_wnids(path, k)?,
                None => (1..=k).map(|i| format!("class {i}")).collect(),
            };
            (train, val, names, format!("ImageNet16 pickles in {}", dir.display()))
        }
    };
    let num_classes = class_names.len();
    let (mut train, mut validation) = match options.split {
        ValidationSplit::HeldOut => (train, held_out),
        ValidationSplit::TrainFraction(fraction) => {
            if !(fraction > 0.0 && fraction < 1.0) {
                return Err(DataError::BadOption(format!(
                    "the validation fraction must be between 0 and 1, not {fraction}"
                )));
            }
            let count = ((train.len() as f64) * fraction).round() as usize;
            let (val_idx, train_idx) = subset::split_indices(&train.labels, num_classes, count, options.seed);
            (train.select(&train_idx), train.select(&val_idx))
        }
    };
    if let Some(n) = options.train_subset {
        train = train.select(&stratified_subset(&train.labels, num_classes, n, options.seed));
    }
    if let Some(n) = options.val_subset {
        validation = validation.select(&stratified_subset(&validation.labels, num_classes, n, options.seed ^ 0x5eed));
    }
    if train.len() < 2 || validation.is_empty() {
        return Err(DataError::BadOption(format!(
            "{} leaves {} training and {} validation images; training needs at least 2 and validation 1",
            options.dataset,
            train.len(),
            validation.len()
        )));
    }
    Ok(Dataset { name: options.dataset, train, validation, class_names, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real files from Debian's dataset-fashion-mnist (scripts/setup.sh installs them).
    #[test]
    fn reads_real_fashion_mnist() {
        let dataset = load(&LoadOptions::default()).expect("apt-get install dataset-fashion-mnist");
        assert_eq!((dataset.train.len(), dataset.validation.len()), (60_000, 10_000));
        assert_eq!((dataset.train.channels, dataset.train.height, dataset.train.width), (1, 28, 28));
        // Published facts: the first training image is an ankle boot (9), the first test image too,
        // and every class has 6,000 training and 1,000 test images.
        assert_eq!(dataset.train.labels[0], 9);
        assert_eq!(dataset.validation.labels[0], 9);
        assert_eq!(dataset.train.class_counts(10), vec![6000; 10]);
        assert_eq!(dataset.validation.class_counts(10), vec![1000; 10]);
        let (mean, std) = dataset.train.channel_mean_std();
        // Fashion-MNIST's training mean and std on [0, 1] are about 0.2860 and 0.3530.
        assert!((mean[0] - 0.2860).abs() < 1e-3 && (std[0] - 0.3530).abs() < 1e-3, "{mean:?} {std:?}");

        let small = load(&LoadOptions { train_subset: Some(300), val_subset: Some(100), seed: 3, ..Default::default() })
            .unwrap();
        assert_eq!(small.train.class_counts(10), vec![30; 10]);
        assert_eq!(small.validation.class_counts(10), vec![10; 10]);
        let split = load(&LoadOptions { split: ValidationSplit::TrainFraction(0.1), ..Default::default() }).unwrap();
        assert_eq!((split.train.len(), split.validation.len()), (54_000, 6_000));
    }

    #[test]
    fn datasets_without_a_default_folder_say_how_to_get_them() {
        let e = load(&LoadOptions { dataset: DatasetName::Cifar10, ..Default::default() }).unwrap_err().to_string();
        assert!(e.contains("--data-dir") && e.contains("cifar-10-binary"), "{e}");
    }
}
