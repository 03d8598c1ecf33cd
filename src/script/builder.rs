//! The `Experiment` value scripts build: `experiment("name")` and its methods `dataset`, `space`,
//! `training`, `search`, `objective`, `reference_point`, `repair` and `on_generation`.
//!
//! Each method checks its arguments at once, so a bad setting is reported at the line that
//! gives it. The value is a shared handle: every copy of it (in a variable, passed to a function
//! of a module, returned from one) edits the same draft, and the compiler collects the drafts
//! of all `experiment(…)` calls when the script has run.

use std::sync::{Arc, Mutex};

use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, FuncRegistration, Map, NativeCallContext};
use serde_json::Value;

use super::api::doc;
use super::engine::Session;
use super::error::{runtime_error, Location};
use super::spec::{
    merge_section, parse_direction, section_keys, DatasetSpec, ExperimentSpec, ObjectiveSpec, SearchSpec, SpaceSpec,
    TRAINING_OWNED,
};
use crate::record::EvalConfig;

/// An objective as declared, before the experiment is finished.
#[derive(Clone)]
pub(crate) struct DraftObjective {
    pub spec: ObjectiveSpec,
    pub function: FnPtr,
}

/// An experiment being declared.
pub(crate) struct Draft {
    pub declared_at: Location,
    pub spec: ExperimentSpec,
    pub dataset_at: Option<Location>,
    pub search_at: Option<Location>,
    pub objectives: Vec<DraftObjective>,
    pub reference_point_at: Option<Location>,
    pub repair: Option<FnPtr>,
    pub on_generation: Option<FnPtr>,
}

/// The script-side `Experiment`: a shared handle to a draft.
#[derive(Clone)]
pub struct ExperimentHandle(pub(crate) Arc<Mutex<Draft>>);

