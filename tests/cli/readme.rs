//! The README's tour, run as a script: `rk demo`, then every line of the
//! tour block in order, with the real rk on PATH. A line must exit 0 unless
//! its comment says `(exit N)`; then it must exit N.

use crate::common::TestEnv;
use std::path::{Path, PathBuf};
use std::process::Command;

const README: &str = include_str!("../../README.md");

/// The lines of the first ```sh block after "## A tour".
fn tour() -> Vec<&'static str> {
    let section = &README[README.find("## A tour").expect("README has a tour")..];
    let block = &section[section.find("```sh\n").expect("a sh block") + 6..];
    block[..block.find("```").expect("the block ends")]
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// A line's command and the exit status its comment promises.
fn split(line: &str) -> (&str, i32) {
    let (command, comment) = match line.find("  #") {
        Some(i) => (&line[..i], &line[i..]),
        None => (line, ""),
    };
    let expected = comment
        .find("(exit ")
        .map(|i| {
            let digits: String = comment[i + 6..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().expect("a number after (exit")
        })
        .unwrap_or(0);
    (command.trim(), expected)
}

#[test]
fn the_readme_tour_works_line_by_line_after_the_demo() {
    let env = TestEnv::new();
    let bin = Path::new(env!("CARGO_BIN_EXE_rk")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let demo = env
        .cmd(&["demo"])
        .env_remove("RK_NOW")
        .output()
        .expect("rk demo runs");
    assert_eq!(demo.status.code(), Some(0), "{}", env.render_output(&demo));

    let mut cwd: PathBuf = env.root().to_path_buf();
    let lines = tour();
    assert!(lines.len() >= 10, "the tour is there: {lines:?}");
    for line in lines {
        let (command, expected) = split(line);
        if let Some(dir) = command.strip_prefix("cd ") {
            cwd = cwd.join(dir.trim());
            assert!(cwd.is_dir(), "{line}: no directory {}", cwd.display());
            continue;
        }
        let out = Command::new("sh")
            .args(["-c", command])
            .current_dir(&cwd)
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .env_remove("RK_PROJECT")
            .env_remove("RK_NOW")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(expected),
            "README tour line `{line}`:\n{}",
            env.render_output(&out)
        );
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{line}"
        );
    }
}
