//! Hot reload can never kill a run, through the real binary: an edit the running search cannot
//! take (a third objective) and one whose objective is NaN on the run's real records (but not on
//! the dry run's synthetic one) are rejected like syntax errors — the run finishes with its last
//! good version and its population — and `xnas run NEW --from OLD` starts a new search from the
//! old run's records without retraining them.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use xnas::store::{EvalStatus, Store};

use super::run::{temp_dir, tiny_script, xnas, XNAS};

/// The tiny experiment with a third objective, the number of parameters in millions.
fn three_objectives(dir: &Path, generations: u64) -> PathBuf {
    let path = tiny_script(dir, generations, "|r| r.introspectability");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "exp.reference_point([0.1, 0.0]);",
        "exp.objective(\"params\", \"min\", |r| r.params / 1000000.0);\nexp.reference_point([0.1, 0.0, 1.0]);",
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// NaN for every network below 80 % accuracy: the tiny run's real ones, not the synthetic record.
const NAN_ON_REAL_RECORDS: &str = "|r| if r.val_accuracy < 0.8 { 0.0 / 0.0 } else { r.introspectability }";

/// Reads the run's stderr lines into `log` until `text` occurs in it `times` times.
fn wait_for(lines: &mpsc::Receiver<String>, log: &mut String, text: &str, times: usize) {
    let deadline = Instant::now() + Duration::from_secs(240);
    while log.matches(text).count() < times {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                log.push_str(&line);
                log.push('\n');
            }
            Err(_) => panic!("no {text:?} ({times}×) in time:\n{log}"),
        }
    }
}

#[test]
fn edits_the_search_cannot_take_are_rejected_and_a_new_run_starts_from_the_archive() {
    let dir = temp_dir("reload-reject");
    let script = tiny_script(&dir, 4, "|r| r.introspectability");
    let run = dir.join("run");
    let mut child = Command::new(XNAS)
        .args(["run", script.to_str().unwrap(), "--dir", run.to_str().unwrap(), "--watch"])
        .env("OMP_NUM_THREADS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (sender, lines) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let mut log = String::new();
    wait_for(&lines, &mut log, "generation 1 saved", 1);

    // A third objective: the running NSGA-II has two.
    three_objectives(&dir, 4);
    wait_for(&lines, &mut log, "cannot change its number of objectives", 1);
    assert!(log.contains("script edit rejected"), "{log}");
    assert!(log.contains(&format!("--from {}", run.display())), "the way forward is offered:\n{log}");

    // An objective that passes the dry run but is NaN on every trained network of the run.
    tiny_script(&dir, 4, NAN_ON_REAL_RECORDS);
    wait_for(&lines, &mut log, "returned NaN", 1);
    assert_eq!(log.matches("script edit rejected").count(), 2, "{log}");
    assert!(log.contains("returned NaN") && log.contains("trained network of this run"), "{log}");

    let status = child.wait().unwrap();
    reader.join().unwrap();
    log.extend(lines.try_iter().map(|l| l + "\n"));
    assert!(status.success(), "the run goes on with its last good version:\n{log}");
    assert!(!log.contains("script reloaded"), "{log}");
    let store = Store::open(&run).unwrap();
    assert_eq!(store.script_versions().unwrap().len(), 1, "no rejected version is stored");
    let last = store.latest_generation().unwrap().unwrap();
    assert_eq!((last.generation, last.population.len()), (4, 4), "the population was kept");
    let finished = store.evaluations(Some(EvalStatus::Done)).unwrap().len();
    drop(store);

    // The way forward: the three-objective script from this run's archive. With the same seed
    // the first generation is the old one, reused whole.
    let three = three_objectives(&dir, 1);
    let new_run = dir.join("three");
    let out =
        xnas(&["run", three.to_str().unwrap(), "--from", run.to_str().unwrap(), "--dir", new_run.to_str().unwrap()]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(stderr.contains(&format!("{finished} finished evaluation(s), re-scored under this script")), "{stderr}");
    assert!(stdout.contains("(0 trained, 4 reused,"), "{stdout}\n{stderr}");
    let store = Store::open(&new_run).unwrap();
    let version = store.latest_script_version().unwrap().unwrap();
    let scores = store.scores(version.id).unwrap();
    assert_eq!(scores.len(), 4);
    for score in scores {
        let objectives = score.result.unwrap();
        assert_eq!(objectives.len(), 3, "scored under the new script");
    }
    drop(store);

    // A new script whose objective fails on the old run's records is refused before its folder exists.
    let nan = tiny_script(&dir, 1, NAN_ON_REAL_RECORDS);
    let refused = dir.join("nan");
    let out = Command::new(XNAS)
        .args(["run", nan.to_str().unwrap(), "--from", run.to_str().unwrap(), "--dir", refused.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("returned NaN") && stderr.contains("on the archive's record of"), "{stderr}");
    assert!(!refused.exists());
    std::fs::remove_dir_all(dir).ok();
}
