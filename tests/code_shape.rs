//! The code's shape, measured from the source files alone (no emulator): no production function
//! over 100 lines, no production file over 500 lines, and no circle among the top-level modules
//! of the CLI crate (`crate::a` using `crate::b` using `crate::a`). Test code does not count:
//! `#[cfg(test)] mod … { }` blocks, files under a `tests/` directory, files named `tests.rs`.
//!
//! A function runs from its `fn` line to the line that closes its body, braces counted outside
//! comments, strings and character literals (as /work/notes/fnlen.py measures).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FUNCTION_LINES: usize = 100;
const MAX_FILE_LINES: usize = 500;
const PRODUCTION: &[&str] = &[
    "src",
    "handlers/core/src",
    "handlers/lambda/src",
    "testkit/src",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every production `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if name != "tests" {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            out.push(path);
        }
    }
}

/// Per line, the change of brace depth it makes, braces in comments, strings and character
/// literals left out.
fn brace_deltas(text: &str) -> Vec<(i32, bool)> {
    #[derive(PartialEq)]
    enum In {
        Code,
        Block(usize),
        Str,
        Raw(usize),
    }
    let mut state = In::Code;
    let mut out = Vec::new();
    for line in text.lines() {
        let chars: Vec<char> = line.chars().collect();
        let (mut delta, mut opened, mut i) = (0, false, 0);
        while i < chars.len() {
            let (c, next) = (chars[i], chars.get(i + 1).copied());
            match state {
                In::Block(depth) => match (c, next) {
                    ('*', Some('/')) => {
                        state = if depth == 1 {
                            In::Code
                        } else {
                            In::Block(depth - 1)
                        };
                        i += 1;
                    }
                    ('/', Some('*')) => {
                        state = In::Block(depth + 1);
                        i += 1;
                    }
                    _ => {}
                },
                In::Str => match c {
                    '\\' => i += 1,
                    '"' => state = In::Code,
                    _ => {}
                },
                In::Raw(hashes) => {
                    if c == '"'
                        && chars[i + 1..].iter().take_while(|h| **h == '#').count() >= hashes
                    {
                        state = In::Code;
                        i += hashes;
                    }
                }
                In::Code => match (c, next) {
                    ('/', Some('/')) => break,
                    ('/', Some('*')) => {
                        state = In::Block(1);
                        i += 1;
                    }
                    ('"', _) => state = In::Str,
                    ('r', Some('"' | '#')) if i == 0 || !is_ident(chars[i - 1]) => {
                        let hashes = chars[i + 1..].iter().take_while(|h| **h == '#').count();
                        if chars.get(i + 1 + hashes) == Some(&'"') {
                            state = In::Raw(hashes);
                            i += 1 + hashes;
                        }
                    }
                    ('\'', _) => i += char_literal(&chars[i..]),
                    ('{', _) => {
                        delta += 1;
                        opened = true;
                    }
                    ('}', _) => delta -= 1,
                    _ => {}
                },
            }
            i += 1;
        }
        out.push((delta, opened));
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// How many characters after the opening quote a character literal takes (0 for a lifetime).
fn char_literal(rest: &[char]) -> usize {
    match rest {
        ['\'', '\\', _, ..] => rest[3..]
            .iter()
            .position(|c| *c == '\'')
            .map_or(0, |p| p + 3),
        ['\'', _, '\'', ..] => 2,
        _ => 0,
    }
}

/// Whether `line` starts a function: `[pub[(…)]] [const] [async] [unsafe] fn name`.
fn starts_fn(line: &str) -> bool {
    let mut rest = line.trim_start();
    if let Some(r) = rest.strip_prefix("pub") {
        rest = match r.strip_prefix('(') {
            Some(r) => match r.find(')') {
                Some(end) => &r[end + 1..],
                None => return false,
            },
            None => r,
        };
        if !rest.starts_with(char::is_whitespace) {
            return false;
        }
        rest = rest.trim_start();
    }
    for word in ["const", "async", "unsafe"] {
        if let Some(r) = rest.strip_prefix(word) {
            if r.starts_with(char::is_whitespace) {
                rest = r.trim_start();
            }
        }
    }
    rest.strip_prefix("fn")
        .is_some_and(|r| r.starts_with(char::is_whitespace) && r.trim_start().starts_with(is_ident))
}

/// A file's production lines: every line but those of `#[cfg(test)] mod … { }` blocks.
fn production_lines(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    let deltas = brace_deltas(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let test_mod = lines[i].trim() == "#[cfg(test)]"
            && lines[i + 1..]
                .iter()
                .find(|l| !l.trim_start().starts_with("#["))
                .is_some_and(|l| {
                    let l = l.trim_start();
                    (l.starts_with("mod ") || l.starts_with("pub mod ")) && l.ends_with('{')
                });
        if !test_mod {
            out.push(lines[i]);
            i += 1;
            continue;
        }
        let (mut depth, mut opened) = (0, false);
        while i < lines.len() {
            depth += deltas[i].0;
            opened |= deltas[i].1;
            i += 1;
            if opened && depth == 0 {
                break;
            }
        }
    }
    out
}

/// Every function of `lines`: its first line (1-based, in `lines`), its header and its length.
fn functions(lines: &[&str]) -> Vec<(usize, String, usize)> {
    let text = lines.join("\n");
    let deltas = brace_deltas(&text);
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !starts_fn(line) {
            continue;
        }
        let (mut depth, mut opened, mut j) = (0, false, i);
        while j < lines.len() {
            depth += deltas[j].0;
            opened |= deltas[j].1;
            if opened && depth == 0 {
                break;
            }
            if !opened && lines[j].trim_end().ends_with(';') {
                break;
            }
            j += 1;
        }
        out.push((i + 1, line.trim().chars().take(70).collect(), j - i + 1));
    }
    out
}

