//! `rk status` (rk-status(1)): the "where were we" answer for one run.
//!
//! The one idea: gather every fact into a [`Report`] and decide the next
//! command in exactly one place, [`next_command`], so `rk status`, `rk next`,
//! `STATUS.md` and the demo can never give different advice. Status never
//! fails on a damaged run: a corrupt state, a missing config, an unreadable
//! store or a bad manifest each become a fact or a concern in the report,
//! because the person asking is usually the one who has to repair it.

use crate::canon::{self, Scheme};
use crate::code_version::{self, CodeDocument, CodeDrift};
use crate::drift::{self, Drift};
use crate::project::{Project, RunDir, Settings};
use crate::slurm::{self, Lookup};
use crate::state::gates::{self as gate, GateView};
use crate::state::{self, OverallStatus, RunState, SlurmJob};
use crate::store::{DispatchLock, Holder, ObjectId};
use crate::{run_config, trials};
use serde::Serialize;
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
    /// The phase's `last_error` when it is not null: the text of a string,
    /// else the JSON of the value.
    pub last_error: Option<String>,
    /// Not started although a later step completed: the orchestrator skipped
    /// it (its outputs existed) without marking it. Shown as `skipped`.
    pub skipped: bool,
}

/// The phase statuses an orchestrator writes (docs/ORCHESTRATORS.md#statuses);
/// any other is shown as is, with a warning.
pub const KNOWN_STATUSES: [&str; 5] = [
    "not_started",
    "in_progress",
    "completed",
    "failed",
    "stopped",
];

impl PhaseLine {
    /// The recorded status, when it is not one rk knows.
    pub fn unknown_status(&self) -> Option<&str> {
        self.status
            .as_deref()
            .filter(|s| !KNOWN_STATUSES.contains(s))
    }
}

/// The run's config against what its state records. As `config` of `rk
/// status --json`: `{"state": "unchanged", "scheme": …, "hash": …}` and so on
/// (rk-status(1)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
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
        #[serde(rename = "changed_keys")]
        keys: Option<Vec<String>>,
    },
    /// The recorded (legacy) hash cannot be reproduced with certainty.
    Unverifiable { scheme: Scheme, reason: String },
    /// No hash to compare with (no state, no `config_hash`, unknown scheme).
    NotRecorded { reason: String },
    /// The config file does not exist.
    Missing {
        #[serde(serialize_with = "lossy_path")]
        path: PathBuf,
    },
    /// The config file cannot be read or is not a valid config.
    Unreadable { error: String },
}

/// A path as its (lossy) display form: JSON strings are UTF-8.
fn lossy_path<S: serde::Serializer>(path: &std::path::Path, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&path.display())
}

/// The last session recorded in the state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionFacts {
    /// Where work stopped and what comes next (`rk note`).
    pub stopped_at: Option<String>,
    pub resume_file: Option<String>,
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
    /// How commands should name the run: its id, or the path the user gave,
    /// as one shell word (quoted when it needs to be).
    pub run_ref: String,
    pub path: PathBuf,
    /// The state file's path.
    pub state_file: PathBuf,
    pub status: OverallStatus,
    /// Why the state is corrupt.
    pub state_problem: Option<String>,
    /// The state file exists but rk may not read it (not damaged).
    pub state_unreadable: bool,
    /// The newest snapshot that still reads back intact (for a corrupt state).
    pub last_good: Option<ObjectId>,
    pub phases: Vec<PhaseLine>,
    pub migrated: bool,
    /// Trials the manifest glob matched.
    pub trials: usize,
    pub config: ConfigFacts,
    /// Who holds the dispatch lock.
    pub holder: Option<Holder>,
    /// The run was archived by archive_run.py (`t0_<rid>`): reported from
    /// its manifest; nothing for rk to verify or resume.
    pub python_archive: bool,
    /// Orchestrators rk did not start that are running the run on this host.
    pub others: Vec<crate::orchestrators::Candidate>,
    /// For an interrupted run whose state changed recently with no process
    /// to be seen: when it last changed (an orchestrator elsewhere may still
    /// be running).
    pub recently_changed: Option<String>,
    /// The Slurm job of the run's open session, as the scheduler sees it.
    pub job: Option<SlurmJob>,
    /// The content of a pending `STOP_REQUESTED` (a timestamp), when present.
    pub stop_requested: Option<String>,
    /// The latest time anything was recorded: a phase update or a session.
    pub last_activity: Option<String>,
    pub last_session: Option<SessionFacts>,
    /// Review gates owed before a phase (docs/FORMATS.md#rk-fields), in pipeline order.
    pub owed_gates: Vec<GateView>,
    /// The project's code against the run's first recorded version.
    pub code: CodeDrift,
    /// Things to know: migration notes, drift records, corrupt or
    /// reconstructed manifests, problems reading the store.
    pub concerns: Vec<String>,
}

