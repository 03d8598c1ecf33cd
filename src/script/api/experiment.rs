//! The `Experiment` value scripts build: `experiment("name")` and its methods `dataset`, `space`,
//! `training`, `search`, `objective`, `reference_point`, `repair`, `on_generation` and `stop_early`.
//!
//! Each method checks its arguments at once, so a bad setting is reported at the line that
//! gives it. The value is a shared handle to a draft ([`ExperimentHandle`]); the compiler
//! collects the drafts of all `experiment(…)` calls when the script has run.

use std::sync::{Arc, Mutex};

use rhai::plugin::*;
use rhai::{Array, Dynamic, Engine, FnPtr, FuncRegistration, Map, NativeCallContext};
use serde_json::Value;

use super::{doc, numbers};
use crate::script::error::{runtime_error, Location, RhaiResult};
use crate::script::session::{Draft, DraftObjective, ExperimentHandle, Session};
use crate::script::spec::{parse_direction, ExperimentSpec, ObjectiveSpec, Section};

/// Where the current native call was made from.
fn call_location(ctx: &NativeCallContext) -> Location {
    let file = ctx.call_source().unwrap_or("<script>");
    Location::from_position(file, ctx.call_position()).unwrap_or(Location {
        file: file.to_string(),
        line: 1,
        column: 1,
    })
}

/// A script map as JSON, or an error naming what cannot be a setting (a closure, a genome…).
fn map_to_json(ctx: &NativeCallContext, what: &str, map: Map) -> RhaiResult<serde_json::Map<String, Value>> {
    match rhai::serde::from_dynamic::<Value>(&Dynamic::from_map(map)) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => unreachable!("a map deserialises to an object"),
        Err(e) => Err(runtime_error(
            format!("{what}: settings must be numbers, strings, booleans, lists or maps ({e})"),
            ctx.call_position(),
        )),
    }
}

/// How many parameters a closure or function pointer takes beyond its captured values, when the
/// function is visible from here (closures made inside imported modules are checked when called).
fn arity(ctx: &NativeCallContext, function: &FnPtr) -> Option<usize> {
    let curried = function.curry().len();
    (0..=16usize).find_map(|total| {
        ctx.iter_namespaces()
            .any(|module| module.get_script_fn(function.fn_name(), total).is_some())
            .then(|| total.saturating_sub(curried))
    })
}

fn check_arity(ctx: &NativeCallContext, function: &FnPtr, what: &str, example: &str) -> RhaiResult<()> {
    match arity(ctx, function) {
        Some(n) if n != 1 => Err(runtime_error(
            format!("{what} must take exactly one parameter, but this one takes {n}; e.g. {example}"),
            ctx.call_position(),
        )),
        _ => Ok(()),
    }
}

fn declare(ctx: NativeCallContext, session: &Session, name: &str) -> RhaiResult<ExperimentHandle> {
    if name.trim().is_empty() {
        return Err(runtime_error("an experiment needs a name, e.g. experiment(\"quickstart\")", ctx.call_position()));
    }
    let handle = ExperimentHandle(Arc::new(Mutex::new(Draft {
        declared_at: call_location(&ctx),
        spec: ExperimentSpec::new(name),
        dataset_at: None,
        search_at: None,
        objectives: Vec::new(),
        reference_point_at: None,
        repair: None,
        on_generation: None,
        stop_early: None,
    })));
    session.declared.lock().unwrap_or_else(|e| e.into_inner()).push(handle.clone());
    Ok(handle)
}

/// Merges `map` into one section of the draft.
fn set_section(
    ctx: &NativeCallContext,
    exp: &ExperimentHandle,
    section: Section,
    map: Map,
) -> RhaiResult<ExperimentHandle> {
    let given = map_to_json(ctx, &format!("exp.{section}(…)"), map)?;
    let at = call_location(ctx);
    exp.edit(|draft| {
        if section == Section::Dataset && draft.dataset_at.is_none() && !given.contains_key("name") {
            return Err(runtime_error(
                "exp.dataset(…) needs the dataset's name, e.g. #{ name: \"fashion-mnist\" } \
                 (fashion-mnist, mnist, cifar10 or imagenet16-120)",
                ctx.call_position(),
            ));
        }
        match section {
            Section::Dataset => draft.dataset_at = Some(at),
            Section::Search => draft.search_at = Some(at),
            Section::Space | Section::Training => {}
        }
        section.merge(&mut draft.spec, &given).map_err(|e| runtime_error(e.to_string(), ctx.call_position()))
    })?;
    Ok(exp.clone())
}

