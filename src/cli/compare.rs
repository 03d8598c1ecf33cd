//! `xnas compare RUN RUN… [--out DIR]`: runs side by side — Table 1 with one row per run in the
//! order given, every front in the report axes (one panel per run and an overlay), and every run's
//! hypervolume per generation, all from one reference point.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use xnas::output::{check_output_dir, StagedDir};
use xnas::report::compare::{files, table_markdown, ComparedRun};

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Run folders (runs/NAME), in the order the table lists them.
    #[arg(required = true, num_args = 1..)]
    pub runs: Vec<PathBuf>,
    /// Where to write the comparison (default: runs/compare).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    let mut runs = Vec::with_capacity(args.runs.len());
    for dir in &args.runs {
        let input = xnas::run::report_input(dir).with_context(|| format!("reading the run {}", dir.display()))?;
        runs.push(ComparedRun { folder: dir.display().to_string(), input });
    }
    let datasets: Vec<&str> = runs.iter().map(|r| r.input.dataset.as_str()).collect();
    if datasets.windows(2).any(|w| w[0] != w[1]) {
        eprintln!(
            "warning: the runs use different datasets ({}); hypervolumes share the first run's reference point",
            datasets.join(", ")
        );
    }
    warn_of_mismatches(&runs);
    let out = args.out.unwrap_or_else(|| PathBuf::from("runs").join("compare"));
    check_output_dir("--out", &out, super::report::earlier_report)?;
    // Written whole beside its place, then swapped in: a kill leaves the old comparison or the new one.
    let staged = StagedDir::new("--out", &out)?;
    for (name, text) in files(&runs) {
        let path = staged.path().join(&name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", out.join(&name).display()))?;
    }
    staged.commit("--out")?;
    print!("{}", table_markdown(&runs));
    eprintln!("open {} in a browser", out.join("index.html").display());
    Ok(())
}

/// Says what makes the runs' rows less comparable than they look: a run listed twice, searches
/// with other objective counts or reference points (the figures compare all of them in the report
/// axes from one reference point, which is not what each search optimised).
fn warn_of_mismatches(runs: &[ComparedRun]) {
    let canonical = |folder: &str| std::fs::canonicalize(folder).unwrap_or_else(|_| PathBuf::from(folder));
    for (i, a) in runs.iter().enumerate() {
        if let Some(b) = runs[..i].iter().find(|b| canonical(&b.folder) == canonical(&a.folder)) {
            eprintln!(
                "warning: the run {} is listed twice (as {} and {}): its rows are one run",
                a.folder, b.folder, a.folder
            );
        }
    }
    let first = &runs[0].input;
    for run in &runs[1..] {
        let input = &run.input;
        if input.objective_names.len() != first.objective_names.len() {
            eprintln!(
                "warning: {} searched {} objective(s) ({}), {} searched {} ({}); the comparison is in the report axes, \
                 not in what each search optimised",
                runs[0].folder,
                first.objective_names.len(),
                first.objective_names.join(", "),
                run.folder,
                input.objective_names.len(),
                input.objective_names.join(", ")
            );
        } else if input.reference_point != first.reference_point {
            eprintln!(
                "warning: {} searched with the reference point {:?}, {} with {:?}; their own hypervolumes differ in \
                 meaning, and the comparison's share one reference in the report axes",
                runs[0].folder, first.reference_point, run.folder, input.reference_point
            );
        }
    }
}
