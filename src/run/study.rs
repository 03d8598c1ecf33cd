//! `xnas run SCRIPT --seeds 1..5`: a study, the same experiment repeated once per search seed.
//!
//! The design, as a user sees it:
//!
//! - **A seed is `search.seed`.** Seed k of a study is exactly the run
//!   `xnas run SCRIPT --set search.seed=k --dir runs/<name>-s<k>` (the seed is one more saved
//!   override). `training.seed` stays the script's: every seed trains a genome on the same data
//!   split with the same initialisation, so the seeds differ in what their searches explored, which
//!   is what a comparison of search methods over seeds measures. Giving `--set search.seed=…` too
//!   is refused, since it would make every seed the same run.
//! - **A study is its folders.** Seed k's run is the ordinary run folder `runs/<name>-s<k>`
//!   (`<name>`: `--name`, else the experiment's name); there is no other file. Every command that
//!   takes runs takes the study as `runs/<name>-s*`: `xnas resume` and `xnas status` take several
//!   run folders, and `xnas compare --group "LABEL=runs/<name>-s*"` groups them.
//! - **Nothing is lost on interruption.** Every seed's run is created first (folder, store,
//!   script version, every check: [`super::prepare`]) and only then trained, so a study killed at
//!   any point leaves each seed a run that `xnas resume runs/<name>-s*` continues (or starts) with
//!   the run store's own guarantees. A seed whose folder already holds a run is refused before
//!   anything is created, with the resume command to use instead.
//! - **Runs from runs, seed by seed.** `--from "runs/old-s*"` starts seed k from `runs/old-s<k>`
//!   (a `--from` without `*` starts every seed from that one run), and `xnas refine RUN…` refines
//!   each seed's run into `runs/<name>-refined-s<k>`, a study of its own.
//! - **One seed's failure is not the study's.** The seeds run one after another in this process,
//!   each a normal run; when one fails the others still run, and the result says which failed.
//!
//! Seeds run one after another: the executor's slots are not yet shared across seeds, so a seed's
//! last slow job of a generation still idles the other slots.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::{prepare, resume, ResumeChanges, RunOptions, RunSummary};
use crate::run_dir::{default_run_dir, FolderError, RunDir};

/// The setting a study's seed sets in each run.
pub const SEED_SETTING: &str = "search.seed";

/// Why a `--seeds` list or a study cannot be started.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    #[error(
        "--seeds {given:?}: {why}. Give seeds as a range, e.g. --seeds 1..5 (1 to 5, both included), a list, \
         e.g. --seeds 1,2,7, or both, e.g. --seeds 1..3,10"
    )]
    BadSeeds { given: String, why: String },
    #[error(
        "--seeds sets {SEED_SETTING} of every seed's run, so --set {SEED_SETTING}={value} would make them one run; \
         leave that --set out"
    )]
    SeedOverridden { value: String },
    #[error(
        "--seeds puts each seed's run in its own folder (runs/NAME-s<seed>), so it takes no --dir; name the \
         study with --name NAME instead"
    )]
    DirGiven,
    #[error("seed {seed}'s run folder: {source}")]
    Folder { seed: u64, source: FolderError },
    #[error(
        "the study's folder(s) {} already hold a run; continue them with `xnas resume {}`, or start the study \
         under another --name",
        folders.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "),
        folders.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(" ")
    )]
    FoldersTaken { folders: Vec<PathBuf> },
}

/// The seeds of a study, in the order given, each once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seeds(Vec<u64>);

impl Seeds {
    pub fn as_slice(&self) -> &[u64] {
        &self.0
    }
}

/// The most seeds one study runs: a typo such as `1..10000000` should not create folders for hours.
pub const MAX_SEEDS: usize = 1000;

impl FromStr for Seeds {
    type Err = StudyError;

    /// `A..B` (both included), `A,B,C`, or items of both kinds apart by commas.
    fn from_str(text: &str) -> Result<Self, StudyError> {
        let bad = |why: String| StudyError::BadSeeds { given: text.to_string(), why };
        let number = |part: &str| -> Result<u64, StudyError> {
            let part = part.trim();
            if part.is_empty() {
                return Err(bad("a seed is missing (an empty item or an open range)".into()));
            }
            part.parse::<u64>().map_err(|_| bad(format!("{part:?} is not a seed (a whole number, 0 or more)")))
        };
        let mut seeds: Vec<u64> = Vec::new();
        for item in text.split(',') {
            let (first, last) = match item.split_once("..") {
                Some((first, last)) => {
                    if last.starts_with('=') {
                        return Err(bad(format!("{item:?}: write the range as A..B, without '='")));
                    }
                    (number(first)?, number(last)?)
                }
                None => {
                    let seed = number(item)?;
                    (seed, seed)
                }
            };
            if last < first {
                return Err(bad(format!("the range {first}..{last} runs backwards; write {last}..{first}")));
            }
            if (last - first) as usize >= MAX_SEEDS || seeds.len() + ((last - first) as usize) >= MAX_SEEDS {
                return Err(bad(format!("that is more than {MAX_SEEDS} seeds")));
            }
            for seed in first..=last {
                if seeds.contains(&seed) {
                    return Err(bad(format!("seed {seed} is given twice")));
                }
                seeds.push(seed);
            }
        }
        Ok(Seeds(seeds))
    }
}

