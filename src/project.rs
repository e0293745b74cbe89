//! The project: where it is, what `rk.yaml` says, and how a run operand (a RID
//! or a path) becomes a run directory (docs/FORMATS.md#a-run-directory, docs/FORMATS.md#rk-yaml).
//!
//! With no `rk.yaml` every default equals the layout of the Python tool set rk
//! replaces, so rk works on an existing experiments tree with no configuration.
//! A RID is validated before the disk is touched; a path operand must already
//! look like a run, so no command can be pointed at an arbitrary directory.

use crate::canon::{self, Document, Mark, Pointer, Scheme, Value};
use crate::exit::{Diagnostic, Exit};
use crate::trials::EvidenceRule;
use std::path::{Path, PathBuf};

/// The project file's name.
pub const PROJECT_FILE: &str = "rk.yaml";

/// The default pipeline phases of the Python tool set.
pub const DEFAULT_PHASES: [&str; 9] = [
    "prepare", "build", "submit", "poll", "parse", "score", "stats", "costs", "report",
];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "no rk project found in {start} or any parent: no rk.yaml and no experiments/ directory"
    )]
    NotFound { start: String },
    #[error("the project root {path} named by RK_PROJECT is not a directory")]
    NoProjectDir { path: String },
    #[error("the runs dir {path} does not exist")]
    NoRunsDir { path: String },
    #[error("{}", prefixed(path, source))]
    ProjectFile { path: String, source: canon::Error },
    #[error("{path}:{}: {message}", mark.map(|m| m.to_string()).unwrap_or_else(|| "1:1".into()))]
    BadProjectFile {
        path: String,
        mark: Option<Mark>,
        message: String,
    },
    #[error("{path} is a symlink; rk never follows a symlink to a run directory")]
    SymlinkedRun { path: String },
    #[error("invalid run id {rid:?}: {reason}")]
    BadRid { rid: String, reason: &'static str },
    #[error("no run {rid:?} in {runs_dir}{}", closest_suffix(closest))]
    NoSuchRun {
        rid: String,
        runs_dir: String,
        closest: Vec<String>,
    },
    #[error(
        "{path} is not a run directory (it holds no {state_file}, no {config_file} and no .rk/)"
    )]
    NotARun {
        path: String,
        state_file: String,
        config_file: String,
    },
}

/// A run directory that is itself a symlink could lead every write out of
/// `runs_dir`: refused.
fn refuse_symlinked_run(path: &Path) -> Result<(), Error> {
    match path.symlink_metadata() {
        Ok(m) if m.file_type().is_symlink() => Err(Error::SymlinkedRun {
            path: path.display().to_string(),
        }),
        _ => Ok(()),
    }
}

/// The error of reading rk.yaml, naming the file once.
fn prefixed(path: &str, source: &canon::Error) -> String {
    let text = source.to_string();
    if text.contains(path) {
        text
    } else {
        format!("{path}: {text}")
    }
}

fn closest_suffix(closest: &[String]) -> String {
    if closest.is_empty() {
        String::new()
    } else {
        format!("; closest: {}", closest.join(", "))
    }
}

impl Diagnostic for Error {
    fn exit(&self) -> Exit {
        Exit::Usage
    }

    fn hint(&self) -> Option<String> {
        match self {
            Error::NotFound { .. } => Some(
                "run rk inside a project, or name one with `rk -C DIR` or RK_PROJECT=DIR".into(),
            ),
            Error::NoProjectDir { .. } => Some(
                "set RK_PROJECT to an existing project directory, or unset it to find the project from the current directory".into(),
            ),
            Error::NoRunsDir { .. } => Some(
                "`rk init RUN --config FILE` creates it with a first run; or set runs_dir in rk.yaml (man 5 rk.yaml)".into(),
            ),
            Error::ProjectFile { .. } => Some(
                "fix rk.yaml at that place; `man 5 rk.yaml` lists the keys and their types".into(),
            ),
            Error::BadProjectFile { .. } => {
                Some("`man 5 rk.yaml` lists the keys and their types".into())
            }
            Error::SymlinkedRun { .. } => Some(
                "name the run by the path of the directory the link points to".into(),
            ),
            Error::BadRid { .. } => Some(
                "a run id is 1-128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit"
                    .into(),
            ),
            Error::NoSuchRun { .. } => Some("`rk list` shows every run of the project".into()),
            Error::NotARun { .. } => {
                Some("name a run by its id, or by the path of an existing run directory".into())
            }
        }
    }
}

