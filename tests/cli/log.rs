//! `rk log`: the HEAD moves, oldest first, text and NDJSON; a torn last
//! line is ignored and cut off by the next write.

use crate::read_state::{run_with_state, PY_STATE};

#[test]
fn lists_moves_oldest_first() {
    let env = run_with_state(PY_STATE);
    for msg in ["one", "two\tthree\nfour"] {
        let out = env.run_stdin(&["write-state", "r1", "-m", msg], PY_STATE.as_bytes());
        assert!(out.status.success());
    }
    let mut all = env.render(&["log", "r1"]);
    all.push_str(&env.render(&["log", "r1", "--json"]));
    insta::assert_snapshot!(all);
}

#[test]
fn empty_without_a_store() {
    let env = run_with_state(PY_STATE);
    insta::assert_snapshot!(env.render(&["log", "r1"]));
}

#[test]
fn a_torn_last_line_is_ignored_and_cut_off() {
    let env = run_with_state(PY_STATE);
    assert!(env
        .run_stdin(&["write-state", "r1"], PY_STATE.as_bytes())
        .status
        .success());
    let log = env.root().join("experiments/run_r1/.rk/log");
    let good = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, format!("{good}- 12ab")).unwrap();
    let out = env.run(&["log", "r1"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().lines().count(),
        good.lines().count()
    );
    assert!(env.run(&["fsck", "r1"]).status.success());
    assert!(env
        .run_stdin(&["write-state", "r1", "-m", "after"], b"{}")
        .status
        .success());
    let now = std::fs::read_to_string(&log).unwrap();
    assert!(now.starts_with(&good) && !now.contains("- 12ab"), "{now}");
    assert_eq!(now.lines().count(), good.lines().count() + 1);
}
