//! The overall status of a run (docs/FORMATS.md#run-state), decided in one place so list,
//! status and compare can never disagree.

use super::{Error, PhaseStatus, RunState};
use crate::project::{RunDir, Settings};
use crate::slurm::{self, Lookup};
use crate::store::DispatchLock;
use std::fmt;

/// The overall status of a run; the first that applies wins, in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OverallStatus {
    /// `archive_manifest.json` is present and the state records the archive.
    Archived,
    /// The dispatch lock is held, the run's Slurm job is running, or an
    /// orchestrator rk did not start is running the run on this host.
    Running,
    /// The run's Slurm job is pending.
    Queued,
    /// A phase failed.
    Failed,
    /// Every phase (of the pipeline and of the state) completed.
    Completed,
    /// Work began and nobody holds the dispatch lock: a phase is
    /// in_progress, or some phases completed and the others never started.
    Interrupted,
    /// A phase was stopped.
    Stopped,
    /// No phase has started.
    NotStarted,
    /// The state file is unreadable.
    Corrupt,
    /// No state file (a legacy run).
    NoState,
}

/// In JSON output a status is its name, spelled in one place: [`OverallStatus::as_str`].
impl serde::Serialize for OverallStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl crate::output::Style {
    /// `text` in the colour of a run's overall status.
    pub fn status(self, status: OverallStatus, text: &str) -> String {
        use OverallStatus as S;
        match status {
            S::Failed | S::Corrupt => self.red(text),
            S::Completed | S::Archived => self.green(text),
            S::Running | S::Queued => self.cyan(text),
            S::Interrupted | S::Stopped => self.yellow(text),
            S::NotStarted | S::NoState => self.dim(text),
        }
    }
}

impl OverallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OverallStatus::Archived => "archived",
            OverallStatus::Running => "running",
            OverallStatus::Queued => "queued",
            OverallStatus::Failed => "failed",
            OverallStatus::Completed => "completed",
            OverallStatus::Interrupted => "interrupted",
            OverallStatus::Stopped => "stopped",
            OverallStatus::NotStarted => "not_started",
            OverallStatus::Corrupt => "corrupt",
            OverallStatus::NoState => "no_state",
        }
    }
}

impl fmt::Display for OverallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The overall status of `run`, given its loaded state. Probes the dispatch
/// lock with a shared non-blocking lock (never disturbs a running resume).
///
/// Where docs/FORMATS.md#run-state is silent: a run whose phases are partly completed and
/// partly not started, with nothing failed, stopped or in progress and no
/// lock held, is `interrupted` (work began and stopped between phases), not
/// `not_started`. Unknown phase statuses never count as completed.
pub fn overall_status(
    run: &RunDir,
    settings: &Settings,
    state: &Result<Option<RunState>, Error>,
) -> OverallStatus {
    let job = match state {
        Ok(Some(s)) => s.ask_open_slurm_job().map(|(_, found)| found),
        _ => None,
    };
    overall_status_with_job(run, settings, state, job.as_ref())
}

/// [`overall_status`], given what the scheduler said about the job of the
/// run's open session (`None`: no open Slurm session). A pending job makes
/// the run `queued`, a running one `running`; an ended or forgotten job, or
/// a scheduler that cannot be reached, leaves the phases to decide.
pub fn overall_status_with_job(
    run: &RunDir,
    settings: &Settings,
    state: &Result<Option<RunState>, Error>,
    job: Option<&Result<Lookup, slurm::Error>>,
) -> OverallStatus {
    if let Ok(Some(s)) = state {
        if s.is_archived() && run.path.join("archive_manifest.json").is_file() {
            return OverallStatus::Archived;
        }
    }
    if DispatchLock::probe(run).is_some() {
        return OverallStatus::Running;
    }
    if let Some(Ok(Lookup::Known(job))) = job {
        match job.phase() {
            slurm::Phase::Queued => return OverallStatus::Queued,
            slurm::Phase::Running => return OverallStatus::Running,
            slurm::Phase::Ended => {}
        }
    }
    overall_status_of_holder(run, settings, state)
}

/// The overall status as the holder of the dispatch lock sees it (`rk
/// archive` holds it): everything but `running` for the lock it holds.
pub fn overall_status_of_holder(
    run: &RunDir,
    settings: &Settings,
    state: &Result<Option<RunState>, Error>,
) -> OverallStatus {
    if let Ok(Some(s)) = state {
        if s.is_archived() && run.path.join("archive_manifest.json").is_file() {
            return OverallStatus::Archived;
        }
    }
    if !crate::orchestrators::running(crate::orchestrators::scanned(settings), run, settings)
        .is_empty()
    {
        return OverallStatus::Running;
    }
    let s = match state {
        Err(_) => return OverallStatus::Corrupt,
        Ok(None) => {
            let archived = super::python_archive::read(&run.path)
                .is_some_and(|a| a.status.as_deref() == Some("archived"));
            return if archived {
                OverallStatus::Archived
            } else {
                OverallStatus::NoState
            };
        }
        Ok(Some(s)) => s,
    };
    let known: Vec<(&str, &PhaseStatus)> = s
        .phases
        .iter()
        .map(|(n, p)| (n.as_str(), &p.status))
        .collect();
    from_phases(&s.steps(&settings.phases), &known)
}

