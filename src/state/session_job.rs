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
