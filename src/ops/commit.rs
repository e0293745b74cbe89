//! The one door through which porcelain changes a run: the state's write
//! path ([`state::commit`]: lock first, read, apply a change, write), then
//! `STATUS.md` rendered from what was written.

use crate::error::Error;
use crate::ops::status_md;
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
    let (mut committed, value) =
        state::commit(run, &project.settings, op, message, expect, change)?;
    committed.warnings.extend(status_md::refresh(project, run));
    Ok((committed, value))
}
