//! `rk resume`: start the orchestrator again exactly where a run stood
//! (rk-resume(1)).
//!
//! The promises, in the order the code keeps them: never two dispatches of
//! one run at a time (the dispatch lock, held by the child for as long as it
//! lives); never a silently changed config (drift under the recorded scheme
//! refuses, `--force` records it); never a dispatch of completed work unless
//! the user named the step; and every session recorded before and after, so
//! the history says what ran, when, and how it ended.

use crate::canon::{self, Document, Scheme};
use crate::clock;
use crate::code_version::{self, CodeDrift, Probe};
use crate::dispatch::{self, shell_words, Placeholders, StepRange};
use crate::drift::{self, run_scheme, Drift};
use crate::error::{Error, Exit};
use crate::ops::commit::commit;
use crate::ops::diff_config::{self, Side};
use crate::ops::{adopt, archive_manifest, migrate, plan, slurm_job, status_md, stop};
use crate::output::Messages;
use crate::project::{CodeDriftPolicy, Project, RunDir, Settings, Via};
use crate::run_config;
use crate::state::gates as gate;
use crate::state::{self, DriftRecord, Expect, Note, RunState, Session};
use crate::store::{self, atomic, DispatchLock, Holder, ObjectId, Store};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What the user asked for.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Step flags as given; `None` resumes from the first unfinished phase.
    pub steps: Option<StepRange>,
    pub force: bool,
    /// `--config PATH`.
    pub config: Option<PathBuf>,
    pub dry_run: bool,
    /// The command after `--`, replacing rk.yaml's dispatch command.
    pub command: Option<Vec<String>>,
    /// rk's own command line, written into the dispatch lock file.
    pub invocation: Vec<String>,
    /// `dispatch.via: slurm`: wait for the job and return its exit code.
    pub wait: bool,
}

/// What resume did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every phase is completed and no step was named: nothing dispatched.
    NothingToResume,
    /// `--dry-run`: the exact argv that would run.
    DryRun { argv: Vec<String>, reason: String },
    /// The orchestrator ran and ended with `code`.
    Dispatched { argv: Vec<String>, code: i32 },
    /// `dispatch.via: slurm`: the job was submitted with `sbatch` and
    /// recorded; `code` is its exit code when `--wait` waited for it.
    Submitted {
        job: crate::slurm::JobId,
        sbatch: Vec<String>,
        code: Option<i32>,
    },
}

