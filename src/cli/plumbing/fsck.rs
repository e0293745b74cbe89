use crate::cli::{stdout, Context, RunArg};
use crate::error::{Error, Exit};
use crate::state;
use crate::store;
use std::io::Write;

/// Check a run's store and state: re-hash every object, check HEAD, every
/// snapshot's parent and config, every log line, and run_state.json.
///
/// Prints a summary line, then one line per finding: `error: …` for
/// corruption (an object whose bytes do not match its name, a missing object
/// that HEAD, the log or a snapshot names, garbage in HEAD, a malformed log
/// line, an unreadable run_state.json) and `note: …` for what an interrupted
/// write may legitimately leave behind (leftover `.tmp-` files, a torn last
/// log line, a log entry newer than HEAD, a run_state.json newer than HEAD).
/// Notes never fail the check. Without --prune fsck repairs nothing, reads
/// only and takes no lock.
///
/// --prune first cleans up, under the state lock, what can be cleaned without
/// losing anything, prints one `pruned: …` line per action, then checks:
/// leftover `.tmp-` files and temp runs of killed `rk init`s
/// (`<runs_dir>/.tmp-init-…`) and half-deleted originals of runs moved by
/// `archive --dest` (`.tmp-moved-…`) whose writer is no longer alive are removed; a
/// corrupt config object that the run's config file still hashes to is
/// rewritten from it; any other corrupt object except HEAD's snapshot is
/// moved to `.rk/corrupt/<id>` (kept for inspection), and a missing object
/// that history names is recorded there as lost; from then on the snapshots
/// and log lines naming them are notes, not errors. A corrupt HEAD
/// is left for `rk restore RUN --at ID`; run --prune after it.
///
/// Exit status: 0 no corruption; 2 no such run; 4 --prune could not take the
/// state lock; 5 corruption found. On exit 5 the message names the last good
/// snapshot, and the hint what recovers: `rk restore RUN --at ID` when HEAD
/// is damaged, then `rk fsck RUN --prune`; only the latter when HEAD is
/// intact. Following the hint ends with fsck exit 0.
///
/// Compatibility: the output is for people. Lines starting `error: ` and
/// `note: ` will keep those prefixes; their wording may change. Scripts
/// should use the exit status.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: RunArg,

    /// Remove leftovers of interrupted writes and set damaged objects aside
    /// (see above), then check.
    #[arg(long)]
    prune: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let (project, run) = ctx.run(&args.run)?;
    let mut out = stdout();
    if args.prune {
        for line in state::prune(&run, &project.settings)? {
            writeln!(out, "pruned: {line}")?;
        }
    }
    let report = state::fsck(&run, &project.settings);
    writeln!(
        out,
        "checked {} object{}, HEAD {}, {} log entr{}",
        report.objects,
        if report.objects == 1 { "" } else { "s" },
        report
            .head
            .as_ref()
            .map_or("none".to_string(), |h| h.to_string()),
        report.log_entries,
        if report.log_entries == 1 { "y" } else { "ies" },
    )?;
    for p in &report.problems {
        writeln!(out, "error: {p}")?;
    }
    for n in &report.notes {
        writeln!(out, "note: {n}")?;
    }
    out.flush()?;
    if report.problems.is_empty() {
        return Ok(Exit::Success);
    }
    Err(store::Error::FsckFailed {
        path: run.store_dir().display().to_string(),
        count: report.problems.len(),
        rid: run.rid.clone(),
        last_good: report.last_good,
        head_intact: report.head_intact && !report.working_corrupt,
    }
    .into())
}
