use crate::cli::{stdout, warn, Context, RunArg};
use crate::error::{Error, Exit};
use crate::state::{self, Expect};
use std::io::{Read, Write};

/// Replace the state of a run with the JSON object on stdin, and print the
/// id of the new snapshot.
///
/// The input must be one JSON object in the shape of run_state.json version
/// 1; fields rk does not know are kept. Invalid JSON, anything but an object,
/// or a known field of the wrong type is refused with exit 2 and the JSON
/// Pointer of the value, and nothing is written.
///
/// The write follows the one write path every rk writer uses: take
/// .state.lock (the flock the orchestrator takes; rk waits up to 10 s, or
/// RK_LOCK_TIMEOUT_MS, then exits 4 naming the holder when it can), read
/// run_state.json and record it as an `observed` snapshot first if anyone
/// changed it since HEAD, check --expect against what was just read, write
/// the new snapshot, replace run_state.json atomically, append to the log,
/// move HEAD. A crash at any instant leaves run_state.json old or new.
///
/// --expect makes the write a compare-and-swap on the state itself: with
/// `--expect ID` the state read under the lock must be the state of snapshot
/// ID, so a change by any writer since the caller read ID — another rk
/// command or the orchestrator — is a conflict: exit 4, run_state.json
/// unchanged. The orchestrator's version is then recorded as an `observed`
/// snapshot, so a script re-reads (`rk read-state RUN --with-id` prints the
/// state and the id to expect), re-applies its change and retries. With
/// `--expect none` the run must have no state and no snapshot yet. Name the
/// snapshot by its id (full or at least 4 hex digits), never HEAD. Without
/// --expect a corrupt HEAD does not block the write (the new snapshot
/// continues from the last good one, with a warning), so
/// `rk read-state RUN --at ID | rk write-state RUN` recovers a damaged run.
///
/// The state given is written as it is: unlike rk's other commands, which
/// merge back the notes, gates, sessions and drift records an orchestrator's
/// rewrite dropped, write-state is a whole replacement.
///
/// Exit status: 0 written; 2 invalid input or no such run; 4 the lock is
/// busy or --expect did not match; 5 the store is corrupt (with --expect).
///
/// Compatibility: stdout is the new snapshot id, 64 lowercase hex digits and
/// a newline, and will stay so. Warnings go to stderr.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: RunArg,

    /// Write only if the state found under the lock is the state of this
    /// snapshot, or, with `none`, only if the run has no state and no
    /// snapshot yet.
    #[arg(long, value_name = "ID|none")]
    expect: Option<String>,

    /// The message recorded with the snapshot.
    #[arg(short = 'm', long, value_name = "MSG", default_value = "")]
    message: String,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let (project, run) = ctx.run(&args.run)?;
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| Error::usage(format!("cannot read stdin: {e}"), None))?;
    let new = state::parse_input(&bytes, "stdin")?;
    let expect = match args.expect.as_deref() {
        None => Expect::Any,
        Some(given) => Expect::parse(&run, given)?,
    };
    let (committed, ()) = crate::ops::commit::commit(
        &project,
        &run,
        "write-state",
        &args.message,
        &expect,
        |draft| {
            draft.state = new;
            Ok(())
        },
    )?;
    for w in &committed.warnings {
        warn(ctx.color, w);
    }
    let mut out = stdout();
    writeln!(out, "{}", committed.id)?;
    out.flush()?;
    Ok(Exit::Success)
}
