//! rk's store for one run, `<run>/.rk/` (docs/FORMATS.md#the-store): content-addressed objects,
//! HEAD, the log of HEAD moves, and the locks.
//!
//! The one idea: nothing rk has recorded can be lost or silently altered.
//! Objects are written once and re-hashed on every read; HEAD and
//! `run_state.json` are replaced atomically; the log is append-only. A crash
//! at any instant leaves every snapshot that HEAD or the log names readable.
//! Corruption is never repaired behind the user's back: it is reported with
//! the path, the last good snapshot and the command that recovers from it.

pub mod atomic;
pub mod lock;
mod object;
mod refs;

pub use lock::{DispatchLock, Holder, StateLock};
pub use object::{ObjectId, Snapshot};
pub use refs::{LogEntry, LogLineDocument};

use crate::exit::{Diagnostic, Exit};
use std::path::{Path, PathBuf};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// ENOSPC, EDQUOT or EFBIG: nothing is corrupt, the write did not fit.
    #[error("{path}: the file system refused the write ({source}); nothing was half-written: each file rk writes is replaced whole or not at all")]
    NoSpace {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("corrupt object {path}: {reason}{}", last_good_suffix(last_good))]
    CorruptObject {
        path: String,
        reason: String,
        rid: String,
        last_good: Option<ObjectId>,
    },
    #[error(
        "missing object {id} (expected at {path}){}",
        last_good_suffix(last_good)
    )]
    MissingObject {
        id: ObjectId,
        path: String,
        rid: String,
        last_good: Option<ObjectId>,
    },
    #[error("corrupt {path}: {reason}{}", last_good_suffix(last_good))]
    CorruptHead {
        path: String,
        reason: String,
        rid: String,
        last_good: Option<ObjectId>,
    },
    #[error("corrupt {path}, line {line}: {reason}")]
    CorruptLog {
        path: String,
        line: usize,
        reason: String,
        rid: String,
        last_good: Option<ObjectId>,
    },
    #[error("fsck found {count} problem{} in {path}{}", if *count == 1 { "" } else { "s" }, last_good_suffix(last_good))]
    FsckFailed {
        path: String,
        count: usize,
        rid: String,
        last_good: Option<ObjectId>,
        /// HEAD reads back intact: the damage is elsewhere in the history.
        head_intact: bool,
    },
    #[error("{given:?} is not a snapshot id: {reason}")]
    BadRevision { given: String, reason: String },
    #[error("no object {given:?} in {path}")]
    UnknownObject { given: String, path: String },
    #[error("{given:?} is ambiguous: it starts {}", candidates.join(", "))]
    Ambiguous {
        given: String,
        candidates: Vec<String>,
    },
    #[error("{path} is locked by another writer{}; gave up after {waited_ms} ms", holder.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    LockBusy {
        path: String,
        holder: Option<String>,
        waited_ms: u64,
    },
    #[error("--expect {expected} does not match: HEAD is {actual}; nothing was written")]
    ExpectMismatch { expected: String, actual: String },
    #[error("run {rid} is busy: {holder}")]
    RunBusy { rid: String, holder: Holder },
}

fn last_good_suffix(last_good: &Option<ObjectId>) -> String {
    match last_good {
        Some(id) => format!("; last good snapshot: {id}"),
        None => "; no good snapshot is left in the store".into(),
    }
}

/// The recovery recipe for a corrupt store or state.
pub fn recovery_hint(rid: &str, last_good: Option<&ObjectId>) -> String {
    match last_good {
        Some(id) => {
            let id = id.short();
            format!(
                "recover the last good snapshot with `rk restore {rid} --at {id}` (the same as `rk read-state {rid} --at {id} | rk write-state {rid}`), then run `rk fsck {rid}`"
            )
        }
        None => format!(
            "no snapshot can be recovered; move the damaged file aside and run `rk migrate {rid}` to rebuild a state from the files on disk"
        ),
    }
}

