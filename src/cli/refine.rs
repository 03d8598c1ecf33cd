//! `xnas refine RUN --regularizer W [--name NAME]`: the paper's ✓+reg — RUN's final front trained
//! again with the introspectability regularizer, as a new run (see `xnas::run::refine`). Several
//! runs (a study's seeds, `runs/NAME-s*`) are refined one after another, seed k into
//! `runs/NAME-refined-s<k>`; one that fails does not stop the others.

use std::path::{Path, PathBuf};

use clap::Args;

use super::run::ExecutionArgs;
use xnas::run::{refine, refined_seed_run_name, RunOptions};
use xnas::run_dir::default_run_dir;
use xnas::store::Store;

#[derive(Debug, Args)]
pub struct RefineArgs {
    /// The finished run whose front to train again (runs/NAME), or several (a study: runs/NAME-s*,
    /// each refined into runs/NAME-refined-s<seed>).
    #[arg(required = true, num_args = 1..)]
    pub runs: Vec<PathBuf>,
    /// Weight of the introspectability loss (appendix B; ω all ones unless the script sets training.omega).
    #[arg(long, default_value_t = 0.5)]
    pub regularizer: f64,
    /// Name of the new run: results go to runs/NAME (default: RUN's folder name and `-refined`, or
    /// for a study's seed NAME-s<k>, NAME-refined-s<k>). One RUN only.
    #[arg(long)]
    pub name: Option<String>,
    /// Results folder anywhere (overrides --name); new, empty, or an earlier failed start's. One RUN only.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Train on this device (cpu, cuda, cuda:N, auto) whatever the script says.
    #[arg(long)]
    pub device: Option<String>,
    #[command(flatten)]
    pub execution: ExecutionArgs,
}

pub fn run(args: RefineArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.runs.len() == 1 || (args.dir.is_none() && args.name.is_none()),
        "--name and --dir name one refined run, and {} runs are given: leave them out, and each run NAME-s<k> is \
         refined into runs/NAME-refined-s<k> (any other run into runs/<its folder>-refined)",
        args.runs.len()
    );
    let options = RunOptions {
        watch: false,
        device: args.device,
        program: super::worker::worker_program()?,
        progress: true,
        execution: args.execution.into(),
        from: None,
    };
    let mut failed = Vec::new();
    for run in &args.runs {
        let run_dir = match (&args.dir, &args.name) {
            (Some(dir), _) => dir.clone(),
            (None, Some(name)) => default_run_dir(name)?,
            (None, None) => default_run_dir(&refined_seed_run_name(run))?,
        };
        if let Err(error) = refine_one(run, args.regularizer, &run_dir, &options) {
            if args.runs.len() == 1 {
                return Err(error);
            }
            eprintln!("the refinement of {} failed: {error:#}", run.display());
            failed.push(run.display().to_string());
        }
    }
    anyhow::ensure!(
        failed.is_empty(),
        "{} of {} refinement(s) did not finish: {} (the lines above say why); a refinement that started \
         continues with `xnas resume` of its folder",
        failed.len(),
        args.runs.len(),
        failed.join(", ")
    );
    Ok(())
}

fn refine_one(run: &Path, regularizer: f64, run_dir: &Path, options: &RunOptions) -> anyhow::Result<()> {
    let summary = refine(run, regularizer, run_dir, options)?;
    let counts = Store::open_read_only(&summary.run_dir)?.counts()?;
    println!(
        "run {}: the front of {} trained again with the regularizer {}: {} trained, {} reused, {} failed",
        summary.run_dir.display(),
        run.display(),
        regularizer,
        summary.trained,
        summary.reused,
        summary.failed
    );
    println!("evaluations: {counts}");
    println!("compare: xnas compare {} {}", run.display(), summary.run_dir.display());
    Ok(())
}