/// Where drift in the project's code is reported or refused (docs/FORMATS.md#rk-fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeDriftPolicy {
    Warn,
    Refuse,
}

/// Who decides where a resume starts (`dispatch.plan` in rk.yaml).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// The orchestrator's own checks of its files decide: rk passes only the
    /// step flags the user gave (and the `--to_step` an owed gate requires),
    /// exactly as `resume_run.py` does.
    Orchestrator,
    /// rk adds `--from_step` = the first phase not completed, for
    /// orchestrators that do not check their own outputs.
    Rk,
}

/// Where `rk resume` runs the orchestrator (`dispatch.via`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Via {
    /// A child of rk on this machine.
    #[default]
    Local,
    /// A Slurm batch job (`sbatch`); see docs/SLURM.md.
    Slurm,
}

/// How `rk resume` starts the orchestrator (`dispatch` in rk.yaml).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dispatch {
    pub plan: Plan,
    pub command: Vec<String>,
    pub only_step: Vec<String>,
    pub from_step: Vec<String>,
    pub to_step: Vec<String>,
    pub via: Via,
    /// `dispatch.slurm.args`: extra `sbatch` arguments, before the script.
    pub slurm_args: Vec<String>,
}

/// The settings of `rk.yaml`, every one defaulted on its own (docs/FORMATS.md#rk-yaml).
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub runs_dir: String,
    pub run_dir_prefix: String,
    pub config_file: String,
    pub state_file: String,
    pub state_lock: String,
    pub phases: Vec<String>,
    /// Glob, relative to the run dir, matching every trial manifest.
    pub trials_manifest: String,
    pub hash_ignore: Vec<Pointer>,
    /// The scheme new runs record their `config_hash` under (`hash.scheme`);
    /// an existing run keeps the scheme it has.
    pub hash_scheme: Scheme,
    pub dispatch: Dispatch,
    /// Evidence rule per phase, in pipeline order of the rules given.
    pub evidence: Vec<(String, EvidenceRule)>,
    pub sessions_keep: usize,
    /// Phase → the review owed before it.
    pub gates: Vec<(String, String)>,
    pub code_drift: CodeDriftPolicy,
    pub status_md: bool,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl Default for Settings {
    fn default() -> Settings {
        let file = |p: &str| EvidenceRule::File(p.into());
        Settings {
            runs_dir: "experiments".into(),
            run_dir_prefix: "run_".into(),
            config_file: "effective_config.yaml".into(),
            state_file: "run_state.json".into(),
            state_lock: ".state.lock".into(),
            phases: strings(&DEFAULT_PHASES),
            trials_manifest: "*/results/trial_manifest.json".into(),
            hash_ignore: Vec::new(),
            hash_scheme: Scheme::PyyamlSorted,
            dispatch: Dispatch {
                plan: Plan::Orchestrator,
                command: strings(&[
                    "python",
                    "-m",
                    "scripts.run_all",
                    "--config",
                    "{config}",
                    "--run_id",
                    "{run_id}",
                    "--resume",
                ]),
                only_step: strings(&["--only_step", "{step}"]),
                from_step: strings(&["--from_step", "{step}"]),
                to_step: strings(&["--to_step", "{step}"]),
                via: Via::Local,
                slurm_args: Vec::new(),
            },
            evidence: vec![
                ("prepare".into(), EvidenceRule::Always),
                ("build".into(), EvidenceRule::Always),
                ("submit".into(), EvidenceRule::JobsRecorded),
                ("poll".into(), EvidenceRule::JobsDownloaded),
                ("parse".into(), file("results/predictions.csv")),
                ("score".into(), file("results/per_item_scores.csv")),
                ("stats".into(), file("results/significance.json")),
                ("costs".into(), file("results/costs.json")),
                ("report".into(), file("reports/report.md")),
            ],
            sessions_keep: 5,
            gates: Vec::new(),
            code_drift: CodeDriftPolicy::Warn,
            status_md: true,
        }
    }
}

/// A located project: its root directory and its settings.
#[derive(Clone, Debug)]
pub struct Project {
    pub root: PathBuf,
    pub settings: Settings,
}

/// A run directory, resolved and known to exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunDir {
    /// The run id: the directory name without the run-dir prefix.
    pub rid: String,
    pub path: PathBuf,
}

