//! `rk init` (rk(1)): a new run, with its config and its first state.
//!
//! The one idea: a run appears whole or not at all. Everything — the config
//! copy, the first state, the store with its first snapshot and config object
//! — is built in a temp directory beside the runs (`<runs_dir>/.tmp-init-…`,
//! never a valid RID, so never listed as a run) and renamed into place
//! without replacing anything. Bad input (a malformed config, bad phase
//! names) is refused before the disk is touched; a run that appeared
//! meanwhile is never overwritten.

use crate::canon;
use crate::code_version::{self, CodeVersion, Probe};
use crate::drift;
use crate::error::Error;
use crate::project::{Project, RunDir, Settings};
use crate::state::{self, Expect, RunState};
use crate::store::{self, atomic, ObjectId, Store};
use std::path::{Path, PathBuf};

/// What to create.
#[derive(Clone, Debug)]
pub struct Request {
    /// The config file to copy (any path).
    pub config: PathBuf,
    /// The phases of this run; `None`: the project's pipeline.
    pub phases: Option<Vec<String>>,
}

/// What `init` created.
#[derive(Clone, Debug)]
pub struct Created {
    pub run: RunDir,
    pub phases: Vec<String>,
    pub config_hash: String,
    pub snapshot: ObjectId,
    pub config_object: ObjectId,
    pub code_version: Option<CodeVersion>,
    /// Things to tell the user (git could not be read).
    pub warnings: Vec<String>,
}

/// Check a `--phases` list: names non-empty, without spaces or commas, unique.
pub fn validate_phases(phases: &[String]) -> Result<(), Error> {
    let hint = Some(
        "name the phases as a comma-separated list, e.g. --phases prepare,build,report".to_string(),
    );
    if phases.is_empty() {
        return Err(Error::usage("--phases lists no phase", hint));
    }
    for (i, p) in phases.iter().enumerate() {
        if p.is_empty() {
            return Err(Error::usage(
                format!("--phases: phase {} is empty", i + 1),
                hint,
            ));
        }
        if p.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
        {
            return Err(Error::usage(
                format!("--phases: phase {p:?} holds a space, a control character or '/'"),
                hint,
            ));
        }
        if phases[..i].contains(p) {
            return Err(Error::usage(
                format!("--phases: phase {p:?} is listed twice"),
                hint,
            ));
        }
    }
    Ok(())
}

/// Create run `rid`.
pub fn init(project: &Project, rid: &str, request: &Request) -> Result<Created, Error> {
    if rid.contains('/') {
        return Err(Error::usage(
            format!("rk init takes a run id, not a path: {rid:?}"),
            Some(format!(
                "runs are created under {}; name the run by its id, e.g. `rk init r1 --config FILE`",
                project.runs_dir().display()
            )),
        ));
    }
    let run = project.new_run(rid)?;
    let settings = &project.settings;
    if run.path.symlink_metadata().is_ok() {
        return Err(exists(&run));
    }
    let phases = match &request.phases {
        Some(p) => {
            validate_phases(p)?;
            p.clone()
        }
        None => settings.phases.clone(),
    };

    // The config: read once, parsed as given and as the run will read it.
    let shown = request.config.display().to_string();
    if request.config.is_dir() {
        return Err(canon::Error::IsDirectory { path: shown }.into());
    }
    let bytes = canon::read_config_file(&request.config).map_err(|source| canon::Error::Read {
        path: shown.clone(),
        source,
    })?;
    let given = canon::load(&bytes, None, &shown)?;
    let as_run = canon::load(&bytes, None, &settings.config_file).map_err(|e| {
        Error::usage(
            format!(
                "{shown} cannot be read back as {}: {e}",
                settings.config_file
            ),
            Some(format!(
                "convert the config to the format of {}",
                settings.config_file
            )),
        )
    })?;
    if canon::canonical_bytes(&given.value) != canon::canonical_bytes(&as_run.value) {
        return Err(Error::usage(
            format!(
                "{shown} means something else when read as {} (YAML and JSON disagree on a value)",
                settings.config_file
            ),
            Some(format!(
                "convert the config to the format of {}",
                settings.config_file
            )),
        ));
    }
    let hash = drift::hash_to_record(
        &as_run,
        &request.config,
        settings.hash_scheme,
        &settings.hash_ignore,
    )?;

    let mut warnings = Vec::new();
    let code_version = match code_version::probe(&project.root, &project.settings.runs_dir) {
        Probe::Version(v) => Some(v),
        Probe::NotARepository => None,
        Probe::Unavailable(why) => {
            warnings.push(format!(
                "the code version was not recorded: {why}; code drift cannot be reported for this run"
            ));
            None
        }
    };

    // Build the run in a temp dir, then rename it into place.
    let runs_dir = project.runs_dir();
    atomic::create_dir_all(&runs_dir).map_err(|e| store::io_err(&runs_dir, e))?;
    let tmp = TempRun::create(&runs_dir, rid)?;
    let tmp_run = RunDir {
        rid: rid.to_string(),
        path: tmp.path.clone(),
    };
    let config_file = tmp.path.join(&settings.config_file);
    atomic::write_atomic(&config_file, &bytes, atomic::FILE_MODE)
        .map_err(|e| store::io_err(&config_file, e))?;
    let gitignore = tmp.path.join(".gitignore");
    atomic::write_atomic(
        &gitignore,
        gitignore_text(settings).as_bytes(),
        atomic::FILE_MODE,
    )
    .map_err(|e| store::io_err(&gitignore, e))?;

    let mut new = RunState::new(rid, &phases);
    new.config_hash = Some(Some(hash.clone()));
    new.config_hash_scheme = Some(settings.hash_scheme.name().into());
    new.config_path = Some(settings.config_file.clone());
    new.migrated = Some(false);
    if let Some(v) = &code_version {
        new.extra.insert("code_version".into(), v.to_json());
    }
    if request.phases.is_some() {
        // The run's own pipeline, read back by `RunState::pipeline`.
        new.extra
            .insert("pipeline".into(), serde_json::json!(phases));
    }
    let config_object = Store::new(&tmp_run).put_value(&as_run.value)?;
    let mut run_settings = settings.clone();
    run_settings.phases = phases.clone();
    let (committed, ()) = state::commit::<_, Error>(
        &tmp_run,
        &run_settings,
        "init",
        &format!("rk init --config {shown}"),
        &Expect::NoHead,
        |draft| {
            draft.state = new;
            draft.config = Some(config_object.clone());
            Ok(())
        },
    )?;
    warnings.extend(committed.warnings);
    tmp.persist(&run.path).map_err(|e| match e {
        PersistError::Exists => exists(&run),
        PersistError::Io(e) => store::io_err(&run.path, e).into(),
    })?;
    warnings.extend(crate::ops::status_md::refresh(project, &run));
    Ok(Created {
        run,
        phases,
        config_hash: hash,
        snapshot: committed.id,
        config_object,
        code_version,
        warnings,
    })
}

