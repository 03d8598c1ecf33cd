//! Finding the Python that the live comparisons hand their inputs to (`XNAS_PYTHON`, else
//! `$XNAS_VENV/bin/python`, else `python3`), and the rule for when it lacks a module: a note on a
//! developer's machine, a failure under CI (`CI` set, as CI services set it), where
//! scripts/setup.sh installs SciPy and moocore and their absence means a comparison silently
//! stopped running.

use std::io::Write;
use std::process::{Command, Stdio};

/// The first candidate Python that can `import module`.
pub fn python_with(module: &str) -> Option<String> {
    let candidates = [
        std::env::var("XNAS_PYTHON").ok(),
        std::env::var("XNAS_VENV").ok().map(|venv| format!("{venv}/bin/python")),
        Some("python3".to_string()),
    ];
    candidates.into_iter().flatten().find(|python| {
        Command::new(python).args(["-c", &format!("import {module}")]).output().is_ok_and(|out| out.status.success())
    })
}

/// Fails under CI, prints a note otherwise: `module` is missing, so `comparison` cannot run.
pub fn without(module: &str, comparison: &str) {
    let under_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    let missing = format!("no Python with {module} found (XNAS_PYTHON, $XNAS_VENV/bin/python, python3)");
    assert!(!under_ci, "{missing} under CI: the {comparison} cannot run; install it with scripts/setup.sh");
    println!("note: {missing}; {comparison} skipped");
}

/// Runs `script` with `input` on its stdin and parses its stdout as JSON.
pub fn run_json<T: serde::de::DeserializeOwned>(python: &str, script: &str, input: &impl serde::Serialize) -> T {
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python starts");
    child.stdin.take().unwrap().write_all(serde_json::to_string(input).unwrap().as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "the reference script failed:\n{script}");
    serde_json::from_slice(&output.stdout).unwrap()
}
