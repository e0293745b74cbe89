//! How output looks: colour on a terminal only (never with `NO_COLOR` or
//! `--color never`), and the small styling vocabulary the commands share.

use std::io::IsTerminal;

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

/// ANSI styles, applied only when colour is on.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn red(self, text: &str) -> String {
        self.paint("31", text)
    }

    pub fn green(self, text: &str) -> String {
        self.paint("32", text)
    }

    pub fn yellow(self, text: &str) -> String {
        self.paint("33", text)
    }

    pub fn cyan(self, text: &str) -> String {
        self.paint("36", text)
    }

    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    /// `text` in the colour of a run's overall status.
    pub fn status(self, status: crate::state::OverallStatus, text: &str) -> String {
        use crate::state::OverallStatus as S;
        match status {
            S::Failed | S::Corrupt => self.red(text),
            S::Completed | S::Archived => self.green(text),
            S::Running | S::Queued => self.cyan(text),
            S::Interrupted | S::Stopped => self.yellow(text),
            S::NotStarted | S::NoState => self.dim(text),
        }
    }
}
