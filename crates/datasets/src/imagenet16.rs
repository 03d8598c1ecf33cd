//! ImageNet16 (Chrabaszcz et al.'s 16×16 downsampled ImageNet, as NAS-Bench-201 uses it):
//! pickled batches `train_data_batch_1` … `train_data_batch_10` and `val_data`, each a dict with
//! `data` (uint8, N × 768: the R, G and B 16×16 planes) and `labels` (1-based, 1..1000).
//! ImageNet16-120 keeps the images whose label is at most 120.

use std::path::Path;

use crate::error::{how_to_get, DataError};
use crate::pickle::{self, Value};
use crate::{DatasetName, ImageSet};

const SIDE: usize = 16;
const IMAGE: usize = 3 * SIDE * SIDE;

fn train_files() -> Vec<String> {
    (1..=10).map(|i| format!("train_data_batch_{i}")).collect()
}

/// Decodes one batch file and keeps the classes 1..=`keep` (as 0-based labels).
pub fn parse_batch(bytes: &[u8], path: &Path, keep: usize) -> Result<ImageSet, DataError> {
    let value = pickle::load(bytes).map_err(|e| DataError::corrupt(path, format!("not a readable pickle: {e}")))?;
    let data = value.get("data").ok_or_else(|| DataError::corrupt(path, "the pickled dict has no 'data' entry"))?;
    let labels = value
        .get("labels")
        .and_then(Value::as_ints)
        .ok_or_else(|| DataError::corrupt(path, "the pickled dict has no 'labels' list of integers"))?;
    let Value::Array { dtype, shape, data } = data else {
        return Err(DataError::corrupt(path, "'data' is not a numpy array"));
    };
    if dtype.trim_start_matches(['|', '<', '=']) != "u1" {
        return Err(DataError::corrupt(path, format!("'data' has dtype {dtype}, expected uint8")));
    }
    let n = labels.len();
    if shape.iter().product::<usize>() != n * IMAGE || data.len() != n * IMAGE {
        return Err(DataError::corrupt(
            path,
            format!("'data' has shape {shape:?} ({} bytes) for {n} labels; expected {n}×{IMAGE}", data.len()),
        ));
    }
    let mut set = ImageSet { images: Vec::new(), labels: Vec::new(), channels: 3, height: SIDE, width: SIDE };
    for (i, &label) in labels.iter().enumerate() {
        if !(1..=1000).contains(&label) {
            return Err(DataError::corrupt(path, format!("label {label} of image {i} is outside 1..1000")));
        }
        if label as usize <= keep {
            set.labels.push(label as u32 - 1);
            set.images.extend_from_slice(&data[i * IMAGE..(i + 1) * IMAGE]);
        }
    }
    Ok(set)
}

/// Reads the training batches and `val_data` from `dir`, keeping the first `keep` classes.
pub fn read(dir: &Path, keep: usize) -> Result<(ImageSet, ImageSet), DataError> {
    let mut expected = train_files();
    expected.push("val_data".into());
    if !expected.iter().all(|f| dir.join(f).is_file()) {
        let missing: Vec<String> = expected.iter().filter(|f| !dir.join(f).is_file()).cloned().collect();
        return Err(DataError::MissingFiles {
            dataset: DatasetName::ImageNet16_120,
            dir: dir.to_path_buf(),
            expected: format!("{}\n  (missing: {})", expected.join("\n  "), missing.join(", ")),
            how: how_to_get(DatasetName::ImageNet16_120).to_string(),
        });
    }
    let read_one = |name: &str| -> Result<ImageSet, DataError> {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(|e| DataError::io(&path, e))?;
        parse_batch(&bytes, &path, keep)
    };
    let mut train = ImageSet { images: Vec::new(), labels: Vec::new(), channels: 3, height: SIDE, width: SIDE };
    for name in train_files() {
        let part = read_one(&name)?;
        train.images.extend(part.images);
        train.labels.extend(part.labels);
    }
    Ok((train, read_one("val_data")?))
}