/// Which run `rk status` shows when none is named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DefaultRun {
    /// The run whose directory holds the current directory (its path).
    Here(String),
    /// The one run that is running.
    Active(String),
    /// Neither: every run's overall status, in `rk list` order.
    Summary(Vec<(String, OverallStatus)>),
}

/// The run `rk status` means without an operand: the run whose directory
/// holds `cwd`, else the one running run, else none (a summary). A missing
/// runs dir is exit 2.
pub fn default_run(project: &Project, cwd: &std::path::Path) -> Result<DefaultRun, crate::Error> {
    let runs_dir = project.existing_runs_dir()?;
    if let (Ok(cwd), Ok(runs)) = (cwd.canonicalize(), runs_dir.canonicalize()) {
        if let Some(first) = cwd
            .strip_prefix(&runs)
            .ok()
            .and_then(|rel| rel.components().next())
        {
            let dir = runs.join(first);
            if project.resolve_run(&dir.to_string_lossy()).is_ok() {
                return Ok(DefaultRun::Here(dir.to_string_lossy().into_owned()));
            }
        }
    }
    let rows = crate::ops::list::list(project, crate::ops::list::SortBy::Name)
        .map_err(crate::Error::from)?
        .rows;
    let running: Vec<&str> = rows
        .iter()
        .filter(|r| r.status == OverallStatus::Running)
        .map(|r| r.rid.as_str())
        .collect();
    if let [one] = running[..] {
        return Ok(DefaultRun::Active(one.to_string()));
    }
    Ok(DefaultRun::Summary(
        rows.into_iter().map(|r| (r.rid, r.status)).collect(),
    ))
}

/// How much a [`report`] gathers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Everything the status screen, `--json` and STATUS.md show.
    Screen,
    /// Only what [`next_command`] decides from: the state, the lock holder,
    /// the scheduler, the config and the gates. No trial is read and git is
    /// not asked, so `rk next` stays fast on a run of many trials; the
    /// report's evidence, trial count and code drift are left empty.
    Advice,
}

