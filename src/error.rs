//! Errors and exit codes.
//!
//! Every area of the library has its own typed error (`canon::Error`,
//! `store::Error`, …). Each implements [`Diagnostic`], which says which exit
//! code of docs/ARCHITECTURE.md#errors it maps to and what the user should do next. The CLI renders
//! them in one place (`cli::render_error`); nothing below the CLI prints.

use std::fmt;

/// The exit codes of docs/ARCHITECTURE.md#errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Success; no difference.
    Success,
    /// A difference was found (diff-config, compare, verify).
    Different,
    /// Usage error or invalid input.
    Usage,
    /// Config drift; resume refused.
    Drift,
    /// Busy or conflict: the run is locked, or `--expect` did not match.
    Busy,
    /// Corrupt store or state.
    Corrupt,
    /// Refused by the run's state.
    Refused,
    /// `rk resume` after dispatch: the orchestrator's own exit code.
    Child(i32),
}

impl Exit {
    pub fn code(self) -> i32 {
        match self {
            Exit::Success => 0,
            Exit::Different => 1,
            Exit::Usage => 2,
            Exit::Drift => 3,
            Exit::Busy => 4,
            Exit::Corrupt => 5,
            Exit::Refused => 6,
            Exit::Child(code) => code,
        }
    }
}

/// What every error of the library can say about itself.
pub trait Diagnostic: std::error::Error {
    /// The exit code this error ends the process with.
    fn exit(&self) -> Exit;
    /// What to do next, when there is something useful to say.
    fn hint(&self) -> Option<String> {
        None
    }
}

/// The library's error: one variant per area, plus refusals decided by a
/// command itself (drift, busy, refused by state) which carry their own exit
/// code and hint.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Canon(#[from] crate::canon::Error),
    #[error(transparent)]
    Project(#[from] crate::project::Error),
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error(transparent)]
    State(#[from] crate::state::Error),
    #[error(transparent)]
    Trials(#[from] crate::trials::Error),
    #[error(transparent)]
    Slurm(#[from] crate::slurm::Error),
    /// A refusal or failure decided by a command.
    #[error("{message}")]
    Refusal {
        exit: Exit,
        message: String,
        hint: Option<String>,
    },
    /// Writing to stdout failed. A closed pipe is handled by the CLI and ends
    /// the process quietly with status 0.
    #[error("cannot write output: {0}")]
    Output(#[source] std::io::Error),
}

impl Error {
    /// A refusal with an exit code, a one-line message and an optional hint.
    pub fn refusal(exit: Exit, message: impl fmt::Display, hint: Option<String>) -> Error {
        Error::Refusal {
            exit,
            message: message.to_string(),
            hint,
        }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl fmt::Display, hint: Option<String>) -> Error {
        Error::refusal(Exit::Usage, message, hint)
    }

    pub fn exit(&self) -> Exit {
        match self {
            Error::Canon(e) => e.exit(),
            Error::Project(e) => e.exit(),
            Error::Store(e) => e.exit(),
            Error::State(e) => e.exit(),
            Error::Trials(e) => e.exit(),
            Error::Slurm(e) => e.exit(),
            Error::Refusal { exit, .. } => *exit,
            Error::Output(_) => Exit::Usage,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Canon(e) => e.hint(),
            Error::Project(e) => e.hint(),
            Error::Store(e) => e.hint(),
            Error::State(e) => e.hint(),
            Error::Trials(e) => e.hint(),
            Error::Slurm(e) => e.hint(),
            Error::Refusal { hint, .. } => hint.clone(),
            Error::Output(_) => None,
        }
    }

    /// True when the error is a write to a closed pipe (`rk list | head -1`).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

impl From<std::io::Error> for Error {
    /// Only output errors reach this conversion: every file operation of the
    /// library goes through an area error that names its path.
    fn from(e: std::io::Error) -> Error {
        Error::Output(e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
