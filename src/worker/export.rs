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
    use xnas::output::{check_output_dir, only_files, StagedDir};

    let (model_dir, default_out) = match (&args.run, &args.model) {
        (Some(run), _) => {
            use xnas::run_dir::{ModelId, RunDir};
            let run = RunDir::new(run);
            let (id, folder) = match (args.id, args.evaluation) {
                (Some(candidate), _) => (ModelId::Candidate(candidate), candidate.to_string()),
                (None, Some(evaluation)) => (ModelId::Evaluation(evaluation), format!("evaluation-{evaluation}")),
                (None, None) => {
                    let kept: Vec<String> = run.kept_candidates()?.iter().map(u64::to_string).collect();
                    anyhow::bail!(
                        "say which model to export: --id N, a candidate id of the report; {} keeps the models of {}",
                        run.path().display(),
                        if kept.is_empty() { "none".to_string() } else { kept.join(", ") }
                    )
                }
            };
            (run.kept_model(id)?, run.file(RunDir::EXPORTS).join(folder))
        }
        (None, Some(dir)) => (dir.clone(), dir.join("export")),
        (None, None) => unreachable!("clap requires RUN or --model"),
    };
    let out = args.out.unwrap_or(default_out);
    // Written whole beside its place, then swapped in: a kill leaves the old export or the new one.
    let staged = StagedDir::new("--out", &out)?;
    let exported = export_model(&model_dir, staged.path())?;
    check_output_dir("--out", &out, |earlier| {
        only_files(earlier, |name| [STATE_DICT_FILE, DESCRIPTION_FILE, CHECK_FILE].contains(&name))?;
        same_model(&earlier.join(DESCRIPTION_FILE), &staged.path().join(DESCRIPTION_FILE))
    })?;
    staged.commit("--out")?;
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

/// Whether the export described at `earlier` is of the model described at `new` (same
/// architecture, size and classes): an earlier export of it, which a new export may replace.
fn same_model(earlier: &std::path::Path, new: &std::path::Path) -> Result<(), String> {
    use xnas::evaluate::export::DESCRIPTION_FILE;
    let read = |path: &std::path::Path| -> Result<serde_json::Value, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    };
    let no_export = |why: String| format!("it holds a {DESCRIPTION_FILE} this command did not write ({why})");
    let (earlier, new) = (read(earlier).map_err(no_export)?, read(new)?);
    if earlier.get("arch").is_none() {
        return Err(no_export("it names no arch".into()));
    }
    let identity = |d: &serde_json::Value| ["arch", "C", "N", "num_classes", "class_names"].map(|k| d.get(k).cloned());
    if identity(&earlier) == identity(&new) {
        Ok(())
    } else {
        Err(format!(
            "it holds the export of another model ({})",
            earlier.get("arch").map_or("?".into(), |a| a.to_string())
        ))
    }
}
