//! The version of the project's code (docs/FORMATS.md#rk-fields code drift): the git commit of
//! the repository holding the project root and whether its tree is dirty,
//! read with the `git` the user has.
//!
//! Not being in a git repository is normal and records nothing; a missing or
//! failing `git` is a warning for the caller to show, never a failure.

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};

/// A recorded code version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeVersion {
    pub commit: String,
    pub dirty: bool,
}

impl CodeVersion {
    pub fn to_json(&self) -> Value {
        json!({"commit": self.commit, "dirty": self.dirty})
    }

    pub fn from_json(v: &Value) -> Option<CodeVersion> {
        Some(CodeVersion {
            commit: v.get("commit")?.as_str()?.to_string(),
            dirty: v.get("dirty").and_then(Value::as_bool).unwrap_or(false),
        })
    }
}

/// What reading the code version gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    Version(CodeVersion),
    /// The project is not inside a git repository.
    NotARepository,
    /// git is missing or failed; the message says how.
    Unavailable(String),
}

fn git(root: &Path, args: &[&str]) -> Result<std::process::Output, String> {
    Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .env("GIT_OPTIONAL_LOCKS", "0")
        .output()
        .map_err(|e| format!("cannot run git: {e}"))
}

/// rk's own files in a run dir (the names the `.gitignore` rk writes in a
/// new run dir lists): a tracked runs dir whose only changes are these is not
/// dirty code, since rk wrote them, not the user.
const RK_OWN_FILES: [&str; 4] = [
    ".rk/**",
    "STATUS.md",
    ".state.lock",
    "STOP_REQUESTED.cleared.*",
];

/// The commit and dirty flag of the repository holding the project root
/// `root`, whose runs live in `root/runs_dir` (rk's own files there do not
/// make the tree dirty).
///
/// One `git status` answers both: porcelain v2's `# branch.oid` header is
/// HEAD (`(initial)` before the first commit), and any other line is a
/// changed tracked file. Ahead/behind counts and rename detection are
/// skipped: neither is needed, and both can walk history.
pub fn probe(root: &Path, runs_dir: &str) -> Probe {
    let runs_dir = runs_dir.trim_end_matches('/');
    // A runs dir outside the root cannot be named by a pathspec (git would
    // refuse it); its files are then outside the repository anyway.
    let inside = !Path::new(runs_dir).is_absolute() && !runs_dir.split('/').any(|c| c == "..");
    let excluded: Vec<String> = RK_OWN_FILES
        .iter()
        .filter(|_| inside)
        .map(|name| format!(":(exclude,glob){runs_dir}/*/{name}"))
        .collect();
    let mut status = vec![
        "status",
        "--porcelain=v2",
        "--branch",
        "--no-ahead-behind",
        "--no-renames",
        "--untracked-files=no",
        "--",
        ":/",
    ];
    status.extend(excluded.iter().map(String::as_str));
    let out = match git(root, &status) {
        Ok(out) => out,
        Err(message) => return Probe::Unavailable(message),
    };
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return if stderr.contains("not a git repository") {
            Probe::NotARepository
        } else {
            Probe::Unavailable(format!("git status failed: {}", stderr.trim()))
        };
    }
    let out = String::from_utf8_lossy(&out.stdout);
    let head = out.lines().find_map(|l| l.strip_prefix("# branch.oid "));
    match head {
        // A repository with no commit yet has no version to record.
        Some("(initial)") => Probe::NotARepository,
        Some(commit) if is_commit_id(commit) => Probe::Version(CodeVersion {
            commit: commit.to_string(),
            dirty: out.lines().any(|l| !l.starts_with('#')),
        }),
        _ => Probe::Unavailable(format!(
            "git status named no commit for HEAD: {:?}",
            out.lines().next().unwrap_or("")
        )),
    }
}

