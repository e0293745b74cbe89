//! `rk status` (SPEC §7.4): the "where were we" answer for one run.
//!
//! The one idea: gather every fact into a [`Report`] and decide the next
//! command in exactly one place, [`next_command`], so `rk status`, `rk next`,
//! `STATUS.md` and the demo can never give different advice. Status never
//! fails on a damaged run: a corrupt state, a missing config, an unreadable
//! store or a bad manifest each become a fact or a concern in the report,
//! because the person asking is usually the one who has to repair it.

use crate::canon::{self, Scheme};
use crate::drift::{self, Drift};
use crate::project::{Project, RunDir};
use crate::state::{self, OverallStatus, RunState};
use crate::store::{DispatchLock, Holder, ObjectId};
use crate::{run_config, trials};
use std::path::PathBuf;

/// One phase of the pipeline (and any phase the state has beyond it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhaseLine {
    pub name: String,
    /// The status the state records; `None` without a readable state or
    /// when the state does not list the phase.
    pub status: Option<String>,
    pub updated_at: Option<String>,
    /// Trial counts from the evidence rules: (satisfied, counted). `None`
    /// when the phase has no rule or the rule looked at no trial.
    pub evidence: Option<(usize, usize)>,
    /// What the evidence rules infer for the phase, when they apply.
    pub evidence_status: Option<&'static str>,
}

/// The run's config against what its state records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigFacts {
    /// The current config hashes to the recorded hash.
    Unchanged { scheme: Scheme, hash: String },
    /// It does not. `keys` are the changed JSON Pointers between the recorded
    /// config object and the current config; `None` when the store holds no
    /// recorded config (a legacy run): then only the hashes are known.
    Drifted {
        scheme: Scheme,
        recorded: String,
        current: String,
        keys: Option<Vec<String>>,
    },
    /// The recorded (legacy) hash cannot be reproduced with certainty.
    Unverifiable { scheme: Scheme, reason: String },
    /// No hash to compare with (no state, no `config_hash`, unknown scheme).
    NotRecorded { reason: String },
    /// The config file does not exist.
    Missing { path: PathBuf },
    /// The config file cannot be read or is not a valid config.
    Unreadable { error: String },
}

/// The last session recorded in the state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionFacts {
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub exit_code: Option<i64>,
    pub steps: Vec<String>,
    pub host: Option<String>,
    pub pid: Option<i64>,
}

/// Every fact `rk status` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub rid: String,
    /// How commands should name the run: its id, or the path the user gave
    /// when the run lives outside `runs_dir`.
    pub run_ref: String,
    pub path: PathBuf,
    /// The state file's path.
    pub state_file: PathBuf,
    pub status: OverallStatus,
    /// Why the state is corrupt.
    pub state_problem: Option<String>,
    /// The newest snapshot that still reads back intact (for a corrupt state).
    pub last_good: Option<ObjectId>,
    pub phases: Vec<PhaseLine>,
    pub migrated: bool,
    /// Trials the manifest glob matched.
    pub trials: usize,
    pub config: ConfigFacts,
    /// Who holds the dispatch lock.
    pub holder: Option<Holder>,
    /// The content of a pending `STOP_REQUESTED` (a timestamp), when present.
    pub stop_requested: Option<String>,
    /// The latest time anything was recorded: a phase update or a session.
    pub last_activity: Option<String>,
    pub last_session: Option<SessionFacts>,
    /// Things to know: migration notes, drift records, corrupt or
    /// reconstructed manifests, problems reading the store.
    pub concerns: Vec<String>,
}

/// Gather the report. Fails only when the run cannot be resolved (exit 2).
pub fn status(project: &Project, operand: &str) -> Result<Report, crate::Error> {
    let run = project.resolve_run(operand)?;
    Ok(report(project, &run, operand))
}

