//! The shape of `src/`: no file-level import cycle, and no layer importing a
//! layer above it (docs/ARCHITECTURE.md#layers).
//!
//! The one idea: the module graph is read from the source itself, so a
//! change that brings a cycle back, or lets a lower layer reach up, fails
//! here naming the files and the line, before anyone has to notice it.
//!
//! How the graph is read (plain std, no Rust parser): every `src/**/*.rs`
//! but `main.rs` (the binary, which sees the library as `rk::`) is a node.
//! Comments, string and char literals and `#[cfg(test)] mod … { … }` bodies
//! are blanked first. An edge is every path that names a module of the
//! crate: `crate::…`, `super::…`, `self::…`, a child module (`mod x;` in the
//! same file) or a module brought in by a `use` (`use crate::store::{self,
//! atomic}` makes `store::…` and `atomic::…` count), inside `use` trees with
//! their `{…}` groups and anywhere in the code. A path goes to the longest
//! file the module path names; a name a file re-exports (`pub use`) is
//! followed to the file that defines it, so `crate::Error` is an edge to
//! `src/error.rs`. A parent's uses of its own parts (a `mod.rs` re-exporting
//! or calling the files under it) are no edge: a directory module and its
//! files are one unit, whose parts may use their parent (`super::Error`).
//! Paths inside string literals (`#[serde(with = "…")]`), paths written
//! through a `use`d item that is not a module, and paths a macro builds are
//! not seen.

use crate::source::{blank, rust_files};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The layers, highest first. A file may import files of its own layer and
/// of the layers below it, never above. Every top-level module of `src/` is
/// listed exactly once (docs/ARCHITECTURE.md#layers says why each sits where
/// it does).
const LAYERS: &[(&str, &[&str])] = &[
    // Arguments, rendering, the one place errors become messages.
    ("cli", &["cli"]),
    // One file per porcelain verb.
    ("ops", &["ops"]),
    // The aggregate error the commands return: it names every area's error,
    // so no area may name it.
    ("error", &["error"]),
    // The domain and the small modules beside it.
    (
        "domain",
        &[
            "canon",
            "clock",
            "code_version",
            "dispatch",
            "drift",
            "environment",
            "orchestrators",
            "output",
            "pool",
            "project",
            "python_json",
            "run_config",
            "slurm",
            "state",
            "store",
            "trials",
        ],
    ),
    // Exit codes and the `Diagnostic` trait: imports nothing from the crate.
    ("leaf", &["exit"]),
];

#[test]
fn src_has_no_file_level_import_cycle() {
    let graph = Graph::read(&src_files());
    let problems = graph.cycles();
    assert!(
        problems.is_empty(),
        "import cycles in src/ (break each by moving the shared piece down, or by \
         making one direction the only one):\n{}",
        problems.join("\n")
    );
}

#[test]
fn no_layer_imports_a_layer_above_it() {
    let graph = Graph::read(&src_files());
    let problems = graph.upward_imports(LAYERS);
    assert!(
        problems.is_empty(),
        "imports that go up a layer (docs/ARCHITECTURE.md#layers; the table is LAYERS \
         in tests/house/architecture.rs):\n{}",
        problems.join("\n")
    );
}

