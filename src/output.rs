//! Writing a command's results without destroying anything. `xnas export`, `xnas eval --out`,
//! `xnas report` and `xnas compare` write files and folders where the user points them, and a
//! path given by mistake must never cost the user a run store, a kept model or an unrelated
//! file. So every output here is
//! - refused when it lies inside a run folder it does not belong to (a run's store, its kept
//!   models), when it is not a plain file or folder (a device node, a FIFO, a symlink: a write
//!   would go through it), or when it holds something the command did not write earlier;
//! - written whole beside its place (a staging file or folder with a name of its own, never a
//!   fixed `.partial` name that could be a user's file) and moved into place in one rename, so a
//!   command killed mid-write leaves the old output or the new one, never half of either.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::run_dir::{RunDir, DB_FILE};

/// Why an output path is refused or could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "{what} {}: lies inside the run folder {} (it holds {DB_FILE}), and writing there could replace \
         the run's store or models; choose a path outside it",
        path.display(), run.path().display()
    )]
    InsideRun { what: String, path: PathBuf, run: RunDir },
    #[error(
        "{what} {}: is {kind}, not a plain {expected}, so a write would go to whatever it points at; \
         choose another path",
        path.display()
    )]
    NotPlain { what: String, path: PathBuf, kind: &'static str, expected: &'static str },
    #[error("{what} {}: {why}; choose another path, or move it away first", path.display())]
    NotOurs { what: String, path: PathBuf, why: String },
    #[error("{what} {}: {source}", path.display())]
    Io { what: String, path: PathBuf, source: std::io::Error },
}

fn io(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> OutputError {
    let (what, path) = (what.to_string(), path.to_path_buf());
    move |source| OutputError::Io { what, path, source }
}

/// What is at `path` now, without following a symlink.
fn kind_of(path: &Path) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let file_type = std::fs::symlink_metadata(path).ok()?.file_type();
    Some(if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_dir() {
        "a folder"
    } else if file_type.is_file() {
        "a file"
    } else if file_type.is_block_device() || file_type.is_char_device() {
        "a device"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "a special file"
    })
}

/// Refuses `path` as an output file unless it is missing, or a plain file that `is_ours` (given
/// its contents) accepts as one this command wrote; and, unless `allow_in_run`, one inside a run
/// folder. `what` names the flag in messages (e.g. "--optuna").
pub fn check_output_file(
    what: &str,
    path: &Path,
    allow_in_run: bool,
    is_ours: impl FnOnce(&[u8]) -> Result<(), String>,
) -> Result<(), OutputError> {
    if !allow_in_run {
        if let Some(run) = RunDir::enclosing(path) {
            return Err(OutputError::InsideRun { what: what.into(), path: path.to_path_buf(), run });
        }
    }
    match kind_of(path) {
        None => Ok(()),
        Some("a file") => {
            let bytes = std::fs::read(path).map_err(io(what, path))?;
            if bytes.is_empty() {
                return Ok(());
            }
            is_ours(&bytes).map_err(|why| OutputError::NotOurs { what: what.into(), path: path.to_path_buf(), why })
        }
        Some(kind) => {
            Err(OutputError::NotPlain { what: what.into(), path: path.to_path_buf(), kind, expected: "file" })
        }
    }
}

/// Refuses `dir` as an output folder unless it is missing, empty, or a plain folder that
/// `is_ours` accepts as one this command wrote (it is given the folder).
pub fn check_output_dir(
    what: &str,
    dir: &Path,
    is_ours: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), OutputError> {
    match kind_of(dir) {
        None => Ok(()),
        Some("a folder") => {
            let mut entries = std::fs::read_dir(dir).map_err(io(what, dir))?;
            if entries.next().is_none() {
                return Ok(());
            }
            let run = RunDir::new(dir);
            if run.holds_run() {
                return Err(OutputError::InsideRun { what: what.into(), path: dir.to_path_buf(), run });
            }
            is_ours(dir).map_err(|why| OutputError::NotOurs { what: what.into(), path: dir.to_path_buf(), why })
        }
        Some(kind) => {
            Err(OutputError::NotPlain { what: what.into(), path: dir.to_path_buf(), kind, expected: "folder" })
        }
    }
}

/// Whether `dir` holds only plain files, each named as `accept` allows: an earlier output of a
/// command that writes such files (a subfolder, a symlink or another name is the user's).
pub fn only_files(dir: &Path, accept: impl Fn(&str) -> bool) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| e.to_string())?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let plain = entry.file_type().is_ok_and(|t| t.is_file());
        if !plain || !accept(&name) {
            return Err(format!("it holds {name:?}, which this command did not write"));
        }
    }
    Ok(())
}

/// A name beside `target` that nothing else uses: `.NAME.xnas-PID-N.SUFFIX`.
fn staging_name(target: &Path, suffix: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let name = target.file_name().map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    target.with_file_name(format!(".{name}.xnas-{}-{n}.{suffix}", std::process::id()))
}

