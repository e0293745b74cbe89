//! `rk demo`: the README's first command. It must build a sample project
//! and walk through it with nothing but the rk binary.

use crate::common::{phase_statuses, TestEnv};

#[test]
fn the_demo_makes_a_project_and_walks_through_it() {
    let env = TestEnv::new();
    let out = env
        .cmd(&["demo", "sample"])
        .env_remove("RK_NOW")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    for step in [
        "$ rk list",
        "$ rk status stopped",
        "$ rk resume stopped --dry-run",
        "$ rk resume drifted",
        "$ rk diff-config --keys drifted@recorded drifted",
        "$ rk migrate legacy --dry-run",
        "# Your turn:",
    ] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    assert!(
        stdout.contains("-    \"temperature\": 0.7\n+    \"temperature\": 0.9"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[exit status 3]"),
        "the drift refusal is shown"
    );
    assert!(stdout.contains("/model/temperature\n/seed\n"), "{stdout}");
    assert!(!stdout.contains("panicked") && !stderr.contains("panicked"));

    let runs = env.root().join("sample/experiments");
    let stopped = phase_statuses(&runs.join("run_stopped"));
    assert!(
        stopped.iter().any(|(_, s)| s == "stopped"),
        "left stopped for the tour: {stopped:?}"
    );
    assert!(
        !runs.join("run_legacy/run_state.json").exists(),
        "the dry run wrote nothing"
    );
    assert!(runs.join("run_done/STATUS.md").exists());

    // The sample project is a real project: the next steps work.
    let in_sample = |args: &[&str]| {
        env.cmd(&[&["-C", "sample"], args].concat())
            .env_remove("RK_NOW")
            .output()
            .unwrap()
    };
    assert_eq!(in_sample(&["resume", "stopped"]).status.code(), Some(0));
    assert_eq!(in_sample(&["migrate", "legacy"]).status.code(), Some(0));
    assert_eq!(
        in_sample(&["resume", "drifted", "--force"]).status.code(),
        Some(0)
    );
    assert_eq!(in_sample(&["archive", "done"]).status.code(), Some(0));
    assert_eq!(in_sample(&["verify", "done"]).status.code(), Some(0));
    assert_eq!(in_sample(&["fsck", "stopped"]).status.code(), Some(0));
}

#[test]
fn a_second_demo_replaces_its_own_directory_and_nothing_else() {
    let env = TestEnv::new();
    assert_eq!(env.run(&["demo", "sample"]).status.code(), Some(0));
    assert_eq!(env.run(&["demo", "sample"]).status.code(), Some(0));
    env.write("mine/notes.txt", "keep me\n");
    insta::assert_snapshot!(env.render(&["demo", "mine"]), @r#"
    [stderr]
    rk: error: mine already exists and was not made by rk demo
    rk: hint: name a new directory: rk demo DIR
    [exit status: 2]
    "#);
    assert_eq!(env.read("mine/notes.txt"), "keep me\n");
}

#[test]
fn the_simulated_orchestrator_refuses_a_state_that_is_not_an_object() {
    let env = TestEnv::new();
    env.write(
        "experiments/run_r1/effective_config.yaml",
        "trials:\n  t1: [ds-1]\n",
    );
    env.write("experiments/run_r1/run_state.json", "[]\n");
    let out = env.run(&[
        "demo-orchestrator",
        "--run-dir",
        "experiments/run_r1",
        "--run_id",
        "r1",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not a JSON object") && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert_eq!(env.read("experiments/run_r1/run_state.json"), "[]\n");
}
