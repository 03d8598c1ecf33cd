//! The run store: the run loop's life cycle of an evaluation, resume queries, and survival of
//! `kill -9` in the middle of writing (a child process writing in a loop, killed at random).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use xnas::record::synthetic_record;
use xnas::record::{EvalConfig, MeasurementRecord, Status};
use xnas::space::Genome;
use xnas::store::{
    AttemptOutcome, EvalStatus, NewEvaluation, NewGeneration, RunInfo, Score, Store, StoreError, StoredEvaluation,
};

fn temp_dir(tag: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "xnas-store-{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn run_info() -> RunInfo {
    RunInfo {
        name: "t".into(),
        config: serde_json::json!({ "search": { "population": 4 } }),
        seeds: serde_json::json!({ "search": 1, "training": 0 }),
        script_path: Some("exp.rhai".into()),
        created: xnas::store::now(),
        xnas_version: "test".into(),
    }
}

fn record_of(genome: &Genome) -> MeasurementRecord {
    synthetic_record(&EvalConfig { channels: 4, cells_per_stage: 1, ..EvalConfig::default() }, genome)
}

fn candidate(id: u64, genome: &str, generation: u64) -> NewEvaluation {
    NewEvaluation { candidate: id, genome: genome.parse().unwrap(), parents: vec![], generation }
}

fn evaluation(store: &Store, id: i64) -> StoredEvaluation {
    store.evaluations(None).unwrap().into_iter().find(|e| e.id == id).expect("the evaluation is stored")
}

/// SQLite's own consistency check of the database file.
fn assert_intact(dir: &Path) {
    let conn = rusqlite::Connection::open(Store::db_path(dir)).unwrap();
    let result: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(result, "ok");
}

