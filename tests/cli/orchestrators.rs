//! The two example orchestrators of docs/ORCHESTRATORS.md, taken from the
//! document itself and driven by the real rk: the Python one through
//! rk.yaml's `dispatch.command`, the shell one through `rk resume RUN --
//! CMD`. Both keep the contract: they run from the project root, write
//! run_state.json under `.state.lock` keeping rk's fields, mark a failed
//! phase with its `last_error`, stop on a fresh STOP_REQUESTED, ignore a
//! stale one, and exit 0 or 1.

use crate::common::{phase_statuses, state_of, TestEnv};
use std::path::Path;
use std::process::Command;

const DOC: &str = include_str!("../../docs/ORCHESTRATORS.md");

/// The fenced block whose info string is `lang` and whose first line is `shebang`.
fn example(lang: &str, shebang: &str) -> String {
    let open = format!("```{lang}\n{shebang}\n");
    let start = DOC
        .find(&open)
        .unwrap_or_else(|| panic!("no ```{lang} block starting {shebang} in ORCHESTRATORS.md"));
    let body = &DOC[start + lang.len() + 4..];
    body[..body.find("\n```\n").expect("the block ends")].to_string() + "\n"
}

/// Whether every program in `needs` runs; without them the test fails under
/// CI and says SKIPPED (past the harness's capture) elsewhere.
fn available(test: &str, needs: &[(&str, &str)]) -> bool {
    for (program, arg) in needs {
        let ok = Command::new(program)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{program} is needed by {test} and must be installed under CI");
            }
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: {program} is not installed"
            );
            return false;
        }
    }
    true
}

fn project(env: &TestEnv, dispatch: &str) {
    env.write(
        "rk.yaml",
        format!("phases: [prepare, train, report]\n{dispatch}"),
    );
    env.write("conf.yaml", "lr: 0.1\n");
    env.write("failing.yaml", "lr: 0.1\nfail_at: train\n");
    std::fs::create_dir_all(env.root().join("experiments")).unwrap();
}

/// `rk args`, run from `experiments/` (the orchestrator must still run from
/// the project root) with the real clock, so stop tokens are judged by it.
fn rk(env: &TestEnv, args: &[&str]) -> std::process::Output {
    env.cmd(args)
        .current_dir(env.root().join("experiments"))
        .env_remove("RK_NOW")
        .output()
        .unwrap()
}

fn work_log(run: &Path) -> String {
    std::fs::read_to_string(run.join("work.log")).unwrap_or_default()
}

fn statuses(run: &Path) -> Vec<String> {
    phase_statuses(run).into_iter().map(|(_, s)| s).collect()
}