/// The report of a resolved run.
pub fn report(project: &Project, run: &RunDir, operand: &str, scope: Scope) -> Report {
    let settings = &project.settings;
    let screen = scope == Scope::Screen;
    // Judging the trials is most of the work: it runs on the worker threads
    // while this one reads the state, asks the scheduler and git, and hashes
    // the config.
    let evidence = screen.then(|| {
        let (dir, pattern, rules) = (
            run.path.clone(),
            settings.trials_manifest.clone(),
            settings.evidence.clone(),
        );
        crate::pool::background(move || trials::evaluate(&dir, &pattern, &rules))
    });
    let loaded = state::load(run, settings);
    // git is asked only when the run recorded a code version to compare with.
    let code = match &loaded {
        Ok(Some(s)) if screen => code_version::first_recorded(s).map(|first| {
            let (root, runs_dir) = (project.root.clone(), settings.runs_dir.clone());
            crate::pool::background(move || {
                let now = code_version::probe(&root, &runs_dir);
                code_version::drift_since(&root, Some(&first), &now)
            })
        }),
        _ => None,
    };
    let job = match &loaded {
        Ok(Some(s)) => s.ask_open_slurm_job(),
        _ => None,
    };
    let status = state::overall_status_with_job(
        run,
        settings,
        &loaded,
        job.as_ref().map(|(_, found)| found),
    );
    let job = job.map(|(id, found)| SlurmJob {
        id,
        found: found.map_err(|e| e.to_string()),
    });
    let mut concerns = Vec::new();
    let state_unreadable = matches!(loaded, Err(state::Error::Unreadable { .. }));
    let (state, state_problem, last_good) = match loaded {
        // A state file deleted from a run rk knows: its store can give it back.
        Ok(None) => (
            None,
            None,
            crate::store::Store::new(run).last_good_snapshot(),
        ),
        Ok(s) => (s, None, None),
        Err(state::Error::Corrupt {
            problem, last_good, ..
        }) => (None, Some(problem.to_string()), last_good),
        Err(state::Error::Unreadable { reason, .. }) => {
            (None, Some(format!("cannot be read: {reason}")), None)
        }
        Err(e) => (None, Some(e.to_string()), None),
    };

    let evidence = match evidence.map(crate::pool::Background::wait) {
        Some(Ok(ev)) => Some(ev),
        Some(Err(e)) => {
            concerns.push(format!("trials cannot be read: {e}"));
            None
        }
        None => None,
    };

    let phases = phase_lines(settings, state.as_ref(), evidence.as_ref(), &mut concerns);
    let config = config_facts(project, run, state.as_ref(), &mut concerns);
    let python_archive = match (&state, &state_problem) {
        (None, None) => state::python_archive::read(&run.path).map(|a| {
            concerns.push(a.describe());
        }),
        _ => None,
    }
    .is_some();

    if let Some(s) = &state {
        recorded_concerns(s, &mut concerns);
    }
    if let Some(ev) = &evidence {
        concerns.extend(ev.concerns.iter().map(|c| c.to_string()));
    }

    let last_session = last_session(state.as_ref());
    let last_activity = last_activity(&phases, last_session.as_ref());

    let code = code.map_or(CodeDrift::NotRecorded, crate::pool::Background::wait);

    Report {
        rid: run.rid.clone(),
        run_ref: if operand.contains('/') {
            crate::dispatch::shell_word(operand).into_owned()
        } else {
            run.rid.clone()
        },
        path: run.path.clone(),
        state_file: state::state_path(run, settings),
        status,
        state_problem,
        state_unreadable,
        last_good,
        phases,
        migrated: state.as_ref().and_then(|s| s.migrated).unwrap_or(false),
        trials: evidence.as_ref().map_or(0, |e| e.trials),
        config,
        job,
        holder: if status == OverallStatus::Running {
            DispatchLock::probe(run)
        } else {
            None
        },
        python_archive,
        others: if status == OverallStatus::Running {
            others_running(run, settings)
        } else {
            Vec::new()
        },
        recently_changed: if status == OverallStatus::Interrupted {
            recently_changed(run, settings, state.as_ref())
        } else {
            None
        },
        stop_requested: stop_requested(run),
        last_activity,
        last_session,
        owed_gates: state
            .as_ref()
            .map_or_else(Vec::new, |s| owed_gates(s, settings)),
        code,
        concerns,
    }
}

/// The gates of `state` still owed a review.
fn owed_gates(state: &RunState, settings: &Settings) -> Vec<GateView> {
    gate::gates(state, settings)
        .into_iter()
        .filter(GateView::is_owed)
        .collect()
}

/// The pending stop token's text (its time), when there is one.
fn stop_requested(run: &RunDir) -> Option<String> {
    crate::store::atomic::read_regular(
        &run.path.join("STOP_REQUESTED"),
        crate::store::atomic::limit::SMALL,
    )
    .ok()
    .map(|s| String::from_utf8_lossy(&s).trim().to_string())
}

/// Orchestrators rk did not start that are running this run.
fn others_running(run: &RunDir, settings: &Settings) -> Vec<crate::orchestrators::Candidate> {
    crate::orchestrators::running(crate::orchestrators::scanned(settings), run, settings)
        .into_iter()
        .cloned()
        .collect()
}

