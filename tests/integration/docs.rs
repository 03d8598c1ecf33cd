//! The documentation holds together: every relative link of `README.md` and `docs/` names a file
//! that exists, and a `#anchor` into a Markdown page names one of its headings (GitHub's slugs), so
//! a moved page or a renamed heading fails here rather than in a reader's browser. The guide's
//! index lists every page of the guide, and the README stays short enough to read in five minutes.
//! No libtorch needed: `cargo test --no-default-features --test integration -- docs`.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The README's budget in lines: past it, detail belongs on a page of `docs/guide/`.
const README_MAX_LINES: usize = 150;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh directory under the system's temp dir, unique to this process and call.
fn temp_dir(tag: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "xnas-docs-{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `README.md` and every `.md` file under `docs/` of `root`, sorted.
fn markdown_files(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut files = vec![root.join("README.md")];
    walk(&root.join("docs"), &mut files);
    files.sort();
    files
}

/// The lines a reader sees as prose: outside fenced code blocks, with inline code spans removed
/// (also one wrapped over two lines of a paragraph), since a `[x](y)` inside code is no link.
fn prose_lines(text: &str) -> Vec<String> {
    let mut in_fence = false;
    let mut in_code_span = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            in_code_span = false;
            continue;
        }
        if in_fence {
            continue;
        }
        if trimmed.is_empty() {
            in_code_span = false;
        }
        let mut prose = String::new();
        for (i, part) in line.split('`').enumerate() {
            if i > 0 {
                in_code_span = !in_code_span;
            }
            if !in_code_span {
                prose.push_str(part);
            }
        }
        lines.push(prose);
    }
    lines
}

/// The destinations of the inline links and images of a Markdown text (`[text](dest)`,
/// `![alt](dest "title")`), as written.
fn link_destinations(text: &str) -> Vec<String> {
    let mut destinations = Vec::new();
    for line in prose_lines(text) {
        let mut rest = line.as_str();
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            // Balanced parentheses, as CommonMark allows in a destination.
            let mut depth = 0usize;
            let end = after
                .char_indices()
                .find(|&(_, c)| match c {
                    '(' => {
                        depth += 1;
                        false
                    }
                    ')' if depth == 0 => true,
                    ')' => {
                        depth -= 1;
                        false
                    }
                    _ => false,
                })
                .map_or(after.len(), |(i, _)| i);
            let destination = after[..end].split_whitespace().next().unwrap_or("");
            destinations.push(destination.trim_matches(|c| c == '<' || c == '>').to_string());
            rest = &after[end..];
        }
    }
    destinations
}

/// Links that leave the repository: the check cannot and need not follow them.
fn is_external(destination: &str) -> bool {
    destination.contains("://") || destination.starts_with("mailto:")
}

/// GitHub's anchor for a heading: lower case, letters, digits, `-` and `_` kept, each space a
/// `-`, everything else (punctuation, symbols, the backticks and stars of inline markup) dropped.
fn github_slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown page's ATX headings; a repeated slug gets `-1`, `-2`, … as on GitHub.
fn heading_anchors(text: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    for line in text.lines().scan(false, |in_fence, line| {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            *in_fence = !*in_fence;
            return Some(None);
        }
        Some((!*in_fence).then_some(line))
    }) {
        let Some(line) = line else { continue };
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let title = line[hashes..].trim().trim_end_matches('#').trim();
        // A link in a heading reads as its text.
        let title: String = title
            .split("](")
            .enumerate()
            .map(|(i, part)| if i == 0 { part } else { part.split_once(')').map_or(part, |(_, after)| after) })
            .collect();
        let slug = github_slug(&title);
        let mut unique = slug.clone();
        let mut n = 0;
        while !anchors.insert(unique.clone()) {
            n += 1;
            unique = format!("{slug}-{n}");
        }
    }
    anchors
}

