use crate::cli::{stdout, Context};
use crate::error::{Error, Exit};
use crate::ops::status::{self, render, to_json};
use std::io::Write;

/// Show where a run stands and the exact command to type next.
///
/// One screen: the overall status (the same first-match rule as `rk list`);
/// each phase with the status its state records and a bar; where the
/// evidence rules of rk.yaml apply to the run's trials, the bar and the
/// counts are the trials that satisfy the phase's rule (`parse ████░░
/// 37/50`), else the bar is full for a completed phase and empty otherwise;
/// the config: unchanged, drifted (with the changed JSON Pointers when the
/// store holds the recorded config, else only the two hashes: a legacy run
/// records no config) or unverifiable (a legacy hash rk cannot reproduce
/// exactly); who holds the run (pid, host, since) or `interrupted`; a pending
/// STOP_REQUESTED; the last activity and the last session's exit; concerns
/// carried by the run (notes such as migration notes, config drift records,
/// corrupt, unreadable or reconstructed manifests); and the next command.
///
/// The next command, decided in one place (shared with `rk next` and
/// STATUS.md): `rk resume RUN` for a stopped, interrupted, failed or
/// not-started run; `rk diff-config RUN@recorded RUN` then `rk resume RUN
/// --force` when its config drifted (just the latter when there is no
/// recorded config to diff, or the legacy hash is unverifiable); `rk migrate
/// RUN` without a state (`rk restore RUN --at ID` when its store still holds
/// a snapshot); `rk archive RUN` when completed; `rk verify RUN` when
/// archived; for a corrupt state `rk restore RUN --at ID` (the last good
/// snapshot); `rk gate clear RUN PHASE --note "…"` first when only work
/// behind an owed review gate is left; nothing while running.
///
/// A run dispatched to Slurm (rk.yaml dispatch.via: slurm): rk asks the
/// scheduler once (one squeue call) about the job of the run's open session.
/// Pending is `queued`, running is `running`, and a `job` line gives the job
/// id, Slurm's state (and why it waits), the node and since when; a job that
/// has ended shows its state, end time and exit code, recorded by the next
/// command that writes the run; a job the scheduler no longer knows is said
/// so, and the phases decide the status. `--json` has it under `slurm_job`.
///
/// Status never fails to show a damaged run: a corrupt state, a missing
/// config or a bad manifest is shown; only a corrupt state changes the exit
/// status (5). Read-only and lock-free.
///
/// With --json, one object: `format_version` (1), `run`, `path`, `status`,
/// `state_problem`, `last_good_snapshot`, `migrated`, `trials`, `phases`
/// (`{name, status, updated_at, evidence: {satisfied, counted, status} |
/// null}`), `config` (`{state: unchanged|drifted|unverifiable|not_recorded|
/// missing|unreadable, …}`), `held_by` (`{pid, host, started_at, command}` |
/// null), `stop_requested`, `last_activity`, `last_session`, `concerns`,
/// `next` (the command, or null).
///
/// Exit status: 0 shown; 5 the run's state file is corrupt (shown all the
/// same, with the command that restores it: the same verdict as `rk list`
/// and `rk fsck`); 2 no such run.
///
/// Compatibility: JSON fields may be added, never renamed or removed without a
/// new `format_version`. The screen is for people and may change.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run: a run id, or the path of a run directory.
    #[arg(value_name = "RUN")]
    run: String,

    /// Print JSON instead of the screen.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let project = ctx.project()?;
    let report = status::status(&project, &args.run)?;
    let mut out = stdout();
    if args.json {
        writeln!(out, "{}", to_json(&report))?;
    } else {
        render(&mut out, &report, ctx.style())?;
    }
    out.flush()?;
    match (report.status, &report.state_problem) {
        (crate::state::OverallStatus::Corrupt, Some(problem)) => Err(Error::refusal(
            Exit::Corrupt,
            format!("{} is corrupt: {problem}", report.state_file.display()),
            status::next_command(&report).map(|next| format!("bring it back with `{next}`")),
        )),
        _ => Ok(Exit::Success),
    }
}
