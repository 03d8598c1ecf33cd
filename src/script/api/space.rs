//! The NAS-Bench-201 space for scripts: the `Genome` type (parse, print, validity, canonical
//! form, edit one edge) and the size of the network it builds (parameters, FLOPs).

use std::sync::Arc;

use rhai::plugin::*;
use rhai::{Array, Dynamic, Engine, Map, NativeCallContext, INT};
use xnas_space::{MacroConfig, Op, EDGES, NUM_EDGES};

use super::int_array;
use crate::script::error::{fail, runtime_error, RhaiResult};
use crate::script::session::Session;

/// An op from a NAS-Bench-201 name or a paper code.
fn parse_op(ctx: &NativeCallContext, function: &str, value: &Dynamic) -> RhaiResult<Op> {
    let parsed = if let Ok(code) = value.as_int() {
        u8::try_from(code).ok().and_then(Op::from_code)
    } else {
        value.clone().into_string().ok().and_then(|name| Op::from_nb201_name(&name))
    };
    parsed.ok_or_else(|| {
        runtime_error(
            format!(
                "{function}: {value} is not an operation; use nor_conv_3x3, nor_conv_1x1, avg_pool_3x3, none, \
                 skip_connect or a code 0-4"
            ),
            ctx.call_position(),
        )
    })
}

/// The network size settings from a map `#{ channels, cells, classes, input }`.
fn macro_config(ctx: &NativeCallContext, function: &str, settings: &Map) -> RhaiResult<MacroConfig> {
    let mut config = MacroConfig::default();
    for (key, value) in settings {
        let count = || -> RhaiResult<usize> {
            value.as_int().ok().and_then(|v| usize::try_from(v).ok()).ok_or_else(|| {
                runtime_error(format!("{function}: {key} must be a positive integer"), ctx.call_position())
            })
        };
        match key.as_str() {
            "channels" => config.channels = count()?,
            "cells" => config.cells_per_stage = count()?,
            "classes" => config.num_classes = count()?,
            "input" => {
                let text = value.to_string();
                config.input = MacroConfig::parse_input(&text).or_else(|e| fail(ctx, function, e))?;
            }
            other => {
                return fail(
                    ctx,
                    function,
                    format!("unknown setting {other:?}; valid keys: channels, cells, classes, input (\"3x32x32\")"),
                )
            }
        }
    }
    Ok(config)
}

fn count(
    ctx: &NativeCallContext,
    function: &str,
    genome: &xnas_space::Genome,
    settings: &Map,
    flops: bool,
) -> RhaiResult<INT> {
    let config = macro_config(ctx, function, settings)?;
    config.check(genome).or_else(|e| fail(ctx, function, e))?;
    let value = if flops { xnas_space::flops(genome, &config) } else { xnas_space::params(genome, &config) };
    INT::try_from(value).or_else(|_| fail(ctx, function, "the count does not fit a script integer"))
}

#[export_module]
mod cells {
    use super::*;

    /// A NAS-Bench-201 cell.
    pub type Genome = xnas_space::Genome;

    #[rhai_fn(pure)]
    pub fn to_string(g: &mut Genome) -> String {
        g.arch_string()
    }

    #[rhai_fn(pure)]
    pub fn to_debug(g: &mut Genome) -> String {
        format!("Genome({})", g.compact())
    }

    #[rhai_fn(name = "==")]
    pub fn equal(a: Genome, b: Genome) -> bool {
        a == b
    }

    #[rhai_fn(name = "!=")]
    pub fn not_equal(a: Genome, b: Genome) -> bool {
        a != b
    }