/// docs/ARCHITECTURE.md#layers shows the same table as [`LAYERS`]: a row
/// per layer, highest first, naming the same modules.
#[test]
fn the_layer_table_in_architecture_md_is_this_one() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ARCHITECTURE.md"))
            .unwrap();
    let names = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let rows: Vec<(String, Vec<String>)> = doc
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let layer = *cells.get(1)?;
            LAYERS.iter().any(|(l, _)| *l == layer).then(|| {
                (
                    layer.to_string(),
                    names(cells.get(2).copied().unwrap_or("")),
                )
            })
        })
        .collect();
    let expected: Vec<(String, Vec<String>)> = LAYERS
        .iter()
        .map(|(layer, modules)| {
            (
                layer.to_string(),
                modules.iter().map(|m| m.to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(
        rows, expected,
        "the layer table of docs/ARCHITECTURE.md#layers differs from LAYERS in tests/house/architecture.rs"
    );
}

/// The checks can fail: a cycle written with a `use` group and `super::`,
/// and an import from the domain up into `ops`, are both found.
#[test]
fn the_checks_find_a_cycle_and_an_upward_import() {
    let files = vec![
        (
            PathBuf::from("lib.rs"),
            "pub mod ops; pub mod store;\npub use store::Error;".to_string(),
        ),
        (
            PathBuf::from("store/mod.rs"),
            "mod object;\npub use object::ObjectId; // crate::ops::x\n\
             pub struct Error;\nfn f() -> &'static str { \"crate::ops\" }\n\
             fn g(c: char) -> bool { c == '\"' }\n\
             use crate::ops::{self, status::Report};"
                .to_string(),
        ),
        (
            PathBuf::from("store/object.rs"),
            "use super::Error;\npub struct ObjectId;\n\
             #[cfg(test)]\nmod tests { use crate::ops::status; }"
                .to_string(),
        ),
        (PathBuf::from("ops/mod.rs"), "pub mod status;".to_string()),
        (
            PathBuf::from("ops/status.rs"),
            "pub struct Report;\nfn f() -> crate::Error { todo!() }".to_string(),
        ),
    ];
    let graph = Graph::read(&files);
    let edges: Vec<String> = graph
        .edges
        .iter()
        .flat_map(|(from, to)| to.keys().map(move |to| format!("{from} -> {to}")))
        .collect();
    assert_eq!(
        edges,
        [
            "src/ops/status.rs -> src/store/mod.rs",
            "src/store/mod.rs -> src/ops/mod.rs",
            "src/store/mod.rs -> src/ops/status.rs",
            "src/store/object.rs -> src/store/mod.rs",
        ]
    );
    let cycles = graph.cycles();
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    assert!(
        cycles[0].starts_with("  src/ops/status.rs -> src/store/mod.rs")
            && cycles[0].contains("line 6: `use crate::ops::{self, status::Report}`"),
        "{}",
        cycles[0]
    );
    let layers: &[(&str, &[&str])] = &[("ops", &["ops"]), ("domain", &["store"])];
    let upward = graph.upward_imports(layers);
    assert_eq!(upward.len(), 2, "{upward:?}");
    assert!(
        upward[0].starts_with("  src/store/mod.rs (domain) imports src/ops/mod.rs (ops)"),
        "{}",
        upward[0]
    );
}

/// Every `.rs` file under `src/` but `main.rs` (the binary, which sees the
/// library as `rk::`), as (path relative to `src/`, text).
fn src_files() -> Vec<(PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    rust_files(&src)
        .into_iter()
        .filter(|(rel, _)| rel != Path::new("main.rs"))
        .collect()
}

/// One source file.
struct File {
    /// `src/store/object.rs`.
    name: String,
    /// Its module path: `["store", "object"]`; `[]` for `lib.rs`.
    module: Vec<String>,
    /// The text with comments, literals and test modules blanked (lines kept).
    code: String,
    /// Inline `mod x { … }` blocks: (offset of `{`, offset of `}`, name).
    inline: Vec<(usize, usize, String)>,
}

/// The file-level import graph.
struct Graph {
    files: Vec<File>,
    /// File name → (file it imports → the first reference: line and path).
    edges: BTreeMap<String, BTreeMap<String, (usize, String)>>,
}

/// A path as written, where it was written.
struct Reference {
    /// Byte offset in the blanked text.
    at: usize,
    /// The path as written, `use crate::store::{self, atomic}` for a `use`.
    text: String,
    /// Each path it names, as segments (`["crate", "store", "atomic"]`),
    /// with the name it binds in a `use` (`atomic`; `store` for `self`).
    paths: Vec<(Vec<String>, String)>,
    /// A `use` (else a path in the code).
    is_use: bool,
    /// A `pub use`: a re-export.
    public_use: bool,
}

impl Graph {
    fn read(sources: &[(PathBuf, String)]) -> Graph {
        let files: Vec<File> = sources
            .iter()
            .map(|(rel, text)| {
                let code = blank_tests(&blank(text));
                File {
                    name: format!("src/{}", rel.display()),
                    module: module_path(rel),
                    inline: inline_modules(&code),
                    code,
                }
            })
            .collect();
        let by_module: BTreeMap<Vec<String>, usize> = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.module.clone(), i))
            .collect();
        // Each file's references, every path made absolute: first the
        // `use`s (which may bind module names), then the paths in the code.
        let mut exports: BTreeMap<usize, BTreeMap<String, Vec<String>>> = BTreeMap::new();
        let mut refs: Vec<Vec<(Reference, Vec<Vec<String>>)>> = Vec::new();
        for (i, f) in files.iter().enumerate() {
            let (uses, others): (Vec<Reference>, Vec<Reference>) =
                references(&f.code).into_iter().partition(|r| r.is_use);
            let no_aliases = BTreeMap::new();
            let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let mut file_refs = Vec::new();
            for r in uses {
                let mut abs = Vec::new();
                for (path, bound) in &r.paths {
                    let Some(a) = absolute(f, r.at, path, &by_module, &no_aliases) else {
                        continue;
                    };
                    if by_module.contains_key(&a) {
                        aliases.insert(bound.clone(), a.clone());
                    }
                    if r.public_use {
                        exports
                            .entry(i)
                            .or_default()
                            .insert(bound.clone(), a.clone());
                    }
                    abs.push(a);
                }
                file_refs.push((r, abs));
            }
            for r in others {
                let abs = r
                    .paths
                    .iter()
                    .filter_map(|(p, _)| absolute(f, r.at, p, &by_module, &aliases))
                    .collect();
                file_refs.push((r, abs));
            }
            refs.push(file_refs);
        }
        let mut edges: BTreeMap<String, BTreeMap<String, (usize, String)>> = BTreeMap::new();
        for (i, file_refs) in refs.iter().enumerate() {
            let file = &files[i];
            for (r, abs) in file_refs {
                for path in abs {
                    let Some(to) = resolve(path, &by_module, &exports, 0) else {
                        continue;
                    };
                    let target = &files[to];
                    let own_part = target.module.starts_with(&file.module);
                    if to == i || own_part {
                        continue;
                    }
                    let line = file.code[..r.at].matches('\n').count() + 1;
                    edges
                        .entry(file.name.clone())
                        .or_default()
                        .entry(target.name.clone())
                        .or_insert_with(|| (line, r.text.clone()));
                }
            }
        }
        Graph { files, edges }
    }

    /// One line per strongly connected group of files: a cycle through
    /// them, each step with the line and path that makes it.
    fn cycles(&self) -> Vec<String> {
        let names: Vec<&str> = self.files.iter().map(|f| f.name.as_str()).collect();
        let mut problems = Vec::new();
        for group in strongly_connected(&names, &self.edges) {
            let start = group.iter().next().unwrap().clone();
            let cycle = self.cycle_through(&start, &group);
            let mut text = String::new();
            for pair in cycle.windows(2) {
                let (line, path) = &self.edges[&pair[0]][&pair[1]];
                let _ = write!(text, "{} -> ", pair[0]);
                let _ = write!(text, "{} (line {line}: `{path}`); ", pair[1]);
            }
            let others: Vec<&String> = group.iter().filter(|f| !cycle.contains(f)).collect();
            if !others.is_empty() {
                let _ = write!(text, "also in this knot: {others:?}");
            }
            problems.push(format!("  {}", text.trim_end_matches("; ")));
        }
        problems
    }

    /// The shortest cycle from `start` back to it inside `group`.
    fn cycle_through(&self, start: &str, group: &BTreeSet<String>) -> Vec<String> {
        let mut previous: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start.to_string()]);
        while let Some(at) = queue.pop_front() {
            for next in self.edges.get(&at).into_iter().flat_map(|e| e.keys()) {
                if !group.contains(next) {
                    continue;
                }
                if next == start {
                    // at, the step before it, … back to start; then reversed.
                    let mut cycle = vec![start.to_string(), at.clone()];
                    while cycle.last().unwrap() != start {
                        cycle.push(previous[cycle.last().unwrap()].clone());
                    }
                    cycle.reverse();
                    return cycle;
                }
                if !previous.contains_key(next) {
                    previous.insert(next.clone(), at.clone());
                    queue.push_back(next.clone());
                }
            }
        }
        unreachable!("a strongly connected group has a cycle through each member")
    }

    /// One line per import from a file to a file of a higher layer, and one
    /// per top-level module the table does not place.
    fn upward_imports(&self, layers: &[(&str, &[&str])]) -> Vec<String> {
        let mut problems = Vec::new();
        let place = |file: &File| -> Option<(usize, &str)> {
            let top = file.module.first()?;
            layers
                .iter()
                .enumerate()
                .find(|(_, (_, modules))| modules.contains(&top.as_str()))
                .map(|(rank, (layer, _))| (rank, *layer))
        };
        let by_name: BTreeMap<&str, &File> =
            self.files.iter().map(|f| (f.name.as_str(), f)).collect();
        for file in &self.files {
            if !file.module.is_empty() && place(file).is_none() {
                problems.push(format!(
                    "  {} is in no layer: add `{}` to LAYERS in tests/house/architecture.rs and to \
                     docs/ARCHITECTURE.md#layers",
                    file.name, file.module[0]
                ));
            }
        }
        for (from, to) in &self.edges {
            let Some((from_rank, from_layer)) = place(by_name[from.as_str()]) else {
                continue;
            };
            for (to, (line, path)) in to {
                let Some((to_rank, to_layer)) = place(by_name[to.as_str()]) else {
                    continue;
                };
                if to_rank < from_rank {
                    problems.push(format!(
                        "  {from} ({from_layer}) imports {to} ({to_layer}) at line {line}: `{path}`"
                    ));
                }
            }
        }
        for (_, modules) in layers {
            for module in *modules {
                if !self
                    .files
                    .iter()
                    .any(|f| f.module.first() == Some(&module.to_string()))
                {
                    problems.push(format!(
                        "  LAYERS names `{module}`, which is not a module of src/"
                    ));
                }
            }
        }
        problems
    }
}