/// One line per phase of the pipeline, with what the state records and what
/// the evidence shows; phases beyond the pipeline and statuses rk does not
/// know become concerns.
fn phase_lines(
    settings: &Settings,
    state: Option<&RunState>,
    evidence: Option<&trials::Evidence>,
    concerns: &mut Vec<String>,
) -> Vec<PhaseLine> {
    let names: Vec<String> = match state {
        Some(s) => s.pipeline(&settings.phases),
        None => settings.phases.clone(),
    };
    let steps: Vec<String> = match state {
        Some(s) => s.steps(&settings.phases),
        None => settings.phases.clone(),
    };
    let skipped: Vec<String> = match state {
        Some(s) => state::skipped(&steps, |p| s.phase(p).map(|ph| &ph.status))
            .into_iter()
            .map(String::from)
            .collect(),
        None => Vec::new(),
    };
    if let Some(s) = state {
        for (name, phase) in &s.phases {
            if !steps.contains(name) {
                concerns.push(format!(
                    "phase {name} ({}) is not a step of the run's pipeline: kept and shown, never dispatched",
                    phase.status
                ));
            }
            if let state::PhaseStatus::Other(other) = &phase.status {
                concerns.push(format!(
                    "warning: phase {name} has status {other:?}, which rk does not know: kept as is and counted as not completed"
                ));
            }
        }
    }
    let phases: Vec<PhaseLine> = names
        .into_iter()
        .map(|name| {
            let recorded = state.and_then(|s| s.phase(&name));
            let ev = evidence
                .and_then(|e| e.phase(&name))
                .filter(|p| p.counted > 0);
            PhaseLine {
                status: recorded.map(|p| p.status.as_str().to_string()),
                last_error: recorded
                    .and_then(|p| p.last_error.as_ref())
                    .and_then(|e| match e {
                        serde_json::Value::Null => None,
                        serde_json::Value::String(s) => Some(s.clone()),
                        other => Some(other.to_string()),
                    }),
                updated_at: recorded.and_then(|p| p.updated_at.clone().flatten()),
                evidence: ev.map(|p| (p.satisfied, p.counted)),
                evidence_status: ev.map(|p| p.status.as_str()),
                skipped: skipped.contains(&name),
                name,
            }
        })
        .collect::<Vec<_>>();

    for p in &phases {
        if let Some(unknown) = p.unknown_status() {
            concerns.push(format!(
                "phase {} has the unknown status {unknown:?}: shown as is and counted as not completed (an orchestrator writes {})",
                p.name,
                KNOWN_STATUSES.join(", ")
            ));
        }
    }
    phases
}

