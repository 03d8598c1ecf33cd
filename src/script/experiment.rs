//! A compiled experiment: its [`ExperimentSpec`] plus the script's closures (objectives, repair,
//! per-generation callback, early-stopping rule), callable from Rust for as long as the run lasts.
//!
//! Compiling evaluates the script once, as a Rhai module, so that every function and closure it
//! defined keeps the environment it was defined in (its imports, its module's other functions).
//! The evaluated script and every module it imported are then registered in the engine, which is
//! what lets the run loop call a closure (`|r| presets::weight(r)`, or one returned by
//! `objectives::wordnet()`) long after the script finished.

use std::path::Path;
use std::sync::Arc;

use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, Module, Scope, AST};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use xnas_moo::{Direction, Repair};
use xnas_space::Genome;

use super::api::{self, number};
use super::engine::{new_engine_with_sources, with_budget, Limits, StoredSources};
use super::error::{from_parse, from_rhai, innermost, Location, RhaiResult, ScriptError};
use super::session::{ExperimentHandle, Session, SourceFile};
use super::spec::{
    diff, direction_word, setting_kind, Algorithm, Budget, ExperimentDiff, ExperimentSpec, Section, SettingKind,
    SpecError,
};
use crate::record::{EvalConfig, MeasurementRecord};

/// What the engine needs to call the script's closures later.
struct Runtime {
    engine: Engine,
    /// Closures are found among the engine's global modules, so calls need no AST of their own.
    empty: AST,
    session: Arc<Session>,
    limits: Limits,
    main_file: String,
    sources: Vec<SourceFile>,
    version_hash: String,
}

/// A compiled experiment script. Cheap to clone (the engine is shared) and safe to send to
/// another thread.
#[derive(Clone)]
pub struct Experiment {
    spec: ExperimentSpec,
    objectives: Vec<FnPtr>,
    repair: Option<FnPtr>,
    on_generation: Option<FnPtr>,
    stop_early: Option<FnPtr>,
    runtime: Arc<Runtime>,
}

impl std::fmt::Debug for Experiment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Experiment").field("spec", &self.spec).field("version", &self.runtime.version_hash).finish()
    }
}

/// Statistics of one finished generation, handed to the script's `on_generation` callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationStats {
    /// Completed generations (1 after the initial population).
    pub generation: u64,
    /// Candidates evaluated so far (failed ones included).
    pub evaluations: usize,
    /// Candidates whose evaluation or scoring failed so far.
    pub failed: usize,
    /// Hypervolume of the current population's non-dominated points.
    pub hypervolume: Option<f64>,
    /// Objective names, in the order of every `objectives` vector.
    pub objectives: Vec<String>,
    pub population: Vec<MemberStats>,
    /// The population's non-dominated members.
    pub front: Vec<MemberStats>,
    pub elapsed_seconds: f64,
}

/// One population member in [`GenerationStats`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberStats {
    pub id: u64,
    /// NAS-Bench-201 arch string.
    pub genome: String,
    /// Six paper op codes.
    pub compact: String,
    pub objectives: Vec<f64>,
    /// Front index (0 = non-dominated).
    pub rank: usize,
}

/// What an early-stopping rule (`exp.stop_early`) decides on, after one epoch of a candidate's
/// training: the script sees it as `#{ epoch, epochs, candidate, front }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartialEvaluation {
    /// The epoch just finished, 1-based.
    pub epoch: usize,
    /// The epochs the training would run in all.
    pub epochs: usize,
    pub candidate: PartialCandidate,
    /// The current front's members measured after the same epoch (members without that epoch's
    /// measurement are left out).
    pub front: Vec<FrontPoint>,
}

/// The candidate in training, as measured after the epoch on the per-epoch validation subset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartialCandidate {
    /// Six paper op codes.
    pub genome: String,
    /// NAS-Bench-201 arch string.
    pub arch: String,
    pub val_accuracy: f64,
    /// `()` in the script where undefined.
    pub introspectability: Option<f64>,
    /// Images of the per-epoch validation subset.
    pub images: usize,
}

/// A front member's measurement after the same epoch as the candidate's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrontPoint {
    /// Six paper op codes.
    pub genome: String,
    pub val_accuracy: f64,
    pub introspectability: Option<f64>,
}

/// What the `on_generation` callback asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackOutcome {
    Continue,
    /// The callback returned `"stop"`: end the search after this generation.
    Stop,
}

