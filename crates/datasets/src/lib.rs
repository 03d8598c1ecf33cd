//! Readers for the image-classification datasets XNAS searches on, in their real file formats,
//! and the seeded splits and subsets a search trains on.
//!
//! | dataset | files | default folder |
//! |---|---|---|
//! | `fashion-mnist`, `mnist` | IDX: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-…` (raw or `.gz`) | `/usr/share/datasets/fashion-mnist` (Debian's `dataset-fashion-mnist`) |
//! | `cifar10` | binary batches `data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin` | none: `--data-dir` |
//! | `imagenet16-120` | pickled batches `train_data_batch_1` … `_10`, `val_data` (+ a wnid list) | none: `--data-dir` |
//!
//! CIFAR-10 may also sit in `DIR/cifar-10-batches-bin/`; ImageNet16 in `DIR/ImageNet16/` or the
//! official zips' `DIR/Imagenet16_train/` and `DIR/Imagenet16_val/`. The pickles are read by a small
//! pickle machine of our own ([`pickle`]) that rebuilds numpy arrays and calls nothing else.
//!
//! Images are kept as `u8`, channel-major per image (`N × C × H × W`); labels are 0-based.
//! [`load`] reads a dataset into three splits — train, validation ([`ValidationSplit`]) and the
//! official test split — applies seeded, class-stratified subsets ([`stratified_subset`]) and,
//! on request, corrupts a seeded fraction of the training labels ([`corrupt_labels`], for
//! mislabel-detection studies); [`ImageSet::channel_mean_std`] gives the
//! training statistics for z-scoring. The per-format readers ([`idx`], [`cifar`], [`imagenet16`])
//! are public for other layouts, e.g. ImageNet16 with a class count other than 120.
//! This crate has no libtorch dependency; `xnas` moves an [`ImageSet`] to a device.

pub mod cifar;
mod classes;
mod error;
pub mod idx;
pub mod imagenet16;
mod noise;
pub mod pickle;
mod subset;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

pub use classes::{class_names, DatasetName, UnknownDataset};
pub use error::DataError;
pub use imagenet16::ImageNetClass;
pub use noise::corrupt_labels;
pub use subset::{split_indices, stratified_subset};

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

    /// The pixels of image `index`, channel-major.
    pub fn image(&self, index: usize) -> &[u8] {
        let size = self.image_size();
        &self.images[index * size..(index + 1) * size]
    }

    /// The images at `indices`, in that order. Panics on an index out of range, like slicing.
    pub fn select(&self, indices: &[usize]) -> ImageSet {
        let mut images = Vec::with_capacity(indices.len() * self.image_size());
        for &i in indices {
            images.extend_from_slice(self.image(i));
        }
        ImageSet {
            images,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            channels: self.channels,
            height: self.height,
            width: self.width,
        }
    }

    /// Per-channel mean and (population) standard deviation of pixel/255 over the set, for
    /// z-scoring with training statistics. Sums are exact integers, so the result is exact to f64
    /// rounding whatever the set's size; an empty set gives NaN.
    pub fn channel_mean_std(&self) -> (Vec<f64>, Vec<f64>) {
        let plane = self.height * self.width;
        let mut sum = vec![0u64; self.channels];
        let mut sum_sq = vec![0u64; self.channels];
        for image in self.images.chunks_exact(self.image_size().max(1)) {
            for (c, channel) in image.chunks_exact(plane.max(1)).enumerate() {
                sum[c] += channel.iter().map(|&v| v as u64).sum::<u64>();
                sum_sq[c] += channel.iter().map(|&v| v as u64 * v as u64).sum::<u64>();
            }
        }
        let n = (self.len() * plane) as u128;
        let mean = sum.iter().map(|&s| s as f64 / n as f64 / 255.0).collect();
        // n² var = n Σx² − (Σx)², exact in u128.
        let std = sum
            .iter()
            .zip(&sum_sq)
            .map(|(&s, &sq)| ((n * sq as u128 - (s as u128).pow(2)) as f64).sqrt() / n as f64 / 255.0)
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

/// A dataset ready for training: the three splits and the class names.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: DatasetName,
    /// The images trained on, with corrupted labels where [`LoadOptions::label_noise`] asked for them.
    pub train: ImageSet,
    /// The images a search selects on.
    pub validation: ImageSet,
    /// The official held-out split (or a subset of it), which a search never sees. With
    /// [`ValidationSplit::HeldOut`] it holds the same images as `validation` (up to the subsets).
    pub test: ImageSet,
    /// Indices into `train` whose label was replaced by another class on purpose, ascending.
    pub corrupted_labels: Vec<u32>,
    /// Class names in label order: the fixed tables, `batches.meta.txt` for CIFAR-10, and the
    /// wnids for ImageNet16 (the labels WordNet and the ω weight files use).
    pub class_names: Vec<String>,
    /// Longer names for people, in label order: the devkit's names for ImageNet16 when the wnid
    /// list is a `map_clsloc.txt` (`n02119789 kit_fox`); otherwise the class names.
    pub class_descriptions: Vec<String>,
    /// Which files were read and how they were split and subset, for logs and records.
    pub source: String,
}

