//! `xnas export RUN --id N [--out DIR]` (N: the candidate id the report, the log and
//! `models/` show; `--evaluation N` for the store's evaluation id) and
//! `xnas export --model DIR [--out DIR]`: write a model a run kept (or one saved by
//! `xnas eval --save`) as PyTorch loads it — the state dict of xautodl's NAS-Bench-201
//! `TinyNetwork`, a JSON description (arch, C, N, classes, input normalisation) and a check
//! file of xnas's logits on a few held-out images (see `xnas::evaluate::export`).

#[path = "../cli/export_args.rs"]
mod export_args;
pub use export_args::ExportArgs;

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.optuna.is_none(), "the head writes Optuna journals: run `xnas export RUN --optuna FILE`");
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
