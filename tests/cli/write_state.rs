//! `rk write-state`: validation, compare-and-swap, the shared flock with the
//! Python orchestrator, observed snapshots, and symlink refusal.

use crate::common::{tree, TestEnv};
use crate::read_state::{run_with_state, PY_STATE};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const A: &[u8] =
    br#"{"schema_version": 1, "phases": {"prepare": {"status": "completed"}}, "who": "a"}"#;
const B: &[u8] =
    br#"{"schema_version": 1, "phases": {"prepare": {"status": "failed"}}, "who": "b"}"#;

fn head(env: &TestEnv) -> String {
    env.read("experiments/run_r1/.rk/HEAD").trim().to_string()
}

#[test]
fn invalid_input_is_exit_2_and_writes_nothing() {
    let env = run_with_state(PY_STATE);
    let before = tree(env.root());
    let mut all = String::new();
    for input in [
        &b"{\"phases\": "[..],
        b"[1, 2]",
        b"",
        br#"{"phases": {"parse": {"status": 3}}}"#,
        br#"{"stop_requested": "yes"}"#,
        br#"{"schema_version": 2}"#,
    ] {
        let out = env.run_stdin(&["write-state", "r1"], input);
        all.push_str(&env.render_output(&out));
    }
    insta::assert_snapshot!(all);
    assert_eq!(before, tree(env.root()));
}

#[test]
fn prints_the_new_snapshot_and_records_the_observed_state_first() {
    let env = run_with_state(PY_STATE);
    insta::assert_snapshot!(
        env.render_output(&env.run_stdin(&["write-state", "r1", "-m", "first"], A))
    );
    // The orchestrator writes the file behind rk's back…
    env.write("experiments/run_r1/run_state.json", B);
    let out = env.run_stdin(&["write-state", "r1", "-m", "second"], A);
    assert!(out.status.success());
    // …and that version is in the history.
    insta::assert_snapshot!(env.render(&["log", "r1"]));
    let observed = env.run(&["read-state", "r1", "--at", "HEAD~1"]);
    assert!(String::from_utf8_lossy(&observed.stdout).contains(r#""who": "b""#));
}

#[test]
fn expect_is_a_compare_and_swap() {
    let env = run_with_state(PY_STATE);
    // `none` means no state and no snapshot: the Python tool's state counts.
    let none = env.run_stdin(&["write-state", "r1", "--expect", "none"], A);
    assert_eq!(none.status.code(), Some(4), "{}", env.render_output(&none));
    // The refusal recorded what it observed, so the script can expect it.
    let observed = env.run(&["read-state", "r1", "--with-id"]);
    let observed: serde_json::Value = serde_json::from_slice(&observed.stdout).unwrap();
    assert_eq!(observed["id"].as_str(), Some(head(&env).as_str()));
    let first = env.run_stdin(&["write-state", "r1", "--expect", &head(&env)], A);
    assert!(first.status.success(), "{}", env.render_output(&first));
    let base = head(&env);
    let again = env.run_stdin(&["write-state", "r1", "--expect", "none"], B);
    assert_eq!(again.status.code(), Some(4));

    // Two writers race with the same --expect: exactly one wins.
    let spawn = |input: &'static [u8]| {
        let mut child = env
            .cmd(&["write-state", "r1", "--expect", &base])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input).unwrap();
        child
    };
    let (ca, cb) = (spawn(A), spawn(B));
    let (oa, ob) = (
        ca.wait_with_output().unwrap(),
        cb.wait_with_output().unwrap(),
    );
    let codes = [oa.status.code(), ob.status.code()];
    assert!(
        codes == [Some(0), Some(4)] || codes == [Some(4), Some(0)],
        "{codes:?}\n{}\n{}",
        env.render_output(&oa),
        env.render_output(&ob)
    );
    let (winner, loser, input) = if oa.status.success() {
        (oa, ob, A)
    } else {
        (ob, oa, B)
    };
    assert_eq!(String::from_utf8_lossy(&winner.stdout).trim(), head(&env));
    assert!(String::from_utf8_lossy(&loser.stderr).contains("does not match"));
    let file = env.read("experiments/run_r1/run_state.json");
    let want = if input == A { "\"a\"" } else { "\"b\"" };
    assert!(file.contains(want), "{file}");

    // A loser leaves every file as it was.
    let before = tree(env.root());
    let stale = env.run_stdin(&["write-state", "r1", "--expect", &base[..10]], A);
    assert_eq!(stale.status.code(), Some(4));
    assert_eq!(before, tree(env.root()));
    let by_head = env.run_stdin(&["write-state", "r1", "--expect", "HEAD"], A);
    assert_eq!(by_head.status.code(), Some(2));
}

fn python() -> Option<&'static str> {
    let ok = Command::new("python3")
        .arg("-c")
        .arg("import fcntl")
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        Some("python3")
    } else {
        eprintln!("skipped: python3 with fcntl is not available");
        None
    }
}

