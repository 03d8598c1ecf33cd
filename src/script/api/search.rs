//! Multi-objective primitives for scripts: dominance, non-dominated sorting, crowding distance and
//! hypervolume, so a script can write its own indicator or callback without recompiling xnas.

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, EvalAltResult, FuncRegistration, NativeCallContext};
use xnas_moo::{Direction, Dominance};

use super::{directions, doc, float_array, int_array, numbers, points};
use crate::script::engine::Session;
use crate::script::error::runtime_error;

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

fn fail<T>(ctx: &NativeCallContext, function: &str, message: impl std::fmt::Display) -> RhaiResult<T> {
    Err(runtime_error(format!("{function}: {message}"), ctx.call_position()))
}

/// Points as minimisation vectors, checked against the directions' length.
fn minimised(
    ctx: &NativeCallContext,
    function: &str,
    values: &Array,
    dirs: Option<&Array>,
) -> RhaiResult<Vec<Vec<f64>>> {
    let rows = points(values).or_else(|e| fail(ctx, function, e))?;
    let Some(dirs) = dirs else { return Ok(rows) };
    let dirs = directions(dirs).or_else(|e| fail(ctx, function, e))?;
    if let Some(row) = rows.iter().find(|r| r.len() != dirs.len()) {
        return fail(
            ctx,
            function,
            format!("points have {} values but {} directions were given", row.len(), dirs.len()),
        );
    }
    Ok(rows.iter().map(|r| xnas_moo::to_minimisation(r, &dirs)).collect())
}

fn pair(ctx: &NativeCallContext, a: &Array, b: &Array, dirs: Option<&Array>) -> RhaiResult<(Vec<f64>, Vec<f64>)> {
    let both: Array = vec![Dynamic::from_array(a.clone()), Dynamic::from_array(b.clone())];
    let mut rows = minimised(ctx, "dominates", &both, dirs)?;
    let second = rows.pop().expect("two rows");
    Ok((rows.pop().expect("two rows"), second))
}

fn dominance_word(d: Dominance) -> &'static str {
    match d {
        Dominance::Dominates => "dominates",
        Dominance::DominatedBy => "dominated",
        Dominance::Equal => "equal",
        Dominance::Incomparable => "incomparable",
    }
}

fn fronts(ctx: &NativeCallContext, values: &Array, dirs: Option<&Array>) -> RhaiResult<Array> {
    let rows = minimised(ctx, "non_dominated_sort", values, dirs)?;
    let fronts = xnas_moo::non_dominated_sort(&rows).or_else(|e| fail(ctx, "non_dominated_sort", e))?;
    Ok(fronts.into_iter().map(|f| Dynamic::from_array(int_array(f))).collect())
}

fn ranks(ctx: &NativeCallContext, values: &Array, dirs: Option<&Array>) -> RhaiResult<Array> {
    let rows = minimised(ctx, "pareto_ranks", values, dirs)?;
    let ranks = xnas_moo::pareto_ranks(&rows).or_else(|e| fail(ctx, "pareto_ranks", e))?;
    Ok(int_array(ranks))
}

fn hypervolume(ctx: &NativeCallContext, values: &Array, reference: &Array, dirs: Option<&Array>) -> RhaiResult<f64> {
    let rows = minimised(ctx, "hypervolume", values, dirs)?;
    let mut reference = numbers(reference).or_else(|e| fail(ctx, "hypervolume: reference point", e))?;
    if let Some(dirs) = dirs {
        let dirs: Vec<Direction> = directions(dirs).or_else(|e| fail(ctx, "hypervolume", e))?;
        if dirs.len() != reference.len() {
            return fail(
                ctx,
                "hypervolume",
                format!("{} directions for a {}-value reference point", dirs.len(), reference.len()),
            );
        }
        reference = xnas_moo::to_minimisation(&reference, &dirs);
    }
    xnas_hv::hypervolume(&rows, &reference).or_else(|e| fail(ctx, "hypervolume", e))
}

fn contributions(
    ctx: &NativeCallContext,
    values: &Array,
    reference: &Array,
    dirs: Option<&Array>,
) -> RhaiResult<Array> {
    let rows = minimised(ctx, "hypervolume_contributions", values, dirs)?;
    let mut reference = numbers(reference).or_else(|e| fail(ctx, "hypervolume_contributions: reference point", e))?;
    if let Some(dirs) = dirs {
        let dirs = directions(dirs).or_else(|e| fail(ctx, "hypervolume_contributions", e))?;
        if dirs.len() != reference.len() {
            return fail(ctx, "hypervolume_contributions", "directions and reference point differ in length");
        }
        reference = xnas_moo::to_minimisation(&reference, &dirs);
    }
    let values = xnas_hv::contributions(&rows, &reference).or_else(|e| fail(ctx, "hypervolume_contributions", e))?;
    Ok(float_array(values))
}

