//! The plan of a resume: rk's own reading of where a run stands, and which
//! step flags the orchestrator gets (rk.yaml `dispatch.plan`).
//!
//! The one idea: with `plan: orchestrator` (the default) the argv is exactly
//! what `resume_run.py` runs, the dispatch command plus only the step flags
//! the user gave, because the real orchestrator checks its own files and
//! rebuilds what is missing even where the state says completed. rk's reading
//! (the first unfinished phase, phases whose outputs are missing) is still
//! made, shown by `--dry-run`, and decides whether there is anything to do.
//! With `plan: rk`, rk adds `--from_step` at the first phase its reading says
//! is not done, for orchestrators that do not check their outputs.

use crate::dispatch::StepRange;
use crate::project::{Plan, Project, RunDir};
use crate::state::{self, OverallStatus, PhaseStatus, RunState};
use crate::trials::{self, EvidenceStatus};

/// Where rk reads the run to stand.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reading {
    /// The first step not completed (a skipped step counts as completed).
    pub first_unfinished: Option<String>,
    /// Steps not marked although a later one completed (the orchestrator
    /// skips a phase whose outputs exist and never marks it).
    pub skipped: Vec<String>,
    /// Steps the state calls completed (or skipped) whose outputs the
    /// evidence rules do not find in every trial.
    pub missing_outputs: Vec<String>,
    /// The phases alone say the run is completed.
    pub completed: bool,
}

impl Reading {
    /// The first step with work left: unfinished, or missing its outputs.
    pub fn start(&self, steps: &[String]) -> Option<String> {
        steps
            .iter()
            .find(|s| {
                self.first_unfinished.as_deref() == Some(s.as_str())
                    || self.missing_outputs.contains(s)
            })
            .cloned()
    }

    /// One line for people: what rk reads.
    pub fn describe(&self) -> String {
        let mut parts = vec![match &self.first_unfinished {
            Some(first) => format!("{first} is the first phase not completed"),
            None => "every phase is completed".to_string(),
        }];
        if !self.skipped.is_empty() {
            parts.push(format!(
                "skipped by the orchestrator: {}",
                self.skipped.join(", ")
            ));
        }
        if !self.missing_outputs.is_empty() {
            parts.push(format!(
                "outputs missing although the state says completed: {}",
                self.missing_outputs.join(", ")
            ));
        }
        parts.join("; ")
    }
}

/// Read the run: its state's phases against the evidence of its trials.
/// A run whose trials cannot be read is judged by its state alone.
pub fn read(project: &Project, run: &RunDir, state: &RunState) -> Reading {
    let settings = &project.settings;
    let steps = state.steps(&settings.phases);
    let status_of = |p: &str| state.phase(p).map(|ph| &ph.status);
    let skipped: Vec<String> = state::skipped(&steps, status_of)
        .into_iter()
        .map(String::from)
        .collect();
    let done = |p: &String| status_of(p) == Some(&PhaseStatus::Completed) || skipped.contains(p);
    let first_unfinished = steps.iter().find(|p| !done(p)).cloned();
    let known: Vec<(&str, &PhaseStatus)> = state
        .phases
        .iter()
        .map(|(n, p)| (n.as_str(), &p.status))
        .collect();
    let completed = state::from_phases(&steps, &known) == OverallStatus::Completed;
    // Only a step the state calls done can miss its outputs: the rules of the
    // others are not judged, and with none left no trial is read at all.
    let rules: Vec<_> = settings
        .evidence
        .iter()
        .filter(|(phase, _)| steps.iter().any(|s| s == phase && done(s)))
        .cloned()
        .collect();
    let missing_outputs = if rules.is_empty() {
        Vec::new()
    } else {
        match trials::evaluate(&run.path, &settings.trials_manifest, &rules) {
            Ok(evidence) => steps
                .iter()
                .filter(|p| done(p))
                .filter(|p| {
                    evidence
                        .phase(p)
                        .is_some_and(|e| e.counted > 0 && e.status != EvidenceStatus::Completed)
                })
                .cloned()
                .collect(),
            Err(_) => Vec::new(),
        }
    };
    Reading {
        first_unfinished,
        skipped,
        missing_outputs,
        completed,
    }
}

/// What to dispatch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Completed, and the evidence agrees: nothing to dispatch.
    Nothing,
    /// Dispatch. `covered` is the range rk expects the orchestrator to work
    /// on (gates are checked against it); `flags` is the range whose step
    /// flags go on the argv.
    Dispatch {
        covered: StepRange,
        flags: StepRange,
        reason: String,
    },
}

/// Decide what to dispatch from the user's step flags, rk's reading and
/// rk.yaml `dispatch.plan`.
pub fn decide(
    plan: Plan,
    user: Option<&StepRange>,
    reading: &Reading,
    steps: &[String],
) -> Decision {
    if let Some(user) = user {
        return Decision::Dispatch {
            covered: user.clone(),
            flags: user.clone(),
            reason: format!(
                "the steps named on the command line; {}",
                reading.describe()
            ),
        };
    }
    if reading.completed && reading.missing_outputs.is_empty() {
        return Decision::Nothing;
    }
    let start = reading.start(steps);
    let covered = StepRange::Range {
        from: start.clone(),
        to: None,
    };
    match plan {
        Plan::Rk => Decision::Dispatch {
            flags: covered.clone(),
            covered,
            reason: format!("dispatch.plan rk: from {}; {}", start.as_deref().unwrap_or("the start"), reading.describe()),
        },
        Plan::Orchestrator => Decision::Dispatch {
            covered,
            flags: StepRange::Range {
                from: None,
                to: None,
            },
            reason: format!(
                "dispatch.plan orchestrator: no step flags, the orchestrator's own checks decide where it starts; rk reads: {}",
                reading.describe()
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps() -> Vec<String> {
        ["a", "b", "c"].iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn orchestrator_plan_passes_no_flags_and_rk_plan_starts_at_the_first_unfinished() {
        let reading = Reading {
            first_unfinished: Some("b".into()),
            ..Reading::default()
        };
        let Decision::Dispatch { covered, flags, .. } =
            decide(Plan::Orchestrator, None, &reading, &steps())
        else {
            panic!("dispatches");
        };
        assert_eq!(
            flags,
            StepRange::Range {
                from: None,
                to: None
            }
        );
        assert_eq!(covered.phases(&steps()), ["b", "c"]);
        let Decision::Dispatch { flags, .. } = decide(Plan::Rk, None, &reading, &steps()) else {
            panic!("dispatches");
        };
        assert_eq!(flags.phases(&steps()), ["b", "c"]);
    }

    #[test]
    fn completed_is_nothing_only_when_the_evidence_agrees() {
        let mut reading = Reading {
            completed: true,
            ..Reading::default()
        };
        assert_eq!(
            decide(Plan::Rk, None, &reading, &steps()),
            Decision::Nothing
        );
        reading.missing_outputs = vec!["b".into()];
        let Decision::Dispatch { flags, .. } = decide(Plan::Rk, None, &reading, &steps()) else {
            panic!("outputs are missing: dispatched");
        };
        assert_eq!(flags.phases(&steps()), ["b", "c"]);
        // A named step is always dispatched.
        reading.missing_outputs.clear();
        let only = StepRange::Only("a".into());
        assert!(matches!(
            decide(Plan::Orchestrator, Some(&only), &reading, &steps()),
            Decision::Dispatch { .. }
        ));
    }
}
