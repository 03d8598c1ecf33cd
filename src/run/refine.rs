//! `xnas refine RUN --regularizer W`: the paper's ✓+reg. The final front of a finished run (its
//! non-dominated set in the report axes, the front its report draws) is trained again with the
//! introspectability regularizer of appendix B (ω all ones unless the script sets `training.omega`)
//! as a new run: its own folder, store, script version, evaluations and report, so that `xnas
//! compare` lists it as the ✓+reg row.
//!
//! It is no loop of its own: the new run is the old run's stored script version with a fixed
//! search over that front (`search.algorithm = "fixed"`, `search.front_of = RUN`) and
//! `training.regularizer = W` as overrides — what a script says with
//! `exp.search(#{ algorithm: "fixed", front_of: "runs/RUN" })` — so it has the run machinery's
//! executors, jobs per device, retries, progress and crash safety, and `xnas resume` continues it.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::resume::{recorded_script, saved_overrides};
use super::{start_compiled, RunOptions, RunSummary};
use crate::script::{compile_stored, Limits, SourceFile};
use crate::store::Store;

/// The default name of a refined run: the source run's folder name and `-refined`.
pub fn refined_run_name(source: &Path) -> String {
    let base = source.file_name().map_or_else(|| "run".to_string(), |n| n.to_string_lossy().into_owned());
    format!("{base}-refined")
}

/// The overrides that turn a run's script into its refinement: the front of `source` trained
/// once with `regularizer`, named `name`.
fn refine_overrides(source: &Path, regularizer: f64, name: &str) -> Vec<(String, String)> {
    let pair = |key: &str, value: String| (key.to_string(), value);
    vec![
        pair("name", serde_json::to_string(name).expect("a string serialises")),
        pair("search.algorithm", "\"fixed\"".into()),
        pair("search.genomes", "[]".into()),
        pair("search.front_of", serde_json::to_string(&source.display().to_string()).expect("a string serialises")),
        pair("training.regularizer", regularizer.to_string()),
    ]
}

/// Trains the final front of the run in `source` again with `regularizer`, as a new run in
/// `run_dir` (see the module docs).
pub fn refine(source: &Path, regularizer: f64, run_dir: &Path, options: &RunOptions) -> anyhow::Result<RunSummary> {
    anyhow::ensure!(
        regularizer.is_finite() && regularizer > 0.0,
        "--regularizer {regularizer}: the weight of the introspectability loss must be a positive number (e.g. 0.5)"
    );
    let store = Store::open_read_only(source).with_context(|| format!("reading the run {}", source.display()))?;
    let info = store.run()?;
    let version =
        store.latest_script_version()?.with_context(|| format!("{} stored no script version", source.display()))?;
    let sources: Vec<SourceFile> = serde_json::from_value(version.sources)
        .with_context(|| format!("reading the sources of {}'s script version {}", source.display(), version.id))?;
    let script = recorded_script(&info)?;
    let mut experiment = compile_stored(&script, &sources, &Limits::default())
        .with_context(|| format!("compiling {}'s stored script version {}", source.display(), version.id))?;
    let absolute: PathBuf = std::fs::canonicalize(source).unwrap_or_else(|_| source.to_path_buf());
    let name = run_dir.file_name().map_or_else(|| refined_run_name(source), |n| n.to_string_lossy().into_owned());
    let mut overrides = saved_overrides(source)?;
    let refinement = refine_overrides(&absolute, regularizer, &name);
    overrides.retain(|(key, _)| !refinement.iter().any(|(k, _)| k == key));
    overrides.extend(refinement);
    experiment.apply_overrides(&overrides)?;
    eprintln!(
        "xnas refine: the front of {} trained again with the regularizer (weight {regularizer}) → {}",
        source.display(),
        run_dir.display()
    );
    start_compiled(experiment, &script, run_dir, &overrides, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refined_run_is_named_after_its_source() {
        assert_eq!(refined_run_name(Path::new("runs/quickstart")), "quickstart-refined");
        let overrides = refine_overrides(Path::new("/r/q"), 0.5, "q-refined");
        assert!(overrides.contains(&("training.regularizer".into(), "0.5".into())));
        assert!(overrides.contains(&("search.front_of".into(), "\"/r/q\"".into())));
    }
}
