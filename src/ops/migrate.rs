//! `rk migrate` (rk-migrate(1)): bring a run made before any state file existed
//! under rk's care, by inferring each phase from the files its trials left.
//!
//! The one idea: **plan, then apply.** [`plan`] only reads — it scans the
//! trials once, judges every evidence rule, hashes the config and lists every
//! file it would move or write — so `--dry-run` is the plan printed and the
//! tree stays byte-identical. [`apply`] carries the plan out: corrupt manifests
//! are copied aside and replaced by reconstructed ones (under `.state.lock`,
//! the lock every writer of the run takes), the config object is stored, and
//! the state goes through [`state::commit`], the one write path. `rk resume`
//! calls the same two functions when a run has no state.
//!
//! Every uncertainty becomes a note in the state (`created_by: "rk migrate"`),
//! so `rk status` can carry it for as long as the run lives.
//!
//! Decisions where rk-migrate(1) is silent (the man page says the same):
//! * A corrupt manifest judged before or after its reconstruction gives the
//!   same counts (both count as unreadable for the job rules, and neither
//!   lists datasets; the file rules never read the manifest), so the plan's
//!   statuses are exactly what the written state holds.
//! * A pipeline phase with no evidence rule is recorded `not_started`, with a
//!   note; rules for phases outside the pipeline are ignored.
//! * No config file: the run is still migrated, without `config_hash`, with a
//!   note saying how to record one. A config that does not parse is refused
//!   (exit 2) and nothing is written: a hash of a guess would be worse than none.
//! * `--rebuild` replaces the phases, the config hash, `migrated` and the
//!   notes of the previous migration, and keeps everything else (sessions,
//!   other notes, drift records, gates, unknown fields): those are history no
//!   file on disk can give back. A rebuild that moves the recorded
//!   `config_hash` records the drift in `config_drift` (`forced: false`,
//!   `by: rk migrate --rebuild`) and warns, as `rk resume --force` would.
//!   A corrupt state file is kept aside by the commit path and rebuilt from
//!   nothing. The old state is in the snapshot history either way.
//! * Manifests are repaired before the state is committed. Should the commit
//!   fail (the lock busy, exit 4), the repairs stay, and the next migrate
//!   notes the reconstructed manifests instead of repairing them again.
//! * No state file, but the store holds snapshots: refused (exit 6) unless
//!   `--rebuild`, because `rk restore` would bring the recorded state back.

use crate::canon::{self, Scheme};
use crate::clock::{self, Timestamp};
use crate::drift;
use crate::error::{Error, Exit};
use crate::ops::commit::commit;
use crate::project::{Project, RunDir};
use crate::state::{self, Expect, Found, Note, Phase, PhaseStatus, RunState};
use crate::store::{self, atomic, ObjectId, StateLock, Store};
use crate::trials::{self, evidence, Concern, EvidenceRule, EvidenceStatus, ManifestView};
use std::path::Path;

/// Who writes the notes of a migration.
pub const CREATED_BY: &str = "rk migrate";

/// How to plan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Re-infer a run that already has a state (`--rebuild`).
    pub rebuild: bool,
}

/// What a migration does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The run has no state: write the first one.
    Migrate,
    /// The run has a state and `--rebuild` was given: re-infer it.
    Rebuild,
    /// The run already has a state: nothing to do.
    Nothing,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Migrate => "migrate",
            Action::Rebuild => "rebuild",
            Action::Nothing => "none",
        }
    }
}

/// One phase as the evidence shows it (one of `phases` in `rk migrate
/// --json`: `{phase, status, rule, satisfied, counted}`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PhasePlan {
    pub phase: String,
    pub status: EvidenceStatus,
    /// The rule, as rk.yaml spells it (`file: results/predictions.csv`), or
    /// `None` when no rule names the phase.
    pub rule: Option<String>,
    pub satisfied: usize,
    pub counted: usize,
}

/// The config the state will record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigPlan {
    /// `config_path` as recorded: the config file name, relative to the run dir.
    pub path: String,
    /// `config_hash` under `scheme`; `None` when the file is missing.
    pub hash: Option<String>,
    /// The scheme of `hash`: a rebuilt run's own, else rk.yaml `hash.scheme`.
    pub scheme: Scheme,
}

