//! The run state, `run_state.json` (SPEC §3), and the one way to change it.
//!
//! The one idea: every writer — plumbing and porcelain alike — goes through
//! [`commit`], which records a snapshot in the store, takes the same flock the
//! orchestrator takes, checks `--expect`, replaces the file atomically, and
//! moves HEAD. A version the orchestrator wrote between two rk commands is
//! first recorded as an `observed` snapshot, so history never loses one.

mod fsck;
mod model;
mod session_job;
mod status;

pub use fsck::{fsck, FsckReport};
pub use model::{
    pipeline_of, DriftRecord, Extra, Gate, Note, Phase, PhaseStatus, Problem, RunState, Session,
};
pub use status::{from_phases, overall_status, overall_status_with_job, OverallStatus};

use crate::canon::{canonical_bytes, Value as CanonValue};
use crate::error::{Diagnostic, Exit};
use crate::project::{RunDir, Settings};
use crate::store::{self, atomic, LogEntry, ObjectId, StateLock, Store};
use std::path::{Path, PathBuf};

/// Why a state could not be read or accepted.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The state file on disk is unreadable, truncated or of the wrong shape.
    #[error("corrupt {path}: {problem}{}", match last_good { Some(id) => format!("; last good snapshot: {id}"), None => String::new() })]
    Corrupt {
        path: String,
        problem: Problem,
        rid: String,
        last_good: Option<ObjectId>,
    },
    /// A state given as input (stdin) is not a valid state; nothing was written.
    #[error("invalid state from {origin}: {problem}; nothing was written")]
    Invalid { origin: String, problem: Problem },
    /// The run has no state file.
    #[error("{path} does not exist")]
    NoState { path: String, rid: String },
}

impl Diagnostic for Error {
    fn exit(&self) -> Exit {
        match self {
            Error::Corrupt { .. } => Exit::Corrupt,
            Error::Invalid { .. } | Error::NoState { .. } => Exit::Usage,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Error::Corrupt { rid, last_good, .. } => {
                Some(store::recovery_hint(rid, last_good.as_ref()))
            }
            Error::Invalid { .. } => Some(
                "give one JSON object in the shape of run_state.json version 1 (see `man rk-write-state`)".into(),
            ),
            Error::NoState { rid, .. } => Some(format!(
                "a run without a state (a legacy run) gets one with `rk migrate {rid}`"
            )),
        }
    }
}

/// The path of a run's state file.
pub fn state_path(run: &RunDir, settings: &Settings) -> PathBuf {
    run.path.join(&settings.state_file)
}

/// What the working state file holds.
enum Working {
    Missing,
    Valid(serde_json::Value),
    Corrupt(Vec<u8>),
}

fn read_working(path: &Path) -> Result<Working, store::Error> {
    let bytes = match store::atomic::read_regular(path, store::atomic::limit::STATE) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Working::Missing),
        Err(e) => return Err(store::io_err(path, e)),
    };
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(v) if RunState::from_json(v.clone()).is_ok() => Ok(Working::Valid(v)),
        _ => Ok(Working::Corrupt(bytes)),
    }
}

/// Load a run's state. Missing → `Ok(None)`; truncated, not an object or
/// of the wrong types → [`Error::Corrupt`] with the last good snapshot.
pub fn load(run: &RunDir, settings: &Settings) -> Result<Option<RunState>, Error> {
    let path = state_path(run, settings);
    let corrupt = |problem: Problem| Error::Corrupt {
        path: path.display().to_string(),
        problem,
        rid: run.rid.clone(),
        last_good: Store::new(run).last_good_snapshot(),
    };
    let bytes = match store::atomic::read_regular(&path, store::atomic::limit::STATE) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(corrupt(Problem {
                pointer: String::new(),
                message: format!("cannot be read: {e}"),
            }))
        }
    };
    RunState::from_slice(&bytes).map(Some).map_err(corrupt)
}

/// Parse a state given as input (stdin of `rk write-state`): any problem is
/// [`Error::Invalid`] (exit 2).
pub fn parse_input(bytes: &[u8], origin: &str) -> Result<RunState, Error> {
    RunState::from_slice(bytes).map_err(|problem| Error::Invalid {
        origin: origin.into(),
        problem,
    })
}

/// The compare-and-swap condition of a write (`--expect`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// No condition.
    Any,
    /// The run must have no HEAD yet (`--expect none`).
    NoHead,
    /// HEAD must be this snapshot.
    Head(ObjectId),
}

/// What [`commit`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    /// The new snapshot, now HEAD.
    pub id: ObjectId,
    /// The `observed` snapshot recorded first, when `run_state.json` had
    /// changed since HEAD.
    pub observed: Option<ObjectId>,
    /// Things the caller should tell the user (a corrupt file kept aside, a
    /// corrupt HEAD bypassed).
    pub warnings: Vec<String>,
}

