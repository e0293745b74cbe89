//! STATUS.md is rendered after every state change rk makes, and `rk next`
//! gives the same advice as `rk status`.

use crate::common::{orchestrated_project, started_run, TestEnv};

#[test]
fn status_md_follows_every_change() {
    let env = TestEnv::new();
    orchestrated_project(&env, "");
    env.write("cfg.yaml", "trials:\n  t1: [ds-1]\n");
    assert_eq!(
        env.run(&["init", "r1", "--config", "cfg.yaml"])
            .status
            .code(),
        Some(0)
    );
    let md = env.read("experiments/run_r1/STATUS.md");
    assert!(md.starts_with("# Run r1 — not_started\n"), "{md}");
    assert!(md.contains("```sh\nrk resume r1\n```"), "{md}");

    assert_eq!(
        env.run(&["resume", "r1", "--to-step", "poll"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        env.run(&[
            "gate",
            "add",
            "r1",
            "parse",
            "--reason",
            "look at the raw outputs"
        ])
        .status
        .code(),
        Some(0)
    );
    let md = env
        .read("experiments/run_r1/STATUS.md")
        .replace(env.root().to_str().unwrap(), "[ROOT]")
        .replace(&rk::store::lock::hostname(), "[HOST]");
    insta::assert_snapshot!(md, @r#"
    # Run r1 — interrupted

    Written by rk after every change it makes to this run; `rk status r1` shows the same, live.

    ```text
    run r1: interrupted
      dir       [ROOT]/experiments/run_r1
      review owed before parse: look at the raw outputs (state)
      trials    1 trial
    phases
      prepare  completed    ████████████ 1/1
      build    completed    ████████████ 1/1
      submit   completed    ████████████ 1/1
      poll     completed    ████████████ 1/1
      parse    not_started  ░░░░░░░░░░░░ 0/1
      score    not_started  ░░░░░░░░░░░░ 0/1
      stats    not_started  ░░░░░░░░░░░░ 0/1
      costs    not_started  ░░░░░░░░░░░░ 0/1
      report   not_started  ░░░░░░░░░░░░ 0/1
    config    unchanged (pyyaml-sorted 18c37205d827)
    held by   nobody (interrupted: work began and no process holds the run)
    activity  2025-09-03T10:00:00.000000Z
    session   exit 0; 2025-09-03T10:00:00.000000Z -> 2025-09-03T10:00:00.000000Z; steps prepare, build, submit, poll; on [HOST]
    next      rk gate clear r1 parse --note "what was reviewed"
    ```

    ## Next

    ```sh
    rk gate clear r1 parse --note "what was reviewed"
    ```
    "#);
    insta::assert_snapshot!(env.render(&["next", "r1"]), @r#"
    rk gate clear r1 parse --note "what was reviewed"
    [exit status: 0]
    "#);
    // `rk status` says the same as STATUS.md.
    let screen = String::from_utf8(env.run(&["status", "r1"]).stdout).unwrap();
    assert!(md_contains_screen(
        &env.read("experiments/run_r1/STATUS.md"),
        &screen
    ));
}

fn md_contains_screen(md: &str, screen: &str) -> bool {
    md.contains(screen)
}

#[test]
fn status_md_false_turns_it_off_and_restore_renders_it_again() {
    let env = TestEnv::new();
    orchestrated_project(&env, "status_md: false\n");
    let run = started_run(&env, "r1", "a: 1\n");
    assert_eq!(env.run(&["note", "r1", "x"]).status.code(), Some(0));
    assert!(!run.join("STATUS.md").exists());

    let env = TestEnv::new();
    orchestrated_project(&env, "");
    let run = started_run(&env, "r1", "a: 1\n");
    std::fs::remove_file(run.join("run_state.json")).unwrap();
    assert_eq!(env.run(&["restore", "r1"]).status.code(), Some(0));
    assert!(env
        .read("experiments/run_r1/STATUS.md")
        .starts_with("# Run r1 — not_started"));
}

#[test]
fn next_prints_nothing_when_there_is_nothing_to_type() {
    let env = TestEnv::new();
    orchestrated_project(&env, "");
    started_run(&env, "r1", "trials:\n  t1: [ds-1]\n");
    assert_eq!(env.run(&["resume", "r1"]).status.code(), Some(0));
    insta::assert_snapshot!(env.render(&["next", "r1"]), @r#"
    rk archive r1
    [exit status: 0]
    "#);
    insta::assert_snapshot!(env.render(&["next", "nope"]), @r#"
    [stderr]
    rk: error: no run "nope" in [ROOT]/experiments; closest: r1
    rk: hint: `rk list` shows every run of the project
    [exit status: 2]
    "#);
}