/// `path` with `.` and `..` resolved lexically, so a target reads as `docs/img/x.svg`.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Every relative link of `files` (under `root`) whose file is missing, or whose anchor names no
/// heading of the Markdown page it points into: one line each, naming the file, the link and the
/// missing target.
fn broken_links(root: &Path, files: &[PathBuf]) -> Vec<String> {
    let shown = |path: &Path| path.strip_prefix(root).unwrap_or(path).display().to_string();
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        for destination in link_destinations(&text) {
            if destination.is_empty() || is_external(&destination) {
                continue;
            }
            let (path_part, anchor) = match destination.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (destination.as_str(), None),
            };
            let target = if path_part.is_empty() {
                file.clone()
            } else if let Some(from_root) = path_part.strip_prefix('/') {
                root.join(from_root)
            } else {
                normalise(&file.parent().unwrap().join(path_part))
            };
            if !target.exists() {
                problems.push(format!(
                    "{}: link ({destination}) names {}, which does not exist",
                    shown(file),
                    shown(&target)
                ));
                continue;
            }
            let Some(anchor) = anchor else { continue };
            if target.extension().is_none_or(|e| e != "md") {
                continue;
            }
            let anchors = heading_anchors(&std::fs::read_to_string(&target).unwrap());
            if !anchors.contains(anchor) {
                problems.push(format!(
                    "{}: link ({destination}) names the anchor #{anchor}, which no heading of {} has \
                     (its anchors: {})",
                    shown(file),
                    shown(&target),
                    anchors.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    problems
}

#[test]
fn every_relative_link_of_the_readme_and_docs_resolves() {
    let root = repo();
    let files = markdown_files(&root);
    assert!(files.len() > 3, "README.md and docs/ hold the documentation; found only {files:?}");
    let problems = broken_links(&root, &files);
    assert!(
        problems.is_empty(),
        "{} broken link(s); fix the link, or the file or heading it names:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn a_missing_file_or_heading_is_reported_with_the_file_the_link_and_the_target() {
    let root = temp_dir("broken");
    std::fs::create_dir_all(root.join("docs/guide")).unwrap();
    std::fs::write(root.join("docs/guide/page.md"), "# A page\n\n## What it holds\n\n```sh\n# not a heading\n```\n")
        .unwrap();
    std::fs::write(
        root.join("README.md"),
        "# Title\n\n\
         Good: [the page](docs/guide/page.md), [its section](docs/guide/page.md#what-it-holds),\n\
         [here](#title) and ![a figure](docs/guide/page.md \"title\"). Ignored: [site](https://example.org/x.md),\n\
         [mail](mailto:a@b.c), `[in code](nowhere.md)`, `code wrapped\n\
         [over lines](nowhere.md)` and, broken, [after it](docs/guide/after.md), and\n\n```\n[in a block](nowhere.md)\n```\n\n\
         Broken: [gone](docs/guide/gone.md), [no heading](docs/guide/page.md#not-a-heading).\n",
    )
    .unwrap();
    let problems = broken_links(&root, &markdown_files(&root));
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert_eq!(problems[0], "README.md: link (docs/guide/after.md) names docs/guide/after.md, which does not exist");
    assert_eq!(problems[1], "README.md: link (docs/guide/gone.md) names docs/guide/gone.md, which does not exist");
    assert!(
        problems[2].starts_with(
            "README.md: link (docs/guide/page.md#not-a-heading) names the anchor #not-a-heading, \
             which no heading of docs/guide/page.md has (its anchors: a-page, what-it-holds)"
        ),
        "{}",
        problems[2]
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn heading_anchors_follow_githubs_slugs() {
    assert_eq!(
        github_slug("The paper's Table 1 at the quickstart's budget"),
        "the-papers-table-1-at-the-quickstarts-budget"
    );
    assert_eq!(
        github_slug("Trust and debugging (figures 5–8, appendices C, D, K)"),
        "trust-and-debugging-figures-58-appendices-c-d-k"
    );
    assert_eq!(github_slug("Several runs side by side, and ✓+reg"), "several-runs-side-by-side-and-reg");
    let anchors = heading_anchors("# `xnas report`\n## Notes\n## Notes ##\n### [Ray](https://ray.io) clusters\n");
    let expected: BTreeSet<String> =
        ["xnas-report", "notes", "notes-1", "ray-clusters"].into_iter().map(String::from).collect();
    assert_eq!(anchors, expected);
}

#[test]
fn the_guide_index_lists_every_page_of_the_guide() {
    let guide = repo().join("docs/guide");
    let index = std::fs::read_to_string(guide.join("README.md")).unwrap();
    let linked: BTreeSet<String> =
        link_destinations(&index).into_iter().map(|d| d.split('#').next().unwrap().to_string()).collect();
    let unlisted: Vec<String> = std::fs::read_dir(&guide)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md") && name != "README.md" && !linked.contains(name))
        .collect();
    assert!(unlisted.is_empty(), "docs/guide/README.md does not list {unlisted:?}: add a row for each to its table");
}

#[test]
fn the_readme_stays_a_five_minute_read() {
    let lines = std::fs::read_to_string(repo().join("README.md")).unwrap().lines().count();
    assert!(
        lines < README_MAX_LINES,
        "README.md has {lines} lines, the budget is under {README_MAX_LINES}: move the detail to its page \
         of docs/guide/ (listed in docs/guide/README.md) and link it"
    );
}
