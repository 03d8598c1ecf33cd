//! `xnas eval ARCH`: train and score one architecture, print a summary or the record as JSON.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use xnas_datasets::DatasetName;
use xnas_space::Genome;

use crate::introspect::{ClassGrouping, TapSet};
use crate::record::EvalConfig;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// NAS-Bench-201 arch string (|nor_conv_3x3~0|+|...|) or six paper op codes (e.g. 002404).
    pub arch: String,
    /// fashion-mnist, mnist, cifar10 or imagenet16-120.
    #[arg(long, default_value = "fashion-mnist")]
    pub dataset: String,
    /// Folder with the dataset's files (default: the dataset's usual place).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// ImageNet16: the class → wnid list (devkit map_clsloc.txt, or one wnid per line).
    #[arg(long)]
    pub wnids: Option<PathBuf>,
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    /// Train on a seeded, class-stratified subset of this many images.
    #[arg(long)]
    pub train_subset: Option<usize>,
    /// Validate on a subset of this many images.
    #[arg(long)]
    pub val_subset: Option<usize>,
    /// Channels of the first stage (the paper's F).
    #[arg(long, default_value_t = 16)]
    pub channels: usize,
    /// Cells per stage (the paper's N).
    #[arg(long, default_value_t = 5)]
    pub cells: usize,
    #[arg(long, default_value_t = 512)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 0.1)]
    pub lr: f64,
    /// cpu, cuda, cuda:N or auto.
    #[arg(long, default_value = "auto")]
    pub device: String,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Turn off pad-and-crop, flip and cutout.
    #[arg(long)]
    pub no_augment: bool,
    /// Layers feeding introspectability: conv-and-relu (the authors' set) or cells.
    #[arg(long, default_value = "conv-and-relu")]
    pub taps: TapSet,
    /// Group samples into classes by true-label (the paper) or predicted label (the authors' code).
    #[arg(long, default_value = "true-label")]
    pub grouping: ClassGrouping,
    /// Print the whole measurement record as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write the record as JSON to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl EvalArgs {
    pub fn config(&self) -> anyhow::Result<EvalConfig> {
        let dataset: DatasetName = self.dataset.parse()?;
        Ok(EvalConfig {
            dataset,
            data_dir: self.data_dir.clone(),
            wnids_file: self.wnids.clone(),
            train_subset: self.train_subset,
            val_subset: self.val_subset,
            channels: self.channels,
            cells_per_stage: self.cells,
            epochs: self.epochs,
            batch_size: self.batch_size,
            lr: self.lr,
            augment: !self.no_augment,
            device: self.device.clone(),
            seed: self.seed,
            taps: self.taps,
            grouping: self.grouping,
            ..EvalConfig::default()
        })
    }
}

#[cfg(feature = "torch")]
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    use crate::evaluate::{evaluate, load_dataset, EvalProgress};
    use indicatif::{ProgressBar, ProgressStyle};
    use std::io::IsTerminal;

    let genome: Genome = args.arch.parse().context("reading ARCH")?;
    let config = args.config()?;
    let dataset = load_dataset(&config)?;
    eprintln!(
        "xnas eval: {} on {} ({} train / {} validation images, {} classes), {} epochs",
        genome.compact(),
        config.dataset,
        dataset.train.len(),
        dataset.validation.len(),
        dataset.class_names.len(),
        config.epochs
    );
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {msg} ({elapsed}, ETA {eta})")
                .expect("static template")
                .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let record = evaluate(&genome, &config, &dataset, &mut |event| match event {
        EvalProgress::Training(p) => {
            bar.set_prefix(format!("epoch {}/{}", p.epoch, p.epochs));
            bar.set_length(p.total_steps as u64);
            bar.set_position(p.step as u64);
            if let Some(loss) = p.loss {
                bar.set_message(format!("loss {loss:.3}"));
            }
        }
        EvalProgress::Validating { images_done, images } => {
            if bar.prefix() != "validate" {
                bar.set_prefix("validate");
                bar.set_message("");
                bar.set_length(images as u64);
            }
            bar.set_position(images_done as u64);
        }
    })?;
    bar.finish_and_clear();
    if let Some(path) = &args.out {
        std::fs::write(path, serde_json::to_string_pretty(&record)?)
            .with_context(|| format!("writing the record to {}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&record)?);
    } else {
        println!("{}", record.summary());
    }
    Ok(())
}

#[cfg(not(feature = "torch"))]
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let _: Genome = args.arch.parse().context("reading ARCH")?;
    args.config()?;
    anyhow::bail!("this xnas was built without the `torch` feature, so it cannot train; rebuild with default features")
}
