//! No function in `src/` is longer than 150 lines.
//!
//! A long function hides its seams: the reader has to find the steps that a
//! few named functions would have shown. This test reads every `.rs` file under
//! `src/`, blanks out comments, strings and character literals
//! ([`crate::source::blank`], which keeps line breaks, so line numbers stay
//! true), finds each `fn` with a body and matches its braces. A function's
//! length counts from the line of its `fn` keyword to
//! the line of its closing brace, both included. A failure names
//! `file:line: function (N lines)` for every offender.
//!
//! The scanner is small and honest rather than a Rust parser: past what
//! `blank` knows (line and nested block comments, plain, byte and raw
//! strings, character literals versus lifetimes), it knows `fn(…)` pointer
//! types and declarations without a body. The unit tests below
//! show it failing on a long function and not being fooled by braces in
//! strings, comments and characters.

use crate::source::{blank, rust_files};
use std::path::Path;

/// The longest a function may be, in lines.
const MAX_LINES: usize = 150;

/// One function found by the scanner.
#[derive(Debug, PartialEq)]
struct Function {
    name: String,
    /// 1-based line of the `fn` keyword.
    line: usize,
    /// Lines from the `fn` keyword to the closing brace, both included.
    lines: usize,
}

/// Every function with a body in `src`, with its length.
fn functions(src: &str) -> Vec<Function> {
    let code: Vec<char> = blank(src).chars().collect();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let line_of = |pos: usize| 1 + code[..pos].iter().filter(|&&c| c == '\n').count();
    let mut found = Vec::new();
    let mut i = 0;
    while i + 2 <= code.len() {
        let is_fn = code[i] == 'f'
            && code[i + 1] == 'n'
            && (i == 0 || !ident(code[i - 1]))
            && code.get(i + 2).is_some_and(|&c| !ident(c));
        if !is_fn {
            i += 1;
            continue;
        }
        let mut j = i + 2;
        while j < code.len() && code[j].is_whitespace() {
            j += 1;
        }
        let name: String = code[j..].iter().take_while(|&&c| ident(c)).collect();
        if name.is_empty() {
            // `fn(…) -> T`: a function pointer type, not a definition.
            i += 2;
            continue;
        }
        // The body opens at the first `{` outside the signature's parentheses
        // and generics; a `;` first means a declaration without a body.
        let mut k = j + name.len();
        let mut parens = 0i32;
        let mut body = None;
        while k < code.len() {
            match code[k] {
                '(' | '[' => parens += 1,
                ')' | ']' => parens -= 1,
                '{' if parens == 0 => {
                    body = Some(k);
                    break;
                }
                ';' if parens == 0 => break,
                _ => {}
            }
            k += 1;
        }
        let Some(open) = body else {
            i = k;
            continue;
        };
        let mut depth = 0i32;
        let mut close = open;
        for (p, &c) in code.iter().enumerate().skip(open) {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = p;
                        break;
                    }
                }
                _ => {}
            }
        }
        let line = line_of(i);
        found.push(Function {
            name,
            line,
            lines: line_of(close) - line + 1,
        });
        // Continue inside the body, so nested functions are measured too.
        i = open + 1;
    }
    found
}

/// Every function over the limit in the files under `dir`, as
/// `file:line: name (N lines)`.
fn too_long(dir: &Path, root: &Path) -> Vec<String> {
    let shown_dir = dir.strip_prefix(root).unwrap_or(dir);
    let mut long = Vec::new();
    for (rel, src) in rust_files(dir) {
        for f in functions(&src) {
            if f.lines > MAX_LINES {
                let shown = shown_dir.join(&rel).display().to_string();
                long.push(format!(
                    "{shown}:{}: {} ({} lines)",
                    f.line, f.name, f.lines
                ));
            }
        }
    }
    long
}

#[test]
fn no_function_in_src_is_longer_than_150_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let long = too_long(&root.join("src"), root);
    assert!(
        long.is_empty(),
        "functions longer than {MAX_LINES} lines (split them along their seams):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_scanner_sees_every_function_in_src() {
    // If the scanner lost its way (an unclosed string, say), it would find
    // few functions and pass for the wrong reason.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut scanned = 0;
    let mut written = 0;
    for (_, src) in rust_files(&root.join("src")) {
        scanned += functions(&src).len();
        written += src
            .lines()
            .filter(|l| {
                let t = l.trim_start();
                !t.starts_with("//") && t.contains("fn ") && t.trim_end().ends_with('{')
            })
            .count();
    }
    assert!(
        scanned >= written,
        "the scanner found {scanned} functions, but {written} lines open one"
    );
}

#[test]
fn a_function_of_151_lines_is_reported_with_its_file_and_line() {
    // `fits` is exactly 150 lines (allowed); `too_long` is 151, from line 154.
    let dir = tempfile::tempdir().unwrap();
    let body = "    let x = 1;\n".repeat(149);
    std::fs::write(
        dir.path().join("long.rs"),
        format!(
            "//! a module\n\nfn fits() {{\n{}}}\n\npub(crate) fn too_long() {{\n{body}}}\n",
            "    ();\n".repeat(148)
        ),
    )
    .unwrap();
    assert_eq!(
        too_long(dir.path(), dir.path()),
        ["long.rs:154: too_long (151 lines)"]
    );
}

#[test]
fn braces_in_strings_comments_and_characters_are_not_code() {
    let src = r####"
fn tricky<'a>(x: &'a str) -> impl Fn(u8) -> bool {
    let _ = "}}} \" }";
    let _ = r#"}"# ;
    let _ = br##"} "# }"##;
    let _ = b"}";
    let _ = '}';
    let _ = '\'';
    let _ = '\u{7d}';
    // }
    /* } /* nested } */ } */
    'outer: loop { break 'outer; }
    let _: fn(u8) -> u8 = |b| b;
    move |_| true
}

trait T {
    fn declared(&self) -> [u8; 2];
    fn defaulted(&self) {}
}

fn after() {
}
"####;
    let found = functions(src);
    let summary: Vec<_> = found
        .iter()
        .map(|f| (f.name.as_str(), f.line, f.lines))
        .collect();
    assert_eq!(
        summary,
        [("tricky", 2, 14), ("defaulted", 19, 1), ("after", 22, 2)]
    );
}

#[test]
fn nested_functions_count_toward_their_outer_function_and_on_their_own() {
    let src = "fn outer() {\n    fn inner() {\n        1;\n    }\n}\n";
    let found = functions(src);
    assert_eq!(
        found,
        [
            Function {
                name: "outer".into(),
                line: 1,
                lines: 5
            },
            Function {
                name: "inner".into(),
                line: 2,
                lines: 3
            },
        ]
    );
}
