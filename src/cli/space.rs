//! `xnas space info ARCH` and `xnas space count`: facts about one architecture (forms, validity,
//! canonical form, parameters, FLOPs) and counts over the whole NAS-Bench-201 cell space.

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Serialize;
use xnas_space::{flops, params, CanonicalForm, Genome, MacroConfig, SpaceCounts};

#[derive(Debug, Subcommand)]
pub enum SpaceCommand {
    /// Validity, canonical form, parameters and FLOPs of one architecture.
    Info(InfoArgs),
    /// Total, valid and distinct (non-isomorphic, as NAS-Bench-201 counts) genome counts.
    Count(CountArgs),
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// NAS-Bench-201 arch string or six paper op codes, e.g. 002404.
    pub arch: String,
    /// Channels of the first stage's cells (C).
    #[arg(long, default_value_t = 16)]
    pub channels: usize,
    /// Cells per stage (N).
    #[arg(long, default_value_t = 5)]
    pub cells: usize,
    /// Classes of the classifier (K).
    #[arg(long, default_value_t = 10)]
    pub classes: usize,
    /// Input shape as CxHxW, e.g. 3x32x32 (CIFAR-10), 1x28x28 (Fashion-MNIST), 3x16x16 (ImageNet16).
    #[arg(long, default_value = "3x32x32", value_parser = parse_input)]
    pub input: (usize, usize, usize),
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CountArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_input(text: &str) -> Result<(usize, usize, usize), String> {
    MacroConfig::parse_input(text).map_err(|e| e.to_string())
}

/// What `xnas space info --json` prints.
#[derive(Debug, Serialize)]
struct Info {
    arch: String,
    compact: String,
    valid: bool,
    canonical: CanonicalForm,
    config: MacroConfig,
    params: u64,
    flops: u64,
}

pub fn run(cmd: SpaceCommand) -> anyhow::Result<()> {
    match cmd {
        SpaceCommand::Info(args) => info(args),
        SpaceCommand::Count(args) => count(args),
    }
}

fn info(args: InfoArgs) -> anyhow::Result<()> {
    let genome: Genome = args.arch.parse().context("reading ARCH")?;
    let config = MacroConfig {
        channels: args.channels,
        cells_per_stage: args.cells,
        num_classes: args.classes,
        input: args.input,
    };
    config.check(&genome).context("the network settings (--channels, --cells, --classes, --input) cannot be built")?;
    let info = Info {
        arch: genome.arch_string(),
        compact: genome.compact(),
        valid: genome.is_valid(),
        canonical: genome.canonical(),
        config,
        params: params(&genome, &config),
        flops: flops(&genome, &config),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
        return Ok(());
    }
    let (c, h, w) = config.input;
    println!("arch:      {}", info.arch);
    println!("compact:   {}", info.compact);
    let validity = if info.valid { "yes" } else { "no (no input→output path over non-zeroize edges; never trained)" };
    println!("valid:     {validity}");
    println!("canonical: {}", info.canonical);
    println!(
        "network:   C={} N={} K={} input {c}x{h}x{w}",
        config.channels, config.cells_per_stage, config.num_classes
    );
    println!("params:    {} ({:.6} M)", info.params, info.params as f64 / 1e6);
    println!("flops:     {} ({:.5} M multiply-adds per image)", info.flops, info.flops as f64 / 1e6);
    Ok(())
}

fn count(args: CountArgs) -> anyhow::Result<()> {
    let counts = SpaceCounts::enumerate();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&counts)?);
        return Ok(());
    }
    println!("total:          {}", counts.total);
    println!("valid:          {}", counts.valid);
    println!("distinct:       {} (NAS-Bench-201's canonical forms, invalid genomes included)", counts.distinct);
    println!("distinct valid: {}", counts.distinct_valid);
    Ok(())
}
