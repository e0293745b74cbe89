use crate::cli::{stdout, warn, Context, Shell};
use crate::error::{Error, Exit};
use crate::ops::status::{self, DefaultRun, StatusDocument};
use crate::ops::status_screen::render;
use crate::state::OverallStatus;
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
/// exactly); who holds the run (pid, host, since), or an orchestrator rk did
/// not start that runs it (a live process of this host started with --run_id
/// RID from the project root: pid, since, command), or `interrupted` (when a
/// phase is in progress and the state changed in the last 15 minutes after
/// any rk session ended, it says an orchestrator on another host may still be
/// running); a pending STOP_REQUESTED; the last activity and the last
/// session's exit; concerns carried by the run (notes such as migration
/// notes, an orchestrator's config rewrite rk adopted, config drift records,
/// corrupt, unreadable or reconstructed manifests, a phase the state lists
/// beyond the pipeline, a phase status rk does not know); and the next
/// command. A phase not started although a later one completed is shown
/// `skipped` (the orchestrator found its outputs and did not mark it). A run
/// archived by archive_run.py (`t<temp>_<rid>`) is shown from its manifest.
///
/// The next command, decided in one place (shared with `rk next` and
/// STATUS.md): `rk resume RUN` for a stopped, interrupted, failed or
/// not-started run; `rk diff-config RUN@recorded RUN` then `rk resume RUN
/// --force` when its config drifted (just the latter when there is no
/// recorded config to diff, or the legacy hash is unverifiable); `rk migrate
/// RUN` without a state (`rk restore RUN --at ID` when its store still holds
/// a snapshot); `rk archive RUN` when completed; `rk verify RUN` when
/// archived; for a corrupt state `rk restore RUN --at ID` (the last good
/// snapshot), but `ls -l FILE` for a state file rk may not read (its owner
/// or mode: it is not damaged, exit 5 all the same); `rk gate clear RUN PHASE --note "…"` first when only work
/// behind an owed review gate is left; nothing while running.
///
/// Without RUN: the run whose directory holds the current directory (`cd
/// experiments/run_x && rk status`); else the one run that is running; else
/// one line counting the runs by status (`4 runs: 1 stopped, 1 completed,
/// …`) and a hint naming them, exit 0 (with --json that is exit 2: a script
/// names its run). A failed phase shows its `last_error` under it; a phase
/// status that is not one an orchestrator writes (docs/ORCHESTRATORS.md
/// #statuses) is shown as is, counted as not completed, and warned about.
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
/// (`{name, status, updated_at, last_error (string or null), skipped,
/// evidence: {satisfied, counted, status} | null}`), `config` (`{state:
/// unchanged|drifted|unverifiable|not_recorded|missing|unreadable, …}`),
/// `held_by` (`{pid, host, started_at, command}`, each when the lock file
/// records it, | null), `orchestrators` (`[{pid, command, since}]`, those rk
/// did not start), `state_changed_recently`, `slurm_job` (`{id, known, state,
/// phase: queued|running|ended, node, reason, submitted_at, started_at,
/// ended_at, exit_code}`, `{id, known: false}` or `{id, error}` | null),
/// `stop_requested`, `last_activity`, `last_session` (`{started_at, ended_at,
/// exit_code, steps, host, pid, stopped_at, resume_file}` | null),
/// `concerns`, `owed_gates` (`[{phase, reason, source, created_at,
/// cleared_at, cleared_by, note}]`), `code` (`{state:
/// not_recorded|unchanged|changed|unavailable, …}`), `next` (the command, or
/// null; two commands owed in order are joined by a newline),
/// `next_commands` (the same as a list, empty when there is nothing to type).
///
/// Exit status: 0 shown; 5 the run's state file is corrupt (shown all the
/// same, with the command that restores it: the same verdict as `rk list`
/// and `rk fsck`); 2 no such run, no project, no runs dir.
///
/// Compatibility: JSON fields may be added, never renamed or removed without a
/// new `format_version`. The screen is for people and may change.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run: a run id, the run dir's name (`run_<id>`), or the path of a
    /// run directory. Default: the run you stand in, or the one running.
    #[arg(value_name = "RUN")]
    run: Option<String>,

    /// Print JSON instead of the screen.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let project = ctx.project()?;
    let operand = match args.run {
        Some(run) => run,
        None => {
            let cwd = std::env::current_dir().map_err(|e| {
                Error::usage(format!("cannot read the current directory: {e}"), None)
            })?;
            match status::default_run(&project, &cwd)? {
                DefaultRun::Here(path) | DefaultRun::Active(path) => path,
                DefaultRun::Summary(runs) => return summary(&runs, args.json, ctx),
            }
        }
    };
    let run = project.resolve_run(&operand)?;
    let report = crate::cli::progress::with_progress(crate::output::pool_items(), || {
        status::report(&project, &run, &operand, status::Scope::Screen)
    });
    for p in &report.phases {
        if let Some(unknown) = p.unknown_status() {
            warn(
                ctx.color,
                &format!(
                    "phase {} of run {} has the unknown status {unknown:?}; it counts as not completed",
                    p.name, report.rid
                ),
            );
        }
    }
    let mut out = stdout();
    if args.json {
        crate::output::write_json_line(&mut out, &StatusDocument::from(&report))?;
    } else {
        render(&mut out, &report, ctx.style())?;
    }
    out.flush()?;
    match (report.status, &report.state_problem) {
        (crate::state::OverallStatus::Corrupt, Some(problem)) if report.state_unreadable => {
            let file = report.state_file.display().to_string();
            Err(Error::refusal(
                Exit::Corrupt,
                format!("{file} {problem}"),
                Some(crate::state::unreadable_hint(&file)),
            ))
        }
        (crate::state::OverallStatus::Corrupt, Some(problem)) => Err(Error::refusal(
            Exit::Corrupt,
            format!("{} is corrupt: {problem}", report.state_file.display()),
            status::next_command(&report).map(|next| format!("bring it back with `{next}`")),
        )),
        _ => Ok(Exit::Success),
    }
}

/// No run named and none implied: one line for all runs, and a hint.
fn summary(runs: &[(String, OverallStatus)], json: bool, ctx: &Context) -> Result<Exit, Error> {
    let names: Vec<&str> = runs.iter().map(|(rid, _)| rid.as_str()).collect();
    let shown = if names.len() > 6 {
        format!("{}, …", names[..6].join(", "))
    } else {
        names.join(", ")
    };
    let hint = if runs.is_empty() {
        "start one with `rk init RUN --config FILE`".to_string()
    } else {
        format!("name a run: rk status RUN ({shown}), or run it inside a run's directory")
    };
    if json {
        return Err(Error::usage(
            "rk status --json needs a run: none was named, none holds the current directory and none is running",
            Some(hint),
        ));
    }
    let mut counts: Vec<(OverallStatus, usize)> = Vec::new();
    for (_, status) in runs {
        match counts.iter_mut().find(|(s, _)| s == status) {
            Some((_, n)) => *n += 1,
            None => counts.push((*status, 1)),
        }
    }
    let counts: Vec<String> = counts
        .iter()
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    let mut out = stdout();
    match runs.len() {
        0 => writeln!(out, "no runs")?,
        1 => writeln!(out, "1 run: {}", counts.join(", "))?,
        n => writeln!(out, "{n} runs: {}", counts.join(", "))?,
    }
    out.flush()?;
    let _ = Shell::stderr(ctx.color).hint(&hint);
    Ok(Exit::Success)
}