/// Compiles the experiment script at `path` with the default [`Limits`].
pub fn compile_file(path: &Path) -> Result<Experiment, ScriptError> {
    compile_file_with(path, &Limits::default())
}

/// Compiles the experiment script at `path`.
pub fn compile_file_with(path: &Path, limits: &Limits) -> Result<Experiment, ScriptError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ScriptError::Read { path: path.to_path_buf(), message: e.to_string() })?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let main = SourceFile { name: path.display().to_string(), path: Some(path.to_path_buf()), text };
    compile_source(main, &base_dir, limits, None)
}

/// Compiles a stored script version: `sources` as [`Experiment::sources`] listed them (main
/// script first), with the main script now named `path`. Imports come from the stored texts,
/// never from disk, so the result is the version as it ran whatever happened to the files since;
/// user modules are found at their place relative to the main script, wherever it now is.
pub fn compile_stored(path: &Path, sources: &[SourceFile], limits: &Limits) -> Result<Experiment, ScriptError> {
    let Some((stored_main, imports)) = sources.split_first() else {
        return Err(ScriptError::Experiment { file: path.display().to_string(), message: "no stored source".into() });
    };
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let stored_dir = stored_main.path.as_deref().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
    let mut stored = StoredSources::default();
    for import in imports {
        match &import.path {
            // Imports were found relative to the main script's folder (paths are joined, not
            // normalised, so they start with it): move them along with the main script.
            Some(file) => {
                let moved = file.strip_prefix(&stored_dir).map_or_else(|_| file.clone(), |rest| base_dir.join(rest));
                stored.files.insert(moved, import.text.clone());
            }
            None => {
                stored.builtins.insert(import.name.clone(), import.text.clone());
            }
        }
    }
    let main =
        SourceFile { name: path.display().to_string(), path: Some(path.to_path_buf()), text: stored_main.text.clone() };
    compile_source(main, &base_dir, limits, Some(stored))
}

fn compile_source(
    main: SourceFile,
    base_dir: &Path,
    limits: &Limits,
    stored: Option<StoredSources>,
) -> Result<Experiment, ScriptError> {
    let session = Arc::new(Session::default());
    let mut engine = new_engine_with_sources(limits, &session, base_dir, stored);
    api::register_all(&mut engine, &session);
    let mut ast = engine.compile(&main.text).map_err(|e| from_parse(&e, &main.name))?;
    ast.set_source(main.name.as_str());
    let module = with_budget(limits.max_compile_time, || Module::eval_ast_as_new(Scope::new(), &ast, &engine))
        .map_err(|e| from_rhai(*e, &main.name, None, limits.max_operations))?;

    let declared: Vec<ExperimentHandle> =
        std::mem::take(&mut *session.declared.lock().unwrap_or_else(|e| e.into_inner()));
    let handle = match declared.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(ScriptError::Experiment {
                file: main.name.clone(),
                message: "the script declares no experiment; start it with `let exp = experiment(\"name\");`".into(),
            })
        }
        [first, second, ..] => {
            let (a, b) =
                (first.0.lock().map(|d| d.declared_at.clone()), second.0.lock().map(|d| d.declared_at.clone()));
            let (Ok(a), Ok(b)) = (a, b) else { unreachable!("drafts are not poisoned") };
            return Err(ScriptError::Runtime {
                location: b,
                message: format!("a second experiment (the first is at {a}); a script declares exactly one"),
                trace: Vec::new(),
            });
        }
    };

    // Make every function the script and its modules defined callable later (see module docs).
    engine.register_global_module(module.into());
    let imports: Vec<SourceFile> = {
        let imports = session.imports.lock().unwrap_or_else(|e| e.into_inner());
        for (_, module) in imports.iter() {
            engine.register_global_module(module.clone());
        }
        imports.iter().map(|(file, _)| file.clone()).collect()
    };

    let draft = handle.0.lock().unwrap_or_else(|e| e.into_inner());
    let error_at = |location: Location, message: String| ScriptError::Runtime { location, message, trace: Vec::new() };
    if draft.dataset_at.is_none() {
        return Err(error_at(
            draft.declared_at.clone(),
            "the experiment has no dataset; declare one with exp.dataset(#{ name: \"fashion-mnist\" })".into(),
        ));
    }
    let mut spec = draft.spec.clone();
    spec.objectives = draft.objectives.iter().map(|o| o.spec.clone()).collect();
    if draft.reference_point_at.is_none() && !spec.objectives.is_empty() {
        spec.reference_point = spec.default_reference_point().map_err(|m| error_at(draft.declared_at.clone(), m))?;
        spec.reference_point_is_default = true;
    }
    spec.normalise();
    spec.validate().map_err(|error: SpecError| {
        // Report the error at the call that gave the setting at fault, where the script made one.
        let given_at = if error.is_about_reference_point() {
            draft.reference_point_at.clone()
        } else if error.section() == Some(Section::Search) {
            draft.search_at.clone()
        } else {
            None
        };
        error_at(given_at.unwrap_or_else(|| draft.declared_at.clone()), error.to_string())
    })?;

    let mut sources = vec![main.clone()];
    sources.extend(imports);
    let version_hash = version_hash(&sources);
    let experiment = Experiment {
        objectives: draft.objectives.iter().map(|o| o.function.clone()).collect(),
        repair: draft.repair.clone(),
        on_generation: draft.on_generation.clone(),
        stop_early: draft.stop_early.clone(),
        spec,
        runtime: Arc::new(Runtime {
            engine,
            empty: AST::empty(),
            session: Arc::clone(&session),
            limits: *limits,
            main_file: main.name,
            sources,
            version_hash,
        }),
    };
    drop(draft);
    experiment.update_scoring_context();
    Ok(experiment)
}