/// A corrupt manifest, to be copied aside and rebuilt (one of `repairs` in
/// `rk migrate --json`: `{slug, manifest, backup, error}`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Repair {
    pub slug: String,
    /// The manifest, relative to the run dir.
    pub manifest: String,
    /// Where its bytes go, relative to the run dir (`….corrupt.<ts>`).
    pub backup: String,
    /// Why it is corrupt.
    pub error: String,
}

/// What kind of uncertainty a note records (for the warnings the CLI shows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteKind {
    InProgress,
    CorruptManifest,
    UnreadableManifest,
    IgnoredField,
    NoRule,
    NoConfig,
    NoTrials,
}

/// One uncertainty, recorded as a note in the state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanNote {
    pub kind: NoteKind,
    pub message: String,
}

/// Everything a migration would do, computed without writing.
#[derive(Clone, Debug)]
pub struct Plan {
    pub rid: String,
    pub action: Action,
    /// Why nothing is done, for [`Action::Nothing`].
    pub reason: Option<String>,
    /// Trials found (readable or not).
    pub trials: usize,
    /// Every pipeline phase, in pipeline order (empty for [`Action::Nothing`]).
    pub phases: Vec<PhasePlan>,
    /// `None` for [`Action::Nothing`].
    pub config: Option<ConfigPlan>,
    pub repairs: Vec<Repair>,
    pub notes: Vec<PlanNote>,
    /// Files the migration writes, relative to the run dir, in order.
    pub writes: Vec<String>,
    /// When the plan was made; stamps the backups and the reconstructed manifests.
    pub now: Timestamp,
    /// The run's config value, stored as the config object.
    config_value: Option<canon::Value>,
}

impl Plan {
    /// The first phase that is not completed: where `rk resume` starts.
    pub fn resume_from(&self) -> Option<&str> {
        self.phases
            .iter()
            .find(|p| p.status != EvidenceStatus::Completed)
            .map(|p| p.phase.as_str())
    }
}

/// What [`apply`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The `migrate` snapshot, now HEAD; `None` when the plan did nothing.
    pub snapshot: Option<ObjectId>,
    /// The `observed` snapshot of the old state (a `--rebuild` of a state
    /// rk had not recorded yet).
    pub observed: Option<ObjectId>,
    /// Manifests copied aside and rebuilt.
    pub repaired: Vec<Repair>,
    /// Things to tell the user (from the commit path, or a manifest that
    /// changed since the plan).
    pub warnings: Vec<String>,
}

/// `rk migrate --json` (format_version 1): the plan, and the snapshot the
/// migration made, as rk-migrate(1) describes them under "JSON (--json)".
/// Printed pretty (two spaces). The fields are in output order.
#[derive(Debug, serde::Serialize)]
pub struct MigrationDocument<'a> {
    format_version: u32,
    run: &'a str,
    /// `migrate`, `rebuild` or `none`.
    action: &'static str,
    dry_run: bool,
    reason: Option<&'a str>,
    trials: usize,
    phases: &'a [PhasePlan],
    config: Option<ConfigDocument<'a>>,
    repairs: &'a [Repair],
    notes: Vec<&'a str>,
    writes: &'a [String],
    /// The new snapshot; `null` for a dry run or when nothing was done.
    snapshot: Option<String>,
}

/// `config` of `rk migrate --json`: the scheme is `null` when there is no hash.
#[derive(Debug, serde::Serialize)]
struct ConfigDocument<'a> {
    path: &'a str,
    hash: Option<&'a str>,
    scheme: Option<Scheme>,
}

impl<'a> MigrationDocument<'a> {
    /// The plan, and what applying it did (`None` for a dry run).
    pub fn new(plan: &'a Plan, applied: Option<&Applied>, dry_run: bool) -> Self {
        MigrationDocument {
            format_version: 1,
            run: &plan.rid,
            action: plan.action.as_str(),
            dry_run,
            reason: plan.reason.as_deref(),
            trials: plan.trials,
            phases: &plan.phases,
            config: plan.config.as_ref().map(|c| ConfigDocument {
                path: &c.path,
                hash: c.hash.as_deref(),
                scheme: c.hash.as_ref().map(|_| c.scheme),
            }),
            repairs: &plan.repairs,
            notes: plan.notes.iter().map(|n| n.message.as_str()).collect(),
            writes: &plan.writes,
            snapshot: applied
                .and_then(|a| a.snapshot.as_ref())
                .map(|id| id.to_string()),
        }
    }
}

