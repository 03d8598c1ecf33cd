//! The Optuna journal against the real Optuna and optuna-dashboard (pinned in
//! `scripts/setup.sh --optuna`, which the tests call; a second call takes a second): a tiny run
//! written live with `--optuna` and exported with `xnas export --optuna` loads with
//! `optuna.load_study` over `JournalStorage(JournalFileBackend(FILE))` with the store's trials,
//! states, parameters and values, its `best_trials` are xnas's front, and optuna-dashboard's
//! server answers its study API for it; a run killed mid-generation and resumed leaves no
//! duplicate trial and no trial running (the one the kill left running is finished by the resumed
//! evaluation); a journal with an operation newer than xnas knows is refused with the file and the
//! fix named.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use xnas::store::{EvalStatus, Store};

use super::run::{spawn_quiet, temp_dir, tiny_script, wait_for, xnas, XNAS};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The venv's Python, with Optuna and optuna-dashboard installed into it first if need be.
pub(crate) fn python_with_optuna() -> PathBuf {
    let status = Command::new("bash").arg(Path::new(ROOT).join("scripts/setup.sh")).arg("--optuna").status().unwrap();
    assert!(status.success(), "scripts/setup.sh --optuna failed");
    let venv = std::env::var_os("XNAS_VENV").map_or_else(|| Path::new(ROOT).join(".venv"), PathBuf::from);
    venv.join("bin/python")
}

/// Loads the only study of a journal with Optuna and prints what the tests compare.
const LOAD_STUDY: &str = r#"
import json, sys, optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
optuna.logging.set_verbosity(optuna.logging.WARNING)
storage = JournalStorage(JournalFileBackend(sys.argv[1]))
(summary,) = optuna.get_all_study_summaries(storage)
study = optuna.load_study(study_name=summary.study_name, storage=storage)
def trial(t):
    return {"number": t.number, "state": t.state.name, "params": t.params, "values": t.values,
            "candidate": t.user_attrs.get("candidate"), "genome": t.user_attrs.get("genome")}
print(json.dumps({
    "name": study.study_name,
    "directions": [d.name for d in study.directions],
    "metric_names": study.metric_names,
    "user_attrs": study.user_attrs,
    "trials": [trial(t) for t in study.trials],
    "best": sorted(t.user_attrs["candidate"] for t in study.best_trials),
}))
"#;