impl Diagnostic for Error {
    fn exit(&self) -> Exit {
        match self {
            Error::Io { .. } => Exit::Corrupt,
            Error::NoSpace { .. } => Exit::Busy,
            Error::CorruptObject { .. }
            | Error::MissingObject { .. }
            | Error::CorruptHead { .. }
            | Error::CorruptLog { .. }
            | Error::FsckFailed { .. } => Exit::Corrupt,
            Error::BadRevision { .. } | Error::UnknownObject { .. } | Error::Ambiguous { .. } => {
                Exit::Usage
            }
            Error::LockBusy { .. } | Error::ExpectMismatch { .. } | Error::RunBusy { .. } => {
                Exit::Busy
            }
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Error::Io { path, source } if source.kind() == std::io::ErrorKind::InvalidInput => {
                Some(format!(
                    "rk reads only regular files: move {path} aside or replace it with the file rk expects, then run the command again"
                ))
            }
            Error::Io { .. } => Some("check the path, its permissions and free space".into()),
            Error::NoSpace { .. } => Some(
                "free space on that file system (or raise the quota or the file size limit), then run the command again".into(),
            ),
            Error::FsckFailed {
                rid,
                head_intact: true,
                ..
            } => Some(format!(
                "HEAD and the state it names are intact; `rk fsck {rid} --prune` sets the damaged objects aside in .rk/corrupt/ (or rebuilds them when the config file still hashes to them), then `rk fsck {rid}` passes"
            )),
            Error::FsckFailed { rid, last_good: Some(id), .. } => Some(format!(
                "recover the last good snapshot with `rk restore {rid} --at {}`, then run `rk fsck {rid} --prune` to set the damaged objects aside",
                id.short()
            )),
            Error::CorruptLog { rid, .. } => Some(format!(
                "`rk fsck {rid} --prune` keeps the damaged log as log.corrupt.<time> and rewrites it with its well-formed lines; the snapshots are not touched"
            )),
            Error::CorruptObject { rid, last_good, .. }
            | Error::MissingObject { rid, last_good, .. }
            | Error::CorruptHead { rid, last_good, .. }
            | Error::FsckFailed { rid, last_good, .. } => {
                Some(recovery_hint(rid, last_good.as_ref()))
            }
            Error::BadRevision { .. } => Some(
                "name a snapshot by its id (at least 4 hex digits), HEAD or HEAD~N; `rk log RUN` lists them".into(),
            ),
            Error::UnknownObject { .. } => Some("`rk log RUN` lists the snapshots of the run".into()),
            Error::Ambiguous { .. } => Some("give more hex digits of the id".into()),
            Error::LockBusy { .. } => Some(
                "another process is writing the run state; wait for it and run the command again"
                    .into(),
            ),
            Error::ExpectMismatch { .. } => Some(
                "the state changed since you read it; read it again (`rk read-state RUN`, `rk log RUN`) and retry".into(),
            ),
            Error::RunBusy { .. } => Some(
                "wait for the orchestrator to end, or stop it with `rk stop RUN`".into(),
            ),
        }
    }
}

pub(crate) fn io_err(path: &Path, source: std::io::Error) -> Error {
    let path = path.display().to_string();
    if is_full(&source) {
        Error::NoSpace { path, source }
    } else {
        Error::Io { path, source }
    }
}

/// Whether an I/O error says the write did not fit: no space left (ENOSPC),
/// quota exceeded (EDQUOT), or past the file size limit (EFBIG).
pub fn is_full(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOSPC | libc::EDQUOT | libc::EFBIG)
    )
}

/// The store of one run.
#[derive(Clone, Debug)]
pub struct Store {
    rid: String,
    dir: PathBuf,
}

impl Store {
    /// The store of a run, whether or not `.rk/` exists yet. Nothing is
    /// created until something is written.
    pub fn new(run: &crate::project::RunDir) -> Store {
        Store {
            rid: run.rid.clone(),
            dir: run.store_dir(),
        }
    }

    /// `<run>/.rk`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The run id, for messages.
    pub fn rid(&self) -> &str {
        &self.rid
    }

    pub fn objects_dir(&self) -> PathBuf {
        self.dir.join("objects")
    }

    pub fn head_path(&self) -> PathBuf {
        self.dir.join("HEAD")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("log")
    }

    /// Whether `.rk/` exists.
    pub fn exists(&self) -> bool {
        self.dir.is_dir()
    }

    /// Create `dir` (and parents below the run dir) when missing, refusing
    /// symlinks on the way.
    fn ensure_dir(&self, dir: &Path) -> Result<(), Error> {
        // `.rk`, then every directory from it down to `dir` (`.rk/objects`,
        // `.rk/objects/ab`): a symlink anywhere on the way would send
        // objects out of the run.
        let mut chain: Vec<&Path> = dir
            .ancestors()
            .take_while(|d| d.starts_with(&self.dir))
            .collect();
        chain.reverse();
        for d in chain {
            match std::fs::symlink_metadata(d) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(io_err(
                        d,
                        std::io::Error::other("is a symlink; rk never writes through a symlink"),
                    ))
                }
                Ok(_) => {}
                Err(_) => {
                    atomic::create_dir_all(d).map_err(|e| io_err(d, e))?;
                }
            }
        }
        Ok(())
    }

    /// The newest snapshot that still reads back intact: HEAD, else the
    /// newest `new` id of the log that does. Used to tell a user with a
    /// corrupt store or state what to recover.
    pub fn last_good_snapshot(&self) -> Option<ObjectId> {
        let mut candidates = Vec::new();
        if let Ok(Some(head)) = self.read_head() {
            candidates.push(head);
        }
        if let Ok(entries) = self.read_log() {
            candidates.extend(entries.into_iter().rev().map(|e| e.new));
        }
        candidates.into_iter().find(|id| self.snapshot_intact(id))
    }

    /// Whether `id` reads back as an intact snapshot (no error reporting).
    pub(crate) fn snapshot_intact(&self, id: &ObjectId) -> bool {
        atomic::read_regular(&self.object_path(id), atomic::limit::STATE)
            .ok()
            .filter(|b| &ObjectId::of(b) == id)
            .and_then(|b| object::parse_snapshot(id, &b).ok())
            .is_some()
    }
}
