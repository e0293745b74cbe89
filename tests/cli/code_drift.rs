//! Code drift: the project's git commit recorded at init and resume; commits
//! made since show in status; `code_drift: refuse` refuses them until --force.

use crate::common::{orchestrated_project, state_of, TestEnv};
use std::process::Command;

fn git(env: &TestEnv, args: &[&str]) {
    assert!(crate::common::git(env.root(), args), "git {args:?}");
}

fn repo(env: &TestEnv, policy: &str) -> bool {
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("skipped: no git on this machine");
        return false;
    }
    orchestrated_project(env, policy);
    env.write(".gitignore", "experiments/\n");
    env.write("cfg.yaml", "trials:\n  t1: [ds-1]\n");
    git(env, &["init", "-q"]);
    git(env, &["add", "."]);
    git(env, &["commit", "-qm", "first"]);
    true
}

#[test]
fn a_commit_after_init_shows_in_status() {
    let env = TestEnv::new();
    if !repo(&env, "") {
        return;
    }
    assert_eq!(
        env.run(&["init", "r1", "--config", "cfg.yaml"])
            .status
            .code(),
        Some(0)
    );
    let recorded = state_of(&env.root().join("experiments/run_r1"))["code_version"].clone();
    assert_eq!(recorded["dirty"], false);
    env.write("train.py", "print('v2')\n");
    git(&env, &["add", "train.py"]);
    git(&env, &["commit", "-qm", "tune the learning rate"]);
    let status = String::from_utf8(env.run(&["status", "r1"]).stdout).unwrap();
    assert!(
        status.contains("code      1 commit since the run started at "),
        "{status}"
    );
    assert!(status.contains(" tune the learning rate\n"), "{status}");
    // warn (the default): resume goes on and says so.
    let out = env.run(&["resume", "r1", "--only-step", "prepare"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("rk: warning: code drift: 1 commit since run r1 started"));
}

/// `rk status` judges the trials and asks git on threads of their own while
/// it reads the state; with `RK_THREADS=1` both run in turn on the calling
/// thread. The screen, the JSON and the exit code are the same either way.
#[test]
fn status_is_the_same_on_one_thread_or_many() {
    let env = TestEnv::new();
    if !repo(&env, "") {
        return;
    }
    env.expect_exit(&env.run(&["init", "r1", "--config", "cfg.yaml"]), 0);
    env.write("train.py", "print('v2')\n");
    git(&env, &["add", "train.py"]);
    git(&env, &["commit", "-qm", "tune the learning rate"]);
    for i in 0..40 {
        let files: &[&str] = if i % 3 == 0 {
            &["results/predictions.csv"]
        } else {
            &[]
        };
        crate::status::trial(&env, "r1", &format!("t{i:02}"), files);
    }
    env.write("experiments/run_r1/t07/results/trial_manifest.json", "{");
    for args in [&["status", "r1"][..], &["status", "r1", "--json"][..]] {
        let outs: Vec<_> = ["1", "2", "4"]
            .iter()
            .map(|n| env.cmd(args).env("RK_THREADS", n).output().unwrap())
            .collect();
        env.expect_exit(&outs[0], 0);
        for out in &outs {
            assert_eq!(out.stdout, outs[0].stdout, "{args:?}");
            assert_eq!(out.stderr, outs[0].stderr, "{args:?}");
            assert_eq!(out.status.code(), outs[0].status.code(), "{args:?}");
        }
        let text = String::from_utf8_lossy(&outs[0].stdout);
        assert!(text.contains("tune the learning rate"), "{text}");
        assert!(
            text.contains("corrupt manifest t07/results/trial_manifest.json"),
            "{text}"
        );
    }
}

#[test]
fn refuse_policy_needs_force_which_records_it() {
    let env = TestEnv::new();
    if !repo(&env, "code_drift: refuse\n") {
        return;
    }
    assert_eq!(
        env.run(&["init", "r1", "--config", "cfg.yaml"])
            .status
            .code(),
        Some(0)
    );
    env.write("train.py", "print('v2')\n");
    git(&env, &["add", "train.py"]);
    git(&env, &["commit", "-qm", "new loss"]);
    let out = env.run(&["resume", "r1"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rk: error: code drift in run r1: 1 commit since run r1 started"),
        "{stderr}"
    );
    assert!(stderr.contains("rk resume r1 --force"), "{stderr}");
    let out = env.run(&["resume", "r1", "--force", "--only-step", "prepare"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state = state_of(&env.root().join("experiments/run_r1"));
    assert_eq!(state["code_drift"][0]["forced"], true);
    assert_eq!(state["code_drift"][0]["subjects"][0], "new loss");
    // Acknowledged: the same code resumes without --force.
    assert_eq!(
        env.run(&["resume", "r1", "--only-step", "build"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn outside_a_git_repository_nothing_is_recorded() {
    let env = TestEnv::new();
    orchestrated_project(&env, "code_drift: refuse\n");
    env.write("cfg.yaml", "a: 1\n");
    let out = env.run(&["init", "r1", "--config", "cfg.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(state_of(&env.root().join("experiments/run_r1"))
        .get("code_version")
        .is_none());
}

/// A project whose repository the real git refuses to read (written by a
/// newer git: `core.repositoryformatversion = 99`), so every git command rk
/// runs there fails with git's own `fatal:` message. False when this
/// machine has no git.
fn repo_git_refuses(env: &TestEnv) -> bool {
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("skipped: no git on this machine");
        return false;
    }
    orchestrated_project(env, "");
    env.write("cfg.yaml", "a: 1\n");
    git(env, &["init", "-q"]);
    git(env, &["config", "core.repositoryformatversion", "99"]);
    true
}

#[test]
fn a_failing_or_missing_git_is_a_warning_not_a_failure() {
    let env = TestEnv::new();
    if !repo_git_refuses(&env) {
        return;
    }
    let out = env
        .cmd(&["init", "r1", "--config", "cfg.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rk: warning:") && stderr.contains("Expected git repo version"),
        "{stderr}"
    );

    // No git at all: still a warning.
    let empty = env.root().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let out = env
        .cmd(&["init", "r2", "--config", "cfg.yaml"])
        .env("PATH", &empty)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rk: warning:"));
}

#[test]
fn resume_colours_its_warnings_like_every_other_command() {
    let env = TestEnv::new();
    if !repo_git_refuses(&env) {
        return;
    }
    let run = |args: &[&str]| {
        let out = env.cmd(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
        String::from_utf8(out.stderr).unwrap()
    };
    let coloured = "\x1b[33mrk: warning:\x1b[0m ";
    let init = run(&["--color", "always", "init", "r1", "--config", "cfg.yaml"]);
    assert!(init.contains(coloured), "{init:?}");
    let resume = run(&["--color", "always", "resume", "r1"]);
    assert!(
        resume.contains(&format!("{coloured}code version not recorded: ")),
        "{resume:?}"
    );
    assert!(!resume.contains("\nrk: warning:"), "{resume:?}");
    // Without colour, the same lines as ever.
    let plain = run(&["--color", "never", "resume", "r1", "--only-step", "prepare"]);
    assert!(
        plain.starts_with("rk: warning: code version not recorded: "),
        "{plain:?}"
    );
}
