//! The test environment: a temporary project directory, a pinned clock and
//! no colour, and a renderer that puts stdout, stderr and the exit status of
//! one command into one string for a snapshot.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const NOW: &str = "2025-09-03T10:00:00.000000Z";

pub struct TestEnv {
    dir: tempfile::TempDir,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        TestEnv {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Write a file under the root, creating its parent directories.
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root().join(rel)).unwrap()
    }

    /// An `rk` command run in the root, with the clock pinned and no colour.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rk"));
        cmd.args(args)
            .current_dir(self.root())
            .env("RK_NOW", NOW)
            .env("NO_COLOR", "1")
            .env_remove("RK_PROJECT")
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("rk runs")
    }

    /// Run with `stdin` fed to the command.
    pub fn run_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        output_with_stdin(&mut self.cmd(args), stdin)
    }

    /// stdout, stderr and the exit status of `rk args`, temp paths as `[ROOT]`.
    pub fn render(&self, args: &[&str]) -> String {
        let out = self.run(args);
        self.render_output(&out)
    }

    /// Fail the test unless `out` ended with exit `code`, showing its output.
    pub fn expect_exit(&self, out: &Output, code: i32) {
        assert_eq!(out.status.code(), Some(code), "{}", self.render_output(out));
    }

    pub fn render_output(&self, out: &Output) -> String {
        render(out, self.root())
    }
}

/// One string for a snapshot: stdout, then `[stderr]` and stderr when there is
/// any, then `[exit status: N]`.
pub fn render(out: &Output, root: &Path) -> String {
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.stderr.is_empty() {
        s.push_str("[stderr]\n");
        s.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    s.push_str(&format!(
        "[exit status: {}]\n",
        out.status.code().unwrap_or(-1)
    ));
    let root = root.to_string_lossy();
    let canonical = std::fs::canonicalize(root.as_ref())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut s = s.replace(canonical.as_str(), "[ROOT]");
    if !root.is_empty() {
        s = s.replace(root.as_ref(), "[ROOT]");
    }
    s
}

/// Every file under `dir` with its bytes, for "nothing changed" checks.
pub fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            } else {
                out.push((
                    path.clone(),
                    std::fs::read_link(&path)
                        .map(|l| l.to_string_lossy().into_owned().into_bytes())
                        .unwrap_or_default(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// Assert two `tree()` listings are equal, naming only the paths that differ.
pub fn assert_same_tree(before: &[(PathBuf, Vec<u8>)], after: &[(PathBuf, Vec<u8>)], what: &str) {
    let differ: Vec<String> = before
        .iter()
        .map(|(p, _)| p)
        .chain(after.iter().map(|(p, _)| p))
        .filter(|p| {
            before.iter().find(|(q, _)| q == *p).map(|(_, b)| b)
                != after.iter().find(|(q, _)| q == *p).map(|(_, b)| b)
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(differ.is_empty(), "{what}: these paths changed: {differ:?}");
}

/// A project whose dispatch command is rk's simulated orchestrator, so a
/// resume really walks phases and writes run_state.json as the Python tool
/// set would.
pub fn orchestrated_project(env: &TestEnv, extra_yaml: &str) {
    env.write(
        "rk.yaml",
        format!(
            "dispatch:\n  command: [{:?}, demo-orchestrator, --run-dir, \"{{run_dir}}\", --run_id, \"{{run_id}}\", --delay-ms, \"0\"]\n{extra_yaml}",
            env!("CARGO_BIN_EXE_rk")
        ),
    );
}

/// A started run (as `rk init` makes one): config, first state, config object.
pub fn started_run(env: &TestEnv, rid: &str, config: &str) -> PathBuf {
    let project = rk::project::Project::open(env.root().to_path_buf()).unwrap();
    let mut state = rk::state::RunState::new(rid, &project.settings.phases);
    state.config_hash = Some(Some(c14n_hash(config)));
    state.config_hash_scheme = Some("rk-c14n-v1".into());
    run_with_state(env, rid, config, &state)
}

/// A run with `config` and `state`, committed through the library's one
/// write path with the config recorded as its config object.
pub fn run_with_state(
    env: &TestEnv,
    rid: &str,
    config: &str,
    state: &rk::state::RunState,
) -> PathBuf {
    env.write(
        &format!("experiments/run_{rid}/effective_config.yaml"),
        config,
    );
    let project = rk::project::Project::open(env.root().to_path_buf()).unwrap();
    let run = project.resolve_run(rid).unwrap();
    let doc = rk::canon::load(config.as_bytes(), None, "config").unwrap();
    let object = rk::store::Store::new(&run).put_value(&doc.value).unwrap();
    let expect = rk::state::Expect::NoHead;
    rk::state::commit(&run, &project.settings, "init", "test", &expect, |draft| {
        draft.state = state.clone();
        draft.config = Some(object);
        Ok::<_, rk::state::Error>(())
    })
    .unwrap();
    run.path
}

/// The rk-c14n-v1 hash of a YAML config.
pub fn c14n_hash(config: &str) -> String {
    let doc = rk::canon::load(config.as_bytes(), None, "config").unwrap();
    rk::canon::sha256_hex(&rk::canon::canonical_bytes(&doc.value))
}

/// The JSON of a run's run_state.json.
pub fn state_of(run_dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(run_dir.join("run_state.json")).unwrap()).unwrap()
}

/// The last session recorded in a run's `run_state.json`.
pub fn last_session(run_dir: &Path) -> serde_json::Value {
    state_of(run_dir)["sessions"]
        .as_array()
        .and_then(|s| s.last())
        .cloned()
        .expect("the state records a session")
}

/// The status of each phase of a run, in file order.
pub fn phase_statuses(run_dir: &Path) -> Vec<(String, String)> {
    let state = state_of(run_dir);
    state["phases"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v["status"].as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Run git in `dir` with a fixed identity; false when git is missing or fails.
pub fn git(dir: &Path, args: &[&str]) -> bool {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Wait (polling) until `cond` holds; fail the test after 30 s.
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// An `rk` command run by a user who may not read what `unreadable` names
/// (its mode set to 0600, or 0000 when the tests do not run as root): as
/// root, rk runs as `nobody` through setpriv(1), the test's root made
/// traversable. `None`, said on stderr, when root has no setpriv.
pub fn cmd_without_access(env: &TestEnv, unreadable: &Path, args: &[&str]) -> Option<Command> {
    use std::os::unix::fs::PermissionsExt;
    let root = unsafe { libc::geteuid() } == 0;
    let mode = if root { 0o600 } else { 0o000 };
    std::fs::set_permissions(unreadable, std::fs::Permissions::from_mode(mode)).unwrap();
    if !root {
        return Some(env.cmd(args));
    }
    let has_setpriv = Command::new("setpriv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_setpriv {
        eprintln!("skipped: running as root without setpriv(1) to drop to nobody");
        return None;
    }
    std::fs::set_permissions(env.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_rk"))
        .args(args)
        .current_dir(env.root())
        .env("RK_NOW", NOW)
        .env("NO_COLOR", "1")
        .env_remove("RK_PROJECT")
        .stdin(Stdio::null());
    Some(cmd)
}

/// Run `cmd` with `stdin` fed to it and wait for its output. A command may
/// exit before it reads its input (a refusal): that is not a failure here,
/// its exit status and output say what happened.
pub fn output_with_stdin(cmd: &mut Command, stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}
