//! A run's Slurm job (`dispatch.via: slurm`, docs/SLURM.md): how `rk resume`
//! submits the orchestrator with `sbatch`, how every command learns from the
//! scheduler whether the run's job is queued, running or over, and how the
//! session is closed once it is over.
//!
//! The one idea: the scheduler, not a lock on this machine, is the truth
//! about a Slurm run's liveness. The dispatch lock is held only from the
//! checks until the job id is recorded in the new session (so two resumes at
//! once submit one job); after that, the open session's job id is what every
//! command asks the scheduler about — once per command, never per phase.
//!
//! Decisions where the brief is silent:
//! * the job is submitted as a fixed batch script kept in the run's store
//!   (`<run>/.rk/slurm-job.sh`, `exec "$@"`) with the dispatch argv as its
//!   arguments, so the argv reaches the orchestrator word for word;
//! * a job that ended in any state but COMPLETED never counts as exit 0
//!   (Slurm reports 0 for a job cancelled while pending, for instance);
//! * the session's `ended_at` is the job's end time as the scheduler gives
//!   it; a forgotten job's session ends at the time rk found it forgotten.

use crate::clock;
use crate::error::{Error, Exit};
use crate::ops::commit::commit;
use crate::ops::session_end;
use crate::output::Messages;
use crate::project::{Project, RunDir};
use crate::slurm::{self, JobId, Lookup, Phase, Submission};
use crate::state::{self, Expect, RunState, Session, SlurmJob};
use crate::store::{self, atomic, DispatchLock};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The batch script's file name in the run's store (`<run>/.rk/`).
pub const SCRIPT: &str = "slurm-job.sh";

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// What `sbatch` is given for `argv`: job name `rk-<RID>`, the project root
/// as working directory, output `<run>/slurm-<jobid>.out`, then
/// `dispatch.slurm.args`, the batch script, and the argv.
pub fn submission(project: &Project, run: &RunDir, argv: &[String]) -> Submission {
    let run_path = absolute(&run.path);
    Submission {
        job_name: format!("rk-{}", run.rid),
        workdir: absolute(&project.root),
        output: run_path.join("slurm-%j.out"),
        extra_args: project.settings.dispatch.slurm_args.clone(),
        script: run_path.join(".rk").join(SCRIPT),
        argv: argv.to_vec(),
    }
}

/// The exact `sbatch` command line, as `--dry-run` prints it.
pub fn command_line(project: &Project, run: &RunDir, argv: &[String]) -> Vec<String> {
    submission(project, run, argv)
        .command_line()
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect()
}

/// Before a dispatch (or an archive): a queued or running job refuses it
/// (exit 4, naming the job), and so does a scheduler that cannot be asked;
/// an ended or forgotten job is returned. `nothing` says what was not done
/// ("nothing dispatched").
pub fn refuse_while_live(
    run: &RunDir,
    state: &RunState,
    nothing: &str,
) -> Result<Option<(JobId, Lookup)>, Error> {
    let Some((id, found)) = state.ask_open_slurm_job() else {
        return Ok(None);
    };
    let lookup = found.map_err(|e| {
        Error::refusal(
            Exit::Busy,
            format!(
                "run {} has Slurm job {id} recorded and the scheduler cannot say whether it still runs: {e}; {nothing}",
                run.rid
            ),
            Some("check the scheduler (`sinfo`, `squeue --me`), then try again".into()),
        )
    })?;
    if let Lookup::Known(job) = &lookup {
        if job.phase() != Phase::Ended {
            let where_ = job
                .node
                .as_deref()
                .map_or(String::new(), |n| format!(" on {n}"));
            return Err(Error::refusal(
                Exit::Busy,
                format!(
                    "run {} is {} as Slurm job {id} ({}{where_}); {nothing}",
                    run.rid,
                    if job.phase() == Phase::Queued {
                        "queued"
                    } else {
                        "running"
                    },
                    job.state
                ),
                Some(format!(
                    "wait for it (`rk status {}`), or stop it: `rk stop {} --now` cancels the job",
                    run.rid, run.rid
                )),
            ));
        }
    }
    Ok(Some((id, lookup)))
}

/// A submitted job and the `sbatch` command line that submitted it.
pub struct Submitted {
    pub job: JobId,
    pub sbatch: Vec<String>,
}

/// Submit the planned dispatch (still under the dispatch lock): write the
/// batch script, `sbatch` it, and put the job in `session` (its `slurm`
/// record; no pid, since no process of this machine runs it). Nothing is
/// recorded in the run yet: a failure here leaves it as it was.
pub fn submit(
    project: &Project,
    run: &RunDir,
    argv: &[String],
    session: &mut Session,
) -> Result<Submitted, Error> {
    let sub = submission(project, run, argv);
    atomic::write_atomic(
        &sub.script,
        slurm::BATCH_SCRIPT.as_bytes(),
        atomic::FILE_MODE,
    )
    .map_err(|e| store::io_err(&sub.script, e))?;
    let job = slurm::submit(&sub)?;
    session.pid = Some(None);
    session.extra.insert(
        "slurm".into(),
        json!({
            "job_id": job.as_str(),
            "job_name": sub.job_name,
            "output": output_path(run, &job).to_string_lossy(),
        }),
    );
    Ok(Submitted {
        job,
        sbatch: command_line(project, run, argv),
    })
}

