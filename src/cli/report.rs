//! `xnas report RUN_DIR` and `xnas status RUN_DIR`: read a run's store (also while it runs) and
//! write the report files, or print where the run stands.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use xnas::output::{check_output_dir, only_files, StagedDir};
use xnas::report::input::Table1Over;
use xnas::report::{write_report, ReportPoint};
use xnas::run_dir::RunDir;
use xnas::store::{EvalStatus, Store};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run folder (runs/NAME).
    pub run_dir: PathBuf,
    /// Where to write the report (default: RUN_DIR/report).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// WordNet synsets whose classes the PCA figure (Fig. 6) colours, comma-separated, e.g.
    /// `primate.n.02,bovid.n.01` (default: the two largest hypernym groups among the labels).
    #[arg(long, value_delimiter = ',', value_name = "SYNSETS")]
    pub highlight: Option<Vec<String>>,
    /// What Table 1's population-level statistics are over: the run's final population (the
    /// paper's Table 1; a refined run's is its source's with the front replaced by the retraining)
    /// or every evaluation of the run.
    #[arg(long, value_parser = table1_over(), default_value = "final-population")]
    pub table1_over: Table1Over,
}

/// `--table1-over`'s values, as `xnas report` and `xnas compare` take them.
pub fn table1_over() -> impl clap::builder::TypedValueParser<Value = Table1Over> {
    super::run::stored_name(&[("final-population", ""), ("archive", "")])
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// A run folder (runs/NAME), or several (a study: runs/NAME-s*), one after another.
    #[arg(required = true, num_args = 1..)]
    pub run_dirs: Vec<PathBuf>,
}

pub fn run_report(args: ReportArgs) -> anyhow::Result<()> {
    // A replay's report measures the run against its table; a table that cannot be read any more
    // (moved, say) leaves that section out rather than the report.
    let table = xnas::run::table_cells(&args.run_dir).unwrap_or_else(|e| {
        eprintln!("warning: the run's table cannot be read, so the report leaves out the run's gap to it: {e:#}");
        None
    });
    let options =
        xnas::report::input::ReportOptions { highlight: args.highlight.clone(), table1_over: args.table1_over, table };
    let input = xnas::report::input::report_input_with(&args.run_dir, &options)?;
    let out = args.out.unwrap_or_else(|| RunDir::new(&args.run_dir).file(RunDir::REPORT));
    check_output_dir("--out", &out, earlier_report)?;
    // Written whole beside its place, then swapped in: a kill leaves the old report or the new one.
    let staged = StagedDir::new("--out", &out)?;
    let written =
        write_report(&input, staged.path()).with_context(|| format!("writing the report to {}", out.display()))?;
    let written: Vec<PathBuf> = written.iter().map(|path| staged.final_path(path)).collect();
    staged.commit("--out")?;
    for path in &written {
        println!("{}", path.display());
    }
    eprintln!("open {} in a browser", out.join("index.html").display());
    Ok(())
}

/// An earlier report or comparison, which a new one may replace: `index.html` and nothing but
/// the kinds of files reports write.
pub fn earlier_report(dir: &std::path::Path) -> Result<(), String> {
    only_files(dir, |name| {
        [".csv", ".svg", ".md", ".html", ".json", ".txt"].iter().any(|extension| name.ends_with(extension))
    })?;
    if dir.join("index.html").is_file() {
        Ok(())
    } else {
        Err("it holds no index.html, so it is no earlier report".into())
    }
}

pub fn run_status(args: StatusArgs) -> anyhow::Result<()> {
    if let [run_dir] = args.run_dirs.as_slice() {
        return status(run_dir);
    }
    // A study's seeds: one that cannot be read is said, and the others are still shown.
    let mut unreadable = Vec::new();
    for (i, run_dir) in args.run_dirs.iter().enumerate() {
        if i > 0 {
            println!();
        }
        if let Err(error) = status(run_dir) {
            eprintln!("{}: {error:#}", run_dir.display());
            unreadable.push(run_dir.display().to_string());
        }
    }
    anyhow::ensure!(unreadable.is_empty(), "no status of {} (the lines above say why)", unreadable.join(", "));
    Ok(())
}

fn status(run_dir: &std::path::Path) -> anyhow::Result<()> {
    let store = Store::open_read_only(run_dir)?;
    let info = store.run()?;
    // A head killed with -9 leaves its evaluations `running` in the store: without a live holder
    // of the run's lock, nothing runs them.
    let live = xnas::run_dir::RunLock::holder(run_dir).is_some();
    let counts = if live { store.counts()? } else { store.counts()?.not_running() };
    let generations = store.generations()?;
    println!("run {} ({})", info.name, run_dir.display());
    // The same words as the run's own summary (see `StatusCounts`'s Display).
    println!("evaluations: {counts}");
    if let Some(execution) = store.execution::<xnas::run::Execution>()? {
        println!("execution: {execution}");
    }
    let all = store.evaluations(None)?;
    let retried = all.iter().filter(|e| e.attempt > 1).count();
    if retried > 0 {
        println!("retried: {retried} evaluation(s) needed more than one attempt (see the attempts table)");
    }
    for e in all.iter().filter(|e| e.status == EvalStatus::Running) {
        let (state, place) = match live {
            true => ("running", format!(" on {}", e.device.as_deref().unwrap_or("?"))),
            false => ("interrupted", String::new()),
        };
        println!("  {state}: #{} {}{place} (attempt {})", e.candidate, e.genome.compact(), e.attempt);
    }
    if !live && counts.interrupted + counts.queued > 0 {
        println!(
            "no xnas process runs this search now: `xnas resume {}` runs the interrupted and queued evaluations again",
            run_dir.display()
        );
    }
    let input = xnas::report::input::report_input(run_dir)?;
    let stops = input.early_stops();
    if stops.stopped > 0 {
        println!("early stopping: {stops}");
    }
    println!("generations saved: {}", generations.len());
    for (g, hv) in &input.hypervolume_per_generation {
        println!("  generation {g:>3}: hypervolume {hv:.4}");
    }
    println!("current front ({} architecture(s)):", input.front.len());
    let mut front: Vec<&ReportPoint> = input.front.iter().map(|&i| &input.points[i]).collect();
    front.sort_by(|a, b| b.accuracy.unwrap_or(0.0).total_cmp(&a.accuracy.unwrap_or(0.0)));
    for p in front {
        let objectives: Vec<String> = input
            .objective_names
            .iter()
            .zip(p.objectives.iter().flatten())
            .map(|(n, v)| format!("{n} {v:.4}"))
            .collect();
        println!("  {} {}  (generation {})", p.genome, objectives.join(", "), p.generation);
    }
    Ok(())
}
