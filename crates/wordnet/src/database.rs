//! Reading the WordNet 3.0 database files (`data.noun`, `index.noun`, and the verb pair on demand)
//! in the format of wndb(5), and naming synsets the way NLTK does.
//!
//! The data files are kept in memory as text and parsed one line at a time when a synset is asked
//! for: a synset's id *is* the byte offset of its line, so no index of the 82,115 noun lines is
//! built at all. The index file is parsed once into a map from lemma to its senses, which gives
//! `lemma.n.NN` lookups and NLTK's synset names (first lemma, and the position of the synset in
//! that lemma's sense list).
//!
//! No maintained Rust crate covers this: `wordnet` 0.1 calls itself "poorly tested and
//! incomplete" and may panic on a bad database, `wordnet-db` reads prebuilt files of its own; the
//! part we need is two small line formats, so a tested reader of our own is the smaller risk.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::WordNetError;
use crate::synset_id::{Pos, SynsetId};

/// Where Debian's `wordnet-base` installs the database.
pub const DEFAULT_DIR: &str = "/usr/share/wordnet";

/// Environment variable that overrides [`DEFAULT_DIR`] (an explicit path overrides both).
pub const DIR_ENV: &str = "XNAS_WORDNET_DIR";

// `FromStr` and serde live here rather than in synset_id.rs: their error is the crate's error
// type, which itself names synset ids, and synset_id.rs stays a leaf.
impl FromStr for SynsetId {
    type Err = WordNetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SynsetId::parse_wnid(s.trim()).ok_or_else(|| WordNetError::BadSpec {
            spec: s.to_string(),
            reason: "a WordNet id is `n` or `v` and eight digits".to_string(),
        })
    }
}

impl serde::Serialize for SynsetId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for SynsetId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What one data line says about a synset, in the database's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synset {
    pub id: SynsetId,
    /// NLTK's name, `lemma.n.NN`: the first lemma, lower-cased, and its sense number for this synset.
    pub name: String,
    /// The words of the synset as written in the data file (case kept, `_` for spaces).
    pub lemmas: Vec<String>,
    /// `@` pointers.
    pub hypernyms: Vec<SynsetId>,
    /// `@i` pointers (an instance's class, e.g. einstein.n.01 → physicist.n.01).
    pub instance_hypernyms: Vec<SynsetId>,
    /// The definition and examples after the `|`.
    pub gloss: String,
}

/// The two files of one part of speech, loaded.
#[derive(Debug)]
struct PosFiles {
    data_path: PathBuf,
    data: String,
    index_path: PathBuf,
    /// Lemma (lower case, `_` for spaces) → synset offsets in sense order.
    senses: HashMap<String, Vec<u32>>,
}

/// The fields of a data line that the reader uses, borrowed from the line.
pub(crate) struct DataLine<'a> {
    pub lemmas: Vec<&'a str>,
    /// `(pointer symbol, target)`, only targets that are nouns or verbs.
    pub pointers: Vec<(&'a str, SynsetId)>,
    pub gloss: &'a str,
}

/// A WordNet database opened from one directory. Nouns are loaded at open; verbs on first use.
/// Cheap to share: wrap it in an [`Arc`] or use [`WordNet::open_shared`].
#[derive(Debug)]
pub struct WordNet {
    dir: PathBuf,
    origin: &'static str,
    noun: PosFiles,
    verb: OnceLock<PosFiles>,
}

impl WordNet {
    /// Which directory to read: `explicit` if given, else `$XNAS_WORDNET_DIR`, else
    /// [`DEFAULT_DIR`]; with a word saying which.
    pub fn resolve_dir(explicit: Option<&Path>) -> (PathBuf, &'static str) {
        if let Some(dir) = explicit {
            return (dir.to_path_buf(), "the explicit path");
        }
        match std::env::var_os(DIR_ENV) {
            Some(dir) if !dir.is_empty() => (PathBuf::from(dir), "XNAS_WORDNET_DIR"),
            _ => (PathBuf::from(DEFAULT_DIR), "the default"),
        }
    }

