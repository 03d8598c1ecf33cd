//! The layering of docs/architecture.md, checked against the code. The document's table of allowed
//! edges (module → the modules it may use) is read here, and every path in `src/` is resolved to
//! the module it names — `crate::`, `super::` (also `super::super::`), `self::`, `xnas::`, `use`
//! groups, and files included with `#[path = …]` — as the compiler mounts the files from the three
//! roots (the library, the `xnas` head, the `xnas-worker` worker). An edge the table does not list
//! fails with its file and line, and so does a table entry no code uses, so the table stays the
//! map of the code. The head/worker split is a rule of the table: code the head compiles without
//! the `torch` feature never names a module that needs it. The workspace crates' own modules form
//! no cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

/// Where the table lives and the header row that starts it.
const ARCHITECTURE: &str = "docs/architecture.md";
const TABLE_HEADER: &str = "| module | may use | its torch code may also use | needs torch |";

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    PathSep,
    Punct(char),
}

/// The tokens of Rust source with their lines; comments, numbers and lifetimes left out.
fn lex(text: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let (mut i, mut line, mut tokens) = (0, 1, Vec::new());
    // Reads a (raw or escaped) string literal whose opening quote is at `start`; returns its end.
    let string_end = |start: usize, hashes: usize, raw: bool| -> usize {
        let mut j = start + 1;
        while j < chars.len() {
            if !raw && chars[j] == '\\' {
                j += 2;
                continue;
            }
            if chars[j] == '"' && (0..hashes).all(|h| at(j + 1 + h) == '#') {
                return j + 1 + hashes;
            }
            j += 1;
        }
        chars.len()
    };
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            loop {
                if i >= chars.len() {
                    break;
                } else if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' || (c == 'b' && at(i + 1) == '"') {
            let quote = if c == 'b' { i + 1 } else { i };
            i = string_end(quote, 0, false);
            tokens.push((Token::Str(chars[quote + 1..i.saturating_sub(1).max(quote + 1)].iter().collect()), line));
        } else if (c == 'r' || (c == 'b' && at(i + 1) == 'r')) && raw_string_quote(&chars, i).is_some() {
            let (quote, hashes) = raw_string_quote(&chars, i).unwrap();
            i = string_end(quote, hashes, true);
            tokens.push((Token::Str(chars[quote + 1..i - 1 - hashes].iter().collect()), line));
        } else if c == '\'' || (c == 'b' && at(i + 1) == '\'') {
            let tick = if c == 'b' { i + 1 } else { i };
            if at(tick + 1) == '\\' {
                i = tick + 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(tick + 2) == '\'' {
                i = tick + 3;
            } else {
                i = tick + 1; // a lifetime; its name is read as an identifier next
            }
        } else if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push((Token::Ident(chars[start..i].iter().collect()), line));
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.') {
                i += 1;
            }
        } else if c == ':' && at(i + 1) == ':' {
            tokens.push((Token::PathSep, line));
            i += 2;
        } else {
            if !c.is_whitespace() {
                tokens.push((Token::Punct(c), line));
            }
            i += 1;
        }
        line += chars[start..i.min(chars.len())].iter().filter(|&&ch| ch == '\n').count();
    }
    tokens
}

/// For `r"…"`, `r#"…"#` or `br"…"` at `i`: the opening quote's index and the number of hashes.
fn raw_string_quote(chars: &[char], i: usize) -> Option<(usize, usize)> {
    let mut j = if chars[i] == 'b' { i + 2 } else { i + 1 };
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') {
        return None;
    }
    let mut hashes = 0;
    while chars.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    (chars.get(j) == Some(&'"')).then_some((j, hashes))
}

/// Which compiled crate a file is mounted in: `crate::` means a different thing in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Root {
    Library,
    Head,
    Worker,
}

/// One path in the code: the module path it resolves to, where, and whether only torch builds compile it.
#[derive(Debug)]
struct Reference {
    root: Root,
    path: Vec<String>,
    line: usize,
    torch_only: bool,
}

