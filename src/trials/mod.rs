//! Trial manifests (SPEC §4), their discovery, and the evidence rules that
//! infer a phase's status from files on disk (SPEC §7.2). To be written.

use crate::error::{Diagnostic, Exit};

/// How `migrate` infers one phase from a trial directory (rk.yaml `evidence`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvidenceRule {
    /// `{always: completed}`: completed once any trial exists.
    Always,
    /// `{file: PATH}`: the file (relative to the trial dir) exists and is non-empty.
    File(String),
    /// `{jobs: recorded}`: every expected part has a `job_status` entry.
    JobsRecorded,
    /// `{jobs: downloaded}`: every expected part has results on disk.
    JobsDownloaded,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read {
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
