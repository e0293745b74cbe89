//! A session's Slurm job (`dispatch.via: slurm`): `rk resume` records the
//! job it submitted in the session, under `slurm`, and the session stays
//! open until a writing command learns from the scheduler how the job ended.
//!
//! ```json
//! "slurm": {"job_id": "12", "job_name": "rk-r1", "output": "/p/experiments/run_r1/slurm-12.out",
//!           "state": "COMPLETED", "node": "n01", "started_at": "…"}
//! ```
//! `state`, `node` and `started_at` are added when the session is closed;
//! `state` is `unknown` when the scheduler had forgotten the job.
//!
//! What the scheduler says of the open session's job ([`SlurmJob`]) is asked
//! here too, once per command: `rk status` shows it, `rk stop --now` cancels
//! it, and the write path closes the session once the job is over.

use super::{RunState, Session};
use crate::slurm::{self, JobId, Lookup};
use serde_json::{json, Value};

impl Session {
    /// The Slurm job this session submitted.
    pub fn slurm_job(&self) -> Option<JobId> {
        self.extra
            .get("slurm")
            .and_then(|s| s.get("job_id"))
            .and_then(Value::as_str)
            .and_then(JobId::parse)
    }

    /// No end recorded yet.
    pub fn is_open(&self) -> bool {
        !matches!(self.ended_at, Some(Some(_)))
    }
}

/// The Slurm job of a run's open session and what the scheduler said of it
/// (`Err`: why it could not be asked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlurmJob {
    pub id: JobId,
    pub found: Result<Lookup, String>,
}

impl SlurmJob {
    /// One line: id, Slurm state, node and since when, or what is unknown.
    pub fn describe(&self) -> String {
        let id = &self.id;
        match &self.found {
            Ok(Lookup::Known(job)) => {
                let mut parts = vec![format!("Slurm job {id} {}", job.state)];
                if let Some(reason) = &job.reason {
                    parts[0].push_str(&format!(" ({reason})"));
                }
                if let Some(node) = &job.node {
                    parts.push(format!("on {node}"));
                }
                match job.phase() {
                    slurm::Phase::Queued => {
                        if let Some(at) = &job.submitted_at {
                            parts.push(format!("submitted {at}"));
                        }
                    }
                    slurm::Phase::Running => {
                        if let Some(at) = &job.started_at {
                            parts.push(format!("since {at}"));
                        }
                    }
                    slurm::Phase::Ended => {
                        parts.push(format!(
                            "ended {}, exit {}; the next command that writes the run records it",
                            job.ended_at.as_deref().unwrap_or("(time unknown)"),
                            job.exit_code.map_or("unknown".into(), |c| c.to_string())
                        ));
                    }
                }
                parts.join(" ")
            }
            Ok(Lookup::Forgotten) => format!(
                "Slurm job {id}: the scheduler no longer knows it; the next command that writes the run closes its session as unknown"
            ),
            Err(e) => format!("Slurm job {id}: cannot ask the scheduler: {e}"),
        }
    }
}

impl RunState {
    /// The job of the latest session, while that session is open.
    pub fn open_slurm_job(&self) -> Option<JobId> {
        let last = self.sessions.as_ref()?.last()?;
        if last.is_open() {
            last.slurm_job()
        } else {
            None
        }
    }

    /// The job of the open session and what the scheduler says of it (one
    /// call); `None` when the run has no open Slurm session.
    pub fn ask_open_slurm_job(&self) -> Option<(JobId, Result<Lookup, slurm::Error>)> {
        let id = self.open_slurm_job()?;
        let found = slurm::lookup(std::slice::from_ref(&id)).map(|mut all| all.remove(0).1);
        Some((id, found))
    }

    /// Close the open session of job `id` with what the scheduler said: its
    /// exit code, end time, final state and node; a job the scheduler has
    /// forgotten closes with no exit code, state `unknown`, at `now`. Returns
    /// false when no open session names the job (someone closed it first).
    pub fn close_slurm_session(&mut self, id: &JobId, lookup: &Lookup, now: &str) -> bool {
        let Some(session) = self
            .sessions
            .iter_mut()
            .flatten()
            .rev()
            .find(|s| s.is_open() && s.slurm_job().as_ref() == Some(id))
        else {
            return false;
        };
        let record = session
            .extra
            .entry("slurm")
            .or_insert_with(|| json!({"job_id": id.as_str()}));
        match lookup {
            Lookup::Known(job) if job.phase() == slurm::Phase::Ended => {
                if let Value::Object(map) = record {
                    map.insert("state".into(), json!(job.state));
                    map.insert("node".into(), json!(job.node));
                    map.insert("started_at".into(), json!(job.started_at));
                }
                // Slurm gives whole seconds: an end that would sort before
                // the session's own start is recorded as that start.
                let ended = job.ended_at.clone().unwrap_or(now.to_string());
                let ended = match &session.started_at {
                    Some(start) if ended < *start => start.clone(),
                    _ => ended,
                };
                session.ended_at = Some(Some(ended));
                session.exit_code = Some(job.exit_code);
            }
            Lookup::Known(_) => return false,
            Lookup::Forgotten => {
                if let Value::Object(map) = record {
                    map.insert("state".into(), json!("unknown"));
                }
                session.ended_at = Some(Some(now.to_string()));
                session.exit_code = Some(None);
            }
        }
        true
    }
}