#[test]
fn an_evaluation_life_cycle_survives_reopening() {
    let dir = temp_dir("cycle");
    let store = Store::create(&dir, &run_info()).unwrap();
    assert!(matches!(Store::create(&dir, &run_info()), Err(StoreError::Exists { .. })));
    let v1 =
        store.add_script_version("hash-1", "let exp = 1;", &serde_json::json!([]), &serde_json::json!({})).unwrap();
    assert_eq!(
        store.add_script_version("hash-1", "let exp = 1;", &serde_json::json!([]), &serde_json::json!({})).unwrap(),
        v1
    );
    let v2 =
        store.add_script_version("hash-2", "let exp = 2;", &serde_json::json!([]), &serde_json::json!({})).unwrap();
    assert_ne!(v1, v2);

    // A genome and an isomorphic one: same canonical form, different ops.
    let (a, twin) = Genome::all()
        .filter(Genome::is_valid)
        .find_map(|a| Genome::all().find(|g| *g != a && g.canonical() == a.canonical()).map(|twin| (a, twin)))
        .expect("some cells are isomorphic");
    let mut parents_of_b = candidate(1, "313131", 0);
    parents_of_b.parents = vec![7, 9];
    let ids = store
        .enqueue(&[candidate(0, &a.compact(), 0), parents_of_b, candidate(2, "000000", 0)], "train-A", v1)
        .unwrap();
    assert_eq!(store.counts().unwrap().queued, 3);

    store.mark_running(ids[0], "cpu").unwrap();
    store.mark_running(ids[1], "cpu").unwrap();
    store.mark_running(ids[2], "cuda:0").unwrap();
    store.finish(ids[0], &record_of(&a)).unwrap();
    store.fail_attempt(ids[1], AttemptOutcome::Error, "child process killed by signal 9").unwrap();
    let mut nan = record_of(&"000000".parse().unwrap());
    nan.status = Status::Failed;
    nan.error = Some("NaN loss in epoch 1".into());
    store.finish(ids[2], &nan).unwrap();
    assert!(matches!(store.mark_running(999, "cpu"), Err(StoreError::NotFound { .. })));

    // Nothing is trained twice: lookups of the same six operations, per training configuration
    // (an isomorphic cell is another genome: the run trains it).
    let found = store.find_done(&a, "train-A").unwrap().unwrap();
    assert_eq!((found.id, found.record.as_ref().unwrap().genome.clone()), (ids[0], a.compact()));
    assert!(store.find_done(&twin, "train-A").unwrap().is_none());
    assert_eq!(evaluation(&store, ids[0]).canonical, twin.canonical().to_string());
    assert!(store.find_done(&a, "train-B").unwrap().is_none());
    assert!(store.find_done(&"000000".parse().unwrap(), "train-A").unwrap().is_none(), "failed ones are not reused");

    // A later candidate of the same genome reuses the record.
    let later = store.enqueue(&[candidate(5, &a.compact(), 1)], "train-A", v2).unwrap()[0];
    store.reuse(later, found.id).unwrap();
    let copied = evaluation(&store, later);
    assert_eq!(
        (copied.status, copied.reused_from, copied.record.clone()),
        (EvalStatus::Done, Some(ids[0]), found.record.clone())
    );

    // Scores per script version; a NaN is never read back as a score.
    store
        .save_scores(
            v1,
            &[
                Score { evaluation: ids[0], result: Ok(vec![0.87, 0.4]) },
                Score { evaluation: ids[1], result: Err("no record".into()) },
            ],
        )
        .unwrap();
    store.save_scores(v2, &[Score { evaluation: ids[0], result: Ok(vec![0.87, f64::NAN]) }]).unwrap();
    // Generation 1 saved under v1, then redone under v2 (a resumed run after a reload): the
    // generation is replaced, the hypervolume of each version stays.
    for (version, hypervolume) in [(v1, 0.3), (v2, 0.25)] {
        store
            .save_generation(&NewGeneration {
                generation: 1,
                population: &[0, 5],
                search_state: "{\"g\":1}",
                script_version: version,
                hypervolume: Some(hypervolume),
            })
            .unwrap();
    }

    // A run left `running` (a crash) is re-queued on resume.
    let pending = store.enqueue(&[candidate(6, "111111", 1)], "train-A", v2).unwrap()[0];
    store.mark_running(pending, "cpu").unwrap();
    drop(store);

    let store = Store::open(&dir).unwrap();
    assert_intact(&dir);
    assert_eq!(store.run().unwrap(), run_info_with_created(&store));
    assert_eq!(store.requeue_running().unwrap(), 1);
    let queued = store.evaluations(Some(EvalStatus::Queued)).unwrap();
    assert_eq!((queued.len(), queued[0].id, queued[0].attempt), (1, pending, 1));
    let counts = store.counts().unwrap();
    assert_eq!((counts.queued, counts.running, counts.done, counts.failed), (1, 0, 2, 2));
    let b = evaluation(&store, ids[1]);
    assert_eq!(
        (b.parents.clone(), b.error.as_deref(), b.record.is_none()),
        (vec![7, 9], Some("child process killed by signal 9"), true)
    );
    // `device` is where it ran (the worker), whatever the record's own device says.
    let nan_row = evaluation(&store, ids[2]);
    assert_eq!(
        (nan_row.status, nan_row.error.as_deref(), nan_row.device.as_deref()),
        (EvalStatus::Failed, Some("NaN loss in epoch 1"), Some("cuda:0"))
    );
    assert_eq!(store.scores(v1).unwrap()[0].result, Ok(vec![0.87, 0.4]));
    assert_eq!(store.scores(v1).unwrap()[1].result, Err("no record".into()));
    assert!(store.scores(v2).unwrap()[0].result.is_err());
    let latest = store.latest_generation().unwrap().unwrap();
    assert_eq!(
        (latest.generation, latest.population.clone(), latest.search_state.as_str()),
        (1, vec![0, 5], "{\"g\":1}")
    );
    assert_eq!(store.hypervolumes(v2).unwrap(), vec![(1, 0.25)]);
    assert_eq!(store.hypervolumes(v1).unwrap(), vec![(1, 0.3)]);
    assert_eq!(store.latest_script_version().unwrap().unwrap().hash, "hash-2");
    assert!(matches!(Store::open(&temp_dir("missing")), Err(StoreError::Missing { .. })));
    let _ = std::fs::remove_dir_all(&dir);
}

fn run_info_with_created(store: &Store) -> RunInfo {
    RunInfo { created: store.run().unwrap().created, ..run_info() }
}

