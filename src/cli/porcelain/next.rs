use crate::cli::{stdout, Context, RunArg};
use crate::error::{Error, Exit};
use crate::ops::next;
use std::io::Write;

/// Print the next command to type for a run, alone on one line.
///
/// The same advice as the `next` line of `rk status` (decided in one place),
/// for scripts and assistants: `rk resume RUN`, `rk gate clear RUN PHASE
/// --note "…"`, `rk migrate RUN`, `rk archive RUN`, …. When two commands are
/// owed in order (look at a config drift, then resume past it) only the first
/// is printed; `rk status` shows both. Nothing is printed while the run is
/// running. Read-only, and quick on a run of many trials: the advice never
/// depends on the trials or on git, so neither is read.
///
/// Exit status: 0 (whether or not there is something to do); 2 no such run.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: RunArg,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let (project, run) = ctx.run(&args.run)?;
    let mut out = stdout();
    if let Some(first) = next::next(&project, &run, &args.run.run) {
        writeln!(out, "{first}")?;
    }
    out.flush()?;
    Ok(Exit::Success)
}
