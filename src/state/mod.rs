//! The run state, `run_state.json` (docs/FORMATS.md#run-state), and the one way to change it.
//!
//! The one idea: every writer — plumbing and porcelain alike — goes through
//! [`commit`], which takes the same flock the orchestrator takes *before* it
//! reads, records a version someone else wrote as an `observed` snapshot,
//! checks `--expect` against what it read, and applies the command's change
//! to that — never a state prepared before the lock. Then it writes the
//! snapshot, replaces the file atomically and moves HEAD. No update by
//! anyone is lost: two writers both land, or one is refused (exit 4).

mod fsck;
pub mod gates;
mod model;
pub mod python_archive;
pub mod records;
mod session_job;
mod status;

pub use fsck::{fsck, prune, FsckReport};
pub use model::{
    pipeline_of, DriftRecord, Extra, Gate, Note, Phase, PhaseStatus, Problem, RunState, Session,
};
pub use records::trim_sessions;
pub use session_job::SlurmJob;
pub use status::{
    from_phases, overall_status, overall_status_of_holder, overall_status_with_job, skipped,
    OverallStatus,
};

use crate::canon::{canonical_bytes, Value as CanonValue};
use crate::exit::{Diagnostic, Exit};
use crate::project::{RunDir, Settings};
use crate::store::{self, atomic, LogEntry, ObjectId, Snapshot, StateLock, Store};
use std::path::{Path, PathBuf};

/// Why a state could not be read, accepted or written.
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
    /// The state file exists but rk may not read it (its owner or mode): not
    /// damaged, so no snapshot is offered in its place.
    #[error("{path} cannot be read: {reason}")]
    Unreadable { path: String, reason: String },
    /// A state given as input (stdin) is not a valid state; nothing was written.
    #[error("invalid state from {origin}: {problem}; nothing was written")]
    Invalid { origin: String, problem: Problem },
    /// The run has no state file.
    #[error("{path} does not exist")]
    NoState { path: String, rid: String },
    /// `--expect HEAD…`: a condition must name a snapshot by its id.
    #[error("--expect {given}: name the snapshot by its id, not by HEAD")]
    ExpectHead { given: String, rid: String },
    /// `run_state.json` was replaced, but the store's log and HEAD could not
    /// be moved (a full disk, an I/O error): the change is in place, and the
    /// next write records it as `observed`.
    #[error("{path} was written, but the store could not record it: {source}")]
    Unrecorded {
        path: String,
        rid: String,
        source: Box<store::Error>,
    },
    /// The store under the state failed (lock, objects, log, HEAD, files).
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl Diagnostic for Error {
    fn exit(&self) -> Exit {
        match self {
            Error::Corrupt { .. } | Error::Unreadable { .. } => Exit::Corrupt,
            Error::Invalid { .. } | Error::NoState { .. } | Error::ExpectHead { .. } => Exit::Usage,
            Error::Unrecorded { source, .. } => source.exit(),
            Error::Store(e) => e.exit(),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Error::Corrupt { rid, last_good, .. } => {
                Some(store::recovery_hint(rid, last_good.as_ref()))
            }
            Error::Unreadable { path, .. } => Some(unreadable_hint(path)),
            Error::Invalid { .. } => Some(
                "give one JSON object in the shape of run_state.json version 1 (see `man rk-write-state`)".into(),
            ),
            Error::NoState { rid, .. } => Some(no_state_hint(rid)),
            Error::ExpectHead { rid, .. } => Some(format!(
                "`rk read-state {rid} --with-id` prints the id of the state it shows"
            )),
            Error::Unrecorded { rid, source, .. } => Some(format!(
                "the change is in place: check `rk status {rid}` before running the command again (it would be made twice); the next rk write records it in the store{}",
                if matches!(**source, store::Error::NoSpace { .. }) {
                    "; free space on that file system first"
                } else {
                    ""
                }
            )),
            Error::Store(e) => e.hint(),
        }
    }
}

impl Error {
    /// The refusal of a command that needs the run's state and finds none.
    pub fn no_state(run: &RunDir, settings: &Settings) -> Error {
        Error::NoState {
            path: state_path(run, settings).display().to_string(),
            rid: run.rid.clone(),
        }
    }
}