fn stamp(offset_secs: i64) -> String {
    let out = Command::new("date")
        .args([
            "-u",
            "-d",
            &format!("{offset_secs} seconds"),
            "+%Y-%m-%dT%H:%M:%S.000000Z",
        ])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// Drive one orchestrator: `resume` is the rk command line before the run
/// id's own arguments; `direct` runs the orchestrator without rk.
fn exercise(env: &TestEnv, resume: &dyn Fn(&str, &[&str]) -> Vec<String>, direct: &[&str]) {
    for (rid, config) in [
        ("r1", "conf.yaml"),
        ("r2", "failing.yaml"),
        ("r3", "conf.yaml"),
    ] {
        let out = rk(env, &["init", rid, "--config", &format!("../{config}")]);
        assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    }
    let run = |rid: &str| env.root().join(format!("experiments/run_{rid}"));
    let args = |a: &[String]| -> Vec<String> { a.to_vec() };
    let call = |rid: &str, extra: &[&str]| {
        let argv = args(&resume(rid, extra));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        rk(env, &argv)
    };

    // Up to train: exactly the phases asked for, rk's session kept.
    let out = call("r1", &["--to-step", "train"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert_eq!(
        statuses(&run("r1")),
        ["completed", "completed", "not_started"]
    );
    assert_eq!(work_log(&run("r1")), "prepare\ntrain\n");
    let state = state_of(&run("r1"));
    assert_eq!(state["sessions"][0]["exit_code"], 0, "{state:#}");
    assert!(state["config_hash"].is_string(), "rk's fields are kept");

    // A fresh STOP_REQUESTED stops it before the next phase, exit 0.
    std::fs::write(run("r1").join("STOP_REQUESTED"), stamp(0)).unwrap();
    let mut argv: Vec<String> = direct.iter().map(|s| s.to_string()).collect();
    argv.extend(
        ["--run-dir", run("r1").to_str().unwrap(), "--config"]
            .iter()
            .map(|s| s.to_string()),
    );
    argv.push(
        run("r1")
            .join("effective_config.yaml")
            .display()
            .to_string(),
    );
    argv.extend(["--run_id".to_string(), "r1".to_string()]);
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(env.root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert_eq!(statuses(&run("r1")), ["completed", "completed", "stopped"]);
    assert_eq!(state_of(&run("r1"))["stop_requested"], true);
    // rk resume clears the leftover token and the run completes.
    let out = call("r1", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert_eq!(
        statuses(&run("r1")),
        ["completed", "completed", "completed"]
    );
    assert_eq!(work_log(&run("r1")), "prepare\ntrain\nreport\n");
    assert!(!run("r1").join("STOP_REQUESTED").exists());
    let status = rk(env, &["status", "r1", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["status"], "completed");
    assert_eq!(rk(env, &["fsck", "r1"]).status.code(), Some(0));

    // A failing phase: marked failed with its reason, and rk exits 1.
    let out = call("r2", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", env.render_output(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("exited with 1"), "{stderr}");
    assert_eq!(statuses(&run("r2")), ["completed", "failed", "not_started"]);
    let state = state_of(&run("r2"));
    assert_eq!(
        state["phases"]["train"]["last_error"],
        "train: fail_at is set in the config"
    );

    // A stale token (two hours old) is a leftover: ignored.
    std::fs::write(run("r3").join("STOP_REQUESTED"), stamp(-7200)).unwrap();
    let mut argv3 = argv.clone();
    for a in argv3.iter_mut() {
        *a = a.replace("run_r1", "run_r3");
    }
    *argv3.last_mut().unwrap() = "r3".into();
    let out = Command::new(&argv3[0])
        .args(&argv3[1..])
        .current_dir(env.root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert_eq!(
        statuses(&run("r3")),
        ["completed", "completed", "completed"]
    );
}

#[test]
fn the_python_example_keeps_the_contract_through_dispatch_command() {
    if !available(
        "the_python_example_keeps_the_contract_through_dispatch_command",
        &[("python3", "--version")],
    ) {
        return;
    }
    let env = TestEnv::new();
    project(
        &env,
        "dispatch:\n  command: [python3, orchestrator.py, --run-dir, \"{run_dir}\", --config, \"{config}\", --run_id, \"{run_id}\"]\n",
    );
    env.write(
        "orchestrator.py",
        example("python", "#!/usr/bin/env python3"),
    );
    let resume = |rid: &str, extra: &[&str]| -> Vec<String> {
        ["resume", rid]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect()
    };
    exercise(&env, &resume, &["python3", "orchestrator.py"]);
}

#[test]
fn the_shell_example_keeps_the_contract_through_resume_with_a_command() {
    let test = "the_shell_example_keeps_the_contract_through_resume_with_a_command";
    if !available(test, &[("jq", "--version"), ("flock", "--version")]) {
        return;
    }
    let env = TestEnv::new();
    project(&env, "");
    env.write("orchestrator.sh", example("sh", "#!/bin/sh"));
    let resume = |rid: &str, extra: &[&str]| -> Vec<String> {
        let mut argv: Vec<String> = ["resume", rid]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect();
        argv.extend(
            [
                "--",
                "sh",
                "orchestrator.sh",
                "--run-dir",
                "{run_dir}",
                "--config",
                "{config}",
                "--run_id",
                "{run_id}",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        argv
    };
    exercise(&env, &resume, &["sh", "orchestrator.sh"]);
}
