//! Multi-objective primitives for scripts: dominance, non-dominated sorting, crowding distance and
//! hypervolume, so a script can write its own indicator or callback without recompiling xnas.
//! The exact hypervolume can run for hours on a large set in many objectives, past anything the
//! engine's operation counter sees, so it is given the calling script's deadline and stops there.

use std::sync::Arc;
use std::time::Duration;

use rhai::plugin::*;
use rhai::{Array, Dynamic, Engine, NativeCallContext};
use xnas_moo::{Direction, Dominance};

use super::{directions, float_array, int_array, numbers, points};
use crate::script::engine::call_deadline;
use crate::script::error::{fail, RhaiResult};
use crate::script::session::Session;

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
    let volume = match call_deadline() {
        Some((deadline, budget)) => {
            xnas_hv::hypervolume_until(&rows, &reference, deadline).map_err(|e| within_budget(e, "hypervolume", budget))
        }
        None => xnas_hv::hypervolume(&rows, &reference).map_err(|e| e.to_string()),
    };
    volume.or_else(|e| fail(ctx, "hypervolume", e))
}

/// An exact hypervolume that ran past the calling script's wall-clock budget, said as such: which
/// size did not finish, the budget, and what to do.
fn within_budget(error: xnas_hv::HvError, function: &str, budget: Duration) -> String {
    match error {
        xnas_hv::HvError::DeadlinePassed { points, dimension } => format!(
            "{points} points in {dimension} objectives did not finish within the call's time budget of {} s and \
             were stopped; the exact hypervolume's cost grows steeply with the number of objectives: pass only \
             the non-dominated points (non_dominated), fewer points or fewer objectives to {function}",
            budget.as_secs_f64()
        ),
        other => other.to_string(),
    }
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
    let values = match call_deadline() {
        Some((deadline, budget)) => xnas_hv::contributions_until(&rows, &reference, deadline)
            .map_err(|e| within_budget(e, "hypervolume_contributions", budget)),
        None => xnas_hv::contributions(&rows, &reference).map_err(|e| e.to_string()),
    };
    let values = values.or_else(|e| fail(ctx, "hypervolume_contributions", e))?;
    Ok(float_array(values))
}

#[export_module]
mod primitives {
    use super::*;

    /// Whether point `a` Pareto-dominates `b`, every objective minimised.
    ///
    /// ```rhai
    /// dominates([1, 2], [2, 2]) // true
    /// ```
    #[rhai_fn(return_raw)]
    pub fn dominates(ctx: NativeCallContext, a: Array, b: Array) -> RhaiResult<bool> {
        let (a, b) = pair(&ctx, &a, &b, None)?;
        Ok(xnas_moo::dominates(&a, &b))
    }

    /// Whether `a` Pareto-dominates `b` with per-objective directions.
    ///
    /// ```rhai
    /// dominates([0.9, 0.3], [0.8, 0.3], ["max", "max"]) // true
    /// ```
    #[rhai_fn(name = "dominates", return_raw)]
    pub fn dominates_directed(ctx: NativeCallContext, a: Array, b: Array, directions: Array) -> RhaiResult<bool> {
        let (a, b) = pair(&ctx, &a, &b, Some(&directions))?;
        Ok(xnas_moo::dominates(&a, &b))
    }

    /// How `a` relates to `b`: `"dominates"`, `"dominated"`, `"equal"` or `"incomparable"`.
    #[rhai_fn(return_raw)]
    pub fn compare(ctx: NativeCallContext, a: Array, b: Array, directions: Array) -> RhaiResult<String> {
        let (a, b) = pair(&ctx, &a, &b, Some(&directions))?;
        Ok(dominance_word(xnas_moo::compare(&a, &b)).to_string())
    }

    /// The fronts of minimised `points`: a list of lists of indices, front 0 first.
    #[rhai_fn(return_raw)]
    pub fn non_dominated_sort(ctx: NativeCallContext, points: Array) -> RhaiResult<Array> {
        fronts(&ctx, &points, None)
    }

    /// The fronts of `points` with per-objective directions.
    ///
    /// ```rhai
    /// non_dominated_sort([[0.9, 0.2], [0.8, 0.1]], ["max", "max"]) // [[0], [1]]
    /// ```
    #[rhai_fn(name = "non_dominated_sort", return_raw)]
    pub fn non_dominated_sort_directed(ctx: NativeCallContext, points: Array, directions: Array) -> RhaiResult<Array> {
        fronts(&ctx, &points, Some(&directions))
    }

    /// Each minimised point's front index (0 = non-dominated).
    #[rhai_fn(return_raw)]
    pub fn pareto_ranks(ctx: NativeCallContext, points: Array) -> RhaiResult<Array> {
        ranks(&ctx, &points, None)
    }

    /// Each point's front index with per-objective directions.
    #[rhai_fn(name = "pareto_ranks", return_raw)]
    pub fn pareto_ranks_directed(ctx: NativeCallContext, points: Array, directions: Array) -> RhaiResult<Array> {
        ranks(&ctx, &points, Some(&directions))
    }

    /// The indices of the non-dominated points (front 0).
    #[rhai_fn(return_raw)]
    pub fn non_dominated(ctx: NativeCallContext, points: Array, directions: Array) -> RhaiResult<Array> {
        let all = fronts(&ctx, &points, Some(&directions))?;
        Ok(all.into_iter().next().map(|f| f.cast::<Array>()).unwrap_or_default())
    }

    /// NSGA-II's crowding distance of each point of one front (infinite at the extremes).
    #[rhai_fn(return_raw)]
    pub fn crowding_distance(ctx: NativeCallContext, front: Array) -> RhaiResult<Array> {
        let rows = minimised(&ctx, "crowding_distance", &front, None)?;
        Ok(float_array(xnas_moo::crowding_distance(&rows)))
    }

    /// The exact hypervolume of minimised `points` bounded by `reference`.
    ///
    /// ```rhai
    /// hypervolume([[1, 2], [2, 1]], [3, 3]) // 3.0
    /// ```
    #[rhai_fn(return_raw)]
    pub fn hypervolume(ctx: NativeCallContext, points: Array, reference: Array) -> RhaiResult<f64> {
        super::hypervolume(&ctx, &points, &reference, None)
    }

    /// The hypervolume with per-objective directions; `reference` is in the objectives' own directions.
    ///
    /// ```rhai
    /// hypervolume([[0.9, 0.5]], [0.1, 0.0], ["max", "max"]) // 0.8 * 0.5
    /// ```
    #[rhai_fn(name = "hypervolume", return_raw)]
    pub fn hypervolume_directed(
        ctx: NativeCallContext,
        points: Array,
        reference: Array,
        directions: Array,
    ) -> RhaiResult<f64> {
        super::hypervolume(&ctx, &points, &reference, Some(&directions))
    }

    /// Each point's exclusive hypervolume contribution (0 for dominated points).
    #[rhai_fn(return_raw)]
    pub fn hypervolume_contributions(
        ctx: NativeCallContext,
        points: Array,
        reference: Array,
        directions: Array,
    ) -> RhaiResult<Array> {
        contributions(&ctx, &points, &reference, Some(&directions))
    }
}

pub(crate) fn register(engine: &mut Engine, _session: &Arc<Session>) {
    engine.register_global_module(exported_module!(primitives).into());
}