/// Write a new state: the write protocol of SPEC §5.3, used by every writer.
///
/// 1. build the new state's JSON (a `RunState` is valid by construction);
/// 2. take `.state.lock` (bounded wait, then exit 4 naming the holder);
/// 3. check `expect` against HEAD (mismatch: exit 4, nothing changed);
/// 4. when `run_state.json` differs from HEAD's state, record it first as an
///    `observed` snapshot (log + HEAD); a corrupt file is copied aside to
///    `<state_file>.corrupt.<ts>` instead;
/// 5. write the snapshot object (parent = HEAD; `config` = the given config
///    object, else the parent's), replace `run_state.json` atomically, append
///    the log line, replace HEAD; release the lock.
///
/// Snapshot objects are written under the lock because their `parent` is
/// only known there; an object orphaned by a crash is harmless.
///
/// With `Expect::Any`, an unreadable HEAD (garbage, or a missing or corrupt
/// snapshot) does not block the write: the new snapshot's parent is the last
/// good snapshot, and a warning says so. This is what makes
/// `rk read-state RUN --at ID | rk write-state RUN` a recovery.
pub fn commit(
    run: &RunDir,
    settings: &Settings,
    new: &RunState,
    op: &str,
    message: &str,
    expect: &Expect,
    config: Option<ObjectId>,
) -> Result<Committed, crate::Error> {
    let new_json = new.to_json(&settings.phases);
    let store = Store::new(run);
    let state_file = state_path(run, settings);
    atomic::refuse_symlink(&state_file).map_err(|e| store::io_err(&state_file, e))?;
    let _lock = StateLock::acquire(&run.path.join(&settings.state_lock))?;
    let mut warnings = Vec::new();

    let head = store.read_head();
    if *expect != Expect::Any {
        let current = match head {
            Ok(ref h) => h.clone(),
            Err(e) => return Err(e.into()),
        };
        let matches = match expect {
            Expect::NoHead => current.is_none(),
            Expect::Head(x) => current.as_ref() == Some(x),
            Expect::Any => true,
        };
        if !matches {
            return Err(store::Error::ExpectMismatch {
                expected: match expect {
                    Expect::Head(x) => x.to_string(),
                    _ => "none".into(),
                },
                actual: current.map_or("none (no snapshot yet)".into(), |h| h.to_string()),
            }
            .into());
        }
    }

    // The parent snapshot: HEAD, or (no condition, HEAD unreadable) the last good one.
    let mut parent = match head.and_then(|h| h.map(|id| store.read_snapshot(&id)).transpose()) {
        Ok(parent) => parent,
        Err(e) if *expect != Expect::Any => return Err(e.into()),
        Err(e) => {
            warnings.push(format!(
                "{e}; the new snapshot continues from the last good one"
            ));
            store
                .last_good_snapshot()
                .and_then(|id| store.read_snapshot(&id).ok())
        }
    };
    let now = crate::clock::now();
    let time = now.to_string();

    let mut observed = None;
    match read_working(&state_file)? {
        Working::Missing => {}
        Working::Corrupt(bytes) => {
            let aside = PathBuf::from(format!(
                "{}.corrupt.{}",
                state_file.display(),
                crate::clock::file_stamp(now)
            ));
            atomic::write_atomic(&aside, &bytes, atomic::FILE_MODE)
                .map_err(|e| store::io_err(&aside, e))?;
            warnings.push(format!(
                "{} was corrupt; its bytes are kept in {}",
                state_file.display(),
                aside.display()
            ));
        }
        Working::Valid(value) => {
            let differs = parent.as_ref().is_none_or(|p| {
                canonical_bytes(&CanonValue::from(&p.state))
                    != canonical_bytes(&CanonValue::from(&value))
            });
            if differs {
                let parent_id = parent.as_ref().map(|p| p.id.clone());
                let parent_config = parent.as_ref().and_then(|p| p.config.clone());
                let id = store.put_snapshot(
                    parent_id.as_ref(),
                    &time,
                    "observed",
                    "run_state.json as found before an rk write",
                    parent_config.as_ref(),
                    &value,
                )?;
                move_head(
                    &store,
                    parent_id,
                    &id,
                    now.unix_ms(),
                    "observed",
                    "run_state.json as found",
                )?;
                parent = Some(store.read_snapshot(&id)?);
                observed = Some(id);
            }
        }
    }

    let parent_id = parent.as_ref().map(|p| p.id.clone());
    let config = config.or_else(|| parent.as_ref().and_then(|p| p.config.clone()));
    let id = store.put_snapshot(
        parent_id.as_ref(),
        &time,
        op,
        message,
        config.as_ref(),
        &new_json,
    )?;
    atomic::write_atomic(
        &state_file,
        new.to_pretty(&settings.phases).as_bytes(),
        atomic::FILE_MODE,
    )
    .map_err(|e| store::io_err(&state_file, e))?;
    move_head(&store, parent_id, &id, now.unix_ms(), op, message)?;
    Ok(Committed {
        id,
        observed,
        warnings,
    })
}

/// Append the log line, then replace HEAD (SPEC §5.3 step 5).
fn move_head(
    store: &Store,
    old: Option<ObjectId>,
    new: &ObjectId,
    unix_ms: i64,
    op: &str,
    message: &str,
) -> Result<(), store::Error> {
    store.append_log(&LogEntry {
        old,
        new: new.clone(),
        unix_ms,
        op: op.into(),
        message: message.into(),
    })?;
    store.write_head(new)
}