/// What the state carries for people: its notes (migration, adoption, `rk
/// note`) and its config drift records.
fn recorded_concerns(s: &RunState, concerns: &mut Vec<String>) {
    for note in s.notes.iter().flatten() {
        let by = note.created_by.as_deref().unwrap_or("note");
        let at = note.created_at.as_deref().unwrap_or("?");
        concerns.push(format!(
            "{by} ({at}): {}",
            note.message.as_deref().unwrap_or("")
        ));
    }
    for d in s.config_drift.iter().flatten() {
        fn short(h: &Option<String>) -> &str {
            h.as_deref().map_or("?", canon::short_hash)
        }
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

/// The last session recorded in the state.
fn last_session(state: Option<&RunState>) -> Option<SessionFacts> {
    state
        .and_then(|s| s.sessions.as_ref())
        .and_then(|s| s.last())
        .map(|s| SessionFacts {
            stopped_at: s.stopped_at.clone().flatten(),
            resume_file: s.resume_file.clone().flatten(),
            started_at: s.started_at.clone(),
            ended_at: s.ended_at.clone().flatten(),
            exit_code: s.exit_code.flatten(),
            steps: s.steps.clone().unwrap_or_default(),
            host: s.host.clone(),
            pid: s.pid.flatten(),
        })
}

/// The latest time anything was recorded: a phase update or a session.
fn last_activity(phases: &[PhaseLine], last_session: Option<&SessionFacts>) -> Option<String> {
    phases
        .iter()
        .filter_map(|p| p.updated_at.as_deref())
        .chain(
            last_session
                .into_iter()
                .flat_map(|s| [s.started_at.as_deref(), s.ended_at.as_deref()])
                .flatten(),
        )
        .filter_map(|t| crate::clock::Timestamp::parse(t).map(|ts| (ts, t)))
        .max_by_key(|(ts, _)| *ts)
        .map(|(_, t)| t.to_string())
}

/// How recent a state change must be for status to say an orchestrator
/// elsewhere may still be running.
const RECENT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// When an interrupted run's state last changed, if that was recent, a phase
/// is in progress, and no rk session's end explains it (a change after the
/// last session ended, or no session at all): an orchestrator on another
/// host, or one rk cannot see, may still be running it.
fn recently_changed(run: &RunDir, settings: &Settings, state: Option<&RunState>) -> Option<String> {
    let state = state?;
    if !state
        .phases
        .iter()
        .any(|(_, p)| p.status == state::PhaseStatus::InProgress)
    {
        return None;
    }
    let modified = std::fs::metadata(state::state_path(run, settings))
        .ok()?
        .modified()
        .ok()?;
    if modified.elapsed().ok()? > RECENT {
        return None;
    }
    let micros = modified
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_micros() as i64;
    let changed = crate::clock::Timestamp::from_unix_micros(micros);
    let session_end = state
        .sessions
        .as_ref()
        .and_then(|s| s.last())
        .and_then(|s| s.ended_at.clone().flatten())
        .and_then(|t| crate::clock::Timestamp::parse(&t));
    if session_end.is_some_and(|end| end.micros + 2_000_000 >= changed.micros) {
        return None;
    }
    Some(changed.to_string())
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
        state.recorded_hash(),
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

/// The owed gate that blocks everything left to do: at or before the first
/// phase that is not completed.
fn gated(report: &Report) -> Option<&GateView> {
    let first_open = report
        .phases
        .iter()
        .position(|p| p.status.as_deref() != Some("completed") && !p.skipped)?;
    report.owed_gates.iter().find(|g| {
        report
            .phases
            .iter()
            .position(|p| p.name == g.phase)
            .is_some_and(|at| at <= first_open)
    })
}

/// The exact next command to type, decided once for every caller (`rk
/// status`, `rk next`, `STATUS.md`, the demo). When two commands are owed in
/// order (look at the drift, then resume past it) they come one per line.
/// `None` while the run is running: there is nothing to type but to wait.
///
/// * corrupt: restore the last good snapshot, `rk restore RUN --at ID`; with
///   no good snapshot, move the damaged file aside and rebuild the state from
///   the files, `mv STATE STATE.corrupt && rk migrate RUN`;
/// * no_state: `rk restore RUN --at ID` when the run's store still holds a
///   snapshot (the state file was deleted), else `rk migrate RUN`;
/// * archived: `rk verify RUN`; completed: `rk archive RUN`;
/// * stopped, interrupted, failed, not_started: when only work behind an
///   owed review gate is left, `rk gate clear RUN PHASE --note "…"`; else
///   `rk resume RUN`; when the
///   config drifted, `rk diff-config RUN@recorded RUN` then `rk resume RUN
///   --force` (only the latter when no recorded config exists to diff);
///   when the recorded legacy hash is unverifiable, `rk resume RUN --force`.
pub fn next_command(report: &Report) -> Option<String> {
    let run = &report.run_ref;
    match report.status {
        OverallStatus::Running | OverallStatus::Queued => None,
        OverallStatus::Corrupt if report.state_unreadable => Some(state::unreadable_next(
            &report.state_file.display().to_string(),
        )),
        OverallStatus::Corrupt => Some(match &report.last_good {
            Some(id) => format!("rk restore {run} --at {}", id.short()),
            None => {
                let f = report.state_file.display().to_string();
                let f = crate::dispatch::shell_word(&f);
                format!("mv {f} {f}.corrupt && rk migrate {run}")
            }
        }),
        OverallStatus::NoState => Some(match &report.last_good {
            Some(id) => format!("rk restore {run} --at {}", id.short()),
            None => format!("rk migrate {run}"),
        }),
        OverallStatus::Archived if report.python_archive => None,
        OverallStatus::Archived => Some(format!("rk verify {run}")),
        OverallStatus::Completed => Some(format!("rk archive {run}")),
        OverallStatus::Stopped
        | OverallStatus::Interrupted
        | OverallStatus::Failed
        | OverallStatus::NotStarted => Some(match (&report.config, gated(report)) {
            (_, Some(g)) => format!(
                "rk gate clear {run} {} --note \"what was reviewed\"",
                g.phase
            ),
            (ConfigFacts::Drifted { keys: Some(_), .. }, None) => {
                format!("rk diff-config {run}@recorded {run}\nrk resume {run} --force")
            }
            (ConfigFacts::Drifted { keys: None, .. } | ConfigFacts::Unverifiable { .. }, None) => {
                format!("rk resume {run} --force")
            }
            _ => format!("rk resume {run}"),
        }),
    }
}

/// `rk status --json` (format_version 1): the document whose fields
/// rk-status(1) lists under "With --json" and docs/FORMATS.md#plumbing-output
/// promises, borrowed from a [`Report`]. The fields are in output order.
#[derive(Debug, Serialize)]
pub struct StatusDocument<'a> {
    format_version: u32,
    run: &'a str,
    path: String,
    status: OverallStatus,
    state_problem: Option<&'a str>,
    last_good_snapshot: Option<String>,
    migrated: bool,
    trials: usize,
    phases: Vec<PhaseDocument<'a>>,
    config: &'a ConfigFacts,
    held_by: Option<&'a Holder>,
    orchestrators: Vec<OrchestratorDocument<'a>>,
    state_changed_recently: Option<&'a str>,
    slurm_job: Option<SlurmJobDocument<'a>>,
    stop_requested: Option<&'a str>,
    last_activity: Option<&'a str>,
    last_session: Option<SessionDocument<'a>>,
    concerns: &'a [String],
    owed_gates: &'a [GateView],
    code: CodeDocument<'a>,
    /// The next command; two owed in order are joined by a newline.
    next: Option<String>,
    /// The same as a list, empty when there is nothing to type.
    next_commands: Vec<String>,
}

/// One of `phases` in `rk status --json`.
#[derive(Debug, Serialize)]
struct PhaseDocument<'a> {
    name: &'a str,
    status: Option<&'a str>,
    updated_at: Option<&'a str>,
    last_error: Option<&'a str>,
    skipped: bool,
    evidence: Option<EvidenceDocument>,
}

/// A phase's trial counts under its evidence rule.
#[derive(Debug, Serialize)]
struct EvidenceDocument {
    satisfied: usize,
    counted: usize,
    status: Option<&'static str>,
}

/// One of `orchestrators`: a process rk did not start that runs the run.
#[derive(Debug, Serialize)]
struct OrchestratorDocument<'a> {
    pid: i32,
    command: &'a [String],
    since: Option<String>,
}

