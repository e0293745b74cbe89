//! rk's own records — notes, gates, sessions and drift records — survive an
//! orchestrator that rewrites `run_state.json` from memory.
//!
//! The one idea: the last snapshot rk itself wrote (any op but `observed`)
//! is rk's record of them. A state someone else wrote is shown, and written
//! back at rk's next change, with those records merged in: rk's version of a
//! record it knows wins (an orchestrator that loaded the state before a gate
//! was cleared must not bring the gate back), and a record only the file has
//! (a note a person or another tool added) is kept after rk's.
//!
//! Records are changed only through rk (`note`, `gate`, `resume`); a record
//! deleted from the file by hand comes back at the next rk write. To remove
//! one deliberately, write a whole state with `rk write-state`, which is
//! rk's own word and so becomes its record.

use super::model::{DriftRecord, Note, RunState, Session};
use crate::store::{ObjectId, Snapshot, Store};

/// How many `observed` snapshots to walk back through looking for rk's own.
const MAX_WALK: usize = 64;

/// The op rk records a foreign version of the state under.
pub const OBSERVED: &str = "observed";

/// The state of the last snapshot rk wrote itself, walking back from `from`
/// through `observed` ones. `None` when there is none (or it is unreadable:
/// then there is nothing trustworthy to merge).
pub fn own_record(store: &Store, from: Option<&Snapshot>) -> Option<RunState> {
    let mut current = from.cloned();
    for _ in 0..MAX_WALK {
        let snapshot = current?;
        if snapshot.op != OBSERVED {
            return RunState::from_json(snapshot.state).ok();
        }
        current = snapshot
            .parent
            .as_ref()
            .and_then(|id: &ObjectId| store.read_snapshot(id).ok());
    }
    None
}

/// Merge rk's records (`own`) into `found`, a state someone else wrote.
/// Returns true when anything changed.
pub fn merge(found: &mut RunState, own: &RunState) -> bool {
    let notes = merge_list(&mut found.notes, &own.notes, same_note);
    let sessions = merge_list(&mut found.sessions, &own.sessions, same_session);
    let drift = merge_list(&mut found.config_drift, &own.config_drift, same_drift);
    let gates = merge_list(&mut found.gates, &own.gates, |a, b| a.0 == b.0);
    notes | sessions | drift | gates
}

/// rk's list in its order (its version of each record), then the records
/// only the file has, in file order. True when `found` changed.
fn merge_list<T: Clone + PartialEq>(
    found: &mut Option<Vec<T>>,
    own: &Option<Vec<T>>,
    same: impl Fn(&T, &T) -> bool,
) -> bool {
    let Some(own) = own.as_ref().filter(|o| !o.is_empty()) else {
        return false;
    };
    let mut merged: Vec<T> = own.clone();
    for item in found.iter().flatten() {
        if !own.iter().any(|o| same(o, item)) {
            merged.push(item.clone());
        }
    }
    if found.as_ref() == Some(&merged) {
        return false;
    }
    *found = Some(merged);
    true
}

/// A note is its time, author and text.
fn same_note(a: &Note, b: &Note) -> bool {
    a.created_at == b.created_at && a.created_by == b.created_by && a.message == b.message
}

/// A session is its start, host and pid (as `rk log --sessions` keys it).
pub fn same_session(a: &Session, b: &Session) -> bool {
    a.started_at == b.started_at && a.host == b.host && a.pid == b.pid
}

/// A drift record is its time and its two hashes.
fn same_drift(a: &DriftRecord, b: &DriftRecord) -> bool {
    a.detected_at == b.detected_at && a.expected == b.expected && a.actual == b.actual
}

/// Keep the last `keep` sessions in the working state (older ones stay in
/// the snapshot history; `rk log --sessions` lists them).
pub fn trim_sessions(state: &mut RunState, keep: usize) {
    if let Some(sessions) = state.sessions.as_mut() {
        if sessions.len() > keep {
            sessions.drain(..sessions.len() - keep);
        }
    }
}

/// Close the open sessions whose holder is gone: an `rk resume` on this host
/// that died (`kill -9`) while nothing holds the dispatch lock any more (the
/// orchestrator it started has ended too). Each is closed with no exit code
/// and `"end": "crashed"`. Sessions on another host, sessions dispatched to
/// a scheduler, and any session while the dispatch lock is held are left
/// alone. Returns what to tell the user.
pub fn close_crashed_sessions(state: &mut RunState, now: &str, lock_held: bool) -> Vec<String> {
    let mut said = Vec::new();
    if lock_held {
        return said;
    }
    let host = crate::store::lock::hostname();
    for session in state.sessions.iter_mut().flatten() {
        if !crashed(session, &host) {
            continue;
        }
        session.ended_at = Some(Some(now.to_string()));
        session.exit_code = Some(None);
        session
            .extra
            .insert("end".into(), serde_json::Value::String("crashed".into()));
        said.push(format!(
            "the session started {} by pid {} ended without recording its end (rk was killed); closed it as crashed",
            session.started_at.as_deref().unwrap_or("?"),
            session.pid.flatten().unwrap_or_default()
        ));
    }
    said
}

/// Whether `session` is open, was started by a process on `host` that no
/// longer exists, and is not a scheduler job.
pub fn crashed(session: &Session, host: &str) -> bool {
    let open = matches!(session.ended_at, Some(None)) && session.started_at.is_some();
    let local = session.host.as_deref() == Some(host)
        && !session.extra.contains_key("slurm")
        && !session.extra.contains_key("job_id");
    let dead = session
        .pid
        .flatten()
        .and_then(|p| i32::try_from(p).ok())
        .is_some_and(|pid| pid > 0 && !crate::store::lock::process_alive(pid));
    open && local && dead
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::model::Gate;

    fn note(at: &str, msg: &str) -> Note {
        Note {
            created_at: Some(at.into()),
            created_by: Some("rk note".into()),
            message: Some(msg.into()),
            ..Note::default()
        }
    }

    #[test]
    fn records_dropped_by_a_rewrite_come_back_and_rks_version_wins() {
        let phases = vec!["a".to_string(), "b".to_string()];
        let mut own = RunState::new("r", &phases);
        own.notes = Some(vec![note("t1", "one")]);
        own.gates = Some(vec![(
            "b".into(),
            Gate {
                reason: Some("review".into()),
                cleared_at: Some(Some("t2".into())),
                ..Gate::default()
            },
        )]);
        let mut found = RunState::new("r", &phases);
        found.notes = Some(vec![note("t3", "from python")]);
        found.gates = Some(vec![(
            "b".into(),
            Gate {
                reason: Some("review".into()),
                cleared_at: Some(None),
                ..Gate::default()
            },
        )]);
        assert!(merge(&mut found, &own));
        let notes: Vec<_> = found
            .notes
            .as_ref()
            .unwrap()
            .iter()
            .map(|n| n.message.clone().unwrap())
            .collect();
        assert_eq!(notes, ["one", "from python"]);
        let gates = found.gates.as_ref().unwrap();
        assert_eq!(gates.len(), 1);
        assert_eq!(gates[0].1.cleared_at, Some(Some("t2".into())));
        // Merging again changes nothing.
        assert!(!merge(&mut found, &own));
    }

    #[test]
    fn nothing_of_rks_leaves_the_found_state_alone() {
        let phases = vec!["a".to_string()];
        let own = RunState::new("r", &phases);
        let mut found = RunState::new("r", &phases);
        found.notes = Some(vec![note("t", "x")]);
        let copy = found.clone();
        assert!(!merge(&mut found, &own));
        assert_eq!(found, copy);
    }
}
