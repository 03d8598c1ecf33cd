//! `xnas space info ARCH` and `xnas space count`.

use anyhow::Context;
use clap::{Args, Subcommand};
use xnas_space::Genome;

#[derive(Debug, Subcommand)]
pub enum SpaceCommand {
    /// Validity, canonical form, parameters and FLOPs of one architecture.
    Info(InfoArgs),
    /// Total, valid and distinct (non-isomorphic) genome counts.
    Count,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// NAS-Bench-201 arch string or six paper op codes, e.g. 002404.
    pub arch: String,
}

pub fn run(cmd: SpaceCommand) -> anyhow::Result<()> {
    match cmd {
        SpaceCommand::Info(args) => {
            let genome: Genome = args.arch.parse().context("reading ARCH")?;
            println!("arch:    {}", genome.arch_string());
            println!("compact: {}", genome.compact());
            println!("valid:   {}", genome.is_valid());
            Ok(())
        }
        SpaceCommand::Count => {
            let valid = Genome::all().filter(Genome::is_valid).count();
            println!("total: {}\nvalid: {valid}", Genome::all().count());
            Ok(())
        }
    }
}
