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
        restore_default_sigpipe();
    }
    match cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Rust ignores SIGPIPE, so `println!` into a closed pipe (`xnas pareto … | head`) panics. A
/// command-line tool should end quietly instead, as `cat` does.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