/// The run name of a study's seed: `<name>-s<seed>`.
pub fn seed_run_name(name: &str, seed: u64) -> String {
    format!("{name}-s{seed}")
}

/// The overrides of seed `seed`'s run: the study's, then its seed.
pub fn seed_overrides(overrides: &[(String, String)], seed: u64) -> Result<Vec<(String, String)>, StudyError> {
    if let Some((_, value)) = overrides.iter().find(|(key, _)| key == SEED_SETTING) {
        return Err(StudyError::SeedOverridden { value: value.clone() });
    }
    let mut with_seed = overrides.to_vec();
    with_seed.push((SEED_SETTING.to_string(), seed.to_string()));
    Ok(with_seed)
}

/// Each seed with its run folder, `runs/<name>-s<seed>`; refused as a whole when a name is bad or
/// a folder already holds a run.
pub fn seed_folders(name: &str, seeds: &Seeds) -> Result<Vec<(u64, PathBuf)>, StudyError> {
    let folders = seeds
        .as_slice()
        .iter()
        .map(|&seed| {
            default_run_dir(&seed_run_name(name, seed))
                .map(|dir| (seed, dir))
                .map_err(|source| StudyError::Folder { seed, source })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let taken: Vec<PathBuf> =
        folders.iter().filter(|(_, dir)| RunDir::new(dir).holds_run()).map(|(_, dir)| dir.clone()).collect();
    if !taken.is_empty() {
        return Err(StudyError::FoldersTaken { folders: taken });
    }
    for (seed, dir) in &folders {
        crate::run_dir::check_new_run_dir(dir).map_err(|source| StudyError::Folder { seed: *seed, source })?;
    }
    Ok(folders)
}

/// The run seed `seed` starts from with `--from FROM`: FROM itself, or, when its folder name holds
/// a `*` (`--from "runs/old-s*"`), the folder with the seed in its place: seeds paired by number.
pub fn seed_from(from: &Path, seed: u64) -> PathBuf {
    match from.file_name().and_then(|name| name.to_str()) {
        Some(name) if name.contains('*') => from.with_file_name(name.replace('*', &seed.to_string())),
        _ => from.to_path_buf(),
    }
}

/// The default name of the refinement (`xnas refine`) of the run in `source`: a study's seed
/// `<name>-s<k>` becomes `<name>-refined-s<k>`, so that the refined seeds are a study of their own
/// (`runs/<name>-refined-s*`, which `runs/<name>-s*` does not match); any other run `<name>-refined`.
pub fn refined_seed_run_name(source: &Path) -> String {
    let name = source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match name.rsplit_once("-s") {
        Some((base, seed)) if !base.is_empty() && !seed.is_empty() && seed.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{base}-refined-s{seed}")
        }
        _ => super::refined_run_name(source),
    }
}

/// How one seed's run ended.
#[derive(Debug)]
pub struct SeedOutcome {
    pub seed: u64,
    pub run_dir: PathBuf,
    pub result: anyhow::Result<RunSummary>,
}

/// Creates every seed's run in `folders` (see the module docs), then runs them one after another.
/// A failure to create a run stops the study before anything is trained (the runs created so far
/// stay, resumable); a failure while a seed runs is that seed's outcome, and the next seed runs.
pub fn start_study(
    script: &Path,
    folders: &[(u64, PathBuf)],
    overrides: &[(String, String)],
    options: &RunOptions,
) -> anyhow::Result<Vec<SeedOutcome>> {
    for (seed, dir) in folders {
        let options =
            RunOptions { from: options.from.as_deref().map(|from| seed_from(from, *seed)), ..options.clone() };
        prepare(script, dir, &seed_overrides(overrides, *seed)?, &options)
            .map_err(|e| e.context(format!("creating seed {seed}'s run in {}", dir.display())))?;
    }
    let dirs: Vec<PathBuf> = folders.iter().map(|(_, dir)| dir.clone()).collect();
    eprintln!(
        "xnas run: {} seed(s) of {}, each a run: {}",
        folders.len(),
        script.display(),
        dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(" ")
    );
    Ok(resume_study(&dirs, options, &ResumeChanges::default())
        .into_iter()
        .zip(folders)
        .map(|(outcome, (seed, _))| SeedOutcome { seed: *seed, ..outcome })
        .collect())
}

/// Resumes each of the runs in `dirs` one after another (a finished one resumes to nothing); a
/// failure is that run's outcome, and the next one runs. `seed` is each run's stored search seed
/// (0 when it cannot be read).
pub fn resume_study(dirs: &[PathBuf], options: &RunOptions, changes: &ResumeChanges) -> Vec<SeedOutcome> {
    dirs.iter()
        .enumerate()
        .map(|(i, dir)| {
            eprintln!("── {} ({} of {}) ──", dir.display(), i + 1, dirs.len());
            SeedOutcome {
                seed: stored_seed(dir).unwrap_or(0),
                run_dir: dir.clone(),
                result: resume(dir, options, changes),
            }
        })
        .collect()
}

/// The search seed a run's newest stored settings name.
fn stored_seed(run_dir: &Path) -> Option<u64> {
    let store = crate::store::Store::open_read_only(run_dir).ok()?;
    let version = store.latest_script_version().ok()??;
    version.config.get("search")?.get("seed")?.as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds(text: &str) -> Result<Vec<u64>, String> {
        text.parse::<Seeds>().map(|s| s.0).map_err(|e| e.to_string())
    }

    #[test]
    fn ranges_include_both_ends_and_lists_keep_their_order() {
        assert_eq!(seeds("1..5").unwrap(), [1, 2, 3, 4, 5]);
        assert_eq!(seeds("1,2,7").unwrap(), [1, 2, 7]);
        assert_eq!(seeds("7,1..2").unwrap(), [7, 1, 2]);
        assert_eq!(seeds("3").unwrap(), [3]);
        assert_eq!(seeds("0..0").unwrap(), [0]);
        assert_eq!(seeds(" 1 .. 2 , 4").unwrap(), [1, 2, 4]);
    }

    #[test]
    fn bad_seed_lists_say_what_is_wrong_and_how_to_write_one() {
        for (given, why) in [
            ("1..", "a seed is missing"),
            ("..3", "a seed is missing"),
            ("", "a seed is missing"),
            ("1,,2", "a seed is missing"),
            ("3..1", "runs backwards; write 1..3"),
            ("1,2,1", "seed 1 is given twice"),
            ("1..3,2", "seed 2 is given twice"),
            ("a", "\"a\" is not a seed"),
            ("-1", "\"-1\" is not a seed"),
            ("1.5", "\"1.5\" is not a seed"),
            ("1..=3", "without '='"),
            ("0..5000", "more than 1000 seeds"),
        ] {
            let message = seeds(given).unwrap_err();
            assert!(message.contains(why), "{given:?}: {message}");
            assert!(message.contains("--seeds 1..5"), "{given:?}: {message}");
        }
    }

    #[test]
    fn a_seed_is_one_more_override_and_may_not_be_given_twice() {
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        let given = [pair("training.epochs", "1")];
        assert_eq!(seed_overrides(&given, 4).unwrap(), [pair("training.epochs", "1"), pair("search.seed", "4")]);
        let error = seed_overrides(&[pair("search.seed", "2")], 4).unwrap_err().to_string();
        assert!(error.contains("--set search.seed=2") && error.contains("leave that --set out"), "{error}");
    }

    #[test]
    fn from_pairs_seeds_by_number_and_refined_seeds_form_a_study() {
        assert_eq!(seed_from(Path::new("runs/old-s*"), 3), PathBuf::from("runs/old-s3"));
        assert_eq!(seed_from(Path::new("runs/old"), 3), PathBuf::from("runs/old"));
        assert_eq!(refined_seed_run_name(Path::new("runs/quickstart-s12")), "quickstart-refined-s12");
        assert_eq!(refined_seed_run_name(Path::new("runs/quickstart")), "quickstart-refined");
        assert_eq!(refined_seed_run_name(Path::new("runs/a-sb")), "a-sb-refined");
        assert_eq!(refined_seed_run_name(Path::new("runs/-s1")), "-s1-refined");
    }

    #[test]
    fn seed_folders_are_named_runs_and_a_bad_name_names_its_seed() {
        let study = Seeds(vec![1, 2]);
        let folders = seed_folders("quickstart", &study).unwrap();
        assert_eq!(folders, [(1, PathBuf::from("runs/quickstart-s1")), (2, PathBuf::from("runs/quickstart-s2"))]);
        let error = seed_folders("bad/name", &study).unwrap_err().to_string();
        assert!(error.starts_with("seed 1's run folder: \"bad/name-s1\" cannot be a run name"), "{error}");
    }
}
