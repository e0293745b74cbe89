//! `rk gate add|clear|list`: review gates changed through the one write
//! path. What a gate is, and which are owed, is the state's query
//! (`state::gates`).

use crate::clock;
use crate::error::{Error, Exit};
use crate::ops::commit::commit;
use crate::project::{Project, RunDir, Settings};
pub use crate::state::gates::{gates, GateLineDocument, GateView};
use crate::state::{self, Expect, Gate, RunState};

/// `rk gate list`: every gate of the run as readers see it (rk's own records
/// merged back when an orchestrator's rewrite dropped them); a run without a
/// state has only rk.yaml's.
pub fn list(project: &Project, run: &RunDir) -> Result<Vec<GateView>, Error> {
    let state = state::load(run, &project.settings)?.unwrap_or_default();
    Ok(gates(&state, &project.settings))
}

fn check_phase(phase: &str, state: &RunState, settings: &Settings) -> Result<(), Error> {
    let phases = state.pipeline(&settings.phases);
    if phases.iter().any(|p| p == phase) {
        Ok(())
    } else {
        Err(Error::usage(
            format!("unknown phase {phase:?}"),
            Some(format!("phases: {}", phases.join(", "))),
        ))
    }
}

/// `rk gate add`: a gate on `phase`; re-adding a cleared gate owes it again.
/// Returns the gate and what the write path had to say.
pub fn add(
    project: &Project,
    run: &RunDir,
    phase: &str,
    reason: &str,
) -> Result<(GateView, Vec<String>), Error> {
    let settings = &project.settings;
    let message = format!("gate added before {phase}: {reason}");
    let (committed, view) = commit(project, run, "gate", &message, &Expect::Any, |draft| {
        draft.require(run, settings)?;
        check_phase(phase, &draft.state, settings)?;
        set_gate(&mut draft.state, phase, reason, &clock::now().to_string());
        Ok(gates_view(&draft.state, settings, phase))
    })?;
    Ok((view, committed.warnings))
}

/// The gate on `phase` owed (again), keeping the fields rk does not know.
fn set_gate(state: &mut RunState, phase: &str, reason: &str, now: &str) {
    let gate = Gate {
        reason: Some(reason.to_string()),
        created_at: Some(Some(now.to_string())),
        cleared_at: Some(None),
        cleared_by: Some(None),
        note: Some(None),
        ..Gate::default()
    };
    let gates = state.gates.get_or_insert_with(Vec::new);
    match gates.iter_mut().find(|(p, _)| p == phase) {
        Some((_, existing)) => {
            let extra = std::mem::take(&mut existing.extra);
            *existing = Gate { extra, ..gate };
        }
        None => gates.push((phase.to_string(), gate)),
    }
}

fn gates_view(state: &RunState, settings: &Settings, phase: &str) -> GateView {
    gates(state, settings)
        .into_iter()
        .find(|g| g.phase == phase)
        .expect("the gate was just written")
}

/// Who clears a gate: `user@host`. The user is `$USER` (or `$LOGNAME`);
/// where neither is set (cron, a container, `env -i`) it is the account name
/// of the process's user id, and `uid<N>` when that id has no account.
pub fn who() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(account_name);
    format!("{user}@{}", crate::store::lock::hostname())
}

/// The account name of the effective user id, from the password database.
fn account_name() -> String {
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0u8; 4096];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; getpwuid_r writes the
    // strings it returns into `buf`, which outlives their use below.
    let rc = unsafe {
        libc::getpwuid_r(
            uid,
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut found,
        )
    };
    if rc == 0 && !found.is_null() && !pwd.pw_name.is_null() {
        // SAFETY: pw_name points at a NUL-terminated string inside `buf`.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        if let Ok(name) = name.to_str() {
            if !name.is_empty() {
                return name.to_string();
            }
        }
    }
    format!("uid{uid}")
}

/// What `clear` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cleared {
    Now(GateView),
    /// It was cleared before; nothing changed.
    Already(GateView),
}

/// `rk gate clear`: record who cleared the gate on `phase`, when, and why.
pub fn clear(project: &Project, run: &RunDir, phase: &str, note: &str) -> Result<Cleared, Error> {
    let settings = &project.settings;
    // A gate cleared before is a no-op that writes nothing.
    if let Some(state) = state::load(run, settings)? {
        if let Some(view) = gates(&state, settings)
            .into_iter()
            .find(|g| g.phase == phase)
        {
            if !view.is_owed() {
                return Ok(Cleared::Already(view));
            }
        }
    }
    let message = format!("gate before {phase} cleared: {note}");
    let (_, cleared) = commit(project, run, "gate", &message, &Expect::Any, |draft| {
        draft.require(run, settings)?;
        check_phase(phase, &draft.state, settings)?;
        let Some(view) = gates(&draft.state, settings)
            .into_iter()
            .find(|g| g.phase == phase)
        else {
            return Err(Error::refusal(
                Exit::Usage,
                format!("run {} has no gate on {phase}", run.rid),
                Some(format!("`rk gate list {}` shows the gates", run.rid)),
            ));
        };
        if !view.is_owed() {
            return Ok(Cleared::Already(view));
        }
        clear_gate(&mut draft.state, &view, note, &clock::now().to_string());
        Ok(Cleared::Now(gates_view(&draft.state, settings, phase)))
    })?;
    Ok(cleared)
}

/// Record the clearing of `view`'s gate in the state (a gate from rk.yaml
/// gets an entry of its own).
fn clear_gate(state: &mut RunState, view: &GateView, note: &str, now: &str) {
    let gates = state.gates.get_or_insert_with(Vec::new);
    let entry = match gates.iter().position(|(p, _)| *p == view.phase) {
        Some(i) => &mut gates[i].1,
        None => {
            gates.push((
                view.phase.clone(),
                Gate {
                    reason: Some(view.reason.clone()),
                    created_at: Some(None),
                    ..Gate::default()
                },
            ));
            &mut gates.last_mut().expect("just pushed").1
        }
    };
    entry.cleared_at = Some(Some(now.to_string()));
    entry.cleared_by = Some(Some(who()));
    entry.note = Some(Some(note.to_string()));
}
