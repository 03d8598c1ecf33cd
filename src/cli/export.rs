//! `xnas export RUN --id N [--out DIR]` (N: the report's candidate id; `--evaluation N` for a log
//! line's `#N`) and `xnas export --model DIR [--out DIR]`: write a model a
//! run kept (or one saved by `xnas eval --save`) as PyTorch loads it — the state dict of
//! xautodl's NAS-Bench-201 `TinyNetwork`, a JSON description (arch, C, N, classes, input
//! normalisation) and a check file of xnas's logits on a few held-out images (see
//! `xnas::evaluate::export`). `xnas export RUN --optuna FILE` writes the run as an Optuna journal
//! instead, for optuna-dashboard (see `xnas::run::optuna`).

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["run", "model"])))]
pub struct ExportArgs {
    /// A run folder (runs/NAME); the model is the one it kept for --id.
    pub run: Option<PathBuf>,
    /// The candidate whose kept model to export: the id of the report's tables and CSVs.
    #[arg(long, requires = "run", conflicts_with = "evaluation")]
    pub id: Option<u64>,
    /// Or the evaluation, as the run's log lines number them (`#N`).
    #[arg(long, value_name = "N", requires = "run")]
    pub evaluation: Option<i64>,
    /// Or: a model folder written by `xnas eval ARCH --save DIR` (or a run's models/ID).
    #[arg(long, value_name = "DIR", conflicts_with = "run")]
    pub model: Option<PathBuf>,
    /// Where to write the export (default: RUN/exports/ID, or DIR/export for --model).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Instead of a model: write the whole run as an Optuna journal (one trial per candidate,
    /// values under the latest script version) to FILE, replacing it; open it with
    /// `optuna-dashboard FILE`.
    #[arg(long, value_name = "FILE", requires = "run", conflicts_with_all = ["id", "evaluation", "model", "out"])]
    pub optuna: Option<PathBuf>,
}

/// `--optuna FILE`: the run as a fresh Optuna journal. `Ok(false)` when the flag is not given.
fn export_optuna(args: &ExportArgs) -> anyhow::Result<bool> {
    let (Some(run), Some(file)) = (&args.run, &args.optuna) else { return Ok(false) };
    let written = xnas::run::optuna::export_journal(run, file)?;
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
    Ok(true)
}

#[cfg(feature = "torch")]
pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    if export_optuna(&args)? {
        return Ok(());
    }
    use xnas::evaluate::export::{export_model, CHECK_FILE, DESCRIPTION_FILE, STATE_DICT_FILE};

    let (model_dir, default_out) = match (&args.run, &args.model) {
        (Some(run), _) => {
            use xnas::run::ModelId;
            let (id, folder) = match (args.id, args.evaluation) {
                (Some(candidate), _) => (ModelId::Candidate(candidate), candidate.to_string()),
                (None, Some(evaluation)) => (ModelId::Evaluation(evaluation), format!("evaluation-{evaluation}")),
                (None, None) => {
                    let kept: Vec<String> = xnas::run::kept_candidates(run)?.iter().map(u64::to_string).collect();
                    anyhow::bail!(
                        "say which model to export: --id N, a candidate id of the report; {} keeps the models of {}",
                        run.display(),
                        if kept.is_empty() { "none".to_string() } else { kept.join(", ") }
                    )
                }
            };
            (xnas::run::kept_model(run, id)?, run.join("exports").join(folder))
        }
        (None, Some(dir)) => (dir.clone(), dir.join("export")),
        (None, None) => unreachable!("clap requires RUN or --model"),
    };
    let out = args.out.unwrap_or(default_out);
    let exported = export_model(&model_dir, &out)?;
    let d = &exported.description;
    eprintln!(
        "exported {} (C={}, N={}, {} classes) from {} to {}:",
        d.arch,
        d.channels,
        d.cells_per_stage,
        d.num_classes,
        model_dir.display(),
        out.display()
    );
    eprintln!("  {STATE_DICT_FILE}  the state dict of xautodl's TinyNetwork (load_state_dict strict=True)");
    eprintln!("  {DESCRIPTION_FILE}  arch, C, N, classes, input shape and normalisation");
    match &exported.check_skipped {
        None => eprintln!("  {CHECK_FILE}  xnas's logits on the first held-out images, to check a load against"),
        Some(why) => eprintln!("  (no {CHECK_FILE}: {why})"),
    }
    if d.input_channels_replicate.is_some() {
        eprintln!("  the model was trained on 1-channel images: normalise, then repeat the image over 3 channels");
    }
    println!("{}", out.display());
    Ok(())
}

#[cfg(not(feature = "torch"))]
pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    if export_optuna(&args)? {
        return Ok(());
    }
    anyhow::bail!(
        "this xnas was built without the `torch` feature, so it cannot load models; rebuild with default features"
    )
}
