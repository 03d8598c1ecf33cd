//! The Rhai engine experiment scripts run in: its safety limits, the module resolver behind
//! `import "xnas/<name>"` and `import "my_module"`, and the per-compilation [`Session`] that the
//! registered functions share (the experiments a script declares, the files it imported, the
//! WordNet settings its scores use).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Scope, Shared};

/// A module as rhai shares it.
type SharedModule = Shared<Module>;

use super::builder::ExperimentHandle;
use super::stdlib;
use super::ScoringContext;

/// Limits that stop a runaway script (an endless loop, endless recursion, a string or array
/// that grows without bound) with an error instead of hanging or exhausting memory. They apply
/// to each evaluation of the script and to each later call of one of its closures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Rhai operations per evaluation or call; 20 million is a few seconds of work, far more
    /// than any objective over a 120-class record needs.
    pub max_operations: u64,
    /// Nested function calls.
    pub max_call_levels: usize,
    /// Nesting of expressions (global level, inside functions).
    pub max_expr_depth: usize,
    /// Characters in one string.
    pub max_string_size: usize,
    /// Elements in one array (nested arrays count their elements too).
    pub max_array_size: usize,
    /// Properties in one object map.
    pub max_map_size: usize,
    /// Modules one evaluation may import.
    pub max_modules: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 20_000_000,
            max_call_levels: 64,
            max_expr_depth: 128,
            max_string_size: 1 << 20,
            max_array_size: 1 << 20,
            max_map_size: 1 << 16,
            max_modules: 64,
        }
    }
}

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

/// Resolves `import` paths: `"xnas/<name>"` to a built-in module, anything else to a file
/// relative to the directory of the importing script (`.rhai` is added when there is no
/// extension). Each module is evaluated once per compilation.
struct Resolver {
    session: Arc<Session>,
    /// The directory of the main script (for imports from it).
    base_dir: PathBuf,
    /// Source name → directory of that file, for relative imports from imported files.
    dirs: Mutex<HashMap<String, PathBuf>>,
}

impl Resolver {
    fn load(
        &self,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<(SourceFile, String), Box<EvalAltResult>> {
        if let Some(name) = path.strip_prefix(stdlib::IMPORT_PREFIX) {
            let text = stdlib::module_text(name).ok_or_else(|| {
                super::error::runtime_error(
                    format!("no built-in module {path:?}; the built-in modules are {}", stdlib::import_paths()),
                    pos,
                )
            })?;
            let name = stdlib::source_name(name);
            return Ok((SourceFile { name: name.clone(), path: None, text: text.to_string() }, name));
        }
        if source.is_some_and(stdlib::is_stdlib_source) {
            return Err(super::error::runtime_error(
                format!("a built-in module can only import other built-in modules (\"xnas/…\"), not {path:?}"),
                pos,
            ));
        }
        let dir = source
            .and_then(|s| self.dirs.lock().unwrap_or_else(|e| e.into_inner()).get(s).cloned())
            .unwrap_or_else(|| self.base_dir.clone());
        let mut relative = PathBuf::from(path);
        if relative.extension().is_none() {
            relative.set_extension("rhai");
        }
        let file = dir.join(&relative);
        let text = std::fs::read_to_string(&file).map_err(|e| {
            super::error::runtime_error(
                format!(
                    "cannot import {path:?}: cannot read {} ({e}); user modules are found relative to the \
                     importing script, built-in ones are {}",
                    file.display(),
                    stdlib::import_paths()
                ),
                pos,
            )
        })?;
        let name = file.display().to_string();
        if let Some(parent) = file.parent() {
            self.dirs.lock().unwrap_or_else(|e| e.into_inner()).insert(name.clone(), parent.to_path_buf());
        }
        Ok((SourceFile { name: name.clone(), path: Some(file), text }, name))
    }
}

impl ModuleResolver for Resolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<SharedModule, Box<EvalAltResult>> {
        let (file, name) = self.load(source, path, pos)?;
        if let Some((_, module)) =
            self.session.imports.lock().unwrap_or_else(|e| e.into_inner()).iter().find(|(f, _)| f.name == name)
        {
            return Ok(module.clone());
        }
        let in_module = |error: Box<EvalAltResult>| -> Box<EvalAltResult> {
            EvalAltResult::ErrorInModule(name.clone(), error, pos).into()
        };
        let mut ast = engine.compile(&file.text).map_err(|e| in_module(e.into()))?;
        ast.set_source(name.as_str());
        let module: SharedModule = Module::eval_ast_as_new(Scope::new(), &ast, engine).map_err(in_module)?.into();
        self.session.imports.lock().unwrap_or_else(|e| e.into_inner()).push((file, module.clone()));
        Ok(module)
    }
}

/// A new engine with the limits, the module resolver and the whole registered API.
pub(crate) fn new_engine(limits: &Limits, session: &Arc<Session>, base_dir: &Path) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_levels)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_max_modules(limits.max_modules)
        // A typo in a variable name is an error when the script is compiled, not a `()` later…
        .set_strict_variables(true)
        // …and so is a typo in a record field (`r.val_acuracy`), instead of a silent `()`.
        .set_fail_on_invalid_map_property(true);
    // The run loop owns stdout (progress, records); script output goes to stderr, marked.
    engine.on_print(|text| eprintln!("[script{}] {text}", dry_run_mark()));
    engine.on_debug(|text, source, position| match (source, position.line()) {
        (Some(source), Some(line)) => eprintln!("[script{} {source}:{line}] {text}", dry_run_mark()),
        _ => eprintln!("[script{}] {text}", dry_run_mark()),
    });
    engine.set_module_resolver(Resolver {
        session: Arc::clone(session),
        base_dir: base_dir.to_path_buf(),
        dirs: Mutex::new(HashMap::new()),
    });
    super::api::register_all(&mut engine, session);
    engine
}

/// Set while `check` dry-runs a script on synthetic data, so that what the script prints then is
/// not mistaken for results.
pub(crate) static DRY_RUN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn dry_run_mark() -> &'static str {
    if DRY_RUN.load(std::sync::atomic::Ordering::Relaxed) {
        " dry run"
    } else {
        ""
    }
}
