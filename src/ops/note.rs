//! `rk note`: say where work stopped and what comes next, on the run's
//! latest session (docs/FORMATS.md#rk-fields), or on a new one when the run
//! has none. `rk log --sessions` lists every note ever recorded.

use crate::clock;
use crate::error::Error;
use crate::ops::commit::commit;
use crate::project::{Project, RunDir};
use crate::state::{Expect, RunState, Session};
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
