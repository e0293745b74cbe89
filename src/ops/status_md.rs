//! `<run>/STATUS.md` (docs/FORMATS.md#rk-fields): the `rk status` screen as Markdown,
//! rendered after every state change rk makes, so browsing the run dir
//! answers "where were we" without rk. rk.yaml `status_md: false` turns it off.
//!
//! It is a courtesy copy: writing it never fails the command that changed
//! the state; a failure is returned as a warning to show.

use crate::ops::{status, status_screen};
use crate::output::Style;
use crate::project::{Project, RunDir};
use crate::store::atomic;

/// The file's name in the run dir.
pub const FILE: &str = "STATUS.md";

/// The Markdown for a run.
pub fn render(project: &Project, run: &RunDir) -> String {
    let report = status::report(project, run, &run.rid, status::Scope::Screen);
    let mut screen = Vec::new();
    status_screen::render(&mut screen, &report, Style { color: false })
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
    // Atomic, not durable: a power cut may leave the previous rendering,
    // which the next change replaces; the state itself is always synced.
    atomic::write_atomic_unsynced(&path, render(project, run).as_bytes(), atomic::FILE_MODE)
        .err()
        .map(|e| format!("{} not updated: {e}", path.display()))
}
