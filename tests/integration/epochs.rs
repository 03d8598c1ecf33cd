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