/// `last_session`.
#[derive(Debug, Serialize)]
struct SessionDocument<'a> {
    started_at: Option<&'a str>,
    ended_at: Option<&'a str>,
    exit_code: Option<i64>,
    steps: &'a [String],
    host: Option<&'a str>,
    pid: Option<i64>,
    stopped_at: Option<&'a str>,
    resume_file: Option<&'a str>,
}

/// `slurm_job`: what the scheduler said of the open session's job, or that
/// it no longer knows it, or why it could not be asked.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum SlurmJobDocument<'a> {
    Known {
        id: &'a str,
        known: bool,
        state: &'a str,
        /// `queued`, `running` or `ended`.
        phase: &'static str,
        node: Option<&'a str>,
        reason: Option<&'a str>,
        submitted_at: Option<&'a str>,
        started_at: Option<&'a str>,
        ended_at: Option<&'a str>,
        exit_code: Option<i64>,
    },
    Forgotten {
        id: &'a str,
        known: bool,
    },
    Unasked {
        id: &'a str,
        error: &'a str,
    },
}

impl<'a> From<&'a SlurmJob> for SlurmJobDocument<'a> {
    fn from(j: &'a SlurmJob) -> Self {
        let id = j.id.as_str();
        match &j.found {
            Ok(Lookup::Known(job)) => SlurmJobDocument::Known {
                id,
                known: true,
                state: &job.state,
                phase: match job.phase() {
                    slurm::Phase::Queued => "queued",
                    slurm::Phase::Running => "running",
                    slurm::Phase::Ended => "ended",
                },
                node: job.node.as_deref(),
                reason: job.reason.as_deref(),
                submitted_at: job.submitted_at.as_deref(),
                started_at: job.started_at.as_deref(),
                ended_at: job.ended_at.as_deref(),
                exit_code: job.exit_code,
            },
            Ok(Lookup::Forgotten) => SlurmJobDocument::Forgotten { id, known: false },
            Err(error) => SlurmJobDocument::Unasked { id, error },
        }
    }
}