/// Where the validation images come from. In configuration files it is written as
/// `"held-out"`, a fraction (`0.1`) or a count (`5000`), as [`FromStr`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum ValidationSplit {
    /// The dataset's own held-out split (IDX `t10k`, CIFAR `test_batch`, ImageNet16 `val_data`).
    #[default]
    HeldOut,
    /// A seeded, class-stratified fraction of the training set (the rest trains).
    TrainFraction(f64),
    /// A seeded, class-stratified number of training images (the rest trains).
    TrainCount(usize),
}

impl fmt::Display for ValidationSplit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidationSplit::HeldOut => f.write_str("held-out"),
            ValidationSplit::TrainFraction(x) => write!(f, "{x}"),
            ValidationSplit::TrainCount(n) => write!(f, "{n}"),
        }
    }
}

impl serde::Serialize for ValidationSplit {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            ValidationSplit::HeldOut => serializer.serialize_str("held-out"),
            ValidationSplit::TrainFraction(x) => serializer.serialize_f64(x),
            ValidationSplit::TrainCount(n) => serializer.serialize_u64(n as u64),
        }
    }
}

impl<'de> serde::Deserialize<'de> for ValidationSplit {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ValidationSplit;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "\"held-out\", a fraction of the training set between 0 and 1, or a number of training images",
                )
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<ValidationSplit, E> {
                s.parse().map_err(|e: DataError| E::custom(e))
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<ValidationSplit, E> {
                self.visit_str(&n.to_string())
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<ValidationSplit, E> {
                self.visit_str(&n.to_string())
            }
            /// A number written with a decimal point is a fraction, never a count: `1.0` printed as
            /// `1` would read as one image.
            fn visit_f64<E: serde::de::Error>(self, x: f64) -> Result<ValidationSplit, E> {
                if x > 0.0 && x < 1.0 {
                    Ok(ValidationSplit::TrainFraction(x))
                } else {
                    Err(E::custom(format!(
                        "validation {x:?} is not a fraction of the training set: a fraction is above 0 and below 1 \
                         (e.g. 0.1); a number of training images is a whole number written without a decimal \
                         point (e.g. 5000); or write \"held-out\" (the dataset's own test split)"
                    )))
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl FromStr for ValidationSplit {
    type Err = DataError;

    /// `held-out` (or `test`), a fraction like `0.1`, or a count like `5000`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let bad = || {
            DataError::BadOption(format!(
                "validation split {s:?}: write `held-out` (the dataset's own test split), a fraction of the \
                 training set between 0 and 1 (e.g. 0.1), or a number of training images (e.g. 5000)"
            ))
        };
        if matches!(s, "held-out" | "heldout" | "test") {
            Ok(ValidationSplit::HeldOut)
        } else if let Ok(n) = s.parse::<usize>() {
            Ok(ValidationSplit::TrainCount(n))
        } else {
            s.parse::<f64>().ok().filter(|x| *x > 0.0 && *x < 1.0).map(ValidationSplit::TrainFraction).ok_or_else(bad)
        }
    }
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
    /// Keep a seeded, class-stratified subset of this many training images (all if fewer).
    pub train_subset: Option<usize>,
    /// Keep a seeded, class-stratified subset of this many validation images (all if fewer).
    pub val_subset: Option<usize>,
    /// Keep a seeded, class-stratified subset of this many test images (all if fewer).
    pub test_subset: Option<usize>,
    /// Fraction in [0, 1) of the training labels (after the subset) replaced by another class.
    pub label_noise: f64,
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
            test_subset: None,
            label_noise: 0.0,
            seed: 0,
        }
    }
}

