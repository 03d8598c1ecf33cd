//! xnas: multi-objective neural architecture search for accurate and *introspectable* networks.
//!
//! It implements XNAS — NSGA-II over the NAS-Bench-201 cell space with two objectives, validation
//! accuracy and introspectability (how far apart a network's per-class mean activations are) —
//! and makes every experiment a script.
//!
//! The crate is a thin layer over pure-Rust workspace crates, re-exported here:
//!
//! | module | what |
//! |---|---|
//! | [`space`] | NAS-Bench-201 genomes, arch strings, validity, isomorphism, parameter/FLOP counts |
//! | [`moo`] | NSGA-II machinery: dominance, sorting, crowding, operators, ask/tell |
//! | [`hv`] | exact hypervolume |
//! | [`wordnet`] | WordNet 3.0 reader and path similarity |
//! | [`datasets`] | readers for IDX, CIFAR-10 and ImageNet16 files |
//!
//! and its own modules: [`record`] (the measurement record), [`introspect`] (scores of a record),
//! and — with the default `torch` feature — [`nn`] (the network), [`data`] (datasets on the device),
//! [`train`] and [`evaluate`] (train and measure one architecture).

pub use xnas_datasets as datasets;
pub use xnas_hv as hv;
pub use xnas_moo as moo;
pub use xnas_space as space;
pub use xnas_wordnet as wordnet;

pub mod cli;
pub mod exec;
pub mod introspect;
pub mod record;
pub mod report;
pub mod run;
pub mod script;
pub mod store;
pub mod train;

#[cfg(feature = "torch")]
pub mod data;
#[cfg(feature = "torch")]
pub mod evaluate;
#[cfg(feature = "torch")]
pub mod nn;
