//! `rk stop` (rk(1)): ask the orchestrator of a run to stop.
//!
//! The one idea: a stop is a token in the run dir, never a signal. The
//! orchestrator polls `STOP_REQUESTED` (finish the current step, then stop)
//! and `STOP_NOW` (stop as soon as it safely can); rk only writes them,
//! atomically, and says who holds the run. It does not touch
//! `run_state.json` (the orchestrator records `stop_requested` itself), so a
//! stop never waits on `.state.lock`.
//!
//! Every stop rewrites the token with the current time, as `stop_run.py`
//! does: the orchestrator ignores a token older than an hour as stale, so a
//! token left as it was would lose a stop asked for again later. With nobody
//! holding the run the token waits; the next `rk resume` clears one written
//! before it began (renaming it `STOP_REQUESTED.cleared.<ts>`), and only when
//! it goes on to dispatch.

use crate::clock;
use crate::error::Error;
use crate::project::RunDir;
use crate::store::{self, atomic, DispatchLock, Holder};

/// The graceful-stop token (docs/FORMATS.md#a-run-directory).
pub const STOP_REQUESTED: &str = "STOP_REQUESTED";
/// The stop-at-once token.
pub const STOP_NOW: &str = "STOP_NOW";

/// One token and what happened to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub name: &'static str,
    /// What the token said before (the time of an earlier request), when it
    /// was already there.
    pub replaced: Option<String>,
    /// What the file says now: the time of this request.
    pub requested_at: String,
}

/// What `stop` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stopped {
    pub tokens: Vec<Token>,
    /// Who holds the dispatch lock, or `None` when nothing is running.
    pub holder: Option<Holder>,
}

/// Write `STOP_REQUESTED` (and `STOP_NOW` with `now`) in the run dir.
pub fn stop(run: &RunDir, now: bool) -> Result<Stopped, Error> {
    let stamp = clock::now().to_string();
    let mut names = vec![STOP_REQUESTED];
    if now {
        names.push(STOP_NOW);
    }
    let mut tokens = Vec::new();
    for name in names {
        let path = run.path.join(name);
        let existing = match atomic::read_regular(&path, atomic::limit::SMALL) {
            Ok(bytes) => Some(String::from_utf8_lossy(&bytes).trim().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(store::io_err(&path, e).into()),
        };
        atomic::write_atomic(&path, format!("{stamp}\n").as_bytes(), atomic::FILE_MODE)
            .map_err(|e| store::io_err(&path, e))?;
        let token = Token {
            name,
            replaced: existing,
            requested_at: stamp.clone(),
        };
        tokens.push(token);
    }
    Ok(Stopped {
        tokens,
        holder: DispatchLock::probe(run),
    })
}

/// Clear the tokens written before `began` (the start of a resume that is
/// about to dispatch): each is renamed `<token>.cleared.<ts>`, never over an
/// earlier one. A token written after `began` is a stop asked of the run
/// being started, and is left for its orchestrator. Returns what was done,
/// one message per token.
pub fn clear_before(run: &RunDir, began: std::time::SystemTime) -> Result<Vec<String>, Error> {
    let mut done = Vec::new();
    for token in [STOP_REQUESTED, STOP_NOW] {
        let path = run.path.join(token);
        let Ok(meta) = path.symlink_metadata() else {
            continue;
        };
        let written = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
        if written >= began {
            done.push(format!(
                "left {token}: it was written after this resume began, for the orchestrator to honour"
            ));
            continue;
        }
        let aside = atomic::move_aside(&path, "cleared", &clock::file_stamp(clock::now()))
            .map_err(|e| store::io_err(&path, e))?;
        let cleared = aside
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        done.push(format!("cleared a leftover {token} (kept as {cleared})"));
    }
    Ok(done)
}