/// A `mod NAME;` declaration: the file it mounts and whether the declaration is torch-gated.
#[derive(Debug)]
struct ModDecl {
    name: String,
    file: PathBuf,
    line: usize,
    torch_only: bool,
    /// Set when `#[path = …]` names the file.
    explicit_path: bool,
}

/// What one mounted file says: the modules it declares and the paths it names.
#[derive(Debug, Default)]
struct FileScan {
    mods: Vec<ModDecl>,
    references: Vec<Reference>,
}

/// Whether the tokens of an attribute body (between `#[` and `]`) are `cfg(…feature = "torch"…)`
/// without a `not`: the item it annotates is compiled only with libtorch.
fn is_torch_cfg(attribute: &[Token]) -> bool {
    let is = |i: usize, t: &Token| attribute.get(i) == Some(t);
    is(0, &Token::Ident("cfg".into()))
        && !attribute.contains(&Token::Ident("not".into()))
        && attribute.windows(3).any(|w| {
            w[0] == Token::Ident("feature".into()) && w[1] == Token::Punct('=') && w[2] == Token::Str("torch".into())
        })
}

/// Reads a path after its first segment at `pos` (which is past `root`): plain, grouped
/// (`{a, b::{c, self}}`) or glob; every complete path goes to `out`.
fn read_tree(tokens: &[(Token, usize)], pos: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    match tokens.get(*pos).map(|t| &t.0) {
        Some(Token::Punct('{')) => {
            *pos += 1;
            loop {
                match tokens.get(*pos).map(|t| &t.0) {
                    None => return,
                    Some(Token::Punct('}')) => {
                        *pos += 1;
                        return;
                    }
                    Some(Token::Punct(',')) => *pos += 1,
                    _ => {
                        let before = *pos;
                        read_tree(tokens, pos, prefix.clone(), out);
                        *pos = (*pos).max(before + 1);
                    }
                }
            }
        }
        Some(Token::Ident(name)) => {
            let mut path = prefix;
            if name != "self" {
                path.push(name.clone());
            }
            *pos += 1;
            if tokens.get(*pos).map(|t| &t.0) == Some(&Token::PathSep) {
                *pos += 1;
                read_tree(tokens, pos, path, out);
            } else {
                out.push(path);
            }
        }
        _ => out.push(prefix),
    }
}

