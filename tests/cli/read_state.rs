//! `rk read-state`: the state as rk writes it, unknown fields kept, and
//! corrupt states refused with the last good snapshot.

use crate::common::{tree, TestEnv};

/// A state file as the Python tool set writes it, with fields rk does not
/// know at the top level and inside a phase, a note and a session.
pub const PY_STATE: &str = r#"{"schema_version": 1, "run_id": "r1",
 "config_hash": "9f2c000000000000000000000000000000000000000000000000000000000000",
 "config_path": "effective_config.yaml",
 "phases": {
  "parse": {"status": "in_progress", "started_at": "2025-09-02T21:50:00.000000Z", "updated_at": null, "last_error": null, "py_attempt": 2},
  "prepare": {"status": "completed", "started_at": "2025-09-02T21:46:43.120001Z", "updated_at": "2025-09-02T21:47:10.500000Z", "last_error": null},
  "mystery": {"status": "paused_by_admin"}
 },
 "last_checkpoint": null, "stop_requested": false,
 "notes": [{"created_by": "py", "created_at": "2025-09-02T21:46:43.000000Z", "message": "hi", "ticket": "OPS-1"}],
 "sessions": [{"started_at": "2025-09-02T21:46:42.000000Z", "ended_at": null, "command": ["python", "-m", "scripts.run_all"], "pid": 77, "gpu": "A100"}],
 "orchestrator_private": {"retries": [1, 2, 3], "nested": {"deep": true}}
}
"#;

/// A project with run `r1` holding `state`.
pub fn run_with_state(state: &str) -> TestEnv {
    let env = TestEnv::new();
    env.write("experiments/run_r1/run_state.json", state);
    env
}

#[test]
fn prints_pretty_in_pipeline_order_keeping_unknown_fields() {
    let env = run_with_state(PY_STATE);
    insta::assert_snapshot!(env.render(&["read-state", "r1"]));
}

#[test]
fn round_trip_through_write_state_keeps_every_field() {
    let env = run_with_state(PY_STATE);
    let first = env.run(&["read-state", "r1"]);
    assert!(first.status.success());
    let written = env.run_stdin(&["write-state", "r1", "-m", "round trip"], &first.stdout);
    assert!(written.status.success(), "{}", env.render_output(&written));
    let again = env.run(&["read-state", "r1"]);
    assert_eq!(first.stdout, again.stdout);
    // The file is exactly what read-state printed, and holds the unknown fields.
    let file = env.read("experiments/run_r1/run_state.json");
    assert_eq!(file.as_bytes(), first.stdout.as_slice());
    for field in [
        "py_attempt",
        "paused_by_admin",
        "OPS-1",
        "A100",
        "orchestrator_private",
    ] {
        assert!(file.contains(field), "{field} lost:\n{file}");
    }
}

#[test]
fn at_reads_snapshots_back() {
    let env = run_with_state(PY_STATE);
    let a = env.run_stdin(
        &["write-state", "r1"],
        br#"{"schema_version": 1, "phases": {}, "v": "a"}"#,
    );
    assert!(a.status.success());
    let b = env.run_stdin(
        &["write-state", "r1"],
        br#"{"schema_version": 1, "phases": {}, "v": "b"}"#,
    );
    assert!(b.status.success());
    let head = String::from_utf8(b.stdout).unwrap();
    let out = env.run(&["read-state", "r1", "--at", "HEAD~1"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(r#""v": "a""#));
    let out = env.run(&["read-state", "r1", "--at", &head.trim()[..8]]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(r#""v": "b""#));
    // HEAD~2 is the observed original state; HEAD~3 does not exist.
    let out = env.run(&["read-state", "r1", "--at", "HEAD~2"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("orchestrator_private"));
    insta::assert_snapshot!(env.render(&["read-state", "r1", "--at", "HEAD~3"]));
}

#[test]
fn no_state_is_exit_2() {
    let env = TestEnv::new();
    env.write("experiments/run_r1/effective_config.yaml", "a: 1\n");
    insta::assert_snapshot!(env.render(&["read-state", "r1"]));
}

#[test]
fn truncated_state_is_exit_5_with_last_good_snapshot() {
    let env = run_with_state(PY_STATE);
    let w = env.run_stdin(&["write-state", "r1"], PY_STATE.as_bytes());
    assert!(w.status.success());
    let good = String::from_utf8(w.stdout).unwrap();
    env.write(
        "experiments/run_r1/run_state.json",
        &PY_STATE[..PY_STATE.len() / 2],
    );
    let before = tree(env.root());
    let out = env.render(&["read-state", "r1"]);
    assert!(out.contains(good.trim()), "{out}");
    assert!(
        out.contains("[ROOT]/experiments/run_r1/run_state.json"),
        "{out}"
    );
    insta::assert_snapshot!(out);
    assert_eq!(before, tree(env.root()), "reading changed files");
    // The recovery recipe of the hint works.
    let state = env.run(&["read-state", "r1", "--at", good.trim()]);
    let fixed = env.run_stdin(&["write-state", "r1"], &state.stdout);
    assert!(fixed.status.success(), "{}", env.render_output(&fixed));
    assert!(env.run(&["read-state", "r1"]).status.success());
    assert!(env.run(&["fsck", "r1"]).status.success());
}

#[test]
fn non_object_state_is_exit_5() {
    let env = run_with_state("[1, 2]\n");
    insta::assert_snapshot!(env.render(&["read-state", "r1"]));
    let env = run_with_state(r#"{"phases": {"parse": {"status": 7}}}"#);
    insta::assert_snapshot!(env.render(&["read-state", "r1"]));
}
