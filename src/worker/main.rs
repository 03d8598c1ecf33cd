//! `xnas-worker`: the only xnas binary that links libtorch. The `xnas` head hands it the commands
//! that train or load a model (`xnas eval`, `xnas repair`, exporting a model), and executors start
//! it to run evaluations: `evaluate` (one job on stdin, one process per evaluation) or `serve`
//! (a long-lived worker, job after job). Keeping libtorch here is what lets every other command,
//! and the head of a search, start in milliseconds (docs/architecture.md, "Two binaries").
//!
//! Its command line reads as `xnas …`: users meet it only through the head.

mod devices;
mod eval;
mod evaluate;
mod export;
#[path = "../cli/process.rs"]
mod process;
mod repair;
mod serve;

use clap::{Parser, Subcommand};

/// The training half of xnas; run through `xnas` (see `xnas --help`).
#[derive(Debug, Parser)]
#[command(name = "xnas", bin_name = "xnas", version, about, long_about = None)]
struct WorkerCli {
    #[command(subcommand)]
    command: WorkerCommand,
}

#[derive(Debug, Subcommand)]
enum WorkerCommand {
    /// Train and score one architecture; print a summary or the measurement record as JSON.
    Eval(eval::EvalArgs),
    /// Fine-tune a saved model to push a confounded class pair apart (appendix K), before/after report.
    Repair(repair::RepairArgs),
    /// Write a model a run kept (or `xnas eval --save` saved) for PyTorch: xautodl TinyNetwork state dict + JSON.
    Export(export::ExportArgs),
    /// One evaluation of a search: one JSON job on stdin, its measurement record on stdout.
    Evaluate(evaluate::EvaluateArgs),
    /// A long-lived evaluation worker: JSON jobs on stdin, one per line, a JSON reply per job on stdout.
    Serve(serve::ServeArgs),
    /// How many CUDA devices libtorch sees here (the head asks before it places jobs on GPUs).
    Devices(devices::DevicesArgs),
}

fn main() -> std::process::ExitCode {
    let cli = WorkerCli::parse();
    if !matches!(cli.command, WorkerCommand::Evaluate(_) | WorkerCommand::Serve(_)) {
        process::restore_default_sigpipe();
    }
    let result = match cli.command {
        WorkerCommand::Eval(args) => eval::run(args),
        WorkerCommand::Repair(args) => repair::run(args),
        WorkerCommand::Export(args) => export::run(args),
        WorkerCommand::Evaluate(args) => evaluate::run(args),
        WorkerCommand::Serve(args) => serve::run(args),
        WorkerCommand::Devices(args) => devices::run(args),
    };
    process::exit_code(result)
}
