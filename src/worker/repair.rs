//! `xnas repair DIR`: fine-tune a model saved by `xnas eval --save DIR` with pair weights ω on a
//! confounded class pair (paper appendix K), and print D, the folded confusion and accuracy
//! before and after. `--seeds N` repeats the repair over N seeds (appendix K's study: the paper
//! reports ±0.6 % accuracy across 10 trials); `--report DIR` writes K7/K8's heat maps, the
//! study as JSON and CSV, and an `index.html`.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct RepairArgs {
    /// Folder written by `xnas eval ARCH --save DIR`.
    pub dir: PathBuf,
    /// A pair to push apart, `A,B,WEIGHT` with class indices or names (repeatable), e.g. 3,5,25.
    #[arg(long = "pair", value_name = "A,B,W")]
    pub pairs: Vec<String>,
    /// ω file: lines `CLASS_A CLASS_B WEIGHT`; unlisted pairs weigh 1.
    #[arg(long)]
    pub omega: Option<PathBuf>,
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    #[arg(long, default_value_t = 0.001)]
    pub lr: f64,
    /// Weight of the regularizer in the loss.
    #[arg(long, default_value_t = 0.5)]
    pub regularizer: f64,
    /// Device for fine-tuning (default: the one the model was trained on, or auto).
    #[arg(long)]
    pub device: Option<String>,
    /// Repeat the repair from the saved weights with seeds 0..N and summarise (appendix K: 10).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub seeds: u64,
    /// Write K7/K8 heat maps (before/after, first seed), the study as JSON and CSV and an
    /// index.html into this folder.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON report to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: RepairArgs) -> anyhow::Result<()> {
    use anyhow::Context;

    use xnas::evaluate::finetune::{finetune, FinetuneConfig, RepairStudy};
    use xnas::evaluate::{load_dataset, read_saved_record};
    use xnas::introspect::PairWeights;

    anyhow::ensure!(
        !args.pairs.is_empty() || args.omega.is_some(),
        "say which pair to push apart: --pair A,B,WEIGHT (e.g. --pair 3,5,25) or --omega FILE"
    );
    let saved = read_saved_record(&args.dir)?;
    let mut load_config = saved.config.clone();
    if let Some(device) = &args.device {
        load_config.device = device.clone();
    }
    let dataset = load_dataset(&load_config)?;
    let mut text = String::new();
    if let Some(path) = &args.omega {
        text = std::fs::read_to_string(path).with_context(|| format!("reading the ω file {}", path.display()))?;
    }
    for pair in &args.pairs {
        text.push_str(&format!("\n{pair}"));
    }
    let origin = args.omega.as_ref().map_or("--pair".to_string(), |p| format!("{} and --pair", p.display()));
    let omega = PairWeights::parse(&text, &origin, &dataset.class_names)?;
    let config = FinetuneConfig {
        epochs: args.epochs,
        lr: args.lr,
        regularizer: args.regularizer,
        omega,
        device: args.device.clone(),
        seed: None,
    };
    let seeds: Vec<u64> = if args.seeds == 1 { vec![saved.config.seed] } else { (0..args.seeds).collect() };
    let bar = super::eval::EvalBar::new();
    let mut runs = Vec::new();
    for (i, &seed) in seeds.iter().enumerate() {
        if seeds.len() > 1 {
            bar.note(format!("repair with seed {seed} ({} of {})", i + 1, seeds.len()));
        }
        let settings = FinetuneConfig { seed: Some(seed), ..config.clone() };
        runs.push(finetune(&args.dir, &settings, &dataset, &mut |e| bar.update(e))?);
    }
    bar.finish();
    let study = RepairStudy::summarise(seeds, runs);
    let json = if study.runs.len() == 1 {
        serde_json::to_string_pretty(&study.runs[0])?
    } else {
        serde_json::to_string_pretty(&study)?
    };
    if let Some(path) = &args.out {
        std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(dir) = &args.report {
        write_report(dir, &study, &dataset.class_names, &args)
            .with_context(|| format!("writing the repair report to {}", dir.display()))?;
    }
    if args.json {
        println!("{json}");
        return Ok(());
    }
    let names = &dataset.class_names;
    let opt = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{v:.4}"));
    let report = &study.runs[0];
    println!("repair of {} ({} epochs at lr {}, regularizer {})", report.arch, args.epochs, args.lr, args.regularizer);
    if study.runs.len() > 1 {
        print_study(&study, names);
        return Ok(());
    }
    if let Some(e) = &report.error {
        println!("fine-tuning failed: {e}");
    }
    println!(
        "accuracy          {:.2}% → {:.2}% ({:+.2} points)",
        100.0 * report.before.accuracy,
        100.0 * report.after.accuracy,
        100.0 * report.accuracy_change
    );
    println!("introspectability {} → {}", opt(report.before.introspectability), opt(report.after.introspectability));
    println!(
        "ρ(−D, folded confusion) Spearman {} → {}",
        opt(report.before.diagnostic.spearman),
        opt(report.after.diagnostic.spearman)
    );
    for t in &report.targeted {
        println!(
            "pair {} / {} (ω {}): distance {} → {}, confused {} → {}",
            names[t.a],
            names[t.b],
            t.omega,
            opt(t.distance_before),
            opt(t.distance_after),
            t.confused_before,
            t.confused_after
        );
    }
    Ok(())
}

