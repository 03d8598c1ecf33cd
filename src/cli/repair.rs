//! `xnas repair DIR`: fine-tune a model saved by `xnas eval --save DIR` with pair weights ω on a
//! confounded class pair (paper appendix K), and print D, the folded confusion and accuracy
//! before and after.

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
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON report to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[cfg(feature = "torch")]
pub fn run(args: RepairArgs) -> anyhow::Result<()> {
    use anyhow::Context;

    use xnas::evaluate::finetune::{finetune, FinetuneConfig};
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
    };
    let bar = super::eval::EvalBar::new();
    let report = finetune(&args.dir, &config, &dataset, &mut |e| bar.update(e))?;
    bar.finish();
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(path) = &args.out {
        std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        println!("{json}");
        return Ok(());
    }
    let names = &dataset.class_names;
    let opt = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{v:.4}"));
    println!("repair of {} ({} epochs at lr {}, regularizer {})", report.arch, args.epochs, args.lr, args.regularizer);
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

#[cfg(not(feature = "torch"))]
pub fn run(_args: RepairArgs) -> anyhow::Result<()> {
    anyhow::bail!(
        "this xnas was built without the `torch` feature, so it cannot fine-tune; rebuild with default features"
    )
}