/// A file being written beside its place; moved into place by [`StagedFile::commit`], removed
/// if dropped before.
#[derive(Debug)]
pub struct StagedFile {
    staging: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl StagedFile {
    /// Reserves a staging file beside `target` (created empty; never an existing file).
    pub fn new(what: &str, target: &Path) -> Result<StagedFile, OutputError> {
        loop {
            let staging = staging_name(target, "partial");
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&staging) {
                Ok(_) => return Ok(StagedFile { staging, target: target.to_path_buf(), committed: false }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io(what, target)(e)),
            }
        }
    }

    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Moves the written file into place in one rename.
    pub fn commit(mut self, what: &str) -> Result<(), OutputError> {
        std::fs::rename(&self.staging, &self.target).map_err(io(what, &self.target))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.staging);
        }
    }
}

/// A folder being written beside its place; swapped into place by [`StagedDir::commit`]
/// (the earlier folder, if any, is removed only once the new one is there), removed if dropped
/// before.
#[derive(Debug)]
pub struct StagedDir {
    staging: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl StagedDir {
    /// Creates a staging folder beside `target` (and `target`'s parent folders).
    pub fn new(what: &str, target: &Path) -> Result<StagedDir, OutputError> {
        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io(what, parent))?;
        }
        loop {
            let staging = staging_name(target, "staging");
            match std::fs::create_dir(&staging) {
                Ok(()) => return Ok(StagedDir { staging, target: target.to_path_buf(), committed: false }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io(what, target)(e)),
            }
        }
    }

    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// The final place of a path written under [`StagedDir::path`].
    pub fn final_path(&self, written: &Path) -> PathBuf {
        written.strip_prefix(&self.staging).map_or_else(|_| written.to_path_buf(), |rest| self.target.join(rest))
    }

    /// Puts the written folder in `target`'s place: an atomic exchange where the kernel offers
    /// one, else the old folder moved aside first; the old folder is then removed.
    pub fn commit(mut self, what: &str) -> Result<(), OutputError> {
        if std::fs::symlink_metadata(&self.target).is_err() {
            std::fs::rename(&self.staging, &self.target).map_err(io(what, &self.target))?;
        } else if exchange(&self.staging, &self.target).is_ok() {
            // The old folder now sits at the staging name.
            let _ = std::fs::remove_dir_all(&self.staging);
        } else {
            let aside = staging_name(&self.target, "old");
            std::fs::rename(&self.target, &aside).map_err(io(what, &self.target))?;
            std::fs::rename(&self.staging, &self.target).map_err(io(what, &self.target))?;
            let _ = std::fs::remove_dir_all(&aside);
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

/// `renameat2(RENAME_EXCHANGE)`: swaps two paths in one step.
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other);
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: two NUL-terminated paths that live across the call.
    let done =
        unsafe { libc::renameat2(libc::AT_FDCWD, a.as_ptr(), libc::AT_FDCWD, b.as_ptr(), libc::RENAME_EXCHANGE) };
    if done == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xnas-output-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn only_missing_empty_or_own_files_are_replaced() {
        let dir = temp("files");
        let accept = |bytes: &[u8]| if bytes.starts_with(b"ours") { Ok(()) } else { Err("not ours".to_string()) };
        assert!(check_output_file("--x", &dir.join("missing"), false, accept).is_ok());
        std::fs::write(dir.join("empty"), "").unwrap();
        assert!(check_output_file("--x", &dir.join("empty"), false, accept).is_ok());
        std::fs::write(dir.join("mine"), "ours, earlier").unwrap();
        assert!(check_output_file("--x", &dir.join("mine"), false, accept).is_ok());
        std::fs::write(dir.join("theirs"), "a user's notes").unwrap();
        let refused = check_output_file("--x", &dir.join("theirs"), false, accept).unwrap_err().to_string();
        assert!(refused.contains("not ours") && refused.contains("choose another path"), "{refused}");
        std::os::unix::fs::symlink(dir.join("mine"), dir.join("link")).unwrap();
        assert!(matches!(
            check_output_file("--x", &dir.join("link"), false, accept),
            Err(OutputError::NotPlain { .. })
        ));
        assert!(matches!(
            check_output_file("--x", Path::new("/dev/null"), false, accept),
            Err(OutputError::NotPlain { kind: "a device", .. })
        ));
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_staged_folder_replaces_the_old_one_whole_and_a_dropped_one_leaves_no_trace() {
        let dir = temp("staged");
        let target = dir.join("report");
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join("old.csv"), "old").unwrap();
        let staged = StagedDir::new("--out", &target).unwrap();
        std::fs::write(staged.path().join("new.csv"), "new").unwrap();
        assert!(target.join("old.csv").exists(), "the old output stays until the commit");
        assert_eq!(staged.final_path(&staged.path().join("new.csv")), target.join("new.csv"));
        staged.commit("--out").unwrap();
        assert!(!target.join("old.csv").exists() && target.join("new.csv").exists());
        let dropped = StagedDir::new("--out", &target).unwrap();
        std::fs::write(dropped.path().join("half.svg"), "<svg").unwrap();
        drop(dropped);
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("report")], "no staging folder left behind");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_staged_file_never_touches_an_existing_partial_file() {
        let dir = temp("partial");
        let target = dir.join("study.log");
        std::fs::write(dir.join("study.log.partial"), "a user's file").unwrap();
        let staged = StagedFile::new("--optuna", &target).unwrap();
        std::fs::write(staged.path(), "journal").unwrap();
        staged.commit("--optuna").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "journal");
        assert_eq!(std::fs::read_to_string(dir.join("study.log.partial")).unwrap(), "a user's file");
        std::fs::remove_dir_all(dir).ok();
    }
}
