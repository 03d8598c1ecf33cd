//! The search analyses of `xnas-analysis` for scripts: correlations, the mean's interval, operator
//! frequencies, conv and pooling edges, motifs and App. G's motif discovery, so an `on_generation`
//! callback can watch the front's make-up (and stop when it settles) with the numbers the report
//! computes; and the statistics over groups of runs that `xnas compare --group` reports (summaries,
//! rank tests, the bootstrap of a difference, attainment surfaces), for scripts that compare runs. Results are maps and arrays of plain values; the library's errors become runtime
//! errors naming the function, at the call.

use std::sync::Arc;

use rhai::plugin::*;
use rhai::{Array, Dynamic, Engine, Map, NativeCallContext, INT};
use xnas_analysis::{Correlation, DiscoveryOptions, MotifSupport, Pairing, ScoredPattern, TestMethod, TestResult};
use xnas_moo::Direction;
use xnas_space::Genome;

use super::{directions, float_array, int_array, numbers, optional_float, points};
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

fn test_map(result: TestResult) -> Map {
    let mut map = Map::new();
    map.insert("statistic".into(), Dynamic::from_float(result.statistic));
    map.insert("p_value".into(), Dynamic::from_float(result.p_value));
    let method = match result.method {
        TestMethod::Exact => "exact",
        TestMethod::Permutation => "permutation",
        TestMethod::Asymptotic => "asymptotic",
    };
    map.insert("method".into(), method.into());
    map
}

/// Fronts in two axes: an array of fronts, each an array of `[a, b]` points.
fn fronts(ctx: &NativeCallContext, function: &str, what: &str, values: &Array) -> RhaiResult<Vec<Vec<[f64; 2]>>> {
    values
        .iter()
        .enumerate()
        .map(|(i, front)| {
            let front = front
                .as_array_ref()
                .or_else(|t| fail(ctx, function, format!("{what}[{i}] is {t}, not an array of [a, b] points")))?;
            points_of_two(ctx, function, &format!("{what}[{i}]"), "attainment", &front)
        })
        .collect()
}

/// One front: an array of `[a, b]` points.
fn points_of_two(
    ctx: &NativeCallContext,
    function: &str,
    what: &str,
    measure: &str,
    front: &Array,
) -> RhaiResult<Vec<[f64; 2]>> {
    let rows = points(front).or_else(|e| fail(ctx, function, format!("{what}: {e}")))?;
    rows.into_iter()
        .map(|row| match row[..] {
            [a, b] => Ok([a, b]),
            _ => fail(ctx, function, format!("{what} has points of {} values; {measure} needs two axes", row.len())),
        })
        .collect()
}

/// Two directions (`["max", "min"]` and the like) for the two axes of an attainment function.
fn two_directions(ctx: &NativeCallContext, function: &str, values: &Array) -> RhaiResult<[Direction; 2]> {
    match directions(values).or_else(|e| fail(ctx, function, e))?[..] {
        [a, b] => Ok([a, b]),
        ref other => {
            fail(ctx, function, format!("directions has {} entries; give two, e.g. [\"max\", \"min\"]", other.len()))
        }
    }
}

