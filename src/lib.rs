//! xnas: multi-objective neural architecture search for accurate and introspectable networks.
pub use xnas_datasets as datasets;
pub use xnas_hv as hv;
pub use xnas_moo as moo;
pub use xnas_space as space;
pub use xnas_wordnet as wordnet;

pub mod cli;
