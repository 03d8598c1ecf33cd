//! What commands write never destroys what is there (`xnas::output`), through the real binary:
//! `export --optuna`, `run --optuna`, `eval --out`, `export --out`, `report --out` and
//! `compare --out` refuse a run's store and models, device files, symlinks, users' files and
//! folders, another run's journal and a journal a running search appends to, and write whole
//! (no staging file left behind, an existing `PATH.partial` left alone).

use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::{Command, Output};

use xnas::store::{EvalStatus, Store};

use crate::run::{spawn_quiet, temp_dir, tiny_script, wait_for, xnas, XNAS};

fn xnas_fails(args: &[&str]) -> String {
    let out: Output = Command::new(XNAS).args(args).env("OMP_NUM_THREADS", "1").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "xnas {args:?} should have been refused:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn nothing_a_command_writes_destroys_what_is_there() {
    let dir = temp_dir("outputs");
    let script = tiny_script(&dir, 2, "|r| r.introspectability");
    let run = dir.join("a");
    let (run_arg, live) = (run.to_str().unwrap(), dir.join("live.log"));
    let mut child = spawn_quiet(&[
        "run",
        script.to_str().unwrap(),
        "--dir",
        run_arg,
        "--keep-models",
        "all",
        "--optuna",
        live.to_str().unwrap(),
    ]);
    wait_for(&run, "a finished evaluation", |s| s.counts().is_ok_and(|c| c.done >= 1));
    // The journal a running search appends to is not replaced under it.
    let refused = xnas_fails(&["export", run_arg, "--optuna", live.to_str().unwrap()]);
    assert!(refused.contains("running now"), "{refused}");
    assert!(child.wait().unwrap().success());
    let journal = std::fs::read_to_string(&live).unwrap();
    assert!(journal.lines().count() > 8, "the live journal is whole: {journal}");

    // A run's store, a device, a user's file: refused, and left as they were.
    let store = run.join("xnas.db");
    let refused = xnas_fails(&["export", run_arg, "--optuna", store.to_str().unwrap()]);
    assert!(refused.contains("inside the run folder"), "{refused}");
    xnas(&["status", run_arg]);
    let refused = xnas_fails(&["export", run_arg, "--optuna", "/dev/null"]);
    assert!(refused.contains("a device"), "{refused}");
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, "my notes").unwrap();
    let refused = xnas_fails(&["export", run_arg, "--optuna", notes.to_str().unwrap()]);
    assert!(refused.contains("choose another path"), "{refused}");
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "my notes");

    // A fresh export leaves a user's `FILE.partial` alone, and replaces its own earlier export.
    let study = dir.join("study.log");
    std::fs::write(dir.join("study.log.partial"), "mine too").unwrap();
    xnas(&["export", run_arg, "--optuna", study.to_str().unwrap()]);
    xnas(&["export", run_arg, "--optuna", study.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(dir.join("study.log.partial")).unwrap(), "mine too");
    // Another run's study is not replaced.
    let absolute = std::fs::canonicalize(&run).unwrap().display().to_string();
    let others = dir.join("others.log");
    std::fs::write(&others, std::fs::read_to_string(&study).unwrap().replace(&absolute, "/elsewhere/b")).unwrap();
    let refused = xnas_fails(&["export", run_arg, "--optuna", others.to_str().unwrap()]);
    assert!(refused.contains("/elsewhere/b"), "{refused}");

    // A live journal is never a run's file, and an SQLite file is called that.
    let new_run = dir.join("c");
    let run_with_journal = |journal: &Path| {
        xnas_fails(&[
            "run",
            script.to_str().unwrap(),
            "--dir",
            new_run.to_str().unwrap(),
            "--optuna",
            journal.to_str().unwrap(),
        ])
    };
    let refused = run_with_journal(&run.join("evaluations.log"));
    assert!(refused.contains("inside the run folder"), "{refused}");
    let copy = dir.join("copy.db");
    std::fs::copy(&store, &copy).unwrap();
    let refused = run_with_journal(&copy);
    assert!(refused.contains("SQLite database") && !refused.contains("partial"), "{refused}");
    assert!(!new_run.exists(), "refused before the run folder is made");

    // `eval --out` refuses a store or a user's file before it trains.
    let refused = xnas_fails(&["eval", "002404", "--dataset", "fashion-mnist", "--out", store.to_str().unwrap()]);
    assert!(refused.contains("inside the run folder"), "{refused}");
    let refused = xnas_fails(&["eval", "002404", "--dataset", "fashion-mnist", "--out", notes.to_str().unwrap()]);
    assert!(refused.contains("not an xnas record"), "{refused}");

    // `export --out`: a user's folder, a kept model's folder and a symlink are refused; an earlier
    // export of the same model is replaced, one of another model is not.
    let candidates: Vec<String> = Store::open_read_only(&run)
        .unwrap()
        .evaluations(Some(EvalStatus::Done))
        .unwrap()
        .iter()
        .map(|e| e.candidate.to_string())
        .collect();
    let (first, second) = (&candidates[0], candidates.iter().find(|c| *c != &candidates[0]).unwrap());
    let users = dir.join("users");
    std::fs::create_dir_all(&users).unwrap();
    std::fs::write(users.join("model.json"), "{\"mine\": true}").unwrap();
    let refused = xnas_fails(&["export", run_arg, "--id", first, "--out", users.to_str().unwrap()]);
    assert!(refused.contains("did not write"), "{refused}");
    assert_eq!(std::fs::read_to_string(users.join("model.json")).unwrap(), "{\"mine\": true}");
    let kept_model = run.join("models").join(&names_in(&run.join("models"))[0]);
    let kept_files = names_in(&kept_model);
    xnas_fails(&["export", run_arg, "--id", first, "--out", kept_model.to_str().unwrap()]);
    assert_eq!(names_in(&kept_model), kept_files, "the kept model is untouched");
    let linked = dir.join("linked");
    std::fs::create_dir_all(&linked).unwrap();
    std::os::unix::fs::symlink(&notes, linked.join("model.json")).unwrap();
    xnas_fails(&["export", run_arg, "--id", first, "--out", linked.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "my notes", "nothing written through the symlink");
    let exported = dir.join("exported");
    xnas(&["export", run_arg, "--id", first, "--out", exported.to_str().unwrap()]);
    xnas(&["export", run_arg, "--id", first, "--out", exported.to_str().unwrap()]);
    let refused = xnas_fails(&["export", run_arg, "--id", second, "--out", exported.to_str().unwrap()]);
    assert!(refused.contains("another model"), "{refused}");

    // Reports and comparisons: never into a run folder or a user's folder; replaced whole.
    xnas_fails(&["report", run_arg, "--out", run_arg]);
    xnas_fails(&["report", run_arg, "--out", users.to_str().unwrap()]);
    xnas(&["report", run_arg]);
    xnas(&["report", run_arg]);
    assert!(!names_in(&run).iter().any(|n| n.contains(".xnas-")), "no staging left: {:?}", names_in(&run));
    let refused = xnas_fails(&["compare", run_arg, "--out", run_arg]);
    assert!(refused.contains("inside the run folder"), "{refused}");
    let compared = Command::new(XNAS)
        .args(["compare", run_arg, run_arg, "--out", dir.join("cmp").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(compared.status.success());
    assert!(String::from_utf8_lossy(&compared.stderr).contains("listed twice"));
    assert!(!names_in(&dir).iter().any(|n| n.contains(".xnas-")), "no staging left: {:?}", names_in(&dir));
    std::fs::remove_dir_all(dir).ok();
}
