//! The gate of hot reload: whether the running search can take a new version of its script. An
//! edit the search cannot take — another number of objectives, another kind of algorithm, search
//! settings the search refuses — or one whose objectives fail on a record the current version
//! scores (NaN on a real network, a field that a failed one lacks) is rejected like a syntax
//! error: the run keeps its last good version and says why and what to do. An accepted edit comes
//! with its re-scored archive, so the objectives run on each record once.
//!
//! The same compatibility rule holds when `xnas resume` meets an edited script.

use std::collections::HashMap;
use std::path::Path;

use xnas_moo::Status;

use super::search::Search;
use crate::record::MeasurementRecord;
use crate::script::{Algorithm, Experiment, ExperimentSpec, Reload};

/// A finished evaluation of the run: its candidate, its store id and its record.
pub(super) struct Finished {
    pub candidate: u64,
    pub evaluation: i64,
    pub record: MeasurementRecord,
}

/// The archive under a new version: for each finished evaluation, its objectives or the error.
pub(super) struct Rescored {
    pub candidate: u64,
    pub evaluation: i64,
    pub result: Result<Vec<f64>, String>,
}

/// What to do with an edit the running search cannot take.
fn start_from_here(script: &Path, run_dir: &Path) -> String {
    format!(
        "To go on with this run, undo the edit. To search with the edited script, start a new run from this \
         one's finished evaluations (re-scored under the new script, not retrained): \
         `xnas run {} --from {}`",
        script.display(),
        run_dir.display()
    )
}

/// Whether a search in `search`'s state can go on under `spec`; the reason and the way out if not.
pub(super) fn compatible(search: &Search, spec: &ExperimentSpec, script: &Path, run_dir: &Path) -> Result<(), String> {
    let refuse = |why: String| Err(format!("{why}. {}", start_from_here(script, run_dir)));
    let same_kind = matches!(
        (search, spec.search.algorithm),
        (Search::Nsga2(_), Algorithm::Nsga2 | Algorithm::Ga)
            | (Search::Random(_), Algorithm::Random)
            | (Search::Fixed(_), Algorithm::Fixed)
            | (Search::Exhaustive(_), Algorithm::Exhaustive)
    );
    if !same_kind {
        return refuse(format!(
            "a running search cannot change its algorithm between random search and NSGA-II/GA (now {})",
            serde_json::to_value(spec.search.algorithm).map_or_else(|_| "?".into(), |v| v.to_string())
        ));
    }
    let told = search.records().iter().find_map(|r| match &r.status {
        Status::Evaluated(f) => Some(f.len()),
        _ => None,
    });
    if let Some(told) = told.filter(|&n| n != spec.objectives.len()) {
        return refuse(format!(
            "the running search has {told} objective(s) and this version declares {}; a running search cannot \
             change its number of objectives",
            spec.objectives.len()
        ));
    }
    let mut trial = search.clone();
    match trial.reconfigure(spec) {
        Ok(()) => Ok(()),
        Err(e) => refuse(format!("the running search cannot take these settings: {e}")),
    }
}

/// Scores each finished evaluation under `new`. An error on a record that `current` scores
/// rejects the version (it would fail that evaluation and drop it from the population); records
/// that fail under both stay failed.
pub(super) fn rescore(current: &Experiment, new: &Experiment, archive: &[Finished]) -> Result<Vec<Rescored>, String> {
    // One evaluation per candidate (a candidate asked again on resume has a newer one).
    let latest: HashMap<u64, &Finished> = archive.iter().map(|f| (f.candidate, f)).collect();
    let mut rescored = Vec::with_capacity(latest.len());
    for finished in latest.into_values() {
        let result = new.score(&finished.record);
        if let Err(error) = &result {
            if current.score(&finished.record).is_ok() {
                return Err(format!(
                    "the new objectives fail on a trained network of this run (candidate #{}, {}), which the \
                     current version scores; accepting the edit would fail it and drop it from the population:\n\
                     {error}\nMake the objective a finite number for every record (records are in `xnas report`'s \
                     output and the store) and save again; the run goes on with its last good version meanwhile",
                    finished.candidate, finished.record.genome
                ));
            }
        }
        rescored.push(Rescored {
            candidate: finished.candidate,
            evaluation: finished.evaluation,
            result: result.map_err(|e| e.to_string()),
        });
    }
    rescored.sort_by_key(|r| r.evaluation);
    Ok(rescored)
}

/// Vets `reload` for a run whose search is `search` under `current`: compatibility first, then
/// the re-scored archive when the objectives changed (`archive` is read only then).
pub(super) fn vet(
    search: &Search,
    current: &Experiment,
    reload: &Reload,
    archive: impl FnOnce() -> Result<Vec<Finished>, String>,
    script: &Path,
    run_dir: &Path,
) -> Result<Option<Vec<Rescored>>, String> {
    compatible(search, reload.experiment.spec(), script, run_dir)?;
    if !reload.diff.needs_rescoring() {
        return Ok(None);
    }
    rescore(current, &reload.experiment, &archive()?).map(Some)
}