/// Scans one file mounted at `module` (its path from the crate root) in `root`.
fn scan(file: &Path, root: Root, module: &[String], torch_only: bool, mod_rs: bool) -> FileScan {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let tokens = lex(&text);
    let dir = file.parent().unwrap();
    // Child files of `foo.rs` live in `foo/`; of `mod.rs`, `lib.rs` and `main.rs`, beside it.
    let child_dir = if mod_rs { dir.to_path_buf() } else { dir.join(file.file_stem().unwrap()) };
    let mut result = FileScan::default();
    // Open brackets, and for each whether it opened an inline module (its name) or a gated item.
    let mut depth = 0usize;
    let mut inline_modules: Vec<(String, usize)> = Vec::new();
    // The depths at which torch-gated items started: an item ends at a `;` at its depth or at
    // the `}` that brings the depth back to it.
    let mut gates: Vec<usize> = Vec::new();
    let mut pending_gate = false;
    let mut pending_path: Option<String> = None;
    let mut i = 0;
    while i < tokens.len() {
        let (token, line) = (&tokens[i].0, tokens[i].1);
        if pending_gate && *token != Token::Punct('#') {
            gates.push(depth);
            pending_gate = false;
        }
        let gated = torch_only || !gates.is_empty();
        match token {
            Token::Punct('#') => {
                let inner = tokens.get(i + 1).map(|t| &t.0) == Some(&Token::Punct('!'));
                let open = if inner { i + 2 } else { i + 1 };
                if tokens.get(open).map(|t| &t.0) == Some(&Token::Punct('[')) {
                    let mut close = open + 1;
                    let mut nesting = 1;
                    while close < tokens.len() && nesting > 0 {
                        match tokens[close].0 {
                            Token::Punct('[') => nesting += 1,
                            Token::Punct(']') => nesting -= 1,
                            _ => {}
                        }
                        close += 1;
                    }
                    let body: Vec<Token> = tokens[open + 1..close - 1].iter().map(|t| t.0.clone()).collect();
                    if !inner && is_torch_cfg(&body) {
                        pending_gate = true;
                    }
                    if let [Token::Ident(name), Token::Punct('='), Token::Str(value)] = body.as_slice() {
                        if name == "path" {
                            pending_path = Some(value.clone());
                        }
                    }
                    i = close;
                    continue;
                }
            }
            Token::Ident(word) if word == "mod" => {
                if let Some(Token::Ident(name)) = tokens.get(i + 1).map(|t| &t.0) {
                    let gate = gated;
                    match tokens.get(i + 2).map(|t| &t.0) {
                        Some(Token::Punct(';')) => {
                            let (file, explicit_path) = match pending_path.take() {
                                Some(path) => (normalise(&dir.join(path)), true),
                                None => {
                                    let flat = child_dir.join(format!("{name}.rs"));
                                    (if flat.exists() { flat } else { child_dir.join(name).join("mod.rs") }, false)
                                }
                            };
                            result.mods.push(ModDecl {
                                name: name.clone(),
                                file,
                                line,
                                torch_only: gate,
                                explicit_path,
                            });
                            i += 2; // the `;` ends a gate around the declaration
                            continue;
                        }
                        Some(Token::Punct('{')) => {
                            inline_modules.push((name.clone(), depth));
                            depth += 1;
                            i += 3;
                            continue;
                        }
                        _ => {}
                    }
                }
            }
            Token::Ident(word) if ["crate", "super", "self", "xnas"].contains(&word.as_str()) => {
                let starts_path = tokens.get(i + 1).map(|t| &t.0) == Some(&Token::PathSep);
                let xnas_here = word != "xnas" || root != Root::Library;
                let after_sep = i > 0 && tokens[i - 1].0 == Token::PathSep;
                if starts_path && xnas_here && !after_sep {
                    let mut pos = i + 2;
                    let mut paths = Vec::new();
                    read_tree(&tokens, &mut pos, vec![word.clone()], &mut paths);
                    let here: Vec<String> =
                        module.iter().cloned().chain(inline_modules.iter().map(|(n, _)| n.clone())).collect();
                    for path in paths {
                        let (target_root, resolved) = resolve(root, &here, &path);
                        result.references.push(Reference {
                            root: target_root,
                            path: resolved,
                            line,
                            torch_only: gated,
                        });
                    }
                    i = pos;
                    continue;
                }
            }
            Token::Punct('{' | '(' | '[') => depth += 1,
            Token::Punct(close @ ('}' | ')' | ']')) => {
                depth = depth.saturating_sub(1);
                if inline_modules.last().is_some_and(|&(_, d)| d == depth) {
                    inline_modules.pop();
                }
                while *close == '}' && gates.last() == Some(&depth) {
                    gates.pop();
                }
            }
            Token::Punct(';') => {
                while gates.last() == Some(&depth) {
                    gates.pop();
                }
            }
            _ => {}
        }
        i += 1;
    }
    result
}

/// `a/b/../c` → `a/c`, so an included file is known by one path.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The crate and module path a written path names, from code in module `here` of `root`.
fn resolve(root: Root, here: &[String], path: &[String]) -> (Root, Vec<String>) {
    match path[0].as_str() {
        "crate" => (root, path[1..].to_vec()),
        "xnas" => (Root::Library, path[1..].to_vec()),
        "self" => (root, here.iter().chain(&path[1..]).cloned().collect()),
        _ => {
            let supers = path.iter().take_while(|s| *s == "super").count();
            let base = &here[..here.len().saturating_sub(supers)];
            (root, base.iter().chain(&path[supers..]).cloned().collect())
        }
    }
}