/// Whether `s` looks like a git object id: 4 to 64 hex digits, nothing else.
pub fn is_commit_id(s: &str) -> bool {
    (4..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// One commit made since a recorded version (`{id, subject}` in `rk status
/// --json`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Commit {
    pub id: String,
    pub subject: String,
}

/// The commits reachable from HEAD but not from `since`, newest first.
///
/// `since` comes from a state file anyone can edit: it must be a commit id
/// (4 to 64 hex digits) before it reaches git, and `--end-of-options` keeps
/// git from reading it as an option even so.
pub fn commits_since(root: &Path, since: &str) -> Result<Vec<Commit>, String> {
    if !is_commit_id(since) {
        return Err(format!(
            "the recorded code_version.commit {since:?} is not a commit id (4 to 64 hex digits)"
        ));
    }
    let range = format!("{since}..HEAD");
    let out = git(
        root,
        &["log", "--format=%h%x09%s", "--end-of-options", &range],
    )?;
    if !out.status.success() {
        return Err(format!(
            "git log {range} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let (id, subject) = line.split_once('\t')?;
            Some(Commit {
                id: id.to_string(),
                subject: subject.to_string(),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn reads_commits_and_dirty_flag() {
        if Command::new("git").arg("--version").output().is_err() {
            eprintln!("skipped: no git on this machine");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(probe(dir.path(), "experiments"), Probe::NotARepository);
        sh(dir.path(), &["init", "-q"]);
        assert_eq!(
            probe(dir.path(), "experiments"),
            Probe::NotARepository,
            "no commit yet"
        );
        std::fs::write(dir.path().join("a"), "1").unwrap();
        sh(dir.path(), &["add", "a"]);
        sh(dir.path(), &["commit", "-qm", "first"]);
        let Probe::Version(v1) = probe(dir.path(), "experiments") else {
            panic!("a version")
        };
        assert!(!v1.dirty);
        std::fs::write(dir.path().join("a"), "2").unwrap();
        let Probe::Version(v2) = probe(dir.path(), "experiments") else {
            panic!("a version")
        };
        assert!(v2.dirty);
        sh(dir.path(), &["commit", "-qam", "second: tune lr"]);
        // A detached HEAD is a version like any other; the repository's own
        // directory has no work tree to compare.
        sh(dir.path(), &["checkout", "-q", "--detach"]);
        let Probe::Version(detached) = probe(dir.path(), "experiments") else {
            panic!("a version")
        };
        assert_eq!(detached.commit.len(), 40);
        assert!(!detached.dirty);
        assert!(matches!(
            probe(&dir.path().join(".git"), "experiments"),
            Probe::Unavailable(m) if m.contains("work tree")
        ));
        // A tracked run dir whose only changes are rk's own files is clean;
        // a change to the orchestrator's files in it is not.
        let run = dir.path().join("experiments/run_r1");
        std::fs::create_dir_all(run.join(".rk")).unwrap();
        for name in [
            "STATUS.md",
            ".state.lock",
            ".rk/HEAD",
            "STOP_REQUESTED.cleared.x",
            "run_state.json",
        ] {
            std::fs::write(run.join(name), "1").unwrap();
        }
        sh(dir.path(), &["add", "-f", "experiments"]);
        sh(dir.path(), &["commit", "-qm", "track the run"]);
        for name in [
            "STATUS.md",
            ".state.lock",
            ".rk/HEAD",
            "STOP_REQUESTED.cleared.x",
        ] {
            std::fs::write(run.join(name), "2").unwrap();
        }
        let Probe::Version(v3) = probe(dir.path(), "experiments") else {
            panic!("a version")
        };
        assert!(!v3.dirty, "rk's own files are not dirty code");
        std::fs::write(run.join("run_state.json"), "2").unwrap();
        let Probe::Version(v4) = probe(dir.path(), "experiments") else {
            panic!("a version")
        };
        assert!(v4.dirty);
        sh(dir.path(), &["commit", "-qam", "state"]);
        let since = commits_since(dir.path(), &v1.commit).unwrap();
        assert_eq!(since.len(), 3);
        assert_eq!(since[2].subject, "second: tune lr");
        assert_eq!(CodeVersion::from_json(&v1.to_json()), Some(v1));
        let evil = dir.path().join("evil");
        let injected = format!("--output={}", evil.display());
        assert!(commits_since(dir.path(), &injected).is_err());
        assert!(commits_since(dir.path(), "aéééééé").is_err());
        assert!(!dir.path().join("evil..HEAD").exists());
    }
}

/// The code of the project against the run's first recorded version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeDrift {
    /// The run records no code version (not a git repository then, or a run
    /// made before rk recorded one).
    NotRecorded,
    /// HEAD is the recorded commit (the tree may be dirty).
    Unchanged { commit: String, dirty: bool },
    /// Commits were made since the recorded one; newest first.
    Changed {
        since: String,
        commits: Vec<Commit>,
        dirty: bool,
    },
    /// git could not tell (missing, failing, or the project is no longer a
    /// repository); the message says why.
    Unavailable(String),
}

impl CodeDrift {
    pub fn is_changed(&self) -> bool {
        matches!(self, CodeDrift::Changed { .. })
    }
}

/// `code` of `rk status --json` (rk-status(1)): `{"state": "not_recorded"}`,
/// `{state: unchanged, commit, dirty}`, `{state: changed, since, dirty,
/// commits: [{id, subject}]}` or `{state: unavailable, reason}`.
#[derive(Debug, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CodeDocument<'a> {
    NotRecorded,
    Unchanged {
        commit: &'a str,
        dirty: bool,
    },
    Changed {
        since: &'a str,
        dirty: bool,
        commits: &'a [Commit],
    },
    Unavailable {
        reason: &'a str,
    },
}

impl<'a> From<&'a CodeDrift> for CodeDocument<'a> {
    fn from(code: &'a CodeDrift) -> Self {
        match code {
            CodeDrift::NotRecorded => CodeDocument::NotRecorded,
            CodeDrift::Unchanged { commit, dirty } => CodeDocument::Unchanged {
                commit,
                dirty: *dirty,
            },
            CodeDrift::Changed {
                since,
                commits,
                dirty,
            } => CodeDocument::Changed {
                since,
                dirty: *dirty,
                commits,
            },
            CodeDrift::Unavailable(reason) => CodeDocument::Unavailable { reason },
        }
    }
}

/// The run's first recorded code version: the state's top-level
/// `code_version` (written at `init`, or by the first `resume` that could
/// read one).
pub fn first_recorded(state: &crate::state::RunState) -> Option<CodeVersion> {
    state
        .extra
        .get("code_version")
        .and_then(CodeVersion::from_json)
}

/// Compare the project's code `now` (a [`probe`] of `root`) with `first`.
pub fn drift_since(root: &Path, first: Option<&CodeVersion>, now: &Probe) -> CodeDrift {
    let Some(first) = first else {
        return CodeDrift::NotRecorded;
    };
    let now = match now {
        Probe::Version(v) => v.clone(),
        Probe::NotARepository => {
            return CodeDrift::Unavailable("the project is no longer in a git repository".into())
        }
        Probe::Unavailable(message) => return CodeDrift::Unavailable(message.clone()),
    };
    if now.commit == first.commit {
        return CodeDrift::Unchanged {
            commit: now.commit,
            dirty: now.dirty,
        };
    }
    match commits_since(root, &first.commit) {
        Ok(commits) => CodeDrift::Changed {
            since: first.commit.clone(),
            commits,
            dirty: now.dirty,
        },
        Err(message) => CodeDrift::Unavailable(message),
    }
}
