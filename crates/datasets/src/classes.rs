//! The supported datasets and their class names, in label order.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A dataset xnas knows how to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DatasetName {
    #[serde(rename = "fashion-mnist")]
    FashionMnist,
    #[serde(rename = "mnist")]
    Mnist,
    #[serde(rename = "cifar10")]
    Cifar10,
    /// Downsampled ImageNet at 16×16, first 120 classes (NAS-Bench-201's ImageNet16-120).
    #[serde(rename = "imagenet16-120")]
    ImageNet16_120,
}

impl DatasetName {
    pub const ALL: [DatasetName; 4] =
        [DatasetName::FashionMnist, DatasetName::Mnist, DatasetName::Cifar10, DatasetName::ImageNet16_120];

    /// The name used on the command line and in scripts.
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetName::FashionMnist => "fashion-mnist",
            DatasetName::Mnist => "mnist",
            DatasetName::Cifar10 => "cifar10",
            DatasetName::ImageNet16_120 => "imagenet16-120",
        }
    }

    /// The shape of its images: (channels, height, width).
    pub fn image_shape(self) -> (usize, usize, usize) {
        match self {
            DatasetName::FashionMnist | DatasetName::Mnist => (1, 28, 28),
            DatasetName::Cifar10 => (3, 32, 32),
            DatasetName::ImageNet16_120 => (3, 16, 16),
        }
    }

    /// Number of classes.
    pub fn num_classes(self) -> usize {
        match self {
            DatasetName::ImageNet16_120 => 120,
            _ => 10,
        }
    }
}

impl fmt::Display for DatasetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown dataset name; the message lists the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dataset {0:?}; known datasets: fashion-mnist, mnist, cifar10, imagenet16-120")]
pub struct UnknownDataset(pub String);

impl FromStr for DatasetName {
    type Err = UnknownDataset;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        DatasetName::ALL
            .into_iter()
            .find(|d| d.as_str() == lower || d.as_str().replace('-', "") == lower.replace(['-', '_'], ""))
            .ok_or_else(|| UnknownDataset(s.to_string()))
    }
}

/// Class names in label order, for the datasets whose names are fixed. ImageNet16's names come from
/// the wnid list the user gives, so this returns `None` for it.
pub fn class_names(dataset: DatasetName) -> Option<&'static [&'static str]> {
    match dataset {
        DatasetName::FashionMnist => Some(&[
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ]),
        DatasetName::Mnist => Some(&["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]),
        DatasetName::Cifar10 => {
            Some(&["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"])
        }
        DatasetName::ImageNet16_120 => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_lists_known() {
        for d in DatasetName::ALL {
            assert_eq!(d.as_str().parse::<DatasetName>().unwrap(), d);
        }
        assert_eq!("FashionMNIST".parse::<DatasetName>().unwrap(), DatasetName::FashionMnist);
        let e = "svhn".parse::<DatasetName>().unwrap_err().to_string();
        assert!(e.contains("cifar10") && e.contains("svhn"), "{e}");
    }
}