/// SHA-256 over every source's text, in import order, as hex. Names are left out so that the
/// same script run as `experiments/x.rhai` or `./experiments/x.rhai` is the same version.
fn version_hash(sources: &[SourceFile]) -> String {
    let mut hasher = Sha256::new();
    for source in sources {
        hasher.update((source.text.len() as u64).to_le_bytes());
        hasher.update(source.text.as_bytes());
    }
    hex(&hasher.finalize())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Splits a `--set` argument `key=value`.
pub fn parse_override(text: &str) -> Result<(String, String), ScriptError> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_string(), value.trim().to_string())),
        _ => Err(ScriptError::Experiment {
            file: "--set".into(),
            message: format!("{text:?} is not key=value (e.g. --set search.population=16)"),
        }),
    }
}

impl Experiment {
    /// Everything the script declared except its closures.
    pub fn spec(&self) -> &ExperimentSpec {
        &self.spec
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// How every candidate is trained and measured (dataset and space settings included).
    pub fn eval_config(&self) -> &EvalConfig {
        &self.spec.training
    }

    pub fn objective_names(&self) -> Vec<&str> {
        self.spec.objectives.iter().map(|o| o.name.as_str()).collect()
    }

    pub fn directions(&self) -> Vec<Direction> {
        self.spec.directions()
    }

    /// When the search stops.
    pub fn budget(&self) -> Budget {
        self.spec.budget()
    }

    /// The script and every module it imported (built-in ones included), main script first.
    pub fn sources(&self) -> &[SourceFile] {
        &self.runtime.sources
    }

    /// SHA-256 (hex) of all [`Experiment::sources`]: the script version.
    pub fn version_hash(&self) -> &str {
        &self.runtime.version_hash
    }

    /// The file name errors use for the main script.
    pub fn main_file(&self) -> &str {
        &self.runtime.main_file
    }

    /// A stable hash of the training configuration, the device excluded (the same genome
    /// trained with the same settings on another device is not trained again).
    pub fn training_hash(&self) -> String {
        training_hash(&self.spec.training)
    }

    /// Applies `--set key=value` overrides in order (see [`ExperimentSpec::valid_keys`]).
    pub fn apply_overrides(&mut self, overrides: &[(String, String)]) -> Result<(), ScriptError> {
        for (key, value) in overrides {
            let at = format!("--set {key}={value}");
            self.spec.set(key, value).map_err(|e| match e {
                SpecError::UnknownKey { key, valid, .. } => ScriptError::UnknownKey { at: at.clone(), key, valid },
                invalid => ScriptError::Experiment { file: at.clone(), message: invalid.to_string() },
            })?;
        }
        self.update_scoring_context();
        Ok(())
    }

    /// What changed from `old` to this experiment.
    pub fn diff_from(&self, old: &Experiment) -> ExperimentDiff {
        ExperimentDiff {
            changes: diff(&old.spec, &self.spec),
            sources_changed: old.version_hash() != self.version_hash(),
        }
    }

    fn update_scoring_context(&self) {
        let mut scoring = self.runtime.session.scoring.write().unwrap_or_else(|e| e.into_inner());
        let synsets: Vec<(String, String)> = self.spec.dataset.synsets.clone().into_iter().collect();
        if scoring.synsets != synsets || scoring.wordnet_dir != self.spec.dataset.wordnet_dir {
            scoring.similarity_cache.clear();
        }
        scoring.synsets = synsets;
        scoring.wordnet_dir = self.spec.dataset.wordnet_dir.clone();
    }

    /// Calls one of the script's closures under the call time budget.
    fn call(&self, function: &FnPtr, argument: Dynamic) -> RhaiResult<Dynamic> {
        let runtime = &self.runtime;
        with_budget(runtime.limits.max_call_time, || {
            function.call::<Dynamic>(&runtime.engine, &runtime.empty, (argument,))
        })
    }

    fn convert(&self, error: EvalAltResult, fallback: &Location) -> ScriptError {
        from_rhai(error, &self.runtime.main_file, Some(fallback), self.runtime.limits.max_operations)
    }

    /// The objective vector of a record, in the order the objectives were declared and in their
    /// own directions. An objective that fails, or returns anything but a finite number, is an
    /// error naming it: the run loop counts that candidate's scoring as failed.
    pub fn score(&self, record: &MeasurementRecord) -> Result<Vec<f64>, ScriptError> {
        let map = rhai::serde::to_dynamic(record).map_err(|e| ScriptError::Experiment {
            file: self.runtime.main_file.clone(),
            message: format!("the measurement record cannot be passed to the script: {e}"),
        })?;
        let record = &map;
        self.spec
            .objectives
            .iter()
            .zip(&self.objectives)
            .map(|(objective, function)| {
                let name = &objective.name;
                let declared = &objective.declared_at;
                let value = self.call(function, record.clone()).map_err(|e| {
                    if let EvalAltResult::ErrorFunctionNotFound(signature, _) = &*e {
                        if signature.starts_with(function.fn_name()) {
                            return ScriptError::Objective {
                                name: name.clone(),
                                location: declared.clone(),
                                message: "must be a function of one parameter, the measurement record \
                                          (e.g. |r| r.val_accuracy), but it takes a different number"
                                    .into(),
                                trace: Vec::new(),
                            };
                        }
                    }
                    let missing_field = matches!(innermost(&e), EvalAltResult::ErrorPropertyNotFound(..));
                    let mut error = self.convert(*e, declared);
                    if let (true, ScriptError::Runtime { message, .. }) = (missing_field, &mut error) {
                        if let Some(map) = record.read_lock::<rhai::Map>() {
                            let fields: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
                            message.push_str(&format!("; a measurement record has: {}", fields.join(", ")));
                        }
                    }
                    error.with_context(format!("in objective {name:?} declared at {declared}"))
                })?;
                let problem = match number(&value) {
                    Some(v) if v.is_finite() => return Ok(v),
                    Some(v) => format!("returned {v}; an objective must be a finite number"),
                    None if value.is_unit() => {
                        "returned () (nothing): is a record field it reads undefined (e.g. val_accuracy of a failed evaluation)?"
                            .to_string()
                    }
                    None => format!("returned {} {value:?}, not a number", value.type_name()),
                };
                Err(ScriptError::Objective { name: name.clone(), location: declared.clone(), message: problem, trace: Vec::new() })
            })
            .collect()
    }

    /// The genome to train instead of `genome`, or `None` to reject it: the script's repair if it
    /// has one, then the rule that invalid cells (output unreachable) are never trained.
    pub fn repair(&self, genome: Genome) -> Result<Option<Genome>, ScriptError> {
        let candidate = match (&self.repair, &self.spec.repair) {
            (Some(function), Some(declared)) => {
                let out = self.call(function, Dynamic::from(genome)).map_err(|e| {
                    self.convert(*e, declared).with_context(format!("in the repair function declared at {declared}"))
                })?;
                if out.is_unit() {
                    return Ok(None);
                }
                let type_name = out.type_name();
                out.try_cast::<Genome>().ok_or_else(|| ScriptError::Runtime {
                    location: declared.clone(),
                    message: format!(
                        "the repair function returned {type_name} for {genome}; it must return a Genome or () to reject it"
                    ),
                    trace: Vec::new(),
                })?
            }
            _ => genome,
        };
        if let Err((edge, op)) = self.spec.space.encode(&candidate) {
            let location = self.spec.repair.clone().unwrap_or_else(|| Location {
                file: self.runtime.main_file.clone(),
                line: 1,
                column: 1,
            });
            return Err(ScriptError::Runtime {
                location,
                message: format!(
                    "the repair function returned {}, with {op} on edge {edge}, which space.ops does not allow there",
                    candidate.compact()
                ),
                trace: Vec::new(),
            });
        }
        Ok(candidate.is_valid().then_some(candidate))
    }

    /// Calls the `on_generation` callback (if any) with a generation's statistics.
    pub fn on_generation(&self, stats: &GenerationStats) -> Result<CallbackOutcome, ScriptError> {
        let (Some(function), Some(declared)) = (&self.on_generation, &self.spec.on_generation) else {
            return Ok(CallbackOutcome::Continue);
        };
        let value = rhai::serde::to_dynamic(stats).expect("generation statistics convert to a map");
        let out = self.call(function, value).map_err(|e| {
            self.convert(*e, declared).with_context(format!("in the on_generation callback declared at {declared}"))
        })?;
        let stop = out.clone().into_string().is_ok_and(|s| s.eq_ignore_ascii_case("stop"));
        Ok(if stop { CallbackOutcome::Stop } else { CallbackOutcome::Continue })
    }

    /// Whether the script set an early-stopping rule (`exp.stop_early`).
    pub fn has_stop_rule(&self) -> bool {
        self.stop_early.is_some()
    }

    /// Calls the early-stopping rule (if any) after an epoch: `true` stops the candidate's
    /// training. A rule that fails, or returns anything but a boolean, is an error naming where
    /// it was declared.
    pub fn stop_early(&self, partial: &PartialEvaluation) -> Result<bool, ScriptError> {
        let (Some(function), Some(declared)) = (&self.stop_early, &self.spec.stop_early) else {
            return Ok(false);
        };
        let value = rhai::serde::to_dynamic(partial).expect("a partial evaluation converts to a map");
        let out = self.call(function, value).map_err(|e| {
            self.convert(*e, declared).with_context(format!("in the early-stopping rule declared at {declared}"))
        })?;
        out.as_bool().map_err(|type_name| ScriptError::Runtime {
            location: declared.clone(),
            message: format!(
                "the early-stopping rule returned {type_name} {out:?} for {} after epoch {} of {}; it must return \
                 true (stop the training) or false (go on)",
                partial.candidate.genome, partial.epoch, partial.epochs
            ),
            trace: Vec::new(),
        })
    }

    /// Hypervolume of objective vectors (in the objectives' own directions) with respect to the
    /// experiment's reference point. Points no better than the reference add nothing.
    pub fn hypervolume(&self, points: &[Vec<f64>]) -> Result<f64, xnas_hv::HvError> {
        let directions = self.directions();
        let minimised: Vec<Vec<f64>> = points.iter().map(|p| xnas_moo::to_minimisation(p, &directions)).collect();
        let reference = xnas_moo::to_minimisation(&self.spec.reference_point, &directions);
        xnas_hv::hypervolume(&minimised, &reference)
    }

    /// A [`Repair`] for `Nsga2::ask_with` and `RandomSearch::ask_with` that decodes the search's
    /// vector, applies [`Experiment::repair`] and encodes the result. The first script error is
    /// kept in [`ScriptRepair::error`] (that candidate is rejected); check it after the ask.
    pub fn search_repair(&self) -> ScriptRepair<'_> {
        ScriptRepair { experiment: self, error: None, accepted: 0, rejected: 0 }
    }

