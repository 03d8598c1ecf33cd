//! The search analyses of `xnas-analysis` for scripts: correlations, the mean's interval, operator
//! frequencies, conv and pooling edges, motifs and App. G's motif discovery, so an `on_generation`
//! callback can watch the front's make-up (and stop when it settles) with the numbers the report
//! computes. Results are maps and arrays of plain values; the library's errors become runtime
//! errors naming the function, at the call.

use std::sync::Arc;

use rhai::plugin::*;
use rhai::{Array, Dynamic, Engine, Map, NativeCallContext, INT};
use xnas_analysis::{Correlation, DiscoveryOptions, MotifSupport, ScoredPattern};
use xnas_space::Genome;

use super::{int_array, numbers, optional_float};
use crate::script::error::{fail, RhaiResult};
use crate::script::session::Session;

/// A column of numbers, the error naming the function and the argument.
fn column(ctx: &NativeCallContext, function: &str, what: &str, values: &Array) -> RhaiResult<Vec<f64>> {
    numbers(values).or_else(|e| fail(ctx, function, format!("{what}: {e}")))
}

/// Genomes from `Genome` values or strings a genome parses from (six op codes or an arch string).
fn genomes(ctx: &NativeCallContext, function: &str, values: &Array) -> RhaiResult<Vec<Genome>> {
    values
        .iter()
        .enumerate()
        .map(|(i, value)| {
            if let Some(genome) = value.clone().try_cast::<Genome>() {
                return Ok(genome);
            }
            match value.clone().into_string() {
                Ok(text) => text.parse::<Genome>().or_else(|e| fail(ctx, function, format!("genomes[{i}]: {e}"))),
                Err(type_name) => fail(
                    ctx,
                    function,
                    format!("genomes[{i}] is {type_name}, not a Genome or a genome string such as \"002404\""),
                ),
            }
        })
        .collect()
}

/// A motif size from a script integer (the library rejects sizes outside 1–6).
fn motif_size(ctx: &NativeCallContext, function: &str, size: INT) -> RhaiResult<usize> {
    usize::try_from(size).or_else(|_| fail(ctx, function, format!("motif size {size} is negative")))
}

fn int(value: usize) -> Dynamic {
    Dynamic::from_int(value as INT)
}

fn correlation_map(correlation: Correlation) -> Map {
    let mut map = Map::new();
    map.insert("rho".into(), Dynamic::from_float(correlation.coefficient));
    map.insert("p_value".into(), optional_float(correlation.p_value));
    map.insert("n".into(), int(correlation.n));
    map
}

fn motif_map(support: MotifSupport) -> Dynamic {
    let mut map = Map::new();
    map.insert("motif".into(), support.motif.to_string().into());
    map.insert("support".into(), int(support.support));
    map.insert("frequency".into(), Dynamic::from_float(support.frequency));
    map.insert("holders".into(), int_array(support.holders).into());
    map.into()
}

fn pattern_map(scored: ScoredPattern) -> Dynamic {
    let mut map = Map::new();
    map.insert("pattern".into(), scored.pattern.to_string().into());
    map.insert("rho".into(), Dynamic::from_float(scored.rho));
    map.insert("support".into(), int(scored.support));
    map.insert("size".into(), int(scored.size));
    map.insert("holders".into(), int_array(scored.holders).into());
    map.into()
}

fn supports(
    ctx: &NativeCallContext,
    function: &str,
    values: &Array,
    size: INT,
    most_frequent_only: bool,
) -> RhaiResult<Array> {
    let genomes = genomes(ctx, function, values)?;
    let size = motif_size(ctx, function, size)?;
    let found = if most_frequent_only {
        xnas_analysis::most_frequent_motifs(&genomes, size)
    } else {
        xnas_analysis::motif_supports(&genomes, size)
    };
    Ok(found.or_else(|e| fail(ctx, function, e))?.into_iter().map(motif_map).collect())
}

#[export_module]
mod analyses {
    use super::*;

