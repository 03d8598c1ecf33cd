//! Which WordNet synset stands for each class label of a dataset, so that label pairs get a path
//! similarity (paper section 3.3, eq. 4: `S(c, k) = path_sim(name(c), name(k))`).
//!
//! Built-in tables cover Fashion-MNIST, MNIST and CIFAR-10, with each choice checked against its
//! gloss in WordNet 3.0 (see the table comments); ImageNet16-120's labels are ImageNet wnids,
//! which are WordNet noun ids, read from the devkit's class list the user gives. Any label's
//! synset can be overridden, from code (`(label, spec)` pairs), from a file of `label<TAB>spec`
//! or `label=spec` lines, or from a script through the same API. The result keeps the chosen
//! synset's name and id next to each label so that every report can print what was used.

use std::fmt;
use std::path::{Path, PathBuf};

use xnas_datasets::{class_names, DatasetName};

use crate::database::WordNet;
use crate::error::WordNetError;
use crate::synset_id::SynsetId;

/// Fashion-MNIST, in label order. Glosses in WordNet 3.0:
/// jersey.n.03 "a close-fitting pullover shirt" (lemmas jersey, T-shirt, tee_shirt);
/// trouser.n.01 "(usually in the plural) a garment extending from the waist to the knee or ankle";
/// pullover.n.01 "a sweater that is put on by pulling it over the head";
/// dress.n.01 "a one-piece garment for a woman; has skirt and bodice";
/// coat.n.01 "an outer garment that has sleeves and covers the body from shoulder down";
/// sandal.n.01 "a shoe consisting of a sole fastened by straps to the foot";
/// shirt.n.01 "a garment worn on the upper half of the body";
/// gym_shoe.n.01 "a canvas shoe with a pliable rubber sole" (lemmas gym_shoe, sneaker, tennis_shoe);
/// bag.n.04 "a container used for carrying money and small personal items or accessories
/// (especially by women)" (handbag; the dataset's bags are handbags, bag.n.01 is any sack);
/// boot.n.01 "footwear that covers the whole foot and lower leg" (no ankle-boot synset exists).
const FASHION_MNIST: [(&str, &str); 10] = [
    ("T-shirt/top", "n03595614"),
    ("Trouser", "n04489008"),
    ("Pullover", "n04021028"),
    ("Dress", "n03236735"),
    ("Coat", "n03057021"),
    ("Sandal", "n04133789"),
    ("Shirt", "n04197391"),
    ("Sneaker", "n03472535"),
    ("Bag", "n02774152"),
    ("Ankle boot", "n02872752"),
];

/// MNIST: the number senses, "the cardinal number that is the sum of …" / "a numeral
/// representing this number". Zero's sense 1 is nothing.n.01 ("a quantity of no importance"), so
/// 0 is zero.n.02 "a mathematical element that when added to another number yields the same number".
const MNIST: [(&str, &str); 10] = [
    ("0", "n13742358"),
    ("1", "n13742573"),
    ("2", "n13743269"),
    ("3", "n13744044"),
    ("4", "n13744304"),
    ("5", "n13744521"),
    ("6", "n13744722"),
    ("7", "n13744916"),
    ("8", "n13745086"),
    ("9", "n13745270"),
];

/// CIFAR-10: each word's first noun sense. "automobile" is car.n.01 by NLTK's naming (its first
/// lemma is "car"): "a motor vehicle with four wheels".
const CIFAR10: [(&str, &str); 10] = [
    ("airplane", "n02691156"),
    ("automobile", "n02958343"),
    ("bird", "n01503061"),
    ("cat", "n02121620"),
    ("deer", "n02430045"),
    ("dog", "n02084071"),
    ("frog", "n01639765"),
    ("horse", "n02374451"),
    ("ship", "n04194289"),
    ("truck", "n04490091"),
];

/// The built-in `(label, synset spec)` table of a dataset with fixed class names, in label order;
/// `None` for ImageNet16-120, whose labels come from a wnid list.
pub fn default_synsets(dataset: DatasetName) -> Option<&'static [(&'static str, &'static str)]> {
    match dataset {
        DatasetName::FashionMnist => Some(&FASHION_MNIST),
        DatasetName::Mnist => Some(&MNIST),
        DatasetName::Cifar10 => Some(&CIFAR10),
        DatasetName::ImageNet16_120 => None,
    }
}

/// One label's synset as asked for by a user, with where it was written (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynsetOverride {
    pub label: String,
    /// `dog.n.01`, `n02084071` or a plain noun.
    pub spec: String,
    /// `(file, 1-based line)` when read from a file.
    pub origin: Option<(PathBuf, usize)>,
}

impl SynsetOverride {
    pub fn new(label: impl Into<String>, spec: impl Into<String>) -> SynsetOverride {
        SynsetOverride { label: label.into(), spec: spec.into(), origin: None }
    }

