//! Subcommands of the `xnas` binary, one file each, behind a clap derive enum (as zoxide's `cmd/`).
//!
//! Each file holds a clap `Args` struct and a `run` function returning `anyhow::Result<()>`:
//! the library crates return typed errors, and this layer adds the context a user needs.

use clap::{Parser, Subcommand};

pub mod eval;
pub mod space;
pub mod wordnet;

/// Multi-objective neural architecture search for accurate and introspectable networks.
#[derive(Debug, Parser)]
#[command(name = "xnas", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Facts about the NAS-Bench-201 cell space: one architecture, or counts over all of them.
    #[command(subcommand)]
    Space(space::SpaceCommand),
    /// Train and score one architecture; print a summary or the measurement record as JSON.
    Eval(eval::EvalArgs),
    /// WordNet behind the weighted introspectability: label similarity matrices and hypernym paths.
    #[command(subcommand)]
    Wordnet(wordnet::WordnetCommand),
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Space(cmd) => space::run(cmd),
        Command::Eval(args) => eval::run(args),
        Command::Wordnet(cmd) => wordnet::run(cmd),
    }
}
