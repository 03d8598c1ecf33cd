//! One process per run folder: an exclusive OS lock on the run folder itself, held by the
//! process that writes the run (`xnas run`, `xnas resume`) for as long as it lives.
//!
//! The lock is `flock(2)` on the folder's own file descriptor, so the kernel releases it when the
//! process ends however it ends (`kill -9` never leaves a stale lock), and nothing a user deletes
//! inside the folder releases it: an earlier design locked the file `xnas.lock`, and deleting
//! that file let a second head write the same store. The holder still writes its pid and host
//! into `RUN_DIR/xnas.lock` (also locked, so that an older xnas, which locks only that file, is
//! kept out too) so that a refused second writer can say who holds the folder; if that file is
//! gone, the holder's pid is read from the kernel's `/proc/locks`. Readers (`xnas status`,
//! `xnas report`) never take the lock. The lock lives in the head process, so it holds for local
//! and Ray executors alike.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use super::RunDir;

/// Who holds a run folder's lock, as the holder wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: Option<u32>,
    pub host: Option<String>,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.pid {
            Some(pid) => write!(f, "pid {pid}")?,
            None => write!(f, "an unknown pid")?,
        }
        write!(f, " on host {}", self.host.as_deref().unwrap_or("unknown"))
    }
}

/// Why a run folder could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "{} is in use: an xnas process ({holder}) is running this search right now, and a run folder \
         takes one process at a time. Wait for it to finish, or stop it (`kill {pid}` on {host}) and then \
         `xnas resume {}`; `xnas status {}` shows its progress meanwhile",
        dir.display(), dir.display(), dir.display(),
        pid = holder.pid.map_or("PID".to_string(), |p| p.to_string()),
        host = holder.host.as_deref().unwrap_or("its host")
    )]
    Held { dir: PathBuf, holder: Holder },
    #[error("cannot lock {}: {message}", path.display())]
    Io { path: PathBuf, message: String },
}

/// The held lock of a run folder; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct RunLock {
    // The open folder is the lock: flock belongs to the open file description.
    _folder: File,
    // The holder's note, locked as older versions lock it.
    _note: File,
}

/// Tries `flock(LOCK_EX | LOCK_NB)`: `Ok(true)` when locked, `Ok(false)` when another holds it.
fn try_lock(file: &File) -> std::io::Result<bool> {
    // SAFETY: flock on a file descriptor this `File` owns and keeps open.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    match error.raw_os_error() {
        Some(libc::EWOULDBLOCK) => Ok(false),
        _ => Err(error),
    }
}

fn host_name() -> Option<String> {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it on success.
    if unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) } != 0 {
        return None;
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    Some(String::from_utf8_lossy(&buffer[..end]).into_owned())
}

fn read_holder(file: &mut File) -> Holder {
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    let field = |key: &str| {
        text.lines().find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix('='))).map(|v| v.trim().to_string())
    };
    Holder { pid: field("pid").and_then(|p| p.parse().ok()), host: field("host") }
}

/// Who holds the lock on `folder`: from the holder's note when it is there, else the pid the
/// kernel lists for the folder's lock (this host, then).
fn holder_of(run_dir: &Path, folder: &File) -> Holder {
    let noted =
        OpenOptions::new().read(true).open(RunDir::new(run_dir).file(RunDir::LOCK)).map(|mut f| read_holder(&mut f));
    match noted {
        Ok(holder) if holder.pid.is_some() => holder,
        _ => Holder { pid: kernel_lock_holder(folder), host: host_name() },
    }
}

/// The pid `/proc/locks` gives for the flock on `file`'s inode, where the kernel lists it.
fn kernel_lock_holder(file: &File) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata().ok()?;
    let (major, minor) = (libc::major(meta.dev()), libc::minor(meta.dev()));
    // "1: FLOCK  ADVISORY  WRITE 4242 fd:00:1234 0 EOF"; waiters are listed as "1: -> FLOCK …".
    let wanted = format!("{major:02x}:{minor:02x}:{}", meta.ino());
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [_, "FLOCK", _, "WRITE", pid, inode, ..] if *inode == wanted => pid.parse().ok(),
            _ => None,
        }
    })
}

fn open_folder(run_dir: &Path) -> std::io::Result<File> {
    // A folder opens read-only; flock works on any open file description.
    File::open(run_dir)
}

impl RunLock {
    /// Locks the run folder `run_dir` (which must exist) for this process, or says who holds it.
    pub fn acquire(run_dir: &Path) -> Result<RunLock, LockError> {
        let path = RunDir::new(run_dir).file(RunDir::LOCK);
        let io = |e: std::io::Error| LockError::Io { path: path.clone(), message: e.to_string() };
        let folder =
            open_folder(run_dir).map_err(|e| LockError::Io { path: run_dir.to_path_buf(), message: e.to_string() })?;
        if !try_lock(&folder).map_err(io)? {
            return Err(LockError::Held { dir: run_dir.to_path_buf(), holder: holder_of(run_dir, &folder) });
        }
        let mut note =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        if !try_lock(&note).map_err(io)? {
            // An older xnas, which locks only the note, is running this folder.
            return Err(LockError::Held { dir: run_dir.to_path_buf(), holder: read_holder(&mut note) });
        }
        note.set_len(0).map_err(io)?;
        note.rewind().map_err(io)?;
        let host = host_name().unwrap_or_else(|| "unknown".into());
        writeln!(note, "pid={}\nhost={host}", std::process::id()).map_err(io)?;
        note.flush().map_err(io)?;
        Ok(RunLock { _folder: folder, _note: note })
    }

    /// Who holds the lock of `run_dir` now, if anyone; never creates a file.
    pub fn holder(run_dir: &Path) -> Option<Holder> {
        let folder = open_folder(run_dir).ok()?;
        // Otherwise locked by this probe (released when `folder` closes), or unreadable.
        if let Ok(false) = try_lock(&folder) {
            return Some(holder_of(run_dir, &folder));
        }
        // An older xnas locks only the note.
        let mut note = OpenOptions::new().read(true).write(true).open(RunDir::new(run_dir).file(RunDir::LOCK)).ok()?;
        match try_lock(&note) {
            Ok(false) => Some(read_holder(&mut note)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_in_the_same_process_is_refused_and_names_the_holder() {
        let dir = std::env::temp_dir().join(format!("xnas-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lock = RunLock::acquire(&dir).unwrap();
        let holder = RunLock::holder(&dir).expect("held");
        assert_eq!(holder.pid, Some(std::process::id()));
        match RunLock::acquire(&dir) {
            Err(LockError::Held { holder, .. }) => assert_eq!(holder.pid, Some(std::process::id())),
            other => panic!("{other:?}"),
        }
        // The note deleted from under the holder: the folder stays locked, the kernel names the pid.
        std::fs::remove_file(RunDir::new(&dir).file(RunDir::LOCK)).unwrap();
        match RunLock::acquire(&dir) {
            Err(LockError::Held { holder, .. }) => assert_eq!(holder.pid, Some(std::process::id())),
            other => panic!("{other:?}"),
        }
        drop(lock);
        assert!(RunLock::holder(&dir).is_none());
        let _again = RunLock::acquire(&dir).unwrap();
        std::fs::remove_dir_all(&dir).ok();
    }
}