impl ExperimentHandle {
    fn edit<T>(&self, f: impl FnOnce(&mut Draft) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// Where the current native call was made from.
pub(crate) fn call_location(ctx: &NativeCallContext) -> Location {
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

fn experiment(ctx: NativeCallContext, session: &Arc<Session>, name: &str) -> RhaiResult<ExperimentHandle> {
    if name.trim().is_empty() {
        return Err(runtime_error("an experiment needs a name, e.g. experiment(\"quickstart\")", ctx.call_position()));
    }
    let spec = ExperimentSpec {
        name: name.to_string(),
        dataset: DatasetSpec::default(),
        space: SpaceSpec::default(),
        training: EvalConfig::default(),
        search: SearchSpec::default(),
        objectives: Vec::new(),
        reference_point: Vec::new(),
        reference_point_is_default: false,
        repair: None,
        on_generation: None,
    };
    let handle = ExperimentHandle(Arc::new(Mutex::new(Draft {
        declared_at: call_location(&ctx),
        spec,
        dataset_at: None,
        search_at: None,
        objectives: Vec::new(),
        reference_point_at: None,
        repair: None,
        on_generation: None,
    })));
    session.declared.lock().unwrap_or_else(|e| e.into_inner()).push(handle.clone());
    Ok(handle)
}

/// Merges `map` into one section of the draft.
fn set_section(ctx: &NativeCallContext, exp: &ExperimentHandle, section: &'static str, map: Map) -> RhaiResult<()> {
    let given = map_to_json(ctx, &format!("exp.{section}(…)"), map)?;
    let at = call_location(ctx);
    exp.edit(|draft| {
        let spec = &mut draft.spec;
        let result = match section {
            "dataset" => {
                if draft.dataset_at.is_none() && !given.contains_key("name") {
                    return Err(runtime_error(
                        "exp.dataset(…) needs the dataset's name, e.g. #{ name: \"fashion-mnist\" } \
                         (fashion-mnist, mnist, cifar10 or imagenet16-120)",
                        ctx.call_position(),
                    ));
                }
                draft.dataset_at = Some(at);
                merge_into(&mut spec.dataset, &given, &[])
            }
            "space" => merge_into(&mut spec.space, &given, &[]),
            "training" => {
                let owned: Vec<&str> = TRAINING_OWNED.iter().map(|(k, _)| *k).collect();
                merge_into(&mut spec.training, &given, &owned)
            }
            "search" => {
                draft.search_at = Some(at);
                merge_into(&mut spec.search, &given, &[])
            }
            _ => unreachable!("sections are fixed"),
        };
        result.map_err(|e| runtime_error(e.message(section), ctx.call_position()))
    })
}

fn merge_into<T: serde::Serialize + serde::de::DeserializeOwned>(
    slot: &mut T,
    given: &serde_json::Map<String, Value>,
    excluded: &[&str],
) -> Result<(), super::spec::SectionError> {
    let current = serde_json::to_value(&*slot).expect("sections serialise");
    let valid = section_keys(&current, excluded);
    let (parsed, _) = merge_section::<T>(&current, given, &valid)?;
    *slot = parsed;
    Ok(())
}

fn objective(
    ctx: NativeCallContext,
    exp: &mut ExperimentHandle,
    name: &str,
    direction: &str,
    function: FnPtr,
) -> RhaiResult<ExperimentHandle> {
    let direction = parse_direction(direction)
        .map_err(|e| runtime_error(format!("objective {name:?}: {e}"), ctx.call_position()))?;
    check_arity(&ctx, &function, &format!("objective {name:?}"), "|r| r.val_accuracy (r is the measurement record)")?;
    let declared_at = call_location(&ctx);
    exp.edit(|draft| {
        if draft.objectives.iter().any(|o| o.spec.name == name) {
            return Err(runtime_error(format!("objective {name:?} is declared twice"), ctx.call_position()));
        }
        draft
            .objectives
            .push(DraftObjective { spec: ObjectiveSpec { name: name.to_string(), direction, declared_at }, function });
        Ok(())
    })?;
    Ok(exp.clone())
}

fn reference_point(
    ctx: NativeCallContext,
    exp: &mut ExperimentHandle,
    point: rhai::Array,
) -> RhaiResult<ExperimentHandle> {
    let values =
        super::api::numbers(&point).map_err(|e| runtime_error(format!("reference_point: {e}"), ctx.call_position()))?;
    let at = call_location(&ctx);
    exp.edit(|draft| {
        draft.spec.reference_point = values;
        draft.reference_point_at = Some(at);
    });
    Ok(exp.clone())
}

/// Registers `experiment` and the methods of `Experiment`.
pub(crate) fn register(engine: &mut Engine, session: &Arc<Session>) {
    engine.register_type_with_name::<ExperimentHandle>("Experiment");
    engine
        .register_fn("to_string", |exp: &mut ExperimentHandle| exp.edit(|d| format!("experiment({:?})", d.spec.name)));
    engine.register_fn("to_debug", |exp: &mut ExperimentHandle| exp.edit(|d| format!("experiment({:?})", d.spec.name)));

    let session = Arc::clone(session);
    FuncRegistration::new("experiment")
        .with_params_info(["name: &str", "Experiment"])
        .with_comments([doc(
            "Declares the experiment (one per script) and returns it; its methods below fill it in.\n\
             The run is stored under `runs/<name>/`.\n\n\
             ```rhai\nlet exp = experiment(\"quickstart\");\n```",
        )])
        .register_into_engine(engine, move |ctx: NativeCallContext, name: &str| experiment(ctx, &session, name));

    let sections: [(&str, &str); 4] = [
        (
            "dataset",
            "Sets dataset settings: `name` (fashion-mnist, mnist, cifar10, imagenet16-120; required), `data_dir`,\n\
             `wnids_file` (ImageNet16-120's class list), `train_subset`, `val_subset` (image counts),\n\
             `synsets` (label → WordNet synset overrides, e.g. `#{ \"Bag\": \"bag.n.04\" }`) and `wordnet_dir`.\n\n\
             ```rhai\nexp.dataset(#{ name: \"fashion-mnist\", train_subset: 2000, val_subset: 500 });\n```",
        ),
        (
            "space",
            "Sets the search space: `channels` (C, default 16), `cells` (N per stage, default 5) and `ops`:\n\
             the operations allowed on every edge (one list) or on each of the six edges (six lists), by\n\
             NAS-Bench-201 name (`nor_conv_3x3`, `nor_conv_1x1`, `avg_pool_3x3`, `none`, `skip_connect`) or code 0–4.\n\n\
             ```rhai\nexp.space(#{ channels: 8, cells: 1, ops: [\"nor_conv_3x3\", \"skip_connect\", \"none\"] });\n```",
        ),
        (
            "training",
            "Sets how every candidate is trained and measured (the fields of xnas's `EvalConfig`): `epochs`,\n\
             `batch_size`, `lr`, `momentum`, `weight_decay`, `nesterov`, `warmup_epochs`, `augment`, `device`, `seed`,\n\
             `taps`, `grouping`, `introspect_max_samples`, `regularizer` (weight of the introspectability loss, 0 = off),\n\
             `omega` (pair weights for it). Unknown keys are an error that lists the valid ones.\n\n\
             ```rhai\nexp.training(presets::training(\"cifar10\") + #{ epochs: 2 });\n```",
        ),
        (
            "search",
            "Sets the search: `algorithm` (`nsga2`, `ga` = single-objective GA, `random`), `population`, `offspring`,\n\
             `generations` (initial population included) or `evaluations`, `seed`, `crossover_probability`,\n\
             `crossover_per_variable`, `crossover_eta`, `mutation_probability` (default 1/6), `mutation_eta`,\n\
             `max_mating_attempts`, R-NSGA-II `reference_points` (a list of points), `epsilon`,\n\
             `reference_weights`, and for `ga` the `objective` to optimise (default: the first).\n\n\
             ```rhai\nexp.search(#{ algorithm: \"nsga2\", population: 8, generations: 3, seed: 1 });\n```",
        ),
    ];
    for (section, comment) in sections {
        FuncRegistration::new(section)
            .with_params_info(["exp: &mut Experiment", "settings: Map", "Experiment"])
            .with_comments([doc(comment)])
            .register_into_engine(engine, move |ctx: NativeCallContext, exp: &mut ExperimentHandle, settings: Map| {
                set_section(&ctx, exp, section, settings).map(|()| exp.clone())
            });
    }

    FuncRegistration::new("objective")
        .with_params_info(["exp: &mut Experiment", "name: &str", "direction: &str", "function: FnPtr", "Experiment"])
        .with_comments([doc(
            "Adds an objective: a name, `\"max\"` or `\"min\"`, and a function of the measurement record\n\
             (fields: `val_accuracy`, `val_loss`, `confusion`, `class_distance`, `introspectability`, `params`,\n\
             `flops`, `class_names`, `config`, … — see `xnas::record::MeasurementRecord`). It must return a finite\n\
             number; anything else fails that candidate's scoring with an error naming the objective.\n\n\
             ```rhai\nexp.objective(\"accuracy\", \"max\", |r| r.val_accuracy);\n```",
        )])
        .register_into_engine(engine, objective);

    FuncRegistration::new("reference_point")
        .with_params_info(["exp: &mut Experiment", "point: Array", "Experiment"])
        .with_comments([doc(
            "Sets the hypervolume reference point, one value per objective in its own direction. Default:\n\
             chance accuracy 1/N_C for a maximised objective whose name mentions accuracy, 0 for other\n\
             maximised ones (the paper's (0, 1/N_C)); minimised objectives need an explicit point.\n\n\
             ```rhai\nexp.reference_point([0.1, 0.0]);\n```",
        )])
        .register_into_engine(engine, reference_point);

    FuncRegistration::new("repair")
        .with_params_info(["exp: &mut Experiment", "function: FnPtr", "Experiment"])
        .with_comments([doc(
            "Sets the repair: a function of a proposed `Genome` returning the genome to train instead, or `()`\n\
             to reject it (the search then mates again). It must be deterministic so a resumed run repeats it.\n\
             Without one, invalid genomes (output not connected to input) are rejected; after one, a genome that\n\
             is still invalid is rejected too.\n\n\
             ```rhai\nexp.repair(repairs::resample_zeroize());\n```",
        )])
        .register_into_engine(engine, |ctx: NativeCallContext, exp: &mut ExperimentHandle, function: FnPtr| {
            check_arity(&ctx, &function, "the repair function", "|g| if g.is_valid() { g } else { () }")?;
            let at = call_location(&ctx);
            exp.edit(|d| {
                d.repair = Some(function);
                d.spec.repair = Some(at);
            });
            Ok::<_, Box<EvalAltResult>>(exp.clone())
        });

    FuncRegistration::new("on_generation")
        .with_params_info(["exp: &mut Experiment", "function: FnPtr", "Experiment"])
        .with_comments([doc(
            "Sets a function called after every generation with its statistics: `generation`, `evaluations`,\n\
             `failed`, `hypervolume`, `objectives` (names), `population` and `front` (lists of `#{ id, genome,\n\
             compact, objectives, rank }`), `elapsed_seconds`. Returning `\"stop\"` ends the search after this generation.\n\n\
             ```rhai\nexp.on_generation(|s| print(`generation ${s.generation}: HV ${s.hypervolume}`));\n```",
        )])
        .register_into_engine(engine, |ctx: NativeCallContext, exp: &mut ExperimentHandle, function: FnPtr| {
            check_arity(&ctx, &function, "the on_generation callback", "|stats| print(stats.generation)")?;
            let at = call_location(&ctx);
            exp.edit(|d| {
                d.on_generation = Some(function);
                d.spec.on_generation = Some(at);
            });
            Ok::<_, Box<EvalAltResult>>(exp.clone())
        });
}
