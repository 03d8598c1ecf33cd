//! The head's side of the two binaries: `xnas` never loads libtorch, so the commands that train
//! or load a model (`eval`, `repair`, exporting a model) are handed whole to `xnas-worker`, which
//! sits next to it. The hand-off replaces this process (`exec`), so the worker's exit code,
//! output, progress bar and signals are the command's own, as if there were one binary.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

/// The name of the training binary, next to `xnas`.
const WORKER_NAME: &str = "xnas-worker";

/// The rest of a command line that `xnas-worker` parses (its `--help` included).
#[derive(Debug, Args)]
pub struct HandOff {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0.., hide = true)]
    pub args: Vec<OsString>,
}

/// Where `xnas-worker` is: `$XNAS_WORKER`, else beside this executable. An error says how to get one.
pub fn worker_program() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("XNAS_WORKER") {
        let path = PathBuf::from(path);
        anyhow::ensure!(
            path.is_file(),
            "XNAS_WORKER={}: no such file; unset it or point it at xnas-worker",
            path.display()
        );
        return Ok(path);
    }
    let me = std::env::current_exe().context("finding this executable to look for xnas-worker beside it")?;
    let worker = me.with_file_name(format!("{WORKER_NAME}{}", std::env::consts::EXE_SUFFIX));
    anyhow::ensure!(
        worker.is_file(),
        "{} is missing: training and loading models run in xnas-worker, which is built with the `torch` \
         feature (the default) next to xnas; build both with `cargo build --release` (or run `scripts/run.sh`), \
         or set XNAS_WORKER to its path",
        worker.display()
    );
    Ok(worker)
}

/// Runs this process's command line in `xnas-worker` instead of this process.
pub fn hand_off() -> anyhow::Result<()> {
    let worker = worker_program()?;
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let mut command = std::process::Command::new(&worker);
    command.args(&args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = command.exec();
        Err(error).with_context(|| format!("starting {}", worker.display()))
    }
    #[cfg(not(unix))]
    {
        let status = command.status().with_context(|| format!("starting {}", worker.display()))?;
        std::process::exit(status.code().unwrap_or(1));
    }
}
