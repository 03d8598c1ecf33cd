//! A run folder and every file in it ([`RunDir`]'s names): the one place that names what `runs/<name>/`
//! holds, so the search loop, `xnas report`, `xnas export`, the worker and the Optuna export find a
//! run's files the same way, and a run stored by an earlier xnas opens as it is. Beside it:
//! [`folder`] (run names, and which folders a new run may take), [`lock`] (one process per
//! folder) and [`models`] (the trained models a run keeps, read).

mod folder;
mod lock;
mod models;

use std::path::{Path, PathBuf};

pub use crate::store::DB_FILE;
pub use folder::{check_new_run_dir, default_run_dir, validate_run_name, FolderError};
pub use lock::{Holder, LockError, RunLock};
pub(crate) use models::{finished, folder_name};
pub use models::{is_staging, ModelId, ModelsError, INPUT_FILE, RECORD_FILE, STAGING_MARK, WEIGHTS_FILE};

/// A run folder: where each of its files is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir(PathBuf);

impl RunDir {
    /// Who holds the folder ([`lock`]).
    pub const LOCK: &str = "xnas.lock";
    /// The workers' log lines.
    pub const LOG: &str = "evaluations.log";
    /// The `--set` overrides, applied again by `xnas resume`.
    pub const OVERRIDES: &str = "overrides.json";
    /// The run this run started from (`--from`).
    pub const FROM: &str = "from.json";
    /// The Ray executor's driver, written when a run starts on Ray.
    pub const RAY_DRIVER: &str = "ray_driver.py";
    /// The trained models the run keeps, a folder per candidate ([`models`]).
    pub const MODELS: &str = "models";
    /// `xnas export RUN --id N`'s default output, a folder per model.
    pub const EXPORTS: &str = "exports";
    /// `xnas report RUN`'s default output.
    pub const REPORT: &str = "report";

    pub fn new(path: impl Into<PathBuf>) -> RunDir {
        RunDir(path.into())
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The run folder `path` lies in (the nearest folder above it, or itself, that holds a run
    /// store), however `path` is spelled (relative, through symlinks or `..`), if any.
    pub fn enclosing(path: &Path) -> Option<RunDir> {
        resolved(path).ancestors().find(|dir| dir.join(DB_FILE).is_file()).map(RunDir::new)
    }

    /// Where `name` (the store's [`DB_FILE`] or one of the names above) is in this run folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Whether the folder holds a run: its store ([`crate::store`]).
    pub fn holds_run(&self) -> bool {
        self.file(DB_FILE).exists()
    }
}

/// `path` made absolute, with its longest existing prefix resolved (symlinks, `..`), so that a
/// path into a run folder is recognised however it is spelled.
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let resolve = |prefix: &Path| Some(std::fs::canonicalize(prefix).ok()?.join(absolute.strip_prefix(prefix).ok()?));
    absolute.ancestors().find_map(resolve).unwrap_or_else(|| absolute.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_a_run_folder_are_found_however_spelled() {
        let dir = std::env::temp_dir().join(format!("xnas-run-dir-inside-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let run = dir.join("run");
        std::fs::create_dir_all(run.join("models/3")).unwrap();
        std::fs::write(run.join(DB_FILE), "").unwrap();
        let canonical = Some(RunDir::new(std::fs::canonicalize(&run).unwrap()));
        for path in
            [run.join(DB_FILE), run.join("models/3/x.json"), run.join("new/deeper/file"), run.join("models/../a")]
        {
            assert_eq!(RunDir::enclosing(&path), canonical, "{}", path.display());
        }
        std::os::unix::fs::symlink(&run, dir.join("link")).unwrap();
        assert_eq!(RunDir::enclosing(&dir.join("link/xnas.db")), canonical);
        assert_eq!(RunDir::enclosing(&dir.join("elsewhere.log")), None);
        std::fs::remove_dir_all(dir).ok();
    }
}