fn pair_array([a, b]: [f64; 2]) -> Dynamic {
    float_array([a, b]).into()
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

    /// The usual description of a sample, e.g. one group's hypervolumes: `#{ n, mean, median,
    /// std_dev, min, max, low, high }` (`std_dev` with n − 1; `low`/`high` the 95 % Student-t
    /// interval of the mean; those three are `()` for a single value).
    ///
    /// ```rhai
    /// summary([1, 2, 3]).std_dev // 1.0
    /// ```
    #[rhai_fn(return_raw)]
    pub fn summary(ctx: NativeCallContext, values: Array) -> RhaiResult<Map> {
        let values = column(&ctx, "summary", "values", &values)?;
        let summary = xnas_analysis::summarize(&values).or_else(|e| fail(&ctx, "summary", e))?;
        let mut map = Map::new();
        map.insert("n".into(), int(summary.n));
        map.insert("mean".into(), Dynamic::from_float(summary.mean));
        map.insert("median".into(), Dynamic::from_float(summary.median));
        map.insert("std_dev".into(), optional_float(summary.std_dev));
        map.insert("min".into(), Dynamic::from_float(summary.min));
        map.insert("max".into(), Dynamic::from_float(summary.max));
        map.insert("low".into(), optional_float(summary.ci95.map(|i| i.low)));
        map.insert("high".into(), optional_float(summary.ci95.map(|i| i.high)));
        Ok(map)
    }

    /// The two-sided Wilcoxon signed-rank test of paired arrays (run i of each group shares a
    /// seed), as `scipy.stats.wilcoxon(x, y)`: `#{ statistic, p_value, method }` (`method`:
    /// `"exact"`, `"permutation"` or `"asymptotic"`, as SciPy picks it). Equal arrays give p = 1.
    ///
    /// ```rhai
    /// wilcoxon([0.61, 0.64, 0.70], [0.58, 0.60, 0.66]).p_value // 0.25
    /// ```
    #[rhai_fn(return_raw)]
    pub fn wilcoxon(ctx: NativeCallContext, x: Array, y: Array) -> RhaiResult<Map> {
        let (x, y) = (column(&ctx, "wilcoxon", "x", &x)?, column(&ctx, "wilcoxon", "y", &y)?);
        let result = xnas_analysis::wilcoxon_signed_rank(&x, &y).or_else(|e| fail(&ctx, "wilcoxon", e))?;
        Ok(test_map(result))
    }

    /// The two-sided Mann–Whitney U test of two independent arrays, as
    /// `scipy.stats.mannwhitneyu(x, y)`: `#{ statistic, p_value, method }`, the statistic U of `x`.
    ///
    /// ```rhai
    /// mann_whitney([1, 2, 3], [4, 5, 6]) // #{ statistic: 0.0, p_value: 0.1, method: "exact" }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn mann_whitney(ctx: NativeCallContext, x: Array, y: Array) -> RhaiResult<Map> {
        let (x, y) = (column(&ctx, "mann_whitney", "x", &x)?, column(&ctx, "mann_whitney", "y", &y)?);
        let result = xnas_analysis::mann_whitney_u(&x, &y).or_else(|e| fail(&ctx, "mann_whitney", e))?;
        Ok(test_map(result))
    }

    /// mean(x) − mean(y) with its 95 % percentile bootstrap interval from 10 000 resamples drawn
    /// with `seed` (the same seed, the same interval): `#{ difference, low, high }`. `paired`
    /// resamples pairs (x and y as long, run i of each sharing a seed), else each array apart.
    ///
    /// ```rhai
    /// bootstrap_difference([0.61, 0.64, 0.70], [0.58, 0.60, 0.66], true, 1).difference // 0.0366…
    /// ```
    #[rhai_fn(return_raw)]
    pub fn bootstrap_difference(
        ctx: NativeCallContext,
        x: Array,
        y: Array,
        paired: bool,
        seed: INT,
    ) -> RhaiResult<Map> {
        const NAME: &str = "bootstrap_difference";
        let (x, y) = (column(&ctx, NAME, "x", &x)?, column(&ctx, NAME, "y", &y)?);
        let pairing = if paired { Pairing::Paired } else { Pairing::Independent };
        let interval = xnas_analysis::bootstrap_mean_difference(&x, &y, pairing, 0.95, 10_000, seed as u64)
            .or_else(|e| fail(&ctx, NAME, e))?;
        let mut map = Map::new();
        map.insert("difference".into(), Dynamic::from_float(interval.difference));
        map.insert("low".into(), Dynamic::from_float(interval.low));
        map.insert("high".into(), Dynamic::from_float(interval.high));
        Ok(map)
    }

    /// The empirical attainment surfaces of `fronts` (an array of fronts, one per run, each an array
    /// of `[a, b]` points in two axes, `directions` e.g. `["max", "min"]`) at `percentiles` (0 the
    /// best run's surface, 50 the median, 100 the worst), as `moocore.eaf`: an array of
    /// `#{ percentile, level, points }`, percentiles ascending, `level` the number of runs that
    /// attain each point, `points` the surface's corners from the best first axis to the worst.
    ///
    /// ```rhai
    /// attainment_surfaces([[[0.9, 0.1]], [[0.8, 0.3]]], ["max", "max"], [0, 100])[1].points // [[0.8, 0.1]]
    /// ```
    #[rhai_fn(return_raw)]
    pub fn attainment_surfaces(
        ctx: NativeCallContext,
        fronts: Array,
        directions: Array,
        percentiles: Array,
    ) -> RhaiResult<Array> {
        const NAME: &str = "attainment_surfaces";
        let fronts = super::fronts(&ctx, NAME, "fronts", &fronts)?;
        let directions = two_directions(&ctx, NAME, &directions)?;
        let percentiles = column(&ctx, NAME, "percentiles", &percentiles)?;
        let surfaces =
            xnas_analysis::attainment_surfaces(&fronts, directions, &percentiles).or_else(|e| fail(&ctx, NAME, e))?;
        Ok(surfaces
            .into_iter()
            .map(|surface| {
                let mut map = Map::new();
                map.insert("percentile".into(), Dynamic::from_float(surface.percentile));
                map.insert("level".into(), int(surface.level));
                map.insert("points".into(), Dynamic::from_array(surface.points.into_iter().map(pair_array).collect()));
                map.into()
            })
            .collect())
    }

    /// Where one group of runs attains more often than another: on every corner of the attainment
    /// surfaces of both groups' fronts together, `#{ point, difference }` with `difference` the share
    /// of `left` fronts attaining `point` minus the share of `right` fronts (as `moocore.eafdiff`,
    /// which counts runs instead of shares). Fronts and directions as in `attainment_surfaces`.
    ///
    /// ```rhai
    /// attainment_difference([[[1, 3], [3, 1]]], [[[2, 2]]], ["min", "min"])[0] // #{ point: [1.0, 3.0], difference: 1.0 }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn attainment_difference(
        ctx: NativeCallContext,
        left: Array,
        right: Array,
        directions: Array,
    ) -> RhaiResult<Array> {
        const NAME: &str = "attainment_difference";
        let left = super::fronts(&ctx, NAME, "left", &left)?;
        let right = super::fronts(&ctx, NAME, "right", &right)?;
        let directions = two_directions(&ctx, NAME, &directions)?;
        let differences =
            xnas_analysis::attainment_difference(&left, &right, directions).or_else(|e| fail(&ctx, NAME, e))?;
        Ok(differences
            .into_iter()
            .map(|difference| {
                let mut map = Map::new();
                map.insert("point".into(), pair_array(difference.point));
                map.insert("difference".into(), Dynamic::from_float(difference.difference));
                map.into()
            })
            .collect())
    }

    /// IGD+ of the `found` front to a `reference` front (each an array of `[a, b]` points in two
    /// axes, `directions` e.g. `["max", "max"]`), as `moocore.igd_plus`: the mean over reference
    /// points of the distance to the nearest found point, counting only where it falls short. Zero
    /// when `found` weakly dominates the whole reference front.
    ///
    /// ```rhai
    /// igd_plus([[0.8, 0.4]], [[0.9, 0.2], [0.5, 0.6]], ["max", "max"]) // 0.15
    /// ```
    #[rhai_fn(return_raw)]
    pub fn igd_plus(ctx: NativeCallContext, found: Array, reference: Array, directions: Array) -> RhaiResult<f64> {
        const NAME: &str = "igd_plus";
        let found = super::points_of_two(&ctx, NAME, "found", "IGD+", &found)?;
        let reference = super::points_of_two(&ctx, NAME, "reference", "IGD+", &reference)?;
        let directions = two_directions(&ctx, NAME, &directions)?;
        xnas_analysis::igd_plus(&found, &reference, directions).or_else(|e| fail(&ctx, NAME, e))
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
