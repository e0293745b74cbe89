//! The run state, `run_state.json` (SPEC §3). To be written.

use crate::error::{Diagnostic, Exit};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {message}")]
    Corrupt { path: String, message: String },
}

impl Diagnostic for Error {
    fn exit(&self) -> Exit {
        Exit::Corrupt
    }
}
