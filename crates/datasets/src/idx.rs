//! IDX files (MNIST, Fashion-MNIST): a big-endian header — magic `0x00000803` for images
//! (count, rows, cols) or `0x00000801` for labels (count) — then the bytes. Gzip or raw.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{how_to_get, DataError};
use crate::{DatasetName, ImageSet};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

/// Reads a file, gunzipping it when it starts with the gzip magic `1f 8b`.
pub(crate) fn read_maybe_gzip(path: &Path, format: &'static str) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        // The gzip trailer's last four bytes are the uncompressed size mod 2^32: a capacity hint.
        let hint = raw.len().checked_sub(4).map_or(0, |at| u32::from_le_bytes(raw[at..].try_into().expect("4 bytes")));
        let mut out = Vec::with_capacity((hint as usize).min(1 << 30));
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| DataError::corrupt(path, format, format!("broken gzip stream ({e})")))?;
        Ok(out)
    } else if path.extension().is_some_and(|e| e == "gz") {
        Err(DataError::corrupt(
            path,
            format,
            "the name ends in .gz but the file does not start with the gzip magic 1f 8b",
        ))
    } else {
        Ok(raw)
    }
}

fn be_u32(bytes: &[u8], at: usize) -> usize {
    u32::from_be_bytes(bytes[at..at + 4].try_into().expect("four bytes")) as usize
}

const IMAGES_FORMAT: &str = "IDX image file";
const LABELS_FORMAT: &str = "IDX label file";

/// Parses an IDX image file (the header is cut off in place): (count, rows, cols, pixels).
pub fn parse_images(mut bytes: Vec<u8>, path: &Path) -> Result<(usize, usize, usize, Vec<u8>), DataError> {
    let bad = |message: String| DataError::corrupt(path, IMAGES_FORMAT, message);
    if bytes.len() < 16 {
        return Err(bad(format!("{} bytes is too short for the 16-byte header", bytes.len())));
    }
    let magic = be_u32(&bytes, 0);
    if magic != IMAGES_MAGIC as usize {
        return Err(bad(format!("bad magic 0x{magic:08x}; an IDX image file starts with 0x{IMAGES_MAGIC:08x}")));
    }
    let (n, rows, cols) = (be_u32(&bytes, 4), be_u32(&bytes, 8), be_u32(&bytes, 12));
    let expected = n * rows * cols;
    let body = bytes.len() - 16;
    if body != expected {
        let what = if body < expected { "truncated" } else { "too long" };
        return Err(bad(format!(
            "{what}: the header promises {n} images of {rows}×{cols} ({expected} bytes), the file has {body}"
        )));
    }
    bytes.drain(..16);
    Ok((n, rows, cols, bytes))
}

/// Parses an IDX label file.
pub fn parse_labels(bytes: &[u8], path: &Path) -> Result<Vec<u32>, DataError> {
    let bad = |message: String| DataError::corrupt(path, LABELS_FORMAT, message);
    if bytes.len() < 8 {
        return Err(bad(format!("{} bytes is too short for the 8-byte header", bytes.len())));
    }
    let magic = be_u32(bytes, 0);
    if magic != LABELS_MAGIC as usize {
        return Err(bad(format!("bad magic 0x{magic:08x}; an IDX label file starts with 0x{LABELS_MAGIC:08x}")));
    }
    let n = be_u32(bytes, 4);
    let body = bytes.len() - 8;
    if body != n {
        let what = if body < n { "truncated" } else { "too long" };
        return Err(bad(format!("{what}: the header promises {n} labels, the file has {body}")));
    }
    Ok(bytes[8..].iter().map(|&b| b as u32).collect())
}

/// The names an IDX file may have: raw or gzipped.
fn names(stem: &str) -> [String; 2] {
    [stem.to_string(), format!("{stem}.gz")]
}

/// Finds `stem` or `stem.gz` in `dir`.
fn find(dir: &Path, stem: &str) -> Option<PathBuf> {
    names(stem).into_iter().map(|name| dir.join(name)).find(|p| p.is_file())
}

const STEMS: [&str; 4] =
    ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