    /// Reads `LABEL=SPEC` (as given on a command line or in a script).
    pub fn parse(text: &str) -> Result<SynsetOverride, WordNetError> {
        let (label, spec) = split_override(text).map_err(|message| WordNetError::BadSpec {
            spec: text.to_string(),
            reason: format!("{message}; an override is LABEL=SYNSET, e.g. Bag=bag.n.04"),
        })?;
        Ok(SynsetOverride::new(label, spec))
    }

    fn at(&self) -> String {
        match &self.origin {
            Some((path, line)) => format!("{}:{line}", path.display()),
            None => format!("override {}={}", self.label, self.spec),
        }
    }
}

/// Splits `label<TAB>spec` or `label=spec`; a tab wins, so labels may contain `=`.
fn split_override(line: &str) -> Result<(&str, &str), String> {
    let (label, spec) = line
        .split_once('\t')
        .or_else(|| line.split_once('='))
        .ok_or_else(|| "no `=` or tab between the label and the synset".to_string())?;
    let (label, spec) = (label.trim(), spec.trim());
    if label.is_empty() {
        return Err("the label is empty".into());
    }
    if spec.is_empty() {
        return Err(format!("no synset after label {label:?}"));
    }
    Ok((label, spec))
}

/// Parses an override file: one `label<TAB>synset` or `label=synset` a line; blank lines and
/// lines starting with `#` are skipped. `path` is only used in messages and origins.
pub fn parse_overrides(text: &str, path: &Path) -> Result<Vec<SynsetOverride>, WordNetError> {
    let mut overrides = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let content = line.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let (label, spec) = split_override(line).map_err(|message| WordNetError::BadLine {
            path: path.to_path_buf(),
            line: index + 1,
            message: format!("{message}; write LABEL<TAB>SYNSET or LABEL=SYNSET, e.g. Bag=bag.n.04"),
        })?;
        overrides.push(SynsetOverride {
            label: label.to_string(),
            spec: spec.to_string(),
            origin: Some((path.to_path_buf(), index + 1)),
        });
    }
    Ok(overrides)
}

/// Reads and parses an override file (see [`parse_overrides`]).
pub fn read_overrides(path: &Path) -> Result<Vec<SynsetOverride>, WordNetError> {
    let text = std::fs::read_to_string(path).map_err(|cause| WordNetError::ReadList {
        what: "synset override file",
        path: path.to_path_buf(),
        cause,
    })?;
    parse_overrides(&text, path)
}

/// Reads the first `count` wnids of an ImageNet class list: one class a line, the wnid first
/// (`n02119789` or the devkit's `n02119789 1 kit_fox`). Blank lines are errors: line k is label k.
pub fn read_wnids(path: &Path, count: usize) -> Result<Vec<SynsetId>, WordNetError> {
    let text = std::fs::read_to_string(path).map_err(|cause| WordNetError::ReadList {
        what: "wnid list",
        path: path.to_path_buf(),
        cause,
    })?;
    let mut wnids = Vec::with_capacity(count);
    for (index, line) in text.lines().take(count).enumerate() {
        let first = line.split_whitespace().next().unwrap_or_default();
        let id = SynsetId::parse_wnid(first).filter(|id| id.pos == crate::Pos::Noun).ok_or_else(|| {
            WordNetError::BadLine {
                path: path.to_path_buf(),
                line: index + 1,
                message: format!("{first:?} is not an ImageNet wnid (`n` and eight digits, e.g. n02119789)"),
            }
        })?;
        wnids.push(id);
    }
    if wnids.len() < count {
        return Err(WordNetError::BadLine {
            path: path.to_path_buf(),
            line: wnids.len() + 1,
            message: format!("the list ends after {} wnids, but {count} classes need one each", wnids.len()),
        });
    }
    Ok(wnids)
}

/// One label and the synset standing for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LabelSynset {
    pub label: String,
    pub synset: SynsetId,
    /// NLTK's name, e.g. `dog.n.01`.
    pub name: String,
    pub gloss: String,
    /// Whether a user override chose it rather than the built-in table.
    pub overridden: bool,
}

impl fmt::Display for LabelSynset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} → {} ({})", self.label, self.name, self.synset)?;
        if self.overridden {
            f.write_str(" [override]")?;
        }
        Ok(())
    }
}

/// The synsets of a dataset's labels, in label order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LabelSynsets {
    pub labels: Vec<LabelSynset>,
}

