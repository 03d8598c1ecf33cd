//! The Rhai modules under `stdlib/`, built into the binary so that `import "xnas/<name>"` works
//! wherever xnas runs, whatever the current directory.

/// `(name, text)` of every built-in module; a script imports it as `"xnas/<name>"`.
pub const MODULES: &[(&str, &str)] = &[
    ("early", include_str!("../../stdlib/early.rhai")),
    ("objectives", include_str!("../../stdlib/objectives.rhai")),
    ("presets", include_str!("../../stdlib/presets.rhai")),
    ("repairs", include_str!("../../stdlib/repairs.rhai")),
];

/// The prefix of built-in module paths in `import` statements.
pub const IMPORT_PREFIX: &str = "xnas/";

/// The text of built-in module `name` (without the `xnas/` prefix).
pub fn module_text(name: &str) -> Option<&'static str> {
    MODULES.iter().find(|(n, _)| *n == name).map(|(_, text)| *text)
}

/// The file name errors and traces use for built-in module `name`: its path in the repository.
pub fn source_name(name: &str) -> String {
    format!("stdlib/{name}.rhai")
}

/// Whether `source` names a built-in module (see [`source_name`]).
pub fn is_stdlib_source(source: &str) -> bool {
    MODULES.iter().any(|(name, _)| source_name(name) == source)
}

/// `"xnas/objectives", "xnas/presets", …` for error messages.
pub fn import_paths() -> String {
    MODULES.iter().map(|(name, _)| format!("\"{IMPORT_PREFIX}{name}\"")).collect::<Vec<_>>().join(", ")
}
