//! The worker side of early stopping, through the real `xnas-worker`: with `epoch_validation` a
//! training reports each epoch's measurement on stderr and, when the job asks, waits for the
//! head's decision on stdin. Stopped, the record says so and holds that epoch's values; let go
//! on, the training is the one it would have been without the per-epoch measurements.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use xnas::exec::{Decision, Job, EPOCH_PREFIX};
use xnas::record::{EpochPoint, EvalConfig, MeasurementRecord, Status};

use super::run::XNAS_WORKER;

fn config(epoch_validation: Option<usize>) -> EvalConfig {
    EvalConfig {
        train_subset: Some(300),
        val_subset: Some(200),
        test_subset: Some(100),
        epochs: 3,
        batch_size: 64,
        channels: 4,
        cells_per_stage: 1,
        trust: false,
        epoch_validation,
        device: "cpu".into(),
        ..EvalConfig::default()
    }
}

/// Runs one job in `xnas-worker evaluate`, answering its epochs with `stop_at` (the epoch to stop
/// after, if any); the epochs it reported and its record.
fn evaluate(config: EvalConfig, decide: bool, stop_at: Option<usize>) -> (Vec<EpochPoint>, MeasurementRecord) {
    let job = Job {
        id: 7,
        genome: "002404".into(),
        config,
        threads: Some(1),
        device_name: None,
        model_dir: None,
        decide_each_epoch: decide,
    };
    let mut child = Command::new(XNAS_WORKER)
        .arg("evaluate")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", serde_json::to_string(&job).unwrap()).unwrap();
    let mut stdin = decide.then_some(stdin);
    let mut points = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        let Some(json) = line.strip_prefix(EPOCH_PREFIX) else { continue };
        let point: EpochPoint = serde_json::from_str(json).unwrap();
        if let Some(stdin) = stdin.as_mut() {
            let decision = Decision { job: 7, stop: stop_at == Some(point.epoch) };
            writeln!(stdin, "{}", serde_json::to_string(&decision).unwrap()).unwrap();
        }
        points.push(point);
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    (points, serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn a_training_reports_its_epochs_stops_when_told_and_is_unchanged_when_not() {
    let (none, plain) = evaluate(config(None), false, None);
    assert!(none.is_empty() && plain.epochs.is_empty() && plain.status == Status::Done);

    // Measured after epochs 1 and 2 (not after the last: the full validation follows), not stopped.
    let (points, measured) = evaluate(config(Some(50)), true, None);
    assert_eq!(points.iter().map(|p| (p.epoch, p.images)).collect::<Vec<_>>(), [(1, 50), (2, 50)]);
    assert_eq!(measured.epochs, points);
    assert_eq!(measured.status, Status::Done);
    // The per-epoch measurements draw nothing and change nothing: the same training, bit for bit.
    assert_eq!(measured.train_loss_per_epoch, plain.train_loss_per_epoch);
    assert_eq!((measured.val_accuracy, measured.val_loss), (plain.val_accuracy, plain.val_loss));
    assert_eq!(measured.introspectability, plain.introspectability);

    let (points, stopped) = evaluate(config(Some(50)), true, Some(1));
    assert_eq!(points.len(), 1);
    assert_eq!(stopped.status, Status::Stopped);
    assert_eq!(stopped.epochs, points);
    assert_eq!(stopped.train_loss_per_epoch.len(), 1, "one epoch trained");
    assert_eq!(stopped.val_accuracy, Some(points[0].val_accuracy));
    assert_eq!(stopped.introspectability, points[0].introspectability);
    assert_eq!(stopped.val_images, 50);
    assert!(stopped.test_accuracy.is_none(), "no trust or test measurements after a stop");
    assert!(stopped.summary().contains("stopped early after epoch 1 of 3"), "{}", stopped.summary());

    // A job that does not ask, or a head that never answers (stdin closed), trains to the end.
    let (points, unasked) = evaluate(config(Some(50)), false, Some(1));
    assert_eq!((points.len(), unasked.status), (2, Status::Done));
}

/// A whole search with an early-stopping rule, through the head and long-lived workers: the rule
/// sees each epoch, stopped candidates are stored and scored with their epoch's values, status
/// and report count them, and the Optuna journal shows them as PRUNED trials with their
/// per-epoch accuracy as intermediate values.
#[test]
fn a_search_stops_candidates_by_its_rule_and_keeps_them() {
    use xnas::store::{EvalStatus, Store};

    use super::run::{temp_dir, tiny_script, xnas};

    let dir = temp_dir("early-stop");
    let script = tiny_script(&dir, 2, "|r| r.introspectability");
    // Three epochs; stop every candidate after its first once a front exists (the first one
    // trained alone makes it), so that most are stopped.
    let text = std::fs::read_to_string(&script).unwrap().replace("epochs: 1,", "epochs: 3,").replace(
        "exp\n",
        "exp.stop_early(|p| p.epoch >= 1 && p.front.len() > 0 && p.candidate.genome != \"\");\nexp\n",
    );
    std::fs::write(&script, text).unwrap();
    let run = dir.join("run");
    let journal = dir.join("journal.log");
    let args = ["run", script.to_str().unwrap(), "--dir", run.to_str().unwrap(), "--threads", "1"];
    let out = xnas(&[&args[..], &["--jobs-per-device", "1", "--optuna", journal.to_str().unwrap()]].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stopped early after epoch 1 of 3"), "{stderr}");

    let store = Store::open(&run).unwrap();
    let done = store.evaluations(Some(EvalStatus::Done)).unwrap();
    assert_eq!(done.len(), 8, "every candidate finished, stopped or not");
    let (stopped, full): (Vec<_>, Vec<_>) =
        done.iter().partition(|e| e.record.as_ref().unwrap().status == Status::Stopped);
    assert!(!full.is_empty() && stopped.len() >= 4, "{} stopped of {}", stopped.len(), done.len());
    for e in &stopped {
        let r = e.record.as_ref().unwrap();
        assert_eq!((r.epochs.len(), r.train_loss_per_epoch.len()), (1, 1), "stopped after one epoch");
        assert_eq!(r.val_accuracy, Some(r.epochs[0].val_accuracy));
    }
    for e in &full {
        let r = e.record.as_ref().unwrap();
        assert_eq!(r.epochs.iter().map(|p| p.epoch).collect::<Vec<_>>(), [1, 2], "measured before the last epoch");
    }
    let version = store.latest_script_version().unwrap().unwrap().id;
    let scored = store.scores(version).unwrap();
    assert!(stopped.iter().all(|e| scored.iter().any(|s| s.evaluation == e.id && s.result.is_ok())));

    let status = String::from_utf8(xnas(&["status", run.to_str().unwrap()]).stdout).unwrap();
    let saved = 2 * stopped.len();
    assert!(
        status.contains(&format!("{} of 8 candidates stopped early, {saved} epochs not trained", stopped.len())),
        "{status}"
    );

    let python = super::optuna::python_with_optuna();
    let check = r#"
import json, sys, optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
storage = JournalStorage(JournalFileBackend(sys.argv[1]))
(summary,) = optuna.get_all_study_summaries(storage)
study = optuna.load_study(study_name=summary.study_name, storage=storage)
print(json.dumps([[t.state.name, t.intermediate_values] for t in study.trials]))
"#;
    let out = Command::new(&python).arg("-c").arg(check).arg(&journal).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let trials: Vec<(String, std::collections::BTreeMap<String, f64>)> = serde_json::from_slice(&out.stdout).unwrap();
    let pruned: Vec<_> = trials.iter().filter(|(state, _)| state == "PRUNED").collect();
    assert_eq!(pruned.len(), stopped.len(), "{trials:?}");
    assert!(pruned.iter().all(|(_, values)| values.len() == 1), "one intermediate value each: {trials:?}");
    assert!(trials.iter().filter(|(s, _)| s == "COMPLETE").all(|(_, values)| values.len() == 2), "{trials:?}");

    // Replayed over its own run, the rule finds every stop where the run made it.
    let out = xnas(&["check", script.to_str().unwrap(), "--replay", run.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("early stopping replayed over 8 finished candidate(s)"), "{stdout}");
    assert!(stdout.contains(&format!("the rule stops {} (after epoch 1: {0})", stopped.len())), "{stdout}");
    assert!(stdout.contains(&format!("{saved} of 24 epochs not trained")), "{stdout}");
    let out = Command::new(super::run::XNAS)
        .args(["check", script.to_str().unwrap(), "--replay", dir.join("nothing").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("nothing"));
    std::fs::remove_dir_all(dir).ok();
}

/// A candidate stopped early keeps what it trained: with `--keep-models all` every candidate,
/// stopped or not, has its model folder, a stopped one's holding the weights of the epoch it
/// stopped after and its stopped record; `xnas export` turns it into a PyTorch model.
#[test]
fn a_stopped_candidate_keeps_the_model_of_its_epoch() {
    use xnas::store::{EvalStatus, Store};

    use super::run::{temp_dir, tiny_script, xnas};

    let dir = temp_dir("early-stop-models");
    let script = tiny_script(&dir, 1, "|r| r.introspectability");
    let text = std::fs::read_to_string(&script).unwrap().replace("epochs: 1,", "epochs: 3,").replace(
        "exp\n",
        "exp.stop_early(|p| p.epoch >= 1 && p.front.len() > 0 && p.candidate.genome != \"\");\nexp\n",
    );
    std::fs::write(&script, text).unwrap();
    let run = dir.join("run");
    xnas(&["run", script.to_str().unwrap(), "--dir", run.to_str().unwrap(), "--threads", "1", "--keep-models", "all"]);

    let store = Store::open(&run).unwrap();
    let done = store.evaluations(Some(EvalStatus::Done)).unwrap();
    let stopped: Vec<String> = done
        .iter()
        .filter(|e| e.record.as_ref().unwrap().status == Status::Stopped)
        .map(|e| e.genome.compact())
        .collect();
    assert!(!stopped.is_empty(), "the rule stopped no candidate");
    // The kept models, by the genome and status their saved records say.
    let mut kept: Vec<(String, MeasurementRecord)> = Vec::new();
    for entry in std::fs::read_dir(run.join("models")).unwrap() {
        let folder = entry.unwrap().path();
        let record: MeasurementRecord =
            serde_json::from_slice(&std::fs::read(folder.join("record.json")).unwrap()).unwrap();
        kept.push((folder.to_str().unwrap().to_string(), record));
    }
    assert_eq!(kept.len(), done.len(), "every trained candidate keeps its model, stopped ones included");
    let (folder, record) = kept.iter().find(|(_, r)| r.status == Status::Stopped).expect("a stopped candidate's model");
    assert!(stopped.contains(&record.genome));
    assert_eq!(record.train_loss_per_epoch.len(), 1, "the weights of the epoch it stopped after");

    let out = dir.join("export");
    xnas(&["export", "--model", folder, "--out", out.to_str().unwrap()]);
    assert!(out.join("state_dict.safetensors").is_file() && out.join("check.json").is_file());
    std::fs::remove_dir_all(dir).ok();
}
