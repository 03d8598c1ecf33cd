//! `xnas inspect RECORD.json`: re-score a stored measurement record without retraining — plain,
//! WordNet-weighted and ω-weighted introspectability — and print appendix K's diagnostic with the
//! most confounded class pairs.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use xnas::introspect::{
    confusion_diagnostic, introspectability, weighted_introspectability, wordnet_introspectability, PairWeights,
};
use xnas::record::MeasurementRecord;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A measurement record (`xnas eval --out FILE`, or `record.json` of `xnas eval --save DIR`).
    pub record: PathBuf,
    /// Pair weights ω for eq. 5: lines `CLASS_A CLASS_B WEIGHT`.
    #[arg(long)]
    pub omega: Option<PathBuf>,
    /// Skip the WordNet-weighted score.
    #[arg(long)]
    pub no_wordnet: bool,
    /// ImageNet16: the class → wnid list.
    #[arg(long)]
    pub wnids: Option<PathBuf>,
    /// WordNet database folder (default: $XNAS_WORDNET_DIR or /usr/share/wordnet).
    #[arg(long)]
    pub wordnet_dir: Option<PathBuf>,
    /// How many confounded pairs to list.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: InspectArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.record).with_context(|| format!("reading {}", args.record.display()))?;
    let record: MeasurementRecord = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a measurement record", args.record.display()))?;
    let d = &record.class_distance;
    let plain = introspectability(d);
    let wordnet = if args.no_wordnet {
        None
    } else {
        let wnids = args.wnids.as_deref().or(record.config.wnids_file.as_deref());
        let similarity =
            xnas_wordnet::label_similarity_matrix(args.wordnet_dir.as_deref(), record.config.dataset, wnids, &[])?;
        Some(wordnet_introspectability(d, &similarity))
    };
    let omega = match &args.omega {
        Some(path) => {
            let weights = PairWeights::read(path, &record.class_names)?.dense(record.class_names.len())?;
            Some(weighted_introspectability(d, &weights))
        }
        None => None,
    };
    let diagnostic = confusion_diagnostic(d, &record.confusion);
    if args.json {
        let out = serde_json::json!({
            "arch": record.arch,
            "introspectability": plain,
            "introspectability_wordnet": wordnet.flatten(),
            "introspectability_omega": omega.flatten(),
            "diagnostic": diagnostic,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let opt = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{v:.4}"));
    println!("{}", record.summary());
    println!("introspectability (eq. 1)          {}", opt(plain));
    if let Some(w) = wordnet {
        println!("introspectability, WordNet (eq. 3) {}", opt(w));
    }
    if let Some(w) = omega {
        println!("introspectability, ω (eq. 5)       {}", opt(w));
    }
    println!(
        "ρ(−D, folded confusion) over {} pairs: Spearman {}, Pearson {}",
        diagnostic.pairs_used,
        opt(diagnostic.spearman),
        opt(diagnostic.pearson)
    );
    println!("most confounded pairs:");
    for p in diagnostic.most_confounded.iter().take(args.top) {
        println!(
            "  {:>14} / {:<14} confused {:>5}×, distance {}",
            record.class_names.get(p.a).map_or("?", String::as_str),
            record.class_names.get(p.b).map_or("?", String::as_str),
            p.folded_confusion,
            opt(p.distance)
        );
    }
    Ok(())
}