fn production_files() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for dir in PRODUCTION {
        rust_files(&root().join(dir), &mut files);
    }
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("a readable source file");
            let name = p.strip_prefix(root()).unwrap_or(&p).display().to_string();
            (name, text)
        })
        .collect()
}

/// Every function longer than `max` lines and every file longer than `max_file`.
fn too_long(files: &[(String, String)], max: usize, max_file: usize) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, text) in files {
        let lines = production_lines(text);
        if lines.len() > max_file {
            problems.push(format!(
                "{name}: {} lines of production code (at most {max_file})",
                lines.len()
            ));
        }
        for (line, header, length) in functions(&lines) {
            if length > max {
                problems.push(format!(
                    "{name}:{line}: `{header}` is {length} lines long (at most {max})"
                ));
            }
        }
    }
    problems
}

#[test]
fn no_function_over_100_lines_and_no_file_over_500() {
    let files = production_files();
    assert!(files.len() > 50, "found only {} source files", files.len());
    let problems = too_long(&files, MAX_FUNCTION_LINES, MAX_FILE_LINES);
    assert!(
        problems.is_empty(),
        "split these (line numbers count production lines only):\n  {}",
        problems.join("\n  ")
    );
}

/// The top-level modules of `src/` and, for each, the other top-level modules it names as
/// `crate::name` (in paths and in `use crate::{…}` groups), with the file that names it.
fn module_graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = root().join("src");
    let modules: BTreeSet<String> = std::fs::read_dir(&src)
        .expect("src/")
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_name()?.to_str()?;
            match name.strip_suffix(".rs") {
                Some("lib" | "main") => None,
                Some(module) => Some(module.to_string()),
                None => path.is_dir().then(|| name.to_string()),
            }
        })
        .collect();
    let mut graph = BTreeMap::new();
    for module in &modules {
        let mut files = Vec::new();
        let file = src.join(format!("{module}.rs"));
        if file.exists() {
            files.push(file);
        }
        if src.join(module).is_dir() {
            rust_files(&src.join(module), &mut files);
        }
        let mut uses: BTreeMap<String, String> = BTreeMap::new();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("a readable source file");
            // Comments (doc links included) are no dependency.
            let lines = production_lines(&text);
            let code: Vec<&str> = lines
                .iter()
                .map(|l| l.split("//").next().unwrap_or_default())
                .collect();
            let code = code.join("\n");
            let name = file
                .strip_prefix(root())
                .unwrap_or(&file)
                .display()
                .to_string();
            for used in crate_paths(&code) {
                if modules.contains(&used) && used != *module {
                    uses.entry(used).or_insert_with(|| name.clone());
                }
            }
        }
        graph.insert(module.clone(), uses);
    }
    graph
}

/// The first segment of every `crate::…` path in `code`, `use crate::{a, b::c}` included.
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        if code[..at].ends_with(|c: char| is_ident(c) || c == '$') {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The first segment of each item at the group's own level.
            let (mut depth, mut item, mut first) = (0, String::new(), true);
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(std::mem::take(&mut item));
                        first = true;
                    }
                    ':' if depth == 0 => first = false,
                    c if depth == 0 && first && is_ident(c) => item.push(c),
                    _ => {}
                }
            }
            out.push(item);
        } else {
            out.push(rest.chars().take_while(|c| is_ident(*c)).collect());
        }
    }
    out
}

/// A circle in `graph`, as the modules along it, if there is one.
fn circle(graph: &BTreeMap<String, BTreeMap<String, String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeMap<String, String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|p| p == m) {
            let mut c = path[start..].to_vec();
            c.push(m.to_string());
            return Some(c);
        }
        if !done.insert(m.to_string()) {
            return None;
        }
        path.push(m.to_string());
        for next in graph.get(m).into_iter().flat_map(|u| u.keys()) {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|m| visit(m, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_top_level_modules_form_no_circle() {
    let graph = module_graph();
    assert!(graph.contains_key("engine") && graph.contains_key("resources"));
    assert!(
        graph["engine"].contains_key("resources"),
        "the engine uses the resources: the module graph is not being read"
    );
    if let Some(c) = circle(&graph) {
        let steps: Vec<String> = c
            .windows(2)
            .map(|w| format!("{} -> {} (in {})", w[0], w[1], graph[&w[0]][&w[1]]))
            .collect();
        panic!(
            "the top-level modules form a circle: {}\n  {}",
            c.join(" -> "),
            steps.join("\n  ")
        );
    }
}

#[test]
fn the_measure_counts_what_it_should() {
    let text = "fn a() {\n    let s = \"}\";\n    let c = '{';\n    // }\n}\n\n#[cfg(test)]\nmod tests {\n    fn t() {\n    }\n}\n";
    let lines = production_lines(text);
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert_eq!(functions(&lines), vec![(1, "fn a() {".to_string(), 5)]);
    let one: BTreeMap<String, String> = [("b".to_string(), "a.rs".to_string())].into();
    let other: BTreeMap<String, String> = [("a".to_string(), "b.rs".to_string())].into();
    let graph = [("a".to_string(), one), ("b".to_string(), other)].into();
    assert_eq!(
        circle(&graph),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
    assert_eq!(
        crate_paths("use crate::{a::{X, e}, b};\nlet x = crate::c::f();\n$crate::d"),
        vec!["a", "b", "c"]
    );
}