fn spread_text(spread: Option<xnas::evaluate::finetune::Spread>, scale: f64, unit: &str) -> String {
    match spread {
        Some(s) => match s.std {
            Some(std) => {
                format!("{:+.3}{unit} ± {:.3}{unit} (mean ± sd over {})", scale * s.mean, scale * std, s.count)
            }
            None => format!("{:+.3}{unit} (one run)", scale * s.mean),
        },
        None => "n/a".into(),
    }
}

fn print_study(study: &xnas::evaluate::finetune::RepairStudy, names: &[String]) {
    println!("{} seeds ({} diverged and are left out)", study.seeds.len(), study.failed);
    println!("accuracy change          {}", spread_text(study.accuracy_change, 100.0, " points"));
    println!("introspectability change {}", spread_text(study.introspectability_change, 1.0, ""));
    for p in &study.pairs {
        println!(
            "pair {} / {} (ω {}): distance change {}, confusions change {}",
            names[p.a],
            names[p.b],
            p.omega,
            spread_text(p.distance_change, 1.0, ""),
            spread_text(p.confusion_change, 1.0, "")
        );
    }
}

/// K7/K8 heat maps of the first seed, the study as JSON and CSV, and a page that shows them.
fn write_report(
    dir: &std::path::Path,
    study: &xnas::evaluate::finetune::RepairStudy,
    class_names: &[String],
    args: &RepairArgs,
) -> anyhow::Result<()> {
    use std::fmt::Write as _;

    std::fs::create_dir_all(dir)?;
    let first = &study.runs[0];
    let svg = xnas::report::trust::k_heat_maps_svg(
        &[
            ("K7, before", &first.before.class_distance, &first.before.folded_confusion),
            ("K8, after", &first.after.class_distance, &first.after.folded_confusion),
        ],
        class_names,
    );
    std::fs::write(dir.join("k7_k8_heat_maps.svg"), svg)?;
    std::fs::write(dir.join("repair_study.json"), serde_json::to_string_pretty(study)?)?;
    let mut csv = String::from(
        "seed,accuracy_before,accuracy_after,accuracy_change,introspectability_before,introspectability_after",
    );
    for p in &first.targeted {
        let _ = write!(
            csv,
            ",distance_{a}_{b}_before,distance_{a}_{b}_after,confused_{a}_{b}_before,confused_{a}_{b}_after",
            a = p.a,
            b = p.b
        );
    }
    csv.push_str(",error\n");
    let num = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v:.6}"));
    for (seed, run) in study.seeds.iter().zip(&study.runs) {
        let _ = write!(
            csv,
            "{seed},{:.6},{:.6},{:.6},{},{}",
            run.before.accuracy,
            run.after.accuracy,
            run.accuracy_change,
            num(run.before.introspectability),
            num(run.after.introspectability)
        );
        for p in &run.targeted {
            let _ = write!(
                csv,
                ",{},{},{},{}",
                num(p.distance_before),
                num(p.distance_after),
                p.confused_before,
                p.confused_after
            );
        }
        let _ = writeln!(csv, ",{}", run.error.as_deref().unwrap_or("").replace([',', '\n'], " "));
    }
    std::fs::write(dir.join("repair_study.csv"), csv)?;
    let mut pairs = String::new();
    for p in &study.pairs {
        let _ = writeln!(
            pairs,
            "<li>{} / {} (ω {}): distance change {}, confusions change {}</li>",
            class_names[p.a],
            class_names[p.b],
            p.omega,
            spread_text(p.distance_change, 1.0, ""),
            spread_text(p.confusion_change, 1.0, "")
        );
    }
    let html = format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>xnas repair: {arch}</title>
<style>body{{font-family:sans-serif;max-width:1150px;margin:2em auto}}img{{max-width:100%}}</style></head><body>
<h1>Model repair (appendix K)</h1>
<p>Model <code>{model}</code>, architecture <code>{arch}</code>: {epochs} epochs at lr {lr} with the pairwise
regularizer (weight {reg}), over {n} seed(s); {failed} diverged. Data: <a href="repair_study.csv">repair_study.csv</a>,
<a href="repair_study.json">repair_study.json</a>.</p>
<ul><li>accuracy change {acc} (the paper: ±0.6 % across 10 trials)</li>
<li>introspectability change {intro}</li>
{pairs}</ul>
<p>Heat maps of −D and the folded confusion before (K7) and after (K8) the first seed's repair.</p>
<img src="k7_k8_heat_maps.svg" alt="K7 and K8 heat maps">
</body></html>
"#,
        arch = first.arch,
        model = args.dir.display(),
        epochs = args.epochs,
        lr = args.lr,
        reg = args.regularizer,
        n = study.runs.len(),
        failed = study.failed,
        acc = spread_text(study.accuracy_change, 100.0, " points"),
        intro = spread_text(study.introspectability_change, 1.0, ""),
    );
    std::fs::write(dir.join("index.html"), html)?;
    Ok(())
}