/// What to do about a run without a state, for every command that needs one.
pub fn no_state_hint(rid: &str) -> String {
    format!("a run without a state (a legacy run) gets one with `rk migrate {rid}`")
}

/// What to do about a state file rk may not read: see who owns it and its
/// mode (it is not damaged, so restoring a snapshot over it is no remedy).
pub fn unreadable_hint(path: &str) -> String {
    format!(
        "the file is not damaged: check its owner and mode with `{}` and run rk as a user who may read it",
        unreadable_next(path)
    )
}

/// The command that shows why a state file cannot be read.
pub fn unreadable_next(path: &str) -> String {
    format!("ls -l {}", crate::dispatch::shell_word(path))
}

/// The path of a run's state file.
pub fn state_path(run: &RunDir, settings: &Settings) -> PathBuf {
    run.path.join(&settings.state_file)
}

/// What the working state file holds.
enum Working {
    Missing,
    Valid(serde_json::Value),
    Corrupt(Vec<u8>, Problem),
}

fn read_working(path: &Path) -> Result<Working, store::Error> {
    let bytes = match store::atomic::read_regular(path, store::atomic::limit::STATE) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Working::Missing),
        Err(e) => return Err(store::io_err(path, e)),
    };
    let value = match crate::python_json::value(&bytes) {
        Ok(v) => v,
        Err(_) => {
            let problem = RunState::from_slice(&bytes).err().unwrap_or(Problem {
                pointer: String::new(),
                message: "not a run state".into(),
            });
            return Ok(Working::Corrupt(bytes, problem));
        }
    };
    match RunState::from_json(value.clone()) {
        Ok(_) => Ok(Working::Valid(value)),
        Err(problem) => Ok(Working::Corrupt(bytes, problem)),
    }
}

/// Load a run's state as every reader shows it: `run_state.json` with rk's
/// own records merged back in (see [`records`]). Missing → `Ok(None)`;
/// truncated, not an object or of the wrong types → [`Error::Corrupt`] with
/// the last good snapshot.
pub fn load(run: &RunDir, settings: &Settings) -> Result<Option<RunState>, Error> {
    let Some(mut state) = load_file(run, settings)? else {
        return Ok(None);
    };
    let store = Store::new(run);
    if let Ok(Some(head)) = store.read_head() {
        let head = store.read_snapshot(&head).ok();
        if let Some(own) = records::own_record(&store, head.as_ref()) {
            records::merge(&mut state, &own);
        }
    }
    Ok(Some(state))
}

/// Load `run_state.json` exactly as the file says, without rk's records.
pub fn load_file(run: &RunDir, settings: &Settings) -> Result<Option<RunState>, Error> {
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
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(Error::Unreadable {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
        }
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
    /// The run must have no state and no snapshot yet (`--expect none`).
    NoHead,
    /// The state read under the lock must be the one this snapshot recorded,
    /// unchanged since: HEAD is this snapshot and the file still holds its
    /// state.
    Head(ObjectId),
}

impl Expect {
    /// `--expect`'s value: `none`, or a snapshot id (full, or a unique
    /// prefix of at least 4 hex digits). `HEAD` is refused: HEAD is what is
    /// compared. An id the store does not hold can never match: exit 4.
    pub fn parse(run: &RunDir, given: &str) -> Result<Expect, Error> {
        if given == "none" {
            return Ok(Expect::NoHead);
        }
        if given.starts_with("HEAD") {
            return Err(Error::ExpectHead {
                given: given.into(),
                rid: run.rid.clone(),
            });
        }
        if let Some(id) = ObjectId::parse(given) {
            return Ok(Expect::Head(id));
        }
        let store = Store::new(run);
        match store.resolve(given) {
            Ok(id) => Ok(Expect::Head(id)),
            Err(store::Error::UnknownObject { .. }) => Err(store::Error::ExpectMismatch {
                expected: given.into(),
                actual: match store.read_head() {
                    Ok(Some(h)) => h.to_string(),
                    Ok(None) => "none (no snapshot yet)".into(),
                    Err(_) => "unreadable".into(),
                },
            }
            .into()),
            Err(e) => Err(e.into()),
        }
    }
}

/// What [`commit`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct Committed {
    /// The new snapshot, now HEAD.
    pub id: ObjectId,
    /// The `observed` snapshot recorded first, when `run_state.json` had
    /// changed since HEAD.
    pub observed: Option<ObjectId>,
    /// Things the caller should tell the user (a corrupt file kept aside, a
    /// corrupt HEAD bypassed, a crashed session closed).
    pub warnings: Vec<String>,
    /// The state as written.
    pub state: RunState,
}