/// One use of a module by another, where it is written.
#[derive(Debug, Clone)]
struct Edge {
    from: String,
    to: String,
    at: String,
    torch_only: bool,
}

/// A file as one crate compiles it: under which module path and whether only torch builds do.
struct Mounted {
    file: PathBuf,
    module: Vec<String>,
    torch_only: bool,
    scanned: FileScan,
}

/// Every file mounted from `root_file` (recursively through `mod` declarations), scanned.
fn mount(root: Root, root_file: &Path) -> Vec<Mounted> {
    let mut out = Vec::new();
    let mut queue = vec![(root_file.to_path_buf(), Vec::<String>::new(), false, true)];
    while let Some((file, module, torch_only, mod_rs)) = queue.pop() {
        let scanned = scan(&file, root, &module, torch_only, mod_rs);
        for decl in &scanned.mods {
            let child_mod_rs = decl.explicit_path || decl.file.file_name().is_some_and(|n| n == "mod.rs");
            let path = module.iter().cloned().chain([decl.name.clone()]).collect();
            queue.push((decl.file.clone(), path, decl.torch_only, child_mod_rs));
        }
        out.push(Mounted { file, module, torch_only, scanned });
    }
    out
}

/// The module of the table a file belongs to by where it lies (`src/run/jobs.rs` → `run`).
fn home_of(src: &Path, file: &Path) -> String {
    let first = file.strip_prefix(src).unwrap().components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    match first.trim_end_matches(".rs") {
        "main" => "cli".to_string(),
        other => other.to_string(),
    }
}

/// The module of the table that code mounted at `module` in `root` belongs to.
fn owner(root: Root, module: &[String]) -> Option<String> {
    match root {
        Root::Head => Some("cli".into()),
        Root::Worker => Some("worker".into()),
        Root::Library => module.first().cloned(),
    }
}

/// Every edge between modules of the table in `src/`, and the library's modules that only
/// torch builds compile (`evaluate`, `train::trainer`, …) as module paths.
fn code_edges(src: &Path) -> (Vec<Edge>, BTreeSet<Vec<String>>) {
    let mut edges = Vec::new();
    let mut torch_modules = BTreeSet::new();
    let library = mount(Root::Library, &src.join("lib.rs"));
    let top: BTreeSet<String> = library.iter().filter(|m| m.module.len() == 1).map(|m| m.module[0].clone()).collect();
    let mounted = library
        .into_iter()
        .map(|m| (Root::Library, m))
        .chain(mount(Root::Head, &src.join("main.rs")).into_iter().map(|m| (Root::Head, m)))
        .chain(mount(Root::Worker, &src.join("worker/main.rs")).into_iter().map(|m| (Root::Worker, m)));
    for (root, Mounted { file, module, torch_only, scanned }) in mounted {
        let Some(from) = owner(root, &module) else { continue };
        // The worker binary requires the torch feature (Cargo.toml), so all its code is torch code.
        let torch_code = torch_only || root == Root::Worker;
        if root == Root::Library && torch_only {
            torch_modules.insert(module.clone());
        }
        let shown = file.strip_prefix(src.parent().unwrap()).unwrap_or(&file).to_path_buf();
        let at = |line: usize| format!("{}:{line}", shown.display());
        for decl in scanned.mods.iter().filter(|d| d.explicit_path) {
            let to = home_of(src, &decl.file);
            if to != from {
                edges.push(Edge {
                    from: from.clone(),
                    to,
                    at: at(decl.line),
                    torch_only: torch_code || decl.torch_only,
                });
            }
        }
        for reference in &scanned.references {
            let to = match reference.root {
                Root::Library => match reference.path.first() {
                    Some(name) if top.contains(name) => name.clone(),
                    // The re-exported workspace crates (`xnas::moo`) and the library root's own items.
                    _ => continue,
                },
                other => owner(other, &reference.path).unwrap(),
            };
            if to != from {
                let torch_only = torch_code || reference.torch_only;
                edges.push(Edge { from: from.clone(), to, at: at(reference.line), torch_only });
            }
        }
    }
    (edges, torch_modules)
}