pub(crate) fn register(engine: &mut Engine, _session: &Arc<Session>) {
    FuncRegistration::new("dominates")
        .with_params_info(["a: Array", "b: Array", "bool"])
        .with_comments([doc("Whether point `a` Pareto-dominates `b`, every objective minimised.\n\n```rhai\ndominates([1, 2], [2, 2]) // true\n```")])
        .register_into_engine(engine, |ctx: NativeCallContext, a: Array, b: Array| -> RhaiResult<bool> {
            let (a, b) = pair(&ctx, &a, &b, None)?;
            Ok(xnas_moo::dominates(&a, &b))
        });
    FuncRegistration::new("dominates")
        .with_params_info(["a: Array", "b: Array", "directions: Array", "bool"])
        .with_comments([doc("Whether `a` Pareto-dominates `b` with per-objective directions.\n\n```rhai\ndominates([0.9, 0.3], [0.8, 0.3], [\"max\", \"max\"]) // true\n```")])
        .register_into_engine(engine, |ctx: NativeCallContext, a: Array, b: Array, d: Array| -> RhaiResult<bool> {
            let (a, b) = pair(&ctx, &a, &b, Some(&d))?;
            Ok(xnas_moo::dominates(&a, &b))
        });
    FuncRegistration::new("compare")
        .with_params_info(["a: Array", "b: Array", "directions: Array", "String"])
        .with_comments([doc(
            "How `a` relates to `b`: `\"dominates\"`, `\"dominated\"`, `\"equal\"` or `\"incomparable\"`.",
        )])
        .register_into_engine(engine, |ctx: NativeCallContext, a: Array, b: Array, d: Array| -> RhaiResult<String> {
            let (a, b) = pair(&ctx, &a, &b, Some(&d))?;
            Ok(dominance_word(xnas_moo::compare(&a, &b)).to_string())
        });
    FuncRegistration::new("non_dominated_sort")
        .with_params_info(["points: Array", "Array"])
        .with_comments([doc("The fronts of minimised `points`: a list of lists of indices, front 0 first.")])
        .register_into_engine(engine, |ctx: NativeCallContext, p: Array| fronts(&ctx, &p, None));
    FuncRegistration::new("non_dominated_sort")
        .with_params_info(["points: Array", "directions: Array", "Array"])
        .with_comments([doc("The fronts of `points` with per-objective directions.\n\n```rhai\nnon_dominated_sort([[0.9, 0.2], [0.8, 0.1]], [\"max\", \"max\"]) // [[0], [1]]\n```")])
        .register_into_engine(engine, |ctx: NativeCallContext, p: Array, d: Array| fronts(&ctx, &p, Some(&d)));
    FuncRegistration::new("pareto_ranks")
        .with_params_info(["points: Array", "Array"])
        .with_comments([doc("Each minimised point's front index (0 = non-dominated).")])
        .register_into_engine(engine, |ctx: NativeCallContext, p: Array| ranks(&ctx, &p, None));
    FuncRegistration::new("pareto_ranks")
        .with_params_info(["points: Array", "directions: Array", "Array"])
        .with_comments([doc("Each point's front index with per-objective directions.")])
        .register_into_engine(engine, |ctx: NativeCallContext, p: Array, d: Array| ranks(&ctx, &p, Some(&d)));
    FuncRegistration::new("non_dominated")
        .with_params_info(["points: Array", "directions: Array", "Array"])
        .with_comments([doc("The indices of the non-dominated points (front 0).")])
        .register_into_engine(engine, |ctx: NativeCallContext, p: Array, d: Array| -> RhaiResult<Array> {
            let all = fronts(&ctx, &p, Some(&d))?;
            Ok(all.into_iter().next().map(|f| f.cast::<Array>()).unwrap_or_default())
        });
    FuncRegistration::new("crowding_distance")
        .with_params_info(["front: Array", "Array"])
        .with_comments([doc("NSGA-II's crowding distance of each point of one front (infinite at the extremes).")])
        .register_into_engine(engine, |ctx: NativeCallContext, front: Array| -> RhaiResult<Array> {
            let rows = minimised(&ctx, "crowding_distance", &front, None)?;
            Ok(float_array(xnas_moo::crowding_distance(&rows)))
        });
    FuncRegistration::new("hypervolume")
        .with_params_info(["points: Array", "reference: Array", "f64"])
        .with_comments([doc("The exact hypervolume of minimised `points` bounded by `reference`.\n\n```rhai\nhypervolume([[1, 2], [2, 1]], [3, 3]) // 3.0\n```")])
        .register_into_engine(engine, |ctx: NativeCallContext, p: Array, r: Array| hypervolume(&ctx, &p, &r, None));
    FuncRegistration::new("hypervolume")
        .with_params_info(["points: Array", "reference: Array", "directions: Array", "f64"])
        .with_comments([doc(
            "The hypervolume with per-objective directions; `reference` is in the objectives' own directions.\n\n\
             ```rhai\nhypervolume([[0.9, 0.5]], [0.1, 0.0], [\"max\", \"max\"]) // 0.8 * 0.5\n```",
        )])
        .register_into_engine(engine, |ctx: NativeCallContext, p: Array, r: Array, d: Array| {
            hypervolume(&ctx, &p, &r, Some(&d))
        });
    FuncRegistration::new("hypervolume_contributions")
        .with_params_info(["points: Array", "reference: Array", "directions: Array", "Array"])
        .with_comments([doc("Each point's exclusive hypervolume contribution (0 for dominated points).")])
        .register_into_engine(engine, |ctx: NativeCallContext, p: Array, r: Array, d: Array| {
            contributions(&ctx, &p, &r, Some(&d))
        });
}