    /// Opens the database in `explicit`, `$XNAS_WORDNET_DIR` or `/usr/share/wordnet`, in that
    /// order, reading `data.noun` and `index.noun`.
    pub fn open(explicit: Option<&Path>) -> Result<WordNet, WordNetError> {
        let (dir, origin) = Self::resolve_dir(explicit);
        let noun = PosFiles::load(&dir, origin, Pos::Noun)?;
        Ok(WordNet { dir, origin, noun, verb: OnceLock::new() })
    }

    /// Like [`WordNet::open`], but each directory is read once per process and shared: scripts
    /// and re-scoring call this as often as they like.
    pub fn open_shared(explicit: Option<&Path>) -> Result<Arc<WordNet>, WordNetError> {
        static OPENED: OnceLock<Mutex<HashMap<PathBuf, Arc<WordNet>>>> = OnceLock::new();
        let (dir, _) = Self::resolve_dir(explicit);
        let opened = OPENED.get_or_init(Default::default);
        if let Some(wordnet) = opened.lock().unwrap_or_else(|e| e.into_inner()).get(&dir) {
            return Ok(Arc::clone(wordnet));
        }
        // Read outside the lock: a second thread asking at the same time reads too, and one wins.
        let wordnet = Arc::new(WordNet::open(Some(&dir))?);
        let mut opened = opened.lock().unwrap_or_else(|e| e.into_inner());
        Ok(Arc::clone(opened.entry(dir).or_insert(wordnet)))
    }