impl RunDir {
    /// `<run>/.rk`, rk's store.
    pub fn store_dir(&self) -> PathBuf {
        self.path.join(".rk")
    }
}

impl Project {
    /// Find the project: with `start_override` (`-C DIR`) walk up from there;
    /// else `RK_PROJECT` names the root; else walk up from the cwd.
    pub fn discover(cwd: &Path, env_project: Option<&Path>) -> Result<Project, Error> {
        let root = match env_project {
            Some(root) if !root.is_dir() => {
                return Err(Error::NoProjectDir {
                    path: root.display().to_string(),
                })
            }
            Some(root) => root.to_path_buf(),
            None => find_root(cwd).ok_or_else(|| Error::NotFound {
                start: cwd.display().to_string(),
            })?,
        };
        Project::open(root)
    }

    /// A project rooted at `root`, with its `rk.yaml` read when present.
    pub fn open(root: PathBuf) -> Result<Project, Error> {
        let file = root.join(PROJECT_FILE);
        // Anything at rk.yaml is read: a directory or a symlink loop there
        // is an error naming it, never silently the defaults.
        let settings = if file.symlink_metadata().is_ok() {
            Settings::load(&file)?
        } else {
            Settings::default()
        };
        Ok(Project { root, settings })
    }

    /// `<root>/<runs_dir>`.
    pub fn runs_dir(&self) -> PathBuf {
        self.root.join(&self.settings.runs_dir)
    }

    /// `<root>/<runs_dir>`, which must exist (every command but `rk init`,
    /// which creates it).
    pub fn existing_runs_dir(&self) -> Result<PathBuf, Error> {
        let dir = self.runs_dir();
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(Error::NoRunsDir {
                path: dir.display().to_string(),
            })
        }
    }

    /// The directory a RID names (it may not exist).
    pub fn run_path(&self, rid: &str) -> PathBuf {
        self.runs_dir()
            .join(format!("{}{rid}", self.settings.run_dir_prefix))
    }

    /// Resolve an operand: a path when it holds a `/`, else a RID.
    pub fn resolve_run(&self, operand: &str) -> Result<RunDir, Error> {
        if operand.contains('/') {
            return self.resolve_path(Path::new(operand));
        }
        validate_rid(operand)?;
        let path = self.run_path(operand);
        refuse_symlinked_run(&path)?;
        if !path.is_dir() {
            // A run archived by archive_run.py: `<runs_dir>/t<temp>_<rid>`.
            let archived = self.runs_dir().join(operand);
            if self.archive_dirs().iter().any(|d| d == operand) {
                return Ok(RunDir {
                    rid: operand.into(),
                    path: archived,
                });
            }
            // The run dir's own name (`run_x`), as `ls experiments` shows it.
            if let Some(rid) = operand.strip_prefix(&self.settings.run_dir_prefix) {
                let named = self.runs_dir().join(operand);
                if !rid.is_empty() && validate_rid(rid).is_ok() && named.is_dir() {
                    refuse_symlinked_run(&named)?;
                    return Ok(RunDir {
                        rid: rid.into(),
                        path: named,
                    });
                }
            }
            self.existing_runs_dir()?;
            return Err(Error::NoSuchRun {
                rid: operand.into(),
                runs_dir: self.runs_dir().display().to_string(),
                closest: self.closest_runs(operand),
            });
        }
        Ok(RunDir {
            rid: operand.into(),
            path,
        })
    }

    /// A RID for a run that is about to be created (`rk init`): validated,
    /// and its path, which must not exist yet (checked by the caller).
    pub fn new_run(&self, rid: &str) -> Result<RunDir, Error> {
        validate_rid(rid)?;
        Ok(RunDir {
            rid: rid.into(),
            path: self.run_path(rid),
        })
    }

    fn resolve_path(&self, path: &Path) -> Result<RunDir, Error> {
        refuse_symlinked_run(path)?;
        let s = &self.settings;
        let looks_like_run = path.is_dir()
            && (path.join(&s.state_file).exists()
                || path.join(&s.config_file).exists()
                || path.join(".rk").is_dir());
        if !looks_like_run {
            return Err(Error::NotARun {
                path: path.display().to_string(),
                state_file: s.state_file.clone(),
                config_file: s.config_file.clone(),
            });
        }
        let name = path
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        let rid = name
            .strip_prefix(&s.run_dir_prefix)
            .unwrap_or(&name)
            .to_string();
        Ok(RunDir {
            rid,
            path: path.to_path_buf(),
        })
    }

    /// Every run id under `runs_dir`, sorted.
    pub fn run_ids(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.runs_dir()) else {
            return Vec::new();
        };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let rid = name
                    .strip_prefix(&self.settings.run_dir_prefix)?
                    .to_string();
                validate_rid(&rid).ok().map(|_| rid)
            })
            .collect();
        ids.sort();
        ids
    }

    /// Run directories whose name is `<prefix>` and then no run id rk
    /// accepts (the Python tools take any `--run_id`): not among
    /// [`Project::run_ids`], but a run all the same, named by its path. Each
    /// with its path and why its id is refused; only directories that hold a
    /// state file, a config or a store count.
    pub fn runs_without_an_id(&self) -> Vec<(PathBuf, String)> {
        let Ok(entries) = std::fs::read_dir(self.runs_dir()) else {
            return Vec::new();
        };
        let s = &self.settings;
        let mut runs: Vec<(PathBuf, String)> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let rid = name.strip_prefix(&s.run_dir_prefix)?;
                let why = validate_rid(rid).err()?.to_string();
                let path = e.path();
                let looks_like_run = path.join(&s.state_file).exists()
                    || path.join(&s.config_file).exists()
                    || path.join(".rk").is_dir();
                looks_like_run.then_some((path, why))
            })
            .collect();
        runs.sort();
        runs
    }

    /// Directories of `runs_dir` not named `<prefix><RID>` that hold an
    /// `archive_manifest.json`: runs archived by the Python tool set's
    /// archive_run.py (`t0_<rid>`), listed and reported from that manifest.
    pub fn archive_dirs(&self) -> Vec<String> {
        if self.settings.run_dir_prefix.is_empty() {
            return Vec::new();
        }
        let Ok(entries) = std::fs::read_dir(self.runs_dir()) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with(&self.settings.run_dir_prefix) && validate_rid(n).is_ok())
            .filter(|n| {
                self.runs_dir()
                    .join(n)
                    .join("archive_manifest.json")
                    .is_file()
            })
            .collect();
        names.sort();
        names
    }

    /// Up to three existing run ids closest to `rid` (a shared prefix first,
    /// then by edit distance).
    pub fn closest_runs(&self, rid: &str) -> Vec<String> {
        let mut scored: Vec<(usize, String)> = self
            .run_ids()
            .into_iter()
            .map(|id| {
                let prefix = id
                    .chars()
                    .zip(rid.chars())
                    .take_while(|(a, b)| a == b)
                    .count();
                let score = edit_distance(&id, rid).saturating_sub(prefix);
                (score, id)
            })
            .collect();
        scored.sort();
        scored.into_iter().take(3).map(|(_, id)| id).collect()
    }
}

fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(PROJECT_FILE).is_file() || dir.join("experiments").is_dir())
        .map(Path::to_path_buf)
}

/// A RID is `[A-Za-z0-9][A-Za-z0-9._-]{0,127}`.
pub fn validate_rid(rid: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::BadRid {
            rid: rid.into(),
            reason,
        })
    };
    let bytes = rid.as_bytes();
    match bytes.first() {
        None => return bad("it is empty"),
        Some(b) if !b.is_ascii_alphanumeric() => {
            return bad("it must start with a letter or a digit")
        }
        _ => {}
    }
    if bytes.len() > 128 {
        return bad("it is longer than 128 characters");
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return bad("only letters, digits, '.', '_' and '-' are allowed");
    }
    Ok(())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Files rk itself keeps in a run dir, whatever rk.yaml says.
pub const RK_OWN_FILES: &[&str] = &[
    ".rk",
    "STATUS.md",
    "archive_manifest.json",
    "STOP_REQUESTED",
    "STOP_NOW",
];

impl Settings {
    /// Read `rk.yaml`. Unknown keys and wrong types are refused with their line.
    pub fn load(path: &Path) -> Result<Settings, Error> {
        let shown = path.display().to_string();
        let doc =
            canon::load_file_with_marks(path, Some(canon::Format::Yaml)).map_err(|source| {
                Error::ProjectFile {
                    path: shown.clone(),
                    source,
                }
            })?;
        SettingsReader {
            doc: &doc,
            path: &shown,
        }
        .read()
    }
}

/// Reads settings out of a loaded `rk.yaml`, naming the line of every problem.
struct SettingsReader<'a> {
    doc: &'a Document,
    path: &'a str,
}