fn read_pair(dir: &Path, prefix: &str, dataset: DatasetName) -> Result<ImageSet, DataError> {
    let images_path = find(dir, &format!("{prefix}-images-idx3-ubyte")).expect("checked by read_split_pair");
    let labels_path = find(dir, &format!("{prefix}-labels-idx1-ubyte")).expect("checked by read_split_pair");
    let (n, rows, cols, images) = parse_images(read_maybe_gzip(&images_path, IMAGES_FORMAT)?, &images_path)?;
    let labels = parse_labels(&read_maybe_gzip(&labels_path, LABELS_FORMAT)?, &labels_path)?;
    if labels.len() != n {
        return Err(DataError::corrupt(
            &labels_path,
            LABELS_FORMAT,
            format!("it has {} labels for the {n} images of {}", labels.len(), images_path.display()),
        ));
    }
    let classes = dataset.num_classes();
    if let Some((i, bad)) = labels.iter().enumerate().find(|(_, &l)| l as usize >= classes) {
        return Err(DataError::corrupt(
            &labels_path,
            LABELS_FORMAT,
            format!("label {bad} of image {i} is out of range: {dataset} has classes 0..={}", classes - 1),
        ));
    }
    Ok(ImageSet { images, labels, channels: 1, height: rows, width: cols })
}

/// Whether the four IDX files (raw or gzipped) are in `dir`, without reading them.
pub fn check_present(dir: &Path, dataset: DatasetName) -> Result<(), DataError> {
    let missing: Vec<String> =
        STEMS.iter().filter(|s| find(dir, s).is_none()).map(|s| format!("{}[.gz]", dir.join(s).display())).collect();
    if !missing.is_empty() {
        return Err(DataError::MissingFiles {
            dataset,
            dir: dir.to_path_buf(),
            missing,
            how: how_to_get(dataset).to_string(),
        });
    }
    Ok(())
}

/// The number of training images, from the training label file alone (a few dozen kB).
pub(crate) fn training_len(dir: &Path, dataset: DatasetName) -> Result<usize, DataError> {
    check_present(dir, dataset)?;
    let path = find(dir, "train-labels-idx1-ubyte").expect("checked above");
    Ok(parse_labels(&read_maybe_gzip(&path, LABELS_FORMAT)?, &path)?.len())
}

