//! `xnas compare RUN RUN… [--out DIR]`: runs side by side — Table 1 with one row per run in the
//! order given, every front in the report axes (one panel per run and an overlay), and every run's
//! hypervolume per generation, all from one reference point. With `--group LABEL=PATTERN` (once per
//! group) the runs come in labelled groups, and after the per-run sections the page shows the
//! groups' statistics and figures (`xnas::report::groups`, a section of the page like the others).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;

use xnas::output::{check_output_dir, StagedDir};
use xnas::report::compare::{files, table_markdown, ComparedRun};
use xnas::report::groups::{check_grouping, check_labels};

use super::report::table1_over;
use xnas::report::input::Table1Over;

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Run folders (runs/NAME), in the order the table lists them.
    #[arg(required_unless_present = "groups", conflicts_with = "groups", num_args = 1..)]
    pub runs: Vec<PathBuf>,
    /// A labelled group of runs, LABEL=PATTERN (e.g. "✓=runs/quickstart-s*"): `*` and `?` match
    /// within the last path component. Give it once per group; the tables list groups in order.
    #[arg(long = "group", value_name = "LABEL=PATTERN")]
    pub groups: Vec<String>,
    /// Where to write the comparison (default: runs/compare).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// What each row's Table 1 statistics are over (as `xnas report --table1-over`).
    #[arg(long, value_parser = table1_over(), default_value = "final-population")]
    pub table1_over: Table1Over,
}

pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    let groups: Vec<(String, Vec<PathBuf>)> = args.groups.iter().map(|g| expand_group(g)).collect::<Result<_, _>>()?;
    check_labels(groups.iter().map(|(label, _)| label.as_str()))?;
    let folders: Vec<(Option<&str>, &PathBuf)> = if groups.is_empty() {
        args.runs.iter().map(|dir| (None, dir)).collect()
    } else {
        groups.iter().flat_map(|(label, runs)| runs.iter().map(move |dir| (Some(label.as_str()), dir))).collect()
    };
    let mut runs = Vec::with_capacity(folders.len());
    let options = xnas::report::input::ReportOptions { table1_over: args.table1_over, ..Default::default() };
    for (group, dir) in folders {
        let input = xnas::report::input::report_input_with(dir, &options)
            .with_context(|| format!("reading the run {}", dir.display()))?;
        let mut run = ComparedRun::new(dir.display().to_string(), input);
        if let Some(label) = group {
            (run.group, run.seed) = (Some(label.to_string()), search_seed(dir));
        }
        runs.push(run);
    }
    // The groups section of the page reads the labels; a bad grouping is refused here, by name.
    check_grouping(&runs)?;
    let datasets: Vec<&str> = runs.iter().map(|r| r.input.dataset.as_str()).collect();
    if datasets.windows(2).any(|w| w[0] != w[1]) {
        eprintln!(
            "warning: the runs use different datasets ({}); hypervolumes share the first run's reference point",
            datasets.join(", ")
        );
    }
    warn_of_mismatches(&runs);
    let out = args.out.unwrap_or_else(|| PathBuf::from("runs").join("compare"));
    check_output_dir("--out", &out, super::report::earlier_report)?;
    // Written whole beside its place, then swapped in: a kill leaves the old comparison or the new one.
    let staged = StagedDir::new("--out", &out)?;
    for (name, text) in files(&runs) {
        let path = staged.path().join(&name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", out.join(&name).display()))?;
    }
    staged.commit("--out")?;
    print!("{}", table_markdown(&runs));
    eprintln!("open {} in a browser", out.join("index.html").display());
    Ok(())
}

/// Says what makes the runs' rows less comparable than they look: a run listed twice, searches
/// with other objective counts or reference points (the figures compare all of them in the report
/// axes from one reference point, which is not what each search optimised).
fn warn_of_mismatches(runs: &[ComparedRun]) {
    let canonical = |folder: &str| std::fs::canonicalize(folder).unwrap_or_else(|_| PathBuf::from(folder));
    for (i, a) in runs.iter().enumerate() {
        if let Some(b) = runs[..i].iter().find(|b| canonical(&b.folder) == canonical(&a.folder)) {
            eprintln!(
                "warning: the run {} is listed twice (as {} and {}): its rows are one run",
                a.folder, b.folder, a.folder
            );
        }
    }
    let first = &runs[0].input;
    for run in &runs[1..] {
        let input = &run.input;
        if input.axes.names != first.axes.names {
            eprintln!(
                "warning: {} reports in the plane {}, {} in {}; the comparison names the first's axes over each run's \
                 own values — give the runs the same report_axes (e.g. a WordNet run's \
                 [\"val_accuracy\", \"wordnet_introspectability\"])",
                runs[0].folder,
                first.axes.label(),
                run.folder,
                input.axes.label()
            );
        }
        if input.objective_names.len() != first.objective_names.len() {
            eprintln!(
                "warning: {} searched {} objective(s) ({}), {} searched {} ({}); the comparison is in the report axes, \
                 not in what each search optimised",
                runs[0].folder,
                first.objective_names.len(),
                first.objective_names.join(", "),
                run.folder,
                input.objective_names.len(),
                input.objective_names.join(", ")
            );
        } else if input.reference_point != first.reference_point {
            eprintln!(
                "warning: {} searched with the reference point {:?}, {} with {:?}; their own hypervolumes differ in \
                 meaning, and the comparison's share one reference in the report axes",
                runs[0].folder, first.reference_point, run.folder, input.reference_point
            );
        }
    }
}

