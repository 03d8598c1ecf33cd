//! `xnas check SCRIPT [--set key=value]...`: compile an experiment script, check what `xnas run`
//! checks before it starts (training settings, data files, devices: `xnas::run::preflight`) and
//! dry-run its objectives, repair and callback on a synthetic measurement record and toy genomes,
//! without training; print the experiment's summary and `ok`, or the error with file:line:column.
//! With `--replay RUN`, also replay the script's early-stopping rule over a finished run; with
//! `--table TABLE`, score every cell the table holds with the script's objectives and print the
//! true front under them.

use std::path::PathBuf;

use clap::Args;

use xnas::run::{preflight, Execution};
use xnas::script;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The experiment script (e.g. experiments/quickstart.rhai).
    pub script: PathBuf,
    /// Override a setting as `xnas run` would, e.g. `--set search.population=16`; repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Also replay the script's early-stopping rule (exp.stop_early) over a finished run that
    /// measured its epochs (training.epoch_validation): which candidates it would have stopped,
    /// the epochs saved, and the run's front members among them.
    #[arg(long, value_name = "RUN")]
    pub replay: Option<PathBuf>,
    /// Also score every cell of the script's space that this table (a run folder or a table file)
    /// holds with the script's objectives, and print the true front under them: its cells, its
    /// hypervolume from the script's reference point, and how many the reference point leaves out.
    #[arg(long, value_name = "TABLE")]
    pub table: Option<PathBuf>,
    /// With --table: write every scored cell (genome, arch, objectives, on_front) to this CSV file.
    #[arg(long, value_name = "FILE", requires = "table")]
    pub out: Option<PathBuf>,
}

pub fn run(args: CheckArgs) -> anyhow::Result<()> {
    let overrides = args.overrides.iter().map(|s| script::parse_override(s)).collect::<Result<Vec<_>, _>>()?;
    let mut experiment = script::compile_file(&args.script)?;
    experiment.apply_overrides(&overrides)?;
    // Without xnas-worker (a build without libtorch) the check still runs; only a GPU it asks for is refused.
    let worker = super::worker::worker_program().unwrap_or_default();
    let report = preflight(&experiment, &Execution::default(), None, &worker, &[])?;
    println!("{report}");
    if let Some(run) = &args.replay {
        let store = xnas::store::Store::open_read_only(run)?;
        let replay = xnas::run::replay_early_stopping(&experiment, &store)
            .map_err(|e| e.context(format!("replaying the early-stopping rule over {}", run.display())))?;
        println!("{replay}");
    }
    if let Some(path) = &args.table {
        let table = xnas::run::Table::read(path, &experiment.training_hash(), experiment.eval_config())?;
        let landscape = xnas::run::Landscape::of(&experiment, &table)?;
        print!("{landscape}");
        if let Some(out) = &args.out {
            std::fs::write(out, landscape.csv()).map_err(|e| anyhow::anyhow!("writing {}: {e}", out.display()))?;
            println!("every scored cell: {}", out.display());
        }
    }
    Ok(())
}
