//! ImageNet16 (Chrabaszcz et al.'s 16×16 downsampled ImageNet, as NAS-Bench-201 uses it):
//! pickled batches `train_data_batch_1` … `train_data_batch_10` and `val_data`, each a dict with
//! `data` (uint8, N × 768: the R, G and B 16×16 planes) and `labels` (1-based, 1..1000).
//! ImageNet16-120 keeps the images whose label is at most 120.

use std::path::{Path, PathBuf};

use crate::error::{how_to_get, DataError};
use crate::pickle::{self, Value};
use crate::{DatasetName, ImageSet};

const SIDE: usize = 16;
const IMAGE: usize = 3 * SIDE * SIDE;
const FORMAT: &str = "ImageNet16 pickled batch";
/// Labels in the files are ImageNet-1k classes, 1-based.
const IMAGENET_CLASSES: i64 = 1000;

fn train_files() -> Vec<String> {
    (1..=10).map(|i| format!("train_data_batch_{i}")).collect()
}

/// Decodes one batch file and keeps the classes 1..=`keep` (as 0-based labels).
pub fn parse_batch(bytes: &[u8], path: &Path, keep: usize) -> Result<ImageSet, DataError> {
    let bad = |message: String| DataError::corrupt(path, FORMAT, message);
    let value = pickle::load(bytes).map_err(|e| bad(format!("not a readable pickle: {e}")))?;
    if !matches!(value, Value::Dict(_)) {
        return Err(bad(format!("the pickle holds {}, not a dict with 'data' and 'labels'", value.kind())));
    }
    let data = value.get("data").ok_or_else(|| bad("the pickled dict has no 'data' entry".into()))?;
    let labels = value.get("labels").ok_or_else(|| bad("the pickled dict has no 'labels' entry".into()))?;
    let labels =
        labels.as_ints().ok_or_else(|| bad(format!("'labels' is {}, not a list of integers", labels.kind())))?;
    let Value::Array(array) = data else {
        return Err(bad(format!("'data' is {}, not a numpy array", data.kind())));
    };
    if (array.dtype.kind, array.dtype.size) != ('u', 1) {
        return Err(bad(format!("'data' has dtype {}, expected uint8", array.dtype)));
    }
    let n = labels.len();
    let row: usize = array.shape.iter().skip(1).product();
    if array.shape.first() != Some(&n) || row != IMAGE {
        return Err(bad(format!(
            "'data' has shape {:?} for {n} labels; expected ({n}, {IMAGE}): 3 planes of {SIDE}×{SIDE} per image",
            array.shape
        )));
    }
    let mut set = ImageSet { images: Vec::new(), labels: Vec::new(), channels: 3, height: SIDE, width: SIDE };
    for (i, &label) in labels.iter().enumerate() {
        if !(1..=IMAGENET_CLASSES).contains(&label) {
            return Err(bad(format!(
                "label {label} of image {i} is outside 1..={IMAGENET_CLASSES} (labels are 1-based)"
            )));
        }
        if label as usize <= keep {
            set.labels.push(label as u32 - 1);
            set.images.extend_from_slice(&array.data[i * IMAGE..(i + 1) * IMAGE]);
        }
    }
    Ok(set)
}

/// Where a batch may be: the folder itself, `ImageNet16/` under it (NAS-Bench-201's layout), or
/// the folders the official zips unpack to (`Imagenet16_train/`, `Imagenet16_val/`).
fn locate(dir: &Path, name: &str) -> Option<PathBuf> {
    let zip_folder = if name == "val_data" { "Imagenet16_val" } else { "Imagenet16_train" };
    [dir.join(name), dir.join("ImageNet16").join(name), dir.join(zip_folder).join(name)]
        .into_iter()
        .find(|p| p.is_file())
}

/// Whether the training batches and `val_data` are in `dir` (in one of the layouts [`read`]
/// accepts), without reading them.
pub fn check_present(dir: &Path) -> Result<(), DataError> {
    let mut names = train_files();
    names.push("val_data".into());
    let missing: Vec<String> =
        names.iter().filter(|f| locate(dir, f).is_none()).map(|f| dir.join(f).display().to_string()).collect();
    if !missing.is_empty() {
        return Err(DataError::MissingFiles {
            dataset: DatasetName::ImageNet16_120,
            dir: dir.to_path_buf(),
            missing,
            how: how_to_get(DatasetName::ImageNet16_120).to_string(),
        });
    }
    Ok(())
}

