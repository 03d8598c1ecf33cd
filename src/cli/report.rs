//! `xnas report RUN_DIR` and `xnas status RUN_DIR`: read a run's store (also while it runs) and
//! write the report files, or print where the run stands.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use xnas_moo::Direction;

use xnas::report::{write_report, ReportInput, ReportPoint};
use xnas::script::ExperimentSpec;
use xnas::store::{EvalStatus, Store};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run folder (runs/NAME).
    pub run_dir: PathBuf,
    /// Where to write the report (default: RUN_DIR/report).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// A run folder (runs/NAME).
    pub run_dir: PathBuf,
}

/// Everything a report shows, read from a run's store with its latest script version's scores.
pub fn report_input(run_dir: &Path) -> anyhow::Result<ReportInput> {
    let store = Store::open_read_only(run_dir)?;
    let info = store.run()?;
    let version = store.latest_script_version()?.context("the run has no script version yet")?;
    let spec: ExperimentSpec = serde_json::from_value(version.config.clone())
        .context("reading the experiment settings stored with the latest script version")?;
    let scores: HashMap<i64, Vec<f64>> =
        store.scores(version.id)?.into_iter().filter_map(|s| s.result.ok().map(|v| (s.evaluation, v))).collect();
    let mut points = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in store.evaluations(Some(EvalStatus::Done))? {
        let Some(record) = e.record else { continue };
        // A reused evaluation repeats an earlier one: show each trained network once.
        let origin = e.reused_from.unwrap_or(e.id);
        if !seen.insert(origin) {
            continue;
        }
        points.push(ReportPoint {
            id: e.candidate,
            genome: e.genome.compact(),
            arch: e.genome.arch_string(),
            // Candidates of the initial population are born in generation 1, as saved generations count.
            generation: e.generation + 1,
            accuracy: record.val_accuracy,
            introspectability: record.introspectability,
            objectives: scores.get(&e.id).or_else(|| scores.get(&origin)).cloned(),
            params: record.params,
            flops: record.flops,
        });
    }
    let directions = spec.directions();
    let scored: Vec<usize> = (0..points.len()).filter(|&i| points[i].objectives.is_some()).collect();
    let objective_rows: Vec<&Vec<f64>> = scored.iter().map(|&i| points[i].objectives.as_ref().unwrap()).collect();
    let ranks = xnas_moo::pareto_ranks_directed(&objective_rows, &directions).unwrap_or_default();
    let front: Vec<usize> = scored.iter().zip(&ranks).filter(|(_, &r)| r == 0).map(|(&i, _)| i).collect();
    let versions: HashMap<i64, HashMap<u64, f64>> = store
        .script_versions()?
        .iter()
        .map(|v| Ok((v.id, store.hypervolumes(v.id)?.into_iter().collect())))
        .collect::<anyhow::Result<_>>()?;
    let hypervolume_per_generation = store
        .generations()?
        .iter()
        .filter_map(|g| {
            versions.get(&g.script_version).and_then(|m| m.get(&g.generation)).map(|&hv| (g.generation, hv))
        })
        .collect();
    Ok(ReportInput {
        run_name: info.name,
        dataset: spec.dataset.name.to_string(),
        num_classes: spec.dataset.name.num_classes(),
        objective_names: spec.objectives.iter().map(|o| o.name.clone()).collect(),
        maximise: directions.iter().map(|d| *d == Direction::Maximise).collect(),
        reference_point: spec.reference_point.clone(),
        points,
        front,
        hypervolume_per_generation,
    })
}

pub fn run_report(args: ReportArgs) -> anyhow::Result<()> {
    let input = report_input(&args.run_dir)?;
    let out = args.out.unwrap_or_else(|| args.run_dir.join("report"));
    let written = write_report(&input, &out).with_context(|| format!("writing the report to {}", out.display()))?;
    for path in &written {
        println!("{}", path.display());
    }
    eprintln!("open {} in a browser", out.join("index.html").display());
    Ok(())
}

pub fn run_status(args: StatusArgs) -> anyhow::Result<()> {
    let store = Store::open_read_only(&args.run_dir)?;
    let info = store.run()?;
    let counts = store.counts()?;
    let generations = store.generations()?;
    println!("run {} ({})", info.name, args.run_dir.display());
    // The same words as the run's own summary (see `StatusCounts`'s Display).
    println!("evaluations: {counts}");
    if let Some(execution) = store.execution()? {
        let get = |key: &str| execution.get(key).map(|v| v.to_string().trim_matches('"').to_string());
        let executor = get("executor").unwrap_or_else(|| "local".into());
        let place = match executor.as_str() {
            "ray" => format!("ray at {}", get("ray_address").unwrap_or_default()),
            _ => format!(
                "local, {} job(s) per device{}",
                get("jobs_per_device").unwrap_or_else(|| "1".into()),
                get("devices").filter(|d| d != "null").map(|d| format!(" on {d}")).unwrap_or_default()
            ),
        };
        println!("execution: {place}, {} scheduling", get("scheduling").unwrap_or_else(|| "generational".into()));
    }
    let all = store.evaluations(None)?;
    let retried = all.iter().filter(|e| e.attempt > 1).count();
    if retried > 0 {
        println!("retried: {retried} evaluation(s) needed more than one attempt (see the attempts table)");
    }
    for e in all.iter().filter(|e| e.status == EvalStatus::Running) {
        println!(
            "  running: #{} {} on {} (attempt {})",
            e.id,
            e.genome.compact(),
            e.device.as_deref().unwrap_or("?"),
            e.attempt
        );
    }
    let input = report_input(&args.run_dir)?;
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