impl LabelSynsets {
    /// Maps labels to synsets. Each label takes its override if there is one, else its default
    /// spec, else the label itself read as a synset spec (a noun's first sense or a wnid). A
    /// label that resolves none of these ways is an error naming it and how to map it; an
    /// override for a label not in `labels` is an error too (a typo would otherwise do nothing).
    pub fn resolve(
        wordnet: &WordNet,
        labels: &[(String, Option<String>)],
        overrides: &[SynsetOverride],
    ) -> Result<LabelSynsets, WordNetError> {
        for over in overrides {
            if !labels.iter().any(|(label, _)| *label == over.label) {
                let known = labels.iter().map(|(l, _)| format!("{l:?}")).collect::<Vec<_>>().join(", ");
                return Err(WordNetError::UnknownLabel { at: over.at(), label: over.label.clone(), known });
            }
        }
        let mut resolved = Vec::with_capacity(labels.len());
        for (label, default) in labels {
            // The last override of a label wins, so a command line can refine a file.
            let chosen = overrides.iter().rev().find(|o| o.label == *label);
            let synset = match (chosen, default) {
                (Some(over), _) => wordnet.resolve(&over.spec).map_err(|cause| WordNetError::BadOverride {
                    at: over.at(),
                    label: label.clone(),
                    cause: Box::new(cause),
                })?,
                (None, Some(spec)) => wordnet
                    .resolve(spec)
                    .map_err(|e| WordNetError::UnmappedLabel { label: label.clone(), reason: e.to_string() })?,
                (None, None) => wordnet.resolve(label).map_err(|e| WordNetError::UnmappedLabel {
                    label: label.clone(),
                    reason: match e {
                        WordNetError::UnknownLemma { .. } | WordNetError::BadSpec { .. } => {
                            "it is not a WordNet noun and has no built-in entry".to_string()
                        }
                        other => other.to_string(),
                    },
                })?,
            };
            let info = wordnet.synset(synset)?;
            resolved.push(LabelSynset {
                label: label.clone(),
                synset,
                name: info.name,
                gloss: info.gloss,
                overridden: chosen.is_some(),
            });
        }
        Ok(LabelSynsets { labels: resolved })
    }

    /// The labels of one of the supported datasets. ImageNet16-120 needs `wnids`, its class list
    /// (the first 120 lines are its classes); the others use the built-in tables.
    pub fn for_dataset(
        wordnet: &WordNet,
        dataset: DatasetName,
        wnids: Option<&Path>,
        overrides: &[SynsetOverride],
    ) -> Result<LabelSynsets, WordNetError> {
        let labels: Vec<(String, Option<String>)> = match (default_synsets(dataset), wnids) {
            (Some(table), _) => {
                debug_assert_eq!(
                    Some(table.iter().map(|(l, _)| *l).collect::<Vec<_>>().as_slice()),
                    class_names(dataset)
                );
                table.iter().map(|(label, spec)| (label.to_string(), Some(spec.to_string()))).collect()
            }
            (None, Some(path)) => read_wnids(path, dataset.num_classes())?
                .into_iter()
                .map(|id| (id.to_string(), Some(id.to_string())))
                .collect(),
            (None, None) => {
                return Err(WordNetError::Wnids {
                    dataset: dataset.to_string(),
                    need: dataset.num_classes(),
                    message: "no wnid list was given (--wnids FILE)".into(),
                })
            }
        };
        LabelSynsets::resolve(wordnet, &labels, overrides)
    }

    /// The synsets in label order.
    pub fn ids(&self) -> Vec<SynsetId> {
        self.labels.iter().map(|l| l.synset).collect()
    }

    /// The label path-similarity matrix (see [`WordNet::similarity_matrix`]).
    pub fn similarity_matrix(&self, wordnet: &WordNet) -> Result<Vec<Vec<f64>>, WordNetError> {
        wordnet.similarity_matrix(&self.ids())
    }
}

/// The label path-similarity matrix of eq. 3–4 for a dataset: WordNet opened from `dir` (else
/// `$XNAS_WORDNET_DIR`, else [`crate::DEFAULT_DIR`]), the dataset's labels mapped to synsets
/// (ImageNet16-120's through `wnids`) with `overrides`, and their pairwise path similarity. The
/// one constructor the script's scores, the report and `xnas inspect` share.
pub fn label_similarity_matrix(
    dir: Option<&Path>,
    dataset: DatasetName,
    wnids: Option<&Path>,
    overrides: &[SynsetOverride],
) -> Result<Vec<Vec<f64>>, WordNetError> {
    let wordnet = WordNet::open_shared(dir)?;
    LabelSynsets::for_dataset(&wordnet, dataset, wnids, overrides)?.similarity_matrix(&wordnet)
}

impl fmt::Display for LabelSynsets {
    /// One line a label: index, label, synset name and id, gloss.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, entry) in self.labels.iter().enumerate() {
            writeln!(f, "{index:>4}  {entry}: {}", entry.gloss)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::tests::TinyDb;

    fn labels(list: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        list.iter().map(|(l, s)| (l.to_string(), s.map(str::to_string))).collect()
    }

