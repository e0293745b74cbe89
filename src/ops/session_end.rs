//! The end of a Slurm session (`dispatch.via: slurm`, docs/SLURM.md): the
//! next command that writes a run learns from the scheduler that the job of
//! its open session is over, and closes the session under the same lock as
//! its own change, adopting the orchestrator's rewrite of its config.
//!
//! The one idea: the scheduler is asked before `.state.lock` is taken (a slow
//! controller never holds up the orchestrator), and what it said is applied
//! to the state read under the lock. This module never writes the state
//! (finding a rewrite stores its config object, nothing more): the write
//! path (`ops::commit`) applies a [`Closing`], and so it does not depend on
//! `ops::slurm_job`, which submits and waits for jobs through that path.

use crate::clock;
use crate::ops::adopt;
use crate::project::{Project, RunDir};
use crate::slurm::{JobId, Lookup, Phase};
use crate::state::{Draft, RunState};
use std::time::Duration;

/// The job of the run's open session when the scheduler says it has ended
/// (or forgotten it), for the next write to close the session; `None` while
/// it is queued or running, or when the scheduler cannot be asked.
fn ended_job(state: &RunState) -> Option<(JobId, Lookup)> {
    match state.ask_open_slurm_job()? {
        (_, Ok(Lookup::Known(job))) if job.phase() != Phase::Ended => None,
        (id, Ok(lookup)) => Some((id, lookup)),
        (_, Err(_)) => None,
    }
}

/// The end of a Slurm session, found before `.state.lock` is taken and
/// applied to the state read under it: the scheduler's word on the job, and
/// the orchestrator's rewrite of its config to adopt (docs/SLURM.md).
pub struct Closing {
    pub job: JobId,
    pub lookup: Lookup,
    pub rewrite: Option<adopt::Rewrite>,
}

impl Closing {
    /// What the scheduler says of the open session's job, when it has ended
    /// (or was forgotten); `None` while it is queued or running, or when the
    /// scheduler cannot be asked.
    pub fn find(project: &Project, run: &RunDir, state: &RunState) -> Option<Closing> {
        let (job, lookup) = ended_job(state)?;
        Some(Closing::of(project, run, state, job, lookup))
    }

    /// The closing of `job`'s session given what the scheduler said. A
    /// config file rewritten between the session's start and the job's end
    /// (Slurm's whole seconds, with a second of slack) is the orchestrator's
    /// rewrite and is adopted; one changed later is drift. A forgotten job's
    /// end is unknown, so nothing is adopted then.
    pub fn of(
        project: &Project,
        run: &RunDir,
        state: &RunState,
        job: JobId,
        lookup: Lookup,
    ) -> Closing {
        let rewrite = rewrite_during(project, run, state, &job, &lookup);
        Closing {
            job,
            lookup,
            rewrite,
        }
    }

    /// Apply to the state read under the lock: close the session, adopt the
    /// rewrite. False when no open session names the job any more.
    pub fn apply(&self, project: &Project, draft: &mut Draft, now: &str) -> bool {
        let session = draft
            .state
            .sessions
            .iter()
            .flatten()
            .find(|s| s.is_open() && s.slurm_job().as_ref() == Some(&self.job))
            .cloned();
        if !draft
            .state
            .close_slurm_session(&self.job, &self.lookup, now)
        {
            return false;
        }
        if let (Some(rewrite), Some(session)) = (&self.rewrite, session) {
            rewrite.apply(&mut draft.state, &session, &project.settings, now);
            draft.config = Some(rewrite.object.clone());
        }
        true
    }
}

fn rewrite_during(
    project: &Project,
    run: &RunDir,
    state: &RunState,
    job: &JobId,
    lookup: &Lookup,
) -> Option<adopt::Rewrite> {
    let settings = &project.settings;
    let Lookup::Known(found) = lookup else {
        return None;
    };
    let system = |t: &str| {
        clock::Timestamp::parse(t)
            .map(|t| std::time::UNIX_EPOCH + Duration::from_millis(t.unix_ms().max(0) as u64))
    };
    let session = state
        .sessions
        .iter()
        .flatten()
        .find(|s| s.slurm_job().as_ref() == Some(job))?;
    let began = system(session.started_at.as_deref()?)?;
    let ended = system(found.ended_at.as_deref()?)?;
    let path = crate::run_config::current_path(run, settings);
    let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
    if modified > ended + Duration::from_secs(1) {
        return None;
    }
    let (_, before) = crate::run_config::recorded(run).ok()??;
    let scheme = crate::drift::run_scheme(state, settings);
    adopt::find(run, settings, scheme, &before, began).ok()?
}