    /// A human summary: dataset, space, training, search, objectives, reference point.
    pub fn summary(&self) -> String {
        let s = &self.spec;
        let t = &s.training;
        let d = &s.dataset;
        let subset = |x: Option<usize>| x.map_or("all".to_string(), |n| n.to_string());
        let mut out = format!("experiment {:?} ({})\n", s.name, self.runtime.main_file);
        let split = match d.validation {
            xnas_datasets::ValidationSplit::HeldOut => {
                "of the held-out split, which is also the test split".to_string()
            }
            xnas_datasets::ValidationSplit::TrainCount(n) => format!("of {n} split off training"),
            xnas_datasets::ValidationSplit::TrainFraction(f) => format!("of {f} of training"),
        };
        let noise = if d.label_noise > 0.0 {
            format!(", {} of training labels corrupted", d.label_noise)
        } else {
            String::new()
        };
        out += &format!(
            "  dataset    {} (train {}, validation {} {split}, test {}){noise}{}{}\n",
            d.name,
            subset(d.train_subset),
            subset(d.val_subset),
            subset(d.test_subset),
            d.data_dir.as_ref().map_or(String::new(), |p| format!(", data in {}", p.display())),
            if d.synsets.is_empty() { String::new() } else { format!(", {} synset override(s)", d.synsets.len()) }
        );
        let ops: Vec<String> = s.space.ops.iter().map(|edge| edge.len().to_string()).collect();
        out += &format!(
            "  space      C={} N={}, ops per edge {} ({} genomes)\n",
            s.space.channels,
            s.space.cells,
            ops.join("/"),
            s.space.ops.iter().map(Vec::len).product::<usize>()
        );
        out += &format!(
            "  training   {} epochs, batch {}, lr {}{}, momentum {}, wd {}, warmup {} epochs, augment {}, regularizer {}{}, seed {}, device {}\n",
            t.epochs,
            t.batch_size,
            t.lr,
            if t.nesterov { " (Nesterov)" } else { "" },
            t.momentum,
            t.weight_decay,
            t.warmup_epochs,
            t.augment,
            t.regularizer,
            if t.omega.is_some() { " with ω" } else { "" },
            t.seed,
            t.device
        );
        let q = &s.search;
        let budget = match s.budget() {
            Budget::Generations(g) => format!("{g} generations"),
            Budget::Evaluations(e) => format!("{e} evaluations"),
        };
        let algorithm = match q.algorithm {
            Algorithm::Nsga2 if !q.reference_points.is_empty() => {
                format!("R-NSGA-II ({} reference point(s), ε {})", q.reference_points.len(), q.epsilon)
            }
            Algorithm::Nsga2 => "NSGA-II".to_string(),
            Algorithm::Ga => format!("single-objective GA on {:?}", s.objectives[s.ga_objective().unwrap_or(0)].name),
            Algorithm::Random => "random search".to_string(),
            Algorithm::Fixed => {
                let front = q.front_of.as_ref().map(|dir| format!(" and the front of {}", dir.display()));
                format!("a fixed list of {} genome(s){}, trained once", q.genomes.len(), front.unwrap_or_default())
            }
            Algorithm::Exhaustive => format!(
                "exhaustive: every distinct cell of the space ({}), trained once in a seeded random order",
                s.space.distinct_cells().len()
            ),
        };
        out += &format!(
            "  search     {algorithm}, population {}, {budget}, SBX p={} η={}, PM p={} η={}, seed {}\n",
            q.population,
            q.crossover_probability,
            q.crossover_eta,
            q.mutation_probability.map_or("1/6".to_string(), |p| format!("{p:.4}")),
            q.mutation_eta,
            q.seed
        );
        let objectives: Vec<String> =
            s.objectives.iter().map(|o| format!("{} ({})", o.name, direction_word(o.direction))).collect();
        out += &format!("  objectives {}\n", objectives.join(", "));
        out += &format!("  reference  {:?} (hypervolume)\n", s.reference_point);
        out += &format!(
            "  repair     {}\n  callback   {}",
            s.repair.as_ref().map_or("reject invalid cells".to_string(), |at| format!("script function at {at}")),
            s.on_generation.as_ref().map_or("none".to_string(), |at| format!("script function at {at}"))
        );
        if let Some(at) = &s.stop_early {
            out += &format!(
                "\n  stopping   script rule at {at}, after each epoch on {} validation image(s)",
                t.epoch_validation.map_or("?".to_string(), |n| n.to_string())
            );
        }
        out
    }
}