/// Class names for the first `count` labels from a wnid list: devkit `map_clsloc.txt` lines
/// (`n02119789 1 kit_fox`, named `n02119789 (kit_fox)`) or one wnid per line.
pub fn read_wnids(path: &Path, count: usize) -> Result<Vec<String>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    let mut names = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(&wnid) = fields.first() else { continue };
        let valid = wnid.len() == 9 && wnid.starts_with('n') && wnid[1..].bytes().all(|b| b.is_ascii_digit());
        if !valid {
            return Err(DataError::corrupt(
                path,
                format!("line {}: {wnid:?} is not a WordNet id like n02119789", i + 1),
            ));
        }
        names.push(match fields.get(2) {
            Some(name) => format!("{wnid} ({name})"),
            None => wnid.to_string(),
        });
        if names.len() == count {
            return Ok(names);
        }
    }
    Err(DataError::corrupt(path, format!("has {} wnids, {count} are needed", names.len())))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::idx::tests::temp_dir;

    /// Writes a batch as Python 2's cPickle (protocol 2) writes `{'data': ndarray, 'labels': list}`:
    /// the array through `numpy.core.multiarray._reconstruct` and a BUILD whose raw bytes are a
    /// py2 `str` (BINSTRING), the dtype through `numpy.dtype('u1', 0, 1)` and its BUILD state.
    pub(crate) fn py2_batch(images: &[[u8; IMAGE]], labels: &[u16]) -> Vec<u8> {
        let mut p = vec![0x80, 2, b'}', b'q', 1, b'('];
        let short_str = |p: &mut Vec<u8>, s: &[u8]| {
            p.push(b'U');
            p.push(s.len() as u8);
            p.extend_from_slice(s);
        };
        short_str(&mut p, b"data");
        p.extend_from_slice(b"q\x02cnumpy.core.multiarray\n_reconstruct\nq\x03cnumpy\nndarray\nq\x04K\x00\x85q\x05");
        short_str(&mut p, b"b");
        p.extend_from_slice(b"\x87q\x06Rq\x07(K\x01");
        // shape (n, 768)
        p.push(b'J');
        p.extend_from_slice(&(images.len() as i32).to_le_bytes());
        p.extend_from_slice(b"M\x00\x03\x86q\x08cnumpy\ndtype\nq\t");
        short_str(&mut p, b"u1");
        p.extend_from_slice(b"K\x00K\x01\x87Rq\n(K\x03");
        short_str(&mut p, b"|");
        p.extend_from_slice(b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x0bb\x89");
        let raw: Vec<u8> = images.iter().flat_map(|i| i.iter().copied()).collect();
        p.push(b'T');
        p.extend_from_slice(&(raw.len() as u32).to_le_bytes());
        p.extend_from_slice(&raw);
        p.extend_from_slice(b"tq\x0cb");
        short_str(&mut p, b"labels");
        p.extend_from_slice(b"q\r]q\x0e(");
        for &l in labels {
            p.push(b'M');
            p.extend_from_slice(&l.to_le_bytes());
        }
        p.extend_from_slice(b"eu.");
        p
    }

    fn image(fill: u8) -> [u8; IMAGE] {
        let mut img = [0u8; IMAGE];
        for (k, v) in img.iter_mut().enumerate() {
            *v = fill.wrapping_add((k / 256) as u8);
        }
        img
    }

    #[test]
    fn reads_python2_protocol2_batches_and_keeps_the_first_k_classes() {
        let dir = temp_dir("imagenet16");
        for i in 1..=10u16 {
            let bytes = py2_batch(&[image(i as u8), image(100)], &[i, 500]);
            std::fs::write(dir.join(format!("train_data_batch_{i}")), bytes).unwrap();
        }
        std::fs::write(dir.join("val_data"), py2_batch(&[image(7), image(8), image(9)], &[120, 121, 1])).unwrap();
        let (train, val) = read(&dir, 120).unwrap();
        assert_eq!(train.labels, (0..10).collect::<Vec<u32>>());
        assert_eq!(&train.images[..3], &[1, 1, 1]);
        assert_eq!(train.images[256], 2); // the green plane starts at 256
        assert_eq!(val.labels, vec![119, 0]);
        assert_eq!(val.images[IMAGE], 9);
        std::fs::remove_file(dir.join("val_data")).unwrap();
        let e = read(&dir, 120).unwrap_err().to_string();
        assert!(e.contains("missing: val_data") && e.contains("Imagenet16_val.zip"), "{e}");
        std::fs::remove_dir_all(dir).ok();
    }

    /// Files written by the real pickle module and numpy, when the project's venv is there.
    #[test]
    fn reads_batches_pickled_by_real_numpy_at_protocols_2_and_5() {
        let python = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/python");
        if !Path::new(python).exists() {
            eprintln!("note: {python} is absent (scripts/setup.sh creates it); real-numpy pickles not checked");
            return;
        }
        let dir = temp_dir("imagenet16-numpy");
        let script = r#"
import pickle, sys, numpy as np
data = np.arange(3 * 768, dtype=np.uint8).reshape(3, 768)
for proto in (2, 5):
    with open(f"{sys.argv[1]}/p{proto}", "wb") as f:
        pickle.dump({"data": data, "labels": [5, 130, 1], "mean": np.zeros(768)}, f, protocol=proto)
    with open(f"{sys.argv[1]}/a{proto}", "wb") as f:
        pickle.dump({"data": data, "labels": np.array([5, 130, 1])}, f, protocol=proto)
"#;
        let status = std::process::Command::new(python).arg("-c").arg(script).arg(&dir).status().unwrap();
        assert!(status.success());
        for name in ["p2", "p5", "a2", "a5"] {
            let path = dir.join(name);
            let set = parse_batch(&std::fs::read(&path).unwrap(), &path, 120).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(set.labels, vec![4, 0], "{name}");
            let expected: Vec<u8> = (0..768).map(|k| k as u8).collect();
            assert_eq!(&set.images[..768], &expected[..], "{name}");
            assert_eq!(set.images[768], ((2 * 768) % 256) as u8, "{name}");
        }
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn wnid_lists_in_both_forms() {
        let dir = temp_dir("wnids");
        let devkit = dir.join("map_clsloc.txt");
        std::fs::write(&devkit, "n02119789 1 kit_fox\nn02100735 2 English_setter\n").unwrap();
        assert_eq!(read_wnids(&devkit, 2).unwrap(), vec!["n02119789 (kit_fox)", "n02100735 (English_setter)"]);
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/imagenet-wnids.txt");
        if shared.exists() {
            let names = read_wnids(&shared, 120).unwrap();
            assert_eq!(names.len(), 120);
            assert_eq!(names[0], "n02119789");
        }
        std::fs::write(&devkit, "n0211 1 x\n").unwrap();
        assert!(read_wnids(&devkit, 1).unwrap_err().to_string().contains("line 1"));
        std::fs::remove_dir_all(dir).ok();
    }
}