#[test]
fn experiment_versions_are_recorded_with_their_sources() {
    let dir = temp_dir("version");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/quickstart.rhai");
    let experiment = xnas::script::compile_file(&script).unwrap();
    let store = Store::create(&dir, &xnas::run::run_info(&experiment, &script)).unwrap();
    let id = xnas::run::save_version(&store, &experiment).unwrap();
    let version = store.latest_script_version().unwrap().unwrap();
    assert_eq!((version.id, version.hash.as_str()), (id, experiment.version_hash()));
    assert_eq!(version.text, std::fs::read_to_string(&script).unwrap());
    assert_eq!(version.config, serde_json::to_value(experiment.spec()).unwrap());
    assert!(version.sources.as_array().unwrap().iter().any(|s| s["name"] == "stdlib/presets.rhai"));
    assert_eq!(store.run().unwrap().seeds, serde_json::json!({ "search": 1, "training": 0 }));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Env var naming the database directory of [`kill_9_child_writer`].
const CHILD_DIR: &str = "XNAS_STORE_KILL_DIR";

/// Not a test on its own: the process `store_survives_kill_9` starts and kills. It writes
/// generations in a loop — enqueue, run, finish, score, save the generation — and prints
/// `committed G` after each generation's last transaction.
#[test]
#[ignore = "helper process of store_survives_kill_9"]
fn kill_9_child_writer() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else { return };
    let dir = PathBuf::from(dir);
    let store = match Store::open(&dir) {
        Ok(store) => store,
        Err(StoreError::Missing { .. }) => Store::create(&dir, &run_info()).unwrap(),
        Err(e) => panic!("{e}"),
    };
    let version = store.add_script_version("v", "", &serde_json::json!([]), &serde_json::json!({})).unwrap();
    // The batch a killed writer left behind is redone under new rows; the old ones are closed.
    store.requeue_running().unwrap();
    for abandoned in store.evaluations(Some(EvalStatus::Queued)).unwrap() {
        store.fail_attempt(abandoned.id, AttemptOutcome::Error, "abandoned by a killed writer").unwrap();
    }
    let genomes: Vec<Genome> = Genome::all().filter(Genome::is_valid).collect();
    let mut generation = store.latest_generation().unwrap().map_or(0, |g| g.generation);
    loop {
        generation += 1;
        let base = generation * 4;
        let batch: Vec<NewEvaluation> = (base..base + 4)
            .map(|c| NewEvaluation {
                candidate: c,
                genome: genomes[c as usize % genomes.len()],
                parents: vec![c / 2],
                generation,
            })
            .collect();
        let ids = store.enqueue(&batch, "h", version).unwrap();
        for (id, c) in ids.iter().zip(&batch) {
            store.mark_running(*id, "cpu").unwrap();
            store.finish(*id, &record_of(&c.genome)).unwrap();
        }
        let scores: Vec<Score> =
            ids.iter().map(|&id| Score { evaluation: id, result: Ok(vec![id as f64, 0.5]) }).collect();
        store.save_scores(version, &scores).unwrap();
        let population: Vec<u64> = batch.iter().map(|c| c.candidate).collect();
        // A big state so that the transaction spans many pages and a kill can land inside it.
        let state =
            serde_json::json!({ "generation": generation, "population": population, "padding": "x".repeat(200_000) });
        store
            .save_generation(&NewGeneration {
                generation,
                population: &population,
                search_state: &state.to_string(),
                script_version: version,
                hypervolume: Some(generation as f64),
            })
            .unwrap();
        println!("committed {generation}");
    }
}

fn check_consistent(dir: &Path, at_least: u64) -> u64 {
    let store = Store::open(dir).unwrap();
    assert_intact(dir);
    let latest = store.latest_generation().unwrap().expect("some generation was committed");
    assert!(
        latest.generation >= at_least,
        "generation {at_least} was reported committed, the store has {}",
        latest.generation
    );
    let done: Vec<u64> = store.evaluations(Some(EvalStatus::Done)).unwrap().iter().map(|e| e.candidate).collect();
    for saved in store.generations().unwrap() {
        let state: serde_json::Value = serde_json::from_str(&saved.search_state).expect("a saved state is never torn");
        assert_eq!(state["generation"], saved.generation);
        for candidate in &saved.population {
            assert!(
                done.contains(candidate),
                "generation {} lists candidate {candidate}, which is not done",
                saved.generation
            );
        }
    }
    assert_eq!(store.hypervolumes(1).unwrap().len() as u64, latest.generation);
    // At most the one batch in flight is open; earlier ones were closed by the next writer.
    let all = store.evaluations(None).unwrap();
    let open = all.iter().filter(|e| matches!(e.status, EvalStatus::Queued | EvalStatus::Running)).count();
    assert!(open <= 4, "{open} evaluations open");
    assert!(all
        .iter()
        .filter(|e| e.status == EvalStatus::Failed)
        .all(|e| e.error.as_deref() == Some("abandoned by a killed writer")));
    latest.generation
}

