//! Errors of the readers: which file, what is wrong with it, and how to get a good one.

use std::path::PathBuf;

use crate::DatasetName;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{dataset}: the expected files are not in {dir}:\n  {expected}\n{how}")]
    MissingFiles { dataset: DatasetName, dir: PathBuf, expected: String, how: String },
    #[error("{dataset} has no default folder; give its files' folder with --data-dir (or `data_dir` in a script). {}", how_to_get(*dataset))]
    NoDataDir { dataset: DatasetName },
    #[error("{path}: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    BadOption(String),
}

impl DataError {
    pub(crate) fn corrupt(path: &std::path::Path, message: impl Into<String>) -> DataError {
        DataError::Corrupt { path: path.to_path_buf(), message: message.into() }
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> DataError {
        DataError::Io { path: path.to_path_buf(), source }
    }
}

/// How to get a dataset's files.
pub(crate) fn how_to_get(dataset: DatasetName) -> &'static str {
    match dataset {
        DatasetName::FashionMnist => {
            "Install them with `apt-get install dataset-fashion-mnist` (Debian), or download the four IDX files \
             from the Fashion-MNIST repository and pass their folder with --data-dir."
        }
        DatasetName::Mnist => {
            "Download the four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, \
             t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) and pass their folder with --data-dir."
        }
        DatasetName::Cifar10 => {
            "Download the 'CIFAR-10 binary version' (cifar-10-binary.tar.gz), unpack it, and pass the \
             cifar-10-batches-bin folder (or its parent) with --data-dir."
        }
        DatasetName::ImageNet16_120 => {
            "Download the downsampled ImageNet 16x16 (Imagenet16_train.zip and Imagenet16_val.zip, as used by \
             NAS-Bench-201), unpack both into one folder and pass it with --data-dir; give the class list with --wnids."
        }
    }
}