/// SHA-256 (hex) of a training configuration's JSON with the [`SettingKind::Execution`]
/// settings left out, and the precision when it is `auto`, so that configurations written before
/// those settings existed keep their hash.
pub fn training_hash(config: &EvalConfig) -> String {
    let mut value = serde_json::to_value(config).expect("an EvalConfig serialises");
    if let Some(object) = value.as_object_mut() {
        object.retain(|key, _| setting_kind(&format!("training.{key}")) != SettingKind::Execution);
        if config.precision == crate::record::Precision::Auto {
            object.remove("precision");
        }
    }
    // serde_json's maps are ordered by key, so equal configs give equal text.
    hex(&Sha256::digest(value.to_string().as_bytes()))
}

/// See [`Experiment::search_repair`].
pub struct ScriptRepair<'a> {
    experiment: &'a Experiment,
    /// The first error the script's repair raised, if any.
    pub error: Option<ScriptError>,
    /// Genomes the repair let through (as they were or repaired) and genomes it rejected.
    pub accepted: usize,
    pub rejected: usize,
}

impl ScriptRepair<'_> {
    /// Why an ask through this repair found no new candidate: the repair rejected every genome
    /// it was shown, or every genome the repair allows has been proposed already.
    pub fn why_no_candidates(&self) -> String {
        if self.accepted == 0 && self.rejected > 0 {
            format!(
                "the script's repair rejected {} genomes in a row, so the search has nothing to train; \
                 make the repair return a genome (the one given, or a fixed one) for at least some cells",
                self.rejected
            )
        } else {
            "the search space is exhausted: every genome has been proposed".to_string()
        }
    }
}

