//! The crate's layout, checked: its top-level modules form layers, each
//! importing only from the layers below it (so there are no import
//! cycles), and no source file grows past what one reader can hold.
//!
//! The layers, lowest first, are listed in `LAYERS`; a module missing from
//! the list fails the test, so a new module has to be placed on purpose.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Top-level modules of `src/`, lowest layer first. A module may use only
/// the modules of the layers before its own (modules of one layer may not
/// use each other).
///
/// - `project` extracts fields from raw JSON bytes and knows nothing of
///   exports, so it sits below `model`, whose `Entity::get` uses it;
/// - `json` (structural index, walk, streaming validator) reads keys
///   through the key table of `model`;
/// - `report` counts entities; `decode` turns one record into an entity;
/// - `io` gives bytes, `frame` cuts them into records, `read` is the
///   sequential entity API, `engine` the parallel one;
/// - the jobs and sinks sit on top, beside the export API's `client` and
///   the import validator (`import`);
/// - `convert` (export to import files) and `tables` (per-kind NDJSON,
///   CSV, Parquet) use the filter and the output; `stats` composes with
///   `filter`.
const LAYERS: &[&[&str]] = &[
    &["error", "hash"],
    &["project"],
    &["model"],
    &["json"],
    &["report"],
    &["decode"],
    &["io"],
    &["frame"],
    &["read"],
    &["engine"],
    &["filter", "summary", "output", "client", "import"],
    &["convert", "stats", "tables"],
];

/// The longest source file accepted, in lines.
const MAX_LINES: usize = 800;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None`: the crate
/// root, or a binary).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    if first == "lib.rs" || first == "bin" {
        return None;
    }
    Some(first.trim_end_matches(".rs").to_string())
}

/// Where a file's unit-test module begins (`#[cfg(test)]` then a line
/// declaring `mod tests`), if it has one inline.
fn tests_start(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find("#[cfg(test)]\n") {
        let at = from + i;
        let next = text[at + "#[cfg(test)]\n".len()..]
            .lines()
            .next()
            .unwrap_or("");
        if next.contains("mod tests") {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The top-level modules a file names through `crate::`, outside its unit
/// tests (which may reach anywhere) and outside files that are test
/// modules themselves (`tests.rs`).
fn crate_refs(text: &str) -> Vec<String> {
    let code = match tests_start(text) {
        Some(at) => &text[..at],
        None => text,
    };
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push(name);
        }
        // `use crate::{a, b::c}`: every top-level name in the braces.
        if rest.starts_with('{') {
            let end = rest.find('}').unwrap_or(rest.len());
            let mut depth = 0;
            let mut item = String::new();
            for c in rest[1..].chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        push_head(&item, &mut out);
                        item.clear();
                    }
                    _ => item.push(c),
                }
            }
            push_head(&item, &mut out);
            rest = &rest[end.min(rest.len())..];
        }
    }
    out
}

fn push_head(item: &str, out: &mut Vec<String>) {
    let head: String = item
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if !head.is_empty() && head != "self" {
        out.push(head);
    }
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

#[test]
fn modules_import_only_from_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let modules: Vec<String> = files.iter().filter_map(|f| module_of(&src, f)).collect();
    let mut problems = Vec::new();
    for module in &modules {
        if layer_of(module).is_none() {
            problems.push(format!("module `{module}` is in no layer of LAYERS"));
        }
    }
    // Edges between top-level modules, with one file that makes each.
    let mut edges: BTreeMap<(String, String), PathBuf> = BTreeMap::new();
    for file in &files {
        let Some(from) = module_of(&src, file) else {
            continue;
        };
        if file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let text = fs::read_to_string(file).unwrap();
        for to in crate_refs(&text) {
            if to != from && modules.contains(&to) {
                edges
                    .entry((from.clone(), to))
                    .or_insert_with(|| file.clone());
            }
        }
    }
    for ((from, to), file) in &edges {
        if let (Some(a), Some(b)) = (layer_of(from), layer_of(to))
            && b >= a
        {
            problems.push(format!(
                "`{from}` (layer {a}) uses `{to}` (layer {b}), in {}",
                file.strip_prefix(&src).unwrap().display()
            ));
        }
    }
    assert!(problems.is_empty(), "layering:\n{}", problems.join("\n"));
}

#[test]
fn no_source_file_is_too_long() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("cli/src"), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = fs::read_to_string(f).unwrap().lines().count();
            (lines > MAX_LINES).then(|| format!("{}: {lines} lines", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_reference_scanner_sees_braced_imports() {
    let refs = crate_refs("use crate::{a::B, c, d::{e, f}};\nfn x() { crate::g::h(); }");
    assert_eq!(refs, ["a", "c", "d", "g"]);
}
