//! xnas: multi-objective neural architecture search for accurate and *introspectable* networks.
//!
//! It implements XNAS — NSGA-II over the NAS-Bench-201 cell space with two objectives, validation
//! accuracy and introspectability (how far apart a network's per-class mean activations are) —
//! and makes every experiment a script.
//!
//! The library, top layer first (each module may use those below it, never one above;
//! `docs/architecture.md` is the map, and `tests/integration/layers.rs` checks the order):
//!
//! | module | what |
//! |---|---|
//! | [`run`] | the search loop behind `xnas run` / `xnas resume`: scheduling, retries, hot reload |
//! | [`optuna`] | a run as an Optuna journal for optuna-dashboard: exported whole, or appended live |
//! | [`output`] | writing a command's files and folders without destroying anything |
//! | [`run_dir`] | a run folder: its files by name, its lock, run names, the models it keeps |
//! | [`script`] | experiment scripts: the Rhai engine, its API, the experiment spec, checks, reload |
//! | [`exec`] | executors: child processes on this machine, Ray tasks on a cluster |
//! | [`store`] | the SQLite run store |
//! | [`report`] | tables and SVG figures of a run |
//! | [`evaluate`] | genome + config → measurement record; saved models; fine-tuning (torch) |
//! | [`train`] | appendix B's training recipe (the loop needs torch) |
//! | [`nn`] | the NAS-Bench-201 network in libtorch, with activation taps (torch) |
//! | [`data`] | datasets on the device (torch) |
//! | [`record`] | the measurement record and the training configuration |
//! | [`introspect`] | introspectability: scores of a record, the tap consumer, class-mean streaming |
//!
//! and the pure workspace crates, re-exported: [`space`] (NAS-Bench-201 genomes, validity,
//! isomorphism, cost), [`moo`] (NSGA-II machinery), [`hv`] (exact hypervolume), [`wordnet`]
//! (WordNet 3.0, path similarity), [`datasets`] (IDX, CIFAR-10 and ImageNet16 readers).
//! The command line (`src/cli`) is the binary's, not the library's.

pub use xnas_datasets as datasets;
pub use xnas_hv as hv;
pub use xnas_moo as moo;
pub use xnas_space as space;
pub use xnas_wordnet as wordnet;

// The orchestration half: a search, its scripts, where its jobs run, what it keeps and shows.
pub mod run;

pub mod optuna;

pub mod output;

pub mod run_dir;

pub mod script;

pub mod exec;

pub mod store;

pub mod report;

// The measuring half: one architecture trained and measured (libtorch behind the `torch` feature).
#[cfg(feature = "torch")]
pub mod evaluate;

pub mod train;

#[cfg(feature = "torch")]
pub mod nn;

#[cfg(feature = "torch")]
pub mod data;

// The contract between the halves, and the scores computed from it.
pub mod record;

pub mod introspect;
