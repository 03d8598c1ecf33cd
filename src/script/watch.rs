//! Hot reload: watch an experiment script and the user modules it imports; on a change,
//! recompile and dry-run it, and hand the new version to the run loop at its next poll — or,
//! when the edit is broken, report the error (with file:line:column) once and keep the last
//! good version. The run loop adds its own conditions ([`ScriptWatcher::poll_vetted`]): an edit
//! the running search cannot take is rejected the same way.
//!
//! The watcher watches the files' directories rather than the files: editors often save by
//! writing a new file and renaming it over the old one, which a watch on the old file would miss.
//! Events only mark the script dirty; the recompile happens at a poll after the files have been
//! quiet for a moment (`settle`), so a save in several writes is compiled once, complete.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use sha2::{Digest, Sha256};

use super::check::check;
use super::engine::Limits;
use super::error::ScriptError;
use super::experiment::{compile_file_with, hex, Experiment};
use super::spec::ExperimentDiff;

/// A new version of the experiment, accepted after a successful compile and dry run.
#[derive(Debug, Clone)]
pub struct Reload {
    pub experiment: Experiment,
    /// What changed from the previous version, and what that means: [`ExperimentDiff::needs_training`]
    /// (new evaluations needed), [`ExperimentDiff::needs_rescoring`] (re-score the archive).
    pub diff: ExperimentDiff,
}

/// Watches an experiment script; see the module docs.
pub struct ScriptWatcher {
    path: PathBuf,
    overrides: Vec<(String, String)>,
    limits: Limits,
    current: Experiment,
    watcher: RecommendedWatcher,
    events: mpsc::Receiver<notify::Result<notify::Event>>,
    /// Files whose change triggers a reload (absolute), and the directories watched for them.
    files: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
    dirty_since: Option<Instant>,
    /// Fingerprint of the sources last rejected, so one broken edit is reported once.
    rejected: Option<String>,
    settle: Duration,
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| std::env::current_dir().map(|d| d.join(path)).unwrap_or(path.to_path_buf()))
}

impl ScriptWatcher {
    /// Watches the script at `path`, whose last good version is `current` (compiled from it with
    /// `overrides` applied); later versions get the same overrides and the default [`Limits`].
    pub fn new(
        path: &Path,
        current: Experiment,
        overrides: Vec<(String, String)>,
    ) -> Result<ScriptWatcher, ScriptError> {
        let (sender, events) = mpsc::channel();
        let watcher = notify::recommended_watcher(move |event| {
            // The receiver is gone only when the watcher is being dropped.
            let _ = sender.send(event);
        })
        .map_err(|e| ScriptError::Read {
            path: path.to_path_buf(),
            message: format!("cannot watch for changes: {e}"),
        })?;
        let mut watcher = ScriptWatcher {
            path: path.to_path_buf(),
            overrides,
            limits: Limits::default(),
            current,
            watcher,
            events,
            files: Vec::new(),
            dirs: Vec::new(),
            dirty_since: None,
            rejected: None,
            settle: Duration::from_millis(150),
        };
        watcher.watch_sources()?;
        Ok(watcher)
    }

    /// How long the files must be quiet before a recompile (default 150 ms).
    pub fn set_settle(&mut self, settle: Duration) {
        self.settle = settle;
    }

    /// The last good version.
    pub fn current(&self) -> &Experiment {
        &self.current
    }

    /// The files that trigger a reload: the script and the user modules it imports.
    pub fn watched_files(&self) -> &[PathBuf] {
        &self.files
    }

    /// (Re)watches the directories of the current version's files.
    fn watch_sources(&mut self) -> Result<(), ScriptError> {
        let mut files = vec![absolute(&self.path)];
        files.extend(self.current.sources().iter().filter_map(|s| s.path.as_deref()).map(absolute));
        files.sort();
        files.dedup();
        let mut dirs: Vec<PathBuf> = files.iter().filter_map(|f| f.parent().map(Path::to_path_buf)).collect();
        dirs.sort();
        dirs.dedup();
        for dir in self.dirs.iter().filter(|d| !dirs.contains(d)) {
            let _ = self.watcher.unwatch(dir);
        }
        for dir in dirs.iter().filter(|d| !self.dirs.contains(d)) {
            self.watcher.watch(dir, RecursiveMode::NonRecursive).map_err(|e| ScriptError::Read {
                path: dir.clone(),
                message: format!("cannot watch for changes: {e}"),
            })?;
        }
        self.files = files;
        self.dirs = dirs;
        Ok(())
    }

