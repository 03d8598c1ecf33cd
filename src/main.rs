//! The `xnas` command line: one subcommand per file under `src/cli/`, over the `xnas` library.
//! clap and anyhow live here only; the library takes plain values and returns typed errors.

mod cli;

use clap::Parser;
use cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // `run` and `resume` write to pipes of child processes (jobs, the Ray driver) that may die:
    // there a broken pipe must be an error the executor handles, not a signal that ends the search.
    if !matches!(cli.command, Command::Run(_) | Command::Resume(_)) {
        cli::process::restore_default_sigpipe();
    }
    cli::process::exit_code(cli::run(cli))
}