#[test]
fn store_survives_kill_9() {
    let dir = temp_dir("kill");
    let exe = std::env::current_exe().unwrap();
    let mut committed = 0;
    for round in 0..4u64 {
        let mut child = Command::new(&exe)
            .args(["store::kill_9_child_writer", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Let it commit a few generations, then kill it while it is writing the next ones.
        let wanted = 2 + round;
        let mut seen = 0;
        while seen < wanted {
            let line = lines.next().expect("the writer is running").unwrap();
            if let Some(g) = line.strip_prefix("committed ") {
                committed = g.parse().unwrap();
                seen += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(7 * round + 3));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let latest = check_consistent(&dir, committed);
        assert!(latest >= committed);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_attempt_is_recorded_with_its_worker_and_outcome() {
    let dir = temp_dir("attempts");
    let store = Store::create(&dir, &run_info()).unwrap();
    let v = store.add_script_version("h", "x", &serde_json::json!([]), &serde_json::json!({})).unwrap();
    let ids = store.enqueue(&[candidate(0, "002404", 0), candidate(1, "313131", 0)], "train", v).unwrap();
    // First attempt: handed to Ray, lands on a node, the worker dies.
    store.mark_running(ids[0], "ray").unwrap();
    store.set_worker(ids[0], "10.0.0.7 gpu [1]").unwrap();
    store.retry(ids[0], AttemptOutcome::Lost, "WorkerCrashedError: the worker died").unwrap();
    assert_eq!(evaluation(&store, ids[0]).status, EvalStatus::Queued);
    // Second attempt finishes.
    store.mark_running(ids[0], "ray").unwrap();
    store.set_worker(ids[0], "10.0.0.8 gpu [0]").unwrap();
    store.finish(ids[0], &record_of(&"002404".parse().unwrap())).unwrap();
    // The other one exits without a record every time and is given up.
    store.mark_running(ids[1], "cpu#1").unwrap();
    store.fail_attempt(ids[1], AttemptOutcome::Error, "the evaluation process exit status: 1: no dataset").unwrap();

    let reopened = Store::open(&dir).unwrap();
    let first = evaluation(&reopened, ids[0]);
    assert_eq!((first.status, first.attempt, first.device.as_deref()), (EvalStatus::Done, 2, Some("10.0.0.8 gpu [0]")));
    let attempts = reopened.attempts(ids[0]).unwrap();
    let summary: Vec<(u32, Option<&str>, AttemptOutcome)> =
        attempts.iter().map(|a| (a.attempt, a.worker.as_deref(), a.outcome)).collect();
    assert_eq!(
        summary,
        [(1, Some("10.0.0.7 gpu [1]"), AttemptOutcome::Lost), (2, Some("10.0.0.8 gpu [0]"), AttemptOutcome::Done)]
    );
    assert!(attempts[0].error.as_deref().unwrap().contains("WorkerCrashedError"));
    assert!(attempts.iter().all(|a| a.finished_at.is_some_and(|f| f >= a.started_at)));
    let second = reopened.attempts(ids[1]).unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].outcome, AttemptOutcome::Error);

    // A crash leaves an attempt running: on resume it becomes `interrupted` and the evaluation queued.
    store.mark_running(ids[1], "cpu#0").unwrap();
    assert_eq!(store.requeue_running().unwrap(), 1);
    let last = store.attempts(ids[1]).unwrap().pop().unwrap();
    assert_eq!((last.attempt, last.outcome), (2, AttemptOutcome::Interrupted));

    // Execution settings and the steady-state checkpoint round-trip.
    assert_eq!(store.execution::<serde_json::Value>().unwrap(), None);
    store.set_execution(&serde_json::json!({ "executor": "ray", "jobs_per_device": 2 })).unwrap();
    assert_eq!(store.execution::<serde_json::Value>().unwrap().unwrap()["executor"], "ray");
    assert_eq!(store.checkpoint().unwrap(), None);
    store.save_checkpoint("{\"a\":1}").unwrap();
    store.save_checkpoint("{\"a\":2}").unwrap();
    assert_eq!(store.checkpoint().unwrap().unwrap().0, "{\"a\":2}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_version_1_database_is_upgraded_on_open() {
    let dir = temp_dir("v1");
    let store = Store::create(&dir, &run_info()).unwrap();
    let v = store.add_script_version("h", "x", &serde_json::json!([]), &serde_json::json!({})).unwrap();
    let ids = store.enqueue(&[candidate(0, "002404", 0)], "train", v).unwrap();
    drop(store);
    // Make it look like a database written by the first xnas: no attempts, no checkpoint, version 1.
    let conn = rusqlite::Connection::open(Store::db_path(&dir)).unwrap();
    conn.execute_batch(
        "DROP TABLE attempts; DROP TABLE checkpoint; UPDATE meta SET value = '1' WHERE key = 'schema_version';",
    )
    .unwrap();
    drop(conn);
    let store = Store::open(&dir).unwrap();
    store.mark_running(ids[0], "cpu#0").unwrap();
    assert_eq!(store.attempts(ids[0]).unwrap().len(), 1);
    store.save_checkpoint("{}").unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(Store::db_path(&dir)).unwrap();
    let version: String =
        conn.query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| r.get(0)).unwrap();
    assert_eq!(version, "2");
    std::fs::remove_dir_all(dir).ok();
}

/// Every file of a folder with its size: what a read-only command must leave as it was.
fn files_and_sizes(dir: &Path) -> Vec<(String, u64)> {
    let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.metadata().unwrap().len()))
        .collect();
    files.sort();
    files
}

fn xnas_in(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xnas")).args(args).output().unwrap()
}

#[test]
fn a_broken_database_says_what_is_wrong_and_readers_leave_it_as_it_is() {
    let cases: [(&str, &[u8], &str); 2] = [
        ("empty", b"", "is empty (0 bytes)"),
        ("garbage", b"this is not a database, just some text that is long enough", "is not an SQLite database"),
    ];
    for (tag, content, says) in cases {
        let dir = temp_dir(tag);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Store::db_path(&dir), content).unwrap();
        let before = files_and_sizes(&dir);
        for command in ["status", "report", "show-script"] {
            let out_dir = dir.join("report");
            let mut args = vec![command, dir.to_str().unwrap()];
            if command == "report" {
                args.extend(["--out", out_dir.to_str().unwrap()]);
            }
            let out = xnas_in(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{command} on a {tag} database");
            assert!(stderr.contains(says) && stderr.contains("restore"), "{command} {tag}: {stderr}");
            assert!(!stderr.contains("no such table"), "{stderr}");
            assert_eq!(files_and_sizes(&dir), before, "{command} left the {tag} folder as it was");
        }
        // A writer refuses it too, before writing a byte into it.
        let out = xnas_in(&["resume", dir.to_str().unwrap()]);
        assert!(String::from_utf8_lossy(&out.stderr).contains(says), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(std::fs::metadata(Store::db_path(&dir)).unwrap().len(), content.len() as u64);
        let _ = std::fs::remove_dir_all(&dir);
    }
    // An SQLite database of something else.
    let dir = temp_dir("other-db");
    std::fs::create_dir_all(&dir).unwrap();
    rusqlite::Connection::open(Store::db_path(&dir)).unwrap().execute_batch("CREATE TABLE notes (x TEXT);").unwrap();
    let out = xnas_in(&["status", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("not an xnas run store"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn read_commands_open_the_store_read_only() {
    let dir = temp_dir("read-only");
    let store = Store::create(&dir, &run_info()).unwrap();
    let sources = serde_json::json!([{ "name": "exp.rhai", "path": "exp.rhai", "text": "let exp = 1;\n" }]);
    store.add_script_version("h1", "let exp = 1;\n", &sources, &serde_json::json!({})).unwrap();
    drop(store);
    let before = files_and_sizes(&dir);
    let out = xnas_in(&["show-script", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "let exp = 1;\n");
    assert_eq!(files_and_sizes(&dir), before);
    // Read-only for real: the database itself may not even be writable.
    let db = Store::db_path(&dir);
    let mut permissions = std::fs::metadata(&db).unwrap().permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&db, permissions).unwrap();
    let store = Store::open_read_only(&dir).unwrap();
    assert_eq!(store.script_versions().unwrap().len(), 1);
    assert!(store.counts().is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}