fn output_path(run: &RunDir, job: &JobId) -> PathBuf {
    absolute(&run.path).join(format!("slurm-{job}.out"))
}

/// After the session that names the job was committed (`recorded`): a
/// failure to record it cancels the job (nothing runs that the run does not
/// know of); else release the dispatch lock, say where the output goes, and
/// with `wait` wait for the job, close its session and return its exit code.
pub fn recorded(
    project: &Project,
    run: &RunDir,
    submitted: Submitted,
    recorded: Result<(), Error>,
    lock: Option<DispatchLock>,
    wait: bool,
    msgs: &mut dyn Messages,
) -> Result<(Submitted, Option<i32>), Error> {
    let Submitted { job, sbatch } = submitted;
    if let Err(e) = recorded {
        let cancelled = match slurm::cancel(&job) {
            Ok(()) => format!("job {job} was cancelled"),
            Err(c) => {
                format!("job {job} could not be cancelled ({c}): cancel it with `scancel {job}`")
            }
        };
        return Err(Error::refusal(
            e.exit(),
            format!("submitted Slurm job {job} but could not record it: {e}; {cancelled}"),
            e.hint(),
        ));
    }
    drop(lock);
    msgs.status(&format!(
        "submitted Slurm job {job} for run {} (output: {})",
        run.rid,
        output_path(run, &job).display()
    ))?;
    if !wait {
        return Ok((Submitted { job, sbatch }, None));
    }
    let lookup = wait_for_end(&job, msgs)?;
    close(project, run, &job, &lookup)?;
    let code = match &lookup {
        Lookup::Known(j) => j.exit_code.unwrap_or(1),
        Lookup::Forgotten => {
            msgs.status(&format!(
                "the scheduler forgot job {job} before rk saw it end; its exit code is unknown"
            ))?;
            1
        }
    };
    Ok((Submitted { job, sbatch }, Some(code as i32)))
}

/// Poll the scheduler until the job has ended (or is forgotten): every half
/// second at first, backing off to every 15 s for long jobs. A scheduler
/// that cannot be reached is reported once and asked again.
fn wait_for_end(job: &JobId, msgs: &mut dyn Messages) -> Result<Lookup, Error> {
    let mut pause = Duration::from_millis(500);
    let mut warned = false;
    loop {
        match slurm::lookup(std::slice::from_ref(job)) {
            Ok(mut all) => {
                let lookup = all.remove(0).1;
                match &lookup {
                    Lookup::Known(j) if j.phase() != Phase::Ended => {}
                    _ => return Ok(lookup),
                }
            }
            Err(e @ slurm::Error::Missing { .. }) => return Err(e.into()),
            Err(e) if !warned => {
                msgs.warn(&format!("{e}; still waiting for job {job}"))?;
                warned = true;
            }
            Err(_) => {}
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_secs(15));
    }
}

/// Record the end of job `id`'s session (snapshot op `resume-exit`),
/// adopting the orchestrator's config rewrite.
pub fn close(project: &Project, run: &RunDir, id: &JobId, lookup: &Lookup) -> Result<(), Error> {
    let closing = match state::load(run, &project.settings)? {
        Some(s) => session_end::Closing::of(project, run, &s, id.clone(), lookup.clone()),
        None => return Ok(()),
    };
    let now = clock::now().to_string();
    commit(
        project,
        run,
        "resume-exit",
        &end_message(id, lookup),
        &Expect::Any,
        |draft| {
            closing.apply(project, draft, &now);
            Ok(())
        },
    )?;
    Ok(())
}

/// The log message of a closed Slurm session.
pub fn end_message(id: &JobId, lookup: &Lookup) -> String {
    match lookup {
        Lookup::Known(job) => format!(
            "Slurm job {id} ended {}: exit {}",
            job.state,
            job.exit_code.map_or("unknown".into(), |c| c.to_string())
        ),
        Lookup::Forgotten => {
            format!("Slurm job {id} is no longer known to the scheduler: session closed as unknown")
        }
    }
}

/// The Slurm job of the run's open session and what the scheduler said of
/// it (one call), for `rk stop`; `None` without an open Slurm session.
pub fn session_job(project: &Project, run: &RunDir) -> Option<SlurmJob> {
    let Ok(Some(state)) = state::load(run, &project.settings) else {
        return None;
    };
    let (id, found) = state.ask_open_slurm_job()?;
    Some(SlurmJob {
        id,
        found: found.map_err(|e| e.to_string()),
    })
}

/// `rk stop --now`: cancel a queued or running job (`scancel`). A job that
/// already ended is left alone (false); a scheduler that could not be asked
/// is exit 4.
pub fn cancel(job: &SlurmJob) -> Result<bool, Error> {
    match &job.found {
        Ok(Lookup::Known(j)) if j.phase() != Phase::Ended => {
            slurm::cancel(&job.id)?;
            Ok(true)
        }
        Ok(_) => Ok(false),
        Err(e) => Err(Error::refusal(
            Exit::Busy,
            format!("cannot cancel Slurm job {}: {e}", job.id),
            Some(format!(
                "the stop tokens are written; when the scheduler answers again: scancel {}",
                job.id
            )),
        )),
    }
}