/// `store/object.rs` → `["store", "object"]`; `store/mod.rs` → `["store"]`;
/// `lib.rs` → `[]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// `path` (as written in `file` at offset `at`) made absolute: `crate::`
/// dropped, `super::` and `self::` applied to the module the reference sits
/// in (inline `mod x { … }` blocks included), a child module or a module a
/// `use` bound (`aliases`) expanded. `None`: a path outside the crate
/// (`std::`, `serde::`) or a name that is no module.
fn absolute(
    file: &File,
    at: usize,
    path: &[String],
    by_module: &BTreeMap<Vec<String>, usize>,
    aliases: &BTreeMap<String, Vec<String>>,
) -> Option<Vec<String>> {
    let mut here = file.module.clone();
    here.extend(
        file.inline
            .iter()
            .filter(|(open, close, _)| *open < at && at < *close)
            .map(|(_, _, name)| name.clone()),
    );
    let first = path.first()?;
    match first.as_str() {
        "crate" => Some(path[1..].to_vec()),
        "self" => Some(here.iter().chain(&path[1..]).cloned().collect()),
        "super" => {
            let ups = path.iter().take_while(|s| *s == "super").count();
            let base = &here[..here.len().checked_sub(ups)?];
            Some(base.iter().chain(&path[ups..]).cloned().collect())
        }
        _ => {
            let mut child = here.clone();
            child.push(first.clone());
            let module = if by_module.contains_key(&child) {
                child
            } else {
                aliases.get(first)?.clone()
            };
            Some(
                module
                    .into_iter()
                    .chain(path[1..].iter().cloned())
                    .collect(),
            )
        }
    }
}