/// The default folder of a dataset, if it has one. Only Fashion-MNIST has a Debian package
/// (`dataset-fashion-mnist`); the others need `--data-dir`.
pub fn default_dir(dataset: DatasetName) -> Option<PathBuf> {
    match dataset {
        DatasetName::FashionMnist => Some(PathBuf::from("/usr/share/datasets/fashion-mnist")),
        _ => None,
    }
}

/// Seed offsets so that the split and the two subsets draw from unrelated streams.
const SPLIT_SALT: u64 = 0x5_9117;
const VAL_SUBSET_SALT: u64 = 0x5eed;
const TEST_SUBSET_SALT: u64 = 0x7e57;
const LABEL_NOISE_SALT: u64 = 0x0_1abe1;

/// The folder a dataset is read from: the given one, else its default.
fn data_dir(options: &LoadOptions) -> Result<PathBuf, DataError> {
    match (&options.data_dir, default_dir(options.dataset)) {
        (Some(dir), _) => Ok(dir.clone()),
        (None, Some(dir)) => Ok(dir),
        (None, None) => Err(DataError::NoDataDir { dataset: options.dataset }),
    }
}

/// What [`load`] would refuse before reading an image: no folder, a file missing (the wnid list
/// included), an empty subset. Cheap (it looks at file names only), so a search checks it before
/// it starts rather than in every evaluation; a corrupt file is still found only by [`load`].
pub fn check_present(options: &LoadOptions) -> Result<(), DataError> {
    let dir = data_dir(options)?;
    for (option, value) in [
        ("train_subset", options.train_subset),
        ("val_subset", options.val_subset),
        ("test_subset", options.test_subset),
    ] {
        if value == Some(0) {
            return Err(DataError::BadOption(format!("{option} is 0: a subset needs at least one image")));
        }
    }
    if !(0.0..1.0).contains(&options.label_noise) {
        return Err(DataError::BadOption(format!(
            "label_noise is {}: it is the fraction of training labels to corrupt, in [0, 1)",
            options.label_noise
        )));
    }
    match options.dataset {
        DatasetName::FashionMnist | DatasetName::Mnist => idx::check_present(&dir, options.dataset)?,
        DatasetName::Cifar10 => {
            cifar::check_present(&dir)?;
        }
        DatasetName::ImageNet16_120 => imagenet16::check_present(&dir)?,
    }
    if let Some(path) = &options.wnids_file {
        if !path.is_file() {
            return Err(DataError::io(path, std::io::Error::from(std::io::ErrorKind::NotFound)));
        }
    }
    Ok(())
}

/// What [`load`] would refuse about the split's sizes, found without reading the images: a
/// validation count or fraction that takes fewer images than there are classes, or leaves fewer
/// than that for training. The training split's size comes from the label file (IDX) or the
/// batch files' sizes (CIFAR-10); ImageNet16's would need its pickles read, so it is left to [`load`].
pub fn check_split_sizes(options: &LoadOptions) -> Result<(), DataError> {
    if options.split == ValidationSplit::HeldOut {
        return Ok(());
    }
    let dir = data_dir(options)?;
    let train_len = match options.dataset {
        DatasetName::FashionMnist | DatasetName::Mnist => idx::training_len(&dir, options.dataset)?,
        DatasetName::Cifar10 => cifar::training_len(&dir)?,
        DatasetName::ImageNet16_120 => return Ok(()),
    };
    validation_count(options.split, train_len, options.dataset.num_classes()).map(|_| ())
}

