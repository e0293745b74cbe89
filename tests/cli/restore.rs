//! `rk restore` brings back the recorded state of a run whose state file is
//! missing or corrupt.

use crate::common::{orchestrated_project, started_run, TestEnv};

#[test]
fn a_deleted_state_comes_back_exactly_as_head() {
    let env = TestEnv::new();
    orchestrated_project(&env, "");
    let run = started_run(&env, "r1", "trials:\n  t1: [ds-1]\n");
    assert_eq!(
        env.run(&["resume", "r1", "--to-step", "poll"])
            .status
            .code(),
        Some(0)
    );
    let head_state = env.run(&["read-state", "r1", "--at", "HEAD"]).stdout;
    let before = std::fs::read(run.join("run_state.json")).unwrap();
    std::fs::remove_file(run.join("run_state.json")).unwrap();
    let out = env.run(&["restore", "r1"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(run.join("run_state.json")).unwrap(), before);
    assert_eq!(env.run(&["read-state", "r1"]).stdout, head_state);
    assert_eq!(env.run(&["fsck", "r1"]).status.code(), Some(0));
}

#[test]
fn a_corrupt_state_is_kept_aside_and_the_exit_5_message_suggests_restore() {
    let env = TestEnv::new();
    orchestrated_project(&env, "");
    let run = started_run(&env, "r1", "a: 1\n");
    let good = std::fs::read(run.join("run_state.json")).unwrap();
    env.write(
        "experiments/run_r1/run_state.json",
        "{\"schema_version\": 1, \"pha",
    );
    let out = env.run(&["read-state", "r1"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rk restore r1 --at "));
    assert_eq!(env.run(&["restore", "r1"]).status.code(), Some(0));
    assert_eq!(std::fs::read(run.join("run_state.json")).unwrap(), good);
    let kept: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("run_state.json.corrupt."))
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        std::fs::read_to_string(run.join(&kept[0])).unwrap(),
        "{\"schema_version\": 1, \"pha"
    );
}

#[test]
fn restore_with_no_snapshots_is_exit_5() {
    let env = TestEnv::new();
    env.write("experiments/run_r1/effective_config.yaml", "a: 1\n");
    insta::assert_snapshot!(env.render(&["restore", "r1"]), @r#"
    [stderr]
    rk: error: run r1 has no snapshot to restore from
    rk: hint: rebuild a state from the files on disk instead: rk migrate r1 (move a damaged run_state.json aside first)
    [exit status: 5]
    "#);
}