    /// Spearman's ρ of two paired arrays of numbers (ties share their average rank, as
    /// `scipy.stats.spearmanr`): `#{ rho, p_value, n }`, the two-sided p-value `()` below three points.
    /// Fails for arrays of different lengths, fewer than two points, or a constant array.
    ///
    /// ```rhai
    /// spearman([1, 2, 3, 4], [10, 20, 40, 30]).rho // 0.8
    /// ```
    #[rhai_fn(return_raw)]
    pub fn spearman(ctx: NativeCallContext, x: Array, y: Array) -> RhaiResult<Map> {
        let (x, y) = (column(&ctx, "spearman", "x", &x)?, column(&ctx, "spearman", "y", &y)?);
        let correlation = xnas_analysis::spearman(&x, &y).or_else(|e| fail(&ctx, "spearman", e))?;
        Ok(correlation_map(correlation))
    }

    /// Pearson's r of two paired arrays of numbers (`scipy.stats.pearsonr`): `#{ rho, p_value, n }`,
    /// with the same rules as `spearman`.
    ///
    /// ```rhai
    /// pearson([1, 2, 3], [2, 4, 6]).rho // 1.0
    /// ```
    #[rhai_fn(return_raw)]
    pub fn pearson(ctx: NativeCallContext, x: Array, y: Array) -> RhaiResult<Map> {
        let (x, y) = (column(&ctx, "pearson", "x", &x)?, column(&ctx, "pearson", "y", &y)?);
        let correlation = xnas_analysis::pearson(&x, &y).or_else(|e| fail(&ctx, "pearson", e))?;
        Ok(correlation_map(correlation))
    }

