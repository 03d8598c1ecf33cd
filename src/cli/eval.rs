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
    /// Weight of the introspectability regularizer in the loss (appendix B uses 0.5); 0 is off.
    #[arg(long, default_value_t = 0.0)]
    pub regularizer: f64,
    /// Pair weights ω for the regularizer: lines `CLASS_A CLASS_B WEIGHT` (indices or names).
    #[arg(long, requires = "regularizer")]
    pub omega: Option<PathBuf>,
    /// CPU threads for libtorch (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Save the trained weights and the record into this folder (for `xnas repair`).
    #[arg(long)]
    pub save: Option<PathBuf>,
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
        anyhow::ensure!(
            self.regularizer.is_finite() && self.regularizer >= 0.0,
            "--regularizer must be a finite weight ≥ 0, not {}",
            self.regularizer
        );
        anyhow::ensure!(self.epochs > 0, "--epochs must be at least 1");
        anyhow::ensure!(self.batch_size >= 2, "--batch-size must be at least 2 (batch norm needs two images)");
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
            regularizer: self.regularizer,
            ..EvalConfig::default()
        })
    }
}

#[cfg(feature = "torch")]
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    use crate::evaluate::{evaluate_model, load_dataset, save_model};
    use crate::introspect::PairWeights;

    let genome: Genome = args.arch.parse().context("reading ARCH")?;
    let mut config = args.config()?;
    if let Some(threads) = args.threads {
        anyhow::ensure!(threads > 0, "--threads must be at least 1");
        tch::set_num_threads(threads as i32);
    }
    let dataset = load_dataset(&config)?;
    if let Some(path) = &args.omega {
        config.omega = Some(PairWeights::read(path, &dataset.class_names)?);
    }
    eprintln!(
        "xnas eval: {} on {} ({} train / {} validation images, {} classes), {} epochs",
        genome.compact(),
        config.dataset,
        dataset.train.len(),
        dataset.validation.len(),
        dataset.class_names.len(),
        config.epochs
    );
    let bar = EvalBar::new();
    let (record, model) = evaluate_model(&genome, &config, &dataset, &mut |event| bar.update(event))?;
    bar.finish();
    if let Some(dir) = &args.save {
        save_model(dir, &record, &model)?;
        eprintln!("saved the model and its record in {}", dir.display());
    }
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

/// A progress bar over training steps, then validation images; hidden when stderr is not a terminal.
#[cfg(feature = "torch")]
pub struct EvalBar(indicatif::ProgressBar);

#[cfg(feature = "torch")]
impl EvalBar {
    pub fn new() -> EvalBar {
        use indicatif::{ProgressBar, ProgressStyle};
        use std::io::IsTerminal;
        if !std::io::stderr().is_terminal() {
            return EvalBar(ProgressBar::hidden());
        }
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg} ({elapsed}, ETA {eta})")
                .expect("static template")
                .progress_chars("=> "),
        );
        EvalBar(bar)
    }

    pub fn update(&self, event: crate::evaluate::EvalProgress) {
        use crate::evaluate::EvalProgress;
        let bar = &self.0;
        match event {
            EvalProgress::Training(p) => {
                bar.set_prefix(format!("epoch {}/{}", p.epoch, p.epochs));
                bar.set_length(p.total_steps as u64);
                bar.set_position(p.step as u64);
                if let Some(loss) = p.loss {
                    bar.set_message(format!("loss {loss:.3}"));
                }
            }
            EvalProgress::Validating(v) => {
                if bar.prefix() != "validate" {
                    bar.set_prefix("validate");
                    bar.set_message("");
                    bar.set_length(v.images as u64);
                }
                bar.set_position(v.images_done as u64);
            }
        }
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

#[cfg(feature = "torch")]
impl Default for EvalBar {
    fn default() -> Self {
        EvalBar::new()
    }
}

#[cfg(not(feature = "torch"))]
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let _: Genome = args.arch.parse().context("reading ARCH")?;
    args.config()?;
    anyhow::bail!("this xnas was built without the `torch` feature, so it cannot train; rebuild with default features")
}
