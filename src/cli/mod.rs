//! Subcommands of the `xnas` binary, one file each, behind a clap derive enum (as zoxide's `cmd/`).
//!
//! Each file holds a clap `Args` struct and a `run` function returning `anyhow::Result<()>`:
//! the library crates return typed errors, and this layer adds the context a user needs.

use clap::{Parser, Subcommand};

pub mod check;
pub mod compare;
pub mod export;
pub mod export_args;
pub mod hv;
pub mod inspect;
pub mod pareto;
pub mod process;
pub mod refine;
pub mod report;
pub mod run;
pub mod show_script;
pub mod space;
pub mod study;
pub mod table;
pub mod wordnet;
pub mod worker;

/// Multi-objective neural architecture search for accurate and introspectable networks.
#[derive(Debug, Parser)]
#[command(name = "xnas", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a search described by an experiment script; results in runs/NAME.
    Run(run::RunArgs),
    /// Continue a stopped or crashed run; nothing finished is trained again.
    Resume(run::ResumeArgs),
    /// Train a run's final front again with the introspectability regularizer (the paper's ✓+reg), as a new run.
    Refine(refine::RefineArgs),
    /// Where a run stands: evaluations, hypervolume per generation, the current front.
    Status(report::StatusArgs),
    /// Print a script version stored in a run (the newest, or --version N): what `xnas resume` runs.
    ShowScript(show_script::ShowScriptArgs),
    /// Write a run's report: Pareto front (CSV, SVG), Table 1, hypervolume per generation, what the search found.
    Report(report::ReportArgs),
    /// Runs side by side: Table 1 with a row per run, their fronts and hypervolumes from one reference point.
    Compare(compare::CompareArgs),
    /// Facts about the NAS-Bench-201 cell space: one architecture, or counts over all of them.
    #[command(subcommand)]
    Space(space::SpaceCommand),
    /// Tables of measurements: a run's records as one file that `xnas run --table` replays searches from.
    #[command(subcommand)]
    Table(table::TableCommand),
    /// Train and score one architecture; print a summary or the measurement record as JSON.
    #[command(disable_help_flag = true)]
    Eval(worker::HandOff),
    /// Compile an experiment script and dry-run its objectives, repair and callback (no training).
    Check(check::CheckArgs),
    /// Fine-tune a saved model to push a confounded class pair apart (appendix K), before/after report.
    #[command(disable_help_flag = true)]
    Repair(worker::HandOff),
    /// Write a model a run kept (or `xnas eval --save` saved) for PyTorch: xautodl TinyNetwork state dict + JSON.
    Export(export::ExportArgs),
    /// Re-score a stored measurement record (plain, WordNet, ω) and list its most confounded class pairs.
    Inspect(inspect::InspectArgs),
    /// WordNet behind the weighted introspectability: label similarity matrices and hypernym paths.
    #[command(subcommand)]
    Wordnet(wordnet::WordnetCommand),
    /// Non-dominated points (or every point's front rank) of the point sets in a file, like moocore's `nondominated`.
    Pareto(pareto::ParetoArgs),
    /// Exact hypervolume of each point set in a file, like moocore's `hv`.
    Hv(hv::HvArgs),
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Resume(args) => run::run_resume(args),
        Command::Refine(args) => refine::run(args),
        Command::Status(args) => report::run_status(args),
        Command::Report(args) => report::run_report(args),
        Command::Compare(args) => compare::run(args),
        Command::ShowScript(args) => show_script::run(args),
        Command::Space(cmd) => space::run(cmd),
        Command::Table(cmd) => table::run(cmd),
        Command::Eval(_) | Command::Repair(_) => worker::hand_off(),
        Command::Check(args) => check::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Export(args) => export::run(args),
        Command::Wordnet(cmd) => wordnet::run(cmd),
        Command::Pareto(args) => pareto::run(args),
        Command::Hv(args) => hv::run(args),
    }
}

/// Reads a command's input: the file, or standard input for `-` or no file; with a name for errors.
pub(crate) fn read_input(file: Option<&std::path::Path>) -> anyhow::Result<(String, String)> {
    use anyhow::Context;
    use std::io::Read;
    match file {
        Some(path) if path.as_os_str() != "-" => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            Ok((text, path.display().to_string()))
        }
        _ => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).context("reading standard input")?;
            Ok((text, "standard input".to_string()))
        }
    }
}

/// The point sets of `xnas hv` and `xnas pareto` input: one point per line, sets apart by blank
/// lines. Input without a single point is an error, not an empty answer.
pub(crate) fn point_sets(text: &str, source: &str) -> anyhow::Result<Vec<Vec<Vec<f64>>>> {
    use anyhow::Context;
    let sets = xnas_moo::parse_point_sets(text).with_context(|| format!("reading points from {source}"))?;
    anyhow::ensure!(
        !sets.is_empty(),
        "no points in {source}: give one point per line (numbers apart by spaces or commas), sets apart by a blank line"
    );
    Ok(sets)
}
