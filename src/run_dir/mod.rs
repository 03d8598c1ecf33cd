//! A run folder and every file in it: the one place that names what `runs/<name>/` holds, so the
//! search loop, `xnas report`, `xnas export`, the worker and the Optuna export find a run's files
//! the same way, and a run stored by an earlier xnas opens as it is.
//!
//! | in the folder | what |
//! |---|---|
//! | `xnas.db` | the run store ([`crate::store`]); a folder holding it is a run |
//! | `xnas.lock` | who holds the folder: one process writes a run at a time ([`lock`]) |
//! | `evaluations.log` | the workers' log lines |
//! | `overrides.json` | the `--set` overrides, applied again by `xnas resume` |
//! | `from.json` | the run this run started from (`--from`) |
//! | `ray_driver.py` | the Ray executor's driver, written when a run starts on Ray |
//! | `models/<candidate id>/` | the trained models the run keeps ([`models`]) |
//! | `exports/<candidate id>/` | `xnas export RUN --id N`, unless `--out` says otherwise |
//! | `report/` | `xnas report RUN`, unless `--out` says otherwise |
//!
//! Beside it: [`folder`] (run names, and which folders a new run may take).

mod folder;
mod lock;
mod models;

use std::path::{Path, PathBuf};

pub use crate::store::DB_FILE;
pub use folder::{check_new_run_dir, default_run_dir, validate_run_name, FolderError};
pub use lock::{Holder, LockError, RunLock};
pub(crate) use models::folder_name;
pub use models::{is_staging, ModelId, ModelsError, INPUT_FILE, RECORD_FILE, STAGING_MARK, WEIGHTS_FILE};

/// The file names of a run folder (see the module docs).
pub const LOCK_FILE: &str = "xnas.lock";
pub const LOG_FILE: &str = "evaluations.log";
pub const OVERRIDES_FILE: &str = "overrides.json";
pub const FROM_FILE: &str = "from.json";
const RAY_DRIVER_FILE: &str = "ray_driver.py";
const MODELS_DIR: &str = "models";
const EXPORTS_DIR: &str = "exports";
const REPORT_DIR: &str = "report";

/// A run folder: where each of its files is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir(PathBuf);

impl RunDir {
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

    /// Whether the folder holds a run (its store).
    pub fn holds_run(&self) -> bool {
        self.0.join(DB_FILE).exists()
    }

    pub fn lock_file(&self) -> PathBuf {
        self.0.join(LOCK_FILE)
    }

    pub fn log_file(&self) -> PathBuf {
        self.0.join(LOG_FILE)
    }

    pub fn overrides_file(&self) -> PathBuf {
        self.0.join(OVERRIDES_FILE)
    }

    pub fn from_file(&self) -> PathBuf {
        self.0.join(FROM_FILE)
    }

    pub fn ray_driver_file(&self) -> PathBuf {
        self.0.join(RAY_DRIVER_FILE)
    }

    /// The folder of kept models.
    pub fn models(&self) -> PathBuf {
        self.0.join(MODELS_DIR)
    }

    /// The default output of `xnas export` for a model; `name` is the candidate id, or
    /// `evaluation-N` for `--evaluation N`.
    pub fn export(&self, name: &str) -> PathBuf {
        self.0.join(EXPORTS_DIR).join(name)
    }

    /// The default output of `xnas report`.
    pub fn report(&self) -> PathBuf {
        self.0.join(REPORT_DIR)
    }
}

/// `path` made absolute, with its longest existing prefix resolved (symlinks, `..`), so that a
/// path into a run folder is recognised however it is spelled.
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut rest = Vec::new();
    let mut prefix = absolute.as_path();
    loop {
        if let Ok(real) = std::fs::canonicalize(prefix) {
            return rest.iter().rev().fold(real, |acc, part| acc.join(part));
        }
        match (prefix.parent(), prefix.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                prefix = parent;
            }
            _ => return absolute,
        }
    }
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