fn rule_text(rule: &EvidenceRule) -> String {
    match rule {
        EvidenceRule::Always => "always: completed".into(),
        EvidenceRule::File(p) => format!("file: {p}"),
        EvidenceRule::JobsRecorded => "jobs: recorded".into(),
        EvidenceRule::JobsDownloaded => "jobs: downloaded".into(),
    }
}

/// Plan the migration of a run that has no state (what `rk resume` needs).
pub fn plan(project: &Project, run: &RunDir) -> Result<Plan, Error> {
    plan_with(project, run, Options::default())
}

/// Plan a migration. Reads only: nothing under the run dir changes.
pub fn plan_with(project: &Project, run: &RunDir, options: Options) -> Result<Plan, Error> {
    let settings = &project.settings;
    let now = clock::now();
    let (action, scheme) = match decide(run, settings, options)? {
        Decision::Nothing(reason) => {
            return Ok(Plan {
                rid: run.rid.clone(),
                action: Action::Nothing,
                reason: Some(reason),
                trials: 0,
                phases: Vec::new(),
                config: None,
                repairs: Vec::new(),
                notes: Vec::new(),
                writes: Vec::new(),
                now,
                config_value: None,
            })
        }
        Decision::Act(action, scheme) => (action, scheme),
    };
    let (config, config_value) = plan_config(run, settings, scheme)?;

    // The evidence, for the rules of pipeline phases only.
    let rules = pipeline_rules(settings);
    let evidence = trials::evaluate(&run.path, &settings.trials_manifest, &rules)?;
    let phases = plan_phases(settings, &evidence);

    let mut notes = Vec::new();
    if evidence.trials == 0 {
        notes.push(PlanNote {
            kind: NoteKind::NoTrials,
            message: format!(
                "no trial matches {:?}: every phase is recorded not_started",
                settings.trials_manifest
            ),
        });
    }
    notes.extend(phase_notes(run, &phases));
    let repairs = plan_repairs(run, &evidence, now, &mut notes);
    if config.hash.is_none() {
        notes.push(PlanNote {
            kind: NoteKind::NoConfig,
            message: format!(
                "no config at {}: no config_hash recorded, so drift cannot be checked; \
                 put the run's config there and run `rk migrate {} --rebuild`",
                config.path, run.rid
            ),
        });
    }

    let mut writes = Vec::new();
    for r in &repairs {
        writes.push(r.backup.clone());
        writes.push(r.manifest.clone());
    }
    writes.push(settings.state_file.clone());
    writes.push(".rk/".into());

    Ok(Plan {
        rid: run.rid.clone(),
        action,
        reason: None,
        trials: evidence.trials,
        phases,
        config: Some(config),
        repairs,
        notes,
        writes,
        now,
        config_value,
    })
}

/// What the run's state says a migration should do.
enum Decision {
    /// Nothing, for this reason.
    Nothing(String),
    /// Migrate or rebuild, hashing the config under this scheme.
    Act(Action, Scheme),
}

/// The state: absent → migrate; present → nothing, or rebuild. Refuses a run
/// archived by archive_run.py, and a run whose state is gone but whose store
/// holds snapshots (unless rebuilding).
fn decide(
    run: &RunDir,
    settings: &crate::project::Settings,
    options: Options,
) -> Result<Decision, Error> {
    let state_file = state::state_path(run, settings);
    // rk never changes a run's scheme: a rebuild keeps the one recorded.
    let mut scheme = settings.hash_scheme;
    let has_state = match state::load(run, settings) {
        Ok(Some(old)) => {
            if old.recorded_hash().is_some() {
                if let Some(s) = drift::recorded_scheme(old.config_hash_scheme.as_deref()) {
                    scheme = s;
                }
            }
            true
        }
        Ok(None) => false,
        Err(state::Error::Corrupt { .. }) if options.rebuild => true,
        Err(e) => return Err(e.into()),
    };
    let action = match (has_state, options.rebuild) {
        (true, false) => {
            return Ok(Decision::Nothing(format!(
                "{} already has a state ({}); nothing to migrate",
                run.rid, settings.state_file
            )))
        }
        (true, true) => Action::Rebuild,
        (false, _) if state::python_archive::read(&run.path).is_some() => {
            return Err(Error::refusal(
                Exit::Refused,
                format!(
                    "{} was archived by archive_run.py; it has no state to migrate and nothing was written",
                    run.rid
                ),
                Some(format!("`rk status {}` shows what its archive manifest records", run.rid)),
            ))
        }
        (false, rebuild) => {
            let head = Store::new(run).read_head().ok().flatten();
            if head.is_some() && !rebuild {
                return Err(Error::refusal(
                    Exit::Refused,
                    format!(
                        "{} has no {} but its store holds snapshots; nothing was written",
                        run.rid,
                        state_file.display()
                    ),
                    Some(format!(
                        "bring the recorded state back with `rk restore {0}`, or infer a new one from the files with `rk migrate {0} --rebuild`",
                        run.rid
                    )),
                ));
            }
            if rebuild {
                Action::Rebuild
            } else {
                Action::Migrate
            }
        }
    };
    Ok(Decision::Act(action, scheme))
}

