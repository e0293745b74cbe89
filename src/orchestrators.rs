//! Orchestrators rk did not start: `resume_run.py`'s child, or a person typing
//! `python -m scripts.run_all --run_id R …`. They hold no rk lock, so rk
//! looks for them among the live processes of this host (`/proc`): a process
//! started with the run's id as the value of `--run_id` (or at the position
//! of `{run_id}` in the dispatch template) whose working directory is the
//! project root, i.e. from where `<runs_dir>/<prefix><RID>` is this run.
//!
//! The one idea: this is a probe, never a lock. It can only make rk more
//! careful (`running` in list and status, a refusal in resume); a process rk
//! cannot inspect (another user's) is not counted.

use crate::clock::Timestamp;
use crate::project::{RunDir, Settings};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A live process that claims a run id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub pid: i32,
    pub command: Vec<String>,
    /// The run id it was started with.
    pub run_id: String,
    /// Its working directory.
    pub cwd: PathBuf,
    /// When it started, when known.
    pub since: Option<Timestamp>,
}

/// Every process of this host that claims a run id, except rk itself and
/// other rk processes (an `rk resume --run_id R` is rk, and the orchestrator
/// it started holds the dispatch lock, which says so already).
pub fn scan(settings: &Settings) -> Vec<Candidate> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id() as i32;
    let my_exe = std::fs::read_link("/proc/self/exe").ok();
    let template = &settings.dispatch.command;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let dir = entry.path();
        let Ok(raw) = std::fs::read(dir.join("cmdline")) else {
            continue;
        };
        let argv: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let Some(run_id) = claimed_run_id(&argv, template) else {
            continue;
        };
        if my_exe.is_some() && std::fs::read_link(dir.join("exe")).ok() == my_exe {
            continue;
        }
        let Ok(cwd) = std::fs::read_link(dir.join("cwd")) else {
            continue;
        };
        found.push(Candidate {
            pid,
            command: argv,
            run_id,
            cwd,
            since: start_time(&dir),
        });
    }
    found.sort_by_key(|c| c.pid);
    found
}

/// One scan per process, for readers (list and status look at many runs).
pub fn scanned(settings: &Settings) -> &'static [Candidate] {
    static SCAN: OnceLock<Vec<Candidate>> = OnceLock::new();
    SCAN.get_or_init(|| scan(settings))
}

/// The candidates that are running `run`: they claim its id, and from their
/// working directory the run's path is `<runs_dir>/<prefix><RID>`.
pub fn running<'c>(
    candidates: &'c [Candidate],
    run: &RunDir,
    settings: &Settings,
) -> Vec<&'c Candidate> {
    if candidates.is_empty() {
        return Vec::new();
    }
    let Ok(here) = run.path.canonicalize() else {
        return Vec::new();
    };
    candidates
        .iter()
        .filter(|c| c.run_id == run.rid)
        .filter(|c| {
            let theirs = c
                .cwd
                .join(&settings.runs_dir)
                .join(format!("{}{}", settings.run_dir_prefix, c.run_id));
            theirs.canonicalize().is_ok_and(|p| p == here)
        })
        .collect()
}

/// The run id a command line claims: the value of `--run_id` (`--run_id R`
/// or `--run_id=R`, also spelled `--run-id`), or the word at the position of
/// `{run_id}` in the dispatch template when the words before it match the
/// template (the program by its file name, so `python3` matches `python`).
pub fn claimed_run_id(argv: &[String], template: &[String]) -> Option<String> {
    for (i, word) in argv.iter().enumerate() {
        for flag in ["--run_id", "--run-id"] {
            if word == flag {
                if let Some(value) = argv.get(i + 1) {
                    return Some(value.clone());
                }
            }
            if let Some(value) = word.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
                return Some(value.to_string());
            }
        }
    }
    let at = template.iter().position(|t| t == "{run_id}")?;
    let value = argv.get(at)?;
    let prefix_matches = template[..at]
        .iter()
        .zip(argv)
        .enumerate()
        .all(|(j, (t, a))| {
            if t.contains('{') {
                true
            } else if j == 0 {
                let name = |p: &str| {
                    Path::new(p)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                };
                match (name(t), name(a)) {
                    (Some(t), Some(a)) => a.starts_with(&t),
                    _ => false,
                }
            } else {
                t == a
            }
        });
    prefix_matches.then(|| value.clone())
}

/// When the process started: boot time plus its start in clock ticks.
fn start_time(dir: &Path) -> Option<Timestamp> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: the
    // fields after it follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let ticks: u64 = rest.split_whitespace().nth(19)?.parse().ok()?;
    let boot: u64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz <= 0 {
        return None;
    }
    let micros = boot as i64 * 1_000_000 + (ticks as i64 * 1_000_000) / hz as i64;
    Some(Timestamp::from_unix_micros(micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn run_ids_are_read_from_the_flag_or_the_template_position() {
        let template = Settings::default().dispatch.command;
        let claim = |s: &str| claimed_run_id(&words(s), &template);
        assert_eq!(
            claim("python -m scripts.run_all --config c.yaml --run_id r1 --resume").as_deref(),
            Some("r1")
        );
        assert_eq!(
            claim("/usr/bin/python3 x.py --run_id=r2").as_deref(),
            Some("r2")
        );
        assert_eq!(
            claim("python -m scripts.run_all --config c.yaml").as_deref(),
            None
        );
        assert_eq!(claim("vim notes.txt").as_deref(), None);
        let custom = words("./orch {config} {run_id}");
        assert_eq!(
            claimed_run_id(&words("/p/orch /p/c.yaml r3"), &custom).as_deref(),
            Some("r3")
        );
        assert_eq!(
            claimed_run_id(&words("/bin/other /p/c.yaml r3"), &custom),
            None
        );
    }
}