/// The state a change is applied to: what `run_state.json` held when the
/// lock was taken, with rk's own records merged back in.
#[derive(Debug)]
pub struct Draft {
    /// The state to change. A run without a (readable) state file starts
    /// from a fresh one (`RunState::default()`); see [`Draft::found`].
    pub state: RunState,
    /// What the state file held when the lock was taken.
    pub found: Found,
    /// The config object the new snapshot names; starts as the parent's.
    pub config: Option<ObjectId>,
    /// Things to tell the user.
    pub warnings: Vec<String>,
}

/// What the state file held when a write took the lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// No state file.
    Missing,
    /// A readable state (now `Draft::state`).
    Valid,
    /// A corrupt file: its bytes are kept aside before the new state
    /// replaces it; `Draft::state` starts empty.
    Corrupt(Problem),
}

impl Draft {
    /// The state as found, or the error a command that needs one gives:
    /// exit 2 with `rk migrate` for a run without state, exit 5 for a
    /// corrupt one.
    pub fn require(&self, run: &RunDir, settings: &Settings) -> Result<(), Error> {
        match &self.found {
            Found::Valid => Ok(()),
            Found::Missing => Err(Error::no_state(run, settings)),
            Found::Corrupt(problem) => Err(Error::Corrupt {
                path: state_path(run, settings).display().to_string(),
                problem: problem.clone(),
                rid: run.rid.clone(),
                last_good: Store::new(run).last_good_snapshot(),
            }),
        }
    }
}

/// Change a run's state: the one write path, used by every command that
/// writes a run (docs/ARCHITECTURE.md, "The one write path").
///
/// 1. take `.state.lock` (bounded wait, then exit 4 naming the holder);
/// 2. read `run_state.json`; when it differs from HEAD's state, record it
///    first as an `observed` snapshot (log + HEAD), so no version anyone
///    wrote is lost; merge back rk's own records an orchestrator's rewrite
///    dropped ([`records`]);
/// 3. compare-and-swap: with `expect`, the state just read must be the one
///    the expected snapshot recorded, with no write by anyone since (`NoHead`:
///    no state and no snapshot yet), else
///    exit 4 with nothing changed (the `observed` snapshot stays recorded, so
///    the caller can re-read and retry);
/// 4. apply `change` to the state just read — never a state prepared before
///    the lock — then close sessions whose local holder died, trim sessions
///    to `sessions_keep`, and write the snapshot object;
/// 5. keep a corrupt file's bytes aside (never over an earlier aside), then
///    replace `run_state.json` atomically;
/// 6. append the log line, replace HEAD; release the lock.
///
/// `change` may refuse (return an error of its own type `E`, which a failure
/// of the write path converts into): then nothing is written but the
/// `observed` snapshot. What it returns is handed back with [`Committed`].
///
/// With `Expect::Any`, an unreadable HEAD does not block the write: the new
/// snapshot's parent is the last good snapshot, and a warning says so; this
/// is what makes `rk read-state RUN --at ID | rk write-state RUN` a recovery.
pub fn commit<T, E: From<Error>>(
    run: &RunDir,
    settings: &Settings,
    op: &str,
    message: &str,
    expect: &Expect,
    change: impl FnOnce(&mut Draft) -> Result<T, E>,
) -> Result<(Committed, T), E> {
    let store = Store::new(run);
    let state_file = state_path(run, settings);
    let _lock = lock(run, settings).map_err(Error::from)?;
    let now = crate::clock::now();
    let time = now.to_string();

    // 2. What the file holds now; a foreign version is recorded first.
    let Read {
        parent,
        found,
        mut state,
        corrupt_bytes,
        observed,
        own,
        warnings,
    } = read_locked(run, settings, &store, expect, now)?;

    // 3. Compare-and-swap against the state just read.
    check_expect(expect, &found, parent.as_ref()).map_err(Error::from)?;

    if let Some(own) = &own {
        if found == Found::Valid {
            records::merge(&mut state, own);
        }
    }
    let mut draft = Draft {
        state,
        found,
        config: parent.as_ref().and_then(|p| p.config.clone()),
        warnings,
    };

    // 4. The change, applied to what was read.
    let value = change(&mut draft)?;
    let Draft {
        state: mut new,
        config,
        mut warnings,
        ..
    } = draft;
    warnings.extend(records::close_crashed_sessions(
        &mut new,
        &time,
        store::DispatchLock::probe(run).is_some(),
    ));
    records::trim_sessions(&mut new, settings.sessions_keep);
    let pipeline = new.pipeline(&settings.phases);
    let new_json = new.to_json(&pipeline);
    let parent_id = parent.as_ref().map(|p| p.id.clone());
    let id = store
        .put_snapshot(
            parent_id.as_ref(),
            &time,
            op,
            message,
            config.as_ref(),
            &new_json,
        )
        .map_err(Error::from)?;

    // 5. The file.
    if let Some(bytes) = corrupt_bytes {
        let aside = atomic::write_aside(
            &state_file,
            "corrupt",
            &crate::clock::file_stamp(now),
            &bytes,
        )
        .map_err(|e| Error::from(store::io_err(&state_file, e)))?;
        warnings.push(format!(
            "{} was corrupt; its bytes are kept in {}",
            state_file.display(),
            aside.display()
        ));
    }
    atomic::write_atomic(
        &state_file,
        new.to_pretty(&pipeline).as_bytes(),
        atomic::FILE_MODE,
    )
    .map_err(|e| Error::from(store::io_err(&state_file, e)))?;

    // 6. Log and HEAD.
    move_head(&store, parent_id, &id, now.unix_ms(), op, message).map_err(|source| {
        Error::Unrecorded {
            path: state_file.display().to_string(),
            rid: run.rid.clone(),
            source: Box::new(source),
        }
    })?;
    Ok((
        Committed {
            id,
            observed,
            warnings,
            state: new,
        },
        value,
    ))
}

