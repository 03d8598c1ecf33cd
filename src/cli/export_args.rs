//! The flags of `xnas export`, shared by the two binaries: the `xnas` head parses them (and
//! answers what needs no libtorch) and `xnas-worker` parses the same line to export a model.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["run", "model"])))]
pub struct ExportArgs {
    /// A run folder (runs/NAME); the model is the one it kept for --id.
    pub run: Option<PathBuf>,
    /// The candidate whose kept model to export: the id the report, the run's log (`#N`),
    /// `xnas status` and RUN/models/ID show.
    #[arg(long, requires = "run", conflicts_with = "evaluation")]
    pub id: Option<u64>,
    /// Or the store's evaluation id (the log's `#N` of runs made before candidate ids were
    /// shown there).
    #[arg(long, value_name = "N", requires = "run")]
    pub evaluation: Option<i64>,
    /// Or: a model folder written by `xnas eval ARCH --save DIR` (or a run's models/ID).
    #[arg(long, value_name = "DIR", conflicts_with = "run")]
    pub model: Option<PathBuf>,
    /// Where to write the export (default: RUN/exports/ID, or DIR/export for --model).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Instead of a model: write the whole run as an Optuna journal (one trial per candidate,
    /// values under the latest script version) to FILE, replacing it; open it with
    /// `optuna-dashboard FILE`.
    #[arg(long, value_name = "FILE", requires = "run", conflicts_with_all = ["id", "evaluation", "model", "out"])]
    pub optuna: Option<PathBuf>,
}