/// The config: missing → migrate without a hash; malformed → refuse.
fn plan_config(
    run: &RunDir,
    settings: &crate::project::Settings,
    scheme: Scheme,
) -> Result<(ConfigPlan, Option<canon::Value>), Error> {
    let config_path = crate::run_config::current_path(run, settings);
    Ok(match crate::run_config::current(run, settings)? {
        Some(doc) => {
            let hash = drift::hash_to_record(&doc, &config_path, scheme, &settings.hash_ignore)?;
            (
                ConfigPlan {
                    path: settings.config_file.clone(),
                    hash: Some(hash),
                    scheme,
                },
                Some(doc.value),
            )
        }
        None => (
            ConfigPlan {
                path: settings.config_file.clone(),
                hash: None,
                scheme,
            },
            None,
        ),
    })
}

/// Every pipeline phase as the evidence shows it; a phase no rule names is
/// not started.
fn plan_phases(settings: &crate::project::Settings, evidence: &trials::Evidence) -> Vec<PhasePlan> {
    settings
        .phases
        .iter()
        .map(|phase| match evidence.phase(phase) {
            Some(e) => PhasePlan {
                phase: phase.clone(),
                status: e.status,
                rule: Some(rule_text(&e.rule)),
                satisfied: e.satisfied,
                counted: e.counted,
            },
            None => PhasePlan {
                phase: phase.clone(),
                status: EvidenceStatus::NotStarted,
                rule: None,
                satisfied: 0,
                counted: 0,
            },
        })
        .collect()
}

/// Notes on phases with no rule, and on phases the evidence shows half done.
fn phase_notes(run: &RunDir, phases: &[PhasePlan]) -> Vec<PlanNote> {
    let mut notes = Vec::new();
    let mut note = |kind, message: String| notes.push(PlanNote { kind, message });
    for p in phases {
        match (&p.rule, p.status) {
            (None, _) => note(
                NoteKind::NoRule,
                format!(
                    "phase {} has no evidence rule in rk.yaml: recorded not_started; \
                     add a rule under `evidence:` and run `rk migrate {} --rebuild`",
                    p.phase, run.rid
                ),
            ),
            (Some(rule), EvidenceStatus::InProgress) => note(
                NoteKind::InProgress,
                format!(
                    "phase {} inferred in_progress: {} of {} trials satisfy `{rule}`; \
                     its work may be partly done and will be dispatched again",
                    p.phase, p.satisfied, p.counted
                ),
            ),
            _ => {}
        }
    }
    notes
}

/// A repair for every corrupt manifest, and a note for every concern the
/// scan raised.
fn plan_repairs(
    run: &RunDir,
    evidence: &trials::Evidence,
    now: Timestamp,
    notes: &mut Vec<PlanNote>,
) -> Vec<Repair> {
    let mut note = |kind, message: String| notes.push(PlanNote { kind, message });
    let stamp = clock::file_stamp(now);
    let mut repairs = Vec::new();
    for concern in &evidence.concerns {
        match concern {
            Concern::CorruptManifest { slug, path, error } => {
                let backup = backup_name(&run.path, path, &stamp);
                note(
                    NoteKind::CorruptManifest,
                    format!(
                        "corrupt manifest {path} ({error}): its bytes were kept in {backup} \
                         and a manifest was reconstructed from the files on disk; \
                         its jobs are unknown, so the job rules count the trial as unreadable"
                    ),
                );
                repairs.push(Repair {
                    slug: slug.clone(),
                    manifest: path.clone(),
                    backup,
                    error: error.clone(),
                });
            }
            Concern::MissingManifest { path, error, .. } => note(
                NoteKind::UnreadableManifest,
                format!(
                    "unreadable manifest {path} ({error}): left as it is; \
                     the job rules count the trial as unreadable"
                ),
            ),
            Concern::ReconstructedManifest { .. } => note(
                NoteKind::CorruptManifest,
                format!("{concern}; the job rules count the trial as unreadable"),
            ),
            Concern::FieldIgnored { .. } => note(NoteKind::IgnoredField, concern.to_string()),
        }
    }
    repairs
}

