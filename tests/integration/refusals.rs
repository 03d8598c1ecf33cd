//! Settings no evaluation can run with, refused through the real binaries before anything is
//! created (issue 23, items 7–9): absurd sizes (a network no machine can train, a population
//! whose bookkeeping cannot fit), validation splits and subsets too small to score, a WordNet
//! objective without WordNet, a saved record edited to a size its weights cannot hold. Each
//! message names the setting, the value and the allowed range; none is a panic.

use std::path::Path;
use std::process::Command;

use super::run::{temp_dir, tiny_script, xnas, XNAS};

/// Runs `xnas ARGS` expecting it to fail; its stderr, checked to be an error and not a panic.
fn refused(args: &[&str]) -> String {
    let out = Command::new(XNAS).args(args).env("OMP_NUM_THREADS", "1").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "xnas {args:?} succeeded:\n{stderr}");
    assert_eq!(out.status.code(), Some(1), "xnas {args:?} crashed:\n{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "xnas {args:?} panicked:\n{stderr}");
    stderr
}

/// `xnas run SCRIPT --set SETTING` and `xnas check` refuse it with `message`, and the run's
/// folder is never made.
fn refused_before_the_folder(dir: &Path, script: &Path, sets: &[&str], message: &str) {
    let run = dir.join(format!("run-{}", sets.join("-").replace(['/', '=', '.'], "_")));
    let script = script.to_str().unwrap();
    let mut args = vec!["run", script, "--dir", run.to_str().unwrap()];
    for set in sets {
        args.extend(["--set", set]);
    }
    let stderr = refused(&args);
    assert!(stderr.contains(message), "run {sets:?}: {stderr}");
    assert!(!run.exists(), "run {sets:?} created {}", run.display());
    let mut args = vec!["check", script];
    for set in sets {
        args.extend(["--set", set]);
    }
    let stderr = refused(&args);
    assert!(stderr.contains(message), "check {sets:?}: {stderr}");
}

#[test]
fn absurd_sizes_are_refused_before_a_run_folder_exists() {
    let dir = temp_dir("refuse-sizes");
    let script = tiny_script(&dir, 2, "|r| r.introspectability");
    let cases: [(&str, &str); 4] = [
        // Was 12 attempts, each a libtorch allocation panic.
        ("space.channels=10000000", "space.channels = 10000000: must be at most "),
        // The bound says why: the memory estimate against its limit.
        ("space.channels=10000000", "over the bound of 512.0 GiB"),
        // Was an abort (rc 134) after the folder existed.
        ("search.population=1000000000000", "search.population = 1000000000000: must be at most 100000"),
        // Was a "capacity overflow" panic, and every resume panicked.
        ("search.population=9223372036854775807", "search.population = 9223372036854775807: must be at most 100000"),
    ];
    for (set, message) in cases {
        refused_before_the_folder(&dir, &script, &[set], message);
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn validation_splits_and_subsets_that_cannot_score_are_refused_before_a_run_folder_exists() {
    let dir = temp_dir("refuse-validation");
    let script = tiny_script(&dir, 2, "|r| r.introspectability");
    let cases: [(&str, &str); 7] = [
        // 1.0 read as one image ("validation 200 of 1"); now it is no fraction and no count.
        (
            "dataset.validation=1.0",
            "validation 1.0 is not a fraction of the training set: a fraction is above 0 and below 1",
        ),
        (
            "dataset.validation=1",
            "dataset.validation = 1: must be \"held-out\", a fraction of the training images above 0 and below 1",
        ),
        ("dataset.val_subset=1", "dataset.val_subset = 1: must be at least 10 images, one per class of fashion-mnist"),
        ("dataset.train_subset=1", "dataset.train_subset = 1: must be at least 10 images"),
        // These two were refused only by the worker, after the folder existed.
        ("dataset.validation=60000", "dataset.validation = 60000 takes 60000 of the 60000 training images"),
        ("dataset.validation=0.999999", "the allowed range is 10 to 59990 images"),
        ("dataset.validation=5", "of at least 10, one per class"),
    ];
    for (set, message) in cases {
        refused_before_the_folder(&dir, &script, &[set], message);
    }
    // The edges themselves are allowed: one image per class, and all but one per class.
    for set in ["dataset.validation=10", "dataset.validation=59990", "dataset.val_subset=10"] {
        xnas(&["check", script.to_str().unwrap(), "--set", set]);
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_wordnet_objective_without_wordnet_is_refused_before_a_run_folder_exists() {
    let dir = temp_dir("refuse-wordnet");
    let script = tiny_script(&dir, 2, "|r| wordnet_introspectability(r)");
    let empty = dir.join("no-wordnet");
    std::fs::create_dir_all(&empty).unwrap();
    let set = format!("dataset.wordnet_dir={}", empty.display());
    // Was a warning from check, and a run that trained all 8 candidates and scored none (rc 0).
    refused_before_the_folder(&dir, &script, &[&set], "an objective needs data this machine does not have");
    refused_before_the_folder(&dir, &script, &[&set], &format!("{}", empty.join("data.noun").display()));
    refused_before_the_folder(&dir, &script, &[&set], "set dataset.wordnet_dir");
    // With WordNet where it is installed, the same script passes.
    xnas(&["check", script.to_str().unwrap()]);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn eval_and_export_refuse_networks_too_large_instead_of_panicking() {
    let dir = temp_dir("refuse-eval");
    // Was a libtorch allocation panic with a backtrace.
    let stderr = refused(&["eval", "002404", "--channels", "100000000", "--device", "cpu"]);
    assert!(stderr.contains("--channels 100000000: must be at most "), "{stderr}");
    let stderr = refused(&["eval", "002404", "--val-subset", "3", "--device", "cpu"]);
    assert!(stderr.contains("--val-subset 3: must be at least 10 images"), "{stderr}");

    // A model saved by `xnas eval --save` whose record is edited to 4·10⁶ channels.
    let model = dir.join("model");
    xnas(&[
        "eval",
        "002404",
        "--train-subset",
        "100",
        "--val-subset",
        "20",
        "--test-subset",
        "20",
        "--no-trust",
        "--epochs",
        "1",
        "--batch-size",
        "50",
        "--channels",
        "4",
        "--cells",
        "1",
        "--device",
        "cpu",
        "--save",
        model.to_str().unwrap(),
    ]);
    let record_path = model.join("record.json");
    let mut record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&record_path).unwrap()).unwrap();
    record["config"]["channels"] = serde_json::json!(4_000_000);
    std::fs::write(&record_path, serde_json::to_string(&record).unwrap()).unwrap();
    let out = dir.join("export");
    let stderr = refused(&["export", "--model", model.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(stderr.contains("the saved record does not fit the weights in"), "{stderr}");
    assert!(stderr.contains("4000000 channels") && stderr.contains("was record.json edited?"), "{stderr}");
    assert!(!out.exists(), "the export folder was made: {}", out.display());
    std::fs::remove_dir_all(dir).ok();
}