/// The file an absolute path lands in: the longest module file its
/// segments name, following a re-export (`pub use`) of the next segment to
/// the file that defines it.
fn resolve(
    path: &[String],
    by_module: &BTreeMap<Vec<String>, usize>,
    exports: &BTreeMap<usize, BTreeMap<String, Vec<String>>>,
    depth: usize,
) -> Option<usize> {
    let len = (0..=path.len())
        .rev()
        .find(|&n| by_module.contains_key(&path[..n]))?;
    let file = by_module[&path[..len]];
    if depth < 8 {
        if let Some(next) = path.get(len) {
            if let Some(target) = exports.get(&file).and_then(|e| e.get(next)) {
                let mut followed = target.clone();
                followed.extend_from_slice(&path[len + 1..]);
                if followed != path {
                    return resolve(&followed, by_module, exports, depth + 1).or(Some(file));
                }
            }
        }
    }
    Some(file)
}

/// The inline `mod x { … }` blocks of the code: (offset of `{`, offset of
/// `}`, name).
fn inline_modules(code: &str) -> Vec<(usize, usize, String)> {
    let mut blocks = Vec::new();
    let mut from = 0;
    while let Some(found) = find_word(code, "mod", from) {
        from = found + 3;
        let rest = code[from..].trim_start();
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let after = rest[name.len()..].trim_start();
        if !name.is_empty() && after.starts_with('{') {
            let open = code.len() - after.len();
            blocks.push((open, matching_brace(code, open), name));
        }
    }
    blocks
}