fn load_study(python: &Path, journal: &Path) -> Value {
    let out = Command::new(python).arg("-c").arg(LOAD_STUDY).arg(journal).output().unwrap();
    assert!(
        out.status.success(),
        "optuna could not load {}:\n{}",
        journal.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The trial each candidate should be, from the store alone: (state, genome, values).
fn expected_trials(run: &Path) -> BTreeMap<u64, (String, String, Option<Vec<f64>>)> {
    let store = Store::open_read_only(run).unwrap();
    let version = store.latest_script_version().unwrap().unwrap();
    let scores: BTreeMap<i64, Result<Vec<f64>, String>> =
        store.scores(version.id).unwrap().into_iter().map(|s| (s.evaluation, s.result)).collect();
    let mut expected = BTreeMap::new();
    for e in store.evaluations(None).unwrap() {
        let score = scores.get(&e.id).or_else(|| e.reused_from.and_then(|f| scores.get(&f)));
        let (state, values) = match (e.status, score) {
            (EvalStatus::Done, Some(Ok(values))) => ("COMPLETE", Some(values.clone())),
            (EvalStatus::Running, _) => ("RUNNING", None),
            _ => ("FAIL", None),
        };
        // A candidate's latest evaluation is its trial.
        expected.insert(e.candidate, (state.to_string(), e.genome.compact(), values));
    }
    expected
}

/// Checks a loaded study against the run's store: one trial per candidate, its state, its six
/// edges and its values.
fn assert_matches_store(study: &Value, run: &Path) {
    let expected = expected_trials(run);
    let trials = study["trials"].as_array().unwrap();
    let candidates: Vec<u64> = trials.iter().map(|t| t["candidate"].as_u64().unwrap()).collect();
    assert_eq!(candidates.len(), expected.len(), "one trial per candidate: {candidates:?}");
    assert_eq!(candidates.iter().collect::<BTreeSet<_>>().len(), candidates.len(), "no duplicate: {candidates:?}");
    let edges = ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"];
    for t in trials {
        let (state, genome, values) = &expected[&t["candidate"].as_u64().unwrap()];
        assert_eq!(t["state"], state.as_str(), "{t}");
        assert_eq!(t["genome"], genome.as_str(), "{t}");
        let ops: String = edges
            .iter()
            .map(|e| xnas_space::Op::from_nb201_name(t["params"][e].as_str().unwrap()).unwrap().code().to_string())
            .collect();
        assert_eq!(&ops, genome, "the six edges are the genome's ops: {t}");
        match values {
            Some(values) => assert_eq!(t["values"], serde_json::json!(values), "{t}"),
            None => assert_eq!(t["values"], Value::Null, "{t}"),
        }
    }
}

/// A GET of optuna-dashboard's API, over plain HTTP/1.0.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Some((status, body))
}

#[test]
fn a_run_loads_in_optuna_with_the_stores_trials_and_front_and_the_dashboard_serves_it() {
    let python = python_with_optuna();
    let dir = temp_dir("optuna");
    let script = tiny_script(&dir, 2, "|r| r.introspectability");
    let (run, live, exported) = (dir.join("run"), dir.join("live.log"), dir.join("exported.log"));
    xnas(&["run", script.to_str().unwrap(), "--dir", run.to_str().unwrap(), "--optuna", live.to_str().unwrap()]);
    xnas(&["export", run.to_str().unwrap(), "--optuna", exported.to_str().unwrap()]);

    let study = load_study(&python, &exported);
    assert_eq!(study["name"], "run");
    assert_eq!(study["directions"], serde_json::json!(["MAXIMIZE", "MAXIMIZE"]));
    assert_eq!(study["metric_names"], serde_json::json!(["accuracy", "second"]));
    assert_eq!(study["user_attrs"]["dataset"], "fashion-mnist");
    assert_eq!(study["user_attrs"]["reference_point"], serde_json::json!([0.1, 0.0]));
    // The front's hypervolume, as the run saved it for its last generation.
    let store = Store::open_read_only(&run).unwrap();
    let version = store.latest_script_version().unwrap().unwrap();
    let (_, saved) = *store.hypervolumes(version.id).unwrap().last().unwrap();
    let exported_hv = study["user_attrs"]["hypervolume"].as_f64().unwrap();
    assert!((exported_hv - saved).abs() < 1e-12, "{exported_hv} against {saved}");
    assert_eq!(load_study(&python, &live)["user_attrs"]["hypervolume"].as_f64(), Some(saved));
    assert_matches_store(&study, &run);
    // The live journal holds the same trials (no reload: the values of scoring time are the latest).
    let live_study = load_study(&python, &live);
    assert_matches_store(&live_study, &run);
    assert_eq!(live_study["best"], study["best"]);

    // Optuna's best trials are xnas's front in the search objectives (the report's, which lists
    // each trained network once: compare the architectures and their values).
    let report = xnas::report::input::report_input(&run).unwrap();
    let front: BTreeSet<(String, String)> = report
        .front
        .iter()
        .map(|&i| (report.points[i].genome.clone(), format!("{:?}", report.points[i].objectives.as_ref().unwrap())))
        .collect();
    let trials = study["trials"].as_array().unwrap();
    let best: BTreeSet<(String, String)> = study["best"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let t = trials.iter().find(|t| t["candidate"] == *c).unwrap();
            let values: Vec<f64> = serde_json::from_value(t["values"].clone()).unwrap();
            (t["genome"].as_str().unwrap().to_string(), format!("{values:?}"))
        })
        .collect();
    assert!(!front.is_empty());
    assert_eq!(best, front, "Optuna's best_trials against xnas's front");

    // optuna-dashboard's server on the exported journal answers its study API.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dashboard = python.parent().unwrap().join("optuna-dashboard");
    let mut server = Command::new(dashboard)
        .arg(&exported)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let answer = loop {
        if let Some(answer) = http_get(port, "/api/studies/0") {
            break answer;
        }
        assert!(Instant::now() < deadline, "optuna-dashboard did not answer on port {port}");
        assert!(server.try_wait().unwrap().is_none(), "optuna-dashboard exited");
        std::thread::sleep(Duration::from_millis(200));
    };
    let studies = http_get(port, "/api/studies");
    // Stopped by its own process id.
    server.kill().unwrap();
    server.wait().unwrap();
    let (status, body) = answer;
    assert_eq!(status, 200, "{body}");
    let detail: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(detail["name"], "run");
    assert_eq!(detail["objective_names"], serde_json::json!(["accuracy", "second"]));
    assert_eq!(detail["trials"].as_array().unwrap().len(), trials.len());
    assert_eq!(detail["best_trials"].as_array().unwrap().len(), study["best"].as_array().unwrap().len());
    let (status, body) = studies.expect("the study list");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"run\""), "{body}");

    // Another run in a folder of the same name cannot join that study (candidate ids would collide).
    let other = dir.join("other").join("run");
    let out = Command::new(XNAS)
        .args(["run", script.to_str().unwrap(), "--dir", other.to_str().unwrap(), "--optuna", live.to_str().unwrap()])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && log.contains("belongs to the run in") && log.contains("NEW_FILE"), "{log}");
    assert!(!other.join("xnas.db").exists(), "refused before the run folder is made");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_run_killed_mid_generation_and_resumed_leaves_no_duplicate_trial() {
    let python = python_with_optuna();
    let dir = temp_dir("optuna-kill");
    let script = tiny_script(&dir, 3, "|r| r.introspectability");
    let (run, journal) = (dir.join("run"), dir.join("journal.log"));
    let mut child = spawn_quiet(&[
        "run",
        script.to_str().unwrap(),
        "--dir",
        run.to_str().unwrap(),
        "--optuna",
        journal.to_str().unwrap(),
    ]);
    // Killed in generation 2 with a trial running: after at least 5 finished evaluations, while
    // one trains (a 1-epoch training takes seconds; its trial is written as it starts).
    wait_for(&run, "5 finished evaluations and one running", |s| {
        s.counts().is_ok_and(|c| c.done >= 5 && c.running >= 1)
    });
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let killed = load_study(&python, &journal);
    let before = killed["trials"].as_array().unwrap().len();
    assert!(before >= 6, "{killed}");
    assert!(killed["trials"].as_array().unwrap().iter().any(|t| t["state"] == "RUNNING"), "{killed}");
    // The journal flag is saved with the run: resume appends to the same file.
    xnas(&["resume", run.to_str().unwrap()]);
    let study = load_study(&python, &journal);
    assert_matches_store(&study, &run);
    let trials = study["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 12, "3 generations of 4, each once");
    assert!(trials.iter().all(|t| t["state"] != "RUNNING"), "a trial left running was finished: {study}");
    // The trials the killed run wrote keep their numbers.
    for (old, new) in killed["trials"].as_array().unwrap().iter().zip(trials) {
        assert_eq!(old["candidate"], new["candidate"]);
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_journal_newer_than_xnas_writes_is_refused_naming_the_file_and_the_fix() {
    let dir = temp_dir("optuna-newer");
    let script = tiny_script(&dir, 1, "|r| r.introspectability");
    let journal = dir.join("newer.log");
    // A study, then an operation Optuna 5.0's journal has no code for.
    std::fs::write(
        &journal,
        "{\"op_code\":0,\"worker_id\":\"w\",\"study_name\":\"other\",\"directions\":[2]}\n\
         {\"op_code\":11,\"worker_id\":\"w\",\"study_id\":0}\n",
    )
    .unwrap();
    let run = dir.join("run");
    // Named by the script's setting this time (the other tests use the flag).
    let setting = format!("search.optuna={}", journal.display());
    let out = Command::new(XNAS)
        .args(["run", script.to_str().unwrap(), "--dir", run.to_str().unwrap(), "--set", &setting])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains(&journal.display().to_string()) && log.contains("operation 11"), "{log}");
    assert!(log.contains("--optuna NEW_FILE") && log.contains("newer Optuna"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert!(!run.join("xnas.db").exists(), "refused before the run folder is made");
    std::fs::remove_dir_all(dir).ok();
}

/// A run stopped after a training's record was stored but before it was scored: the live
/// journal, opened again on resume, leaves that trial to the resumed run (which scores it and
/// finishes the trial COMPLETE) instead of finishing it FAIL for want of a score, which Optuna
/// could then never change.
#[test]
fn a_training_stored_but_not_scored_is_left_for_the_resumed_run_to_finish() {
    use xnas::optuna::LiveJournal;
    let python = python_with_optuna();
    let dir = temp_dir("optuna-unscored");
    let script = tiny_script(&dir, 2, "|r| r.introspectability");
    let run = dir.join("run");
    xnas(&["run", script.to_str().unwrap(), "--dir", run.to_str().unwrap(), "--threads", "1"]);
    // What a kill between the store's write of the last record and its scoring leaves.
    let last = {
        let db = rusqlite::Connection::open(Store::db_path(&run)).unwrap();
        let last: i64 =
            db.query_row("SELECT max(id) FROM evaluations WHERE status = 'done'", [], |r| r.get(0)).unwrap();
        db.execute("DELETE FROM scores WHERE evaluation = ?1", [last]).unwrap();
        last
    };
    let store = Store::open(&run).unwrap();
    let experiment = xnas::script::compile_file(&script).unwrap();
    let journal = dir.join("journal.log");
    let mut live = LiveJournal::open(&journal, &run, &store, experiment.spec()).unwrap();
    let stored = store.evaluations(None).unwrap().into_iter().find(|e| e.id == last).unwrap();
    let study = load_study(&python, &journal);
    let trials = study["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 7, "every other candidate's trial: {study}");
    assert!(trials.iter().all(|t| t["candidate"] != stored.candidate && t["state"] == "COMPLETE"), "{study}");
    // The resumed run scores it: its trial is COMPLETE with the values.
    let values = experiment.score(stored.record.as_ref().unwrap()).unwrap();
    live.finished(&stored, &xnas_moo::Evaluation::Objectives(values.clone())).unwrap();
    let study = load_study(&python, &journal);
    let trial = study["trials"].as_array().unwrap().iter().find(|t| t["candidate"] == stored.candidate).cloned();
    let trial = trial.unwrap_or_else(|| panic!("no trial for the candidate: {study}"));
    assert_eq!((trial["state"].as_str(), &trial["values"]), (Some("COMPLETE"), &serde_json::json!(values)), "{trial}");
    std::fs::remove_dir_all(dir).ok();
}
