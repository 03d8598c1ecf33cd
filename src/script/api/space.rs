//! The NAS-Bench-201 space for scripts: the `Genome` type (parse, print, validity, canonical
//! form, edit one edge) and the size of the network it builds (parameters, FLOPs).

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, EvalAltResult, FuncRegistration, Map, NativeCallContext, INT};
use xnas_space::{Genome, MacroConfig, Op, EDGES, NUM_EDGES};

use super::{doc, int_array};
use crate::script::engine::Session;
use crate::script::error::runtime_error;

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

fn fail<T>(ctx: &NativeCallContext, function: &str, message: impl std::fmt::Display) -> RhaiResult<T> {
    Err(runtime_error(format!("{function}: {message}"), ctx.call_position()))
}

/// An op from a NAS-Bench-201 name or a paper code.
fn op(ctx: &NativeCallContext, function: &str, value: &Dynamic) -> RhaiResult<Op> {
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

fn count(ctx: &NativeCallContext, function: &str, genome: &Genome, settings: &Map, flops: bool) -> RhaiResult<INT> {
    let config = macro_config(ctx, function, settings)?;
    config.check(genome).or_else(|e| fail(ctx, function, e))?;
    let value = if flops { xnas_space::flops(genome, &config) } else { xnas_space::params(genome, &config) };
    INT::try_from(value).or_else(|_| fail(ctx, function, "the count does not fit a script integer"))
}

pub(crate) fn register(engine: &mut Engine, _session: &Arc<Session>) {
    engine.register_type_with_name::<Genome>("Genome");
    engine.register_fn("to_string", |g: &mut Genome| g.arch_string());
    engine.register_fn("to_debug", |g: &mut Genome| format!("Genome({})", g.compact()));
    engine.register_fn("==", |a: Genome, b: Genome| a == b);
    engine.register_fn("!=", |a: Genome, b: Genome| a != b);

    FuncRegistration::new("genome")
        .with_params_info(["text: &str", "Genome"])
        .with_comments([doc(
            "Parses a genome: six paper op codes (`\"002404\"`) or a NAS-Bench-201 arch string.\n\n\
             ```rhai\nlet g = genome(\"|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|\");\n```",
        )])
        .register_into_engine(engine, |ctx: NativeCallContext, text: &str| -> RhaiResult<Genome> {
            text.parse::<Genome>().or_else(|e| fail(&ctx, "genome", e))
        });
    FuncRegistration::new("genome")
        .with_params_info(["ops: Array", "Genome"])
        .with_comments([doc(
            "A genome from six operations (names or codes), in edge order.\n\n```rhai\ngenome([0, 0, 2, 4, 0, 4])\n```",
        )])
        .register_into_engine(engine, |ctx: NativeCallContext, ops: Array| -> RhaiResult<Genome> {
            if ops.len() != NUM_EDGES {
                return fail(&ctx, "genome", format!("a genome has {NUM_EDGES} edges, got {} operations", ops.len()));
            }
            let mut genome = Genome([Op::Zeroize; NUM_EDGES]);
            for (slot, value) in genome.0.iter_mut().zip(&ops) {
                *slot = op(&ctx, "genome", value)?;
            }
            Ok(genome)
        });
    FuncRegistration::new_getter("arch")
        .with_params_info(["g: &mut Genome", "String"])
        .with_comments([doc("The NAS-Bench-201 arch string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`.")])
        .register_into_engine(engine, |g: &mut Genome| g.arch_string());
    FuncRegistration::new_getter("compact")
        .with_params_info(["g: &mut Genome", "String"])
        .with_comments([doc("The six paper op codes, e.g. `\"002404\"`.")])
        .register_into_engine(engine, |g: &mut Genome| g.compact());
    FuncRegistration::new_getter("codes")
        .with_params_info(["g: &mut Genome", "Array"])
        .with_comments([doc("The paper op codes (0 conv3x3, 1 conv1x1, 2 avgpool, 3 zeroize, 4 skip) as integers.")])
        .register_into_engine(engine, |g: &mut Genome| int_array(g.codes().iter().map(|&c| c as usize)));
    FuncRegistration::new_getter("ops")
        .with_params_info(["g: &mut Genome", "Array"])
        .with_comments([doc("The operation names, in edge order.")])
        .register_into_engine(engine, |g: &mut Genome| -> Array {
            g.0.iter().map(|op| Dynamic::from(op.nb201_name().to_string())).collect()
        });
    FuncRegistration::new_getter("canonical")
        .with_params_info(["g: &mut Genome", "String"])
        .with_comments([doc(
            "NAS-Bench-201's canonical form under isomorphism: equal for cells that compute the same function.",
        )])
        .register_into_engine(engine, |g: &mut Genome| g.canonical().to_string());
    FuncRegistration::new_getter("index")
        .with_params_info(["g: &mut Genome", "i64"])
        .with_comments([doc(
            "The genome's position 0..15624 among all genomes (its codes read in base 5): a stable number for\n\
             deterministic choices in repairs.",
        )])
        .register_into_engine(engine, |g: &mut Genome| g.codes().iter().fold(0 as INT, |acc, &c| acc * 5 + c as INT));
    FuncRegistration::new("is_valid")
        .with_params_info(["g: &mut Genome", "bool"])
        .with_comments([doc("Whether the cell's output is connected to its input by non-`none` edges (invalid cells are never trained).")])
        .register_into_engine(engine, |g: &mut Genome| g.is_valid());
    FuncRegistration::new("op")
        .with_params_info(["g: &mut Genome", "edge: i64", "String"])
        .with_comments([doc("The operation on edge `edge` (0..5, in edge order).")])
        .register_into_engine(engine, |ctx: NativeCallContext, g: &mut Genome, edge: INT| -> RhaiResult<String> {
            let edge = usize::try_from(edge).ok().filter(|&e| e < NUM_EDGES);
            match edge {
                Some(e) => Ok(g.0[e].nb201_name().to_string()),
                None => fail(&ctx, "op", format!("edges are numbered 0 to {}", NUM_EDGES - 1)),
            }
        });
    FuncRegistration::new("with_op")
        .with_params_info(["g: &mut Genome", "edge: i64", "op: Dynamic", "Genome"])
        .with_comments([doc("A copy with edge `edge` (0..5) set to `op` (a name or a code).\n\n```rhai\ng.with_op(3, \"skip_connect\")\n```")])
        .register_into_engine(engine, |ctx: NativeCallContext, g: &mut Genome, edge: INT, value: Dynamic| -> RhaiResult<Genome> {
            let Some(edge) = usize::try_from(edge).ok().filter(|&e| e < NUM_EDGES) else {
                return fail(&ctx, "with_op", format!("edges are numbered 0 to {}", NUM_EDGES - 1));
            };
            let mut copy = *g;
            copy.0[edge] = op(&ctx, "with_op", &value)?;
            Ok(copy)
        });
    FuncRegistration::new("edges")
        .with_params_info(["Array"])
        .with_comments([doc("The six edges as `[from, to]` node pairs, in edge order.")])
        .register_into_engine(engine, || -> Array {
            EDGES.iter().map(|e| Dynamic::from_array(int_array([e.from, e.to]))).collect()
        });
    FuncRegistration::new("operations")
        .with_params_info(["Array"])
        .with_comments([doc("The five operation names in paper-code order (index = code).")])
        .register_into_engine(engine, || -> Array {
            Op::ALL.iter().map(|op| Dynamic::from(op.nb201_name().to_string())).collect()
        });
    FuncRegistration::new("params")
        .with_params_info(["g: Genome", "settings: Map", "i64"])
        .with_comments([doc(
            "Trainable parameters of the network `g` builds; `settings`: `channels` (16), `cells` (5),\n\
             `classes` (10), `input` (`\"3x32x32\"`). Equal to NAS-Bench-201's counts.\n\n\
             ```rhai\nparams(genome(\"000000\"), #{}) // 1531546 on CIFAR-10\n```",
        )])
        .register_into_engine(engine, |ctx: NativeCallContext, g: Genome, settings: Map| {
            count(&ctx, "params", &g, &settings, false)
        });
    FuncRegistration::new("flops")
        .with_params_info(["g: Genome", "settings: Map", "i64"])
        .with_comments([doc("Multiply-adds per image of the network `g` builds (settings as for `params`).")])
        .register_into_engine(engine, |ctx: NativeCallContext, g: Genome, settings: Map| {
            count(&ctx, "flops", &g, &settings, true)
        });
}
