//! The `xnas` command line: one subcommand per file under `src/cli/`.
use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = xnas::cli::Cli::parse();
    match xnas::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