/// Every path of the crate the code writes: `use` trees (expanded) and
/// paths in the code that start with `crate`, `super`, `self` or any
/// lowercase name (the caller decides which of those are modules).
fn references(code: &str) -> Vec<Reference> {
    let mut refs = Vec::new();
    let mut in_use = vec![false; code.len()];
    let mut from = 0;
    while let Some(at) = find_word(code, "use", from) {
        let Some(end) = code[at..].find(';').map(|e| at + e) else {
            break;
        };
        let tree = &code[at + 3..end];
        let before = code[..at].trim_end();
        let before = match before.strip_suffix(')') {
            Some(b) => &b[..b.rfind('(').unwrap_or(0)],
            None => before,
        };
        let mut paths = Vec::new();
        expand(&tokens(tree), &mut 0, &[], &mut paths);
        refs.push(Reference {
            at,
            text: format!("use {}", squash(tree)),
            paths,
            is_use: true,
            public_use: before.ends_with("pub"),
        });
        in_use[at..end].iter_mut().for_each(|b| *b = true);
        from = end;
    }
    // Paths in the code: `a::b::c` not itself after `::`, outside `use`.
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = is_ident(bytes[i])
            && !bytes[i].is_ascii_digit()
            && (i == 0 || !is_ident(bytes[i - 1]))
            && !code[..i].ends_with("::");
        if !starts_word || in_use[i] {
            i += 1;
            continue;
        }
        let mut end = i;
        let mut segments = Vec::new();
        loop {
            let start = end;
            while end < bytes.len() && is_ident(bytes[end]) {
                end += 1;
            }
            segments.push(code[start..end].to_string());
            if code[end..].starts_with("::") && code[end + 2..].bytes().next().is_some_and(is_ident)
            {
                end += 2;
            } else {
                break;
            }
        }
        if segments.len() > 1 && segments[0].starts_with(|c: char| c.is_ascii_lowercase()) {
            refs.push(Reference {
                at: i,
                text: segments.join("::"),
                paths: vec![(segments, String::new())],
                is_use: false,
                public_use: false,
            });
        }
        i = end.max(i + 1);
    }
    refs
}

/// The paths a `use` tree names, each with the name it binds: `crate::a::{b
/// as c, d::{self, e}}` → (`crate::a::b`, `c`), (`crate::a::d`, `d`),
/// (`crate::a::d::e`, `e`). A glob binds `*`.
fn expand(
    tokens: &[String],
    at: &mut usize,
    prefix: &[String],
    out: &mut Vec<(Vec<String>, String)>,
) {
    let mut path = prefix.to_vec();
    let mut bound = None;
    while *at < tokens.len() {
        match tokens[*at].as_str() {
            "::" => *at += 1,
            "{" => {
                *at += 1;
                while *at < tokens.len() && tokens[*at] != "}" {
                    expand(tokens, at, &path, out);
                    if tokens.get(*at).map(String::as_str) == Some(",") {
                        *at += 1;
                    }
                }
                *at += 1;
                return;
            }
            "," | "}" => break,
            "as" => {
                bound = tokens.get(*at + 1).cloned();
                *at += 2;
            }
            "*" => {
                *at += 1;
                bound = Some("*".into());
            }
            "self" if path.len() == prefix.len() && !prefix.is_empty() => *at += 1,
            word => {
                path.push(word.to_string());
                *at += 1;
            }
        }
    }
    if let Some(last) = path.last() {
        let bound = bound.unwrap_or_else(|| last.clone());
        out.push((path, bound));
    }
}

