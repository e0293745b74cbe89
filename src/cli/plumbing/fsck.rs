use crate::cli::{stdout, Context};
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
/// Notes never fail the check. fsck repairs nothing.
///
/// Reads only: takes no lock.
///
/// Exit status: 0 no corruption; 2 no such run; 5 corruption found. On
/// exit 5 the message names the last good snapshot, and the hint the command
/// that recovers it: `rk read-state RUN --at ID | rk write-state RUN`.
///
/// Compatibility: the output is for people. Lines starting `error: ` and
/// `note: ` will keep those prefixes; their wording may change. Scripts
/// should use the exit status.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run: a run id, or the path of a run directory.
    #[arg(value_name = "RUN")]
    run: String,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let project = ctx.project()?;
    let run = project.resolve_run(&args.run)?;
    let report = state::fsck(&run, &project.settings);
    let mut out = stdout();
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
    }
    .into())
}
