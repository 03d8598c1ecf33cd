//! The names of synsets: a part of speech and a byte offset, written like an ImageNet wnid.
//! A leaf of the crate (the error type names synsets by these, and the reader hands them out);
//! reading one from text with the crate's error is `FromStr` beside the reader (database.rs).

use std::fmt;

/// Part of speech of a synset. Only nouns and verbs have a hypernym taxonomy, so only they are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pos {
    Noun,
    Verb,
}

impl Pos {
    /// The letter of the part of speech in data files, wnids and NLTK names.
    pub fn letter(self) -> char {
        match self {
            Pos::Noun => 'n',
            Pos::Verb => 'v',
        }
    }

    /// The suffix of the database files: `data.noun`, `index.verb`.
    pub fn file_suffix(self) -> &'static str {
        match self {
            Pos::Noun => "noun",
            Pos::Verb => "verb",
        }
    }

    pub(crate) fn from_letter(letter: &str) -> Option<Pos> {
        match letter {
            "n" => Some(Pos::Noun),
            "v" => Some(Pos::Verb),
            _ => None,
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file_suffix())
    }
}

/// A synset: part of speech and byte offset of its line in `data.<pos>`. Written like an ImageNet
/// wnid, `n02084071` (dog.n.01); for nouns the ImageNet wnid *is* this id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SynsetId {
    pub pos: Pos,
    pub offset: u32,
}

impl SynsetId {
    pub fn noun(offset: u32) -> SynsetId {
        SynsetId { pos: Pos::Noun, offset }
    }

    pub fn verb(offset: u32) -> SynsetId {
        SynsetId { pos: Pos::Verb, offset }
    }

    /// Reads a wnid `n########` or `v########` (exactly eight digits); `None` for anything else.
    pub fn parse_wnid(text: &str) -> Option<SynsetId> {
        let pos = Pos::from_letter(text.get(..1)?)?;
        let digits = &text[1..];
        if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(SynsetId { pos, offset: digits.parse().ok()? })
    }
}

impl fmt::Display for SynsetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:08}", self.pos.letter(), self.offset)
    }
}
