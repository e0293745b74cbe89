//! `rk stop` (SPEC §7.8): ask the orchestrator of a run to stop.
//!
//! The one idea: a stop is a token in the run dir, never a signal. The
//! orchestrator polls `STOP_REQUESTED` (finish the current step, then stop)
//! and `STOP_NOW` (stop as soon as it safely can); rk only writes them,
//! atomically, and says who holds the run. It does not touch
//! `run_state.json` (the orchestrator records `stop_requested` itself), so a
//! stop never waits on `.state.lock`.
//!
//! Idempotent: a token already present is left as it is, so its timestamp
//! keeps saying when the stop was first asked for. With nobody holding the
//! run the token waits; the next `rk resume` clears it (renaming it
//! `STOP_REQUESTED.cleared.<ts>`) before it dispatches.

use crate::clock;
use crate::error::Error;
use crate::project::RunDir;
use crate::store::{self, atomic, DispatchLock, Holder};

/// The graceful-stop token (SPEC §1).
pub const STOP_REQUESTED: &str = "STOP_REQUESTED";
/// The stop-at-once token.
pub const STOP_NOW: &str = "STOP_NOW";

/// One token and what happened to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub name: &'static str,
    /// False when it was already there (and left as it was).
    pub written: bool,
    /// What the file says: the time of the request.
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
        let token = match existing {
            Some(at) => Token {
                name,
                written: false,
                requested_at: at,
            },
            None => {
                atomic::write_atomic(&path, format!("{stamp}\n").as_bytes(), atomic::FILE_MODE)
                    .map_err(|e| store::io_err(&path, e))?;
                Token {
                    name,
                    written: true,
                    requested_at: stamp.clone(),
                }
            }
        };
        tokens.push(token);
    }
    Ok(Stopped {
        tokens,
        holder: DispatchLock::probe(run),
    })
}
