//! `xnas export RUN --id N [--out DIR]` (N: the report's candidate id; `--evaluation N` for a log
//! line's `#N`) and `xnas export --model DIR [--out DIR]`: write a model a run kept (or one saved
//! by `xnas eval --save`) as PyTorch loads it. Loading a model needs libtorch, so the head checks
//! the flags and hands the command line to `xnas-worker` (`src/worker/export.rs`).

pub use super::export_args::ExportArgs;

pub fn run(_args: ExportArgs) -> anyhow::Result<()> {
    super::worker::hand_off()
}
