//! The library's error, as `ops` and `cli` see it.
//!
//! Every area of the library has its own typed error (`canon::Error`,
//! `store::Error`, …). Each implements [`Diagnostic`] (in the leaf module
//! [`crate::exit`]), which says which exit code of docs/ARCHITECTURE.md#errors
//! it maps to and what the user should do next. [`Error`] gathers them for
//! the commands, so this module sits above every area and no area imports it
//! (docs/ARCHITECTURE.md#layers). The CLI renders them in one place
//! (`cli::render_error`); nothing below the CLI prints.

pub use crate::exit::{Diagnostic, Exit};
use std::fmt;

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

impl From<crate::run_config::Error> for Error {
    fn from(e: crate::run_config::Error) -> Self {
        match e {
            crate::run_config::Error::Store(e) => Error::Store(e),
            crate::run_config::Error::Canon(e) => Error::Canon(e),
        }
    }
}

impl From<crate::drift::Unrecordable> for Error {
    fn from(e: crate::drift::Unrecordable) -> Self {
        let hint = e.hint();
        Error::refusal(e.exit(), e, hint)
    }
}

impl From<crate::pool::Panicked> for Error {
    fn from(e: crate::pool::Panicked) -> Self {
        Error::usage(
            e,
            Some("this is a bug in rk: please report it with the panic message above".into()),
        )
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
