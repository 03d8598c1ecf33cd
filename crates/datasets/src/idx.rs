//! IDX files (MNIST, Fashion-MNIST): a big-endian header — magic `0x00000803` for images
//! (count, rows, cols) or `0x00000801` for labels (count) — then the bytes. Gzip or raw.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{how_to_get, DataError};
use crate::{DatasetName, ImageSet};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

/// Reads a file, gunzipping it when it starts with the gzip magic.
pub(crate) fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| DataError::corrupt(path, format!("broken gzip stream: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}

/// Parses an IDX image file: (count, rows, cols, pixels).
pub fn parse_images(bytes: &[u8], path: &Path) -> Result<(usize, usize, usize, Vec<u8>), DataError> {
    if bytes.len() < 16 {
        return Err(DataError::corrupt(path, format!("{} bytes is too short for an IDX image header (16)", bytes.len())));
    }
    let magic = be_u32(bytes, 0);
    if magic != IMAGES_MAGIC {
        return Err(DataError::corrupt(
            path,
            format!("bad magic 0x{magic:08x}: an IDX image file starts with 0x{IMAGES_MAGIC:08x}"),
        ));
    }
    let (n, rows, cols) = (be_u32(bytes, 4) as usize, be_u32(bytes, 8) as usize, be_u32(bytes, 12) as usize);
    let expected = n * rows * cols;
    if bytes.len() - 16 != expected {
        return Err(DataError::corrupt(
            path,
            format!("truncated or padded: the header promises {n} images of {rows}×{cols} ({expected} bytes), the file has {}", bytes.len() - 16),
        ));
    }
    Ok((n, rows, cols, bytes[16..].to_vec()))
}

/// Parses an IDX label file.
pub fn parse_labels(bytes: &[u8], path: &Path) -> Result<Vec<u32>, DataError> {
    if bytes.len() < 8 {
        return Err(DataError::corrupt(path, format!("{} bytes is too short for an IDX label header (8)", bytes.len())));
    }
    let magic = be_u32(bytes, 0);
    if magic != LABELS_MAGIC {
        return Err(DataError::corrupt(
            path,
            format!("bad magic 0x{magic:08x}: an IDX label file starts with 0x{LABELS_MAGIC:08x}"),
        ));
    }
    let n = be_u32(bytes, 4) as usize;
    if bytes.len() - 8 != n {
        return Err(DataError::corrupt(
            path,
            format!("truncated or padded: the header promises {n} labels, the file has {}", bytes.len() - 8),
        ));
    }
    Ok(bytes[8..].iter().map(|&b| b as u32).collect())
}

/// Finds `stem` or `stem.gz` in `dir`.
fn find(dir: &Path, stem: &str) -> Option<PathBuf> {
    [stem.to_string(), format!("{stem}.gz")].into_iter().map(|name| dir.join(name)).find(|p| p.is_file())
}

fn read_pair(dir: &Path, prefix: &str, dataset: DatasetName) -> Result<ImageSet, DataError> {
    let images_stem = format!("{prefix}-images-idx3-ubyte");
    let labels_stem = format!("{prefix}-labels-idx1-ubyte");
    let (Some(images_path), Some(labels_path)) = (find(dir, &images_stem), find(dir, &labels_stem)) else {
        return Err(DataError::MissingFiles {
            dataset,
            dir: dir.to_path_buf(),
            expected: ["train", "t10k"]
                .iter()
                .flat_map(|p| [format!("{p}-images-idx3-ubyte[.gz]"), format!("{p}-labels-idx1-ubyte[.gz]")])
                .collect::<Vec<_>>()
                .join("\n  "),
            how: how_to_get(dataset).to_string(),
        });
    };
    let (n, rows, cols, images) = parse_images(&read_maybe_gzip(&images_path)?, &images_path)?;
    let labels = parse_labels(&read_maybe_gzip(&labels_path)?, &labels_path)?;
    if labels.len() != n {
        return Err(DataError::corrupt(
            &labels_path,
            format!("{} labels for the {n} images of {}", labels.len(), images_path.display()),
        ));
    }
    if let Some(bad) = labels.iter().find(|&&l| l as usize >= dataset.num_classes()) {
        return Err(DataError::corrupt(&labels_path, format!("label {bad} is out of range 0..{}", dataset.num_classes())));
    }
    Ok(ImageSet { images, labels, channels: 1, height: rows, width: cols })
}

/// Reads the training and test splits of an IDX dataset in `dir`.
pub fn read_split_pair(dir: &Path, dataset: DatasetName) -> Result<(ImageSet, ImageSet), DataError> {
    Ok((read_pair(dir, "train", dataset)?, read_pair(dir, "t10k", dataset)?))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// Writes an IDX image file and its labels the way the original files are laid out.
    pub(crate) fn write_idx(dir: &Path, prefix: &str, images: &[Vec<u8>], rows: u32, cols: u32, labels: &[u8], gzip: bool) {
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
        for (stem, bytes) in [(format!("{prefix}-images-idx3-ubyte"), img), (format!("{prefix}-labels-idx1-ubyte"), lab)] {
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
            let images: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i * 10; 6]).collect();
            write_idx(&dir, "train", &images, 2, 3, &[3, 1, 4, 1], gzip);
            write_idx(&dir, "t10k", &images[..2], 2, 3, &[5, 9], gzip);
            let (train, test) = read_split_pair(&dir, DatasetName::Mnist).unwrap();
            assert_eq!((train.len(), train.height, train.width, train.channels), (4, 2, 3, 1));
            assert_eq!(train.labels, vec![3, 1, 4, 1]);
            assert_eq!(&train.images[6..12], &[10; 6]);
            assert_eq!(test.labels, vec![5, 9]);
            std::fs::remove_dir_all(dir).ok();
        }
    }

    #[test]
    fn corrupt_files_say_what_is_wrong() {
        let dir = temp_dir("idx-bad");
        write_idx(&dir, "train", &[vec![0; 4]], 2, 2, &[1], false);
        write_idx(&dir, "t10k", &[vec![0; 4]], 2, 2, &[1, 2], false);
        let e = read_split_pair(&dir, DatasetName::Mnist).unwrap_err().to_string();
        assert!(e.contains("t10k-labels") && e.contains("2 labels for the 1 images"), "{e}");
        // Truncate an image file.
        let path = dir.join("train-images-idx3-ubyte");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        let e = read_split_pair(&dir, DatasetName::Mnist).unwrap_err().to_string();
        assert!(e.contains("truncated") && e.contains("train-images"), "{e}");
        // Swap the magic.
        std::fs::write(&path, [&LABELS_MAGIC.to_be_bytes()[..], &bytes[4..]].concat()).unwrap();
        let e = read_split_pair(&dir, DatasetName::Mnist).unwrap_err().to_string();
        assert!(e.contains("bad magic 0x00000801"), "{e}");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn missing_files_list_what_was_expected_and_how_to_get_it() {
        let dir = temp_dir("idx-missing");
        let e = read_split_pair(&dir, DatasetName::FashionMnist).unwrap_err().to_string();
        assert!(e.contains("train-images-idx3-ubyte[.gz]") && e.contains("apt-get install dataset-fashion-mnist"), "{e}");
        std::fs::remove_dir_all(dir).ok();
    }
}