/// How much of a module needs the `torch` feature, as the table's last column says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Torch {
    No,
    Part,
    All,
}

#[derive(Debug)]
struct Row {
    may_use: BTreeSet<String>,
    torch_code_may_use: BTreeSet<String>,
    torch: Torch,
}

/// The table of allowed edges in docs/architecture.md: module → its row.
fn read_table(text: &str) -> BTreeMap<String, Row> {
    let mut lines = text.lines().skip_while(|l| l.trim() != TABLE_HEADER);
    assert!(lines.next().is_some(), "{ARCHITECTURE} has no table starting with `{TABLE_HEADER}`");
    let names = |cell: &str| -> BTreeSet<String> {
        cell.split(',').map(|n| n.trim().trim_matches('`').to_string()).filter(|n| !n.is_empty() && n != "—").collect()
    };
    let mut table = BTreeMap::new();
    for line in lines.skip(1).take_while(|l| l.trim_start().starts_with('|')) {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        let [module, may_use, torch_code, torch] = cells[..] else {
            panic!("{ARCHITECTURE}: a row of the edge table needs four cells: {line}")
        };
        let torch = match torch {
            "no" => Torch::No,
            "part" => Torch::Part,
            "all" => Torch::All,
            other => panic!("{ARCHITECTURE}: `needs torch` is no, part or all, not {other:?} ({line})"),
        };
        let row = Row { may_use: names(may_use), torch_code_may_use: names(torch_code), torch };
        table.insert(module.trim_matches('`').to_string(), row);
    }
    table
}

/// Every rule of the table checked against the code; the list of what is wrong.
fn violations(table: &BTreeMap<String, Row>, edges: &[Edge], torch_modules: &BTreeSet<Vec<String>>) -> Vec<String> {
    let mut wrong = Vec::new();
    // The table itself: known names, the head/worker rule, and one direction.
    for (module, row) in table {
        for used in row.may_use.iter().chain(&row.torch_code_may_use) {
            match table.get(used) {
                None => wrong.push(format!("table: {module} may use {used}, which is not a row of the table")),
                Some(other) if other.torch == Torch::All && row.torch != Torch::All && row.may_use.contains(used) => {
                    wrong.push(format!(
                        "table: {module} (built into the head without torch) may use {used}, which needs torch; \
                         list it under `its torch code may also use`, for code behind #[cfg(feature = \"torch\")]"
                    ))
                }
                Some(_) => {}
            }
        }
    }
    if let Some(cycle) =
        find_cycle(table.iter().map(|(m, r)| (m.clone(), r.may_use.union(&r.torch_code_may_use).cloned().collect())))
    {
        wrong.push(format!("table: the allowed edges form a cycle: {}", cycle.join(" → ")));
    }
    // The torch column against the code's #[cfg(feature = "torch")] gates.
    for (module, row) in table {
        let code = match module.as_str() {
            "cli" => Torch::No,
            "worker" => Torch::All,
            _ if torch_modules.contains(&vec![module.clone()]) => Torch::All,
            _ if torch_modules.iter().any(|m| m.first() == Some(module)) => Torch::Part,
            _ => Torch::No,
        };
        if code != row.torch {
            wrong.push(format!(
                "table: {module} needs torch {:?} by the code's cfg gates, the table says {:?}",
                code, row.torch
            ));
        }
    }
    // Every edge of the code in the table, and every entry of the table used by some edge.
    let mut used = BTreeSet::new();
    for edge in edges {
        let Some(row) = table.get(&edge.from) else {
            wrong.push(format!("{}: module {} is not a row of the table in {ARCHITECTURE}", edge.at, edge.from));
            continue;
        };
        let allowed = row.may_use.contains(&edge.to) || (edge.torch_only && row.torch_code_may_use.contains(&edge.to));
        if allowed {
            used.insert((edge.from.clone(), edge.to.clone()));
        } else if row.torch_code_may_use.contains(&edge.to) {
            wrong.push(format!(
                "{}: {} → {} outside #[cfg(feature = \"torch\")]: the head compiles this without torch, and {} needs it",
                edge.at, edge.from, edge.to, edge.to
            ));
        } else {
            wrong.push(format!(
                "{}: {} → {} is not an allowed edge (table in {ARCHITECTURE})",
                edge.at, edge.from, edge.to
            ));
        }
    }
    for (module, row) in table {
        for to in row.may_use.iter().chain(&row.torch_code_may_use) {
            if !used.contains(&(module.clone(), to.clone())) {
                wrong.push(format!(
                    "table: {module} → {to} is allowed but no code uses it; remove it from {ARCHITECTURE}"
                ));
            }
        }
    }
    wrong
}

