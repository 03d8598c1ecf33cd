//! Experiment scripts: an experiment is a Rhai script that reads like a configuration with a few
//! functions, and compiles to an [`Experiment`] the run loop drives.
//!
//! ```rhai
//! import "xnas/presets" as presets;
//! let exp = experiment("quickstart");
//! exp.dataset(#{ name: "fashion-mnist", train_subset: 2000, val_subset: 500 });
//! exp.space(#{ channels: 8, cells: 1 });
//! exp.training(presets::training("fashion-mnist") + #{ epochs: 2 });
//! exp.search(#{ algorithm: "nsga2", population: 8, generations: 3, seed: 1 });
//! exp.objective("accuracy", "max", |r| r.val_accuracy);
//! exp.objective("introspectability", "max", |r| r.introspectability);
//! ```
//!
//! The pieces, in the order data flows (the map of the whole crate is `docs/architecture.md`):
//! - [`compile_file`] evaluates a script in a sandboxed engine (`engine`, [`Limits`]) with the
//!   registered API (`api`: the experiment builder, multi-objective primitives, introspectability
//!   and WordNet scores, space helpers, the search analyses of `xnas-analysis`; reference in `docs/script-api.md`, made by
//!   [`api_reference`]) and the built-in modules of `stdlib/` (`import "xnas/<name>"`). What the
//!   registered functions share during a compilation is the `session`.
//! - The [`Experiment`] holds the serialisable [`ExperimentSpec`] (what the run store records;
//!   its [`Section`]s are set by scripts and `--set` alike) and
//!   the script's closures: [`Experiment::score`] turns a measurement record into objective
//!   values, [`Experiment::repair`] vets proposed genomes, [`Experiment::on_generation`] reports,
//!   [`Experiment::stop_early`] decides after each epoch whether a candidate's training goes on.
//! - [`check`] dry-runs all of them on a synthetic record and toy genomes (`xnas check`);
//!   [`check_with_records`] also on a run's real records.
//! - [`ScriptWatcher`] recompiles on edits and hands over the new version (`xnas run --watch`).
//!
//! Every error names `file:line:column` ([`ScriptError`]).

mod api;
mod check;
mod docs;
mod engine;
mod error;
mod experiment;
mod session;
mod spec;
pub mod stdlib;
mod watch;

pub use check::{check, check_with_records, CheckReport};
// The dry run's record, for the callers that already find it here (it lives with the record).
pub use docs::api_reference;
pub use engine::Limits;
pub use error::{Location, ScriptError};
pub use experiment::{
    compile_file, compile_file_with, compile_stored, parse_override, training_hash, CallbackOutcome, Experiment,
    FrontPoint, GenerationStats, MemberStats, PartialCandidate, PartialEvaluation, ScriptRepair,
};
pub use session::SourceFile;
pub(crate) use spec::TRAINING_OWNED;
pub use spec::{
    diff, setting_kind, Algorithm, Budget, Change, DatasetSpec, ExperimentDiff, ExperimentSpec, KeepModels,
    ObjectiveSpec, SearchSpec, Section, SettingKind, SpaceSpec, SpecError, TableMiss, DEFAULT_EPOCH_VALIDATION,
    DEFAULT_REPORT_AXES, REPORT_FIELDS,
};
pub use watch::{Reload, ScriptWatcher};
