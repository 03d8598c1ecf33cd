//! What the benchmarks against moocore share (`crates/moo/benches/ranking_vs_moocore.rs`,
//! `crates/hv/benches/hv_vs_moocore.rs`, both include this file): the pinned moocore version, the
//! Python that runs it, and its installation into that Python.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The moocore release every figure in docs/guide/performance.md was measured against.
pub const MOOCORE_VERSION: &str = "0.3.2";

/// `$XNAS_PYTHON`, else the project's `.venv`, else `python3`.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("XNAS_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// Installs moocore into `python` unless that exact version is already there.
pub fn ensure_moocore(python: &Path) {
    let check = Command::new(python)
        .args(["-c", "import moocore, sys; sys.exit(0 if moocore.__version__ == sys.argv[1] else 1)", MOOCORE_VERSION])
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    if check.success() {
        return;
    }
    eprintln!("installing moocore=={MOOCORE_VERSION} into {}", python.display());
    let status = Command::new(python)
        .args(["-m", "pip", "install", "--quiet", &format!("moocore=={MOOCORE_VERSION}")])
        .status()
        .expect("pip runs");
    assert!(status.success(), "pip install moocore=={MOOCORE_VERSION} failed");
}