/// A cycle in a directed graph, as the nodes along it, if there is one.
fn find_cycle(graph: impl IntoIterator<Item = (String, BTreeSet<String>)>) -> Option<Vec<String>> {
    let graph: BTreeMap<String, BTreeSet<String>> = graph.into_iter().collect();
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|p| p == node) {
            return Some(path[start..].iter().cloned().chain([node.to_string()]).collect());
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(node, &graph, &mut Vec::new(), &mut done))
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_edge_between_modules_is_in_the_architecture_table() {
    let table = read_table(&std::fs::read_to_string(manifest_dir().join(ARCHITECTURE)).unwrap());
    let src = manifest_dir().join("src");
    let (edges, torch_modules) = code_edges(&src);
    for entry in std::fs::read_dir(&src).unwrap() {
        let module = home_of(&src, &entry.unwrap().path());
        assert!(
            module == "lib" || table.contains_key(&module),
            "src/{module} is not a row of the table in {ARCHITECTURE}"
        );
    }
    assert!(table.len() >= 12 && edges.len() >= 50, "read {} rows and {} edges", table.len(), edges.len());
    let wrong = violations(&table, &edges, &torch_modules);
    assert!(wrong.is_empty(), "the code and the table of allowed edges disagree:\n{}", wrong.join("\n"));
}

#[test]
fn the_modules_of_each_workspace_crate_form_no_cycle() {
    let crates = manifest_dir().join("crates");
    let mut checked = 0;
    for entry in std::fs::read_dir(&crates).unwrap() {
        let src = entry.unwrap().path().join("src");
        let mounted = mount(Root::Library, &src.join("lib.rs"));
        // `crate::WordNetError` names `error`'s type through the root's `pub use error::WordNetError`.
        let reexported: BTreeMap<&String, &String> = mounted
            .iter()
            .filter(|m| m.module.is_empty())
            .flat_map(|m| &m.scanned.references)
            .filter(|r| r.path.len() >= 2)
            .map(|r| (r.path.last().unwrap(), &r.path[0]))
            .collect();
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for Mounted { module, scanned, .. } in &mounted {
            let Some(from) = module.first() else { continue };
            let uses = graph.entry(from.clone()).or_default();
            for reference in scanned.references.iter().filter(|r| r.root == Root::Library) {
                let Some(first) = reference.path.first() else { continue };
                let to = reexported.get(first).copied().unwrap_or(first);
                if to != from {
                    uses.insert(to.clone());
                }
            }
        }
        // Names that are neither modules nor re-exports are leaves and close no cycle.
        if let Some(cycle) = find_cycle(graph) {
            let shown = src.strip_prefix(manifest_dir()).unwrap_or(&src);
            panic!("{}: its modules form a cycle: {}", shown.display(), cycle.join(" → "));
        }
        checked += 1;
    }
    assert!(checked >= 6, "checked {checked} crates under {}", crates.display());
}