/// Check step flags against the run's phases: unknown step, or from after to.
pub fn validate_steps(steps: &StepRange, phases: &[String]) -> Result<(), Error> {
    let position = |step: &str| -> Result<usize, Error> {
        phases.iter().position(|p| p == step).ok_or_else(|| {
            Error::usage(
                format!("unknown step {step:?}"),
                Some(format!("valid steps: {}", phases.join(", "))),
            )
        })
    };
    match steps {
        StepRange::Only(step) => {
            position(step)?;
        }
        StepRange::Range { from, to } => {
            let from_at = from.as_deref().map(position).transpose()?;
            let to_at = to.as_deref().map(position).transpose()?;
            if let (Some(f), Some(t)) = (from_at, to_at) {
                if f > t {
                    return Err(Error::usage(
                        format!(
                            "--from-step {} comes after --to-step {} in the pipeline",
                            from.as_deref().unwrap_or_default(),
                            to.as_deref().unwrap_or_default()
                        ),
                        Some(format!("the pipeline is: {}", phases.join(" → "))),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The config a resume checks and dispatches with.
struct ChosenConfig {
    doc: Document,
    /// What `{config}` becomes.
    path: PathBuf,
    /// Bytes to install as the run's config file when drift is forced
    /// (`--config` differing from the run's file).
    replaces_run_config: Option<Vec<u8>>,
}

fn choose_config(
    run: &RunDir,
    settings: &Settings,
    given: Option<&Path>,
) -> Result<ChosenConfig, Error> {
    let run_path = run_config::current_path(run, settings);
    let on_disk = run_config::current(run, settings)?;
    let given = match given {
        Some(path) => {
            let bytes = canon::read_config_file(path).map_err(|source| canon::Error::Read {
                path: path.display().to_string(),
                source,
            })?;
            let doc = canon::load(&bytes, None, &path.display().to_string())?;
            Some((path.to_path_buf(), bytes, doc))
        }
        None => None,
    };
    match (on_disk, given) {
        (Some(doc), None) => Ok(ChosenConfig {
            doc,
            path: run_path,
            replaces_run_config: None,
        }),
        (None, Some((path, _, doc))) => Ok(ChosenConfig {
            doc,
            path,
            replaces_run_config: None,
        }),
        (Some(doc), Some((path, bytes, given))) => {
            if canon::canonical_bytes(&doc.value) == canon::canonical_bytes(&given.value) {
                Ok(ChosenConfig {
                    doc,
                    path: run_path,
                    replaces_run_config: None,
                })
            } else {
                Ok(ChosenConfig {
                    doc: given,
                    path,
                    replaces_run_config: Some(bytes),
                })
            }
        }
        (None, None) => Err(Error::usage(
            format!(
                "run {} has no config: rk looked for {} and no --config was given",
                run.rid,
                run_path.display()
            ),
            Some(format!(
                "pass the config the run was started with: rk resume {} --config PATH",
                run.rid
            )),
        )),
    }
}

/// Resume `run`. Messages for people go to `msgs`; the drift diff goes to `out`.
pub fn resume(
    project: &Project,
    run: &RunDir,
    opts: &Options,
    out: &mut dyn Write,
    msgs: &mut dyn Messages,
) -> Result<Outcome, Error> {
    let settings = &project.settings;
    // A stop token written from now on is for the orchestrator about to start.
    let began = std::time::SystemTime::now();
    // 1. Bad step flags and runs rk never writes are refused before anything
    // touches the disk (the lock file included).
    refuse_before_lock(run, settings, opts)?;
    // 2. The dispatch lock, without waiting.
    let lock = dispatch_lock(run, opts)?;

    // An orchestrator rk did not start (resume_run.py's, or one typed by
    // hand) holds no rk lock: look for it before anything is written.
    refuse_foreign(run, settings)?;

    // 3. The config.
    let chosen = choose_config(run, settings, opts.config.as_deref())?;

    // 4. The state; a run without one is migrated first.
    let (mut state, phases) = load_or_migrate(project, run, opts, msgs)?;

    // 5. Drift.
    let now = clock::now().to_string();
    let ConfigAtStart {
        object: config_object,
        mut notes,
        adopt,
    } = check_config_drift(project, run, &mut state, &chosen, opts, &now, out, msgs)?;

    // Code drift (docs/FORMATS.md#rk-fields): reported, or refused like config drift.
    let code_now = code_version::probe(&project.root, &project.settings.runs_dir);
    check_code_drift(project, run, &mut state, &code_now, opts, &now, msgs)?;

    // 6. The plan: rk's reading of the run, and the step flags rk.yaml
    // `dispatch.plan` gives the orchestrator.
    let Some(planned) = plan_dispatch(project, run, &state, &phases, opts, msgs)? else {
        return Ok(Outcome::NothingToResume);
    };
    let config_arg = chosen_config_arg(run, settings, &chosen);
    // The argv as it is run (exact bytes), and as it is shown and recorded.
    let argv_os = dispatch::argv(
        &settings.dispatch,
        &planned.steps,
        &Placeholders {
            run,
            config: &config_arg,
        },
        opts.command.as_deref(),
    );
    let argv: Vec<String> = argv_os
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if opts.dry_run {
        if settings.dispatch.via == Via::Slurm {
            let sbatch = slurm_job::command_line(project, run, &argv);
            return Ok(Outcome::DryRun {
                argv: sbatch,
                reason: format!("{}; submitted to Slurm", planned.reason),
            });
        }
        return Ok(Outcome::DryRun {
            argv,
            reason: planned.reason,
        });
    }
    for message in stop::clear_before(run, began)? {
        msgs.status(&message)?;
        if message.starts_with("cleared") {
            notes.push(message);
        }
    }
    // 7. The session start, then the child.
    let mut session = open_session(&now, &argv, planned.session_steps);
    // With dispatch.via: slurm the job is submitted now, still under the
    // dispatch lock, and recorded in the session below.
    let job = match settings.dispatch.via {
        Via::Slurm => Some(slurm_job::submit(project, run, &argv, &mut session)?),
        Via::Local => None,
    };
    let start = SessionStart {
        planned_hash: (state.config_hash.clone(), state.config_hash_scheme.clone()),
        adopt,
        code_drift: state.extra.get("code_drift").cloned(),
        code_now: &code_now,
        notes: &notes,
        session: session.clone(),
        now: &now,
    };
    if let Probe::Unavailable(message) = &code_now {
        msgs.warn(&format!("code version not recorded: {message}"))?
    }
    let recorded = record_session_start(project, run, &start, config_object, &argv);
    if let Some(job) = job {
        let (submitted, code) =
            slurm_job::recorded(project, run, job, recorded, lock, opts.wait, msgs)?;
        return Ok(Outcome::Submitted {
            job: submitted.job,
            sbatch: submitted.sbatch,
            code,
        });
    }
    recorded?;

    let lock = lock.expect("a real resume holds the lock");
    let scheme = run_scheme(&state, settings);
    run_orchestrator(
        project, run, lock, scheme, &chosen, &session, argv_os, argv, msgs,
    )
}

/// Step 1: bad step flags are refused before anything touches the disk (the
/// lock file included); they are checked again against the state read under
/// the lock. A run archived by archive_run.py is never written to.
fn refuse_before_lock(run: &RunDir, settings: &Settings, opts: &Options) -> Result<(), Error> {
    if let (Some(steps), Ok(loaded)) = (&opts.steps, state::load(run, settings)) {
        let phases = match loaded {
            Some(state) => state.steps(&settings.phases),
            None => settings.phases.clone(),
        };
        validate_steps(steps, &phases)?;
    }
    if !state::state_path(run, settings).exists()
        && state::python_archive::read(&run.path).is_some()
    {
        return Err(Error::refusal(
            Exit::Refused,
            format!(
                "{} was archived by archive_run.py; nothing dispatched",
                run.rid
            ),
            Some(format!(
                "`rk status {}` shows what its archive manifest records",
                run.rid
            )),
        ));
    }
    Ok(())
}

/// Step 2: the dispatch lock, without waiting. A dry run only probes it, so
/// it writes nothing (and holds nothing).
fn dispatch_lock(run: &RunDir, opts: &Options) -> Result<Option<DispatchLock>, Error> {
    if opts.dry_run {
        if let Some(holder) = DispatchLock::probe(run) {
            return Err(store::Error::RunBusy {
                rid: run.rid.clone(),
                holder,
            }
            .into());
        }
        Ok(None)
    } else {
        Ok(Some(DispatchLock::try_acquire(
            run,
            &Holder::current(opts.invocation.clone()),
        )?))
    }
}

/// Step 4: the state (a run without one is migrated first) and the steps
/// the orchestrator knows: a phase the state lists beyond them is kept and
/// shown, never passed as a step. An archived run is refused unless
/// `--force`, a live Slurm job always.
fn load_or_migrate(
    project: &Project,
    run: &RunDir,
    opts: &Options,
    msgs: &mut dyn Messages,
) -> Result<(RunState, Vec<String>), Error> {
    let settings = &project.settings;
    let state = match state::load(run, settings)? {
        Some(state) => state,
        None => migrate_first(project, run, opts.dry_run, msgs)?,
    };
    let phases = state.steps(&settings.phases);
    if let Some(steps) = &opts.steps {
        validate_steps(steps, &phases)?;
    }
    if state.is_archived() && run.path.join(archive_manifest::MANIFEST).is_file() && !opts.force {
        return Err(Error::refusal(
            Exit::Refused,
            format!(
                "run {} is archived; resuming it would change the files its archive manifest records",
                run.rid
            ),
            Some(format!(
                "`rk verify {0}` checks the archive; to resume it anyway (the archive then no longer matches): rk resume {0} --force",
                run.rid
            )),
        ));
    }
    // A Slurm job still queued or running refuses (exit 4); the session of
    // an ended one is closed by this resume's first write.
    slurm_job::refuse_while_live(run, &state, "nothing dispatched")?;
    Ok((state, phases))
}

/// What the config check leaves for the session start to record.
struct ConfigAtStart {
    /// The config object to make the run's recorded config.
    object: Option<ObjectId>,
    /// Notes for the state.
    notes: Vec<String>,
    /// The hash (and its scheme) to record: the run had none.
    adopt: Option<(String, Scheme)>,
}

/// Step 5: the chosen config against the recorded hash. Unchanged passes
/// (storing the config object of a run rk did not create); no recorded hash
/// adopts the current one, with a warning; drift or an unverifiable legacy
/// hash refuses with the diff on `out`, unless `--force` records it.
#[allow(clippy::too_many_arguments)]
fn check_config_drift(
    project: &Project,
    run: &RunDir,
    state: &mut RunState,
    chosen: &ChosenConfig,
    opts: &Options,
    now: &str,
    out: &mut dyn Write,
    msgs: &mut dyn Messages,
) -> Result<ConfigAtStart, Error> {
    let settings = &project.settings;
    let store = Store::new(run);
    let mut config_object: Option<ObjectId> = None;
    let mut notes: Vec<String> = Vec::new();
    let mut adopt: Option<(String, Scheme)> = None;
    let check = drift::check(
        state.recorded_hash(),
        state.config_hash_scheme.as_deref(),
        &chosen.doc,
        &settings.hash_ignore,
    );
    match &check {
        // A run rk did not create: store the config its hash was verified
        // against, so a later drift shows as a diff (`RUN@recorded`).
        Drift::Unchanged { .. } if !opts.dry_run && run_config::recorded(run)?.is_none() => {
            config_object = Some(store.put_value(&chosen.doc.value)?);
            notes.push(
                "the config matches the recorded config_hash; stored as the run's recorded config"
                    .into(),
            );
        }
        Drift::Unchanged { .. } => {}
        Drift::NotRecorded { reason } => {
            msgs.warn(&format!(
                "{reason}; recording the current config's hash so later drift is caught"
            ))?;
            let scheme = run_scheme(state, settings);
            adopt = Some((
                drift::hash_to_record(&chosen.doc, &chosen.path, scheme, &settings.hash_ignore)?,
                scheme,
            ));
            notes.push(format!("config hash recorded at resume ({reason})"));
            if !opts.dry_run {
                config_object = Some(store.put_value(&chosen.doc.value)?);
            }
        }
        Drift::Drifted { .. } | Drift::Unverifiable { .. } if !opts.force => {
            return Err(refuse_drift(run, chosen, &check, out)?);
        }
        Drift::Drifted { scheme, .. } | Drift::Unverifiable { scheme, .. } => {
            config_object = force_drift(
                project,
                run,
                state,
                chosen,
                &check,
                *scheme,
                opts.dry_run,
                now,
                msgs,
            )?;
        }
    }
    Ok(ConfigAtStart {
        object: config_object,
        notes,
        adopt,
    })
}

/// What step 6 decided to dispatch.
struct PlannedDispatch {
    /// The step flags the orchestrator gets.
    steps: StepRange,
    /// The phases the session covers.
    session_steps: Vec<String>,
    /// Why, for `--dry-run`.
    reason: String,
}

/// Step 6: the plan (rk's reading of the run and rk.yaml `dispatch.plan`),
/// stopped short of an owed review gate. `None`: nothing to resume.
fn plan_dispatch(
    project: &Project,
    run: &RunDir,
    state: &RunState,
    phases: &[String],
    opts: &Options,
    msgs: &mut dyn Messages,
) -> Result<Option<PlannedDispatch>, Error> {
    let settings = &project.settings;
    let reading = plan::read(project, run, state);
    let (covered, flags, reason) = match plan::decide(
        settings.dispatch.plan,
        opts.steps.as_ref(),
        &reading,
        phases,
    ) {
        plan::Decision::Nothing => {
            msgs.status(&format!(
                "nothing to resume: run {} is completed and its outputs are all there",
                run.rid
            ))?;
            return Ok(None);
        }
        plan::Decision::Dispatch {
            covered,
            flags,
            reason,
        } => (covered, flags, reason),
    };
    let (gated, reason) = apply_gates(run, state, settings, phases, covered, reason, msgs)?;
    let session_steps: Vec<String> = gated.phases(phases).to_vec();
    let steps = match (&flags, gated) {
        // The flags the plan gives, with the `--to_step` a gate requires.
        (StepRange::Range { from, to: None }, StepRange::Range { to: Some(to), .. })
            if opts.steps.is_none() =>
        {
            StepRange::Range {
                from: from.clone(),
                to: Some(to),
            }
        }
        (_, gated) if opts.steps.is_some() => gated,
        _ => flags.clone(),
    };
    Ok(Some(PlannedDispatch {
        steps,
        session_steps,
        reason,
    }))
}

/// Step 7: the session this resume opens: started now, not ended, on this
/// host and pid, running `argv` over `steps`.
fn open_session(now: &str, argv: &[String], steps: Vec<String>) -> Session {
    Session {
        started_at: Some(now.to_string()),
        ended_at: Some(None),
        command: Some(argv.to_vec()),
        steps: Some(steps),
        exit_code: Some(None),
        host: Some(store::lock::hostname()),
        pid: Some(Some(std::process::id() as i64)),
        ..Session::default()
    }
}

/// Step 7: record the session start (op `resume`) through the write path,
/// with the config object the drift check stored.
fn record_session_start(
    project: &Project,
    run: &RunDir,
    start: &SessionStart,
    config_object: Option<ObjectId>,
    argv: &[String],
) -> Result<(), Error> {
    let settings = &project.settings;
    commit(
        project,
        run,
        "resume",
        &format!("resume: {}", shell_words(argv)),
        &Expect::Any,
        |draft| {
            draft.require(run, settings)?;
            start.apply(run, settings, &mut draft.state)?;
            if config_object.is_some() {
                draft.config = config_object.clone();
            }
            Ok(())
        },
    )
    .map(|_| ())
}

/// Steps 7 (the child) and 8: run the orchestrator holding the dispatch
/// lock, record the session's end while the run is still held, then release
/// the lock and let STATUS.md say what is true now. A failure to record the
/// end never replaces the orchestrator's exit code: the next rk command that
/// writes the run closes the session.
#[allow(clippy::too_many_arguments)]
fn run_orchestrator(
    project: &Project,
    run: &RunDir,
    lock: DispatchLock,
    scheme: Scheme,
    chosen: &ChosenConfig,
    session: &Session,
    argv_os: Vec<std::ffi::OsString>,
    argv: Vec<String>,
    msgs: &mut dyn Messages,
) -> Result<Outcome, Error> {
    let settings = &project.settings;
    let started = std::time::Instant::now();
    let child_began = std::time::SystemTime::now();
    let result = lock
        .inheritable_fd()
        .map_err(|e| dispatch::SpawnError {
            program: argv.first().cloned().unwrap_or_default(),
            source: e,
        })
        .and_then(|_| dispatch::run_child(&argv_os, &project.root));

    let (code, failure) = match &result {
        Ok(exit) => (Some(exit.code), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let message = match (code, &failure) {
        (Some(code), _) => format!("resume exited {code}"),
        (None, Some(f)) => format!("resume failed to start: {f}"),
        (None, None) => "resume ended".to_string(),
    };
    // The orchestrator's own rewrite of its config during the session is
    // adopted, not drift.
    let rewrite = match adopt::find(run, settings, scheme, &chosen.doc.value, child_began) {
        Ok(rewrite) => rewrite,
        Err(e) => {
            msgs.warn(&format!(
                "the orchestrator rewrote {} but rk cannot adopt it ({e}); it shows as drift",
                settings.config_file
            ))?;
            None
        }
    };
    let ended_at = clock::now().to_string();
    let ended = state::commit::<_, Error>(
        run,
        settings,
        "resume-exit",
        &message,
        &Expect::Any,
        |draft| {
            draft.require(run, settings)?;
            end_session(
                &mut draft.state,
                session,
                code,
                failure.as_deref(),
                started.elapsed(),
            );
            if let Some(rewrite) = &rewrite {
                rewrite.apply(&mut draft.state, session, settings, &ended_at);
                draft.config = Some(rewrite.object.clone());
            }
            Ok(())
        },
    );
    drop(lock);
    match ended {
        Ok((committed, ())) => {
            if let Some(rewrite) = &rewrite {
                msgs.status(&rewrite.describe(&settings.config_file))?;
            }
            for w in committed.warnings {
                msgs.warn(&w)?;
            }
        }
        Err(e) => msgs.warn(&format!(
            "the end of this session is not recorded ({e}); the next rk command that writes run {} records it",
            run.rid
        ))?,
    }
    if let Some(w) = status_md::refresh(project, run) {
        msgs.warn(&w)?;
    }
    finish(result, argv)
}

/// `config_hash` and `config_hash_scheme` as the drift check saw them.
type PlannedHash = (Option<Option<String>>, Option<String>);

/// What a resume records when its session starts, applied to the state as
/// read under `.state.lock`.
struct SessionStart<'a> {
    /// `config_hash` and its scheme as the plan saw them: if someone changed
    /// them since, the drift check is stale and the resume stops.
    planned_hash: PlannedHash,
    /// The hash (and its scheme) recorded now: the run had none.
    adopt: Option<(String, Scheme)>,
    /// rk's code drift records (a forced code drift adds one).
    code_drift: Option<serde_json::Value>,
    code_now: &'a Probe,
    notes: &'a [String],
    session: Session,
    now: &'a str,
}

impl SessionStart<'_> {
    fn apply(&self, run: &RunDir, settings: &Settings, state: &mut RunState) -> Result<(), Error> {
        hash_as_planned(run, state, &self.planned_hash, "rk resume")?;
        if let Some((hash, scheme)) = &self.adopt {
            record_hash(state, hash, *scheme, settings);
        }
        if let Some(records) = &self.code_drift {
            state.extra.insert("code_drift".into(), records.clone());
        }
        let mut session = self.session.clone();
        if let Probe::Version(v) = self.code_now {
            session.extra.insert("code_version".into(), v.to_json());
            if code_version::first_recorded(state).is_none() {
                state.extra.insert("code_version".into(), v.to_json());
            }
        }
        for message in self.notes {
            state.notes.get_or_insert_with(Vec::new).push(Note {
                created_by: Some("rk resume".into()),
                created_at: Some(self.now.to_string()),
                message: Some(message.clone()),
                ..Note::default()
            });
        }
        if state.stop_requested == Some(true) {
            state.stop_requested = Some(false);
        }
        state.sessions.get_or_insert_with(Vec::new).push(session);
        Ok(())
    }
}

/// `config_hash` and its scheme as read under the lock must be what the
/// drift check saw; otherwise someone changed them meanwhile and the check
/// is stale: exit 4, nothing written, run `again` once more.
fn hash_as_planned(
    run: &RunDir,
    state: &RunState,
    planned: &PlannedHash,
    again: &str,
) -> Result<(), Error> {
    if (state.config_hash.clone(), state.config_hash_scheme.clone()) == *planned {
        return Ok(());
    }
    Err(Error::refusal(
        Exit::Busy,
        format!(
            "the config_hash of run {} changed while rk was checking it; nothing recorded or dispatched",
            run.rid
        ),
        Some(format!("run `{again} {}` again", run.rid)),
    ))
}

/// Close `session` in `state`: its end time, exit code (none when the
/// orchestrator could not be started) and duration. Found by its key; rk's
/// records put it back if the orchestrator's rewrite dropped it.
fn end_session(
    state: &mut RunState,
    session: &Session,
    code: Option<i32>,
    failure: Option<&str>,
    elapsed: std::time::Duration,
) {
    let sessions = state.sessions.get_or_insert_with(Vec::new);
    let index = match sessions
        .iter()
        .position(|s| state::records::same_session(s, session))
    {
        Some(i) => i,
        None => {
            sessions.push(session.clone());
            sessions.len() - 1
        }
    };
    let entry = &mut sessions[index];
    entry.ended_at = Some(Some(clock::now().to_string()));
    entry.exit_code = Some(code.map(i64::from));
    entry
        .extra
        .insert("duration_ms".into(), json!(elapsed.as_millis() as u64));
    if let Some(message) = failure {
        entry.extra.insert("error".into(), json!(message));
    }
}

/// `--force` past config drift: record it in `config_drift` (both hashes and
/// schemes), move the run to the new config under the run's own scheme, install a
/// `--config` that replaces the run's file, store the config object, and
/// snapshot (op `drift`). Returns the new config object's id.
#[allow(clippy::too_many_arguments)]
fn force_drift(
    project: &Project,
    run: &RunDir,
    state: &mut RunState,
    chosen: &ChosenConfig,
    check: &Drift,
    old_scheme: Scheme,
    dry_run: bool,
    now: &str,
    msgs: &mut dyn Messages,
) -> Result<Option<ObjectId>, Error> {
    let settings = &project.settings;
    let planned = (state.config_hash.clone(), state.config_hash_scheme.clone());
    let expected = state.recorded_hash().unwrap_or_default().to_string();
    let unverifiable = match check {
        Drift::Unverifiable { reason, .. } => Some(reason.clone()),
        _ => None,
    };
    let scheme = run_scheme(state, settings);
    let new_hash = drift::hash_to_record(&chosen.doc, &chosen.path, scheme, &settings.hash_ignore)?;
    let new_scheme = scheme;
    let force = |state: &mut RunState| {
        record_hash(state, &new_hash, new_scheme, settings);
        let mut record = DriftRecord {
            detected_at: Some(now.to_string()),
            expected: Some(expected.clone()),
            actual: Some(new_hash.clone()),
            forced: Some(true),
            ..DriftRecord::default()
        };
        record
            .extra
            .insert("expected_scheme".into(), json!(old_scheme.name()));
        record
            .extra
            .insert("actual_scheme".into(), json!(new_scheme.name()));
        if let Some(reason) = &unverifiable {
            record.extra.insert("unverifiable".into(), json!(reason));
        }
        state.config_drift.get_or_insert_with(Vec::new).push(record);
    };
    force(state);
    msgs.status(&format!(
        "config drift forced: config_hash {} ({old_scheme}) → {} ({new_scheme})",
        canon::short_hash(&expected),
        canon::short_hash(&new_hash),
    ))?;
    if dry_run {
        return Ok(None);
    }
    if let Some(bytes) = &chosen.replaces_run_config {
        install_run_config(run, settings, bytes)?;
        msgs.status(&format!(
            "installed {} as the run's {}",
            chosen.path.display(),
            settings.config_file
        ))?;
    }
    let id = Store::new(run).put_value(&chosen.doc.value)?;
    let message = format!(
        "config drift forced: {} -> {}",
        canon::short_hash(&expected),
        canon::short_hash(&new_hash)
    );
    commit(project, run, "drift", &message, &Expect::Any, |draft| {
        draft.require(run, settings)?;
        hash_as_planned(run, &draft.state, &planned, "rk resume --force")?;
        force(&mut draft.state);
        draft.config = Some(id.clone());
        Ok(())
    })?;
    Ok(Some(id))
}

/// Report the commits made since the run's first recorded code version;
/// with rk.yaml `code_drift: refuse`, refuse them (exit 3) unless `--force`,
/// which records them in the state's `code_drift`.
fn check_code_drift(
    project: &Project,
    run: &RunDir,
    state: &mut RunState,
    code_now: &Probe,
    opts: &Options,
    now: &str,
    msgs: &mut dyn Messages,
) -> Result<(), Error> {
    let first = code_version::first_recorded(state);
    let (since, commits) = match code_version::drift_since(&project.root, first.as_ref(), code_now)
    {
        CodeDrift::Changed { since, commits, .. } => (since, commits),
        CodeDrift::Unavailable(why) => {
            msgs.warn(&format!("code drift not checked: {why}"))?;
            return Ok(());
        }
        CodeDrift::NotRecorded | CodeDrift::Unchanged { .. } => return Ok(()),
    };
    let short: String = since.chars().take(10).collect();
    let summary = format!(
        "{} commit{} since run {} started at {short}",
        commits.len(),
        if commits.len() == 1 { "" } else { "s" },
        run.rid
    );
    let refuse = project.settings.code_drift == CodeDriftPolicy::Refuse;
    let headline = format!("code drift: {summary}:");
    if refuse && !opts.force {
        msgs.status(&headline)?;
    } else {
        msgs.warn(&headline)?;
    }
    for c in commits.iter().take(10) {
        msgs.status(&format!("  {} {}", c.id, c.subject))?;
    }
    if !refuse {
        return Ok(());
    }
    // A forced resume acknowledges the code as it was then: refuse again only
    // when HEAD moved past the last acknowledged commit.
    let Probe::Version(head) = code_now else {
        return Ok(());
    };
    let head = head.commit.clone();
    let acknowledged = state
        .extra
        .get("code_drift")
        .and_then(|v| v.as_array())
        .and_then(|list| list.last())
        .and_then(|r| r.get("head"))
        .and_then(|h| h.as_str());
    if acknowledged == Some(head.as_str()) {
        return Ok(());
    }
    if !opts.force {
        return Err(Error::refusal(
            Exit::Drift,
            format!("code drift in run {}: {summary}; nothing dispatched (rk.yaml code_drift: refuse)", run.rid),
            Some(format!("review the commits (git log {short}..HEAD); to go on with this code: rk resume {} --force", run.rid)),
        ));
    }
    let records = state
        .extra
        .entry("code_drift")
        .or_insert_with(|| serde_json::Value::Array(Vec::new()));
    if let serde_json::Value::Array(list) = records {
        list.push(json!({
            "detected_at": now,
            "since": since,
            "head": head,
            "commits": commits.len(),
            "subjects": commits.iter().map(|c| c.subject.clone()).collect::<Vec<_>>(),
            "forced": true,
        }));
    }
    Ok(())
}

/// A run without a state is migrated first (rk-resume(1) step 4); a dry run
/// only plans the migration and resumes from the state it would write.
fn migrate_first(
    project: &Project,
    run: &RunDir,
    dry_run: bool,
    msgs: &mut dyn Messages,
) -> Result<RunState, Error> {
    let plan = migrate::plan(project, run)?;
    if dry_run {
        msgs.status(&format!(
            "run {} has no {}; `rk resume` would migrate it first (see `rk migrate {} --dry-run`)",
            run.rid, project.settings.state_file, run.rid
        ))?;
        return Ok(migrate::planned_state(
            project,
            run,
            &plan,
            None,
            &clock::now().to_string(),
        ));
    }
    msgs.status(&format!(
        "run {} has no {}; migrating it first (inferred from {} trials)",
        run.rid, project.settings.state_file, plan.trials
    ))?;
    let applied = migrate::apply(project, run, &plan)?;
    for warning in &applied.warnings {
        msgs.warn(warning)?;
    }
    for note in &plan.notes {
        msgs.note(&note.message)?;
    }
    state::load(run, &project.settings)?.ok_or_else(|| {
        Error::refusal(
            Exit::Corrupt,
            format!("run {} has no state after migrating it", run.rid),
            Some(format!(
                "run `rk migrate {}` and look at what it says",
                run.rid
            )),
        )
    })
}

/// Stop the dispatch before the first owed review gate: dispatch up to the
/// phase before it, or, when only gated work is left, nothing (exit 6).
fn apply_gates(
    run: &RunDir,
    state: &RunState,
    settings: &Settings,
    phases: &[String],
    steps: StepRange,
    reason: String,
    msgs: &mut dyn Messages,
) -> Result<(StepRange, String), Error> {
    let all = gate::gates(state, settings);
    let covered = steps.phases(phases).to_vec();
    let Some(owed) = gate::first_owed(&all, phases, &covered) else {
        return Ok((steps, reason));
    };
    let position = |p: &str| phases.iter().position(|q| q == p);
    let gate_at = position(&owed.phase).expect("gates name pipeline phases");
    let start = covered.first().and_then(|c| position(c)).unwrap_or(0);
    let review = format!("review owed before {}: {}", owed.phase, owed.reason);
    if gate_at <= start {
        return Err(Error::refusal(
            Exit::Refused,
            format!(
                "only gated work is left in run {}: {review}; nothing dispatched",
                run.rid
            ),
            Some(format!(
                "when the review is done: rk gate clear {} {} --note \"what was checked\"",
                run.rid, owed.phase
            )),
        ));
    }
    let before = phases[gate_at - 1].clone();
    msgs.status(&format!("{review}; dispatching up to {before}"))?;
    let from = match steps {
        StepRange::Range { from, .. } => from,
        StepRange::Only(only) => Some(only),
    };
    Ok((
        StepRange::Range {
            from,
            to: Some(before.clone()),
        },
        format!("{reason}, up to {before} ({review})"),
    ))
}

fn finish(
    result: Result<dispatch::ChildExit, dispatch::SpawnError>,
    argv: Vec<String>,
) -> Result<Outcome, Error> {
    match result {
        Ok(exit) => Ok(Outcome::Dispatched {
            argv,
            code: exit.code,
        }),
        Err(e) => Err(Error::usage(
            e.to_string(),
            Some("check dispatch.command in rk.yaml (or the command after --); the session is recorded as failed to start and the run is unlocked".into()),
        )),
    }
}

/// Point the state at a config's hash, computed under the run's own scheme
/// (see [`run_scheme`]: rk never changes it).
fn record_hash(state: &mut RunState, hash: &str, scheme: Scheme, settings: &Settings) {
    state.config_hash = Some(Some(hash.to_string()));
    state.config_hash_scheme = Some(scheme.name().into());
    if state.config_path.is_none() {
        state.config_path = Some(settings.config_file.clone());
    }
}

/// `{config}` as the orchestrator should see it: an absolute path, in the
/// file system's own bytes.
fn chosen_config_arg(
    run: &RunDir,
    settings: &Settings,
    chosen: &ChosenConfig,
) -> std::ffi::OsString {
    let path = if chosen.replaces_run_config.is_some() {
        run_config::current_path(run, settings)
    } else {
        chosen.path.clone()
    };
    std::path::absolute(&path).unwrap_or(path).into_os_string()
}

fn install_run_config(run: &RunDir, settings: &Settings, bytes: &[u8]) -> Result<(), Error> {
    let path = run_config::current_path(run, settings);
    if let Ok(old) = canon::read_config_file(&path) {
        atomic::write_aside(&path, "replaced", &clock::file_stamp(clock::now()), &old)
            .map_err(|e| store::io_err(&path, e))?;
    }
    atomic::write_atomic(&path, bytes, atomic::FILE_MODE).map_err(|e| store::io_err(&path, e))?;
    Ok(())
}

/// The refusal for drift: the diff on `out`, the error with the next command.
fn refuse_drift(
    run: &RunDir,
    chosen: &ChosenConfig,
    check: &Drift,
    out: &mut dyn Write,
) -> Result<Error, Error> {
    let rid = &run.rid;
    let current_label = if chosen.replaces_run_config.is_some() {
        chosen.path.display().to_string()
    } else {
        rid.clone()
    };
    let recorded = run_config::recorded(run)?;
    let (message, hint) = match check {
        Drift::Drifted {
            scheme,
            recorded: expected,
            current,
        } => {
            match &recorded {
                Some((_, value)) => {
                    let diff = diff_config::diff(
                        &Side {
                            label: format!("{rid}@recorded"),
                            value: value.clone(),
                            timestamps: Vec::new(),
                        },
                        &Side {
                            label: current_label.clone(),
                            value: chosen.doc.value.clone(),
                            timestamps: Vec::new(),
                        },
                    );
                    out.write_all(diff.unified.as_bytes())?;
                }
                None => writeln!(
                    out,
                    "no recorded config in the store (a legacy run): only the hashes are known\n\
                     recorded config_hash  {expected} ({scheme})\ncurrent  config_hash  {current} ({scheme})"
                )?,
            }
            (
                format!(
                    "config drift in run {rid}: the config hashes to {} but the run recorded {} ({scheme}); nothing dispatched",
                    canon::short_hash(current),
                    canon::short_hash(expected)
                ),
                format!(
                    "review it with `rk diff-config {rid}@recorded {current_label}`; to go on with the new config: `rk resume {rid} --force` (the drift is recorded)"
                ),
            )
        }
        Drift::Unverifiable { scheme, reason } => (
            format!("cannot verify run {rid}'s legacy config_hash ({scheme}): {reason}; nothing dispatched"),
            format!(
                "if the config is the one the run started with, `rk resume {rid} --force` records its hash under {scheme} as PyYAML computes it (and the old hash in config_drift)"
            ),
        ),
        _ => unreachable!("only drift is refused"),
    };
    Ok(Error::refusal(Exit::Drift, message, Some(hint)))
}

/// An orchestrator rk did not start is running this run on this host: busy
/// (exit 4), naming it, before anything is written or cleared.
fn refuse_foreign(run: &RunDir, settings: &Settings) -> Result<(), Error> {
    let found = crate::orchestrators::scan(settings);
    let Some(other) = crate::orchestrators::running(&found, run, settings)
        .into_iter()
        .next()
    else {
        return Ok(());
    };
    Err(Error::refusal(
        Exit::Busy,
        format!(
            "run {} is busy: an orchestrator rk did not start is running it: pid {}{}: {}",
            run.rid,
            other.pid,
            other
                .since
                .map(|t| format!(" since {t}"))
                .unwrap_or_default(),
            shell_words(&other.command)
        ),
        Some(format!(
            "wait for it to end, or ask it to stop with `rk stop {}`",
            run.rid
        )),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_validated_against_the_pipeline() {
        let phases: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert!(validate_steps(&StepRange::Only("b".into()), &phases).is_ok());
        assert!(validate_steps(&StepRange::Only("z".into()), &phases).is_err());
        let range = |f: &str, t: &str| StepRange::Range {
            from: Some(f.into()),
            to: Some(t.into()),
        };
        assert!(validate_steps(&range("a", "c"), &phases).is_ok());
        let e = validate_steps(&range("c", "a"), &phases).unwrap_err();
        assert_eq!(e.exit(), Exit::Usage);
    }
}
