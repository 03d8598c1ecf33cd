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