/// Sets the repair or the callback: a function of one value, declared here.
fn set_hook(
    ctx: &NativeCallContext,
    exp: &ExperimentHandle,
    function: FnPtr,
    what: &str,
    example: &str,
    store: fn(&mut Draft, FnPtr, Location),
) -> RhaiResult<ExperimentHandle> {
    check_arity(ctx, &function, what, example)?;
    let at = call_location(ctx);
    exp.edit(|draft| store(draft, function, at));
    Ok(exp.clone())
}

#[export_module]
mod methods {
    use super::*;

    /// The experiment a script declares.
    pub type Experiment = ExperimentHandle;

    #[rhai_fn(pure)]
    pub fn to_string(exp: &mut Experiment) -> String {
        exp.edit(|d| format!("experiment({:?})", d.spec.name))
    }

    #[rhai_fn(pure)]
    pub fn to_debug(exp: &mut Experiment) -> String {
        to_string(exp)
    }

    /// Sets dataset settings: `name` (fashion-mnist, mnist, cifar10, imagenet16-120; required), `data_dir`,
    /// `wnids_file` (ImageNet16-120's class list), `train_subset`, `val_subset`, `test_subset` (image counts),
    /// `validation` (where the search's validation images come from: a count, default 5000, or a fraction of
    /// the training split, seeded and class-stratified, or `"held-out"` = the official test split, as the
    /// authors' code did), `label_noise` (fraction of training labels corrupted on purpose, seeded, for
    /// mislabel detection), `synsets` (label → WordNet synset overrides, e.g. `#{ "Bag": "bag.n.04" }`) and
    /// `wordnet_dir`. The test split is never seen by the search: the trust measurements use it.
    ///
    /// ```rhai
    /// exp.dataset(#{ name: "fashion-mnist", train_subset: 2000, val_subset: 500, test_subset: 1000 });
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn dataset(ctx: NativeCallContext, exp: &mut Experiment, settings: Map) -> RhaiResult<Experiment> {
        set_section(&ctx, exp, Section::Dataset, settings)
    }

    /// Sets the search space: `channels` (C, default 16), `cells` (N per stage, default 5) and `ops`:
    /// the operations allowed on every edge (one list) or on each of the six edges (six lists), by
    /// NAS-Bench-201 name (`nor_conv_3x3`, `nor_conv_1x1`, `avg_pool_3x3`, `none`, `skip_connect`) or code 0–4.
    ///
    /// ```rhai
    /// exp.space(#{ channels: 8, cells: 1, ops: ["nor_conv_3x3", "skip_connect", "none"] });
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn space(ctx: NativeCallContext, exp: &mut Experiment, settings: Map) -> RhaiResult<Experiment> {
        set_section(&ctx, exp, Section::Space, settings)
    }

    /// Sets how every candidate is trained and measured (the fields of xnas's `EvalConfig`): `epochs`,
    /// `batch_size`, `lr`, `momentum`, `weight_decay`, `nesterov`, `warmup_epochs`, `augment`, `device`, `seed`,
    /// `taps`, `grouping`, `introspect_max_samples`, `regularizer` (weight of the introspectability loss, 0 = off),
    /// `omega` (pair weights for it), `trust` (default true: measure calibration, misprediction and mislabel
    /// curves and class means from training data; false keeps only training and test accuracy),
    /// `trust_mean_images` (which training images feed those class means: `"all"`, the default, the first
    /// `introspect_max_samples`, or a number: a seeded, class-stratified subset of that many, cheaper; training
    /// accuracy reads every image either way), and three CUDA settings that a CPU ignores: `precision` (`"auto"`, `"fp32"` or `"bf16"`: mixed
    /// precision, bf16 compute with f32 weights; `"auto"` is fp32 until `scripts/gpu-check.sh` has
    /// measured bf16's accuracy), `channels_last` and `cudnn_benchmark` (`"auto"` = on for CUDA, `true`,
    /// `false`; the record's `compute` says what a training used), and `epoch_validation` (measure accuracy
    /// and introspectability after every epoch on the first this many validation images, kept in the
    /// record's `epochs`: what `exp.stop_early` decides on).
    /// Unknown keys are an error that lists the valid ones.
    ///
    /// ```rhai
    /// exp.training(presets::training("cifar10") + #{ epochs: 2 });
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn training(ctx: NativeCallContext, exp: &mut Experiment, settings: Map) -> RhaiResult<Experiment> {
        set_section(&ctx, exp, Section::Training, settings)
    }