#[test]
fn the_reader_resolves_groups_super_self_and_torch_gates() {
    let dir = std::env::temp_dir().join(format!("xnas-layers-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("run")).unwrap();
    let file = dir.join("run/early.rs");
    std::fs::write(
        &file,
        "use crate::{record::A, store::{B, C}};\n\
         // crate::cli::no\n\
         let s = \"crate::exec::no\"; let r = r#\"crate::exec::no\"#; let c = '{';\n\
         mod tests {\n    use super::super::jobs;\n    use super::*;\n}\n\
         #[cfg(feature = \"torch\")]\nfn f() { crate::evaluate::x(); }\n\
         #[cfg(feature = \"torch\")]\npub use crate::nn::{A, B};\n\
         fn g() { self::h(); crate::report::y() }\n\
         #[path = \"../cli/process.rs\"]\nmod process;\n\
         pub(crate) fn h() {}\n",
    )
    .unwrap();
    let scanned = scan(&file, Root::Library, &["run".into(), "early".into()], false, false);
    let seen: Vec<(String, usize, bool)> =
        scanned.references.iter().map(|r| (r.path.join("::"), r.line, r.torch_only)).collect();
    let expected = [
        ("record::A", 1, false),
        ("store::B", 1, false),
        ("store::C", 1, false),
        ("run::jobs", 5, false),
        ("run::early", 6, false),
        ("evaluate::x", 9, true),
        ("nn::A", 11, true),
        ("nn::B", 11, true),
        ("run::early::h", 12, false),
        ("report::y", 12, false),
    ];
    let expected: Vec<(String, usize, bool)> = expected.iter().map(|&(p, l, t)| (p.to_string(), l, t)).collect();
    assert_eq!(seen, expected);
    assert_eq!(scanned.mods.len(), 1);
    assert_eq!(scanned.mods[0].file, normalise(&dir.join("cli/process.rs")));
    assert!(scanned.mods[0].explicit_path && scanned.mods[0].line == 14);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_table_rules_catch_a_forbidden_edge_a_torch_edge_and_a_stale_entry() {
    let table = read_table(&format!(
        "{TABLE_HEADER}\n|---|---|---|---|\n\
         | `run` | `store` | `evaluate` | no |\n| `store` | — | — | no |\n| `exec` | — | — | no |\n\
         | `evaluate` | `store` | — | all |\n"
    ));
    let edge = |from: &str, to: &str, torch_only: bool| Edge {
        from: from.into(),
        to: to.into(),
        at: format!("src/{from}/x.rs:1"),
        torch_only,
    };
    let torch_modules = BTreeSet::from([vec!["evaluate".to_string()]]);
    let fine = [edge("run", "store", false), edge("run", "evaluate", true), edge("evaluate", "store", true)];
    assert_eq!(violations(&table, &fine, &torch_modules), Vec::<String>::new());
    let wrong = violations(
        &table,
        &[edge("run", "store", false), edge("run", "evaluate", false), edge("exec", "store", false)],
        &torch_modules,
    );
    assert!(wrong.iter().any(|w| w.starts_with("src/run/x.rs:1: run → evaluate outside #[cfg")), "{wrong:?}");
    assert!(wrong.iter().any(|w| w.starts_with("src/exec/x.rs:1: exec → store is not an allowed edge")), "{wrong:?}");
    assert!(wrong.iter().any(|w| w.contains("evaluate → store is allowed but no code uses it")), "{wrong:?}");
    let head_reaches_torch = read_table(&format!(
        "{TABLE_HEADER}\n|---|---|---|---|\n| `run` | `evaluate` | — | no |\n| `evaluate` | — | — | all |\n"
    ));
    let wrong = violations(&head_reaches_torch, &[edge("run", "evaluate", false)], &torch_modules);
    assert!(wrong.iter().any(|w| w.contains("run (built into the head without torch) may use evaluate")), "{wrong:?}");
}
