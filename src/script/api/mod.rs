//! The functions xnas registers for scripts, by theme, and the conversions between script values
//! and Rust ones that they share. Functions that need no session state are plugin modules
//! (`#[export_module]`), as rhai's own packages are, so their parameter lists are the Rust ones;
//! the few that read the session are registered with their signatures spelled out. Either way
//! each function's doc comment is rhai metadata, which `docs/script-api.md` is generated from.

mod analysis;
mod experiment;
mod scores;
mod search;
mod space;

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, FLOAT, INT};
use xnas_moo::Direction;

use super::session::Session;

/// One theme of the API reference: a title, an introduction, and the functions its
/// registration adds.
pub(crate) struct ApiTheme {
    pub title: &'static str,
    pub intro: &'static str,
    pub register: fn(&mut Engine, &Arc<Session>),
}

/// The API by theme, in the order the reference page lists it.
pub(crate) const THEMES: &[ApiTheme] = &[
    ApiTheme {
        title: "Experiment",
        intro: "An experiment script declares one experiment and fills it in; the run loop then calls its \
                objectives, repair and callback as it searches.",
        register: experiment::register,
    },
    ApiTheme {
        title: "Multi-objective primitives",
        intro: "Pareto dominance, non-dominated sorting, crowding distance and hypervolume (from `xnas-moo` and \
                `xnas-hv`). Points are arrays of numbers; without `directions` every objective is minimised, \
                with them each is `\"max\"` or `\"min\"`.",
        register: search::register,
    },
    ApiTheme {
        title: "Introspectability and WordNet",
        intro: "Scores that are pure functions of a measurement record (a map with the fields of \
                `MeasurementRecord`), so a new objective re-scores stored results without retraining; and WordNet \
                path similarity (NLTK's definition, WordNet 3.0).",
        register: scores::register,
    },
    ApiTheme {
        title: "Search space",
        intro: "NAS-Bench-201 cells: a `Genome` holds one operation per edge, in edge order e(1←0), e(2←0), \
                e(2←1), e(3←0), e(3←1), e(3←2); operations are named as in NAS-Bench-201 arch strings.",
        register: space::register,
    },
    ApiTheme {
        title: "Search analyses",
        intro: "The paper's analyses of a search (from `xnas-analysis`, as the report computes them): correlations, \
                the mean's interval, operator frequencies, conv and pooling edges, motifs and motif discovery. \
                Genomes are `Genome` values or strings a genome parses from (`\"002404\"` or an arch string), so a \
                callback can pass `s.front.map(|m| m.compact)`.",
        register: analysis::register,
    },
];

/// Registers the whole API.
pub(crate) fn register_all(engine: &mut Engine, session: &Arc<Session>) {
    for theme in THEMES {
        (theme.register)(engine, session);
    }
}

/// Rhai doc-comment text from plain text: every line prefixed with `/// `.
pub(crate) fn doc(text: &str) -> String {
    text.lines()
        .map(|line| if line.is_empty() { "///".to_string() } else { format!("/// {line}") })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A number (integer or float) as f64.
pub(crate) fn number(value: &Dynamic) -> Option<f64> {
    value.as_float().ok().or_else(|| value.as_int().ok().map(|i| i as f64))
}

/// An array of numbers.
pub(crate) fn numbers(values: &Array) -> Result<Vec<f64>, String> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| number(v).ok_or_else(|| format!("element {i} is {} ({v}), not a number", v.type_name())))
        .collect()
}

/// An array of points (arrays of numbers) of one dimension.
pub(crate) fn points(values: &Array) -> Result<Vec<Vec<f64>>, String> {
    let rows: Vec<Vec<f64>> = values
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let row = row.as_array_ref().map_err(|t| format!("point {i} is {t}, not an array of numbers"))?;
            numbers(&row).map_err(|e| format!("point {i}: {e}"))
        })
        .collect::<Result<_, _>>()?;
    if let Some(first) = rows.first() {
        if let Some((i, row)) = rows.iter().enumerate().find(|(_, r)| r.len() != first.len()) {
            return Err(format!("point {i} has {} values, point 0 has {}", row.len(), first.len()));
        }
    }
    Ok(rows)
}

/// Directions from `"max"`/`"min"` strings.
pub(crate) fn directions(values: &Array) -> Result<Vec<Direction>, String> {
    values
        .iter()
        .map(|v| {
            let text = v.clone().into_string().map_err(|t| format!("a direction is \"max\" or \"min\", not {t}"))?;
            super::spec::parse_direction(&text)
        })
        .collect()
}

pub(crate) fn float_array(values: impl IntoIterator<Item = f64>) -> Array {
    values.into_iter().map(|v| Dynamic::from_float(v as FLOAT)).collect()
}

pub(crate) fn int_array(values: impl IntoIterator<Item = usize>) -> Array {
    values.into_iter().map(|v| Dynamic::from_int(v as INT)).collect()
}

/// What a score returns: a number, or `()` where it is undefined (the reference page says so).
pub(crate) type OptionalFloat = Dynamic;

/// A number, or `()` for an undefined value.
pub(crate) fn optional_float(value: Option<f64>) -> OptionalFloat {
    value.map_or(Dynamic::UNIT, Dynamic::from_float)
}
