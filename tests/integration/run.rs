//! `xnas run`, `resume`, `status` and `report` end to end, through the real binary and real
//! Fashion-MNIST subsets: a tiny search completes; `kill -9` mid-run then `resume` trains no
//! finished evaluation again; the same seed gives the same results; a hot reload re-scores the
//! archive with the new objective without retraining.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use xnas::store::{EvalStatus, Store};

pub(crate) const XNAS: &str = env!("CARGO_BIN_EXE_xnas");

/// Waits (up to 240 s) until `condition` holds on the store of the run in `run`, read as
/// `xnas status` reads it while the run writes.
pub(crate) fn wait_for(run: &Path, what: &str, condition: impl Fn(&Store) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        if Store::open_read_only(run).is_ok_and(|s| condition(&s)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
/// The training binary the head hands evaluations to.
pub(crate) const XNAS_WORKER: &str = env!("CARGO_BIN_EXE_xnas-worker");

/// A tiny experiment: 4 candidates per generation, each a 1-epoch training on 200 images.
pub(crate) fn tiny_script(dir: &Path, generations: u64, second_objective: &str) -> PathBuf {
    let path = dir.join("tiny.rhai");
    let text = format!(
        r#"let exp = experiment("tiny");
exp.dataset(#{{ name: "fashion-mnist", train_subset: 200, val_subset: 100, test_subset: 100 }});
exp.space(#{{ channels: 4, cells: 1 }});
exp.training(#{{ epochs: 1, batch_size: 64, device: "cpu" }});
exp.search(#{{ algorithm: "nsga2", population: 4, generations: {generations}, seed: 3 }});
exp.objective("accuracy", "max", |r| r.val_accuracy);
exp.objective("second", "max", {second_objective});
exp.reference_point([0.1, 0.0]);
exp
"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

pub(crate) fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xnas-run-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts xnas in the background, its output discarded: a run to watch, kill or race.
pub(crate) fn spawn_quiet(args: &[&str]) -> std::process::Child {
    Command::new(XNAS)
        .args(args)
        .env("OMP_NUM_THREADS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

pub(crate) fn xnas(args: &[&str]) -> std::process::Output {
    let out = Command::new(XNAS).args(args).env("OMP_NUM_THREADS", "1").output().unwrap();
    assert!(
        out.status.success(),
        "xnas {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// (genome, accuracy) of every done evaluation that was trained (not reused), in id order.
pub(crate) fn trained(run: &Path) -> Vec<(String, f64)> {
    let store = Store::open(run).unwrap();
    store
        .evaluations(Some(EvalStatus::Done))
        .unwrap()
        .into_iter()
        .filter(|e| e.reused_from.is_none())
        .map(|e| (e.genome.compact(), e.record.unwrap().val_accuracy.unwrap()))
        .collect()
}

#[test]
fn a_tiny_search_runs_reports_and_is_reproducible() {
    let dir = temp_dir("tiny");
    let script = tiny_script(&dir, 2, "|r| r.introspectability");
    let (a, b) = (dir.join("a"), dir.join("b"));
    xnas(&["run", script.to_str().unwrap(), "--dir", a.to_str().unwrap()]);
    let first = trained(&a);
    assert_eq!(first.len(), 8, "2 generations of 4");
    let status = String::from_utf8(xnas(&["status", a.to_str().unwrap()]).stdout).unwrap();
    assert!(status.contains("8 done") && status.contains("generation   2: hypervolume"), "{status}");
    xnas(&["report", a.to_str().unwrap()]);
    for file in ["front.csv", "front.svg", "hypervolume.svg", "table1.csv", "table1.md", "index.html"] {
        assert!(a.join("report").join(file).is_file(), "{file}");
    }
    // The same seed, the same candidates and results.
    xnas(&["run", script.to_str().unwrap(), "--dir", b.to_str().unwrap()]);
    assert_eq!(trained(&b), first);
    // A finished run resumes to nothing.
    let out = xnas(&["resume", a.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already complete"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn kill_9_then_resume_trains_nothing_twice() {
    let dir = temp_dir("kill");
    let script = tiny_script(&dir, 3, "|r| r.introspectability");
    let run = dir.join("run");
    let mut child = spawn_quiet(&["run", script.to_str().unwrap(), "--dir", run.to_str().unwrap()]);
    // Kill it in the middle of generation 2: after at least 5 finished evaluations.
    wait_for(&run, "5 finished evaluations", |s| s.counts().is_ok_and(|c| c.done >= 5));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = trained(&run);
    assert!(before.len() >= 5 && before.len() < 12);
    xnas(&["resume", run.to_str().unwrap()]);
    let after = trained(&run);
    assert_eq!(&after[..before.len()], &before[..], "finished evaluations are kept");
    let mut genomes: Vec<&String> = after.iter().map(|(g, _)| g).collect();
    genomes.sort();
    genomes.dedup();
    assert_eq!(genomes.len(), after.len(), "no genome was trained twice: {after:?}");
    let store = Store::open(&run).unwrap();
    assert_eq!(store.latest_generation().unwrap().unwrap().generation, 3);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_hot_reload_rescores_the_archive_without_retraining() {
    hot_reload("reload", &[]);
}

#[test]
fn a_hot_reload_in_a_steady_state_run_with_jobs_in_flight() {
    hot_reload("reload-steady", &["--scheduling", "steady-state", "--jobs-per-device", "2"]);
}

fn hot_reload(name: &str, extra: &[&str]) {
    let dir = temp_dir(name);
    let script = tiny_script(&dir, 3, "|r| r.introspectability");
    let run = dir.join("run");
    let child = Command::new(XNAS)
        .args(["run", script.to_str().unwrap(), "--dir", run.to_str().unwrap(), "--watch"])
        .args(extra)
        .env("OMP_NUM_THREADS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&run, "generation 1 to finish", |s| s.latest_generation().is_ok_and(|g| g.is_some()));
    // New second objective: the number of parameters, in millions (no retraining needed).
    tiny_script(&dir, 3, "|r| r.params / 1000000.0");
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("script reloaded") && log.contains("re-scored"), "{log}");
    let store = Store::open(&run).unwrap();
    let versions = store.script_versions().unwrap();
    assert_eq!(versions.len(), 2, "{log}");
    let scores = store.scores(versions[1].id).unwrap();
    let done = store.evaluations(Some(EvalStatus::Done)).unwrap();
    assert!(scores.len() >= done.len() - 4, "every finished evaluation is scored under the new version");
    for score in scores {
        let evaluation = done.iter().find(|e| e.id == score.evaluation).unwrap();
        let record = evaluation.record.as_ref().unwrap();
        assert_eq!(score.result.unwrap()[1], record.params as f64 / 1e6);
    }
    assert_eq!(trained(&run).len(), done.iter().filter(|e| e.reused_from.is_none()).count());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_repair_that_rejects_every_genome_says_so() {
    let dir = temp_dir("reject-all");
    let script = tiny_script(&dir, 1, "|r| r.introspectability");
    let text = std::fs::read_to_string(&script).unwrap().replace("\nexp\n", "\nexp.repair(|g| ());\nexp\n");
    std::fs::write(&script, text).unwrap();
    let out = Command::new(XNAS)
        .args(["run", script.to_str().unwrap(), "--dir", dir.join("run").to_str().unwrap()])
        .env("OMP_NUM_THREADS", "1")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("the script's repair rejected") && log.contains("genomes in a row"), "{log}");
    assert!(!log.contains("exhausted"), "{log}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_time_budget_stops_breeding_and_lets_the_generation_in_flight_finish() {
    let dir = temp_dir("max-seconds");
    let script = tiny_script(&dir, 1000, "|r| r.introspectability");
    let run = dir.join("run");
    let out = xnas(&["run", script.to_str().unwrap(), "--dir", run.to_str().unwrap(), "--set", "search.max_seconds=2"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the time budget ran out (search.max_seconds = 2)"), "{stderr}");
    let store = xnas::store::Store::open(&run).unwrap();
    let generations = store.generations().unwrap().len();
    assert!((1..1000).contains(&generations), "{generations} generation(s)");
    assert_eq!(store.evaluations(None).unwrap().len(), 4 * generations, "whole generations only");
    let bad =
        Command::new(XNAS).args(["check", script.to_str().unwrap(), "--set", "search.max_seconds=0"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("search.max_seconds = 0: must be a number of seconds above 0")
    );
    std::fs::remove_dir_all(dir).ok();
}
