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

/// `rk log` and `rk log --sessions` read the log the same way, whatever its
/// tail holds: a torn line is skipped by both, a malformed complete line
/// fails both (exit 5, naming the line, with the intact HEAD as the last
/// good snapshot), and a well-formed line naming a snapshot that does not
/// exist is printed by one and skipped with a warning by the other.
#[test]
fn log_and_log_sessions_agree_on_a_garbage_tail() {
    let missing = "0".repeat(64);
    for (tail, code) in [
        ("garbage without a newline".to_string(), 0),
        ("\u{fffd}\u{1}garbage\n".to_string(), 5),
        (format!("- {missing} 1796056688788 write-state\tx\n"), 0),
    ] {
        let env = run_with_state(PY_STATE);
        assert!(env
            .run_stdin(&["write-state", "r1"], PY_STATE.as_bytes())
            .status
            .success());
        let log = env.root().join("experiments/run_r1/.rk/log");
        let good = std::fs::read_to_string(&log).unwrap();
        std::fs::write(&log, format!("{good}{tail}")).unwrap();
        let plain = env.run(&["log", "r1"]);
        let sessions = env.run(&["log", "r1", "--sessions"]);
        for out in [&plain, &sessions] {
            assert_eq!(
                out.status.code(),
                Some(code),
                "{tail:?}: {}",
                env.render_output(out)
            );
        }
        let line = good.lines().count() + 1;
        if code == 5 {
            for out in [&plain, &sessions] {
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(
                    err.contains(&format!("log, line {line}")) && err.contains("--prune"),
                    "{tail:?}: {err}"
                );
            }
            // The hint repairs it: the good lines stay, the damaged log is kept.
            let pruned = env.run(&["fsck", "r1", "--prune"]);
            assert!(pruned.status.success(), "{}", env.render_output(&pruned));
            assert_eq!(std::fs::read_to_string(&log).unwrap(), good);
            assert!(env.run(&["log", "r1", "--sessions"]).status.success());
        }
        if tail.contains(&missing) {
            assert!(String::from_utf8_lossy(&plain.stdout).contains(&missing));
            assert!(String::from_utf8_lossy(&sessions.stderr).contains(&format!(
                "rk: warning: log line {line}: its snapshot cannot be read"
            )));
        }
    }
}
