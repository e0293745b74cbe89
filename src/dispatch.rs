//! Dispatch: which steps a resume asks the orchestrator for, the exact argv
//! built from rk.yaml's `dispatch` templates, and running that child with the
//! dispatch lock inherited and signals forwarded (docs/FORMATS.md#rk-yaml, rk-resume(1)).
//!
//! The argv is a list, never a shell string: a config value such as
//! `$(touch /tmp/pwned)` can only ever be one inert argument.

use crate::project::{Dispatch, RunDir};
use std::ffi::{OsStr, OsString};
use std::process::Command;
use std::sync::atomic::{AtomicI32, Ordering};

/// Which steps to ask the orchestrator for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepRange {
    /// `--only_step S`.
    Only(String),
    /// `--from_step A [--to_step B]`, or just `--to_step B`.
    Range {
        from: Option<String>,
        to: Option<String>,
    },
}

impl StepRange {
    /// The phases this range covers, in pipeline order.
    pub fn phases<'p>(&self, phases: &'p [String]) -> &'p [String] {
        let index = |name: &str| phases.iter().position(|p| p == name);
        match self {
            StepRange::Only(step) => match index(step) {
                Some(i) => &phases[i..=i],
                None => &[],
            },
            StepRange::Range { from, to } => {
                let start = from.as_deref().and_then(index).unwrap_or(0);
                let end = to
                    .as_deref()
                    .and_then(index)
                    .map(|i| i + 1)
                    .unwrap_or(phases.len());
                phases.get(start..end).unwrap_or(&[])
            }
        }
    }
}

/// Values for the `{run_id}`, `{run_dir}`, `{config}` and `{step}` placeholders.
pub struct Placeholders<'a> {
    pub run: &'a RunDir,
    /// The config's path, as the file system spells it (UTF-8 or not).
    pub config: &'a OsStr,
}

/// Fill the placeholders of one template. Paths go in as the exact bytes of
/// the file system, never through a lossy UTF-8 conversion: a project under
/// a non-UTF-8 directory name reaches the orchestrator with paths that exist.
fn fill(template: &str, values: &[(&str, &OsStr)]) -> OsString {
    let mut out = OsString::new();
    let mut rest = template;
    'scan: while !rest.is_empty() {
        for (name, value) in values {
            if let Some(after) = rest.strip_prefix(name) {
                out.push(value);
                rest = after;
                continue 'scan;
            }
        }
        // Up to the next `{` after this character (never a byte index into
        // the middle of one).
        let first = rest.chars().next().map_or(1, char::len_utf8);
        let next = rest[first..].find('{').map_or(rest.len(), |i| i + first);
        out.push(&rest[..next]);
        rest = &rest[next..];
    }
    out
}

/// The exact argv `rk resume` runs: the `dispatch.command` template (or
/// `custom`, the command after `--`, in its place) followed by the step
/// templates for `steps`, every placeholder filled.
pub fn argv(
    dispatch: &Dispatch,
    steps: &StepRange,
    values: &Placeholders,
    custom: Option<&[String]>,
) -> Vec<OsString> {
    let run_dir = std::path::absolute(&values.run.path).unwrap_or_else(|_| values.run.path.clone());
    let base = [
        ("{run_id}", OsStr::new(&values.run.rid)),
        ("{run_dir}", run_dir.as_os_str()),
        ("{config}", values.config),
    ];
    let fill = |template: &str, step: Option<&str>| -> OsString {
        match step {
            Some(step) => {
                let mut with_step = base.to_vec();
                with_step.push(("{step}", OsStr::new(step)));
                fill(template, &with_step)
            }
            None => fill(template, &base),
        }
    };
    let command = custom.unwrap_or(&dispatch.command);
    let mut argv: Vec<OsString> = command.iter().map(|t| fill(t, None)).collect();
    let mut add = |templates: &[String], step: &str| {
        argv.extend(templates.iter().map(|t| fill(t, Some(step))));
    };
    match steps {
        StepRange::Only(step) => add(&dispatch.only_step, step),
        StepRange::Range { from, to } => {
            if let Some(from) = from {
                add(&dispatch.from_step, from);
            }
            if let Some(to) = to {
                add(&dispatch.to_step, to);
            }
        }
    }
    argv
}

/// The pid of the running child, for the signal handler.
static CHILD_PID: AtomicI32 = AtomicI32::new(0);

/// How a dispatched child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildExit {
    /// The exit code, or 128 + the signal number when a signal ended it (as a
    /// shell reports it).
    pub code: i32,
}

/// Why a child could not be started.
#[derive(Debug, thiserror::Error)]
#[error("cannot start {program:?}: {source}")]
pub struct SpawnError {
    pub program: String,
    #[source]
    pub source: std::io::Error,
}

