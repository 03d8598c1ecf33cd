//! The Rhai engine experiment scripts run in: its safety limits (operations, sizes, depth and a
//! wall-clock budget per call), and the module resolver behind `import "xnas/<name>"` and
//! `import "my_module"`. The functions scripts call are registered by the caller (`api`), so the
//! engine knows nothing of them.
//!
//! What a script may reach ([`REACH`], stated in `docs/script-api.md` too): the registered
//! functions, Rhai's standard library (which has no file, network or process access), the
//! built-in modules (`import "xnas/<name>"`) and `.rhai` files in the main script's folder or
//! below it, imported by a relative path. An absolute path, a `..` that leaves that folder and a
//! symbolic link that leads out of it are refused at the `import`, and `eval` is disabled, so a
//! script's whole text is what the run stores as its script version and nothing outside the
//! experiment's folder can change what a run computes. A stored version imports from its stored
//! texts, as it ran, whatever paths it used.

use std::cell::Cell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rhai::{Dynamic, Engine, EvalAltResult, Module, ModuleResolver, Position, Scope};

use super::error::{runtime_error, OutOfTime, RhaiResult};
use super::session::{Session, SharedModule, SourceFile};
use super::stdlib;

/// Limits that stop a runaway script (an endless loop, endless recursion, a string or array
/// that grows without bound) with an error instead of hanging or exhausting memory. They apply
/// to each evaluation of the script and to each later call of one of its closures.
///
/// The operation count alone does not bound time: rhai re-measures an array after every change
/// to it, so growing one element by element costs time quadratic in its length while counting
/// only a few operations per element. The wall-clock budgets bound that too.
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
    /// Wall-clock time for compiling the script (evaluating it and the modules it imports).
    pub max_compile_time: Duration,
    /// Wall-clock time for one call of an objective, the repair or the callback.
    pub max_call_time: Duration,
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
            max_compile_time: Duration::from_secs(10),
            max_call_time: Duration::from_secs(5),
        }
    }
}

/// What a script may reach, as the errors and the API reference say it.
const REACH: &str = "a script may import the built-in modules (\"xnas/<name>\") and `.rhai` files in \
     its own folder or below it, by a path relative to the importing file; absolute paths, `..` out of the main \
     script's folder, symbolic links leading out of it and `eval` are refused";

/// Resolves `import` paths: `"xnas/<name>"` to a built-in module, anything else to a file
/// relative to the directory of the importing script (`.rhai` is added when there is no
/// extension), within the main script's folder ([`REACH`]). Each module is evaluated once per
/// compilation.
struct Resolver {
    session: Arc<Session>,
    /// The directory of the main script (for imports from it).
    base_dir: PathBuf,
    /// Source name → directory of that file, for relative imports from imported files.
    dirs: Mutex<HashMap<String, PathBuf>>,
    /// When compiling a stored script version: the texts to import instead of reading files.
    stored: Option<StoredSources>,
}

/// The texts of a stored script version's modules, by where they were imported from: user modules
/// by path (as the resolver computes it), built-in modules by their source name.
#[derive(Debug, Clone, Default)]
pub(crate) struct StoredSources {
    pub files: HashMap<PathBuf, String>,
    pub builtins: HashMap<String, String>,
}