/// The report of a resolved run.
pub fn report(project: &Project, run: &RunDir, operand: &str) -> Report {
    let settings = &project.settings;
    let loaded = state::load(run, settings);
    let status = state::overall_status(run, settings, &loaded);
    let mut concerns = Vec::new();
    let (state, state_problem, last_good) = match loaded {
        Ok(s) => (s, None, None),
        Err(state::Error::Corrupt {
            problem, last_good, ..
        }) => (None, Some(problem.to_string()), last_good),
        Err(e) => (None, Some(e.to_string()), None),
    };

    let evidence = match trials::evaluate(&run.path, &settings.trials_manifest, &settings.evidence)
    {
        Ok(ev) => Some(ev),
        Err(e) => {
            concerns.push(format!("trials cannot be read: {e}"));
            None
        }
    };

    let mut names: Vec<String> = settings.phases.clone();
    if let Some(s) = &state {
        names.extend(
            s.phases
                .iter()
                .map(|(n, _)| n.clone())
                .filter(|n| !settings.phases.contains(n)),
        );
    }
    let phases = names
        .into_iter()
        .map(|name| {
            let recorded = state.as_ref().and_then(|s| s.phase(&name));
            let ev = evidence
                .as_ref()
                .and_then(|e| e.phase(&name))
                .filter(|p| p.counted > 0);
            PhaseLine {
                status: recorded.map(|p| p.status.as_str().to_string()),
                updated_at: recorded.and_then(|p| p.updated_at.clone().flatten()),
                evidence: ev.map(|p| (p.satisfied, p.counted)),
                evidence_status: ev.map(|p| p.status.as_str()),
                name,
            }
        })
        .collect::<Vec<_>>();

    let config = config_facts(project, run, state.as_ref(), &mut concerns);

    if let Some(s) = &state {
        for note in s.notes.iter().flatten() {
            let by = note.created_by.as_deref().unwrap_or("note");
            let at = note.created_at.as_deref().unwrap_or("?");
            concerns.push(format!(
                "{by} ({at}): {}",
                note.message.as_deref().unwrap_or("")
            ));
        }
        for d in s.config_drift.iter().flatten() {
            let short = |h: &Option<String>| {
                h.as_deref()
                    .map_or("?".to_string(), |h| h.chars().take(12).collect())
            };
            concerns.push(format!(
                "config drift {} at {}: {} -> {}",
                if d.forced == Some(true) {
                    "forced"
                } else {
                    "recorded"
                },
                d.detected_at.as_deref().unwrap_or("?"),
                short(&d.expected),
                short(&d.actual),
            ));
        }
    }
    if let Some(ev) = &evidence {
        concerns.extend(ev.concerns.iter().map(|c| c.to_string()));
    }

    let last_session = state
        .as_ref()
        .and_then(|s| s.sessions.as_ref())
        .and_then(|s| s.last())
        .map(|s| SessionFacts {
            started_at: s.started_at.clone(),
            ended_at: s.ended_at.clone().flatten(),
            exit_code: s.exit_code.flatten(),
            steps: s.steps.clone().unwrap_or_default(),
            host: s.host.clone(),
            pid: s.pid.flatten(),
        });
    let last_activity = phases
        .iter()
        .filter_map(|p| p.updated_at.as_deref())
        .chain(
            last_session
                .iter()
                .flat_map(|s| [s.started_at.as_deref(), s.ended_at.as_deref()])
                .flatten(),
        )
        .filter_map(|t| crate::clock::Timestamp::parse(t).map(|ts| (ts, t)))
        .max_by_key(|(ts, _)| *ts)
        .map(|(_, t)| t.to_string());

    let stop_requested = std::fs::read_to_string(run.path.join("STOP_REQUESTED"))
        .ok()
        .map(|s| s.trim().to_string());

    Report {
        rid: run.rid.clone(),
        run_ref: if operand.contains('/') {
            operand.to_string()
        } else {
            run.rid.clone()
        },
        path: run.path.clone(),
        state_file: state::state_path(run, settings),
        status,
        state_problem,
        last_good,
        phases,
        migrated: state.as_ref().and_then(|s| s.migrated).unwrap_or(false),
        trials: evidence.as_ref().map_or(0, |e| e.trials),
        config,
        holder: if status == OverallStatus::Running {
            DispatchLock::probe(run)
        } else {
            None
        },
        stop_requested,
        last_activity,
        last_session,
        concerns,
    }
}

