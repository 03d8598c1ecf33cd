//! Every example runs, so none can rot: the Rust programs of `examples/` (built by `cargo test`
//! beside this binary) and the Rhai snippets of `examples/scripts/` (compiled and dry-run as
//! `xnas check` does).

use std::path::PathBuf;
use std::process::Command;

use xnas::script::{check, compile_file};

/// A built example program: `target/<profile>/examples/<name>`, next to this test's `deps/`.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps/<test>");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is not built: `cargo test` builds the examples; with `--test integration` alone run `cargo build --examples` first",
        path.display()
    );
    path
}

/// Runs an example and returns its standard output, failing the test on a non-zero exit.
fn run_example(name: &str, args: &[&str]) -> String {
    let output = Command::new(example(name)).args(args).output().expect("starting the example");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "example {name} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn the_ask_tell_example_finds_a_front() {
    let out = run_example("ask_tell_search", &[]);
    assert!(out.contains("after 10 generations"), "{out}");
    // The all-conv3x3 cell has the most convolutions; it or a cheaper six-conv cell ends the front.
    assert!(out.lines().filter(|l| l.contains("convolutions")).count() >= 2, "{out}");
}

#[test]
fn the_hypervolume_example_agrees_with_its_hand_computation() {
    let out = run_example("hypervolume", &[]);
    assert!(out.contains("hypervolume 0.271600 (by hand 0.271600)"), "{out}");
}

#[cfg(feature = "torch")]
#[test]
fn the_evaluate_example_trains_one_genome() {
    let out = run_example("evaluate_genome", &["002404"]);
    assert!(out.contains("002404 acc"), "{out}");
}

#[cfg(feature = "torch")]
#[test]
fn the_read_run_example_reads_a_real_run() {
    use crate::run::{temp_dir, tiny_script, xnas};
    let dir = temp_dir("read-run-example");
    let script = tiny_script(&dir, 2, "|r| r.introspectability");
    let run = dir.join("runs-tiny");
    xnas(&["run", script.to_str().unwrap(), "--dir", run.to_str().unwrap()]);
    let out = run_example("read_run", &[run.to_str().unwrap()]);
    assert!(out.contains("run tiny on fashion-mnist:") && out.contains("architectures evaluated"), "{out}");
    assert!(out.contains("| Run | Dataset |"), "{out}");
    assert!(out.contains("generation 2: hypervolume"), "{out}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn every_script_example_passes_check() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/scripts");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rhai") {
            let experiment = compile_file(&path).unwrap_or_else(|e| panic!("{}:\n{e}", path.display()));
            check(&experiment).unwrap_or_else(|e| panic!("{}:\n{e}", path.display()));
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} script examples in {}", dir.display());
}