/// How many of `train_len` training images the validation `split` takes: at least one per class,
/// leaving at least one per class to train on.
fn validation_count(split: ValidationSplit, train_len: usize, classes: usize) -> Result<usize, DataError> {
    let count = match split {
        ValidationSplit::TrainFraction(fraction) if fraction > 0.0 && fraction < 1.0 => {
            ((train_len as f64) * fraction).round() as usize
        }
        ValidationSplit::TrainFraction(fraction) => {
            return Err(DataError::BadOption(format!(
                "validation = {fraction}: a fraction of the training images must be above 0 and below 1"
            )))
        }
        ValidationSplit::TrainCount(count) => count,
        ValidationSplit::HeldOut => return Ok(0),
    };
    let most = train_len.saturating_sub(classes);
    if count < classes || count > most {
        let range = if most >= classes {
            format!("{classes} to {most} images, or a fraction that takes as many")
        } else {
            "none: the training split is too small to split; use \"held-out\"".to_string()
        };
        return Err(DataError::BadOption(format!(
            "validation = {split} takes {count} of the {train_len} training images; it must take at least one \
             image per class ({classes}) and leave as many for training, so the allowed range is {range}: set \
             `validation` to a count or fraction in that range, or \"held-out\" (validate on the official test split)"
        )));
    }
    Ok(count)
}