/// Reads the training (`train-…`) and test (`t10k-…`) splits of an IDX dataset in `dir`.
pub fn read_split_pair(dir: &Path, dataset: DatasetName) -> Result<(ImageSet, ImageSet), DataError> {
    check_present(dir, dataset)?;
    let train = read_pair(dir, "train", dataset)?;
    let test = read_pair(dir, "t10k", dataset)?;
    if (train.height, train.width) != (test.height, test.width) {
        return Err(DataError::Inconsistent {
            dataset,
            dir: dir.to_path_buf(),
            message: format!(
                "the training images are {}×{} but the test (t10k) images are {}×{}; both files must come from one dataset",
                train.height, train.width, test.height, test.width
            ),
        });
    }
    Ok((train, test))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// Writes an IDX image file and its labels the way the original files are laid out.
    pub(crate) fn write_idx(
        dir: &Path,
        prefix: &str,
        images: &[Vec<u8>],
        rows: u32,
        cols: u32,
        labels: &[u8],
        gzip: bool,
    ) {
        let mut img = Vec::new();
        img.extend_from_slice(&IMAGES_MAGIC.to_be_bytes());
        img.extend_from_slice(&(images.len() as u32).to_be_bytes());
        img.extend_from_slice(&rows.to_be_bytes());
        img.extend_from_slice(&cols.to_be_bytes());
        for i in images {
            img.extend_from_slice(i);
        }
        let mut lab = Vec::new();
        lab.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
        lab.extend_from_slice(&(labels.len() as u32).to_be_bytes());
        lab.extend_from_slice(labels);
        for (stem, bytes) in
            [(format!("{prefix}-images-idx3-ubyte"), img), (format!("{prefix}-labels-idx1-ubyte"), lab)]
        {
            if gzip {
                let f = std::fs::File::create(dir.join(format!("{stem}.gz"))).unwrap();
                let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
                enc.write_all(&bytes).unwrap();
                enc.finish().unwrap();
            } else {
                std::fs::write(dir.join(stem), bytes).unwrap();
            }
        }
    }

    pub(crate) fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xnas-datasets-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn reads_raw_and_gzip_files_written_in_the_real_format() {
        for gzip in [false, true] {
            let dir = temp_dir(&format!("idx-{gzip}"));
            let images: Vec<Vec<u8>> = (0..4u8).map(|i| (0..6).map(|k| i * 10 + k).collect()).collect();
            write_idx(&dir, "train", &images, 2, 3, &[3, 1, 4, 1], gzip);
            write_idx(&dir, "t10k", &images[..2], 2, 3, &[5, 9], gzip);
            let (train, test) = read_split_pair(&dir, DatasetName::Mnist).unwrap();
            assert_eq!((train.len(), train.height, train.width, train.channels), (4, 2, 3, 1));
            assert_eq!(train.labels, vec![3, 1, 4, 1]);
            assert_eq!(train.images, images.concat());
            assert_eq!(test.labels, vec![5, 9]);
            assert_eq!(test.images, images[..2].concat());
            std::fs::remove_dir_all(dir).ok();
        }
    }

    /// Overwrites `name` in `dir` with `bytes` and returns the read error's message.
    fn error_after_writing(dir: &Path, name: &str, bytes: &[u8]) -> String {
        std::fs::write(dir.join(name), bytes).unwrap();
        read_split_pair(dir, DatasetName::Mnist).unwrap_err().to_string()
    }

    #[test]
    fn corrupt_files_say_which_and_what_is_wrong() {
        let dir = temp_dir("idx-bad");
        write_idx(&dir, "train", &[vec![0; 4]], 2, 2, &[1], false);
        write_idx(&dir, "t10k", &[vec![0; 4]], 2, 2, &[1, 2], false);
        let e = read_split_pair(&dir, DatasetName::Mnist).unwrap_err().to_string();
        assert!(
            e.contains("t10k-labels-idx1-ubyte is not a valid IDX label file: it has 2 labels for the 1 images"),
            "{e}"
        );
        write_idx(&dir, "t10k", &[vec![0; 4]], 2, 2, &[1], false);
        read_split_pair(&dir, DatasetName::Mnist).unwrap();

        let images = std::fs::read(dir.join("train-images-idx3-ubyte")).unwrap();
        let e = error_after_writing(&dir, "train-images-idx3-ubyte", &images[..images.len() - 1]);
        assert!(e.contains("train-images-idx3-ubyte is not a valid IDX image file: truncated: the header promises 1 images of 2×2 (4 bytes), the file has 3"), "{e}");
        let e = error_after_writing(
            &dir,
            "train-images-idx3-ubyte",
            &[&LABELS_MAGIC.to_be_bytes()[..], &images[4..]].concat(),
        );
        assert!(e.contains("bad magic 0x00000801; an IDX image file starts with 0x00000803"), "{e}");
        let e = error_after_writing(&dir, "train-images-idx3-ubyte", &images[..10]);
        assert!(e.contains("10 bytes is too short"), "{e}");
        std::fs::write(dir.join("train-images-idx3-ubyte"), &images).unwrap();

        let e = error_after_writing(&dir, "train-labels-idx1-ubyte", &[0, 0, 8, 1, 0, 0, 0, 1, 10]);
        assert!(e.contains("label 10 of image 0 is out of range: mnist has classes 0..=9"), "{e}");
        std::fs::remove_file(dir.join("train-labels-idx1-ubyte")).unwrap();
        let e = error_after_writing(&dir, "train-labels-idx1-ubyte.gz", &[0, 0, 8, 1, 0, 0, 0, 1, 1]);
        assert!(e.contains("train-labels-idx1-ubyte.gz is not a valid IDX label file: the name ends in .gz"), "{e}");
        let e = error_after_writing(&dir, "train-labels-idx1-ubyte.gz", &[0x1f, 0x8b, 8, 0, 0, 0]);
        assert!(e.contains("broken gzip stream"), "{e}");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn train_and_test_must_have_one_image_size() {
        let dir = temp_dir("idx-sizes");
        write_idx(&dir, "train", &[vec![0; 4]], 2, 2, &[1], true);
        write_idx(&dir, "t10k", &[vec![0; 6]], 2, 3, &[1], false);
        let e = read_split_pair(&dir, DatasetName::FashionMnist).unwrap_err().to_string();
        assert!(e.contains("training images are 2×2 but the test (t10k) images are 2×3"), "{e}");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn missing_files_list_the_expected_paths_and_how_to_get_them() {
        let dir = temp_dir("idx-missing");
        write_idx(&dir, "train", &[vec![0; 4]], 2, 2, &[1], true);
        let e = read_split_pair(&dir, DatasetName::FashionMnist).unwrap_err().to_string();
        let expected = format!("{}[.gz]\n  {}[.gz]\n", dir.join(STEMS[2]).display(), dir.join(STEMS[3]).display());
        assert!(e.contains(&expected) && !e.contains(STEMS[0]), "{e}");
        assert!(e.contains("apt-get install dataset-fashion-mnist"), "{e}");
        let e = read_split_pair(&dir.join("nothing-here"), DatasetName::Mnist).unwrap_err().to_string();
        assert!(STEMS.iter().all(|s| e.contains(s)) && e.contains("No Debian package ships MNIST"), "{e}");
        std::fs::remove_dir_all(dir).ok();
    }
}