    /// The directory the database was read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn files(&self, pos: Pos) -> Result<&PosFiles, WordNetError> {
        match pos {
            Pos::Noun => Ok(&self.noun),
            Pos::Verb => {
                if let Some(files) = self.verb.get() {
                    return Ok(files);
                }
                let files = PosFiles::load(&self.dir, self.origin, Pos::Verb)?;
                Ok(self.verb.get_or_init(|| files))
            }
        }
    }

    /// The fields of the data line of `id`, checked to really start at that offset.
    pub(crate) fn data_line(&self, id: SynsetId) -> Result<DataLine<'_>, WordNetError> {
        let files = self.files(id.pos)?;
        let unknown = || WordNetError::UnknownOffset { id, path: files.data_path.clone() };
        let start = id.offset as usize;
        let at_line_start = start == 0 || files.data.as_bytes().get(start - 1) == Some(&b'\n');
        let rest = files.data.get(start..).filter(|_| at_line_start).ok_or_else(unknown)?;
        let line = rest.split('\n').next().unwrap_or_default();
        let expected = format!("{:08} ", id.offset);
        if !line.starts_with(&expected) {
            return Err(unknown());
        }
        parse_data_line(line, id.pos).map_err(|message| WordNetError::Malformed {
            path: files.data_path.clone(),
            line: line_number(&files.data, start),
            message,
        })
    }

    /// Everything about one synset, with its NLTK name.
    pub fn synset(&self, id: SynsetId) -> Result<Synset, WordNetError> {
        let line = self.data_line(id)?;
        let mut hypernyms = Vec::new();
        let mut instance_hypernyms = Vec::new();
        for &(symbol, target) in &line.pointers {
            match symbol {
                "@" => hypernyms.push(target),
                "@i" => instance_hypernyms.push(target),
                _ => {}
            }
        }
        Ok(Synset {
            id,
            name: self.name_from_line(id, &line)?,
            lemmas: line.lemmas.iter().map(|l| l.to_string()).collect(),
            hypernyms,
            instance_hypernyms,
            gloss: line.gloss.to_string(),
        })
    }

    /// NLTK's name of a synset: `lemma.p.NN`.
    pub fn name(&self, id: SynsetId) -> Result<String, WordNetError> {
        let line = self.data_line(id)?;
        self.name_from_line(id, &line)
    }

    /// The gloss (definition and examples) of a synset.
    pub fn gloss(&self, id: SynsetId) -> Result<String, WordNetError> {
        Ok(self.data_line(id)?.gloss.to_string())
    }

    fn name_from_line(&self, id: SynsetId, line: &DataLine<'_>) -> Result<String, WordNetError> {
        let files = self.files(id.pos)?;
        let first = normalize_lemma(line.lemmas[0]);
        let sense =
            files.senses.get(&first).and_then(|offsets| offsets.iter().position(|&o| o == id.offset)).ok_or_else(
                || WordNetError::Malformed {
                    path: files.index_path.clone(),
                    line: 0,
                    message: format!(
                        "synset {id}'s first word {first:?} does not list {id} among its senses; \
                     data.{0} and index.{0} do not belong together",
                        id.pos.file_suffix()
                    ),
                },
            )?;
        Ok(format!("{first}.{}.{:02}", id.pos.letter(), sense + 1))
    }

    /// The synsets of a lemma in sense order (the order of its line in `index.<pos>`).
    pub fn senses(&self, lemma: &str, pos: Pos) -> Result<Vec<SynsetId>, WordNetError> {
        let files = self.files(pos)?;
        let key = normalize_lemma(lemma);
        let offsets = files.senses.get(&key).ok_or_else(|| WordNetError::UnknownLemma {
            lemma: key.clone(),
            pos,
            path: files.index_path.clone(),
        })?;
        Ok(offsets.iter().map(|&offset| SynsetId { pos, offset }).collect())
    }

    /// Resolves a synset written as `dog.n.01` (NLTK's `lemma.pos.sense`), `n02084071` (a wnid)
    /// or `dog` (a noun's first sense), and checks that it exists.
    pub fn resolve(&self, spec: &str) -> Result<SynsetId, WordNetError> {
        let text = spec.trim();
        if text.is_empty() {
            return Err(WordNetError::BadSpec { spec: spec.to_string(), reason: "it is empty".into() });
        }
        if let Some(id) = SynsetId::parse_wnid(text) {
            self.data_line(id)?;
            return Ok(id);
        }
        let mut parts = text.rsplitn(3, '.');
        let (sense, pos, lemma) = (parts.next(), parts.next(), parts.next());
        if let (Some(sense), Some(pos), Some(lemma)) = (sense, pos, lemma) {
            if !sense.is_empty() && sense.bytes().all(|b| b.is_ascii_digit()) && pos.len() == 1 {
                // NLTK lower-cases names, so `Dog.N.01` works as in Python.
                let pos = match pos.to_ascii_lowercase().as_str() {
                    "n" => Pos::Noun,
                    "v" => Pos::Verb,
                    "a" | "s" | "r" => {
                        return Err(WordNetError::BadSpec {
                            spec: spec.to_string(),
                            reason: "adjectives and adverbs have no hypernyms, so only nouns (n) and verbs (v) \
                                     are read"
                                .into(),
                        })
                    }
                    _ => {
                        return Err(WordNetError::BadSpec {
                            spec: spec.to_string(),
                            reason: format!("{pos:?} is not a part of speech (n or v)"),
                        })
                    }
                };
                let senses = self.senses(lemma, pos)?;
                let number: usize = sense.parse().unwrap_or(0);
                return match number.checked_sub(1).and_then(|i| senses.get(i)) {
                    Some(&id) => Ok(id),
                    None => Err(WordNetError::NoSuchSense {
                        spec: spec.to_string(),
                        lemma: normalize_lemma(lemma),
                        pos,
                        count: senses.len(),
                    }),
                };
            }
        }
        Ok(self.senses(text, Pos::Noun)?[0])
    }
}

