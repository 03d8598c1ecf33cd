//! `xnas run SCRIPT` and `xnas resume RUN_DIR`: start or continue a search.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::run::{default_run_dir, resume, start, ExecutionArgs, RunOptions, RunSummary};
use crate::script::parse_override;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The experiment script, e.g. experiments/quickstart.rhai.
    pub script: PathBuf,
    /// Run name: results go to runs/NAME (default: the experiment's name).
    #[arg(long)]
    pub name: Option<String>,
    /// Results folder (overrides --name).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Reload the script when it (or a module it imports) changes; applies at the next generation.
    #[arg(long)]
    pub watch: bool,
    /// Train on this device (cpu, cuda, cuda:N, auto) whatever the script says.
    #[arg(long)]
    pub device: Option<String>,
    /// Override a setting, e.g. --set search.population=16 --set training.epochs=1.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    #[command(flatten)]
    pub execution: ExecutionArgs,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// A run folder (runs/NAME).
    pub run_dir: PathBuf,
    #[arg(long)]
    pub watch: bool,
    #[arg(long)]
    pub device: Option<String>,
    /// Execution settings replace those the run saved; the others stay.
    #[command(flatten)]
    pub execution: ExecutionArgs,
}

fn options(watch: bool, device: Option<String>, execution: ExecutionArgs) -> anyhow::Result<RunOptions> {
    Ok(RunOptions {
        watch,
        device,
        program: std::env::current_exe().context("finding the xnas binary to run evaluations")?,
        progress: true,
        execution,
    })
}

fn print_summary(summary: &RunSummary) {
    println!(
        "run {}: {} generation(s), {} candidate(s) evaluated ({} trained, {} reused, {} failed, {} attempt(s) retried), \
         hypervolume {}",
        summary.run_dir.display(),
        summary.generations,
        summary.evaluated,
        summary.trained,
        summary.reused,
        summary.failed,
        summary.retried,
        summary.hypervolume.map_or("n/a".into(), |v| format!("{v:.4}"))
    );
    println!("report: xnas report {}", summary.run_dir.display());
}

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let overrides = args.overrides.iter().map(|o| parse_override(o)).collect::<Result<Vec<_>, _>>()?;
    let run_dir = match (&args.dir, &args.name) {
        (Some(dir), _) => dir.clone(),
        (None, Some(name)) => default_run_dir(name),
        (None, None) => {
            let mut experiment = crate::script::compile_file(&args.script)?;
            experiment.apply_overrides(&overrides)?;
            default_run_dir(experiment.name())
        }
    };
    let summary = start(&args.script, &run_dir, &overrides, &options(args.watch, args.device, args.execution)?)?;
    print_summary(&summary);
    Ok(())
}

pub fn run_resume(args: ResumeArgs) -> anyhow::Result<()> {
    let summary = resume(&args.run_dir, &options(args.watch, args.device, args.execution)?)?;
    print_summary(&summary);
    Ok(())
}
