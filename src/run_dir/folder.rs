//! Where a run's files go, and which folders a new run may take. A run name (from
//! `experiment("…")` or `--name`) becomes one folder under `runs/`, so it must be a single path
//! component of safe characters: `../victim` or an empty name must never reach outside `runs/`
//! or make `runs/` itself a run. `--dir` is the explicit way to put a run elsewhere; a new run
//! takes a folder only when it is missing, empty, or holds nothing but files xnas itself wrote
//! before a start that failed — never a user's unrelated folder.

use std::path::{Path, PathBuf};

use super::lock::{Holder, RunLock};
use super::{RunDir, DB_FILE};

/// The longest run name: a folder name every file system takes, with room to spare.
pub const MAX_NAME_LEN: usize = 100;

/// Why a folder cannot hold a new run.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error(
        "{name:?} cannot be a run name: {why}. A run name is one folder name under runs/: letters, digits, \
         '-', '_' and '.', at most {MAX_NAME_LEN} characters, not '.' or '..'. Choose another with --name, \
         or put the run anywhere with --dir PATH"
    )]
    BadName { name: String, why: String },
    #[error(
        "{} is not empty and is not an xnas run (it has no {DB_FILE}), so a run will not write into it; \
         choose an empty or new folder with --dir, or another --name",
        dir.display()
    )]
    NotARun { dir: PathBuf },
    #[error(
        "{} already holds a run, and it is running now ({holder}); `xnas status {}` shows its progress. \
         To start another search, pick another --name or --dir",
        dir.display(), dir.display()
    )]
    Running { dir: PathBuf, holder: Holder },
    #[error(
        "{} already holds a run; continue it with `xnas resume {}`, or pick another --name or --dir",
        dir.display(), dir.display()
    )]
    HoldsRun { dir: PathBuf },
    #[error("cannot read {}: {message}", dir.display())]
    Io { dir: PathBuf, message: String },
}

/// Checks that `name` is a single safe path component (see the module docs).
pub fn validate_run_name(name: &str) -> Result<(), FolderError> {
    let bad = |why: &str| Err(FolderError::BadName { name: name.to_string(), why: why.to_string() });
    if name.is_empty() {
        return bad("it is empty");
    }
    if name == "." || name == ".." {
        return bad("it names a folder itself, not a new one");
    }
    if name.chars().count() > MAX_NAME_LEN {
        return bad(&format!("it is {} characters long", name.chars().count()));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        return bad(&format!("it contains {c:?}"));
    }
    Ok(())
}

/// The run folder for a run name: `runs/<name>` under the current directory.
pub fn default_run_dir(name: &str) -> Result<PathBuf, FolderError> {
    validate_run_name(name)?;
    Ok(PathBuf::from("runs").join(name))
}

/// Whether a new run may use `dir`: it is missing, empty, or holds only files an earlier failed
/// start of xnas left there. A folder with a run is refused, saying whether that run is running.
pub fn check_new_run_dir(dir: &Path) -> Result<(), FolderError> {
    if RunDir::new(dir).holds_run() {
        return Err(match RunLock::holder(dir) {
            Some(holder) => FolderError::Running { dir: dir.to_path_buf(), holder },
            None => FolderError::HoldsRun { dir: dir.to_path_buf() },
        });
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(FolderError::Io { dir: dir.to_path_buf(), message: e.to_string() }),
    };
    // A start locks the folder before it writes anything else, so its leftovers include the lock.
    let ours = [RunDir::LOCK, RunDir::LOG, RunDir::OVERRIDES];
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| FolderError::Io { dir: dir.to_path_buf(), message: e.to_string() })?;
        names.push(entry.file_name());
    }
    let left_by_xnas = names.iter().any(|n| n == RunDir::LOCK) && names.iter().all(|n| ours.iter().any(|o| n == o));
    if names.is_empty() || left_by_xnas {
        Ok(())
    } else {
        Err(FolderError::NotARun { dir: dir.to_path_buf() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_names_are_one_safe_component() {
        for good in ["tiny", "run-2", "a_b.c", "x".repeat(MAX_NAME_LEN).as_str()] {
            assert!(validate_run_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "../victim", "a/b", "/etc", "a b", "é", "x".repeat(MAX_NAME_LEN + 1).as_str()] {
            let message = validate_run_name(bad).unwrap_err().to_string();
            assert!(message.contains("letters, digits"), "{message}");
        }
    }

    #[test]
    fn a_new_run_takes_only_missing_empty_or_its_own_folders() {
        let dir = std::env::temp_dir().join(format!("xnas-folder-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(check_new_run_dir(&dir).is_ok());
        std::fs::create_dir_all(&dir).unwrap();
        assert!(check_new_run_dir(&dir).is_ok());
        std::fs::write(RunDir::new(&dir).file(RunDir::OVERRIDES), "[]").unwrap();
        assert!(matches!(check_new_run_dir(&dir), Err(FolderError::NotARun { .. })), "a user's file of that name");
        std::fs::write(RunDir::new(&dir).file(RunDir::LOCK), "").unwrap();
        assert!(check_new_run_dir(&dir).is_ok());
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        assert!(matches!(check_new_run_dir(&dir), Err(FolderError::NotARun { .. })));
        std::fs::remove_dir_all(&dir).ok();
    }
}