impl SettingsReader<'_> {
    fn fail<T>(&self, pointer: &Pointer, message: impl Into<String>) -> Result<T, Error> {
        Err(Error::BadProjectFile {
            path: self.path.into(),
            mark: self.doc.mark_of(pointer),
            message: message.into(),
        })
    }

    fn entries<'v>(
        &self,
        value: &'v Value,
        at: &Pointer,
        known: &[&str],
    ) -> Result<&'v [(String, Value)], Error> {
        let Value::Object(entries) = value else {
            if at.tokens().is_empty() && matches!(value, Value::Null) {
                return Ok(&[]);
            }
            return self.fail(
                at,
                format!("{} must be a mapping, not a {}", show(at), value.kind()),
            );
        };
        if !known.is_empty() {
            if let Some((key, _)) = entries.iter().find(|(k, _)| !known.contains(&k.as_str())) {
                return self.fail(
                    &at.child(key.clone()),
                    format!(
                        "unknown key {:?} (known keys here: {})",
                        key,
                        known.join(", ")
                    ),
                );
            }
        }
        Ok(entries)
    }

    fn string(&self, value: &Value, at: &Pointer) -> Result<String, Error> {
        match value {
            Value::String(s) if !s.is_empty() => Ok(s.clone()),
            Value::String(_) => self.fail(at, format!("{} must not be empty", show(at))),
            other => self.fail(
                at,
                format!("{} must be a string, not a {}", show(at), other.kind()),
            ),
        }
    }

    fn string_list(&self, value: &Value, at: &Pointer) -> Result<Vec<String>, Error> {
        let Value::Array(items) = value else {
            return self.fail(
                at,
                format!(
                    "{} must be a list of strings, not a {}",
                    show(at),
                    value.kind()
                ),
            );
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                other => self.fail(
                    &at.child(i.to_string()),
                    format!(
                        "{} must be a string, not a {}",
                        show(&at.child(i.to_string())),
                        other.kind()
                    ),
                ),
            })
            .collect()
    }

    fn read(&self) -> Result<Settings, Error> {
        let mut s = Settings::default();
        let root = Pointer::root();
        let top = self.entries(
            &self.doc.value,
            &root,
            &[
                "runs_dir",
                "run_dir_prefix",
                "config_file",
                "state_file",
                "state_lock",
                "phases",
                "trials",
                "hash",
                "dispatch",
                "evidence",
                "sessions_keep",
                "gates",
                "code_drift",
                "status_md",
            ],
        )?;
        for (key, value) in top {
            let at = root.child(key.clone());
            match key.as_str() {
                "runs_dir" => s.runs_dir = self.relative_path(value, &at)?,
                "run_dir_prefix" => {
                    s.run_dir_prefix = match value {
                        Value::String(p) if !p.contains('/') => p.clone(),
                        _ => return self.fail(&at, "run_dir_prefix must be a string without '/'"),
                    }
                }
                "config_file" => s.config_file = self.file_name(value, &at)?,
                "state_file" => s.state_file = self.file_name(value, &at)?,
                "state_lock" => s.state_lock = self.file_name(value, &at)?,
                "phases" => s.phases = self.phases(value, &at)?,
                "trials" => {
                    for (k, v) in self.entries(value, &at, &["manifest"])? {
                        s.trials_manifest = self.relative_path(v, &at.child(k.clone()))?;
                    }
                }
                "hash" => self.hash(value, &at, &mut s)?,
                "dispatch" => self.dispatch(value, &at, &mut s)?,
                "evidence" => self.evidence(value, &at, &mut s)?,
                "sessions_keep" => s.sessions_keep = self.sessions_keep(value, &at)?,
                "gates" => s.gates = self.gates(value, &at)?,
                "code_drift" => {
                    s.code_drift = match value {
                        Value::String(v) if v == "warn" => CodeDriftPolicy::Warn,
                        Value::String(v) if v == "refuse" => CodeDriftPolicy::Refuse,
                        _ => return self.fail(&at, "code_drift must be `warn` or `refuse`"),
                    }
                }
                "status_md" => {
                    s.status_md = match value {
                        Value::Bool(b) => *b,
                        other => {
                            return self.fail(
                                &at,
                                format!("status_md must be true or false, not a {}", other.kind()),
                            )
                        }
                    }
                }
                other => return self.fail(&at, unread_key(other)),
            }
        }
        for (phase, _) in &s.gates {
            if !s.phases.contains(phase) {
                return self.fail(
                    &root.child("gates").child(phase.clone()),
                    format!(
                        "gate on unknown phase {phase:?} (phases: {})",
                        s.phases.join(", ")
                    ),
                );
            }
        }
        self.check_file_names(&s)?;
        Ok(s)
    }

    /// `phases`: at least one, none twice.
    fn phases(&self, value: &Value, at: &Pointer) -> Result<Vec<String>, Error> {
        let phases = self.string_list(value, at)?;
        if phases.is_empty() {
            return self.fail(at, "phases must list at least one phase");
        }
        for (i, p) in phases.iter().enumerate() {
            if phases[..i].contains(p) {
                return self.fail(
                    &at.child(i.to_string()),
                    format!("phase {p:?} is listed twice"),
                );
            }
        }
        Ok(phases)
    }

    /// `hash`: `ignore` (a list of JSON pointers) and `scheme`.
    fn hash(&self, value: &Value, at: &Pointer, s: &mut Settings) -> Result<(), Error> {
        for (k, v) in self.entries(value, at, &["ignore", "scheme"])? {
            let at = at.child(k.clone());
            if k == "scheme" {
                s.hash_scheme = match v {
                    Value::String(name) => Scheme::from_name(name),
                    _ => None,
                }
                .map_or_else(
                    || self.fail(&at, "hash.scheme must be `pyyaml-sorted` or `rk-c14n-v1`"),
                    Ok,
                )?;
                continue;
            }
            s.hash_ignore = self
                .string_list(v, &at)?
                .iter()
                .enumerate()
                .map(|(i, p)| Pointer::parse(p).or_else(|m| self.fail(&at.child(i.to_string()), m)))
                .collect::<Result<_, _>>()?;
        }
        Ok(())
    }

    /// `dispatch`: how `rk resume` starts the orchestrator.
    fn dispatch(&self, value: &Value, at: &Pointer, s: &mut Settings) -> Result<(), Error> {
        for (k, v) in self.entries(
            value,
            at,
            &[
                "plan",
                "command",
                "only_step",
                "from_step",
                "to_step",
                "via",
                "slurm",
            ],
        )? {
            let at = at.child(k.clone());
            if k == "via" {
                s.dispatch.via = match v {
                    Value::String(w) if w == "local" => Via::Local,
                    Value::String(w) if w == "slurm" => Via::Slurm,
                    _ => return self.fail(&at, "dispatch.via must be `local` or `slurm`"),
                };
                continue;
            }
            if k == "slurm" {
                for (k, v) in self.entries(v, &at, &["args"])? {
                    s.dispatch.slurm_args = self.string_list(v, &at.child(k.clone()))?;
                }
                continue;
            }
            if k == "plan" {
                s.dispatch.plan = match v {
                    Value::String(p) if p == "orchestrator" => Plan::Orchestrator,
                    Value::String(p) if p == "rk" => Plan::Rk,
                    _ => return self.fail(&at, "dispatch.plan must be `orchestrator` or `rk`"),
                };
                continue;
            }
            let argv = self.string_list(v, &at)?;
            match k.as_str() {
                "command" if argv.is_empty() => {
                    return self.fail(&at, "dispatch.command must name a program")
                }
                "command" => s.dispatch.command = argv,
                "only_step" => s.dispatch.only_step = argv,
                "from_step" => s.dispatch.from_step = argv,
                "to_step" => s.dispatch.to_step = argv,
                other => return self.fail(&at, unread_key(other)),
            }
        }
        Ok(())
    }

    /// `evidence`: one rule per phase; a phase named again replaces its rule.
    fn evidence(&self, value: &Value, at: &Pointer, s: &mut Settings) -> Result<(), Error> {
        for (phase, rule) in self.entries(value, at, &[])? {
            let rule = self.evidence_rule(rule, &at.child(phase.clone()))?;
            match s.evidence.iter_mut().find(|(p, _)| p == phase) {
                Some(slot) => slot.1 = rule,
                None => s.evidence.push((phase.clone(), rule)),
            }
        }
        Ok(())
    }

    /// `sessions_keep`: an integer from 1 to 10000.
    fn sessions_keep(&self, value: &Value, at: &Pointer) -> Result<usize, Error> {
        match value {
            Value::Int(i) => match i.as_i64() {
                Some(n) if (1..=10_000).contains(&n) => Ok(n as usize),
                _ => self.fail(at, "sessions_keep must be between 1 and 10000"),
            },
            other => self.fail(
                at,
                format!("sessions_keep must be an integer, not a {}", other.kind()),
            ),
        }
    }

    /// `gates`: a reason per phase (checked against `phases` once all is read).
    fn gates(&self, value: &Value, at: &Pointer) -> Result<Vec<(String, String)>, Error> {
        self.entries(value, at, &[])?
            .iter()
            .map(|(phase, reason)| {
                Ok((
                    phase.clone(),
                    self.string(reason, &at.child(phase.clone()))?,
                ))
            })
            .collect()
    }

    /// The names rk.yaml gives to files of a run must not collide with each
    /// other or with rk's own files: `state_file: STATUS.md` would make every
    /// render of STATUS.md overwrite the state, `state_lock: run_state.json`
    /// would lock the state file itself.
    fn check_file_names(&self, s: &Settings) -> Result<(), Error> {
        let named = [
            ("config_file", &s.config_file),
            ("state_file", &s.state_file),
            ("state_lock", &s.state_lock),
        ];
        for (i, (key, name)) in named.iter().enumerate() {
            let at = Pointer::root().child(key.to_string());
            if let Some((other, _)) = named[..i].iter().find(|(_, n)| n == name) {
                return self.fail(
                    &at,
                    format!("{key} and {other} are both {name:?}; each must name its own file"),
                );
            }
            if RK_OWN_FILES.contains(&name.as_str()) || name.starts_with(".tmp-") {
                return self.fail(
                    &at,
                    format!(
                        "{key} {name:?} collides with a file rk keeps in every run dir ({}, .tmp-*)",
                        RK_OWN_FILES.join(", ")
                    ),
                );
            }
        }
        Ok(())
    }

    fn relative_path(&self, value: &Value, at: &Pointer) -> Result<String, Error> {
        let p = self.string(value, at)?;
        if p.starts_with('/') || p.split('/').any(|c| c == "..") {
            return self.fail(
                at,
                format!(
                    "{} must be a path inside the project, without '..'",
                    show(at)
                ),
            );
        }
        Ok(p)
    }

    fn file_name(&self, value: &Value, at: &Pointer) -> Result<String, Error> {
        let p = self.string(value, at)?;
        if p.contains('/') || p == "." || p == ".." {
            return self.fail(
                at,
                format!(
                    "{} must be a file name inside the run dir, without '/'",
                    show(at)
                ),
            );
        }
        Ok(p)
    }

    fn evidence_rule(&self, value: &Value, at: &Pointer) -> Result<EvidenceRule, Error> {
        let entries = self.entries(value, at, &["always", "file", "jobs"])?;
        let [(kind, arg)] = entries else {
            return self.fail(
                at,
                "an evidence rule has exactly one of: always, file, jobs",
            );
        };
        let arg_at = at.child(kind.clone());
        match (kind.as_str(), arg) {
            ("always", Value::String(s)) if s == "completed" => Ok(EvidenceRule::Always),
            ("file", _) => Ok(EvidenceRule::File(self.relative_path(arg, &arg_at)?)),
            ("jobs", Value::String(s)) if s == "recorded" => Ok(EvidenceRule::JobsRecorded),
            ("jobs", Value::String(s)) if s == "downloaded" => Ok(EvidenceRule::JobsDownloaded),
            ("always", _) => self.fail(&arg_at, "`always` takes `completed`"),
            _ => self.fail(&arg_at, "`jobs` takes `recorded` or `downloaded`"),
        }
    }
}

fn show(at: &Pointer) -> String {
    let tokens = at.tokens();
    if tokens.is_empty() {
        "rk.yaml".into()
    } else {
        tokens.join(".")
    }
}

/// A key the reader allows but has no arm for: a bug in rk, reported as an
/// error rather than read as some other setting.
fn unread_key(key: &str) -> String {
    format!(
        "rk does not read the key {key:?} although it allows it (a bug in rk; please report it)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rids() {
        for ok in ["r20250902214642", "a", "A.b_c-d", &"x".repeat(128)] {
            assert!(validate_rid(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-x",
            ".x",
            "a/b",
            "..",
            "a b",
            "a\0b",
            &"x".repeat(129),
            "é",
        ] {
            assert!(validate_rid(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
