//! Sessions (docs/FORMATS.md#rk-fields): every `rk resume` is one; `rk note` says where work
//! stopped and what comes next; `rk log --sessions` lists every session ever
//! recorded, including those `sessions_keep` trimmed from `run_state.json`.
//!
//! Only the last few sessions stay in the working state, but every snapshot
//! keeps the state it recorded, so the full list is rebuilt from history.

use crate::clock;
use crate::error::Error;
use crate::ops::commit::commit;
use crate::project::{Project, RunDir};
use crate::state::{Expect, RunState, Session};
use crate::store::Store;
use serde_json::Value;

/// What `rk note` recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Noted {
    /// The session's start (the key `rk log --sessions` shows).
    pub session_started_at: String,
    /// True when the run had no session and one was made for the note.
    pub new_session: bool,
    /// What the write path had to say (a crashed session closed, …).
    pub warnings: Vec<String>,
}

/// `rk note RUN TEXT [--resume-file PATH]`: record where work stopped and what
/// comes next on the latest session, or on a new one when the run has none.
pub fn note(
    project: &Project,
    run: &RunDir,
    text: &str,
    resume_file: Option<&str>,
) -> Result<Noted, Error> {
    let settings = &project.settings;
    let (committed, mut noted) = commit(project, run, "note", text, &Expect::Any, |draft| {
        draft.require(run, settings)?;
        Ok(add_note(
            &mut draft.state,
            text,
            resume_file,
            &clock::now().to_string(),
        ))
    })?;
    noted.warnings = committed.warnings;
    Ok(noted)
}

/// The note as a change: on the latest session, or on a new one.
fn add_note(state: &mut RunState, text: &str, resume_file: Option<&str>, now: &str) -> Noted {
    let sessions = state.sessions.get_or_insert_with(Vec::new);
    let new_session = sessions.is_empty();
    if new_session {
        sessions.push(Session {
            started_at: Some(now.to_string()),
            ended_at: Some(Some(now.to_string())),
            command: Some(vec!["rk".into(), "note".into()]),
            steps: Some(Vec::new()),
            exit_code: Some(None),
            host: Some(crate::store::lock::hostname()),
            pid: Some(None),
            ..Session::default()
        });
    }
    let session = sessions.last_mut().expect("a session exists");
    session.stopped_at = Some(Some(text.to_string()));
    if let Some(path) = resume_file {
        session.resume_file = Some(Some(path.to_string()));
    }
    session
        .extra
        .insert("noted_at".into(), Value::String(now.to_string()));
    Noted {
        session_started_at: session.started_at.clone().unwrap_or_default(),
        new_session,
        warnings: Vec::new(),
    }
}

/// Every session ever recorded for the run, oldest first, each as its latest
/// recorded version (JSON objects, unknown fields kept), and a warning for
/// each log line whose snapshot cannot be read: the log is read exactly as
/// `rk log` reads it, and a damaged snapshot only hides its own sessions.
pub fn history(run: &RunDir) -> Result<(Vec<Value>, Vec<String>), Error> {
    let store = Store::new(run);
    let mut sessions: Vec<(String, Value)> = Vec::new();
    let mut warnings = Vec::new();
    for (i, entry) in store.read_log()?.into_iter().enumerate() {
        let snapshot = match store.read_snapshot(&entry.new) {
            Ok(s) => s,
            Err(e) => {
                warnings.push(format!(
                    "log line {}: its snapshot cannot be read, so the sessions it recorded are not shown: {e}",
                    i + 1
                ));
                continue;
            }
        };
        let Some(Value::Array(items)) = snapshot.state.get("sessions") else {
            continue;
        };
        for item in items {
            let key = session_key(item);
            match sessions.iter_mut().find(|(k, _)| *k == key) {
                Some((_, latest)) => *latest = item.clone(),
                None => sessions.push((key, item.clone())),
            }
        }
    }
    Ok((sessions.into_iter().map(|(_, v)| v).collect(), warnings))
}

/// A session is its start, host and pid.
fn session_key(session: &Value) -> String {
    let field = |name: &str| session.get(name).map(|v| v.to_string()).unwrap_or_default();
    format!("{}|{}|{}", field("started_at"), field("host"), field("pid"))
}