    /// Sets the search: `algorithm` (`nsga2`, `ga` = single-objective GA, `random`), `population`, `offspring`,
    /// `generations` (initial population included) or `evaluations`, and `max_seconds` (also stop breeding
    /// after this many seconds of wall clock; what is in flight finishes), `seed`, `crossover_probability`,
    /// `crossover_per_variable`, `crossover_eta`, `mutation_probability` (default 1/6), `mutation_eta`,
    /// `max_mating_attempts`, R-NSGA-II `reference_points` (a list of points), `epsilon`,
    /// `reference_weights`, for `ga` the `objective` to optimise (default: the first), and `keep_models`:
    /// which trained models the run keeps for `xnas export` (`front` by default, `all`, `none`), and `optuna`:
    /// an Optuna journal file the run appends every evaluation to as it goes, for `optuna-dashboard FILE`
    /// (relative to where xnas runs; `xnas run --optuna FILE` overrides it). `fixed`
    /// trains a given list once (one generation): `genomes` (arch strings or op codes) and/or `front_of`, a
    /// run folder whose final front in its report axes is trained again — with `training.regularizer` set,
    /// the paper's ✓+reg (what `xnas refine` runs). `exhaustive` trains every distinct cell of the space once
    /// (one per canonical form: 6,461 valid ones for the full space, fewer under `space.ops`), in an order
    /// shuffled by `seed` so that a run stopped early holds a uniform sample, in one generation; its budget is
    /// the space, so it refuses `population`, `generations`, `evaluations` and the other algorithms' settings.
    /// Its run folder is a table that `xnas run SCRIPT --table RUN` replays searches from. `table` (a
    /// run folder or a table file, relative to where xnas runs; `--table` overrides it) answers every
    /// evaluation from that table instead of training, and `table_miss` says what a cell the table
    /// lacks does: `"error"` (the default: the run stops, naming it) or `"train"` (it is trained).
    ///
    /// ```rhai
    /// exp.search(#{ algorithm: "nsga2", population: 8, generations: 3, seed: 1 });
    /// exp.search(#{ algorithm: "fixed", front_of: "runs/quickstart" });
    /// exp.search(#{ algorithm: "exhaustive", seed: 1 });
    /// exp.search(#{ algorithm: "nsga2", population: 8, generations: 3, table: "tables/fashion-mnist.jsonl.gz" });
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn search(ctx: NativeCallContext, exp: &mut Experiment, settings: Map) -> RhaiResult<Experiment> {
        set_section(&ctx, exp, Section::Search, settings)
    }

    /// Adds an objective: a name, `"max"` or `"min"`, and a function of the measurement record
    /// (fields: `val_accuracy`, `val_loss`, `confusion`, `class_distance`, `introspectability`, `params`,
    /// `flops`, `class_names`, `config`, … — see `xnas::record::MeasurementRecord`). It must return a finite
    /// number; anything else fails that candidate's scoring with an error naming the objective.
    ///
    /// ```rhai
    /// exp.objective("accuracy", "max", |r| r.val_accuracy);
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn objective(
        ctx: NativeCallContext,
        exp: &mut Experiment,
        name: &str,
        direction: &str,
        function: FnPtr,
    ) -> RhaiResult<Experiment> {
        let direction = parse_direction(direction)
            .map_err(|e| runtime_error(format!("objective {name:?}: {e}"), ctx.call_position()))?;
        let example = "|r| r.val_accuracy (r is the measurement record)";
        check_arity(&ctx, &function, &format!("objective {name:?}"), example)?;
        let declared_at = call_location(&ctx);
        exp.edit(|draft| {
            if draft.objectives.iter().any(|o| o.spec.name == name) {
                return Err(runtime_error(format!("objective {name:?} is declared twice"), ctx.call_position()));
            }
            let spec = ObjectiveSpec { name: name.to_string(), direction, declared_at };
            draft.objectives.push(DraftObjective { spec, function });
            Ok(())
        })?;
        Ok(exp.clone())
    }

    /// Sets the hypervolume reference point, one value per objective in its own direction. Default:
    /// chance accuracy 1/N_C for a maximised objective whose name mentions accuracy, 0 for other
    /// maximised ones (the paper's (0, 1/N_C)); minimised objectives need an explicit point.
    ///
    /// ```rhai
    /// exp.reference_point([0.1, 0.0]);
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn reference_point(ctx: NativeCallContext, exp: &mut Experiment, point: Array) -> RhaiResult<Experiment> {
        let values =
            numbers(&point).map_err(|e| runtime_error(format!("reference_point: {e}"), ctx.call_position()))?;
        let at = call_location(&ctx);
        exp.edit(|draft| {
            draft.spec.reference_point = values;
            draft.reference_point_at = Some(at);
        });
        Ok(exp.clone())
    }

