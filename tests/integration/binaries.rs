//! The two binaries seen from a user: `xnas` hands the commands that train or load a model to
//! `xnas-worker` so that they behave as one program — help, errors, exit codes — and says what to
//! do when the worker is missing.

use std::process::Command;

use super::run::XNAS;

fn xnas_with(env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let out = Command::new(XNAS).args(args).envs(env.iter().copied()).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn training_commands_are_handed_to_the_worker_with_their_help_and_errors() {
    let (ok, stdout, _) = xnas_with(&[], &["--help"]);
    assert!(ok && stdout.contains("eval") && stdout.contains("repair") && stdout.contains("export"), "{stdout}");
    assert!(!stdout.contains("serve"), "the worker's own commands stay out of the user's help: {stdout}");
    let (ok, stdout, _) = xnas_with(&[], &["eval", "--help"]);
    assert!(ok && stdout.contains("Usage: xnas eval") && stdout.contains("--train-subset"), "{stdout}");
    // The worker's own error and exit code come through.
    let (ok, _, stderr) = xnas_with(&[], &["eval", "0024"]);
    assert!(!ok && stderr.contains("ARCH"), "{stderr}");
    let (ok, _, stderr) = xnas_with(&[], &["export", "--id", "3"]);
    assert!(!ok && stderr.contains("--id"), "clap's check of the head: {stderr}");
}

#[test]
fn a_missing_worker_is_an_error_that_says_how_to_get_one() {
    let (ok, _, stderr) = xnas_with(&[("XNAS_WORKER", "/nonexistent/xnas-worker")], &["eval", "002404"]);
    assert!(!ok && stderr.contains("XNAS_WORKER=/nonexistent/xnas-worker: no such file"), "{stderr}");
}

#[test]
fn eval_takes_the_training_sections_compute_and_epoch_settings() {
    let (ok, _, stderr) = xnas_with(&[], &["eval", "002404", "--precision", "fp16"]);
    assert!(!ok && stderr.contains("--precision") && stderr.contains("fp32") && stderr.contains("bf16"), "{stderr}");
    let (ok, _, stderr) = xnas_with(&[], &["eval", "002404", "--channels-last", "yes"]);
    assert!(!ok && stderr.contains("--channels-last") && stderr.contains("\"auto\", true or false"), "{stderr}");
    let (ok, _, stderr) = xnas_with(&[], &["eval", "002404", "--epoch-validation", "0"]);
    assert!(!ok && stderr.contains("--epoch-validation"), "{stderr}");
    let (ok, _, stderr) = xnas_with(&[], &["eval", "002404", "--device", "cpu", "--precision", "bf16"]);
    assert!(!ok && stderr.contains("--precision bf16") && stderr.contains("CUDA setting"), "{stderr}");
    // On a CPU the CUDA settings' `auto` resolves to plain fp32 (the record says so), and the
    // per-epoch measurement lands in the record.
    let (ok, stdout, stderr) = xnas_with(
        &[],
        &[
            "eval",
            "002404",
            "--device",
            "cpu",
            "--channels",
            "4",
            "--cells",
            "1",
            "--epochs",
            "2",
            "--batch-size",
            "64",
            "--train-subset",
            "200",
            "--validation",
            "100",
            "--test-subset",
            "100",
            "--no-trust",
            "--precision",
            "auto",
            "--channels-last",
            "auto",
            "--cudnn-benchmark",
            "false",
            "--epoch-validation",
            "50",
            "--json",
        ],
    );
    assert!(ok, "{stderr}");
    let record: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        record["compute"],
        serde_json::json!({"precision": "fp32", "channels_last": false, "cudnn_benchmark": false})
    );
    let epochs = record["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 1, "every epoch but the last, which validation measures whole: {epochs:?}");
    assert_eq!(epochs[0]["images"], 50);
    assert_eq!(record["config"]["precision"], "auto");
    assert_eq!(record["config"]["cudnn_benchmark"], false);
    assert_eq!(record["config"]["epoch_validation"], 50);
}