impl<'a> From<&'a Report> for StatusDocument<'a> {
    fn from(r: &'a Report) -> Self {
        let next = next_command(r);
        StatusDocument {
            format_version: 1,
            run: &r.rid,
            path: r.path.display().to_string(),
            status: r.status,
            state_problem: r.state_problem.as_deref(),
            last_good_snapshot: r.last_good.as_ref().map(ObjectId::to_string),
            migrated: r.migrated,
            trials: r.trials,
            phases: r
                .phases
                .iter()
                .map(|p| PhaseDocument {
                    name: &p.name,
                    status: p.status.as_deref(),
                    updated_at: p.updated_at.as_deref(),
                    last_error: p.last_error.as_deref(),
                    skipped: p.skipped,
                    evidence: p.evidence.map(|(satisfied, counted)| EvidenceDocument {
                        satisfied,
                        counted,
                        status: p.evidence_status,
                    }),
                })
                .collect(),
            config: &r.config,
            held_by: r.holder.as_ref(),
            orchestrators: r
                .others
                .iter()
                .map(|o| OrchestratorDocument {
                    pid: o.pid,
                    command: &o.command,
                    since: o.since.map(|t| t.to_string()),
                })
                .collect(),
            state_changed_recently: r.recently_changed.as_deref(),
            slurm_job: r.job.as_ref().map(SlurmJobDocument::from),
            stop_requested: r.stop_requested.as_deref(),
            last_activity: r.last_activity.as_deref(),
            last_session: r.last_session.as_ref().map(|s| SessionDocument {
                started_at: s.started_at.as_deref(),
                ended_at: s.ended_at.as_deref(),
                exit_code: s.exit_code,
                steps: &s.steps,
                host: s.host.as_deref(),
                pid: s.pid,
                stopped_at: s.stopped_at.as_deref(),
                resume_file: s.resume_file.as_deref(),
            }),
            concerns: &r.concerns,
            owed_gates: &r.owed_gates,
            code: CodeDocument::from(&r.code),
            next_commands: next
                .as_deref()
                .map(|n| n.lines().map(str::to_string).collect())
                .unwrap_or_default(),
            next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slurm::JobId;

    fn job(state: &str, ended: bool) -> SlurmJob {
        SlurmJob {
            id: JobId::parse("123_4").unwrap(),
            found: Ok(Lookup::Known(slurm::Job {
                id: JobId::parse("123_4").unwrap(),
                state: state.into(),
                node: Some("n1".into()),
                submitted_at: Some("2025-09-03T09:00:00.000000Z".into()),
                started_at: None,
                ended_at: ended.then(|| "2025-09-03T09:30:00.000000Z".into()),
                exit_code: ended.then_some(137),
                reason: (!ended).then(|| "Priority".into()),
            })),
        }
    }

    /// `slurm_job` of `rk status --json` in each form, verbatim (the CLI
    /// tests cannot pin it: a real scheduler's ids and times change).
    #[test]
    fn slurm_job_documents() {
        let text = |j: &SlurmJob| serde_json::to_string(&SlurmJobDocument::from(j)).unwrap();
        assert_eq!(
            text(&job("PENDING", false)),
            r#"{"id":"123_4","known":true,"state":"PENDING","phase":"queued","node":"n1","reason":"Priority","submitted_at":"2025-09-03T09:00:00.000000Z","started_at":null,"ended_at":null,"exit_code":null}"#
        );
        assert_eq!(
            text(&job("RUNNING", false)),
            r#"{"id":"123_4","known":true,"state":"RUNNING","phase":"running","node":"n1","reason":"Priority","submitted_at":"2025-09-03T09:00:00.000000Z","started_at":null,"ended_at":null,"exit_code":null}"#
        );
        assert_eq!(
            text(&job("FAILED", true)),
            r#"{"id":"123_4","known":true,"state":"FAILED","phase":"ended","node":"n1","reason":null,"submitted_at":"2025-09-03T09:00:00.000000Z","started_at":null,"ended_at":"2025-09-03T09:30:00.000000Z","exit_code":137}"#
        );
        let id = JobId::parse("7").unwrap();
        let forgotten = SlurmJob {
            id: id.clone(),
            found: Ok(Lookup::Forgotten),
        };
        assert_eq!(text(&forgotten), r#"{"id":"7","known":false}"#);
        let unreachable = SlurmJob {
            id,
            found: Err("squeue: cannot connect".into()),
        };
        assert_eq!(
            text(&unreachable),
            r#"{"id":"7","error":"squeue: cannot connect"}"#
        );
    }
}
