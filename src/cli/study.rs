//! `xnas run SCRIPT --seeds LIST` and `xnas resume RUN RUN…`: a study, the experiment once per
//! search seed, each seed an ordinary run in `runs/NAME-s<seed>` (the design is
//! `xnas::run::study`'s). Here: the flags a study refuses, each seed's closing lines, and one
//! exit status that says whether every seed finished.

use std::path::PathBuf;

use anyhow::Context;

use super::run::{options, parse_overrides, print_summary, RunArgs};
use xnas::run::{resume_study, seed_folders, start_study, ResumeChanges, RunOptions, SeedOutcome, Seeds, StudyError};

/// `xnas run SCRIPT --seeds LIST`.
pub fn run_seeds(args: RunArgs) -> anyhow::Result<()> {
    let seeds: Seeds = args.seeds.as_deref().unwrap_or_default().parse()?;
    if args.dir.is_some() {
        return Err(StudyError::DirGiven.into());
    }
    let overrides = parse_overrides(&args.overrides)?;
    let name = match args.name {
        Some(name) => name,
        None => {
            let mut experiment = xnas::script::compile_file(&args.script)?;
            experiment.apply_overrides(&overrides)?;
            experiment.name().to_string()
        }
    };
    let folders = seed_folders(&name, &seeds)?;
    let options = RunOptions { from: args.from, ..options(args.watch, args.device, args.execution)? };
    let outcomes = start_study(&args.script, &folders, &overrides, &options)?;
    print_outcomes(outcomes, &format!("runs/{name}-s*"))
}

/// `xnas resume RUN RUN…`: every run resumed in turn (a finished one resumes to nothing).
pub fn resume_seeds(run_dirs: &[PathBuf], options: &RunOptions, changes: &ResumeChanges) -> anyhow::Result<()> {
    let outcomes = resume_study(run_dirs, options, changes);
    let shown: Vec<String> = run_dirs.iter().map(|d| d.display().to_string()).collect();
    print_outcomes(outcomes, &shown.join(" "))
}

/// Each seed's closing lines, then which seeds did not finish; an error when any did not.
fn print_outcomes(outcomes: Vec<SeedOutcome>, study: &str) -> anyhow::Result<()> {
    let mut failed = Vec::new();
    for outcome in outcomes {
        let ended = outcome.result.and_then(|summary| print_summary(&summary));
        if let Err(error) = ended {
            eprintln!("seed {} ({}) failed: {error:#}", outcome.seed, outcome.run_dir.display());
            failed.push(outcome.run_dir);
        }
    }
    if failed.is_empty() {
        println!("study: every seed finished; compare groups with xnas compare --group \"LABEL={study}\" …");
        return Ok(());
    }
    let failed: Vec<String> = failed.iter().map(|d| d.display().to_string()).collect();
    Err(anyhow::anyhow!(
        "{} seed run(s) did not finish: {} (the lines above say why); once fixed, `xnas resume {}` continues them \
         (what finished is kept)",
        failed.len(),
        failed.join(", "),
        failed.join(" ")
    ))
    .context("the study is incomplete")
}
