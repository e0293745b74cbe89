use crate::cli::{stdout, Context, RunArg};
use crate::error::{Error, Exit};
use crate::ops::restore;
use std::io::Write;

/// Write a snapshot's state back to run_state.json.
///
/// For a run whose run_state.json is missing or corrupt (`rk status` and the
/// exit-5 messages suggest this command then): the state of the chosen
/// snapshot (default: the newest intact one, normally HEAD) is written back
/// through the same write path as every other writer. A corrupt file is kept
/// aside as run_state.json.corrupt.<ts>; a readable one is first recorded as
/// an `observed` snapshot, so nothing is lost. The restore itself is a new
/// snapshot (op `restore`); history is never rewritten.
///
/// Exit status: 0 restored; 2 no such run or unknown snapshot; 4 the state
/// lock is held; 5 no snapshot to restore from, or the store is corrupt.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: RunArg,

    /// The snapshot to restore: an id (4+ hex digits), HEAD or HEAD~N.
    #[arg(long, value_name = "ID")]
    at: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let (project, run) = ctx.run(&args.run)?;
    let restored = restore::restore(&project, &run, args.at.as_deref())?;
    for warning in &restored.warnings {
        crate::cli::warn(ctx.color, warning);
    }
    let mut out = stdout();
    writeln!(
        out,
        "restored {} from snapshot {} (recorded as {})",
        project.settings.state_file, restored.from, restored.snapshot
    )?;
    out.flush()?;
    Ok(Exit::Success)
}
