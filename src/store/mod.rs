//! rk's store for one run, `<run>/.rk/` (SPEC §5). To be written.

use crate::error::{Diagnostic, Exit};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Diagnostic for Error {
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}