    /// A fingerprint of the watched files' current contents.
    fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        for file in &self.files {
            hasher.update(file.display().to_string().as_bytes());
            hasher.update(std::fs::read(file).unwrap_or_default());
        }
        hex(&hasher.finalize())
    }

    /// The script file watched.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Non-blocking: `None` when nothing changed (or a change is still settling, or the files
    /// are as they were); `Some(Ok)` with a new version; `Some(Err)` once per broken edit, the
    /// last good version staying [`ScriptWatcher::current`].
    pub fn poll(&mut self) -> Option<Result<Reload, ScriptError>> {
        self.poll_vetted(|_| Ok(())).map(|polled| polled.map(|(reload, ())| reload))
    }

    /// [`ScriptWatcher::poll`], where a version that compiles and passes the dry run must also
    /// pass `vet` (the run's own conditions: the search can take it, its objectives score the
    /// archive). A vetted version comes with what `vet` returned; a refused one is a broken edit
    /// like any other (`vet`'s reason is the error's message), reported once.
    pub fn poll_vetted<T>(
        &mut self,
        vet: impl FnOnce(&Reload) -> Result<T, String>,
    ) -> Option<Result<(Reload, T), ScriptError>> {
        while let Ok(event) = self.events.try_recv() {
            let relevant = match event {
                // Event paths are the watched (canonical) directory joined with the file name.
                Ok(event) => event.paths.iter().any(|p| self.files.contains(p)),
                // A watcher error (e.g. an event queue overflow): look at the files to be safe.
                Err(_) => true,
            };
            if relevant {
                // Settle from the files' last write, not from when this poll noticed it: a run
                // polls only between generations, and an edit made during one is long settled.
                let since_write = self
                    .files
                    .iter()
                    .filter_map(|f| std::fs::metadata(f).ok()?.modified().ok())
                    .filter_map(|m| SystemTime::now().duration_since(m).ok())
                    .min()
                    .unwrap_or_default();
                self.dirty_since = Some(Instant::now().checked_sub(since_write).unwrap_or_else(Instant::now));
            }
        }
        let since = self.dirty_since?;
        if since.elapsed() < self.settle {
            return None;
        }
        self.dirty_since = None;
        let fingerprint = self.fingerprint();
        if self.rejected.as_deref() == Some(fingerprint.as_str()) {
            return None;
        }
        let vetted = self.reload().and_then(|reload| match reload {
            Some(reload) => match vet(&reload) {
                Ok(value) => Ok(Some((reload, value))),
                Err(message) => {
                    Err(ScriptError::Experiment { file: reload.experiment.main_file().to_string(), message })
                }
            },
            None => Ok(None),
        });
        match vetted {
            Ok(Some((reload, value))) => {
                self.rejected = None;
                self.current = reload.experiment.clone();
                // A new import starts being watched; a dropped one stops.
                if let Err(e) = self.watch_sources() {
                    return Some(Err(e));
                }
                Some(Ok((reload, value)))
            }
            Ok(None) => None,
            Err(error) => {
                self.rejected = Some(fingerprint);
                Some(Err(error))
            }
        }
    }

    /// Blocks up to `timeout` for [`ScriptWatcher::poll`] to return something.
    pub fn wait(&mut self, timeout: Duration) -> Option<Result<Reload, ScriptError>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(result) = self.poll() {
                return Some(result);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Compiles, applies the overrides and dry-runs the script as it is on disk now; `None` if
    /// its sources are those of the current version.
    fn reload(&self) -> Result<Option<Reload>, ScriptError> {
        let mut experiment = compile_file_with(&self.path, &self.limits)?;
        experiment.apply_overrides(&self.overrides)?;
        if experiment.version_hash() == self.current.version_hash() {
            return Ok(None);
        }
        check(&experiment)?;
        let diff = experiment.diff_from(&self.current);
        Ok(Some(Reload { experiment, diff }))
    }
}
