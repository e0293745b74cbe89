//! How output looks: colour on a terminal only (never with `NO_COLOR` or
//! `--color never`), the small styling vocabulary the commands share, and
//! [`Messages`], the sink through which ops tell people what happened while
//! a command works.

use anstyle::AnsiColor;
use std::io::{self, IsTerminal};
use std::sync::atomic::{AtomicU64, Ordering};

/// `--color auto|always|never`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour stdout: `always`, or `auto` on a terminal without `NO_COLOR`.
    pub fn for_stdout(self) -> bool {
        self.resolve(std::io::stdout().is_terminal())
    }

    /// Whether to colour stderr.
    pub fn for_stderr(self) -> bool {
        self.resolve(std::io::stderr().is_terminal())
    }

    fn resolve(self, terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// ANSI styles (anstyle's, as clap's own help uses), applied only when
/// colour is on. (The colour of a run's overall status, `Style::status`,
/// sits beside `OverallStatus` in state/status.rs: this module imports
/// nothing from the crate.)
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, style: anstyle::Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    pub fn red(self, text: &str) -> String {
        self.paint(AnsiColor::Red.on_default(), text)
    }

    pub fn green(self, text: &str) -> String {
        self.paint(AnsiColor::Green.on_default(), text)
    }

    pub fn yellow(self, text: &str) -> String {
        self.paint(AnsiColor::Yellow.on_default(), text)
    }

    pub fn cyan(self, text: &str) -> String {
        self.paint(AnsiColor::Cyan.on_default(), text)
    }

    pub fn bold(self, text: &str) -> String {
        self.paint(anstyle::Style::new().bold(), text)
    }

    pub fn dim(self, text: &str) -> String {
        self.paint(anstyle::Style::new().dimmed(), text)
    }
}

/// Where ops send what people should read while a command works, besides
/// its result: warnings, notes, and what rk is doing. Ops say *what*; the
/// command line decides how it looks (`cli::Shell`: the `rk: warning:`
/// prefix and its colour), so every command's warnings look alike. Like
/// cargo's `shell().warn` or jj's `ui.warning_default()`.
pub trait Messages {
    /// Something that did not stop the command: `rk: warning: <message>`.
    fn warn(&mut self, message: &str) -> io::Result<()>;
    /// An uncertainty worth checking: `rk: note: <message>`.
    fn note(&mut self, message: &str) -> io::Result<()>;
    /// What rk is doing or did: `rk: <message>`.
    fn status(&mut self, message: &str) -> io::Result<()>;
}

/// What a [`Progress`] counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unit {
    /// Bytes (hashing): shown in MiB.
    #[default]
    Bytes,
    /// Items of work (trials, runs).
    Items,
}

/// Work done so far out of a total, filled in by library code and drawn by
/// the one progress bar of the command line (`cli::progress`). Counting costs
/// two relaxed atomic adds; nothing is drawn unless stderr is a terminal and
/// the work takes more than a second.
#[derive(Debug, Default)]
pub struct Progress {
    pub done: AtomicU64,
    pub total: AtomicU64,
    pub unit: Unit,
}

impl Progress {
    /// A counter of items.
    pub const fn items() -> Progress {
        Progress {
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            unit: Unit::Items,
        }
    }

    /// `n` more items (or bytes) are to be done.
    pub fn add_total(&self, n: u64) {
        self.total.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` more are done.
    pub fn add_done(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }
}

/// The items counter the worker pool fills (`pool::map`, `pool::stream`):
/// trials scanned and read by scan-trials, status and migrate.
pub fn pool_items() -> &'static Progress {
    static ITEMS: Progress = Progress::items();
    &ITEMS
}

/// A JSON document on one line with its newline: a `--json` object, or one
/// NDJSON line. Key order is the order of the document's fields.
pub fn write_json_line(
    out: &mut dyn std::io::Write,
    doc: &impl serde::Serialize,
) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, doc)?;
    out.write_all(b"\n")
}

/// A JSON document pretty-printed (two spaces) with a trailing newline.
pub fn write_json_pretty(
    out: &mut dyn std::io::Write,
    doc: &impl serde::Serialize,
) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, doc)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact escape codes rk has always written (SGR 31, 32, 33, 36, 1,
    /// 2, then 0), and the bare text without colour.
    #[test]
    fn styles_write_the_same_escape_codes() {
        let on = Style { color: true };
        assert_eq!(on.red("x"), "\x1b[31mx\x1b[0m");
        assert_eq!(on.green("x"), "\x1b[32mx\x1b[0m");
        assert_eq!(on.yellow("x"), "\x1b[33mx\x1b[0m");
        assert_eq!(on.cyan("x"), "\x1b[36mx\x1b[0m");
        assert_eq!(on.bold("x"), "\x1b[1mx\x1b[0m");
        assert_eq!(on.dim("x"), "\x1b[2mx\x1b[0m");
        let off = Style { color: false };
        assert_eq!(off.red("x"), "x");
        assert_eq!(off.dim("x"), "x");
    }
}