/// `<manifest>.corrupt.<stamp>`, with `.1`, `.2`… when that name is taken.
fn backup_name(run_dir: &Path, manifest: &str, stamp: &str) -> String {
    let base = format!("{manifest}.corrupt.{stamp}");
    let mut name = base.clone();
    let mut n = 0;
    while run_dir.join(&name).symlink_metadata().is_ok() {
        n += 1;
        name = format!("{base}.{n}");
    }
    name
}

/// Carry out a plan: repair manifests, store the config object, commit the
/// state (op `migrate`). A plan of [`Action::Nothing`] does nothing.
pub fn apply(project: &Project, run: &RunDir, plan: &Plan) -> Result<Applied, Error> {
    let mut applied = Applied {
        snapshot: None,
        observed: None,
        repaired: Vec::new(),
        warnings: Vec::new(),
    };
    if plan.action == Action::Nothing {
        return Ok(applied);
    }
    let settings = &project.settings;
    let now = clock::now();
    let stamp = now.to_string();

    // Manifests are the orchestrator's files too: rewrite them under its lock.
    if !plan.repairs.is_empty() {
        let rules = pipeline_rules(settings);
        let _lock = StateLock::acquire(&run.path.join(&settings.state_lock))?;
        for repair in &plan.repairs {
            let manifest = run.path.join(&repair.manifest);
            let bytes = store::atomic::read_regular(&manifest, store::atomic::limit::STATE)
                .map_err(|e| store::io_err(&manifest, e))?;
            if ManifestView::parse(&bytes).is_ok() {
                applied.warnings.push(format!(
                    "{} was repaired by someone else since the plan; left as it is",
                    repair.manifest
                ));
                continue;
            }
            // The backup first (never replacing a file), then the manifest
            // replaced atomically: at every instant both bytes exist on disk.
            let backup = run.path.join(&repair.backup);
            match atomic::create_new(&backup, &bytes, atomic::FILE_MODE)
                .map_err(|e| store::io_err(&backup, e))?
            {
                atomic::Created::New => {}
                atomic::Created::Existed => {
                    return Err(Error::refusal(
                        Exit::Refused,
                        format!(
                            "{} exists already; {} was not repaired",
                            backup.display(),
                            repair.manifest
                        ),
                        Some(format!("run `rk migrate {}` again", run.rid)),
                    ))
                }
            }
            let backup_file = Path::new(&repair.backup)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let rebuilt = evidence::reconstruct_manifest(
                &run.path.join(&repair.slug),
                &rules,
                Some(&run.rid),
                &backup_file,
                &stamp,
            );
            let mut text = serde_json::to_string_pretty(&rebuilt)
                .map_err(|e| Error::usage(format!("cannot render a manifest: {e}"), None))?;
            text.push('\n');
            atomic::write_atomic(&manifest, text.as_bytes(), atomic::FILE_MODE)
                .map_err(|e| store::io_err(&manifest, e))?;
            applied.repaired.push(repair.clone());
        }
    }

    let config_id = match &plan.config_value {
        Some(value) => Some(Store::new(run).put_value(value)?),
        None => None,
    };
    let message = match plan.action {
        Action::Rebuild => format!("rebuilt from {} trials", plan.trials),
        _ => format!("migrated from {} trials", plan.trials),
    };
    let mut drift_warning = None;
    let (committed, ()) = commit(project, run, "migrate", &message, &Expect::Any, |draft| {
        let old = match (plan.action, &draft.found) {
            (Action::Migrate, Found::Missing) => None,
            (Action::Migrate, _) => {
                return Err(Error::refusal(
                    Exit::Busy,
                    format!(
                        "{} was written by someone else while rk planned the migration; nothing was migrated",
                        settings.state_file
                    ),
                    Some(format!("look at it with `rk status {}`", run.rid)),
                ))
            }
            (_, Found::Valid) => Some(std::mem::take(&mut draft.state)),
            (_, _) => None,
        };
        let drifts_before = old
            .as_ref()
            .and_then(|s| s.config_drift.as_ref())
            .map_or(0, Vec::len);
        draft.state = planned_state(project, run, plan, old, &stamp);
        if let Some(record) = draft
            .state
            .config_drift
            .as_ref()
            .filter(|d| d.len() > drifts_before)
            .and_then(|d| d.last())
        {
            drift_warning = Some(format!(
                "the config drifted since the state was recorded ({} -> {}); recorded in config_drift, review it with `rk diff-config {}@recorded {}`",
                canon::short_hash(record.expected.as_deref().unwrap_or("-")),
                canon::short_hash(record.actual.as_deref().unwrap_or("-")),
                run.rid,
                run.rid
            ));
        }
        if config_id.is_some() {
            draft.config = config_id.clone();
        }
        Ok(())
    })?;
    applied.snapshot = Some(committed.id);
    applied.observed = committed.observed;
    applied.warnings.extend(committed.warnings);
    applied.warnings.extend(drift_warning);
    Ok(applied)
}

