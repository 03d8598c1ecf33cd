//! The state one compilation shares between the engine's registered functions, its module
//! resolver and the compiled experiment's later calls: the experiments a script declares (as
//! drafts), the files it imported, and the WordNet settings its scores use. Only data lives here,
//! so every other part of `script` can depend on it without depending on each other.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use rhai::{FnPtr, Module, Shared};

use super::error::Location;
use super::spec::{ExperimentSpec, ObjectiveSpec};

/// A module as rhai shares it.
pub(crate) type SharedModule = Shared<Module>;

/// A source file a script consists of: the script itself or a module it imported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourceFile {
    /// The name errors use: the path as the user wrote it (relative to the importing script's
    /// directory for imports), or `stdlib/<name>.rhai` for a built-in module.
    pub name: String,
    /// Where the file is on disk; `None` for built-in modules.
    pub path: Option<PathBuf>,
    pub text: String,
}

/// State shared by the engine's registered functions during one compilation and afterwards,
/// while the experiment's closures are called.
#[derive(Default)]
pub(crate) struct Session {
    /// Every `experiment(…)` the script created, in order.
    pub declared: Mutex<Vec<ExperimentHandle>>,
    /// Every module imported (user files and built-in modules), in the order first imported.
    pub imports: Mutex<Vec<(SourceFile, SharedModule)>>,
    /// WordNet settings and cached label similarities for the scoring functions.
    pub scoring: RwLock<ScoringContext>,
}

/// The WordNet settings of the experiment being scored, and label similarity matrices already
/// computed (a WordNet objective is called once per record; the matrix is the same every time).
#[derive(Debug, Default)]
pub(crate) struct ScoringContext {
    pub wordnet_dir: Option<PathBuf>,
    /// Label → synset spec overrides from `exp.dataset(#{ synsets: … })`.
    pub synsets: Vec<(String, String)>,
    pub similarity_cache: HashMap<String, Arc<Vec<Vec<f64>>>>,
}

/// An objective as declared, before the experiment is finished.
#[derive(Clone)]
pub(crate) struct DraftObjective {
    pub spec: ObjectiveSpec,
    pub function: FnPtr,
}

/// An experiment being declared, with where each part of it was declared (for errors found
/// only once the script has run).
pub(crate) struct Draft {
    pub declared_at: Location,
    pub spec: ExperimentSpec,
    pub dataset_at: Option<Location>,
    pub search_at: Option<Location>,
    pub objectives: Vec<DraftObjective>,
    pub reference_point_at: Option<Location>,
    pub repair: Option<FnPtr>,
    pub on_generation: Option<FnPtr>,
    pub stop_early: Option<FnPtr>,
}

/// The script-side `Experiment`: a shared handle to a draft, so that every copy of it (in a
/// variable, passed to a module's function, returned from one) edits the same draft.
#[derive(Clone)]
pub struct ExperimentHandle(pub(crate) Arc<Mutex<Draft>>);

impl ExperimentHandle {
    pub(crate) fn edit<T>(&self, f: impl FnOnce(&mut Draft) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
