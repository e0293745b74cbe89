//! Review gates as they stand for a run: a gate on phase P means no dispatch
//! of P or any later phase until someone clears it with a note.
//!
//! Gates come from two places: rk.yaml `gates: {P: reason}` (owed by every
//! run of the project) and the state's `gates` (added with `rk gate add`, and
//! where every clearing is recorded). A gate is owed until the state records
//! it cleared; `--force` never clears one. This is the query; `rk gate`
//! (ops::gate) changes them through the one write path.

use super::RunState;
use crate::project::Settings;

/// One gate as it stands for a run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GateView {
    pub phase: String,
    pub reason: String,
    /// `rk.yaml` or `state`.
    pub source: &'static str,
    pub created_at: Option<String>,
    pub cleared_at: Option<String>,
    pub cleared_by: Option<String>,
    pub note: Option<String>,
}

impl GateView {
    pub fn is_owed(&self) -> bool {
        self.cleared_at.is_none()
    }
}

/// One line of `rk gate list --json` (NDJSON, format_version 1): the gate's
/// fields, then `format_version` and `owed`. The fields are in output order.
#[derive(Debug, serde::Serialize)]
pub struct GateLineDocument<'a> {
    #[serde(flatten)]
    gate: &'a GateView,
    format_version: u32,
    owed: bool,
}

impl<'a> From<&'a GateView> for GateLineDocument<'a> {
    fn from(gate: &'a GateView) -> Self {
        GateLineDocument {
            gate,
            format_version: 1,
            owed: gate.is_owed(),
        }
    }
}

fn flat(v: &Option<Option<String>>) -> Option<String> {
    v.clone().flatten()
}

/// Every gate of a run, in pipeline order: rk.yaml's, then those the state
/// records (which also record every clearing, of either kind).
pub fn gates(state: &RunState, settings: &Settings) -> Vec<GateView> {
    let phases = state.pipeline(&settings.phases);
    let recorded = state.gates.as_deref().unwrap_or(&[]);
    let from_yaml = |phase: &str| {
        settings
            .gates
            .iter()
            .find(|(p, _)| p == phase)
            .map(|(_, r)| r.clone())
    };
    let mut out: Vec<GateView> = settings
        .gates
        .iter()
        .filter(|(p, _)| !recorded.iter().any(|(q, _)| q == p))
        .map(|(phase, reason)| GateView {
            phase: phase.clone(),
            reason: reason.clone(),
            source: "rk.yaml",
            created_at: None,
            cleared_at: None,
            cleared_by: None,
            note: None,
        })
        .collect();
    out.extend(recorded.iter().map(|(phase, gate)| {
        GateView {
            phase: phase.clone(),
            reason: gate
                .reason
                .clone()
                .filter(|r| !r.is_empty())
                .or_else(|| from_yaml(phase))
                .unwrap_or_default(),
            source: if from_yaml(phase).is_some() {
                "rk.yaml"
            } else {
                "state"
            },
            created_at: flat(&gate.created_at),
            cleared_at: flat(&gate.cleared_at),
            cleared_by: flat(&gate.cleared_by),
            note: flat(&gate.note),
        }
    }));
    out.sort_by_key(|g| {
        phases
            .iter()
            .position(|p| *p == g.phase)
            .unwrap_or(usize::MAX)
    });
    out
}

/// The first owed gate at or before the end of `covered` phases, in pipeline
/// order: what blocks a dispatch of them.
pub fn first_owed<'g>(
    gates: &'g [GateView],
    phases: &[String],
    covered: &[String],
) -> Option<&'g GateView> {
    let last = covered
        .last()
        .and_then(|c| phases.iter().position(|p| p == c))?;
    gates.iter().filter(|g| g.is_owed()).find(|g| {
        phases
            .iter()
            .position(|p| *p == g.phase)
            .is_some_and(|i| i <= last)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_first_owed_gate_within_the_covered_phases_blocks() {
        let settings = Settings {
            gates: vec![("submit".into(), "check the budget".into())],
            ..Settings::default()
        };
        let state = RunState::new("r", &settings.phases);
        let all = gates(&state, &settings);
        let phases = settings.phases.clone();
        assert_eq!(
            first_owed(&all, &phases, &names(&["prepare", "build"])),
            None
        );
        let owed = first_owed(&all, &phases, &names(&["build", "submit", "poll"])).unwrap();
        assert_eq!((owed.phase.as_str(), owed.source), ("submit", "rk.yaml"));
    }
}