/// A `use` tree's tokens: names, `::`, `{`, `}`, `,`, `*`.
fn tokens(tree: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = tree.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ':' if chars.peek() == Some(&':') => {
                chars.next();
                out.push("::".into());
            }
            '{' | '}' | ',' | '*' => out.push(c.to_string()),
            c if c.is_alphanumeric() || c == '_' => {
                let mut word = c.to_string();
                while let Some(&n) = chars.peek() {
                    if n.is_alphanumeric() || n == '_' {
                        word.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(word);
            }
            _ => {}
        }
    }
    out
}

/// `#[cfg(test)] mod x { … }` (and `#[cfg(test)] mod x;`) blanked: test
/// code may reach anywhere.
fn blank_tests(code: &str) -> String {
    let mut code = code.to_string();
    let mut from = 0;
    while let Some(found) = code[from..].find("#[cfg(test)]") {
        let start = from + found;
        let rest = code[start + "#[cfg(test)]".len()..].trim_start();
        from = start + 1;
        let Some(item) = rest.strip_prefix("mod ") else {
            continue;
        };
        let item_at = code.len() - item.len();
        let end = match item.find(['{', ';']) {
            Some(e) if item.as_bytes()[e] == b'{' => matching_brace(&code, item_at + e) + 1,
            Some(e) => item_at + e + 1,
            None => continue,
        };
        let blanked: String = code[start..end]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        code.replace_range(start..end, &blanked);
    }
    code
}

/// The offset of the `}` that closes the `{` at `open` (or the end).
fn matching_brace(code: &str, open: usize) -> usize {
    let mut depth = 0;
    for (i, b) in code.bytes().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    code.len()
}

/// The next `word` at or after `from` standing alone (not inside a longer
/// name), followed by white space.
fn find_word(code: &str, word: &str, mut from: usize) -> Option<usize> {
    while let Some(found) = code[from..].find(word) {
        let at = from + found;
        let before = at.checked_sub(1).map(|b| code.as_bytes()[b]);
        let after = code.as_bytes().get(at + word.len()).copied();
        if !before.is_some_and(is_ident) && after.is_some_and(|a| a.is_ascii_whitespace()) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A `use` tree on one line, white space squashed.
fn squash(tree: &str) -> String {
    tree.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The groups of more than one file that reach each other (Tarjan).
fn strongly_connected(
    names: &[&str],
    edges: &BTreeMap<String, BTreeMap<String, (usize, String)>>,
) -> Vec<BTreeSet<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeMap<String, (usize, String)>>,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        on_stack: BTreeSet<String>,
        groups: Vec<BTreeSet<String>>,
    }
    fn visit(s: &mut State, v: &str) {
        let n = s.index.len();
        s.index.insert(v.to_string(), n);
        s.low.insert(v.to_string(), n);
        s.stack.push(v.to_string());
        s.on_stack.insert(v.to_string());
        let next: Vec<String> = s
            .edges
            .get(v)
            .map(|e| e.keys().cloned().collect())
            .unwrap_or_default();
        for w in next {
            if !s.index.contains_key(&w) {
                visit(s, &w);
                let low = s.low[v].min(s.low[&w]);
                s.low.insert(v.to_string(), low);
            } else if s.on_stack.contains(&w) {
                let low = s.low[v].min(s.index[&w]);
                s.low.insert(v.to_string(), low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = BTreeSet::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on_stack.remove(&w);
                let done = w == v;
                group.insert(w);
                if done {
                    break;
                }
            }
            if group.len() > 1 {
                s.groups.push(group);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        groups: Vec::new(),
    };
    for v in names {
        if !s.index.contains_key(*v) {
            visit(&mut s, v);
        }
    }
    s.groups
}
