//! CIFAR-10 binary batches: each record is 1 label byte then 3,072 bytes — the red, green and
//! blue 32×32 planes. Five training batches and one test batch of 10,000 records each.

use std::path::{Path, PathBuf};

use crate::error::{how_to_get, DataError};
use crate::{DatasetName, ImageSet};

const RECORD: usize = 1 + 3 * 32 * 32;
const TRAIN_FILES: [&str; 5] = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];
const TEST_FILE: &str = "test_batch.bin";

/// Parses one batch file's bytes.
pub fn parse_batch(bytes: &[u8], path: &Path) -> Result<ImageSet, DataError> {
    if bytes.is_empty() || bytes.len() % RECORD != 0 {
        return Err(DataError::corrupt(
            path,
            format!("{} bytes is not a whole number of {RECORD}-byte CIFAR-10 records (truncated?)", bytes.len()),
        ));
    }
    let n = bytes.len() / RECORD;
    let mut images = Vec::with_capacity(n * (RECORD - 1));
    let mut labels = Vec::with_capacity(n);
    for (i, record) in bytes.chunks_exact(RECORD).enumerate() {
        if record[0] >= 10 {
            return Err(DataError::corrupt(path, format!("record {i} has label {}, CIFAR-10 labels are 0..9", record[0])));
        }
        labels.push(record[0] as u32);
        images.extend_from_slice(&record[1..]);
    }
    Ok(ImageSet { images, labels, channels: 3, height: 32, width: 32 })
}

fn concat(sets: Vec<ImageSet>) -> ImageSet {
    let mut out = ImageSet { images: Vec::new(), labels: Vec::new(), channels: 3, height: 32, width: 32 };
    for s in sets {
        out.images.extend(s.images);
        out.labels.extend(s.labels);
    }
    out
}

/// Reads `dir` (or `dir/cifar-10-batches-bin`): training set, test set, class names.
pub fn read(dir: &Path) -> Result<(ImageSet, ImageSet, Vec<String>), DataError> {
    let folder: PathBuf = [dir.to_path_buf(), dir.join("cifar-10-batches-bin")]
        .into_iter()
        .find(|d| d.join(TEST_FILE).is_file())
        .ok_or_else(|| DataError::MissingFiles {
            dataset: DatasetName::Cifar10,
            dir: dir.to_path_buf(),
            expected: TRAIN_FILES.iter().chain([&TEST_FILE]).copied().collect::<Vec<_>>().join("\n  "),
            how: how_to_get(DatasetName::Cifar10).to_string(),
        })?;
    let read = |name: &str| -> Result<ImageSet, DataError> {
        let path = folder.join(name);
        let bytes = std::fs::read(&path).map_err(|e| DataError::io(&path, e))?;
        parse_batch(&bytes, &path)
    };
    let train = concat(TRAIN_FILES.iter().map(|f| read(f)).collect::<Result<_, _>>()?);
    let test = read(TEST_FILE)?;
    let names = match std::fs::read_to_string(folder.join("batches.meta.txt")) {
        Ok(text) => text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect(),
        Err(_) => crate::class_names(DatasetName::Cifar10).expect("fixed").iter().map(|s| s.to_string()).collect(),
    };
    Ok((train, test, names))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idx::tests::temp_dir;

    fn record(label: u8, fill: u8) -> Vec<u8> {
        let mut r = vec![label];
        r.extend(std::iter::repeat_n(fill, 1024)); // red plane
        r.extend(std::iter::repeat_n(fill / 2, 1024)); // green
        r.extend(std::iter::repeat_n(fill / 4, 1024)); // blue
        r
    }

    #[test]
    fn reads_batches_written_in_the_real_format() {
        let dir = temp_dir("cifar");
        let sub = dir.join("cifar-10-batches-bin");
        std::fs::create_dir_all(&sub).unwrap();
        for (i, name) in TRAIN_FILES.iter().enumerate() {
            std::fs::write(sub.join(name), [record(i as u8, 200), record(9, 40)].concat()).unwrap();
        }
        std::fs::write(sub.join(TEST_FILE), record(3, 8)).unwrap();
        std::fs::write(sub.join("batches.meta.txt"), "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n").unwrap();
        let (train, test, names) = read(&dir).unwrap();
        assert_eq!(train.len(), 10);
        assert_eq!(train.labels[..4], [0, 9, 1, 9]);
        assert_eq!((train.images[0], train.images[1024], train.images[2048]), (200, 100, 50));
        assert_eq!(test.labels, vec![3]);
        assert_eq!(names.len(), 10);
        assert_eq!(names[3], "cat");
        // A truncated batch names the file.
        std::fs::write(sub.join(TEST_FILE), &record(3, 8)[..3000]).unwrap();
        let e = read(&dir).unwrap_err().to_string();
        assert!(e.contains("test_batch.bin") && e.contains("truncated"), "{e}");
        std::fs::remove_dir_all(dir).ok();
        let e = read(Path::new("/nonexistent-cifar")).unwrap_err().to_string();
        assert!(e.contains("data_batch_1.bin") && e.contains("cifar-10-binary"), "{e}");
    }
}