fn config_facts(
    project: &Project,
    run: &RunDir,
    state: Option<&RunState>,
    concerns: &mut Vec<String>,
) -> ConfigFacts {
    let settings = &project.settings;
    let current = match run_config::current(run, settings) {
        Ok(Some(doc)) => doc,
        Ok(None) => {
            return ConfigFacts::Missing {
                path: run_config::current_path(run, settings),
            }
        }
        Err(e) => {
            return ConfigFacts::Unreadable {
                error: e.to_string(),
            }
        }
    };
    let Some(state) = state else {
        return ConfigFacts::NotRecorded {
            reason: "the run has no readable state".into(),
        };
    };
    match drift::check(
        state.config_hash.as_deref(),
        state.config_hash_scheme.as_deref(),
        &current,
        &settings.hash_ignore,
    ) {
        Drift::Unchanged { scheme, hash } => ConfigFacts::Unchanged { scheme, hash },
        Drift::Unverifiable { scheme, reason } => ConfigFacts::Unverifiable { scheme, reason },
        Drift::NotRecorded { reason } => ConfigFacts::NotRecorded { reason },
        Drift::Drifted {
            scheme,
            recorded,
            current: current_hash,
        } => {
            let keys = match run_config::recorded(run) {
                Ok(Some((_, mut recorded_value))) => {
                    let mut now = current.value.clone();
                    canon::remove_pointers(&mut now, &settings.hash_ignore);
                    canon::remove_pointers(&mut recorded_value, &settings.hash_ignore);
                    Some(
                        canon::changed_pointers(&recorded_value, &now)
                            .iter()
                            .map(|p| p.to_string())
                            .collect(),
                    )
                }
                Ok(None) => None,
                Err(e) => {
                    concerns.push(format!("the recorded config cannot be read: {e}"));
                    None
                }
            };
            ConfigFacts::Drifted {
                scheme,
                recorded,
                current: current_hash,
                keys,
            }
        }
    }
}

/// The exact next command to type, decided once for every caller (`rk
/// status`, `rk next`, `STATUS.md`, the demo). When two commands are owed in
/// order (look at the drift, then resume past it) they come one per line.
/// `None` while the run is running: there is nothing to type but to wait.
///
/// * corrupt: restore the last good snapshot, `rk read-state RUN --at ID |
///   rk write-state RUN`; with no good snapshot, move the damaged file aside
///   and rebuild the state from the files, `mv STATE STATE.corrupt && rk
///   migrate RUN`;
/// * no_state: `rk migrate RUN`;
/// * archived: `rk verify RUN`; completed: `rk archive RUN`;
/// * stopped, interrupted, failed, not_started: `rk resume RUN`; when the
///   config drifted, `rk diff-config RUN@recorded RUN` then `rk resume RUN
///   --force` (only the latter when no recorded config exists to diff);
///   when the recorded legacy hash is unverifiable, `rk resume RUN --force`.
pub fn next_command(report: &Report) -> Option<String> {
    let run = &report.run_ref;
    match report.status {
        OverallStatus::Running => None,
        OverallStatus::Corrupt => Some(match &report.last_good {
            Some(id) => format!("rk read-state {run} --at {id} | rk write-state {run}"),
            None => {
                let f = report.state_file.display();
                format!("mv {f} {f}.corrupt && rk migrate {run}")
            }
        }),
        OverallStatus::NoState => Some(format!("rk migrate {run}")),
        OverallStatus::Archived => Some(format!("rk verify {run}")),
        OverallStatus::Completed => Some(format!("rk archive {run}")),
        OverallStatus::Stopped
        | OverallStatus::Interrupted
        | OverallStatus::Failed
        | OverallStatus::NotStarted => Some(match &report.config {
            ConfigFacts::Drifted { keys: Some(_), .. } => {
                format!("rk diff-config {run}@recorded {run}\nrk resume {run} --force")
            }
            ConfigFacts::Drifted { keys: None, .. } | ConfigFacts::Unverifiable { .. } => {
                format!("rk resume {run} --force")
            }
            _ => format!("rk resume {run}"),
        }),
    }
}
