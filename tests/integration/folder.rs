//! Run folders through the real binary: a folder takes one process at a time (two real processes,
//! and `kill -9` frees it), run names stay inside `runs/` and `--dir` never adopts a user's
//! folder, and a resumed run is self-contained (the stored script, from any directory,
//! `--script` and `--set` shown before they apply, `xnas show-script`).

use std::path::Path;
use std::process::{Command, Output};

use xnas::store::Store;

use crate::run::{spawn_quiet, temp_dir, tiny_script, trained, wait_for, xnas, XNAS};

/// Runs xnas in `cwd`, whether it succeeds or not.
fn xnas_at(cwd: &Path, args: &[&str]) -> Output {
    Command::new(XNAS).args(args).current_dir(cwd).env("OMP_NUM_THREADS", "1").output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `evaluations: …` line of a command's output.
fn evaluations_line(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout.lines().find(|l| l.starts_with("evaluations:")).unwrap_or_else(|| panic!("no counts in {stdout}")).into()
}

#[test]
fn a_run_folder_takes_one_process_and_kill_9_frees_it() {
    let dir = temp_dir("lock");
    let script = tiny_script(&dir, 3, "|r| r.introspectability");
    let run = dir.join("run");
    let (script_arg, run_arg) = (script.to_str().unwrap(), run.to_str().unwrap());
    let mut child = spawn_quiet(&["run", script_arg, "--dir", run_arg]);
    let pid = child.id().to_string();
    wait_for(&run, "a finished evaluation", |s| s.counts().is_ok_and(|c| c.done >= 1));
    // A second writer is refused, naming the holder; neither message sends the user to `resume`
    // the live run.
    let resumed = xnas_at(&dir, &["resume", run_arg]);
    assert!(!resumed.status.success());
    assert!(
        stderr(&resumed).contains(&format!("pid {pid}")) && stderr(&resumed).contains("is in use"),
        "{}",
        stderr(&resumed)
    );
    // Deleting the lock file releases nothing: the folder itself is locked.
    std::fs::remove_file(run.join("xnas.lock")).unwrap();
    let resumed = xnas_at(&dir, &["resume", run_arg]);
    assert!(
        !resumed.status.success() && stderr(&resumed).contains(&format!("pid {pid}")),
        "a second head after `rm xnas.lock`: {}",
        stderr(&resumed)
    );
    // A refinement of the live run would train a partial front.
    let refined = xnas_at(&dir, &["refine", run_arg, "--dir", dir.join("refined").to_str().unwrap()]);
    assert!(
        !refined.status.success() && stderr(&refined).contains("still running") && !dir.join("refined").exists(),
        "{}",
        stderr(&refined)
    );
    let again = xnas_at(&dir, &["run", script_arg, "--dir", run_arg]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains(&format!("running now (pid {pid}")) && !stderr(&again).contains("xnas resume"),
        "{}",
        stderr(&again)
    );
    // Readers keep working alongside.
    let status = xnas(&["status", run_arg]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("done"));
    xnas(&["report", run_arg, "--out", dir.join("report").to_str().unwrap()]);
    // The kernel drops the lock of a killed process: no stale lock.
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let resumed = xnas(&["resume", run_arg]);
    assert_eq!(trained(&run).len(), 12);
    // The run's summary and `xnas status` count evaluations alike (interrupted ones apart).
    assert_eq!(evaluations_line(&resumed), evaluations_line(&xnas(&["status", run_arg])));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn run_names_stay_inside_runs_and_dir_never_adopts_a_users_folder() {
    let dir = temp_dir("names");
    let script = tiny_script(&dir, 1, "|r| r.introspectability");
    let work = dir.join("work");
    let victim = dir.join("victim");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("overrides.json"), "precious").unwrap();
    let script_arg = script.to_str().unwrap();
    for name in ["../escape", "../../etc", "", "..", "a/b"] {
        let out = xnas_at(&work, &["run", script_arg, "--name", name]);
        assert!(!out.status.success() && stderr(&out).contains("letters, digits"), "--name {name:?}: {}", stderr(&out));
    }
    assert!(!dir.join("escape").exists() && !work.join("runs").exists());
    // A script's own name is held to the same rule.
    let text = std::fs::read_to_string(&script).unwrap().replace("experiment(\"tiny\")", "experiment(\"../victim\")");
    let escaping = dir.join("escaping.rhai");
    std::fs::write(&escaping, text).unwrap();
    let out = xnas_at(&work, &["run", escaping.to_str().unwrap()]);
    assert!(!out.status.success() && stderr(&out).contains("cannot be a run name"), "{}", stderr(&out));
    // --dir takes a run anywhere, but not into a folder that is not a run.
    let out = xnas_at(&work, &["run", script_arg, "--dir", victim.to_str().unwrap()]);
    assert!(!out.status.success() && stderr(&out).contains("is not an xnas run"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(victim.join("overrides.json")).unwrap(), "precious");
    assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 1, "nothing was written into the user's folder");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_resumed_run_runs_its_stored_script_from_anywhere() {
    let dir = temp_dir("self-contained");
    // The second objective lives in an imported module; the run is started with relative paths.
    std::fs::write(dir.join("helper.rhai"), "fn second(r) { r.introspectability }\n").unwrap();
    let script = tiny_script(&dir, 1, "|r| helper::second(r)");
    let original = format!("import \"helper\" as helper;\n{}", std::fs::read_to_string(&script).unwrap());
    std::fs::write(&script, &original).unwrap();
    let out = xnas_at(&dir, &["run", "tiny.rhai", "--dir", "run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = dir.join("run");
    assert_eq!(trained(&run).len(), 4);
    // The files change and disappear: the run still has what it ran.
    std::fs::write(&script, original.replace("val_subset: 100", "val_subset: 50")).unwrap();
    std::fs::remove_file(dir.join("helper.rhai")).unwrap();
    let out = xnas_at(Path::new("/"), &["resume", run.to_str().unwrap(), "--set", "search.generations=2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("changed: search.generations: 1 → 2"), "{}", stderr(&out));
    assert_eq!(trained(&run).len(), 8, "generation 2 ran under the stored script");
    let store = Store::open_read_only(&run).unwrap();
    assert_eq!(store.script_versions().unwrap().len(), 1, "the edit on disk was not adopted");
    assert!(std::fs::read_to_string(run.join("overrides.json")).unwrap().contains("search.generations"));
    let shown = xnas_at(Path::new("/"), &["show-script", run.to_str().unwrap()]);
    assert_eq!(String::from_utf8_lossy(&shown.stdout), original);
    let module = xnas_at(&dir, &["show-script", "run", "--module", "helper.rhai"]);
    assert!(String::from_utf8_lossy(&module.stdout).contains("fn second"), "{}", stderr(&module));
    assert!(!xnas_at(&dir, &["show-script", "run", "--version", "2"]).status.success());
    // --script adopts an edited file, showing what it changes before anything runs.
    let edited = dir.join("edited.rhai");
    std::fs::write(&edited, std::fs::read_to_string(&script).unwrap().replace("[0.1, 0.0]", "[0.2, 0.0]")).unwrap();
    std::fs::write(dir.join("helper.rhai"), "fn second(r) { r.introspectability }\n").unwrap();
    let out = xnas(&["resume", run.to_str().unwrap(), "--script", edited.to_str().unwrap()]);
    let log = stderr(&out);
    assert!(log.contains("continuing with") && log.contains("changed: reference_point"), "{log}");
    assert!(log.find("changed: reference_point") < log.find("already complete"), "{log}");
    let shown = xnas(&["show-script", run.to_str().unwrap(), "--version", "2"]);
    assert!(String::from_utf8_lossy(&shown.stdout).contains("[0.2, 0.0]"));
    std::fs::remove_dir_all(dir).ok();
}