/// Take `.state.lock` (bounded wait; exit 4 naming the holder), refusing a
/// state file that is a symlink.
fn lock(run: &RunDir, settings: &Settings) -> Result<StateLock, store::Error> {
    let state_file = state_path(run, settings);
    atomic::refuse_symlink(&state_file).map_err(|e| store::io_err(&state_file, e))?;
    StateLock::acquire(&run.path.join(&settings.state_lock))
}

/// What a writer found under the lock.
struct Read {
    /// The snapshot recording `state`: HEAD, or the `observed` one just
    /// recorded (or, HEAD unreadable and no condition, the last good one).
    parent: Option<Snapshot>,
    found: Found,
    /// The file's state, without rk's records merged in.
    state: RunState,
    corrupt_bytes: Option<Vec<u8>>,
    observed: Option<ObjectId>,
    /// rk's own records (the last snapshot rk wrote itself).
    own: Option<RunState>,
    warnings: Vec<String>,
}

/// Read HEAD and `run_state.json` (the caller holds `.state.lock`); a
/// version someone wrote since HEAD is recorded first as an `observed`
/// snapshot, so no version anyone wrote is lost.
fn read_locked(
    run: &RunDir,
    settings: &Settings,
    store: &Store,
    expect: &Expect,
    now: crate::clock::Timestamp,
) -> Result<Read, Error> {
    let state_file = state_path(run, settings);
    let mut warnings = Vec::new();
    // The parent snapshot: HEAD, or (no condition, HEAD unreadable) the last good one.
    let head = store.read_head();
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
    let own = records::own_record(store, parent.as_ref());
    let mut observed = None;
    let (found, state, corrupt_bytes) = match read_working(&state_file)? {
        Working::Missing => (Found::Missing, RunState::default(), None),
        Working::Corrupt(bytes, problem) => {
            (Found::Corrupt(problem), RunState::default(), Some(bytes))
        }
        Working::Valid(value) => {
            let differs = parent
                .as_ref()
                .is_none_or(|p| !same_state(&p.state, &value));
            if differs {
                let parent_id = parent.as_ref().map(|p| p.id.clone());
                let parent_config = parent.as_ref().and_then(|p| p.config.clone());
                let id = store.put_snapshot(
                    parent_id.as_ref(),
                    &now.to_string(),
                    records::OBSERVED,
                    "run_state.json as found before an rk write",
                    parent_config.as_ref(),
                    &value,
                )?;
                move_head(
                    store,
                    parent_id,
                    &id,
                    now.unix_ms(),
                    records::OBSERVED,
                    "run_state.json as found",
                )?;
                parent = Some(store.read_snapshot(&id)?);
                observed = Some(id);
            }
            let state = RunState::from_json(value).map_err(|problem| Error::Corrupt {
                path: state_file.display().to_string(),
                problem,
                rid: run.rid.clone(),
                last_good: None,
            })?;
            (Found::Valid, state, None)
        }
    };
    Ok(Read {
        parent,
        found,
        state,
        corrupt_bytes,
        observed,
        own,
        warnings,
    })
}

