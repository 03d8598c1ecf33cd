//! `xnas compare RUN RUN… [--out DIR]`: runs side by side — Table 1 with one row per run in the
//! order given, every front in the report axes (one panel per run and an overlay), and every run's
//! hypervolume per generation, all from one reference point.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

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
    let out = args.out.unwrap_or_else(|| PathBuf::from("runs").join("compare"));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for (name, text) in files(&runs) {
        let path = out.join(&name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    print!("{}", table_markdown(&runs));
    eprintln!("open {} in a browser", out.join("index.html").display());
    Ok(())
}
