//! The one door through which porcelain changes a run: the state's write
//! path ([`state::commit`]: lock first, read, apply a change, write), then
//! `STATUS.md` rendered from what was written.

use crate::error::Error;
use crate::ops::{session_end, status_md};
use crate::project::{Project, RunDir};
use crate::state::{self, Committed, Draft, Expect};

/// Apply `change` to the run's state as read under `.state.lock` (see
/// [`state::commit`]), then refresh STATUS.md; its warning joins the
/// commit's.
pub fn commit<T>(
    project: &Project,
    run: &RunDir,
    op: &str,
    message: &str,
    expect: &Expect,
    change: impl FnOnce(&mut Draft) -> Result<T, Error>,
) -> Result<(Committed, T), Error> {
    // The next command that writes a run closes the session of its ended
    // Slurm job (docs/SLURM.md). The scheduler is asked before the lock is
    // taken, so a slow controller never holds up the orchestrator.
    let closing = match state::load(run, &project.settings) {
        Ok(Some(s)) => session_end::Closing::find(project, run, &s),
        _ => None,
    };
    let now = crate::clock::now().to_string();
    let (mut committed, value) =
        state::commit(run, &project.settings, op, message, expect, |draft| {
            if let Some(closing) = &closing {
                closing.apply(project, draft, &now);
            }
            change(draft)
        })?;
    committed.warnings.extend(status_md::refresh(project, run));
    Ok((committed, value))
}