/// `rk read-state --with-id` (format_version 1, rk-read-state(1)):
/// `{"format_version": 1, "id": ID, "state": {…}}`, printed pretty; `id` is
/// the snapshot that records the state (`null` when none does yet), the one
/// `rk write-state --expect` takes. The fields are in output order.
#[derive(Debug, serde::Serialize)]
pub struct StateWithIdDocument<'a> {
    format_version: u32,
    id: Option<String>,
    state: &'a serde_json::Value,
}

impl<'a> StateWithIdDocument<'a> {
    pub fn new(id: Option<&ObjectId>, state: &'a serde_json::Value) -> Self {
        StateWithIdDocument {
            format_version: 1,
            id: id.map(ObjectId::to_string),
            state,
        }
    }
}

/// The state as `rk read-state --with-id` gives it for a compare-and-swap:
/// under `.state.lock`, `run_state.json` is read and, when someone wrote it
/// since rk last recorded it, recorded as an `observed` snapshot; returned
/// with rk's records merged in and the id of the snapshot that records the
/// file exactly — the id `--expect` takes. `None`: the run has no state.
/// A corrupt file is an error (exit 5), as for every reader.
pub fn observe(
    run: &RunDir,
    settings: &Settings,
) -> Result<Option<(Option<ObjectId>, RunState)>, Error> {
    let store = Store::new(run);
    let _lock = lock(run, settings)?;
    let read = read_locked(run, settings, &store, &Expect::Any, crate::clock::now())?;
    match read.found {
        Found::Missing => return Ok(None),
        Found::Corrupt(problem) => {
            return Err(Error::Corrupt {
                path: state_path(run, settings).display().to_string(),
                problem,
                rid: run.rid.clone(),
                last_good: store.last_good_snapshot(),
            })
        }
        Found::Valid => {}
    }
    let Some(parent) = read.parent else {
        return Ok(None);
    };
    let mut state = read.state;
    if let Some(own) = &read.own {
        records::merge(&mut state, own);
    }
    Ok(Some((Some(parent.id), state)))
}

/// Whether two state values are the same state (canonical comparison).
fn same_state(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    canonical_bytes(&CanonValue::from(a)) == canonical_bytes(&CanonValue::from(b))
}

/// The compare-and-swap condition against the state read under the lock;
/// `parent` is the snapshot recording that state (HEAD, or the `observed`
/// one just recorded).
fn check_expect(
    expect: &Expect,
    found: &Found,
    parent: Option<&Snapshot>,
) -> Result<(), store::Error> {
    let (matches, expected) = match expect {
        Expect::Any => return Ok(()),
        Expect::NoHead => (
            *found == Found::Missing && parent.is_none(),
            "none".to_string(),
        ),
        Expect::Head(id) => {
            let matches = *found == Found::Valid && parent.is_some_and(|p| p.id == *id);
            (matches, id.to_string())
        }
    };
    if matches {
        return Ok(());
    }
    let actual = match (found, parent) {
        (Found::Missing, None) => "no state and no snapshot yet".to_string(),
        (Found::Missing, Some(p)) => format!("no state file (HEAD is {})", p.id),
        (Found::Corrupt(_), _) => "a corrupt state file".to_string(),
        (Found::Valid, Some(p)) => p.id.to_string(),
        (Found::Valid, None) => "a state with no snapshot".to_string(),
    };
    Err(store::Error::ExpectMismatch { expected, actual })
}

/// Append the log line, then replace HEAD (docs/ARCHITECTURE.md#the-write-path step 5).
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
