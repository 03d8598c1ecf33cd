//! Errors of the readers. They reach someone configuring an experiment, so each names the file or
//! option at fault, what is wrong with it, and how to get a good one.

use std::path::{Path, PathBuf};

use crate::DatasetName;

/// Anything that can go wrong finding, reading or splitting a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// Some of the files the dataset needs are not in the folder.
    #[error("{dataset}: data files missing in {}:\n  {}\n{how}", dir.display(), missing.join("\n  "))]
    MissingFiles {
        dataset: DatasetName,
        dir: PathBuf,
        /// Each missing file as a path, alternatives in brackets (`…/train-images-idx3-ubyte[.gz]`).
        missing: Vec<String>,
        how: String,
    },

    /// No folder was given and the dataset has no default one.
    #[error("{dataset} has no default folder; give its files' folder with --data-dir (or `data_dir` in a script). {}", how_to_get(*dataset))]
    NoDataDir { dataset: DatasetName },

    /// A data file does not have its format: bad magic, truncated, counts that disagree, a label
    /// out of range, a pickle that is not a dataset batch.
    #[error(
        "{} is not a valid {format}: {message}. Replace it with an intact copy of the official file \
         (a partial download or a file of another format looks like this)",
        path.display()
    )]
    Corrupt { path: PathBuf, format: &'static str, message: String },

    /// The files of one dataset disagree with each other (e.g. train and test image sizes).
    #[error("{dataset} in {}: {message}", dir.display())]
    Inconsistent { dataset: DatasetName, dir: PathBuf, message: String },

    /// A line of the ImageNet class → wnid list is wrong, or the list is too short.
    #[error(
        "{}:{line}: {message}. The list holds one class a line in label order: a wnid (n02119789) or a devkit \
         map_clsloc.txt line (n02119789 1 kit_fox)",
        path.display()
    )]
    WnidList { path: PathBuf, line: usize, message: String },

    /// A file exists (or should) but cannot be read.
    #[error("cannot read {}: {cause}", path.display())]
    Io {
        path: PathBuf,
        // Not a `#[source]`: the message already says it, and error chains would repeat it.
        cause: std::io::Error,
    },

    /// A load option is out of range.
    #[error("{0}")]
    BadOption(String),
}

impl DataError {
    pub(crate) fn corrupt(path: &Path, format: &'static str, message: impl Into<String>) -> DataError {
        DataError::Corrupt { path: path.to_path_buf(), format, message: message.into() }
    }

    pub(crate) fn io(path: &Path, cause: std::io::Error) -> DataError {
        DataError::Io { path: path.to_path_buf(), cause }
    }
}

/// How to get a dataset's files.
pub(crate) fn how_to_get(dataset: DatasetName) -> &'static str {
    match dataset {
        DatasetName::FashionMnist => {
            "Install them with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu; files in \
             /usr/share/datasets/fashion-mnist), or download the four IDX files from \
             https://github.com/zalandoresearch/fashion-mnist and pass their folder with --data-dir."
        }
        DatasetName::Mnist => {
            "No Debian package ships MNIST: download the four IDX files (train-images-idx3-ubyte.gz, \
             train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; e.g. from \
             torchvision's mirror https://ossci-datasets.s3.amazonaws.com/mnist/) and pass their folder with --data-dir."
        }
        DatasetName::Cifar10 => {
            "Download the CIFAR-10 binary version (https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz), \
             unpack it, and pass the cifar-10-batches-bin folder (or its parent) with --data-dir."
        }
        DatasetName::ImageNet16_120 => {
            "Download the downsampled ImageNet 16x16 (Imagenet16_train.zip and Imagenet16_val.zip from \
             https://image-net.org/download-images.php, as used by NAS-Bench-201), unpack both into one folder and \
             pass it with --data-dir; give the class list with --wnids (the devkit's map_clsloc.txt)."
        }
    }
}