impl Resolver {
    fn load(&self, source: Option<&str>, path: &str, pos: Position) -> RhaiResult<(SourceFile, String)> {
        if let Some(name) = path.strip_prefix(stdlib::IMPORT_PREFIX) {
            let text = stdlib::module_text(name).ok_or_else(|| {
                runtime_error(
                    format!("no built-in module {path:?}; the built-in modules are {}", stdlib::import_paths()),
                    pos,
                )
            })?;
            let name = stdlib::source_name(name);
            // A stored version keeps the built-in module's text it ran with.
            let text = self.stored.as_ref().and_then(|s| s.builtins.get(&name).cloned()).unwrap_or(text.to_string());
            return Ok((SourceFile { name: name.clone(), path: None, text }, name));
        }
        if source.is_some_and(stdlib::is_stdlib_source) {
            return Err(runtime_error(
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
        if let Some(stored) = &self.stored {
            // Not checked against the rule: the version ran with these texts (perhaps stored by an
            // xnas without the rule) and nothing is read from disk.
            let text = stored.files.get(&file).cloned().ok_or_else(|| {
                runtime_error(
                    format!(
                        "cannot import {path:?}: the run's stored script version has no module {}; resume \
                         with --script FILE to use the files on disk",
                        file.display()
                    ),
                    pos,
                )
            })?;
            let name = file.display().to_string();
            if let Some(parent) = file.parent() {
                self.dirs.lock().unwrap_or_else(|e| e.into_inner()).insert(name.clone(), parent.to_path_buf());
            }
            return Ok((SourceFile { name: name.clone(), path: Some(file), text }, name));
        }
        self.check_reach(path, &relative, &file).map_err(|message| runtime_error(message, pos))?;
        let text = std::fs::read_to_string(&file).map_err(|e| {
            runtime_error(
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

impl Resolver {
    /// Refuses an import from disk that leaves the main script's folder ([`REACH`]): `path` as the
    /// script wrote it, `relative` with its extension, `file` where it leads.
    fn check_reach(&self, path: &str, relative: &Path, file: &Path) -> Result<(), String> {
        let refuse = |why: String| {
            Err(format!(
                "cannot import {path:?}: {why}; {REACH}. Copy the module into the script's folder (or a \
                 subfolder) and import it by a relative path"
            ))
        };
        if relative.has_root() || relative.is_absolute() {
            return refuse("an absolute path".into());
        }
        let (Some(base), Some(target)) = (lexical(&self.base_dir), lexical(file)) else {
            return refuse(format!("{} leaves the main script's folder", file.display()));
        };
        if !target.starts_with(&base) {
            return refuse(format!("{} is outside the main script's folder {}", file.display(), base.display()));
        }
        // A symbolic link inside the folder may lead anywhere: the file it resolves to counts. A
        // file that does not exist is left to the read, which names it.
        if let (Ok(base), Ok(target)) = (self.base_dir_canonical(), file.canonicalize()) {
            if !target.starts_with(&base) {
                return refuse(format!(
                    "{} is a symbolic link to {}, outside the main script's folder",
                    file.display(),
                    target.display()
                ));
            }
        }
        Ok(())
    }

    fn base_dir_canonical(&self) -> std::io::Result<PathBuf> {
        let base = if self.base_dir.as_os_str().is_empty() { Path::new(".") } else { &self.base_dir };
        base.canonicalize()
    }
}

/// `path` made absolute (against the working directory) with `.` and `..` resolved by name, as
/// the path is written (symbolic links are not followed); `None` when a `..` climbs above the root.
fn lexical(path: &Path) -> Option<PathBuf> {
    use std::path::Component;
    let absolute = std::path::absolute(if path.as_os_str().is_empty() { Path::new(".") } else { path }).ok()?;
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

impl ModuleResolver for Resolver {
    fn resolve(&self, engine: &Engine, source: Option<&str>, path: &str, pos: Position) -> RhaiResult<SharedModule> {
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

/// A new engine with the limits and the module resolver; the caller registers the functions.
pub(crate) fn new_engine(limits: &Limits, session: &Arc<Session>, base_dir: &Path) -> Engine {
    new_engine_with_sources(limits, session, base_dir, None)
}

/// [`new_engine`] whose imports come from `stored` texts (a stored script version) when given.
pub(crate) fn new_engine_with_sources(
    limits: &Limits,
    session: &Arc<Session>,
    base_dir: &Path,
    stored: Option<StoredSources>,
) -> Engine {
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
        .set_fail_on_invalid_map_property(true)
        // Code built from strings at run time would escape what the stored script version says.
        .disable_symbol("eval");
    engine.on_progress(out_of_time);
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
        stored,
    });
    engine
}

thread_local! {
    /// When the script call running on this thread must stop, and its budget (see [`with_budget`]).
    /// Per thread, because one engine serves calls on several threads at once.
    static DEADLINE: Cell<Option<(Instant, Duration)>> = const { Cell::new(None) };
}

/// Runs `call` (which evaluates script code on this thread) under a wall-clock `budget`: past
/// it, the script stops at its next operation with an error at that operation's position.
pub(crate) fn with_budget<T>(budget: Duration, call: impl FnOnce() -> T) -> T {
    let outer = DEADLINE.replace(Some((Instant::now() + budget, budget)));
    let result = call();
    DEADLINE.set(outer);
    result
}

/// Runs `work` (native work a registered function does once, such as loading WordNet) without
/// charging its time to the running script's budget.
pub(crate) fn off_budget<T>(work: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let result = work();
    if let Some((deadline, budget)) = DEADLINE.get() {
        DEADLINE.set(Some((deadline + started.elapsed(), budget)));
    }
    result
}

/// When the script call running on this thread must stop, and its whole budget: for registered
/// functions whose native work can run long (an exact hypervolume in many dimensions), which the
/// progress callback cannot interrupt, so they look at the clock themselves.
pub(crate) fn call_deadline() -> Option<(Instant, Duration)> {
    DEADLINE.get()
}

/// The progress callback: stops the script once the budget of [`with_budget`] is spent. The
/// clock is read every 64 operations, which keeps its cost out of the profile.
fn out_of_time(operations: u64) -> Option<Dynamic> {
    if operations % 64 != 0 {
        return None;
    }
    let (deadline, budget) = DEADLINE.get()?;
    (Instant::now() >= deadline).then(|| Dynamic::from(OutOfTime(budget)))
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
