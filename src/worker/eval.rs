//! `xnas eval ARCH`: train and score one architecture, print a summary or the record as JSON.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use xnas_datasets::{DatasetName, ValidationSplit};
use xnas_space::Genome;

use xnas::introspect::{ClassGrouping, TapSet};
use xnas::record::{EvalConfig, Precision, Switch};

/// A training setting given on the command line, read as the script's `training` section reads it.
fn parse_setting<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).map_err(|e| e.to_string())
}

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
    /// Where validation comes from: a count or fraction of the training split, or held-out (the test split).
    #[arg(long, default_value = "5000")]
    pub validation: ValidationSplit,
    /// Measure the test split on a subset of this many images.
    #[arg(long)]
    pub test_subset: Option<usize>,
    /// Fraction of training labels corrupted on purpose (seeded), for mislabel detection.
    #[arg(long, default_value_t = 0.0)]
    pub label_noise: f64,
    /// Skip the trust measurements (calibration, removal curves, class means); keep train/test accuracy.
    #[arg(long)]
    pub no_trust: bool,
    /// Channels of the first stage (the paper's F).
    #[arg(long, default_value_t = 16)]
    pub channels: usize,
    /// Cells per stage (the paper's N).
    #[arg(long, default_value_t = 5)]
    pub cells: usize,
    #[arg(long, default_value_t = 512)]
    pub batch_size: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    pub lr: f64,
    /// cpu, cuda, cuda:N or auto.
    #[arg(long, default_value = "auto")]
    pub device: String,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Training arithmetic: fp32, bf16 (mixed: bf16 compute, f32 weights; CUDA only) or auto
    /// (fp32 until scripts/gpu-check.sh has measured bf16). A CPU always trains in fp32.
    #[arg(long, default_value = "auto", value_parser = parse_setting::<Precision>)]
    pub precision: Precision,
    /// Train in channels-last (NHWC) layout: auto (on for CUDA), true (CUDA only) or false.
    #[arg(long, default_value = "auto", value_parser = parse_setting::<Switch>)]
    pub channels_last: Switch,
    /// Let cuDNN time its convolution algorithms and keep the fastest: auto (on for CUDA), true or false.
    #[arg(long, default_value = "auto", value_parser = parse_setting::<Switch>)]
    pub cudnn_benchmark: Switch,
    /// Also measure validation accuracy and introspectability after every epoch, on the first
    /// this many validation images (the record's `epochs`).
    #[arg(long, value_name = "IMAGES")]
    pub epoch_validation: Option<usize>,
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
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
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
        let config = EvalConfig {
            dataset,
            data_dir: self.data_dir.clone(),
            wnids_file: self.wnids.clone(),
            train_subset: self.train_subset,
            val_subset: self.val_subset,
            validation: self.validation,
            test_subset: self.test_subset,
            label_noise: self.label_noise,
            trust: !self.no_trust,
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
            precision: self.precision,
            channels_last: self.channels_last,
            cudnn_benchmark: self.cudnn_benchmark,
            epoch_validation: self.epoch_validation,
            ..EvalConfig::default()
        };
        // The config's fields are this command's flags, so a bad value is reported as its flag.
        config.validate().map_err(|e| {
            anyhow::anyhow!("--{} {}: must be {}", e.field.replace('_', "-"), e.value.trim_matches('"'), e.requirement)
        })?;
        Ok(config)
    }

    /// Refuses output paths that could only fail after training, so no trained result is lost
    /// to a typo: `--out` must name a file in an existing folder, `--save` a folder (created now).
    fn check_outputs(&self) -> anyhow::Result<()> {
        if let Some(path) = &self.out {
            anyhow::ensure!(!path.is_dir(), "--out {}: is a folder; give a file name for the record", path.display());
            // Replaced whole when the training ends: only a missing file or an earlier record.
            xnas::output::check_output_file("--out", path, false, |bytes| {
                let earlier: serde_json::Value =
                    serde_json::from_slice(bytes).map_err(|_| "it is not an xnas record".to_string())?;
                match earlier.get("arch").zip(earlier.get("config")) {
                    Some(_) => Ok(()),
                    None => Err("it is JSON but not an xnas record".into()),
                }
            })?;
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            anyhow::ensure!(
                parent.is_dir(),
                "--out {}: the folder {} does not exist; create it first or choose another path",
                path.display(),
                parent.display()
            );
        }
        if let Some(dir) = &self.save {
            anyhow::ensure!(
                !dir.exists() || dir.is_dir(),
                "--save {}: is a file; give a folder for the weights and the record",
                dir.display()
            );
            std::fs::create_dir_all(dir)
                .with_context(|| format!("--save {}: cannot create the folder", dir.display()))?;
        }
        Ok(())
    }
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    use xnas::evaluate::{evaluate_model, load_dataset, save_model, ModelInput};
    use xnas::introspect::PairWeights;

    let genome: Genome = args.arch.parse().context("reading ARCH")?;
    let mut config = args.config()?;
    args.check_outputs()?;
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
    let json = serde_json::to_string_pretty(&record)?;
    let mut write_failed = false;
    if let Some(dir) = &args.save {
        match save_model(dir, &record, &model, &ModelInput::of(&dataset.train)) {
            Ok(()) => eprintln!("saved the model and its record in {}", dir.display()),
            Err(e) => {
                eprintln!("error: could not save the model in {}: {e}", dir.display());
                write_failed = true;
            }
        }
    }
    if let Some(path) = &args.out {
        if let Err(e) = write_whole(path, &json) {
            eprintln!("error: could not write the record to {}: {e}", path.display());
            write_failed = true;
        }
    }
    if args.json || write_failed {
        // When a file could not be written, the record goes to stdout so the training is not lost.
        println!("{json}");
    } else {
        println!("{}", record.summary());
    }
    anyhow::ensure!(!write_failed, "the evaluation finished but its output could not be written (the record is above)");
    if record.status == xnas::record::Status::Failed {
        anyhow::bail!("the evaluation failed: {}", record.error.as_deref().unwrap_or("unknown error"));
    }
    Ok(())
}

/// Writes `text` to `path` in one rename, so a kill mid-write leaves the old file or the new one.
fn write_whole(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let staged = xnas::output::StagedFile::new("--out", path)?;
    std::fs::write(staged.path(), text)?;
    Ok(staged.commit("--out")?)
}

/// A progress bar over training steps, then validation images, then each trust pass's images;
/// hidden when stderr is not a terminal.
pub struct EvalBar(indicatif::ProgressBar);

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

    pub fn update(&self, event: xnas::evaluate::EvalProgress) {
        use xnas::evaluate::EvalProgress;
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
            EvalProgress::Trust(t) => {
                if bar.message() != t.pass.name() {
                    bar.set_prefix("trust");
                    bar.set_message(t.pass.name());
                    bar.set_length(t.images as u64);
                }
                bar.set_position(t.images_done as u64);
            }
        }
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }

    /// A line above the bar (or on stderr when the bar is hidden).
    pub fn note(&self, text: String) {
        if self.0.is_hidden() {
            eprintln!("{text}");
        } else {
            self.0.println(text);
        }
    }
}

impl Default for EvalBar {
    fn default() -> Self {
        EvalBar::new()
    }
}
