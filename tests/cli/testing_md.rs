//! TESTING.md's figures cannot go stale: how many tests each test binary
//! holds, and how many cases each kind of input has in the bad-input corpus,
//! are counted here and must be what TESTING.md says. Rewrite them with
//! `RK_UPDATE_TESTING=1 cargo test --test cli testing_md`.
//!
//! Tests are counted from the sources (`#[test]` lines, which proptest's
//! blocks also carry); the count for this binary is checked against the list
//! the binary itself gives, and the corpus's sections against its table.

use std::path::{Path, PathBuf};
use std::process::Command;

const BEGIN: &str = "<!-- test counts: checked by tests/cli/testing_md.rs; rewrite with RK_UPDATE_TESTING=1 cargo test --test cli testing_md -->\n";
const END: &str = "\n<!-- end of test counts -->";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `#[test]` lines in `path` (a file, or every .rs file under a directory).
fn tests_in(path: &Path) -> usize {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        return entries.iter().map(|p| tests_in(p)).sum();
    }
    if path.extension().is_none_or(|e| e != "rs") {
        return 0;
    }
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| l.trim() == "#[test]")
        .count()
}

/// The list TESTING.md holds between its markers.
fn counts_sentence() -> String {
    let root = root();
    let mut binaries = vec![(
        "unit tests (`cargo test --lib`)".to_string(),
        tests_in(&root.join("src")),
    )];
    // Every test binary: a `tests/*.rs` file, or a directory with a main.rs.
    let mut targets: Vec<PathBuf> = std::fs::read_dir(root.join("tests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs") || p.join("main.rs").is_file())
        .collect();
    targets.sort();
    for p in targets {
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        binaries.push((format!("in `{name}`"), tests_in(&p)));
    }
    // One line per binary (no total), so two branches that add tests to
    // different binaries merge without a conflict here.
    let mut text = String::from("Tests per binary, doc tests aside:\n");
    for (what, n) in binaries {
        text.push_str(&format!("\n* {n} {what}"));
    }
    text
}

/// (section of `cases()` in bad_input.rs, its cases), in the source's order.
fn corpus_sections() -> Vec<(String, usize)> {
    let text = std::fs::read_to_string(root().join("tests/cli/bad_input.rs")).unwrap();
    let body = &text[text.find("pub(crate) fn cases()").unwrap()..];
    let body = &body[..body.find("\n}\n").unwrap()];
    let mut sections: Vec<(String, usize)> = Vec::new();
    for line in body.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("// ---- ") {
            sections.push((rest.trim_end_matches(['-', ' ']).to_string(), 0));
        } else if line.starts_with("case(") {
            sections.last_mut().expect("a case before any section").1 += 1;
        }
    }
    sections
}

/// TESTING.md with the corpus's figures as counted: the total in "There are
/// **N cases**" and the second column of the table's rows, in order.
fn with_corpus_figures(doc: &str, sections: &[(String, usize)]) -> String {
    let total: usize = sections.iter().map(|(_, n)| n).sum();
    let mut out = String::new();
    let mut rows = sections.iter();
    let mut in_table = false;
    for line in doc.split_inclusive('\n') {
        if let Some(at) = line.find("There are **") {
            let end = line[at..].find(" cases**").unwrap() + at;
            out.push_str(&format!(
                "{}There are **{total}{}",
                &line[..at],
                &line[end..]
            ));
            continue;
        }
        if line.starts_with("| kind | cases | what |") {
            in_table = true;
        } else if in_table && line.starts_with("| ") && !line.starts_with("|---") {
            let cells: Vec<&str> = line.splitn(4, '|').collect();
            let (_, n) = rows.next().expect("as many table rows as sections");
            out.push_str(&format!("|{}| {n} |{}", cells[1], cells[3]));
            continue;
        } else if in_table && !line.starts_with('|') {
            in_table = false;
        }
        out.push_str(line);
    }
    assert!(rows.next().is_none(), "more sections than table rows");
    out
}

#[test]
fn testing_md_figures_are_current() {
    let path = root().join("TESTING.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let start = doc
        .find(BEGIN)
        .expect("TESTING.md has the test counts markers")
        + BEGIN.len();
    let end = start + doc[start..].find(END).expect("and their end");
    let mut want = format!("{}{}{}", &doc[..start], counts_sentence(), &doc[end..]);
    want = with_corpus_figures(&want, &corpus_sections());
    if std::env::var_os("RK_UPDATE_TESTING").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let doc = std::fs::read_to_string(&path).unwrap();
    assert!(
        doc == want,
        "TESTING.md's figures are stale; run `RK_UPDATE_TESTING=1 cargo test --test cli testing_md` and commit TESTING.md"
    );
}

/// The counting above is right: this binary lists as many tests as the
/// sources hold, and the corpus has as many cases as its sections.
#[test]
fn the_counts_match_what_runs() {
    let listed = Command::new(std::env::current_exe().unwrap())
        .args(["--list", "--format", "terse"])
        .output()
        .unwrap();
    let listed = String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.ends_with(": test"))
        .count();
    assert_eq!(listed, tests_in(&root().join("tests/cli")));
    let in_sections: usize = corpus_sections().iter().map(|(_, n)| n).sum();
    assert_eq!(in_sections, crate::bad_input::cases().len());
}