/// Reads a dataset, then applies the split and the subsets.
pub fn load(options: &LoadOptions) -> Result<Dataset, DataError> {
    check_present(options)?;
    let dir = data_dir(options)?;
    let fixed_names = || class_names(options.dataset).map(|names| names.iter().map(|s| s.to_string()).collect());
    let (train, held_out, names, mut source): (ImageSet, ImageSet, Vec<String>, String) = match options.dataset {
        DatasetName::FashionMnist | DatasetName::Mnist => {
            let (train, test) = idx::read_split_pair(&dir, options.dataset)?;
            (train, test, fixed_names().expect("fixed names"), format!("IDX files in {}", dir.display()))
        }
        DatasetName::Cifar10 => {
            let (train, test, names) = cifar::read(&dir)?;
            (train, test, names, format!("CIFAR-10 binary batches in {}", dir.display()))
        }
        DatasetName::ImageNet16_120 => {
            let k = options.dataset.num_classes();
            let (train, val) = imagenet16::read(&dir, k)?;
            (train, val, Vec::new(), format!("ImageNet16 pickled batches in {}", dir.display()))
        }
    };
    let (class_names, class_descriptions) = match options.dataset {
        DatasetName::ImageNet16_120 => {
            let k = options.dataset.num_classes();
            match &options.wnids_file {
                Some(path) => {
                    let classes = imagenet16::read_wnids(path, k)?;
                    source.push_str(&format!(", classes from {}", path.display()));
                    let descriptions = classes
                        .iter()
                        .map(|c| c.name.as_ref().map_or(c.wnid.clone(), |n| format!("{} {n}", c.wnid)))
                        .collect();
                    (classes.into_iter().map(|c| c.wnid).collect(), descriptions)
                }
                // Training needs no names; WordNet-weighted scores ask for the list themselves.
                None => {
                    let names: Vec<String> = (1..=k).map(|i| format!("class {i}")).collect();
                    (names.clone(), names)
                }
            }
        }
        _ => (names.clone(), names),
    };
    let num_classes = class_names.len();
    let (mut train, mut validation) = match options.split {
        ValidationSplit::HeldOut => {
            source.push_str(&format!("; validation: the held-out split ({} images)", held_out.len()));
            (train, held_out.clone())
        }
        split => {
            let count = validation_count(split, train.len(), num_classes)?;
            let (val_idx, train_idx) =
                subset::split_indices(&train.labels, num_classes, count, options.seed ^ SPLIT_SALT);
            source.push_str(&format!("; validation: {count} training images split off (seed {})", options.seed));
            (train.select(&train_idx), train.select(&val_idx))
        }
    };
    if let Some(n) = options.train_subset {
        source.push_str(&format!("; training subset of {} of {}", n.min(train.len()), train.len()));
        train = train.select(&stratified_subset(&train.labels, num_classes, n, options.seed));
    }
    if let Some(n) = options.val_subset {
        source.push_str(&format!("; validation subset of {} of {}", n.min(validation.len()), validation.len()));
        validation =
            validation.select(&stratified_subset(&validation.labels, num_classes, n, options.seed ^ VAL_SUBSET_SALT));
    }
    let mut test = held_out;
    if let Some(n) = options.test_subset {
        source.push_str(&format!("; test subset of {} of {}", n.min(test.len()), test.len()));
        test = test.select(&stratified_subset(&test.labels, num_classes, n, options.seed ^ TEST_SUBSET_SALT));
    }
    if options.train_subset.is_some() || options.val_subset.is_some() || options.test_subset.is_some() {
        source.push_str(&format!(" (seed {})", options.seed));
    }
    let corrupted_labels = if options.label_noise > 0.0 {
        let corrupted =
            corrupt_labels(&mut train.labels, num_classes, options.label_noise, options.seed ^ LABEL_NOISE_SALT);
        source.push_str(&format!(
            "; {} training labels corrupted (label_noise {}, seed {})",
            corrupted.len(),
            options.label_noise,
            options.seed
        ));
        corrupted
    } else {
        Vec::new()
    };
    if train.len() < 2 || validation.is_empty() || test.is_empty() {
        return Err(DataError::BadOption(format!(
            "{} leaves {} training, {} validation and {} test images; training needs at least 2, validation \
             and test 1 each",
            options.dataset,
            train.len(),
            validation.len(),
            test.len()
        )));
    }
    Ok(Dataset {
        name: options.dataset,
        train,
        validation,
        test,
        corrupted_labels,
        class_names,
        class_descriptions,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idx::tests::{temp_dir, write_idx};

    /// The real files from Debian's dataset-fashion-mnist (scripts/setup.sh installs them).
    #[test]
    fn reads_real_fashion_mnist() {
        let dataset = load(&LoadOptions::default()).expect("apt-get install dataset-fashion-mnist");
        assert_eq!((dataset.train.len(), dataset.validation.len()), (60_000, 10_000));
        assert_eq!((dataset.train.channels, dataset.train.height, dataset.train.width), (1, 28, 28));
        // Facts read independently with Python's gzip and numpy: the first labels of each split,
        // the pixel sum of the first training image, and numpy's mean and std of pixel/255.
        assert_eq!(dataset.train.labels[..10], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
        assert_eq!(dataset.validation.labels[..10], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
        assert_eq!(dataset.train.image(0).iter().map(|&v| v as u64).sum::<u64>(), 76_247);
        assert_eq!(dataset.train.class_counts(10), vec![6000; 10]);
        assert_eq!(dataset.validation.class_counts(10), vec![1000; 10]);
        let (mean, std) = dataset.train.channel_mean_std();
        assert!((mean[0] - 0.2860405969887955).abs() < 1e-12, "{mean:?}");
        assert!((std[0] - 0.35302424451492254).abs() < 1e-12, "{std:?}");
        assert_eq!(dataset.class_names[9], "Ankle boot");

        let options = LoadOptions { train_subset: Some(300), val_subset: Some(100), seed: 3, ..Default::default() };
        let small = load(&options).unwrap();
        assert_eq!(small.train.class_counts(10), vec![30; 10]);
        assert_eq!(small.validation.class_counts(10), vec![10; 10]);
        assert_eq!(load(&options).unwrap().train, small.train, "same seed, same subset");
        let other = load(&LoadOptions { seed: 4, ..options }).unwrap();
        assert_ne!(other.train.images, small.train.images, "another seed, another subset");
        let split = load(&LoadOptions { split: ValidationSplit::TrainFraction(0.1), ..Default::default() }).unwrap();
        assert_eq!((split.train.len(), split.validation.len()), (54_000, 6_000));
        assert_eq!(split.validation.class_counts(10), vec![600; 10]);
    }

    #[test]
    fn datasets_without_a_default_folder_say_how_to_get_them() {
        let e = load(&LoadOptions { dataset: DatasetName::Cifar10, ..Default::default() }).unwrap_err().to_string();
        assert!(e.contains("--data-dir") && e.contains("cifar-10-binary"), "{e}");
    }

    #[test]
    fn presence_is_checked_from_file_names_alone() {
        let dir = small_mnist("presence", 2);
        let options = LoadOptions { dataset: DatasetName::Mnist, data_dir: Some(dir.clone()), ..Default::default() };
        check_present(&options).unwrap();
        let e = check_present(&LoadOptions { val_subset: Some(0), ..options.clone() }).unwrap_err().to_string();
        assert!(e.contains("val_subset is 0"), "{e}");
        std::fs::remove_file(dir.join("t10k-labels-idx1-ubyte")).unwrap();
        let e = check_present(&options).unwrap_err().to_string();
        assert!(e.contains("t10k-labels-idx1-ubyte[.gz]") && !e.contains("train-images-idx3-ubyte["), "{e}");
        for dataset in [DatasetName::Cifar10, DatasetName::ImageNet16_120] {
            let e = check_present(&LoadOptions { dataset, ..options.clone() }).unwrap_err();
            assert!(matches!(e, DataError::MissingFiles { .. }), "{dataset}: {e}");
            let e = check_present(&LoadOptions { dataset, data_dir: None, ..options.clone() }).unwrap_err();
            assert!(matches!(e, DataError::NoDataDir { .. }), "{dataset}: {e}");
        }
        std::fs::remove_dir_all(dir).ok();
    }

    /// Mean and std against a two-pass f64 computation over the same pixels.
    #[test]
    fn channel_statistics_match_a_two_pass_computation() {
        let (c, h, w, n) = (3, 2, 5, 7);
        let images: Vec<u8> = (0..n * c * h * w).map(|i| ((i * 37 + i / 11 * 101) % 256) as u8).collect();
        let set = ImageSet { images, labels: vec![0; n], channels: c, height: h, width: w };
        let (mean, std) = set.channel_mean_std();
        for channel in 0..c {
            let pixels: Vec<f64> = (0..n)
                .flat_map(|i| set.image(i)[channel * h * w..(channel + 1) * h * w].to_vec())
                .map(|v| v as f64 / 255.0)
                .collect();
            let m = pixels.iter().sum::<f64>() / pixels.len() as f64;
            let s = (pixels.iter().map(|x| (x - m).powi(2)).sum::<f64>() / pixels.len() as f64).sqrt();
            assert!((mean[channel] - m).abs() < 1e-14 && (std[channel] - s).abs() < 1e-14, "channel {channel}");
        }
    }

    /// A small MNIST in IDX format: `per_class` images of each digit, image `i` filled with `i`.
    fn small_mnist(name: &str, per_class: usize) -> PathBuf {
        let dir = temp_dir(name);
        let labels: Vec<u8> = (0..10 * per_class).map(|i| (i % 10) as u8).collect();
        let images: Vec<Vec<u8>> = (0..labels.len()).map(|i| vec![i as u8; 4]).collect();
        write_idx(&dir, "train", &images, 2, 2, &labels, true);
        write_idx(&dir, "t10k", &images[..20], 2, 2, &labels[..20], false);
        dir
    }

    #[test]
    fn splits_and_subsets_are_seeded_stratified_and_disjoint() {
        let dir = small_mnist("load-split", 20);
        let options = LoadOptions {
            dataset: DatasetName::Mnist,
            data_dir: Some(dir.clone()),
            split: ValidationSplit::TrainCount(50),
            seed: 11,
            ..Default::default()
        };
        let d = load(&options).unwrap();
        assert_eq!((d.train.len(), d.validation.len()), (150, 50));
        assert_eq!(d.validation.class_counts(10), vec![5; 10]);
        // Each image is unique (filled with its index), so the two splits must not share one.
        let mut all: Vec<u8> = d.train.images.chunks(4).chain(d.validation.images.chunks(4)).map(|c| c[0]).collect();
        all.sort_unstable();
        assert_eq!(all, (0..200).map(|i| i as u8).collect::<Vec<_>>());
        assert!(d.source.contains("50 training images split off"), "{}", d.source);
        assert_eq!(load(&options).unwrap().validation, d.validation);

        let d = load(&LoadOptions { train_subset: Some(30), val_subset: Some(12), ..options.clone() }).unwrap();
        assert_eq!(d.train.class_counts(10), vec![3; 10]);
        assert_eq!(d.validation.len(), 12);
        assert!(d.validation.class_counts(10).iter().all(|&c| c >= 1));

        for (split, message) in [
            (ValidationSplit::TrainCount(200), "takes 200 of the 200 training images"),
            (ValidationSplit::TrainCount(191), "the allowed range is 10 to 190 images"),
            (ValidationSplit::TrainCount(9), "at least one image per class (10)"),
            (ValidationSplit::TrainFraction(0.999999), "takes 200 of the 200"),
            (ValidationSplit::TrainFraction(0.01), "takes 2 of the 200"),
            (ValidationSplit::TrainFraction(1.0), "above 0 and below 1"),
            (ValidationSplit::TrainFraction(f64::NAN), "above 0 and below 1"),
        ] {
            let e = load(&LoadOptions { split, ..options.clone() }).unwrap_err().to_string();
            assert!(e.contains(message), "{split}: {e}");
            // The same refusal from the file sizes alone, before any image is read.
            let e = check_split_sizes(&LoadOptions { split, ..options.clone() }).unwrap_err().to_string();
            assert!(e.contains(message), "{split}: {e}");
        }
        for split in [ValidationSplit::TrainCount(10), ValidationSplit::TrainCount(190), ValidationSplit::HeldOut] {
            check_split_sizes(&LoadOptions { split, ..options.clone() }).unwrap();
            load(&LoadOptions { split, ..options.clone() }).unwrap();
        }
        let e = load(&LoadOptions { train_subset: Some(0), ..options }).unwrap_err().to_string();
        assert!(e.contains("train_subset is 0"), "{e}");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn the_test_split_is_the_held_out_one_subset_on_its_own_and_labels_corrupt_by_seed() {
        let dir = small_mnist("load-test-split", 20);
        let options = LoadOptions {
            dataset: DatasetName::Mnist,
            data_dir: Some(dir.clone()),
            split: ValidationSplit::TrainCount(50),
            seed: 5,
            ..Default::default()
        };
        let d = load(&options).unwrap();
        // The held-out file holds images 0..20 (filled with their index), as the test split.
        assert_eq!(d.test.images.chunks(4).map(|c| c[0]).collect::<Vec<_>>(), (0..20).collect::<Vec<u8>>());
        assert!(d.corrupted_labels.is_empty());
        let small = load(&LoadOptions { test_subset: Some(10), ..options.clone() }).unwrap();
        assert_eq!(small.test.class_counts(10), vec![1; 10]);
        assert_eq!(small.train, d.train, "the test subset draws from its own stream");
        let held = load(&LoadOptions { split: ValidationSplit::HeldOut, ..options.clone() }).unwrap();
        assert_eq!(held.validation, held.test, "held-out: validation and test are the same images");

        let noisy = load(&LoadOptions { label_noise: 0.2, ..options.clone() }).unwrap();
        assert_eq!(noisy.corrupted_labels.len(), 30, "round(0.2 · 150)");
        assert_eq!(noisy.train.images, d.train.images, "corruption changes labels only");
        for i in 0..d.train.len() {
            let changed = noisy.train.labels[i] != d.train.labels[i];
            assert_eq!(changed, noisy.corrupted_labels.contains(&(i as u32)));
        }
        assert_eq!((noisy.validation.clone(), noisy.test.clone()), (d.validation.clone(), d.test.clone()));
        assert_eq!(
            load(&LoadOptions { label_noise: 0.2, ..options.clone() }).unwrap().corrupted_labels,
            noisy.corrupted_labels
        );
        assert!(noisy.source.contains("30 training labels corrupted"), "{}", noisy.source);

        let e = load(&LoadOptions { split: ValidationSplit::TrainCount(5000), ..options.clone() }).unwrap_err();
        assert!(e.to_string().contains("set `validation` to a count or fraction in that range"), "{e}");
        for bad in [1.0, -0.1, f64::NAN] {
            let e = load(&LoadOptions { label_noise: bad, ..options.clone() }).unwrap_err().to_string();
            assert!(e.contains("label_noise"), "{e}");
        }
        let e = check_present(&LoadOptions { test_subset: Some(0), ..options }).unwrap_err().to_string();
        assert!(e.contains("test_subset is 0"), "{e}");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn validation_splits_serialise_as_a_script_writes_them() {
        for (split, text) in [
            (ValidationSplit::HeldOut, "\"held-out\""),
            (ValidationSplit::TrainCount(5000), "5000"),
            (ValidationSplit::TrainFraction(0.1), "0.1"),
        ] {
            assert_eq!(serde_json::to_string(&split).unwrap(), text);
            assert_eq!(serde_json::from_str::<ValidationSplit>(text).unwrap(), split);
        }
        assert!(serde_json::from_str::<ValidationSplit>("1.5").is_err());
        // 1.0 is neither a fraction (below 1) nor a count (written without a decimal point): it
        // once read as one image.
        for ambiguous in ["1.0", "5000.0", "0.0"] {
            let e = serde_json::from_str::<ValidationSplit>(ambiguous).unwrap_err().to_string();
            assert!(e.contains("above 0 and below 1") && e.contains("without a decimal point"), "{e}");
        }
        assert!(serde_json::from_str::<ValidationSplit>("\"half\"").is_err());
    }

    #[test]
    fn validation_splits_parse_from_text() {
        assert_eq!("held-out".parse::<ValidationSplit>().unwrap(), ValidationSplit::HeldOut);
        assert_eq!("0.2".parse::<ValidationSplit>().unwrap(), ValidationSplit::TrainFraction(0.2));
        assert_eq!("5000".parse::<ValidationSplit>().unwrap(), ValidationSplit::TrainCount(5000));
        for bad in ["1.5", "-3", "half"] {
            let e = bad.parse::<ValidationSplit>().unwrap_err().to_string();
            assert!(e.contains("held-out") && e.contains(bad), "{e}");
        }
        for split in [ValidationSplit::HeldOut, ValidationSplit::TrainFraction(0.25), ValidationSplit::TrainCount(7)] {
            assert_eq!(split.to_string().parse::<ValidationSplit>().unwrap(), split);
        }
    }

    #[test]
    fn imagenet16_classes_are_wnids_with_devkit_names_beside() {
        let dir = temp_dir("load-imagenet16");
        let image = [3u8; 768];
        for i in 1..=10 {
            let batch = imagenet16::tests::py2_batch(&[image, image], &[i, 119 + i]);
            std::fs::write(dir.join(format!("train_data_batch_{i}")), batch).unwrap();
        }
        std::fs::write(dir.join("val_data"), imagenet16::tests::py2_batch(&[image], &[2])).unwrap();
        let devkit: String = (1..=120).map(|i| format!("n{:08} {i} name_{i}\n", 1000 + i)).collect();
        std::fs::write(dir.join("map_clsloc.txt"), devkit).unwrap();
        let options = LoadOptions {
            dataset: DatasetName::ImageNet16_120,
            data_dir: Some(dir.clone()),
            wnids_file: Some(dir.join("map_clsloc.txt")),
            ..Default::default()
        };
        let d = load(&options).unwrap();
        assert_eq!((d.train.len(), d.validation.len()), (11, 1));
        assert_eq!(d.train.labels[..3], [0, 119, 1]);
        assert_eq!((d.class_names.len(), d.class_names[0].as_str()), (120, "n00001001"));
        assert_eq!(d.class_descriptions[119], "n00001120 name_120");
        assert!(d.source.contains("map_clsloc.txt"), "{}", d.source);
        std::fs::remove_dir_all(dir).ok();
    }
}
