//! `rk status` without a run, a run dir's own name as operand, a failed
//! phase's `last_error`, unknown phase statuses, and a missing project or
//! runs dir.

use crate::common::TestEnv;
use crate::status::{all, run_with, Holder};

fn three_runs(env: &TestEnv) {
    run_with(env, "a", &all("completed"), "");
    run_with(
        env,
        "b",
        &[("prepare", "completed"), ("build", "stopped")],
        "",
    );
    run_with(env, "c", &[("prepare", "completed")], "");
}

#[test]
fn without_a_run_status_shows_the_run_you_stand_in() {
    let env = TestEnv::new();
    three_runs(&env);
    std::fs::create_dir_all(env.root().join("experiments/run_b/t1/results")).unwrap();
    let here = env
        .cmd(&["status", "--json"])
        .current_dir(env.root().join("experiments/run_b/t1/results"))
        .output()
        .unwrap();
    assert_eq!(here.status.code(), Some(0), "{}", env.render_output(&here));
    let v: serde_json::Value = serde_json::from_slice(&here.stdout).unwrap();
    assert_eq!(v["run"], "b");
}

#[test]
fn without_a_run_status_shows_the_one_running_run() {
    let env = TestEnv::new();
    three_runs(&env);
    let _holder = Holder::take(&env, "c");
    let out = env.run(&["status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["run"].as_str(), v["status"].as_str()),
        (Some("c"), Some("running"))
    );
}

#[test]
fn without_a_run_and_none_implied_status_summarises() {
    let env = TestEnv::new();
    three_runs(&env);
    insta::assert_snapshot!(env.render(&["status"]), @r"
    3 runs: 1 completed, 1 stopped, 1 interrupted
    [stderr]
    rk: hint: name a run: rk status RUN (a, b, c), or run it inside a run's directory
    [exit status: 0]
    ");
    insta::assert_snapshot!(env.render(&["status", "--json"]), @r"
    [stderr]
    rk: error: rk status --json needs a run: none was named, none holds the current directory and none is running
    rk: hint: name a run: rk status RUN (a, b, c), or run it inside a run's directory
    [exit status: 2]
    ");
}

/// The summary's hint is coloured like every error's hint.
#[test]
fn the_summary_hint_is_coloured_like_an_errors() {
    let env = TestEnv::new();
    three_runs(&env);
    let hint = "\x1b[33mrk: hint:\x1b[0m name a run: rk status RUN (a, b, c)";
    let summary = env.run(&["--color", "always", "status"]);
    let stderr = String::from_utf8(summary.stderr).unwrap();
    assert!(stderr.starts_with(hint), "{stderr:?}");
    let refused = env.run(&["--color", "always", "status", "--json"]);
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert!(
        stderr.starts_with("\x1b[31mrk: error:\x1b[0m "),
        "{stderr:?}"
    );
    assert!(stderr.contains(&format!("\n{hint}")), "{stderr:?}");
}

#[test]
fn a_run_dirs_own_name_is_a_run() {
    let env = TestEnv::new();
    three_runs(&env);
    for operand in ["run_b", "b", "experiments/run_b"] {
        let out = env.run(&["status", operand, "--json"]);
        assert_eq!(out.status.code(), Some(0), "{operand}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["run"], "b", "{operand}");
    }
    assert_eq!(env.run(&["next", "run_b"]).status.code(), Some(0));
    assert_eq!(env.run(&["status", "run_zz"]).status.code(), Some(2));
}

#[test]
fn a_failed_phase_shows_its_last_error_and_unknown_statuses_are_warned() {
    let env = TestEnv::new();
    let text = crate::status::state_json(
        "r1",
        &[("prepare", "completed"), ("build", "done"), ("submit", "failed")],
        "",
    )
    .replace(
        "\"status\": \"failed\", \"started_at\": \"2025-09-02T21:02:10.500000Z\", \"updated_at\": \"2025-09-02T21:02:10.500000Z\", \"last_error\": null",
        "\"status\": \"failed\", \"started_at\": \"2025-09-02T21:02:10.500000Z\", \"updated_at\": \"2025-09-02T21:02:10.500000Z\", \"last_error\": \"sbatch: quota exceeded\"",
    );
    env.write("experiments/run_r1/run_state.json", text);
    env.write(
        "experiments/run_r1/effective_config.yaml",
        crate::status::CONFIG,
    );
    let out = env.run(&["status", "r1"]);
    let screen = env.render_output(&out);
    assert!(
        screen.contains("last error: sbatch: quota exceeded"),
        "{screen}"
    );
    assert!(
        screen.contains("rk: warning: phase build of run r1 has the unknown status \"done\""),
        "{screen}"
    );
    let out = env.run(&["status", "r1", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["phases"][2]["last_error"], "sbatch: quota exceeded");
    assert_eq!(v["phases"][1]["status"], "done");
    assert_eq!(v["phases"][0]["last_error"], serde_json::Value::Null);
    let fsck = env.render(&["fsck", "r1"]);
    assert!(
        fsck.contains("has the unknown status \"done\"") && fsck.contains("[exit status: 0]"),
        "{fsck}"
    );
}

#[test]
fn a_missing_project_or_runs_dir_is_exit_2_naming_it() {
    let env = TestEnv::new();
    let out = env
        .cmd(&["list"])
        .env("RK_PROJECT", env.root().join("no/such/dir"))
        .output()
        .unwrap();
    insta::assert_snapshot!(env.render_output(&out), @r"
    [stderr]
    rk: error: the project root [ROOT]/no/such/dir named by RK_PROJECT is not a directory
    rk: hint: set RK_PROJECT to an existing project directory, or unset it to find the project from the current directory
    [exit status: 2]
    ");
    env.write("rk.yaml", "runs_dir: runs\n");
    for args in [&["list"][..], &["status"], &["status", "r1"]] {
        assert_eq!(
            env.render(args),
            "[stderr]\n\
             rk: error: the runs dir [ROOT]/runs does not exist\n\
             rk: hint: `rk init RUN --config FILE` creates it with a first run; or set runs_dir in rk.yaml (man 5 rk.yaml)\n\
             [exit status: 2]\n",
            "{args:?}"
        );
    }
    // rk init creates it.
    env.write("c.yaml", "a: 1\n");
    assert_eq!(
        env.run(&["init", "r1", "--config", "c.yaml"]).status.code(),
        Some(0)
    );
    assert_eq!(env.run(&["list"]).status.code(), Some(0));
}
