//! Failures and the counts of a run, through the real binaries: a generation lost to a broken
//! worker is trained again on resume; scoring failures, resumed runs and a killed head are
//! counted alike by the generation lines, the run's summary, `xnas status` and the report.

use std::path::Path;
use std::process::{Command, Output};

use super::run::{spawn_quiet, temp_dir, tiny_script, trained, wait_for, xnas, XNAS};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `evaluations: …` line of a command's output.
fn evaluations_line(out: &Output) -> String {
    let stdout = text(&out.stdout);
    stdout.lines().find(|l| l.starts_with("evaluations:")).unwrap_or_else(|| panic!("no counts in {stdout}")).into()
}

/// Table 1's `evaluated` column of a fresh report of `run`.
fn table1_evaluated(run: &Path) -> String {
    let out = run.join("report-now");
    xnas(&["report", run.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let table = std::fs::read_to_string(out.join("table1.csv")).unwrap();
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = header.iter().position(|c| *c == "evaluated").expect("an evaluated column");
    std::fs::remove_dir_all(&out).ok();
    row[at].to_string()
}

#[test]
fn a_generation_lost_to_a_broken_worker_is_trained_again_on_resume() {
    let dir = temp_dir("broken-worker");
    let script = tiny_script(&dir, 2, "|r| r.introspectability");
    // The second objective named as the record's measurement: front.csv shows that column once.
    let named = std::fs::read_to_string(&script).unwrap().replace("\"second\"", "\"introspectability\"");
    std::fs::write(&script, named).unwrap();
    let run = dir.join("run");
    let run_arg = run.to_str().unwrap();
    let broken = Command::new(XNAS)
        .args(["run", script.to_str().unwrap(), "--dir", run_arg, "--max-attempts", "1"])
        .env("XNAS_WORKER", "/bin/false")
        .env("OMP_NUM_THREADS", "1")
        .output()
        .unwrap();
    let said = text(&broken.stderr);
    assert!(!broken.status.success(), "{said}");
    assert!(said.contains("every evaluation of generation 1 failed without a record"), "{said}");
    assert!(said.contains(&format!("`xnas resume {run_arg}` trains the 4 evaluations that failed again")), "{said}");
    // Nothing of the lost generation is saved as the search's: the four wait for the resume.
    let status = xnas(&["status", run_arg]);
    assert!(evaluations_line(&status).contains("0 done, 0 failed"), "{}", text(&status.stdout));
    assert!(evaluations_line(&status).contains("4 queued"), "{}", text(&status.stdout));
    assert!(text(&status.stdout).contains(&format!("`xnas resume {run_arg}` runs")), "{}", text(&status.stdout));

    let resumed = xnas(&["resume", run_arg]);
    assert_eq!(trained(&run).len(), 8, "both generations trained: {}", text(&resumed.stderr));
    assert!(evaluations_line(&resumed).starts_with("evaluations: 8 done, 0 failed"), "{}", text(&resumed.stdout));
    assert_eq!(evaluations_line(&resumed), evaluations_line(&xnas(&["status", run_arg])));
    assert_eq!(table1_evaluated(&run), "8");

    xnas(&["report", run_arg]);
    let front = std::fs::read_to_string(run.join("report").join("front.csv")).unwrap();
    let header: Vec<&str> = front.lines().next().unwrap().split(',').collect();
    let mut unique = header.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), header.len(), "a column repeats: {header:?}");
    assert!(header.contains(&"introspectability") && header.contains(&"val_accuracy"), "{header:?}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn scoring_failures_are_counted_as_failed_everywhere() {
    let dir = temp_dir("unscored");
    // The dry run's synthetic record scores (its accuracy is above 0.8); a 1-epoch training on
    // 200 images does not reach it.
    let script = tiny_script(&dir, 2, "|r| if r.val_accuracy < 0.8 { throw \"below 0.8\" } else { 1.0 }");
    let run = dir.join("run");
    let run_arg = run.to_str().unwrap();
    let out = Command::new(XNAS)
        .args(["run", script.to_str().unwrap(), "--dir", run_arg])
        .env("OMP_NUM_THREADS", "1")
        .output()
        .unwrap();
    let said = text(&out.stderr);
    assert!(said.contains("FAILED: scoring failed") && said.contains("8 failed so far"), "{said}");
    // A run that scored nothing says so in its exit status, and how to score its trainings.
    assert!(!out.status.success() && said.contains("no candidate of") && said.contains("--from"), "{said}");
    let line = evaluations_line(&out);
    assert!(
        line.starts_with("evaluations: 0 done, 8 failed (trained, but the objectives failed to score the record)"),
        "{line}\n{said}"
    );
    assert_eq!(line, evaluations_line(&xnas(&["status", run_arg])));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_killed_run_shows_nothing_running_and_a_resumed_one_counts_each_candidate_once() {
    let dir = temp_dir("killed-counts");
    let script = tiny_script(&dir, 3, "|r| r.introspectability");
    let run = dir.join("run");
    let run_arg = run.to_str().unwrap();
    let mut child = spawn_quiet(&["run", script.to_str().unwrap(), "--dir", run_arg]);
    // In generation 2, with one evaluation running: the resume asks the whole generation again.
    wait_for(&run, "5 finished evaluations and one running", |s| {
        s.counts().is_ok_and(|c| c.done >= 5 && c.running >= 1)
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let status = text(&xnas(&["status", run_arg]).stdout);
    assert!(!status.contains("running:") && status.contains("interrupted: #"), "{status}");
    assert!(status.contains(", 0 running,"), "{status}");

    let resumed = xnas(&["resume", run_arg]);
    assert_eq!(trained(&run).len(), 12);
    let line = evaluations_line(&resumed);
    assert!(line.starts_with("evaluations: 12 done, 0 failed"), "{line}");
    assert_eq!(line, evaluations_line(&xnas(&["status", run_arg])));
    assert_eq!(table1_evaluated(&run), "12");
    // Export's refusal lists the kept models' ids once each: the names of the models folders.
    let refused = Command::new(XNAS).args(["export", run_arg, "--id", "999"]).output().unwrap();
    let said = text(&refused.stderr);
    let listed = said.split("candidate(s) ").nth(1).and_then(|rest| rest.split(" (").next()).expect(&said);
    let ids: Vec<i64> = listed.split(", ").map(|id| id.parse().unwrap()).collect();
    assert_eq!(ids, super::models::kept(&run), "{said}");
    std::fs::remove_dir_all(dir).ok();
}