impl PosFiles {
    fn load(dir: &Path, origin: &'static str, pos: Pos) -> Result<PosFiles, WordNetError> {
        let read = |name: String| {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok((path, text)),
                Err(cause) => Err(WordNetError::MissingFile { path, origin, cause }),
            }
        };
        let (data_path, data) = read(format!("data.{}", pos.file_suffix()))?;
        let (index_path, index) = read(format!("index.{}", pos.file_suffix()))?;
        let senses = parse_index(&index, pos).map_err(|(line, message)| WordNetError::Malformed {
            path: index_path.clone(),
            line,
            message,
        })?;
        Ok(PosFiles { data_path, data, index_path, senses })
    }
}

/// Lemmas are looked up in lower case with `_` for spaces, as the index files write them.
pub(crate) fn normalize_lemma(lemma: &str) -> String {
    lemma.trim().to_lowercase().replace(' ', "_")
}

/// 1-based line number of byte `offset` in `text` (only for error messages).
fn line_number(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Parses `index.<pos>`: `lemma pos synset_cnt p_cnt [ptr_symbol…] sense_cnt tagsense_cnt
/// synset_offset…`. Lines starting with a space are the licence header. Errors are `(line, message)`.
fn parse_index(text: &str, pos: Pos) -> Result<HashMap<String, Vec<u32>>, (usize, String)> {
    let mut senses = HashMap::with_capacity(text.len() / 40);
    for (number, line) in text.lines().enumerate() {
        if line.starts_with(' ') || line.trim().is_empty() {
            continue;
        }
        let err = |message: String| (number + 1, message);
        let mut fields = line.split_ascii_whitespace();
        let mut next = |what: &str| fields.next().ok_or_else(|| err(format!("line ends before the {what}")));
        let lemma = next("lemma")?;
        let line_pos = next("part of speech")?;
        if line_pos != pos.letter().to_string() {
            return Err(err(format!("part of speech {line_pos:?} in index.{}", pos.file_suffix())));
        }
        let count =
            |text: &str, what: &str| text.parse::<usize>().map_err(|_| err(format!("{what} {text:?} is not a number")));
        let synset_count = count(next("synset count")?, "synset count")?;
        let pointer_count = count(next("pointer count")?, "pointer count")?;
        for _ in 0..pointer_count {
            next("pointer symbols")?;
        }
        next("sense count")?;
        next("tagged sense count")?;
        let mut offsets = Vec::with_capacity(synset_count);
        for _ in 0..synset_count {
            let text = next("synset offsets")?;
            offsets.push(text.parse::<u32>().map_err(|_| err(format!("synset offset {text:?} is not a number")))?);
        }
        if let Some(extra) = fields.next() {
            return Err(err(format!("unexpected {extra:?} after {synset_count} synset offsets")));
        }
        senses.insert(lemma.to_string(), offsets);
    }
    Ok(senses)
}

/// Parses a data line: `offset lex_filenum ss_type w_cnt(hex) [word lex_id(hex)]… p_cnt [symbol
/// offset pos source/target]… [verb frames] | gloss`. Only pointers to nouns and verbs are kept,
/// and like NLTK only semantic ones (source/target `0000`): hypernymy relates synsets, not words.
pub(crate) fn parse_data_line(line: &str, pos: Pos) -> Result<DataLine<'_>, String> {
    let (fields, gloss) = match line.split_once(" | ") {
        Some((fields, gloss)) => (fields, gloss.trim()),
        None => (line.trim_end(), ""),
    };
    let mut fields = fields.split_ascii_whitespace();
    let mut next = |what: &str| fields.next().ok_or_else(|| format!("line ends before the {what}"));
    next("offset")?;
    next("lexicographer file number")?;
    let ss_type = next("synset type")?;
    if ss_type != pos.letter().to_string() {
        return Err(format!("synset type {ss_type:?} in data.{}", pos.file_suffix()));
    }
    let word_count_text = next("word count")?;
    let word_count = usize::from_str_radix(word_count_text, 16)
        .map_err(|_| format!("word count {word_count_text:?} is not hexadecimal"))?;
    if word_count == 0 {
        return Err("a synset with no words".into());
    }
    let mut lemmas = Vec::with_capacity(word_count);
    for _ in 0..word_count {
        lemmas.push(next("words")?);
        next("lex ids")?;
    }
    let pointer_count_text = next("pointer count")?;
    let pointer_count: usize =
        pointer_count_text.parse().map_err(|_| format!("pointer count {pointer_count_text:?} is not a number"))?;
    let mut pointers = Vec::new();
    for _ in 0..pointer_count {
        let symbol = next("pointers")?;
        let offset_text = next("pointer offset")?;
        let target_pos = next("pointer part of speech")?;
        let source_target = next("pointer source/target")?;
        let offset: u32 = offset_text.parse().map_err(|_| format!("pointer offset {offset_text:?} is not a number"))?;
        if !matches!(target_pos, "n" | "v" | "a" | "s" | "r") {
            return Err(format!("pointer part of speech {target_pos:?} is not one of n v a s r"));
        }
        if source_target != "0000" {
            continue;
        }
        if let Some(target_pos) = Pos::from_letter(target_pos) {
            pointers.push((symbol, SynsetId { pos: target_pos, offset }));
        }
    }
    Ok(DataLine { lemmas, pointers, gloss })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tiny database in the real format, written where a test asks. Offsets are the byte
    /// positions of the lines, computed here as the real files' are, after a licence header.
    pub(crate) struct TinyDb {
        pub dir: PathBuf,
        pub offsets: HashMap<&'static str, u32>,
    }

    /// `(key, words, hypernyms, instance hypernyms, gloss)`; the key names the synset in tests.
    type Entry =
        (&'static str, &'static [&'static str], &'static [&'static str], &'static [&'static str], &'static str);

    /// entity ─ animal ─ canine ─ dog; animal ─ feline ─ cat; entity ─ thing ─ plaything;
    /// "Rex" is an instance of dog. `island` is a second root (no common ancestor with the rest).
    /// "dog" has two noun senses: the animal (1) and a plaything (2, first lemma "toy_dog").
    pub(crate) const ENTRIES: &[Entry] = &[
        ("entity", &["entity"], &[], &[], "that which is perceived to exist"),
        ("animal", &["animal", "beast"], &["entity"], &[], "a living organism"),
        ("canine", &["canine"], &["animal"], &[], "a dog-like mammal"),
        ("feline", &["feline", "felid"], &["animal"], &[], "a cat-like mammal"),
        ("dog", &["dog", "Canis_familiaris"], &["canine"], &[], "a domestic canine; \"the dog barked\""),
        ("cat", &["cat", "true_cat"], &["feline"], &[], "a small feline"),
        ("thing", &["thing"], &["entity"], &[], "a physical object"),
        ("plaything", &["plaything", "toy"], &["thing"], &[], "an object to play with"),
        ("toydog", &["toy_dog", "dog"], &["plaything", "canine"], &[], "a toy shaped like a dog"),
        ("rex", &["Rex"], &[], &["dog"], "a particular dog"),
        ("island", &["island"], &[], &[], "a root of its own"),
    ];

    impl TinyDb {
        pub(crate) fn write(name: &str) -> TinyDb {
            let dir = std::env::temp_dir().join(format!("xnas-wordnet-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let header = "  1 This is a licence header line, as in the real files.  \n  2 Second line.  \n";
            // Lines have fixed widths given the offsets are 8 digits, so lay them out in two
            // passes: first compute every offset with placeholder targets, then write.
            let mut offsets = HashMap::new();
            for pass in 0..2 {
                let mut data = String::from(header);
                let mut position = header.len();
                for &(key, words, hypernyms, instances, gloss) in ENTRIES {
                    offsets.insert(key, position as u32);
                    let mut line = format!("{position:08} 03 n {:02x}", words.len());
                    for word in words {
                        line += &format!(" {word} 0");
                    }
                    let pointers: Vec<(&str, &str)> =
                        hypernyms.iter().map(|h| ("@", *h)).chain(instances.iter().map(|h| ("@i", *h))).collect();
                    line += &format!(" {:03}", pointers.len() + 1);
                    for (symbol, target) in pointers {
                        let target_offset = if pass == 0 { 0 } else { offsets[target] };
                        line += &format!(" {symbol} {target_offset:08} n 0000");
                    }
                    // A lexical (word-to-word) pointer to an adjective, which must be ignored.
                    line += " \\ 00000000 a 0101";
                    line += &format!(" | {gloss}  \n");
                    position += line.len();
                    data += &line;
                }
                if pass == 1 {
                    std::fs::write(dir.join("data.noun"), data).unwrap();
                }
            }
            // The index, sorted as the real one is.
            let mut senses: std::collections::BTreeMap<String, Vec<u32>> = Default::default();
            for &(key, words, ..) in ENTRIES {
                for word in words {
                    senses.entry(word.to_lowercase()).or_default().push(offsets[key]);
                }
            }
            let mut index = String::from(header);
            for (lemma, offs) in &senses {
                index += &format!("{lemma} n {} 1 @ {} 0", offs.len(), offs.len());
                for o in offs {
                    index += &format!(" {o:08}");
                }
                index += "  \n";
            }
            std::fs::write(dir.join("index.noun"), index).unwrap();
            TinyDb { dir, offsets }
        }

        pub(crate) fn id(&self, key: &str) -> SynsetId {
            SynsetId::noun(self.offsets[key])
        }
    }

    impl Drop for TinyDb {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    #[test]
    fn reads_a_hand_written_database_by_offset_and_by_name() {
        let tiny = TinyDb::write("read");
        let wn = WordNet::open(Some(&tiny.dir)).unwrap();
        let dog = wn.synset(tiny.id("dog")).unwrap();
        assert_eq!(dog.name, "dog.n.01");
        assert_eq!(dog.lemmas, ["dog", "Canis_familiaris"]);
        assert_eq!(dog.hypernyms, [tiny.id("canine")]);
        assert!(dog.instance_hypernyms.is_empty());
        assert_eq!(dog.gloss, "a domestic canine; \"the dog barked\"");

        // The toy's first lemma is toy_dog (its only sense), though it is also dog's sense 2.
        assert_eq!(wn.name(tiny.id("toydog")).unwrap(), "toy_dog.n.01");
        assert_eq!(wn.resolve("dog.n.02").unwrap(), tiny.id("toydog"));
        assert_eq!(wn.resolve("dog").unwrap(), tiny.id("dog"));
        assert_eq!(wn.resolve(" Dog.N.02 ").unwrap(), tiny.id("toydog"));
        assert_eq!(wn.resolve("Canis familiaris").unwrap(), tiny.id("dog"));
        assert_eq!(wn.resolve(&tiny.id("cat").to_string()).unwrap(), tiny.id("cat"));

        let rex = wn.synset(tiny.id("rex")).unwrap();
        assert_eq!(rex.name, "rex.n.01");
        assert!(rex.hypernyms.is_empty());
        assert_eq!(rex.instance_hypernyms, [tiny.id("dog")]);
    }

    #[test]
    fn rejects_offsets_that_are_not_line_starts_and_bad_specs() {
        let tiny = TinyDb::write("reject");
        let wn = WordNet::open(Some(&tiny.dir)).unwrap();
        let inside = SynsetId::noun(tiny.offsets["dog"] + 1);
        let e = wn.synset(inside).unwrap_err().to_string();
        assert!(e.contains(&inside.to_string()) && e.contains("data.noun"), "{e}");
        // Offset 0 is the licence header, not a synset.
        assert!(matches!(wn.synset(SynsetId::noun(0)), Err(WordNetError::UnknownOffset { .. })));
        assert!(matches!(wn.synset(SynsetId::noun(99_999_999)), Err(WordNetError::UnknownOffset { .. })));

        let e = wn.resolve("dog.n.03").unwrap_err().to_string();
        assert!(e.contains("has 2 noun sense(s)") && e.contains("dog.n.03"), "{e}");
        let e = wn.resolve("dog.n.00").unwrap_err().to_string();
        assert!(e.contains("from 1 to 2"), "{e}");
        let e = wn.resolve("unicorn").unwrap_err().to_string();
        assert!(e.contains("\"unicorn\"") && e.contains("dog.n.01"), "{e}");
        let e = wn.resolve("big.a.01").unwrap_err().to_string();
        assert!(e.contains("only nouns (n) and verbs (v)"), "{e}");
        let e = wn.resolve("dog.x.01").unwrap_err().to_string();
        assert!(e.contains("\"x\" is not a part of speech"), "{e}");
        // There are no verb files in the tiny database: the error names the file and the fix.
        let e = wn.resolve("run.v.01").unwrap_err().to_string();
        assert!(e.contains("index.verb") || e.contains("data.verb"), "{e}");
        assert!(e.contains("wordnet-base") && e.contains("XNAS_WORDNET_DIR"), "{e}");
    }

    #[test]
    fn missing_files_name_the_package_and_the_override() {
        let dir = std::env::temp_dir().join(format!("xnas-wordnet-none-{}", std::process::id()));
        let e = WordNet::open(Some(&dir)).unwrap_err().to_string();
        assert!(e.contains("data.noun") && e.contains(&dir.display().to_string()), "{e}");
        assert!(e.contains("apt-get install wordnet-base"), "{e}");
        assert!(e.contains("--wordnet-dir") && e.contains("XNAS_WORDNET_DIR"), "{e}");
        assert!(e.contains("the explicit path"), "{e}");
    }

    #[test]
    fn malformed_lines_give_file_and_line() {
        let tiny = TinyDb::write("malformed");
        let index_path = tiny.dir.join("index.noun");
        let mut index = std::fs::read_to_string(&index_path).unwrap();
        index += "broken n 2 0 1 0 00000001\n";
        let line = index.lines().count();
        std::fs::write(&index_path, index).unwrap();
        let e = WordNet::open(Some(&tiny.dir)).unwrap_err().to_string();
        assert!(e.contains(&format!("index.noun:{line}:")) && e.contains("synset offsets"), "{e}");

        // Corrupt the dog line's word count so the data line cannot be parsed.
        let tiny = TinyDb::write("malformed-data");
        let data_path = tiny.dir.join("data.noun");
        let data = std::fs::read_to_string(&data_path).unwrap();
        let at = tiny.offsets["dog"] as usize;
        let dog_line = data[..at].lines().count() + 1;
        let corrupted = format!("{}{}", &data[..at + 14], data[at + 14..].replacen("02", "zz", 1));
        std::fs::write(&data_path, corrupted).unwrap();
        let wn = WordNet::open(Some(&tiny.dir)).unwrap();
        let e = wn.synset(tiny.id("dog")).unwrap_err().to_string();
        assert!(e.contains(&format!("data.noun:{dog_line}:")) && e.contains("word count \"zz\""), "{e}");
    }

    #[test]
    fn wnids_round_trip() {
        let id = SynsetId::noun(2_084_071);
        assert_eq!(id.to_string(), "n02084071");
        assert_eq!("n02084071".parse::<SynsetId>().unwrap(), id);
        assert_eq!("v01410223".parse::<SynsetId>().unwrap(), SynsetId::verb(1_410_223));
        for bad in ["n2084071", "x02084071", "n020840710", "n0208407a", ""] {
            assert!(SynsetId::parse_wnid(bad).is_none(), "{bad}");
        }
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"n02084071\"");
        assert_eq!(serde_json::from_str::<SynsetId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<SynsetId>("\"dog\"").is_err());
    }
}