    /// Sets the report's two axes (y, then x in the figures): objective names or record fields
    /// (`val_accuracy`, `introspectability`, `wordnet_introspectability`), each maximised. Table 1's
    /// hypervolume, the hypervolume per generation, the front figure and the analyses use them, from the
    /// objective's reference value (record fields: 1/N_C for `val_accuracy`, 0 for the others). Default:
    /// `["val_accuracy", "introspectability"]`, the paper's plane. `--set report_axes='["accuracy","wordnet"]'`.
    ///
    /// ```rhai
    /// exp.report_axes(["accuracy", "wordnet"]);
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn report_axes(ctx: NativeCallContext, exp: &mut Experiment, axes: Array) -> RhaiResult<Experiment> {
        let names: Vec<String> = axes.iter().map(|a| a.clone().into_string().unwrap_or_default()).collect();
        if names.len() != 2 || names.iter().any(String::is_empty) {
            return Err(runtime_error(
                format!("report_axes takes two names (objectives or record fields), got {axes:?}"),
                ctx.call_position(),
            ));
        }
        exp.edit(|draft| draft.spec.report_axes = names);
        Ok(exp.clone())
    }

    /// Sets the repair: a function of a proposed `Genome` returning the genome to train instead, or `()`
    /// to reject it (the search then mates again). It must be deterministic so a resumed run repeats it.
    /// Without one, invalid genomes (output not connected to input) are rejected; after one, a genome that
    /// is still invalid is rejected too.
    ///
    /// ```rhai
    /// exp.repair(repairs::resample_zeroize());
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn repair(ctx: NativeCallContext, exp: &mut Experiment, function: FnPtr) -> RhaiResult<Experiment> {
        let example = "|g| if g.is_valid() { g } else { () }";
        set_hook(&ctx, exp, function, "the repair function", example, |draft, function, at| {
            draft.repair = Some(function);
            draft.spec.repair = Some(at);
        })
    }

    /// Sets a function called after every generation with its statistics: `generation`, `evaluations`,
    /// `failed`, `hypervolume`, `objectives` (names), `population` and `front` (lists of `#{ id, genome,
    /// compact, objectives, rank }`), `elapsed_seconds`. Returning `"stop"` ends the search after this generation.
    ///
    /// ```rhai
    /// exp.on_generation(|s| print(`generation ${s.generation}: HV ${s.hypervolume}`));
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn on_generation(ctx: NativeCallContext, exp: &mut Experiment, function: FnPtr) -> RhaiResult<Experiment> {
        let example = "|stats| print(stats.generation)";
        set_hook(&ctx, exp, function, "the on_generation callback", example, |draft, function, at| {
            draft.on_generation = Some(function);
            draft.spec.on_generation = Some(at);
        })
    }

    /// Sets an early-stopping rule: a function called after every epoch of a candidate's training with
    /// `#{ epoch, epochs, candidate, front }` — the epoch just finished (1-based) and the epochs in all;
    /// `candidate`: `#{ genome, arch, val_accuracy, introspectability, images }`, its measurement after
    /// this epoch on the per-epoch validation subset (`introspectability` is `()` where undefined);
    /// `front`: the search's current non-dominated finished candidates (in the objectives' directions),
    /// each `#{ genome, val_accuracy, introspectability }` as measured after the same epoch (members
    /// without a measurement of that epoch are left out). Returning `true` stops the training: the
    /// candidate's record then has status `"stopped"` and this epoch's values, is scored by the objectives
    /// like any record (an objective may read `r.status == "stopped"` to score such records its own way),
    /// and is never trained again; `false` goes on. Anything but a boolean is an error;
    /// an error is reported once and the candidate goes on. Without `training.epoch_validation` the rule
    /// gets 1000 images (fewer if `dataset.val_subset` or the validation count is smaller). With `--watch`
    /// an edited rule applies from the next generation, as edited objectives do. The stdlib's rule:
    /// `early::dominated_by_front`.
    ///
    /// ```rhai
    /// import "xnas/early" as early;
    /// exp.stop_early(early::dominated_by_front(0.05, 1));
    /// exp.stop_early(|p| p.epoch >= 2 && p.candidate.val_accuracy < 0.2);
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn stop_early(ctx: NativeCallContext, exp: &mut Experiment, function: FnPtr) -> RhaiResult<Experiment> {
        let example = "|partial| partial.epoch >= 2 && partial.candidate.val_accuracy < 0.2";
        set_hook(&ctx, exp, function, "the early-stopping rule", example, |draft, function, at| {
            draft.stop_early = Some(function);
            draft.spec.stop_early = Some(at);
        })
    }
}

/// Registers `experiment` (which records the draft in the session) and the methods of `Experiment`.
pub(crate) fn register(engine: &mut Engine, session: &Arc<Session>) {
    engine.register_global_module(exported_module!(methods).into());
    let session = Arc::clone(session);
    FuncRegistration::new("experiment")
        .with_params_info(["name: &str", "Experiment"])
        .with_comments([doc(
            "Declares the experiment (one per script) and returns it; its methods below fill it in.\n\
             The run is stored under `runs/<name>/`.\n\
             \n\
             ```rhai\n\
             let exp = experiment(\"quickstart\");\n\
             ```",
        )])
        .register_into_engine(engine, move |ctx: NativeCallContext, name: &str| declare(ctx, &session, name));
}
