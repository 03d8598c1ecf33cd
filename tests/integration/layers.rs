//! The layering of docs/architecture.md, checked against the code: every `crate::` path in a
//! module of `src/` names a module below it in the list, so the modules form no cycle and the
//! data flows one way (script → search → executor → evaluator → record → store → report).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Top-level modules from the top layer to the bottom one, as docs/architecture.md lists them.
/// `cli` and `worker` are the two binaries' own modules (`src/main.rs`, `src/worker/main.rs`).
const LAYERS: &[&str] = &[
    "cli",
    "worker",
    "run",
    "output",
    "script",
    "exec",
    "store",
    "report",
    "evaluate",
    "train",
    "nn",
    "data",
    "record",
    "introspect",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`src/run/scheduler.rs` → `run`); `None` for the roots.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let first = file.strip_prefix(src).unwrap().components().next()?.as_os_str().to_string_lossy().into_owned();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// Every module named by a `crate::NAME` or `xnas::NAME` path, or inside `use crate::{…}`, outside comments.
fn named_modules(text: &str) -> BTreeSet<String> {
    let code: String = text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    let mut names = BTreeSet::new();
    for prefix in ["crate::", "xnas::"] {
        for (at, _) in code.match_indices(prefix) {
            let rest = &code[at + prefix.len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let inner = &group[..group.find('}').unwrap_or(group.len())];
                for item in inner.split(',') {
                    let head = item.trim().split("::").next().unwrap_or("").trim();
                    // Only lower-case heads are modules; `C` in `store::{B, C}` is an item of one.
                    if head.starts_with(|c: char| c.is_ascii_lowercase()) {
                        names.insert(head.to_string());
                    }
                }
            } else {
                let head: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                names.insert(head);
            }
        }
    }
    names
}

#[test]
fn every_module_calls_only_modules_below_it() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let rank = |name: &str| LAYERS.iter().position(|l| *l == name);
    let mut violations = Vec::new();
    let mut seen = BTreeSet::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else { continue };
        let own = rank(&module).unwrap_or_else(|| panic!("{}: module {module} is not in LAYERS", file.display()));
        seen.insert(module.clone());
        for named in named_modules(&std::fs::read_to_string(file).unwrap()) {
            if let Some(other) = rank(&named) {
                if other < own {
                    violations.push(format!("{} ({module}) uses {named}, which is above it", file.display()));
                }
            }
        }
    }
    assert!(violations.is_empty(), "layering violations:\n{}", violations.join("\n"));
    assert!(seen.len() >= 10, "found only {seen:?} under {}", src.display());
}

#[test]
fn the_path_reader_sees_grouped_and_plain_paths() {
    let text = "use crate::{record::A, store::{B, C}};\nlet x = crate::exec::run(); // crate::cli::no\n";
    let names: Vec<String> = named_modules(text).into_iter().collect();
    assert_eq!(names, ["exec", "record", "store"]);
}
