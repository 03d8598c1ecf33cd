//! `xnas export RUN --id N [--out DIR]` (N: the candidate id the report, the log and
//! `models/` show; `--evaluation N` for the store's evaluation id) and
//! `xnas export --model DIR [--out DIR]`: write a model a run kept (or one saved by
//! `xnas eval --save`) as PyTorch loads it. Loading a model needs libtorch, so the head checks
//! the flags and hands the command line to `xnas-worker` (`src/worker/export.rs`).
//! `xnas export RUN --optuna FILE` writes the run as an Optuna journal instead, for
//! optuna-dashboard (see `xnas::run::optuna`): that needs no libtorch and stays here.

pub use super::export_args::ExportArgs;

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    match (&args.run, &args.optuna) {
        (Some(run), Some(file)) => export_optuna(run, file),
        _ => super::worker::hand_off(),
    }
}

/// `--optuna FILE`: the run as a fresh Optuna journal.
fn export_optuna(run: &std::path::Path, file: &std::path::Path) -> anyhow::Result<()> {
    let written = xnas::optuna::export_journal(run, file)?;
    eprintln!(
        "wrote study {:?} of {} to {}: {} trial(s), {} complete, {} failed, {} running",
        written.study,
        run.display(),
        file.display(),
        written.trials,
        written.complete,
        written.failed,
        written.running
    );
    eprintln!("  open it with: optuna-dashboard {}", file.display());
    println!("{}", file.display());
    Ok(())
}
