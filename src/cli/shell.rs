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
