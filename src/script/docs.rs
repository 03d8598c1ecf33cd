//! The script API reference (`docs/script-api.md`), generated from the metadata rhai keeps for
//! every registered function (its signature and doc comments) and from the doc comments of the
//! built-in modules, so the page cannot drift from what scripts can actually call. A test
//! compares the checked-in page with [`api_reference`] and fails when it is stale.

use std::path::Path;
use std::sync::Arc;

use rhai::Engine;
use serde::Deserialize;

use super::api::THEMES;
use super::engine::{new_engine, Limits};
use super::session::Session;
use super::stdlib;

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    functions: Vec<Function>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Function {
    name: String,
    #[serde(default)]
    params: Vec<Param>,
    #[serde(default)]
    return_type: String,
    #[serde(default)]
    doc_comments: Vec<String>,
}

#[derive(Deserialize)]
struct Param {
    name: Option<String>,
    #[serde(rename = "type")]
    typ: Option<String>,
}

/// Doc-comment lines without their `///` leader.
fn comment_text(comments: &[String]) -> String {
    comments
        .iter()
        .flat_map(|c| c.lines())
        .map(|line| line.trim_start().trim_start_matches("///").trim_start_matches("/**").trim_end_matches("*/"))
        .map(|line| line.strip_prefix(' ').unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// A type as scripts see it, from the Rust type a function declares: what a fallible function
/// returns on success, and a score's number-or-unit by its name (written as rhai's metadata
/// writes `f64 or ()`, without spaces).
fn script_type(rust: &str) -> &str {
    let inner = rust.strip_prefix("RhaiResult<").and_then(|t| t.strip_suffix('>')).unwrap_or(rust);
    match inner {
        "OptionalFloat" => "f64or()",
        other => other,
    }
}

fn render_function(f: &Function) -> String {
    let params: Vec<String> = f
        .params
        .iter()
        .map(|p| match (&p.name, p.typ.as_deref().map(script_type)) {
            (Some(n), Some(t)) if n != "_" => format!("{n}: {t}"),
            (_, Some(t)) => t.to_string(),
            (Some(n), None) => n.clone(),
            (None, None) => "_".into(),
        })
        .collect();
    let return_type = script_type(&f.return_type);
    let heading = if let Some(property) = f.name.strip_prefix("get$") {
        let owner = params.first().map(|p| p.rsplit(' ').next().unwrap_or(p).to_string()).unwrap_or_default();
        format!("`{owner}.{property}` → `{return_type}`")
    } else if return_type.is_empty() {
        format!("`{}({})`", f.name, params.join(", "))
    } else {
        format!("`{}({})` → `{return_type}`", f.name, params.join(", "))
    };
    format!("### {heading}\n\n{}\n", comment_text(&f.doc_comments))
}

/// The Markdown reference page of everything scripts can call.
pub fn api_reference() -> String {
    let mut out = String::from(
        "# xnas script API\n\n\
         <!-- Generated from the registered functions' metadata by `xnas::script::api_reference()`.\n     \
         Do not edit: run `XNAS_UPDATE_DOCS=1 cargo test --no-default-features --test integration api_docs` -->\n\n\
         An experiment is a [Rhai](https://rhai.rs) script (see `experiments/` for complete ones). Besides Rhai's\n\
         standard library, scripts can call the functions below and import the built-in modules at the end of this\n\
         page. Scripts run under limits (operations, call depth, string and array sizes), so an endless loop stops\n\
         with an error; every error names `file:line:column`. Check a script without training with `xnas check SCRIPT`.\n\n\
         What a script can reach: the functions below, Rhai's standard library (no files, network or processes),\n\
         the built-in modules (`import \"xnas/<name>\"`) and `.rhai` files in the main script's folder or below it,\n\
         imported by a path relative to the importing file (`import \"lib/objectives\"`). Absolute paths, `..` out of\n\
         the main script's folder, symbolic links that lead out of it and `eval` are refused with an error at the\n\
         `import` or the `eval`: a run stores the script and every module it imported as its script version, and a\n\
         resumed run imports from those stored texts.\n",
    );
    for theme in THEMES {
        let mut engine = Engine::new_raw();
        (theme.register)(&mut engine, &Arc::new(Session::default()));
        let json = engine.gen_fn_metadata_to_json(false).expect("metadata serialises");
        let metadata: Metadata = serde_json::from_str(&json).expect("rhai's metadata JSON has this shape");
        out += &format!("\n## {}\n\n{}\n\n", theme.title, theme.intro);
        let functions: Vec<&Function> = metadata.functions.iter().filter(|f| !f.doc_comments.is_empty()).collect();
        // By name, then arity, then signature: rhai's own order of overloads is not stable.
        let mut rendered: Vec<(&str, usize, String)> =
            functions.iter().map(|f| (f.name.trim_start_matches("get$"), f.params.len(), render_function(f))).collect();
        rendered.sort();
        for (_, _, text) in rendered {
            out += &text;
            out.push('\n');
        }
    }
    out += "\n## Built-in modules\n\nImport them with `import \"xnas/<name>\" as <alias>;` and call their functions as `<alias>::<function>(…)`.\n";
    let engine = new_engine(&Limits::default(), &Arc::new(Session::default()), Path::new("."));
    for (name, text) in stdlib::MODULES {
        out += &format!("\n### `xnas/{name}` (stdlib/{name}.rhai)\n\n");
        let ast = engine.compile(text).unwrap_or_else(|e| panic!("built-in module {name} does not compile: {e}"));
        let mut functions: Vec<_> = ast
            .iter_functions()
            .filter(|f| f.access == rhai::FnAccess::Public && !f.name.starts_with("anon$"))
            .collect();
        functions.sort_by(|a, b| a.name.cmp(b.name));
        for f in functions {
            let comments: Vec<String> = f.comments.iter().map(|c| c.to_string()).collect();
            out += &format!(
                "- `{name}::{}({})` — {}\n",
                f.name,
                f.params.join(", "),
                comment_text(&comments).replace('\n', " ")
            );
        }
    }
    out
}