/// The evidence rules of the pipeline's phases (a rule for a phase outside
/// the pipeline is ignored).
fn pipeline_rules(settings: &crate::project::Settings) -> Vec<(String, EvidenceRule)> {
    settings
        .evidence
        .iter()
        .filter(|(phase, _)| settings.phases.contains(phase))
        .cloned()
        .collect()
}

/// The state a plan writes: for a rebuild, the old state (as read under the
/// lock) keeps what evidence
/// cannot give back (sessions, other notes, drift records, gates, unknown
/// fields); phases, config hash and this migration's notes come from the plan.
pub fn planned_state(
    project: &Project,
    run: &RunDir,
    plan: &Plan,
    old: Option<RunState>,
    stamp: &str,
) -> RunState {
    let settings = &project.settings;
    let mut new = match (plan.action, old) {
        (Action::Rebuild, Some(old)) => old,
        _ => RunState::new(&run.rid, &settings.phases),
    };
    new.schema_version = Some(1);
    if new.run_id.is_none() {
        new.run_id = Some(run.rid.clone());
    }
    new.phases = plan
        .phases
        .iter()
        .map(|p| {
            let mut phase = Phase::not_started();
            phase.status = PhaseStatus::parse(p.status.as_str());
            (p.phase.clone(), phase)
        })
        .collect();
    let config = plan.config.as_ref();
    // A rebuild that moves the recorded hash is config drift, recorded as
    // `rk resume --force` records it (not forced: found by the rebuild), so
    // status reports the run as drifted rather than unchanged.
    let before = new
        .config_hash
        .clone()
        .flatten()
        .map(|h| (h, new.config_hash_scheme.clone()));
    let after = config.and_then(|c| c.hash.clone());
    if let (Action::Rebuild, Some((expected, expected_scheme)), Some(actual)) =
        (plan.action, before, after.as_ref())
    {
        if &expected != actual {
            let mut record = crate::state::DriftRecord {
                detected_at: Some(stamp.to_string()),
                expected: Some(expected),
                actual: Some(actual.clone()),
                forced: Some(false),
                ..Default::default()
            };
            record.extra.insert(
                "expected_scheme".into(),
                serde_json::json!(expected_scheme.unwrap_or_else(|| "pyyaml-sorted".into())),
            );
            record.extra.insert(
                "actual_scheme".into(),
                serde_json::json!(config.map(|c| c.scheme.name())),
            );
            record
                .extra
                .insert("by".into(), serde_json::json!("rk migrate --rebuild"));
            new.config_drift.get_or_insert_with(Vec::new).push(record);
        }
    }
    new.config_hash = config.and_then(|c| c.hash.clone()).map(Some);
    new.config_hash_scheme = config
        .filter(|c| c.hash.is_some())
        .map(|c| c.scheme.name().to_string());
    new.config_path = config.filter(|c| c.hash.is_some()).map(|c| c.path.clone());
    new.migrated = Some(true);
    // A rebuild's notes replace the previous migration's (kept in history).
    if let Some(notes) = &mut new.notes {
        notes.retain(|n| n.created_by.as_deref() != Some(CREATED_BY));
    }
    for n in &plan.notes {
        new.notes.get_or_insert_with(Vec::new).push(Note {
            created_by: Some(CREATED_BY.into()),
            created_at: Some(stamp.to_string()),
            message: Some(n.message.clone()),
            extra: Default::default(),
        });
    }
    new
}
