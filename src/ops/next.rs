//! `rk next`: the one command to type next for a run, for scripts and
//! assistants (rk-next(1)). What to advise is decided once, in
//! [`status::next_command`], for status, next, STATUS.md and the demo; this
//! verb gathers only what that decision reads ([`status::Scope::Advice`]: no
//! trial is read, git is not asked) and keeps the first command.

use crate::ops::status;
use crate::project::{Project, RunDir};

/// The next command for `run`, as the user named it (`named`: a path stays
/// a path in the advice); `None` when there is nothing to type (it runs).
pub fn next(project: &Project, run: &RunDir, named: &str) -> Option<String> {
    let report = status::report(project, run, named, status::Scope::Advice);
    status::next_command(&report).and_then(|n| n.lines().next().map(str::to_string))
}