#[test]
fn waits_for_pythons_flock_then_gives_up_with_exit_4() {
    let Some(py) = python() else { return };
    let env = run_with_state(PY_STATE);
    let lock = env.root().join("experiments/run_r1/.state.lock");
    let mut holder = Command::new(py)
        .arg("-c")
        .arg(
            "import fcntl, sys, time\n\
             f = open(sys.argv[1], 'a')\n\
             fcntl.flock(f, fcntl.LOCK_EX)\n\
             print('locked', flush=True)\n\
             time.sleep(30)\n",
        )
        .arg(&lock)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    let before = tree(env.root());
    let start = Instant::now();
    let out = crate::common::output_with_stdin(
        env.cmd(&["write-state", "r1"])
            .env("RK_LOCK_TIMEOUT_MS", "400"),
        A,
    );
    let waited = start.elapsed();
    let _ = holder.kill();
    let _ = holder.wait();
    let text = env.render_output(&out);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(waited >= Duration::from_millis(400), "{waited:?}");
    assert!(text.contains("is locked by another writer"), "{text}");
    assert!(text.contains(&format!("pid {}", holder.id())), "{text}");
    assert_eq!(before, tree(env.root()));
    // With the holder gone, the write goes through.
    assert!(env.run_stdin(&["write-state", "r1"], A).status.success());
}

#[test]
fn rk_holding_the_state_lock_keeps_pythons_nonblocking_flock_out() {
    let Some(py) = python() else { return };
    let env = run_with_state(PY_STATE);
    let path = env.root().join("experiments/run_r1/.state.lock");
    let try_lock = || {
        Command::new(py)
            .arg("-c")
            .arg(
                "import fcntl, sys\n\
                 f = open(sys.argv[1], 'a')\n\
                 try:\n    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    sys.exit(11)\n",
            )
            .arg(&path)
            .status()
            .unwrap()
            .code()
    };
    let held = rk::store::StateLock::acquire(&path).unwrap();
    assert_eq!(try_lock(), Some(11), "python got the lock rk holds");
    drop(held);
    assert_eq!(try_lock(), Some(0));
}

#[test]
fn never_writes_through_a_symlink() {
    let env = TestEnv::new();
    let outside = env.write("outside.json", PY_STATE);
    std::fs::create_dir_all(env.root().join("experiments/run_r1/.rk")).unwrap();
    std::os::unix::fs::symlink(
        &outside,
        env.root().join("experiments/run_r1/run_state.json"),
    )
    .unwrap();
    let out = env.run_stdin(&["write-state", "r1"], A);
    assert_ne!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert_eq!(env.read("outside.json"), PY_STATE);
}

/// A disk that fills between run_state.json and the store's log (the log
/// cannot grow: RLIMIT_FSIZE below its size, writes past it fail with EFBIG)
/// leaves the new state in place, so rk says so, and to look before running
/// the command again (exit 4, the disk is full); the next write records it as
/// `observed`, and nothing is lost or done twice.
#[test]
fn a_full_disk_after_the_state_file_was_replaced_says_the_change_is_in_place() {
    let env = TestEnv::new();
    env.write("experiments/run_r1/effective_config.yaml", "m: 1\n");
    let state = |n: u32| format!("{{\"schema_version\": 1, \"run_id\": \"r1\", \"n\": {n}}}");
    for n in 0..4 {
        let out = env.run_stdin(&["write-state", "r1"], state(n).as_bytes());
        assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    }
    let run = env.root().join("experiments/run_r1");
    assert!(std::fs::metadata(run.join(".rk/log")).unwrap().len() > 512);
    let out = crate::common::output_with_stdin(
        Command::new("sh")
            .args(["-c", "trap '' XFSZ; ulimit -f 1; exec \"$0\" \"$@\""])
            .arg(env!("CARGO_BIN_EXE_rk"))
            .args(["write-state", "r1"])
            .current_dir(env.root())
            .env("RK_NOW", crate::common::NOW)
            .env("NO_COLOR", "1")
            .env_remove("RK_PROJECT"),
        state(99).as_bytes(),
    );
    let shown = env.render_output(&out);
    assert_eq!(out.status.code(), Some(4), "{shown}");
    assert!(shown.contains("File too large"), "{shown}");
    assert!(shown.contains("run_state.json was written"), "{shown}");
    assert!(shown.contains("the change is in place"), "{shown}");
    assert!(
        shown.contains("before running the command again"),
        "{shown}"
    );
    assert!(!shown.contains("then run the command again"), "{shown}");
    assert_eq!(crate::common::state_of(&run)["n"], 99);

    let out = env.run_stdin(&["write-state", "r1"], state(100).as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    let log = String::from_utf8(env.run(&["log", "r1", "--json"]).stdout).unwrap();
    let ops: Vec<String> = log
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["op"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ops[ops.len() - 2..], ["observed", "write-state"], "{log}");
    let observed = env.run(&["read-state", "r1", "--at", "HEAD~1"]);
    let observed: serde_json::Value = serde_json::from_slice(&observed.stdout).unwrap();
    assert_eq!(observed["n"], 99);
}