/// The steps of `steps` the orchestrator skipped: not started (or not listed)
/// although a later step completed. The real orchestrator skips a phase whose
/// outputs already exist and never marks it; such a phase counts as completed
/// when rk plans, and is shown as `skipped`.
pub fn skipped<'s, 'p>(
    steps: &'s [String],
    status_of: impl Fn(&str) -> Option<&'p PhaseStatus>,
) -> Vec<&'s str> {
    let last_completed = steps
        .iter()
        .rposition(|p| status_of(p) == Some(&PhaseStatus::Completed));
    let Some(last) = last_completed else {
        return Vec::new();
    };
    steps[..last]
        .iter()
        .filter(|p| matches!(status_of(p), None | Some(PhaseStatus::NotStarted)))
        .map(String::as_str)
        .collect()
}

/// The part of the overall status that the phases alone decide (a run with a
/// readable state, not archived, nobody holding it). `steps` is the run's
/// pipeline without the extra phases the state may list ([`RunState::steps`]).
/// `list` calls this with the few fields it parses, so list and status can
/// never disagree.
///
/// Completed: every phase completed, or the last step completed with no
/// phase failed, in progress or in a status rk does not know (the real
/// orchestrator never marks a phase it skips because its outputs exist).
pub fn from_phases(steps: &[String], phases: &[(&str, &PhaseStatus)]) -> OverallStatus {
    let find = |name: &str| phases.iter().find(|(n, _)| *n == name).map(|(_, s)| *s);
    let statuses: Vec<Option<&PhaseStatus>> = steps
        .iter()
        .map(|p| find(p))
        .chain(
            phases
                .iter()
                .filter(|(n, _)| !steps.iter().any(|p| p == n))
                .map(|(_, s)| Some(*s)),
        )
        .collect();
    let any = |want: &PhaseStatus| statuses.contains(&Some(want));
    let unknown = statuses
        .iter()
        .any(|s| matches!(s, Some(PhaseStatus::Other(_))));
    let last_done = steps
        .last()
        .is_some_and(|p| find(p) == Some(&PhaseStatus::Completed));
    if any(&PhaseStatus::Failed) {
        OverallStatus::Failed
    } else if !statuses.is_empty() && statuses.iter().all(|s| *s == Some(&PhaseStatus::Completed))
        || last_done && !any(&PhaseStatus::InProgress) && !unknown
    {
        OverallStatus::Completed
    } else if any(&PhaseStatus::InProgress) {
        OverallStatus::Interrupted
    } else if any(&PhaseStatus::Stopped) {
        OverallStatus::Stopped
    } else if any(&PhaseStatus::Completed) {
        OverallStatus::Interrupted
    } else {
        OverallStatus::NotStarted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Holder;

    fn status_of(run: &RunDir, phases: &[(&str, &str)]) -> OverallStatus {
        let settings = Settings::default();
        let mut state = RunState::new("r1", &settings.phases);
        for (name, status) in phases {
            if let Some(p) = state.phase_mut(name) {
                p.status = PhaseStatus::parse(status);
            }
        }
        overall_status(run, &settings, &Ok(Some(state)))
    }

    #[test]
    fn first_match_wins() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir {
            rid: "r1".into(),
            path: dir.path().to_path_buf(),
        };
        let settings = Settings::default();
        let all: Vec<(&str, &str)> = settings
            .phases
            .iter()
            .map(|p| (p.as_str(), "completed"))
            .collect();
        assert_eq!(status_of(&run, &all), OverallStatus::Completed);
        assert_eq!(status_of(&run, &[]), OverallStatus::NotStarted);
        assert_eq!(
            status_of(&run, &[("prepare", "completed"), ("build", "failed")]),
            OverallStatus::Failed
        );
        assert_eq!(
            status_of(&run, &[("parse", "in_progress"), ("build", "stopped")]),
            OverallStatus::Interrupted
        );
        assert_eq!(
            status_of(&run, &[("build", "stopped")]),
            OverallStatus::Stopped
        );
        assert_eq!(
            status_of(&run, &[("prepare", "completed")]),
            OverallStatus::Interrupted
        );
        assert_eq!(
            status_of(&run, &[("prepare", "weird")]),
            OverallStatus::NotStarted
        );
        assert_eq!(
            overall_status(&run, &settings, &Ok(None)),
            OverallStatus::NoState
        );
        let corrupt = Err(Error::NoState {
            path: "x".into(),
            rid: "r1".into(),
        });
        assert_eq!(
            overall_status(&run, &settings, &corrupt),
            OverallStatus::Corrupt
        );
        let lock = DispatchLock::try_acquire(&run, &Holder::current(vec!["x".into()])).unwrap();
        assert_eq!(status_of(&run, &all), OverallStatus::Running);
        drop(lock);
        assert_eq!(status_of(&run, &all), OverallStatus::Completed);
    }
}
