//! Which experiment a resumed run continues with. A run is self-contained: by default it resumes
//! from the newest script version its store keeps — the script's text and every module it
//! imported — so neither a moved nor an edited file, nor the working directory, changes what it
//! runs. `--script FILE` adopts a file on disk instead, and `--set KEY=VALUE` fixes an override
//! (merged over the saved ones and saved back); either is shown as a diff of settings before
//! anything runs.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::run_dir::RunDir;
use crate::script::{check, compile_file, compile_stored, Experiment, Limits, SourceFile};
use crate::store::{RunInfo, Store};

/// What `xnas resume` is asked to change.
#[derive(Debug, Clone, Default)]
pub struct ResumeChanges {
    /// Continue with this script file instead of the stored version.
    pub script: Option<PathBuf>,
    /// `--set` overrides, applied over those the run saved.
    pub overrides: Vec<(String, String)>,
}

/// The experiment a resumed run continues with.
pub(super) struct Resumed {
    pub experiment: Experiment,
    /// The file a `--watch` watches: the run's script where it was, or `--script`.
    pub script: PathBuf,
    pub overrides: Vec<(String, String)>,
}

/// The script path the run recorded, made absolute. Runs started before paths were stored
/// absolute recorded them relative to where `xnas run` was started: the best guess left is the
/// current directory (the path only names the script and tells `--watch` where to look; what
/// runs comes from the store).
pub(super) fn recorded_script(info: &RunInfo) -> anyhow::Result<PathBuf> {
    let recorded = info.script_path.as_deref().context("the run does not record its script path")?;
    Ok(std::path::absolute(recorded).unwrap_or_else(|_| PathBuf::from(recorded)))
}

pub(super) fn saved_overrides(run_dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    match std::fs::read_to_string(RunDir::new(run_dir).file(RunDir::OVERRIDES)) {
        Ok(text) => serde_json::from_str(&text).with_context(|| format!("reading {}", RunDir::OVERRIDES)),
        Err(_) => Ok(Vec::new()),
    }
}

/// `saved` with each of `new` replacing the saved override of the same key, or added.
fn merge(saved: &[(String, String)], new: &[(String, String)]) -> Vec<(String, String)> {
    let mut merged: Vec<(String, String)> =
        saved.iter().filter(|(key, _)| !new.iter().any(|(k, _)| k == key)).cloned().collect();
    merged.extend(new.iter().cloned());
    merged
}

/// The experiment to continue `run_dir` with (see the module docs); prints what `changes`
/// change before returning.
pub(super) fn resumed_experiment(store: &Store, run_dir: &Path, changes: &ResumeChanges) -> anyhow::Result<Resumed> {
    let info = store.run()?;
    let recorded = recorded_script(&info)?;
    let saved = saved_overrides(run_dir)?;
    let overrides = merge(&saved, &changes.overrides);
    let stored = match store.latest_script_version()? {
        Some(version) => {
            let sources: Vec<SourceFile> = serde_json::from_value(version.sources)
                .with_context(|| format!("reading the sources of the run's script version {}", version.id))?;
            let mut experiment = compile_stored(&recorded, &sources, &Limits::default()).with_context(|| {
                format!(
                    "compiling the run's stored script version {} (see it with `xnas show-script {}`); resume with \
                     --script FILE to use a file instead",
                    version.id,
                    run_dir.display()
                )
            })?;
            experiment.apply_overrides(&saved)?;
            Some(experiment)
        }
        None => None,
    };
    let (mut experiment, script) = match (&changes.script, stored.clone()) {
        (Some(file), _) => {
            let experiment = compile_file(file)?;
            eprintln!("xnas resume: continuing with {} instead of the run's stored script", file.display());
            (experiment, file.clone())
        }
        (None, Some(stored)) => (stored, recorded),
        // The run stopped before it stored a version (at its very start): only the file is left.
        (None, None) => {
            let experiment = compile_file(&recorded).with_context(|| {
                format!("the run stored no script version yet, so its script {} is compiled", recorded.display())
            })?;
            (experiment, recorded)
        }
    };
    // A stored version already holds the saved overrides; a compiled file (the one given, or the
    // recorded one of a run that stopped before storing a version) needs them all.
    if changes.script.is_some() || stored.is_none() {
        experiment.apply_overrides(&overrides)?;
    } else {
        experiment.apply_overrides(&changes.overrides)?;
    }
    if let Some(stored) = &stored {
        let diff = experiment.diff_from(stored);
        for change in &diff.changes {
            eprintln!("  changed: {}: {} → {}", change.key, change.old, change.new);
        }
        if diff.changes.is_empty() && (changes.script.is_some() || !changes.overrides.is_empty()) {
            eprintln!(
                "  no setting changed{}",
                if diff.sources_changed { " (function bodies did: the objectives may score differently)" } else { "" }
            );
        }
    }
    if changes.script.is_some() || !changes.overrides.is_empty() {
        check(&experiment)?;
    }
    if !changes.overrides.is_empty() {
        let file = RunDir::new(run_dir).file(RunDir::OVERRIDES);
        std::fs::write(&file, serde_json::to_string_pretty(&overrides)?)
            .with_context(|| format!("saving the overrides to {}", file.display()))?;
    }
    Ok(Resumed { experiment, script, overrides })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run that stopped before storing a script version resumes from its script file with
    /// the overrides it saved, under the new ones.
    #[test]
    fn a_run_without_a_stored_version_resumes_with_its_saved_overrides() {
        let dir = std::env::temp_dir().join(format!("xnas-resume-no-version-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/quickstart.rhai");
        let experiment = compile_file(&script).unwrap();
        assert_ne!(experiment.spec().search.population, 4, "the test needs an override that changes something");
        let store = Store::create(&dir, &crate::run::run_info(&experiment, &script)).unwrap();
        let saved = r#"[["search.population", "4"], ["search.generations", "2"]]"#;
        std::fs::write(RunDir::new(&dir).file(RunDir::OVERRIDES), saved).unwrap();
        let changes =
            ResumeChanges { overrides: vec![("search.generations".into(), "5".into())], ..Default::default() };
        let resumed = resumed_experiment(&store, &dir, &changes).unwrap();
        assert_eq!(resumed.experiment.spec().search.population, 4);
        assert_eq!(resumed.experiment.spec().search.generations, Some(5));
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn new_overrides_replace_saved_ones_of_the_same_key() {
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        let saved = [pair("a", "1"), pair("b", "2")];
        assert_eq!(merge(&saved, &[pair("a", "3"), pair("c", "4")]), [pair("b", "2"), pair("a", "3"), pair("c", "4")]);
    }
}
