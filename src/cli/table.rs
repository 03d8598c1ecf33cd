//! `xnas table export RUN FILE`: a run's finished records as one table file (gzip JSON lines with
//! a header saying the training configurations they were made with), which `xnas run --table
//! FILE` replays searches from as it would from the run folder.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use xnas::output::{check_output_file, StagedFile};
use xnas::run::{export_table, is_table_file};

#[derive(Debug, Subcommand)]
pub enum TableCommand {
    /// Write a run's finished records (e.g. an exhaustive search's) as a table file for `xnas run --table FILE`.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run folder (runs/NAME) whose finished evaluations make the table.
    pub run_dir: PathBuf,
    /// The table file to write (gzip JSON lines, e.g. table.jsonl.gz); an earlier table file is replaced.
    pub file: PathBuf,
}

pub fn run(command: TableCommand) -> anyhow::Result<()> {
    match command {
        TableCommand::Export(args) => export(args),
    }
}

fn export(args: ExportArgs) -> anyhow::Result<()> {
    let what = "xnas table export";
    check_output_file(what, &args.file, false, is_table_file)?;
    let staged = StagedFile::new(what, &args.file)?;
    let header = export_table(&args.run_dir, staged.path())?;
    staged.commit(what)?;
    let records: usize = header.configurations.iter().map(|c| c.records).sum();
    println!(
        "{}: {records} record(s) of {} under {} training configuration(s); replay with xnas run SCRIPT --table {}",
        args.file.display(),
        args.run_dir.display(),
        header.configurations.len(),
        args.file.display()
    );
    for configuration in &header.configurations {
        let c = &configuration.config;
        println!(
            "  {} record(s): {}, {} epoch(s), training hash {}",
            configuration.records,
            serde_json::to_value(c.dataset).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            c.epochs,
            configuration.training_hash.get(..12).unwrap_or(&configuration.training_hash)
        )
    }
    Ok(())
}
