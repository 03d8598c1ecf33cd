//! The one error type of the crate. Every variant names the thing that was wrong (a file with its
//! line, a label, a synset spec) and what the user can do about it, because these errors end up
//! in front of someone configuring an experiment, not someone reading this code.

use std::io;
use std::path::PathBuf;

use crate::synset_id::{Pos, SynsetId};

/// How a synset may be written, repeated in the messages that reject one.
pub(crate) const SPEC_FORMS: &str =
    "write `lemma.n.NN` (e.g. dog.n.01), a WordNet id `n########` (e.g. n02084071) or a plain noun (its first sense)";

/// Anything that can go wrong reading WordNet, resolving a synset or mapping labels to synsets.
#[derive(Debug, thiserror::Error)]
pub enum WordNetError {
    /// A database file is missing or unreadable.
    #[error(
        "cannot read WordNet file {path} (directory from {origin}): {cause}. \
         Install WordNet 3.0 (Debian/Ubuntu: `apt-get install wordnet-base`, which fills /usr/share/wordnet) \
         or point --wordnet-dir or the XNAS_WORDNET_DIR environment variable at a directory holding \
         data.noun and index.noun"
    )]
    MissingFile {
        path: PathBuf,
        /// Where the directory came from: an explicit path, XNAS_WORDNET_DIR or the default.
        origin: &'static str,
        // Not a `#[source]`: the message already says it, and error chains would repeat it.
        cause: io::Error,
    },

    /// A line of a database file does not have the wndb(5) format.
    #[error("{path}:{line}: {message} (is this a WordNet 3.0 database file?)")]
    Malformed { path: PathBuf, line: usize, message: String },

    /// No data line starts at this offset.
    #[error(
        "no synset {id} in {path}: WordNet ids are byte offsets of lines in data.{} \
         and must come from the same WordNet version (3.0)",
        id.pos.file_suffix()
    )]
    UnknownOffset { id: SynsetId, path: PathBuf },

    /// The lemma is not in the index of that part of speech.
    #[error("no {pos} {lemma:?} in WordNet ({path}); {SPEC_FORMS}")]
    UnknownLemma { lemma: String, pos: Pos, path: PathBuf },

    /// `lemma.p.NN` asks for a sense the lemma does not have.
    #[error("{lemma:?} has {count} {pos} sense(s), so {spec:?} does not exist; use a sense from 1 to {count}")]
    NoSuchSense { spec: String, lemma: String, pos: Pos, count: usize },

    /// The text is not a synset spec at all.
    #[error("cannot read synset {spec:?}: {reason}; {SPEC_FORMS}")]
    BadSpec { spec: String, reason: String },

    /// A class label has no synset: no built-in entry, no override, and not itself a noun or id.
    #[error(
        "label {label:?} has no WordNet synset ({reason}); map it with an override line \
         `{label}<TAB>SYNSET` or `{label}=SYNSET` in a synset file, e.g. `{label}=dog.n.01`"
    )]
    UnmappedLabel { label: String, reason: String },

    /// An override names a label that the dataset does not have.
    #[error("{at}: unknown label {label:?}; the labels are: {known}")]
    UnknownLabel { at: String, label: String, known: String },

    /// An override's synset does not resolve.
    #[error("{at}: synset for label {label:?}: {cause}")]
    BadOverride { at: String, label: String, cause: Box<WordNetError> },

    /// A line of an override file or a wnid list is not in the expected form.
    #[error("{path}:{line}: {message}")]
    BadLine { path: PathBuf, line: usize, message: String },

    /// A list file (wnids, overrides) could not be read.
    #[error("cannot read {what} {path}: {cause}")]
    ReadList { what: &'static str, path: PathBuf, cause: io::Error },

    /// ImageNet16-120's labels need the wnid list.
    #[error(
        "{dataset} has {need} classes named by ImageNet wnids; {message}. \
         Give the ILSVRC2012 devkit's class list (map_clsloc.txt, or one wnid a line) in label order"
    )]
    Wnids { dataset: String, need: usize, message: String },

    /// Pair weights need at least one pair with a positive similarity.
    #[error("pair weights need {0}")]
    NoPairs(&'static str),
}
