//! WordNet for XNAS: the database reader, NLTK-compatible path similarity between synsets, and the
//! label → synset tables behind the paper's WordNet-weighted introspectability (section 3.3).
//!
//! Pure Rust and no libtorch, so scores over stored records can be recomputed anywhere.
//!
//! ```no_run
//! use xnas_wordnet::{LabelSynsets, WordNet};
//! use xnas_datasets::DatasetName;
//!
//! let wordnet = WordNet::open(None)?; // --wordnet-dir, else $XNAS_WORDNET_DIR, else /usr/share/wordnet
//! let dog = wordnet.resolve("dog.n.01")?;
//! let cat = wordnet.resolve("n02121620")?;
//! assert_eq!(wordnet.path_similarity(dog, cat)?, Some(0.2));
//!
//! let labels = LabelSynsets::for_dataset(&wordnet, DatasetName::Cifar10, None, &[])?;
//! let similarity = labels.similarity_matrix(&wordnet)?;
//! let weights = xnas_wordnet::normalized_pair_weights(&similarity)?; // mean pair weight 1
//! # Ok::<(), xnas_wordnet::WordNetError>(())
//! ```

mod database;
mod error;
mod groups;
mod labels;
mod similarity;
mod synset_id;

pub use database::{Synset, WordNet, DEFAULT_DIR, DIR_ENV};
pub use error::WordNetError;
pub use groups::HypernymGroup;
pub use labels::{
    default_synsets, label_similarity_matrix, parse_overrides, read_overrides, read_wnids, LabelSynset, LabelSynsets,
    SynsetOverride,
};
pub use similarity::{mean_pair_similarity, normalized_pair_weights, HypernymPath, PathNode};
pub use synset_id::{Pos, SynsetId};
