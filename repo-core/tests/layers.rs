//! The crates read bottom-up: each top-level module of `repo-core/src` and `repo-derive/src`
//! (a file or folder directly under `src`) names only modules of its own layer or below, and no
//! two modules name each other, directly or in a circle. A module that needs something from a
//! higher one gets it through a trait or a function argument defined below.
//!
//! The check reads the sources: every `crate::<module>` (and `$crate::<module>` in macros)
//! outside comments and string literals is an import of that module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `repo-core`'s layers, bottom first; the README's "Layout" describes each.
const CORE: &[(&str, &[&str])] = &[
    (
        "values",
        &[
            "storage",
            "dialect",
            "schema_difference",
            "schema_description",
            "error",
            "value",
            "row",
            "field",
            "field_types",
            "from_row",
            "conflict_action",
            "order",
            "filter",
            "text",
            "keys",
            "aggregate",
            "retry",
            "telemetry",
        ],
    ),
    ("entity", &["entity", "conflict", "new_entity"]),
    ("statements", &["statements", "page", "cursor", "schema"]),
    ("backend", &["backend"]),
    (
        "execution",
        &[
            "read_cache",
            "settings",
            "session",
            "db",
            "exec",
            "transaction",
        ],
    ),
    ("repository", &["repository"]),
    (
        "features",
        &["audit", "cache", "lease", "migration", "setup", "verify"],
    ),
];

/// `repo-derive`'s layers: the attribute grammar, the models read from it, the rules a model
/// must keep, generation.
const DERIVE: &[(&str, &[&str])] = &[
    ("diagnostics", &["ctxt"]),
    ("grammar", &["attr"]),
    ("model", &["ast"]),
    ("checks", &["valid"]),
    ("generation", &["expand"]),
];

#[test]
fn repo_core_reads_bottom_up() {
    check(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), CORE);
}

/// Statements are built without I/O: nothing in their layer names the driver.
#[test]
fn statements_name_no_driver() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layer = CORE
        .iter()
        .find(|(name, _)| *name == "statements")
        .map(|(_, modules)| *modules)
        .unwrap_or_default();
    let mut found = Vec::new();
    for module in layer {
        let dir = src.join(module);
        let files = if dir.is_dir() {
            rust_files(&dir)
        } else {
            vec![src.join(format!("{module}.rs"))]
        };
        for file in files {
            let code = code_only(&std::fs::read_to_string(&file).unwrap());
            for (n, line) in code.lines().enumerate() {
                if line.contains("sqlx") {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the statements layer names the driver:\n{}",
        found.join("\n")
    );
}

#[test]
fn repo_derive_reads_bottom_up() {
    check(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../repo-derive/src"),
        DERIVE,
    );
}

#[test]
fn an_upward_import_is_reported() {
    let graph = BTreeMap::from([
        ("low".to_owned(), BTreeSet::from(["high".to_owned()])),
        ("high".to_owned(), BTreeSet::new()),
    ]);
    let layers: &[(&str, &[&str])] = &[("bottom", &["low"]), ("top", &["high"])];
    let problems = problems(&graph, layers);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("`low` (bottom) imports `high` (top)"));

    let circle = BTreeMap::from([
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]);
    let layers: &[(&str, &[&str])] = &[("one", &["a", "b"])];
    let problems = self::problems(&circle, layers);
    assert!(
        problems.iter().any(|p| p.contains("circle")),
        "{problems:?}"
    );
}

fn check(src: &Path, layers: &[(&str, &[&str])]) {
    let graph = imports(src);
    let problems = problems(&graph, layers);
    assert!(
        problems.is_empty(),
        "{} breaks its layers:\n{}",
        src.display(),
        problems.join("\n")
    );
}

/// What is wrong with `graph` under `layers`: modules no layer lists, imports of a higher
/// layer, and circles.
fn problems(graph: &BTreeMap<String, BTreeSet<String>>, layers: &[(&str, &[&str])]) -> Vec<String> {
    let layer_of = |module: &str| {
        layers
            .iter()
            .position(|(_, modules)| modules.contains(&module))
    };
    let mut problems = Vec::new();
    for (module, imported) in graph {
        let Some(own) = layer_of(module) else {
            problems.push(format!("`{module}` is in no layer: add it to one"));
            continue;
        };
        for other in imported {
            match layer_of(other) {
                Some(theirs) if theirs > own => problems.push(format!(
                    "`{module}` ({}) imports `{other}` ({})",
                    layers[own].0, layers[theirs].0
                )),
                _ => {}
            }
        }
    }
    if let Some(circle) = circle(graph) {
        problems.push(format!("import circle: {}", circle.join(" -> ")));
    }
    problems
}

/// A circle of imports, if there is one.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut circle = path[start..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

/// Each top-level module of `src` and the other top-level modules it names.
fn imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut modules: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(src).expect("a source folder") {
        let path = entry.expect("a readable folder").path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a file name")
            .to_owned();
        if name == "lib" || name == "main" {
            continue;
        }
        let files = modules.entry(name).or_default();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(module, files)| {
            let mut imported = BTreeSet::new();
            for file in files {
                let code = code_only(&std::fs::read_to_string(file).expect("a readable file"));
                for other in crate_paths(&code) {
                    if other != *module && names.contains(&other) {
                        imported.insert(other);
                    }
                }
            }
            (module.clone(), imported)
        })
        .collect()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a readable folder") {
        let path = entry.expect("a readable entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The first path segment after every `crate::`, and after `crate::{` each segment it groups.
fn crate_paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let mut from = 0;
    while let Some(at) = code[from..].find("crate::") {
        let start = from + at;
        from = start + "crate::".len();
        // `crate` as a word: not the end of `mycrate::`; `$crate::` counts.
        if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            continue;
        }
        let rest = &code[from..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = matching_brace(group);
            for part in group[..end].split(',') {
                if let Some(word) = first_word(part.trim()) {
                    found.push(word);
                }
            }
        } else if let Some(word) = first_word(rest) {
            found.push(word);
        }
    }
    found
}

fn first_word(text: &str) -> Option<String> {
    let word: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!word.is_empty()).then_some(word)
}

fn matching_brace(text: &str) -> usize {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
    }
    text.len()
}

/// `source` without comments and the contents of string and character literals, which may
/// mention a module without importing it.
fn code_only(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let chars: Vec<char> = source.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && is_raw_string(&chars, i) {
            // r"..." or r#"..."#
            let mut hashes = 0;
            i += 1;
            while chars.get(i) == Some(&'#') {
                hashes += 1;
                i += 1;
            }
            i += 1;
            while i < chars.len() {
                if chars[i] == '"' && (0..hashes).all(|k| chars.get(i + 1 + k) == Some(&'#')) {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && is_char_literal(&chars, i) {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_raw_string(chars: &[char], i: usize) -> bool {
    let before_ok = i == 0 || !(chars[i - 1].is_ascii_alphanumeric() || chars[i - 1] == '_');
    let mut j = i + 1;
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    before_ok && chars.get(j) == Some(&'"')
}

/// A `'` opening a character literal (`'a'`, `'\n'`), not a lifetime (`'a`).
fn is_char_literal(chars: &[char], i: usize) -> bool {
    matches!(
        (chars.get(i + 1), chars.get(i + 2)),
        (Some('\\'), _) | (Some(_), Some('\''))
    )
}