    #[test]
    fn override_files_parse_with_line_numbers() {
        let path = Path::new("classes.synsets");
        let text = "# comment\n\nT-shirt/top\tjersey.n.03\nBag = bag.n.04\na=b\tc\n";
        let parsed = parse_overrides(text, path).unwrap();
        assert_eq!(parsed.len(), 3);
        assert_eq!((parsed[0].label.as_str(), parsed[0].spec.as_str()), ("T-shirt/top", "jersey.n.03"));
        assert_eq!(parsed[0].origin, Some((path.to_path_buf(), 3)));
        assert_eq!((parsed[1].label.as_str(), parsed[1].spec.as_str()), ("Bag", "bag.n.04"));
        assert_eq!((parsed[2].label.as_str(), parsed[2].spec.as_str()), ("a=b", "c"), "a tab wins over =");

        let e = parse_overrides("Bag=bag.n.04\n\nSneaker gym_shoe.n.01\n", path).unwrap_err().to_string();
        assert!(e.starts_with("classes.synsets:3: no `=` or tab"), "{e}");
        let e = parse_overrides("Bag=\n", path).unwrap_err().to_string();
        assert!(e.starts_with("classes.synsets:1: no synset after label \"Bag\""), "{e}");
        assert!(SynsetOverride::parse("dog").unwrap_err().to_string().contains("LABEL=SYNSET"));
        assert_eq!(SynsetOverride::parse("dog=cat.n.01").unwrap(), SynsetOverride::new("dog", "cat.n.01"));
    }

    #[test]
    fn labels_resolve_by_default_override_or_own_name() {
        let tiny = TinyDb::write("labels");
        let wn = WordNet::open(Some(&tiny.dir)).unwrap();
        let list = labels(&[("Doggo", Some("dog.n.01")), ("cat", None), ("toy", Some("plaything.n.01"))]);
        let over = [SynsetOverride::new("toy", "dog.n.02")];
        let resolved = LabelSynsets::resolve(&wn, &list, &over).unwrap();
        assert_eq!(resolved.ids(), [tiny.id("dog"), tiny.id("cat"), tiny.id("toydog")]);
        assert_eq!(resolved.labels[2].name, "toy_dog.n.01");
        assert!(resolved.labels[2].overridden && !resolved.labels[0].overridden);
        let shown = resolved.to_string();
        assert!(shown.contains("toy → toy_dog.n.01 (n") && shown.contains("[override]"), "{shown}");
        assert!(shown.contains("cat → cat.n.01") && shown.contains("a small feline"), "{shown}");

        // A label with no entry that is not a noun: the error names it and how to map it.
        let e = LabelSynsets::resolve(&wn, &labels(&[("Ankle boot", None)]), &[]).unwrap_err().to_string();
        assert!(e.contains("label \"Ankle boot\" has no WordNet synset"), "{e}");
        assert!(e.contains("`Ankle boot=SYNSET`") && e.contains("synset file"), "{e}");

        // An override for an unknown label or with a bad synset names the file line.
        let mut bad = parse_overrides("Cat=cat.n.01\n", Path::new("o.txt")).unwrap();
        let e = LabelSynsets::resolve(&wn, &list, &bad).unwrap_err().to_string();
        assert!(e.starts_with("o.txt:1: unknown label \"Cat\"") && e.contains("\"cat\""), "{e}");
        bad = parse_overrides("\ncat=cat.n.09\n", Path::new("o.txt")).unwrap();
        let e = LabelSynsets::resolve(&wn, &list, &bad).unwrap_err().to_string();
        assert!(e.starts_with("o.txt:2: synset for label \"cat\"") && e.contains("has 1 noun sense"), "{e}");
    }

    #[test]
    fn wnid_lists_are_checked_line_by_line() {
        let dir = std::env::temp_dir().join(format!("xnas-wordnet-wnids-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("map_clsloc.txt");
        std::fs::write(&path, "n02119789 1 kit_fox\nn02100735\nn0211018\n").unwrap();
        assert_eq!(read_wnids(&path, 2).unwrap(), [SynsetId::noun(2_119_789), SynsetId::noun(2_100_735)]);
        let e = read_wnids(&path, 3).unwrap_err().to_string();
        assert!(e.contains("map_clsloc.txt:3:") && e.contains("\"n0211018\""), "{e}");
        let e = read_wnids(&path, 5).unwrap_err().to_string();
        assert!(e.contains(":3:"), "the bad line is reported before the short list: {e}");
        std::fs::write(&path, "n02119789\n").unwrap();
        let e = read_wnids(&path, 2).unwrap_err().to_string();
        assert!(e.contains("map_clsloc.txt:2:") && e.contains("ends after 1 wnids, but 2"), "{e}");
        let e = read_wnids(&dir.join("missing"), 2).unwrap_err().to_string();
        assert!(e.contains("cannot read wnid list") && e.contains("missing"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
