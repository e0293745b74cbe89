//! Exit codes, and what every error of the library says about itself.
//!
//! The one idea: this module imports nothing from the crate. Every area
//! (`canon`, `store`, `state`, …) implements [`Diagnostic`] for its own
//! typed error using only this module, so no area depends on the aggregate
//! [`crate::Error`], which depends on all of them (docs/ARCHITECTURE.md#layers).

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
