use crate::cli::{stdout, Context, Shell, RUN_HELP};
use crate::dispatch::StepRange;
use crate::error::{Error, Exit};
use crate::ops::resume::{self, Options, Outcome};
use crate::output::Messages;
use std::io::Write;
use std::path::PathBuf;

/// Resume a run exactly where it stood: dispatch the orchestrator from the
/// first phase that is not completed.
///
/// In order: the step flags are checked (an unknown step, --from-step after
/// --to-step, or --only-step with a range is exit 2); the run's dispatch lock is
/// taken without waiting (held by another resume: exit 4 naming its pid, host,
/// start and command; nothing is dispatched); the config is found
/// (<run>/effective_config.yaml; --config when the run has none; when both exist
/// and differ, --config is checked for drift and, with --force, installed as the
/// run's config, the old file kept as effective_config.yaml.replaced.<ts>); a run
/// with no run_state.json is migrated first (as `rk migrate RUN` would); the config
/// is checked for drift under the scheme the state recorded (a legacy
/// pyyaml-sorted hash from the Python tool set is verified without Python).
///
/// Drift refuses with the unified diff on stdout, the next command on stderr,
/// and exit 3. --force records the drift in config_drift, moves config_hash to
/// the new config under the run's own scheme, stores the new config object, and goes on.
/// A legacy hash rk cannot reproduce with certainty is refused the same way.
///
/// The plan (rk.yaml dispatch.plan). `orchestrator` (the default): the argv is
/// what resume_run.py runs, the dispatch command plus only the step flags given
/// (and the --to_step an owed gate requires); the orchestrator's own checks of
/// its files decide where it starts. `rk`: rk adds --from_step <first phase not
/// completed>, for an orchestrator that does not check its own outputs. Either
/// way rk reads the run first: the first phase not completed (a phase the
/// orchestrator skipped without marking it, before a completed one, counts as
/// completed), and phases the state calls completed whose outputs the evidence
/// rules do not find. "Nothing to resume" (exit 0, no dispatch) only when the
/// run is completed and its outputs are all there; a phase name the state lists
/// beyond the pipeline is never passed as a step. An archived run is refused
/// (exit 6) unless --force. A STOP_REQUESTED (or STOP_NOW) written before this
/// resume began is renamed <token>.cleared.<ts> and noted, only when rk goes on
/// to dispatch; one written after is left for the orchestrator. The
/// orchestrator runs in the project root, wherever rk was started.
///
/// The session is recorded (snapshot `resume`) before the child starts and
/// again when it ends (snapshot `resume-exit`, with exit code and duration).
/// The child gets stdin/stdout/stderr and the dispatch lock: the lock lives as
/// long as the orchestrator, even if rk is killed, so no second resume can
/// start meanwhile. SIGINT, SIGTERM and SIGHUP sent to rk are forwarded (a
/// terminal's Ctrl-C already reaches both). rk exits with the orchestrator's
/// exit code (128+N when a signal N ended it), and when it is not 0 says so on
/// stderr (`rk: the orchestrator exited with 3`), so the
/// orchestrator's 3 is not taken for rk's drift refusal. A failure to record
/// the session's end (a helper the orchestrator left holding the state lock,
/// a full disk) is a warning and never replaces that code. A command that cannot be
/// started is exit 2, with the session recorded as failed to start and the run
/// unlocked.
///
/// --dry-run does all the checks, writes nothing (not even the lock file),
/// prints the exact argv on stdout and, on stderr, why: the plan and rk's own
/// reading of the run.
///
/// With rk.yaml `dispatch.via: slurm` (docs/SLURM.md) the same checks and plan
/// lead to a Slurm batch job instead of a child: `sbatch --parsable` with job
/// name rk-<RID>, the project root as working directory, output
/// <run>/slurm-<jobid>.out, then `dispatch.slurm.args`, then a fixed batch
/// script (<run>/.rk/slurm-job.sh, `exec "$@"`) followed by the dispatch argv
/// as its arguments, so the argv reaches the orchestrator word for word and no
/// shell string is built from config values. The dispatch lock is held until
/// the job id is recorded in the new session (two resumes at once submit one
/// job); rk prints the job id on stdout and exits 0 without waiting. --wait
/// waits for the job and exits with its exit code (128+N for a signal N; a job
/// that ended in any state but COMPLETED is never 0). --dry-run prints the
/// exact sbatch command line (%j stands for the job id). While the run's job
/// is pending or running, resume refuses with exit 4 naming it; once it has
/// ended, resume first closes its session with the job's exit code and end
/// time. A missing sbatch or a submission the scheduler refuses is exit 2, a
/// scheduler that cannot be reached exit 4, and nothing is recorded as
/// dispatched.
///
/// The Python spellings --only_step, --from_step, --to_step and --run_id are
/// accepted.
///
/// Exit status: 0 the orchestrator exited 0, nothing to resume, a dry run, or
/// a Slurm job submitted; 2 bad input (unknown step, bad run id, no config, a
/// refused submission); 3 config or code drift, nothing dispatched; 4 the run
/// is busy (another dispatch, an orchestrator rk did not start, a Slurm job)
/// or the scheduler cannot be reached; 5 corrupt state or store; 6 archived,
/// or only work behind an owed review gate is left; other: after a dispatch,
/// the orchestrator's own exit code (named on stderr when it is not 0).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(value_name = "RUN", help = RUN_HELP, required_unless_present = "run_id")]
    run: Option<String>,

    /// The run id (the Python tool set's spelling of RUN).
    #[arg(
        long = "run_id",
        alias = "run-id",
        value_name = "RID",
        conflicts_with = "run"
    )]
    run_id: Option<String>,

    /// Dispatch only this step.
    #[arg(long = "only-step", alias = "only_step", value_name = "STEP", conflicts_with_all = ["from_step", "to_step"])]
    only_step: Option<String>,

    /// Dispatch from this step on.
    #[arg(long = "from-step", alias = "from_step", value_name = "STEP")]
    from_step: Option<String>,

    /// Dispatch up to and including this step.
    #[arg(long = "to-step", alias = "to_step", value_name = "STEP")]
    to_step: Option<String>,

    /// Go on despite config drift, recording it.
    #[arg(long)]
    force: bool,

    /// The config to use when the run has none (or to check against it).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,

    /// Check everything, write nothing, print the exact argv.
    #[arg(long)]
    dry_run: bool,

    /// With dispatch.via: slurm, wait for the job to end and exit with its
    /// exit code (a local resume always waits).
    #[arg(long)]
    wait: bool,

    /// Run this command instead of rk.yaml's dispatch.command (argv, no shell;
    /// placeholders filled; the step arguments still follow).
    #[arg(last = true, value_name = "CMD")]
    command: Vec<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let operand = args.run.or(args.run_id).expect("clap requires one");
    let (project, run) = ctx.run_named(&operand)?;
    let steps = match (args.only_step, args.from_step, args.to_step) {
        (Some(only), _, _) => Some(StepRange::Only(only)),
        (None, None, None) => None,
        (None, from, to) => Some(StepRange::Range { from, to }),
    };
    let opts = Options {
        steps,
        force: args.force,
        config: args.config,
        dry_run: args.dry_run,
        command: (!args.command.is_empty()).then_some(args.command),
        invocation: std::env::args().collect(),
        wait: args.wait,
    };
    let mut out = stdout();
    let mut shell = Shell::stderr(ctx.color);
    let outcome = resume::resume(&project, &run, &opts, &mut out, &mut shell);
    out.flush()?;
    match outcome? {
        Outcome::NothingToResume => Ok(Exit::Success),
        Outcome::DryRun { argv, reason } => {
            shell.status(&format!("would dispatch ({reason}):"))?;
            writeln!(out, "{}", crate::dispatch::shell_words(&argv))?;
            out.flush()?;
            Ok(Exit::Success)
        }
        Outcome::Submitted {
            job, code: None, ..
        } => {
            writeln!(out, "{job}")?;
            out.flush()?;
            Ok(Exit::Success)
        }
        Outcome::Submitted {
            job,
            code: Some(code),
            ..
        } => {
            writeln!(out, "{job}")?;
            out.flush()?;
            if code == 0 {
                return Ok(Exit::Success);
            }
            shell.status(&format!(
                "Slurm job {job} exited with {code}; rk exits with the same code (see `rk status {}`)",
                run.rid
            ))?;
            Ok(Exit::Child(code))
        }
        Outcome::Dispatched { code, .. } => Ok(if code == 0 {
            Exit::Success
        } else {
            // So a 3 from the orchestrator is not read as rk's drift refusal.
            shell.status(&format!(
                "the orchestrator exited with {code}; rk exits with the same code (see `rk status {}`)",
                run.rid
            ))?;
            Exit::Child(code)
        }),
    }
}
