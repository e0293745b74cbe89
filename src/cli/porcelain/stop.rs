use crate::cli::{stdout, warn, Context, RunArg};
use crate::error::{Error, Exit};
use crate::ops::{slurm_job, stop};
use crate::slurm::{self, Lookup};
use std::io::Write;

/// Ask the orchestrator of a run to stop, and say who holds the run.
///
/// Writes STOP_REQUESTED in the run dir (its content: the time of the
/// request, one RFC 3339 line), atomically: the orchestrator finishes the step
/// it is in and stops. With --now it also writes STOP_NOW: stop as soon as it
/// safely can. rk sends no signal and does not touch run_state.json, so a stop
/// never waits on the orchestrator's lock.
///
/// Every stop rewrites the token with the current time, as stop_run.py does,
/// without taking .state.lock: the orchestrator ignores a token older than 60
/// minutes as stale, so a stop asked for again must be fresh.
///
/// rk then says who holds the run (the pid, host, start time and command of
/// the `rk resume` holding its dispatch lock). When nobody does, the token is
/// still written, with a warning: nothing is running, and the next
/// `rk resume` that dispatches clears a token written before it began
/// (renamed STOP_REQUESTED.cleared.<ts>), so a stale request never stops a
/// later run.
///
/// A run dispatched to Slurm (rk.yaml dispatch.via: slurm) is held by its job:
/// rk names it, and --now also cancels it with `scancel` after writing the
/// tokens (the orchestrator gets SIGTERM, then SIGKILL after Slurm's
/// KillWait). The next command that writes the run records how it ended.
///
/// Exit status: 0 requested; 2 no such run, or no
/// scancel; 4 the Slurm controller cannot be reached to cancel the job (the
/// tokens are written all the same).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: RunArg,

    /// Also write STOP_NOW: stop as soon as possible, not after the current step.
    #[arg(long)]
    now: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let (project, run) = ctx.run(&args.run)?;
    let stopped = stop::stop(&run, args.now)?;
    let mut out = stdout();
    for t in &stopped.tokens {
        match &t.replaced {
            None => writeln!(out, "wrote {} ({})", t.name, t.requested_at)?,
            Some(before) => writeln!(
                out,
                "rewrote {} ({}; it said {before})",
                t.name, t.requested_at
            )?,
        }
    }
    let job = slurm_job::session_job(&project, &run);
    let live = job
        .as_ref()
        .filter(|j| matches!(&j.found, Ok(Lookup::Known(k)) if k.phase() != slurm::Phase::Ended));
    match (&stopped.holder, live) {
        (Some(holder), _) => writeln!(out, "run {} is {holder}", run.rid)?,
        (None, Some(job)) => writeln!(out, "run {} is {}", run.rid, job.describe())?,
        (None, None) => writeln!(out, "run {} is not running", run.rid)?,
    }
    if args.now {
        if let Some(job) = &job {
            out.flush()?;
            if slurm_job::cancel(job)? {
                writeln!(out, "cancelled Slurm job {}", job.id)?;
            }
        }
    }
    out.flush()?;
    if stopped.holder.is_none() && live.is_none() {
        warn(
            ctx.color,
            &format!(
                "nothing is running {0}; the stop request stays until the next `rk resume {0}` that dispatches, which clears it",
                run.rid
            ),
        );
    }
    Ok(Exit::Success)
}