/// Reads the training batches and `val_data` from `dir`, keeping the first `keep` classes.
pub fn read(dir: &Path, keep: usize) -> Result<(ImageSet, ImageSet), DataError> {
    check_present(dir)?;
    let read_one = |name: &str| -> Result<ImageSet, DataError> {
        let path = locate(dir, name).expect("checked above");
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

/// One ImageNet class of a wnid list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageNetClass {
    /// The WordNet id, e.g. `n02119789`.
    pub wnid: String,
    /// The devkit's name (`kit_fox`), when the list is a `map_clsloc.txt`.
    pub name: Option<String>,
}

/// The first `count` classes of a wnid list, line k being label k (1-based): devkit
/// `map_clsloc.txt` lines (`n02119789 1 kit_fox`, whose number must be the line's) or one wnid a
/// line. Only those lines are read, as the WordNet label tables read them.
pub fn read_wnids(path: &Path, count: usize) -> Result<Vec<ImageNetClass>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    let bad = |line: usize, message: String| DataError::WnidList { path: path.to_path_buf(), line, message };
    let mut classes = Vec::with_capacity(count);
    for (index, line) in text.lines().take(count).enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(&wnid) = fields.first() else {
            return Err(bad(index + 1, format!("the line is empty, but label {} needs its wnid here", index + 1)));
        };
        let valid = wnid.len() == 9 && wnid.starts_with('n') && wnid[1..].bytes().all(|b| b.is_ascii_digit());
        if !valid {
            return Err(bad(index + 1, format!("{wnid:?} is not a WordNet noun id like n02119789")));
        }
        if let Some(number) = fields.get(1) {
            if number.parse::<usize>().ok() != Some(index + 1) {
                return Err(bad(
                    index + 1,
                    format!(
                        "the label number {number:?} is not the line number {}; lines must be in label order",
                        index + 1
                    ),
                ));
            }
        }
        classes.push(ImageNetClass { wnid: wnid.to_string(), name: fields.get(2).map(|s| s.to_string()) });
    }
    if classes.len() < count {
        return Err(bad(
            classes.len() + 1,
            format!("the list ends after {} classes, but {count} are needed", classes.len()),
        ));
    }
    Ok(classes)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::idx::tests::temp_dir;

    /// Writes pickles the way Python 2's cPickle does at protocol 2: every str, tuple, global and
    /// reduced object is memoized (BINPUT, ids from 1); a global or an interned one-character str
    /// seen before is fetched back (BINGET); ints use the shortest of BININT1/BININT2/BININT;
    /// lists are appended in batches of 1,000 (APPEND for a batch of one).
    struct Py2Pickle {
        bytes: Vec<u8>,
        next_id: u8,
        seen: Vec<(Vec<u8>, u8)>,
    }

    impl Py2Pickle {
        fn new() -> Py2Pickle {
            Py2Pickle { bytes: vec![0x80, 2], next_id: 1, seen: Vec::new() }
        }

        fn put(&mut self) -> u8 {
            let id = self.next_id;
            self.bytes.extend_from_slice(&[b'q', id]);
            self.next_id += 1;
            id
        }

        /// Emits `key`'s object via BINGET if memoized, else with `write` and remembers it.
        fn shared(&mut self, key: Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
            if let Some(&(_, id)) = self.seen.iter().find(|(k, _)| *k == key) {
                self.bytes.extend_from_slice(&[b'h', id]);
            } else {
                write(&mut self.bytes);
                let id = self.put();
                self.seen.push((key, id));
            }
        }

        fn global(&mut self, module: &str, name: &str) {
            let text = format!("c{module}\n{name}\n").into_bytes();
            self.shared(text.clone(), |b| b.extend_from_slice(&text));
        }

        fn str(&mut self, s: &[u8]) {
            let write = |b: &mut Vec<u8>| {
                match u8::try_from(s.len()) {
                    Ok(n) => b.extend_from_slice(&[b'U', n]),
                    Err(_) => {
                        b.push(b'T');
                        b.extend_from_slice(&(s.len() as u32).to_le_bytes());
                    }
                }
                b.extend_from_slice(s);
            };
            if s.len() == 1 {
                self.shared([b"str:", s].concat(), write); // CPython 2 interns one-character strs
            } else {
                write(&mut self.bytes);
                self.put();
            }
        }

        fn int(&mut self, v: i32) {
            match v {
                0..=0xff => self.bytes.extend_from_slice(&[b'K', v as u8]),
                0x100..=0xffff => {
                    self.bytes.push(b'M');
                    self.bytes.extend_from_slice(&(v as u16).to_le_bytes());
                }
                _ => {
                    self.bytes.push(b'J');
                    self.bytes.extend_from_slice(&v.to_le_bytes());
                }
            }
        }

        /// A tuple of the items `write` emits: TUPLE1..3 for up to three, else MARK … TUPLE.
        fn tuple(&mut self, len: usize, write: impl FnOnce(&mut Py2Pickle)) {
            if len > 3 {
                self.bytes.push(b'(');
            }
            write(self);
            self.bytes.push([b't', 0x85, 0x86, 0x87].get(len).copied().unwrap_or(b't'));
            self.put();
        }

        /// A numpy array as numpy under Python 2 reduces it: `_reconstruct(ndarray, (0,), 'b')`,
        /// then BUILD with (1, shape, dtype, False, raw bytes as a str); the dtype is
        /// `dtype(descr, 0, 1)` with BUILD state (3, order, None, None, None, -1, -1, 0).
        fn array(&mut self, descr: &[u8], order: &[u8], shape: &[i32], raw: &[u8]) {
            self.global("numpy.core.multiarray", "_reconstruct");
            self.tuple(3, |p| {
                p.global("numpy", "ndarray");
                p.tuple(1, |p| p.int(0));
                p.str(b"b");
            });
            self.bytes.push(b'R');
            self.put();
            self.tuple(5, |p| {
                p.int(1);
                p.tuple(shape.len(), |p| shape.iter().for_each(|&d| p.int(d)));
                p.global("numpy", "dtype");
                p.tuple(3, |p| {
                    p.str(descr);
                    p.int(0);
                    p.int(1);
                });
                p.bytes.push(b'R');
                p.put();
                p.tuple(8, |p| {
                    p.int(3);
                    p.str(order);
                    p.bytes.extend_from_slice(b"NNN");
                    p.int(-1);
                    p.int(-1);
                    p.int(0);
                });
                p.bytes.push(b'b');
                p.bytes.push(0x89); // is_fortran: False
                p.str(raw);
            });
            self.bytes.push(b'b');
        }

        fn int_list(&mut self, items: &[i32]) {
            self.bytes.push(b']');
            self.put();
            for chunk in items.chunks(1000) {
                if chunk.len() > 1 {
                    self.bytes.push(b'(');
                }
                chunk.iter().for_each(|&v| self.int(v));
                self.bytes.push(if chunk.len() > 1 { b'e' } else { b'a' });
            }
        }
    }

    /// A batch as Python 2's cPickle (protocol 2) writes `{'data': uint8 array (n, 768), 'labels':
    /// list of ints, 'mean': float64 array (768,)}`, in that key order.
    pub(crate) fn py2_batch(images: &[[u8; IMAGE]], labels: &[i32]) -> Vec<u8> {
        let mut p = Py2Pickle::new();
        p.bytes.push(b'}');
        p.put();
        p.bytes.push(b'(');
        p.str(b"data");
        p.array(b"u1", b"|", &[images.len() as i32, IMAGE as i32], &images.concat());
        p.str(b"labels");
        p.int_list(labels);
        p.str(b"mean");
        p.array(b"f8", b"<", &[IMAGE as i32], &[0; IMAGE * 8]);
        p.bytes.extend_from_slice(b"u.");
        p.bytes
    }

    /// The writer's stream for `{'data': one image, 'labels': [7], 'mean': m}`, spelled out as
    /// traced from cPickle's save functions and numpy's `__reduce__` (no Python 2 here to compare).
    #[test]
    fn python2_writer_matches_cpickle_layout() {
        let bytes = py2_batch(&[[5; IMAGE]], &[7]);
        let head = b"\x80\x02}q\x01(U\x04dataq\x02cnumpy.core.multiarray\n_reconstruct\nq\x03cnumpy\nndarray\nq\x04K\x00\x85q\x05U\x01bq\x06\x87q\x07Rq\x08(K\x01K\x01M\x00\x03\x86q\tcnumpy\ndtype\nq\nU\x02u1q\x0bK\x00K\x01\x87q\x0cRq\r(K\x03U\x01|q\x0eNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x0fb\x89T\x00\x03\x00\x00";
        assert_eq!(&bytes[..head.len()], head);
        // The second array fetches the globals and 'b' back from the memo.
        let mean = b"U\x04meanq\x14h\x03h\x04K\x00\x85q\x15h\x06\x87q\x16Rq\x17(K\x01M\x00\x03\x85q\x18h\nU\x02f8q\x19";
        assert!(bytes.windows(mean.len()).any(|w| w == mean), "second array not memoized as cPickle does");
        assert!(bytes.ends_with(b"tq\x1fbu."));
        let v = pickle::load(&bytes).unwrap();
        assert_eq!(v.get("labels").unwrap().as_ints(), Some(vec![7]));
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
        // The layout of the official zips: two folders.
        std::fs::create_dir_all(dir.join("Imagenet16_train")).unwrap();
        std::fs::create_dir_all(dir.join("Imagenet16_val")).unwrap();
        for i in 1..=10 {
            let bytes = py2_batch(&[image(i as u8), image(100)], &[i, 500]);
            std::fs::write(dir.join(format!("Imagenet16_train/train_data_batch_{i}")), bytes).unwrap();
        }
        let val = py2_batch(&[image(7), image(8), image(9)], &[120, 121, 1]);
        std::fs::write(dir.join("Imagenet16_val/val_data"), &val).unwrap();
        let (train, val_set) = read(&dir, 120).unwrap();
        assert_eq!(train.labels, (0..10).collect::<Vec<u32>>());
        assert_eq!(train.images, (1..=10).map(image).collect::<Vec<_>>().concat());
        assert_eq!(val_set.labels, vec![119, 0]);
        assert_eq!(val_set.images, [image(7), image(9)].concat());
        // K = 500 keeps the class-500 images too.
        assert_eq!(read(&dir, 500).unwrap().0.len(), 20);

        // Bad files name themselves and say what is wrong.
        let path = dir.join("Imagenet16_val/val_data");
        std::fs::write(&path, &val[..val.len() - 100]).unwrap();
        let e = read(&dir, 120).unwrap_err().to_string();
        assert!(
            e.contains("val_data is not a valid ImageNet16 pickled batch: not a readable pickle")
                && e.contains("truncated"),
            "{e}"
        );
        std::fs::write(&path, py2_batch(&[image(1)], &[0])).unwrap();
        let e = read(&dir, 120).unwrap_err().to_string();
        assert!(e.contains("label 0 of image 0 is outside 1..=1000 (labels are 1-based)"), "{e}");
        std::fs::write(&path, py2_batch(&[image(1)], &[1, 2])).unwrap();
        let e = read(&dir, 120).unwrap_err().to_string();
        assert!(e.contains("'data' has shape [1, 768] for 2 labels"), "{e}");
        std::fs::remove_file(&path).unwrap();
        let e = read(&dir, 120).unwrap_err().to_string();
        assert!(e.contains(&format!("missing in {}:\n  {}\n", dir.display(), dir.join("val_data").display())), "{e}");
        assert!(e.contains("Imagenet16_val.zip"), "{e}");
        std::fs::remove_dir_all(dir).ok();
    }

    /// Files written by the real pickle module and numpy at every protocol from 2 to 5, against
    /// numpy's own filtering of the same arrays.
    #[test]
    fn reads_batches_pickled_by_real_numpy() {
        let python = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/python");
        if !Path::new(python).exists() {
            eprintln!(
                "NOTE: {python} is absent (scripts/setup.sh creates it); pickles written by real numpy not checked"
            );
            return;
        }
        let dir = temp_dir("imagenet16-numpy");
        let script = r#"
import pickle, sys, numpy as np
out = sys.argv[1]
rng = np.random.default_rng(5)
kept_x, kept_y = [], []
def batch(name, n, proto, labels_as):
    x = rng.integers(0, 256, size=(n, 768), dtype=np.uint8)  # under 4 KiB at n = 3: short text at protocol 2
    y = rng.integers(1, 1001, size=n)
    y[:3] = [1, 120, 121]
    labels = {"list": [int(v) for v in y], "int64": y.astype(np.int64), "big-endian": y.astype(">i4")}[labels_as]
    with open(f"{out}/{name}", "wb") as f:
        pickle.dump({"data": x, "labels": labels, "mean": x.mean(axis=0)}, f, protocol=proto)
    keep = y <= 120
    return x[keep], y[keep] - 1
xs, ys = [], []
for i in range(1, 11):
    x, y = batch(f"train_data_batch_{i}", 3 if i == 4 else 40, 2 + i % 4, ["list", "int64", "big-endian"][i % 3])
    xs.append(x); ys.append(y)
np.concatenate(xs).tofile(f"{out}/train_x"); np.concatenate(ys).astype("<u4").tofile(f"{out}/train_y")
x, y = batch("val_data", 30, 2, "list")
x.tofile(f"{out}/val_x"); y.astype("<u4").tofile(f"{out}/val_y")
"#;
        let status = std::process::Command::new(python).arg("-c").arg(script).arg(&dir).status().unwrap();
        assert!(status.success(), "the pickle-writing script failed");
        let (train, val) = read(&dir, 120).unwrap();
        let u32s = |name: &str| -> Vec<u32> {
            std::fs::read(dir.join(name))
                .unwrap()
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                .collect()
        };
        assert_eq!(train.labels, u32s("train_y"));
        assert_eq!(train.images, std::fs::read(dir.join("train_x")).unwrap());
        assert_eq!(val.labels, u32s("val_y"));
        assert_eq!(val.images, std::fs::read(dir.join("val_x")).unwrap());
        assert!(train.len() >= 20 && train.labels.contains(&119) && train.labels.contains(&0));
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn wnid_lists_in_both_forms() {
        let dir = temp_dir("wnids");
        let devkit = dir.join("map_clsloc.txt");
        std::fs::write(&devkit, "n02119789 1 kit_fox\nn02100735 2 English_setter\n").unwrap();
        let classes = read_wnids(&devkit, 2).unwrap();
        assert_eq!(classes[1], ImageNetClass { wnid: "n02100735".into(), name: Some("English_setter".into()) });
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/imagenet-wnids.txt");
        if shared.exists() {
            let classes = read_wnids(&shared, 120).unwrap();
            assert_eq!(classes.len(), 120);
            assert_eq!(classes[0], ImageNetClass { wnid: "n02119789".into(), name: None });
            assert_eq!(read_wnids(&shared, 1000).unwrap().len(), 1000);
        }
        let error = |text: &str, count: usize| {
            std::fs::write(&devkit, text).unwrap();
            read_wnids(&devkit, count).unwrap_err().to_string()
        };
        let e = error("n0211 1 x\n", 1);
        assert!(e.contains("map_clsloc.txt:1: \"n0211\" is not a WordNet noun id"), "{e}");
        let e = error("n02119789 1 kit_fox\nn02100735 3 English_setter\n", 2);
        assert!(e.contains(":2: the label number \"3\" is not the line number 2"), "{e}");
        let e = error("n02119789\n\nn02100735\n", 3);
        assert!(e.contains(":2: the line is empty"), "{e}");
        let e = error("n02119789\n", 120);
        assert!(e.contains(":2: the list ends after 1 classes, but 120 are needed"), "{e}");
        std::fs::remove_dir_all(dir).ok();
    }
}
