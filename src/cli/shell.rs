//! The command line's side of [`Messages`]: how errors, hints, warnings,
//! notes and what rk is doing look on stderr. The one place a `rk: error:`,
//! `rk: hint:` or `rk: warning:` line is written, so every command's look
//! alike (coloured when colour is on for stderr, plain otherwise).

use crate::output::{ColorChoice, Messages, Style};
use std::io::{self, Write};

/// Messages for people, written in rk's `rk: …` form.
pub struct Shell<W: Write> {
    err: W,
    style: Style,
}

impl Shell<io::StderrLock<'static>> {
    /// On stderr, coloured as `--color` says for stderr.
    pub fn stderr(color: ColorChoice) -> Self {
        Shell {
            err: io::stderr().lock(),
            style: Style {
                color: color.for_stderr(),
            },
        }
    }
}

impl<W: Write> Shell<W> {
    /// `rk: error: <message>`, the prefix red.
    pub fn error(&mut self, message: &str) -> io::Result<()> {
        writeln!(self.err, "{} {message}", self.style.red("rk: error:"))
    }

    /// `rk: hint: <what to do next>`, the prefix yellow.
    pub fn hint(&mut self, message: &str) -> io::Result<()> {
        writeln!(self.err, "{} {message}", self.style.yellow("rk: hint:"))
    }
}

impl<W: Write> Messages for Shell<W> {
    fn warn(&mut self, message: &str) -> io::Result<()> {
        writeln!(self.err, "{} {message}", self.style.yellow("rk: warning:"))
    }

    fn note(&mut self, message: &str) -> io::Result<()> {
        writeln!(self.err, "rk: note: {message}")
    }

    fn status(&mut self, message: &str) -> io::Result<()> {
        writeln!(self.err, "rk: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn rendered(color: bool, say: impl Fn(&mut Shell<&mut Vec<u8>>) -> io::Result<()>) -> String {
        let mut bytes = Vec::new();
        let mut shell = Shell {
            err: &mut bytes,
            style: Style { color },
        };
        say(&mut shell).unwrap();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn each_kind_of_line_looks_the_same_for_every_command() {
        assert_eq!(rendered(false, |s| s.warn("w")), "rk: warning: w\n");
        assert_eq!(rendered(false, |s| s.note("n")), "rk: note: n\n");
        assert_eq!(rendered(false, |s| s.status("s")), "rk: s\n");
        assert_eq!(rendered(false, |s| s.error("e")), "rk: error: e\n");
        assert_eq!(rendered(false, |s| s.hint("h")), "rk: hint: h\n");
        assert_eq!(
            rendered(true, |s| s.warn("w")),
            "\x1b[33mrk: warning:\x1b[0m w\n"
        );
        assert_eq!(
            rendered(true, |s| s.error("e")),
            "\x1b[31mrk: error:\x1b[0m e\n"
        );
        assert_eq!(
            rendered(true, |s| s.hint("h")),
            "\x1b[33mrk: hint:\x1b[0m h\n"
        );
    }

    /// This file is the one place a `rk: …` line is spelled: no other
    /// source file holds a string literal that starts with `rk: `.
    #[test]
    fn only_the_shell_spells_rk_prefixes() {
        fn walk(dir: &Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("cli/shell.rs")
                {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for (i, line) in text.lines().enumerate() {
                        if line.contains("\"rk: ") && !line.trim_start().starts_with("//") {
                            found.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        walk(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(
            found.is_empty(),
            "write these through cli::Shell:\n{}",
            found.join("\n")
        );
    }
}