    /// The mean of at least two numbers with its 95 % Student-t interval (`scipy.stats.t.interval`):
    /// `#{ mean, low, high }`. Equal values give a zero-width interval.
    ///
    /// ```rhai
    /// mean_interval([1, 2, 3]) // #{ mean: 2.0, low: -0.484…, high: 4.484… }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn mean_interval(ctx: NativeCallContext, values: Array) -> RhaiResult<Map> {
        let values = column(&ctx, "mean_interval", "values", &values)?;
        let mean = xnas_analysis::mean(&values).or_else(|e| fail(&ctx, "mean_interval", e))?;
        let interval =
            xnas_analysis::mean_confidence_interval(&values, 0.95).or_else(|e| fail(&ctx, "mean_interval", e))?;
        let mut map = Map::new();
        map.insert("mean".into(), Dynamic::from_float(mean));
        map.insert("low".into(), Dynamic::from_float(interval.low));
        map.insert("high".into(), Dynamic::from_float(interval.high));
        Ok(map)
    }

    /// The median of a non-empty array of numbers (the mean of the middle two for an even count).
    #[rhai_fn(return_raw)]
    pub fn median(ctx: NativeCallContext, values: Array) -> RhaiResult<f64> {
        let values = column(&ctx, "median", "values", &values)?;
        xnas_analysis::median(&values).or_else(|e| fail(&ctx, "median", e))
    }

    /// Each operation's share of all edges of `genomes` (`Genome` values or genome strings), as the
    /// paper's Tables E1–E3: an array of `#{ op, code, count, frequency }` (`op` its NAS-Bench-201 name,
    /// `frequency` = count / (6 × genomes)), most frequent first, ties in op-code order.
    ///
    /// ```rhai
    /// operator_frequencies(s.front.map(|m| m.compact))[0].op // e.g. "nor_conv_3x3"
    /// ```
    #[rhai_fn(return_raw)]
    pub fn operator_frequencies(ctx: NativeCallContext, genomes: Array) -> RhaiResult<Array> {
        let genomes = super::genomes(&ctx, "operator_frequencies", &genomes)?;
        let rows = xnas_analysis::operator_frequencies(&genomes).or_else(|e| fail(&ctx, "operator_frequencies", e))?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let mut map = Map::new();
                map.insert("op".into(), row.op.nb201_name().into());
                map.insert("code".into(), Dynamic::from_int(row.op.code() as INT));
                map.insert("count".into(), int(row.count));
                map.insert("frequency".into(), Dynamic::from_float(row.frequency));
                map.into()
            })
            .collect())
    }

    /// Edges of `g` that convolve (3×3 or 1×1 convolution), the left colouring of the paper's Fig. 4.
    pub fn conv_edges(g: Genome) -> i64 {
        xnas_analysis::conv_edges(&g) as INT
    }

    /// Edges of the genome written `text` (six op codes or an arch string) that convolve.
    ///
    /// ```rhai
    /// conv_edges("012340") // 3
    /// ```
    #[rhai_fn(name = "conv_edges", return_raw)]
    pub fn conv_edges_of_text(ctx: NativeCallContext, text: &str) -> RhaiResult<i64> {
        let genome = text.parse::<Genome>().or_else(|e| fail(&ctx, "conv_edges", e))?;
        Ok(xnas_analysis::conv_edges(&genome) as INT)
    }

    /// Edges of `g` that pool (3×3 average pooling), the right colouring of the paper's Fig. 4.
    pub fn pooling_edges(g: Genome) -> i64 {
        xnas_analysis::pooling_edges(&g) as INT
    }

    /// Edges of the genome written `text` (six op codes or an arch string) that pool.
    ///
    /// ```rhai
    /// pooling_edges("012340") // 1
    /// ```
    #[rhai_fn(name = "pooling_edges", return_raw)]
    pub fn pooling_edges_of_text(ctx: NativeCallContext, text: &str) -> RhaiResult<i64> {
        let genome = text.parse::<Genome>().or_else(|e| fail(&ctx, "pooling_edges", e))?;
        Ok(xnas_analysis::pooling_edges(&genome) as INT)
    }

    /// Every motif of `size` fixed edges (1–6) held by one of `genomes` (`Genome` values or genome
    /// strings), in the paper's notation (`"[0 * * * 3 *]"`: op codes on fixed edges, `*` on free
    /// ones, in edge order): an array of `#{ motif, support, frequency, holders }` (support: genomes
    /// holding it; frequency: support / genomes; holders: their indices), most supported first.
    ///
    /// ```rhai
    /// motifs(["000000", "012340"], 1)[0] // #{ motif: "[* * * * * 0]", support: 2, frequency: 1.0, holders: [0, 1] }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn motifs(ctx: NativeCallContext, genomes: Array, size: INT) -> RhaiResult<Array> {
        supports(&ctx, "motifs", &genomes, size, false)
    }

    /// The most supported motifs of `size` fixed edges among `genomes` (all of them when several tie),
    /// as one size's rows of the paper's Tables F1–F3; entries as in `motifs`.
    ///
    /// ```rhai
    /// top_motifs(s.front.map(|m| m.compact), 2).map(|m| m.motif)
    /// ```
    #[rhai_fn(return_raw)]
    pub fn top_motifs(ctx: NativeCallContext, genomes: Array, size: INT) -> RhaiResult<Array> {
        supports(&ctx, "top_motifs", &genomes, size, true)
    }

    /// The paper's motif discovery (App. G) on a front given as three paired arrays: which motifs
    /// (sizes 1–5) and operator counts (`"count(0)"`) go with the accurate end (ρ > 0) or the
    /// introspectable end (ρ < 0). `#{ retained, unexplained }`: `retained` the Pareto-optimal
    /// patterns by |ρ|, support and size with support ≥ 3 and |ρ| ≥ 0.2, highest |ρ| first, each
    /// `#{ pattern, rho, support, size, holders }`; `unexplained` the indices holding none of them.
    ///
    /// ```rhai
    /// let found = discover_motifs(s.front.map(|m| m.compact), s.front.map(|m| m.objectives[0]),
    ///                             s.front.map(|m| m.objectives[1]));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn discover_motifs(
        ctx: NativeCallContext,
        genomes: Array,
        accuracy: Array,
        introspectability: Array,
    ) -> RhaiResult<Map> {
        const NAME: &str = "discover_motifs";
        let genomes = super::genomes(&ctx, NAME, &genomes)?;
        let accuracy = column(&ctx, NAME, "accuracy", &accuracy)?;
        let introspectability = column(&ctx, NAME, "introspectability", &introspectability)?;
        let found =
            xnas_analysis::discover_motifs(&genomes, &accuracy, &introspectability, &DiscoveryOptions::default())
                .or_else(|e| fail(&ctx, NAME, e))?;
        let mut map = Map::new();
        map.insert("retained".into(), Dynamic::from_array(found.retained.into_iter().map(pattern_map).collect()));
        map.insert("unexplained".into(), int_array(found.unexplained).into());
        Ok(map)
    }
}

pub(crate) fn register(engine: &mut Engine, _session: &Arc<Session>) {
    engine.register_global_module(exported_module!(analyses).into());
}