/// The seed the run's search used (its latest stored settings), when they can be read.
fn search_seed(run_dir: &Path) -> Option<u64> {
    let store = xnas::store::Store::open_read_only(run_dir).ok()?;
    let version = store.latest_script_version().ok()??;
    version.config.get("search")?.get("seed")?.as_u64()
}

/// `LABEL=PATTERN` into the label and the run folders the pattern matches, sorted.
fn expand_group(text: &str) -> anyhow::Result<(String, Vec<PathBuf>)> {
    let Some((label, pattern)) = text.split_once('=') else {
        bail!("--group {text:?}: write LABEL=RUNS, e.g. --group \"✓=runs/quickstart-s*\"");
    };
    if label.is_empty() || pattern.is_empty() {
        bail!(
            "--group {text:?}: both the label before = and the runs after it are needed, e.g. \"✓=runs/quickstart-s*\""
        );
    }
    let pattern = Path::new(pattern);
    let name = pattern.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if !name.contains(['*', '?']) {
        return Ok((label.to_string(), vec![pattern.to_path_buf()]));
    }
    let parent = pattern.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let entries =
        std::fs::read_dir(parent).with_context(|| format!("--group {label}: listing {}", parent.display()))?;
    let mut folders: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().is_dir())
        .filter(|entry| entry.file_name().to_str().is_some_and(|n| wildcard_match(name, n)))
        .map(|entry| pattern.with_file_name(entry.file_name()))
        .collect();
    if folders.is_empty() {
        bail!(
            "--group {label}: no run folder matches {} (the shell may have expanded it already: quote the pattern)",
            pattern.display()
        );
    }
    folders.sort();
    Ok((label.to_string(), folders))
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters and `?` one.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let (pattern, name): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // matches[j]: pattern[..i] matches name[..j], row by row over i.
    let mut matches = vec![false; name.len() + 1];
    matches[0] = true;
    for &p in &pattern {
        let previous = matches.clone();
        matches[0] = previous[0] && p == '*';
        for j in 1..=name.len() {
            matches[j] = match p {
                '*' => previous[j] || matches[j - 1],
                '?' => previous[j - 1],
                c => previous[j - 1] && name[j - 1] == c,
            };
        }
    }
    matches[name.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_within_a_name() {
        assert!(wildcard_match("quickstart-s*", "quickstart-s1"));
        assert!(wildcard_match("quickstart-s*", "quickstart-s"));
        assert!(wildcard_match("*-s?", "single-s3"));
        assert!(!wildcard_match("*-s?", "single-s12"));
        assert!(!wildcard_match("quickstart-s*", "single-s1"));
        assert!(wildcard_match("a*b*c", "aXXbYc"));
        assert!(!wildcard_match("a*b*c", "aXXbY"));
    }

    #[test]
    fn groups_expand_sorted_and_refuse_what_matches_nothing() {
        let root = std::env::temp_dir().join(format!("xnas-compare-groups-{}", std::process::id()));
        for name in ["single-s2", "single-s1", "quickstart-s1"] {
            std::fs::create_dir_all(root.join(name)).unwrap();
        }
        let (label, runs) = expand_group(&format!("✗={}/single-s*", root.display())).unwrap();
        assert_eq!(label, "✗");
        assert_eq!(runs, [root.join("single-s1"), root.join("single-s2")]);
        let error = expand_group(&format!("✓={}/nothing-*", root.display())).unwrap_err().to_string();
        assert!(error.contains("no run folder matches"), "{error}");
        assert!(expand_group("runs/x").unwrap_err().to_string().contains("LABEL=RUNS"));
        assert!(expand_group("=runs/x").unwrap_err().to_string().contains("label before ="));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
