//! `<run>/STATUS.md` (SPEC §7.9): the `rk status` screen as Markdown,
//! rendered after every state change rk makes, so browsing the run dir
//! answers "where were we" without rk. rk.yaml `status_md: false` turns it off.
//!
//! It is a courtesy copy: writing it never fails the command that changed
//! the state; a failure is returned as a warning to show.

use crate::error::Error;
use crate::ops::{slurm_job, status};
use crate::output::Style;
use crate::project::{Project, RunDir};
use crate::state::{self, Committed, Expect, RunState};
use crate::store::{atomic, ObjectId};

/// The file's name in the run dir.
pub const FILE: &str = "STATUS.md";

/// The Markdown for a run.
pub fn render(project: &Project, run: &RunDir) -> String {
    let report = status::report(project, run, &run.rid);
    let mut screen = Vec::new();
    status::render(&mut screen, &report, Style { color: false })
        .expect("rendering to memory cannot fail");
    let screen = String::from_utf8_lossy(&screen);
    let mut md = format!(
        "# Run {} — {}\n\n\
         Written by rk after every change it makes to this run; \
         `rk status {}` shows the same, live.\n\n```text\n{}```\n",
        report.rid,
        report.status.as_str(),
        report.rid,
        screen
    );
    match status::next_command(&report) {
        Some(next) => md.push_str(&format!("\n## Next\n\n```sh\n{next}\n```\n")),
        None => md.push_str("\n## Next\n\nNothing to type while it runs.\n"),
    }
    md
}

/// Render STATUS.md for `run` when rk.yaml allows; a warning on failure.
pub fn refresh(project: &Project, run: &RunDir) -> Option<String> {
    if !project.settings.status_md {
        return None;
    }
    let path = run.path.join(FILE);
    atomic::write_atomic(&path, render(project, run).as_bytes(), atomic::FILE_MODE)
        .err()
        .map(|e| format!("{} not updated: {e}", path.display()))
}

/// The one way porcelain changes a run's state: the store's write protocol
/// (`state::commit`), then STATUS.md. Its warning joins the commit's.
pub fn commit(
    project: &Project,
    run: &RunDir,
    new: &RunState,
    op: &str,
    message: &str,
    expect: &Expect,
    config: Option<ObjectId>,
) -> Result<Committed, Error> {
    // The next command that writes a run closes the session of its ended
    // Slurm job (docs/SLURM.md).
    let closed;
    let new = match slurm_job::ended_job(new) {
        Some((id, lookup)) => {
            let mut state = new.clone();
            state.close_slurm_session(&id, &lookup, &crate::clock::now().to_string());
            closed = state;
            &closed
        }
        None => new,
    };
    let mut committed = state::commit(run, &project.settings, new, op, message, expect, config)?;
    committed.warnings.extend(refresh(project, run));
    Ok(committed)
}
