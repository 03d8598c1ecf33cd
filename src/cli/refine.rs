//! `xnas refine RUN --regularizer W [--name NAME]`: the paper's ✓+reg — RUN's final front trained
//! again with the introspectability regularizer, as a new run (see `xnas::run::refine`).

use std::path::PathBuf;

use clap::Args;

use super::run::ExecutionArgs;
use xnas::run::{refine, refined_run_name, RunOptions};
use xnas::run_dir::default_run_dir;
use xnas::store::Store;

#[derive(Debug, Args)]
pub struct RefineArgs {
    /// The finished run whose front to train again (runs/NAME).
    pub run: PathBuf,
    /// Weight of the introspectability loss (appendix B; ω all ones unless the script sets training.omega).
    #[arg(long, default_value_t = 0.5)]
    pub regularizer: f64,
    /// Name of the new run: results go to runs/NAME (default: RUN's folder name and `-refined`).
    #[arg(long)]
    pub name: Option<String>,
    /// Results folder anywhere (overrides --name); new, empty, or an earlier failed start's.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Train on this device (cpu, cuda, cuda:N, auto) whatever the script says.
    #[arg(long)]
    pub device: Option<String>,
    #[command(flatten)]
    pub execution: ExecutionArgs,
}

pub fn run(args: RefineArgs) -> anyhow::Result<()> {
    let run_dir = match (&args.dir, &args.name) {
        (Some(dir), _) => dir.clone(),
        (None, Some(name)) => default_run_dir(name)?,
        (None, None) => default_run_dir(&refined_run_name(&args.run))?,
    };
    let options = RunOptions {
        watch: false,
        device: args.device,
        program: super::worker::worker_program()?,
        progress: true,
        execution: args.execution.into(),
        from: None,
    };
    let summary = refine(&args.run, args.regularizer, &run_dir, &options)?;
    let counts = Store::open_read_only(&summary.run_dir)?.counts()?;
    println!(
        "run {}: the front of {} trained again with the regularizer {}: {} trained, {} reused, {} failed",
        summary.run_dir.display(),
        args.run.display(),
        args.regularizer,
        summary.trained,
        summary.reused,
        summary.failed
    );
    println!("evaluations: {counts}");
    println!("compare: xnas compare {} {}", args.run.display(), summary.run_dir.display());
    Ok(())
}
