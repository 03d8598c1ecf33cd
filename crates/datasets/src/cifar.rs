//! CIFAR-10 binary batches: each record is 1 label byte then 3,072 bytes — the red, green and
//! blue 32×32 planes. Five training batches and one test batch of 10,000 records each.

use std::path::{Path, PathBuf};

use crate::error::{how_to_get, DataError};
use crate::{DatasetName, ImageSet};

const RECORD: usize = 1 + 3 * 32 * 32;
const TRAIN_FILES: [&str; 5] =
    ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];
const TEST_FILE: &str = "test_batch.bin";
const META_FILE: &str = "batches.meta.txt";
const FORMAT: &str = "CIFAR-10 binary batch";

/// Parses one batch file's bytes.
pub fn parse_batch(bytes: &[u8], path: &Path) -> Result<ImageSet, DataError> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD) {
        return Err(DataError::corrupt(
            path,
            FORMAT,
            format!(
                "{} bytes is not a whole number of {RECORD}-byte records (1 label byte + 3×32×32 pixels); truncated?",
                bytes.len()
            ),
        ));
    }
    let n = bytes.len() / RECORD;
    let mut images = Vec::with_capacity(n * (RECORD - 1));
    let mut labels = Vec::with_capacity(n);
    for (i, record) in bytes.chunks_exact(RECORD).enumerate() {
        if record[0] >= 10 {
            return Err(DataError::corrupt(
                path,
                FORMAT,
                format!("record {i} has label {}, but CIFAR-10 labels are 0..=9", record[0]),
            ));
        }
        labels.push(record[0] as u32);
        images.extend_from_slice(&record[1..]);
    }
    Ok(ImageSet { images, labels, channels: 3, height: 32, width: 32 })
}

/// The class names of `batches.meta.txt` (one a line, blank lines ignored), which must be ten.
fn read_meta(path: &Path) -> Result<Vec<String>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    let names: Vec<String> = text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
    if names.len() != 10 {
        return Err(DataError::corrupt(
            path,
            "CIFAR-10 class list",
            format!("it names {} classes, CIFAR-10 has 10 (one name a line)", names.len()),
        ));
    }
    Ok(names)
}

/// Whether the six batch files are in `dir` (or `dir/cifar-10-batches-bin`), without reading
/// them: the folder that holds them, or what is missing.
pub fn check_present(dir: &Path) -> Result<PathBuf, DataError> {
    let all_files = || TRAIN_FILES.iter().chain([&TEST_FILE]);
    let candidates = [dir.to_path_buf(), dir.join("cifar-10-batches-bin")];
    // The folder holding most of the files; a partly unpacked one is reported with what it lacks.
    let folder: PathBuf = candidates
        .iter()
        .max_by_key(|d| (all_files().filter(|f| d.join(f).is_file()).count(), std::cmp::Reverse(d.as_os_str().len())))
        .expect("two candidates")
        .clone();
    let missing: Vec<String> =
        all_files().map(|f| folder.join(f)).filter(|p| !p.is_file()).map(|p| p.display().to_string()).collect();
    if !missing.is_empty() {
        return Err(DataError::MissingFiles {
            dataset: DatasetName::Cifar10,
            dir: folder,
            missing,
            how: how_to_get(DatasetName::Cifar10).to_string(),
        });
    }
    Ok(folder)
}

/// Reads `dir` (or `dir/cifar-10-batches-bin`): training set, test set, class names (from
/// `batches.meta.txt` when present, else the standard ones).
pub fn read(dir: &Path) -> Result<(ImageSet, ImageSet, Vec<String>), DataError> {
    let folder = check_present(dir)?;
    let read = |name: &str| -> Result<ImageSet, DataError> {
        let path = folder.join(name);
        let bytes = std::fs::read(&path).map_err(|e| DataError::io(&path, e))?;
        parse_batch(&bytes, &path)
    };
    let mut train = ImageSet { images: Vec::new(), labels: Vec::new(), channels: 3, height: 32, width: 32 };
    for name in TRAIN_FILES {
        let batch = read(name)?;
        train.images.extend(batch.images);
        train.labels.extend(batch.labels);
    }
    let test = read(TEST_FILE)?;
    let meta = folder.join(META_FILE);
    let names = if meta.is_file() {
        read_meta(&meta)?
    } else {
        crate::class_names(DatasetName::Cifar10).expect("fixed").iter().map(|s| s.to_string()).collect()
    };
    Ok((train, test, names))
}

/// The number of training images, from the sizes of the training batch files.
pub(crate) fn training_len(dir: &Path) -> Result<usize, DataError> {
    let folder = check_present(dir)?;
    let mut images = 0;
    for file in TRAIN_FILES {
        let path = folder.join(file);
        images += std::fs::metadata(&path).map_err(|e| DataError::io(&path, e))?.len() as usize / RECORD;
    }
    Ok(images)
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
        let (train, test, names) = read(&dir).unwrap();
        assert_eq!(train.len(), 10);
        assert_eq!(train.labels, [0, 9, 1, 9, 2, 9, 3, 9, 4, 9]);
        assert_eq!(train.images.len(), 10 * 3072);
        // Channel-major: the red plane, then green, then blue.
        assert_eq!((train.images[0], train.images[1024], train.images[2048], train.images[3072]), (200, 100, 50, 40));
        assert_eq!(test.labels, vec![3]);
        assert_eq!(names[0], "airplane");
        // The folder itself works too, and its batches.meta.txt names the classes.
        std::fs::write(sub.join(META_FILE), "a0\na1\na2\na3\na4\na5\na6\na7\na8\na9\n\n").unwrap();
        assert_eq!(read(&sub).unwrap().2[9], "a9");
        std::fs::write(sub.join(META_FILE), "a0\na1\n").unwrap();
        let e = read(&sub).unwrap_err().to_string();
        assert!(e.contains("batches.meta.txt is not a valid CIFAR-10 class list: it names 2 classes"), "{e}");
        std::fs::remove_file(sub.join(META_FILE)).unwrap();
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn bad_batches_and_missing_files_are_named() {
        let dir = temp_dir("cifar-bad");
        for name in TRAIN_FILES {
            std::fs::write(dir.join(name), record(1, 1)).unwrap();
        }
        std::fs::write(dir.join(TEST_FILE), &record(3, 8)[..3000]).unwrap();
        let e = read(&dir).unwrap_err().to_string();
        assert!(
            e.contains("test_batch.bin is not a valid CIFAR-10 binary batch: 3000 bytes") && e.contains("truncated"),
            "{e}"
        );
        std::fs::write(dir.join(TEST_FILE), [record(3, 8), record(10, 8)].concat()).unwrap();
        let e = read(&dir).unwrap_err().to_string();
        assert!(e.contains("record 1 has label 10"), "{e}");
        std::fs::remove_file(dir.join(TRAIN_FILES[2])).unwrap();
        let e = read(&dir).unwrap_err().to_string();
        assert!(
            e.contains(&format!("missing in {}:\n  {}\n", dir.display(), dir.join(TRAIN_FILES[2]).display())),
            "{e}"
        );
        std::fs::remove_dir_all(dir).ok();
        let e = read(Path::new("/nonexistent-cifar")).unwrap_err().to_string();
        assert!(e.contains("/nonexistent-cifar/data_batch_1.bin") && e.contains("cifar-10-binary.tar.gz"), "{e}");
    }
}