/// The `.gitignore` of a new run dir: rk's own files, so a project that
/// tracks its runs dir in git sees only the run's data and config change.
pub fn gitignore_text(settings: &Settings) -> String {
    format!(
        "# rk's own files: its store, the rendered STATUS.md, the state lock and\n\
         # the stop tokens a resume cleared (docs/FORMATS.md#a-run-directory).\n\
         .rk/\n\
         STATUS.md\n\
         /{}\n\
         STOP_REQUESTED.cleared.*\n\
         STOP_NOW.cleared.*\n",
        settings.state_lock
    )
}

fn exists(run: &RunDir) -> Error {
    Error::usage(
        format!("run {} already exists at {}", run.rid, run.path.display()),
        Some(format!(
            "choose another run id; `rk status {}` shows the existing run",
            run.rid
        )),
    )
}

/// A run dir under construction; removed on drop unless persisted.
struct TempRun {
    path: PathBuf,
    keep: bool,
}

enum PersistError {
    Exists,
    Io(std::io::Error),
}

impl TempRun {
    fn create(runs_dir: &Path, rid: &str) -> Result<TempRun, Error> {
        let path = runs_dir.join(format!(
            "{}init-{rid}-{}",
            atomic::TMP_PREFIX,
            std::process::id()
        ));
        if path.symlink_metadata().is_ok() {
            std::fs::remove_dir_all(&path).map_err(|e| store::io_err(&path, e))?;
        }
        atomic::create_dir(&path).map_err(|e| store::io_err(&path, e))?;
        Ok(TempRun { path, keep: false })
    }

    /// Rename into `target` without replacing anything there.
    fn persist(mut self, target: &Path) -> Result<(), PersistError> {
        rename_noreplace(&self.path, target).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                PersistError::Exists
            } else {
                PersistError::Io(e)
            }
        })?;
        self.keep = true;
        if let Some(dir) = target.parent() {
            atomic::sync_dir(dir).map_err(PersistError::Io)?;
        }
        Ok(())
    }
}

impl Drop for TempRun {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Rename the finished run into place, never over an existing one.
fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    match atomic::rename_noreplace(from, to) {
        // Without RENAME_NOREPLACE: check, then rename (a directory is never
        // renamed over a non-empty one).
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
            if to.symlink_metadata().is_ok() {
                return Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists));
            }
            std::fs::rename(from, to)
        }
        other => other,
    }
}