    /// Parses a genome: six paper op codes (`"002404"`) or a NAS-Bench-201 arch string.
    ///
    /// ```rhai
    /// let g = genome("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn genome(ctx: NativeCallContext, text: &str) -> RhaiResult<Genome> {
        text.parse::<Genome>().or_else(|e| fail(&ctx, "genome", e))
    }

    /// A genome from six operations (names or codes), in edge order.
    ///
    /// ```rhai
    /// genome([0, 0, 2, 4, 0, 4])
    /// ```
    #[rhai_fn(name = "genome", return_raw)]
    pub fn genome_from_ops(ctx: NativeCallContext, ops: Array) -> RhaiResult<Genome> {
        if ops.len() != NUM_EDGES {
            return fail(&ctx, "genome", format!("a genome has {NUM_EDGES} edges, got {} operations", ops.len()));
        }
        let mut genome = xnas_space::Genome([Op::Zeroize; NUM_EDGES]);
        for (slot, value) in genome.0.iter_mut().zip(&ops) {
            *slot = parse_op(&ctx, "genome", value)?;
        }
        Ok(genome)
    }

    /// The NAS-Bench-201 arch string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`.
    #[rhai_fn(get = "arch", pure)]
    pub fn arch(g: &mut Genome) -> String {
        g.arch_string()
    }

    /// The six paper op codes, e.g. `"002404"`.
    #[rhai_fn(get = "compact", pure)]
    pub fn compact(g: &mut Genome) -> String {
        g.compact()
    }

    /// The paper op codes (0 conv3x3, 1 conv1x1, 2 avgpool, 3 zeroize, 4 skip) as integers.
    #[rhai_fn(get = "codes", pure)]
    pub fn codes(g: &mut Genome) -> Array {
        int_array(g.codes().iter().map(|&c| c as usize))
    }

    /// The operation names, in edge order.
    #[rhai_fn(get = "ops", pure)]
    pub fn ops(g: &mut Genome) -> Array {
        g.0.iter().map(|op| Dynamic::from(op.nb201_name().to_string())).collect()
    }

    /// NAS-Bench-201's canonical form under isomorphism: equal for cells that compute the same function.
    #[rhai_fn(get = "canonical", pure)]
    pub fn canonical(g: &mut Genome) -> String {
        g.canonical().to_string()
    }

    /// The genome's position 0..15624 among all genomes (its codes read in base 5): a stable number for
    /// deterministic choices in repairs.
    #[rhai_fn(get = "index", pure)]
    pub fn index(g: &mut Genome) -> i64 {
        g.codes().iter().fold(0, |acc, &c| acc * 5 + c as INT)
    }

    /// Whether the cell's output is connected to its input by non-`none` edges (invalid cells are never trained).
    #[rhai_fn(pure)]
    pub fn is_valid(g: &mut Genome) -> bool {
        g.is_valid()
    }

    /// The operation on edge `edge` (0..5, in edge order).
    #[rhai_fn(pure, return_raw)]
    pub fn op(ctx: NativeCallContext, g: &mut Genome, edge: i64) -> RhaiResult<String> {
        match usize::try_from(edge).ok().filter(|&e| e < NUM_EDGES) {
            Some(e) => Ok(g.0[e].nb201_name().to_string()),
            None => fail(&ctx, "op", format!("edges are numbered 0 to {}", NUM_EDGES - 1)),
        }
    }

    /// A copy with edge `edge` (0..5) set to `op` (a name or a code).
    ///
    /// ```rhai
    /// g.with_op(3, "skip_connect")
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn with_op(ctx: NativeCallContext, g: &mut Genome, edge: i64, op: Dynamic) -> RhaiResult<Genome> {
        let Some(edge) = usize::try_from(edge).ok().filter(|&e| e < NUM_EDGES) else {
            return fail(&ctx, "with_op", format!("edges are numbered 0 to {}", NUM_EDGES - 1));
        };
        let mut copy = *g;
        copy.0[edge] = parse_op(&ctx, "with_op", &op)?;
        Ok(copy)
    }

    /// The six edges as `[from, to]` node pairs, in edge order.
    pub fn edges() -> Array {
        EDGES.iter().map(|e| Dynamic::from_array(int_array([e.from, e.to]))).collect()
    }

    /// The five operation names in paper-code order (index = code).
    pub fn operations() -> Array {
        Op::ALL.iter().map(|op| Dynamic::from(op.nb201_name().to_string())).collect()
    }

    /// Trainable parameters of the network `g` builds; `settings`: `channels` (16), `cells` (5),
    /// `classes` (10), `input` (`"3x32x32"`). Equal to NAS-Bench-201's counts.
    ///
    /// ```rhai
    /// params(genome("000000"), #{}) // 1531546 on CIFAR-10
    /// ```
    #[rhai_fn(return_raw)]
    pub fn params(ctx: NativeCallContext, g: Genome, settings: Map) -> RhaiResult<i64> {
        count(&ctx, "params", &g, &settings, false)
    }

    /// Multiply-adds per image of the network `g` builds (settings as for `params`).
    #[rhai_fn(return_raw)]
    pub fn flops(ctx: NativeCallContext, g: Genome, settings: Map) -> RhaiResult<i64> {
        count(&ctx, "flops", &g, &settings, true)
    }
}

pub(crate) fn register(engine: &mut Engine, _session: &Arc<Session>) {
    engine.register_global_module(exported_module!(cells).into());
}