impl Repair for ScriptRepair<'_> {
    fn repair(&mut self, x: &[f64]) -> Option<Vec<f64>> {
        let space = &self.experiment.spec.space;
        let genome = space.decode(x).ok()?;
        let repaired = match self.experiment.repair(genome) {
            Ok(Some(repaired)) => space.encode(&repaired).ok(),
            Ok(None) => None,
            Err(error) => {
                self.error.get_or_insert(error);
                None
            }
        };
        match repaired {
            Some(_) => self.accepted += 1,
            None => self.rejected += 1,
        }
        repaired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::spec::DEFAULT_EPOCH_VALIDATION;

    fn compile_text(tag: &str, text: &str) -> Result<Experiment, ScriptError> {
        let dir = std::env::temp_dir().join(format!("xnas-experiment-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("exp.rhai");
        std::fs::write(&path, text).unwrap();
        let compiled = compile_file(&path);
        std::fs::remove_dir_all(&dir).ok();
        compiled
    }

    const HEAD: &str = r#"let exp = experiment("t");
exp.dataset(#{ name: "fashion-mnist", train_subset: 100, val_subset: 400 });
exp.search(#{ population: 4, generations: 2 });
exp.objective("accuracy", "max", |r| r.val_accuracy);
exp.objective("introspectability", "max", |r| r.introspectability);
"#;

    fn partial(epoch: usize, accuracy: f64) -> PartialEvaluation {
        PartialEvaluation {
            epoch,
            epochs: 3,
            candidate: PartialCandidate {
                genome: "002404".into(),
                arch: "a".into(),
                val_accuracy: accuracy,
                introspectability: None,
                images: 400,
            },
            front: vec![FrontPoint { genome: "444444".into(), val_accuracy: 0.8, introspectability: Some(0.5) }],
        }
    }

    #[test]
    fn the_stop_rule_sees_the_partial_and_must_answer_with_a_boolean() {
        let rule = r#"exp.stop_early(|p| if p.epoch < 3 { p.candidate.val_accuracy + 0.1 < p.front[0].val_accuracy && p.candidate.introspectability == () && p.candidate.images == 400 } else { "maybe" });
"#;
        let experiment = compile_text("rule", &format!("{HEAD}{rule}")).unwrap();
        assert!(experiment.has_stop_rule());
        assert!(experiment.stop_early(&partial(1, 0.5)).unwrap());
        assert!(!experiment.stop_early(&partial(2, 0.75)).unwrap());
        let error = experiment.stop_early(&partial(3, 0.5)).unwrap_err().to_string();
        assert!(error.contains("exp.rhai:6:5") && error.contains("must return true"), "{error}");
        assert!(error.contains("string") && error.contains("epoch 3 of 3"), "{error}");

        let failing = compile_text(
            "failing",
            &format!(
                "{HEAD}exp.stop_early(|p| p.nothing.here);
"
            ),
        )
        .unwrap();
        let error = failing.stop_early(&partial(1, 0.5)).unwrap_err().to_string();
        assert!(error.contains("early-stopping rule declared at") && error.contains(":6:5"), "{error}");

        let none = compile_text("none", HEAD).unwrap();
        assert!(!none.has_stop_rule() && !none.stop_early(&partial(1, 0.0)).unwrap());
        let two = compile_text(
            "arity",
            &format!(
                "{HEAD}exp.stop_early(|a, b| true);
"
            ),
        )
        .unwrap_err()
        .to_string();
        assert!(two.contains("the early-stopping rule must take exactly one parameter"), "{two}");
    }

    #[test]
    fn a_stop_rule_measures_every_epoch_on_a_default_or_given_subset() {
        let rule = "exp.stop_early(|p| false);
";
        let none = compile_text("plain", HEAD).unwrap();
        assert_eq!(none.eval_config().epoch_validation, None, "no rule, no per-epoch measurement");
        // At most 1000 images, and no more than the validation subset holds.
        let defaulted = compile_text("default", &format!("{HEAD}{rule}")).unwrap();
        assert_eq!(defaulted.eval_config().epoch_validation, Some(400));
        let big =
            compile_text("big", &format!("{}{rule}", HEAD.replace("val_subset: 400", "val_subset: 4000"))).unwrap();
        assert_eq!(big.eval_config().epoch_validation, Some(DEFAULT_EPOCH_VALIDATION));
        let given = compile_text(
            "given",
            &format!(
                "{HEAD}{rule}exp.training(#{{ epoch_validation: 250 }});
"
            ),
        )
        .unwrap();
        assert_eq!(given.eval_config().epoch_validation, Some(250));
        assert!(given.summary().contains("after each epoch on 250 validation image(s)"), "{}", given.summary());

        let mut set = compile_text("set", HEAD).unwrap();
        set.apply_overrides(&[("training.epoch_validation".into(), "500".into())]).unwrap();
        assert_eq!(set.eval_config().epoch_validation, Some(500));
        assert_ne!(set.training_hash(), none.training_hash(), "per-epoch measurement changes the record");
        set.apply_overrides(&[("training.epoch_validation".into(), "null".into())]).unwrap();
        assert_eq!(set.training_hash(), none.training_hash(), "unset again, the configuration is the old one");
    }

    /// Runs stored by an earlier xnas open and resume unchanged. `tests/fixtures/settings` was
    /// written by the xnas of commit fe62b48, before the settings were reshaped: its script must
    /// compile to the same spec, job configuration and training hash, and the stored forms (also
    /// a configuration from before the validation split and the CUDA settings) must read back,
    /// serialise byte for byte as they were stored, and keep their training hashes.
    #[test]
    fn stored_settings_from_before_read_back_byte_identically_with_their_training_hashes() {
        let dir = std::path::Path::new("tests/fixtures/settings");
        let stored = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap().trim_end().to_string();
        let experiment = compile_file(&dir.join("exp.rhai")).unwrap();
        assert_eq!(serde_json::to_value(experiment.spec()).unwrap().to_string(), stored("spec.json"));
        assert_eq!(serde_json::to_string(experiment.eval_config()).unwrap(), stored("job_config.json"));
        assert_eq!(experiment.training_hash(), stored("training_hash.txt"));

        let spec: ExperimentSpec = serde_json::from_str(&stored("spec.json")).unwrap();
        assert_eq!(serde_json::to_value(&spec).unwrap().to_string(), stored("spec.json"));
        let job: EvalConfig = serde_json::from_str(&stored("job_config.json")).unwrap();
        assert_eq!(serde_json::to_string(&job).unwrap(), stored("job_config.json"));
        assert_eq!(training_hash(&job), stored("training_hash.txt"));
        let old: EvalConfig = serde_json::from_str(&stored("old_config.json")).unwrap();
        assert_eq!(serde_json::to_string(&old).unwrap(), stored("old_config_reserialised.json"));
        assert_eq!(training_hash(&old), stored("old_training_hash.txt"));
        assert_eq!(serde_json::to_string(&EvalConfig::default()).unwrap(), stored("default_config.json"));
    }

    #[test]
    fn experiments_cross_threads() {
        // The run loop may score on one thread and watch on another.
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Experiment>();
    }

    /// Runs stored before the CUDA settings existed keep their training hashes (so `--from` and
    /// resume still find their records): the hash as it was computed then, from the config's
    /// JSON without the device, equals today's for any config that leaves the settings at auto.
    #[test]
    fn the_cuda_settings_at_auto_leave_the_training_hash_as_it_was() {
        use crate::record::{Precision, Switch};
        let hash_before_the_settings = |config: &EvalConfig| {
            let mut value = serde_json::to_value(config).unwrap();
            for key in ["device", "precision", "channels_last", "cudnn_benchmark"] {
                value.as_object_mut().unwrap().remove(key);
            }
            hex(&Sha256::digest(value.to_string().as_bytes()))
        };
        let config = EvalConfig { epochs: 3, seed: 9, ..EvalConfig::default() };
        assert_eq!(training_hash(&config), hash_before_the_settings(&config));
        let execution_only = EvalConfig { channels_last: Switch::Off, cudnn_benchmark: Switch::On, ..config.clone() };
        assert_eq!(training_hash(&execution_only), training_hash(&config));
        let bf16 = EvalConfig { precision: Precision::Bf16, ..config.clone() };
        assert_ne!(training_hash(&bf16), training_hash(&config));
    }
}