/// Run `argv` in `dir` (the project root: docs/ORCHESTRATORS.md#dispatch;
/// a relative program path is taken from there too) with stdio inherited,
/// forwarding SIGINT, SIGTERM and SIGHUP
/// that other processes send to rk. Signals a terminal sends to the whole
/// foreground group (Ctrl-C) already reach the child and are not sent twice.
///
/// The caller makes the dispatch lock's descriptor inheritable first
/// (`DispatchLock::inheritable_fd`), so the child holds the lock for as long
/// as it lives, even if rk itself is killed.
pub fn run_child(argv: &[OsString], dir: &std::path::Path) -> Result<ChildExit, SpawnError> {
    let spawn_error = |source| SpawnError {
        program: argv
            .first()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default(),
        source,
    };
    let Some((program, args)) = argv.split_first() else {
        return Err(spawn_error(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "empty command",
        )));
    };
    install_forwarding();
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .spawn()
        .map_err(spawn_error)?;
    CHILD_PID.store(child.id() as i32, Ordering::SeqCst);
    let status = child.wait();
    CHILD_PID.store(0, Ordering::SeqCst);
    let status = status.map_err(spawn_error)?;
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1);
    Ok(ChildExit { code })
}

extern "C" fn forward(signal: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let pid = CHILD_PID.load(Ordering::SeqCst);
    // SAFETY: `info` is provided by the kernel for an SA_SIGINFO handler.
    let from_a_process = info.is_null() || unsafe { (*info).si_code } <= 0;
    if pid > 0 && from_a_process {
        // SAFETY: kill is async-signal-safe.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

fn install_forwarding() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: installs a handler that only reads an atomic and calls kill.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = forward as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// An argv as a shell would need it typed: words with special characters
/// single-quoted.
pub fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|w| shell_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One word as a shell would need it typed: as it is when it holds only
/// characters no shell treats specially, else single-quoted.
pub fn shell_word(w: &str) -> std::borrow::Cow<'_, str> {
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
    {
        w.into()
    } else {
        format!("'{}'", w.replace('\'', r"'\''")).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::Settings;
    use std::path::PathBuf;

    fn run() -> RunDir {
        RunDir {
            rid: "r1".into(),
            path: PathBuf::from("/p/experiments/run_r1"),
        }
    }

    #[test]
    fn argv_fills_templates() {
        let d = Settings::default().dispatch;
        let run = run();
        let values = Placeholders {
            run: &run,
            config: OsStr::new("/p/experiments/run_r1/effective_config.yaml"),
        };
        let from = StepRange::Range {
            from: Some("parse".into()),
            to: Some("score".into()),
        };
        assert_eq!(
            argv(&d, &from, &values, None).join(OsStr::new(" ")),
            "python -m scripts.run_all --config /p/experiments/run_r1/effective_config.yaml \
             --run_id r1 --resume --from_step parse --to_step score"
        );
        let only = StepRange::Only("poll".into());
        assert!(argv(&d, &only, &values, None)
            .join(OsStr::new(" "))
            .to_string_lossy()
            .ends_with("--resume --only_step poll"));
        let custom = [
            "echo".to_string(),
            "$(touch /tmp/pwned) {run_id}".to_string(),
        ];
        assert_eq!(
            argv(&d, &only, &values, Some(&custom)),
            ["echo", "$(touch /tmp/pwned) r1", "--only_step", "poll"]
        );
    }

    #[test]
    fn paths_keep_their_bytes_and_braces_stay() {
        use std::os::unix::ffi::{OsStrExt, OsStringExt};
        let d = Settings::default().dispatch;
        let run = RunDir {
            rid: "r1".into(),
            path: PathBuf::from(OsStr::from_bytes(b"/p/\xffq/experiments/run_r1")),
        };
        let config = OsStr::from_bytes(b"/p/\xffq/c.yaml");
        let values = Placeholders { run: &run, config };
        let custom = [
            "x{run_dir}/{config}{".to_string(),
            "{step} {unknown} é{run_id}".to_string(),
            "éé{".to_string(),
        ];
        let got = argv(&d, &StepRange::Only("poll".into()), &values, Some(&custom));
        assert_eq!(
            got[0].clone().into_vec(),
            b"x/p/\xffq/experiments/run_r1//p/\xffq/c.yaml{".to_vec()
        );
        assert_eq!(got[1], OsStr::new("{step} {unknown} ér1"));
        assert_eq!(got[2], OsStr::new("éé{"));
    }

    #[test]
    fn ranges_cover_phases() {
        let phases: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let r = |from: Option<&str>, to: Option<&str>| StepRange::Range {
            from: from.map(Into::into),
            to: to.map(Into::into),
        };
        assert_eq!(r(Some("b"), None).phases(&phases), ["b", "c", "d"]);
        assert_eq!(r(None, Some("b")).phases(&phases), ["a", "b"]);
        assert_eq!(r(Some("b"), Some("c")).phases(&phases), ["b", "c"]);
        assert_eq!(StepRange::Only("c".into()).phases(&phases), ["c"]);
    }

    #[test]
    fn shell_words_quote_only_what_needs_it() {
        let argv: Vec<String> = [
            "python",
            "-m",
            "a.b",
            "--config",
            "/x y/c.yaml",
            "$(touch /tmp/p)",
            "it's",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            shell_words(&argv),
            r#"python -m a.b --config '/x y/c.yaml' '$(touch /tmp/p)' 'it'\''s'"#
        );
    }
}
