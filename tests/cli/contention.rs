//! Contention: many `rk` processes at once on one run.
//!
//! * W writers × N compare-and-swap increments of a counter (an unknown
//!   top-level field) through `rk read-state --at <HEAD>` and
//!   `rk write-state --expect <HEAD>`, retrying on exit 4: the counter ends
//!   equal to the number of successful writes (no lost update), the file
//!   parses, fsck is clean — while readers run `rk list --json` and
//!   `rk status --json` in a loop, every one of which must exit 0 and parse.
//! * 10 simultaneous `rk resume` of one run: exactly one dispatch, the other
//!   nine exit 4.
//!
//! Fast mode (in `cargo test`): 4 writers × 25 increments, 1 resume race.
//! Full mode: `RK_CONTENTION_FULL=1 cargo test --test cli contention -- --nocapture`
//! (8 × 200, 5 resume races).

use crate::common::{started_run, TestEnv};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Instant;

fn full() -> bool {
    std::env::var_os("RK_CONTENTION_FULL").is_some()
}

fn head_of(run: &Path) -> String {
    std::fs::read_to_string(run.join(".rk/HEAD"))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn contention_cas_increments_lose_no_update_and_readers_never_fail() {
    let (writers, per_writer) = if full() { (8, 200) } else { (4, 25) };
    let started = Instant::now();
    let env = Arc::new(TestEnv::new());
    let run = started_run(&env, "r1", "model: m\nseed: 7\n");
    let first = env.run(&["read-state", "r1"]);
    let mut state: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    state["counter"] = 0.into();
    let out = env.run_stdin(
        &["write-state", "r1", "--expect", &head_of(&run)],
        state.to_string().as_bytes(),
    );
    assert!(out.status.success(), "{}", env.render_output(&out));

    let successes = Arc::new(AtomicUsize::new(0));
    let conflicts = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));

    let readers: Vec<_> = [vec!["list", "--json"], vec!["status", "r1", "--json"]]
        .into_iter()
        .map(|args| {
            let (env, done, failures, reads) =
                (env.clone(), done.clone(), failures.clone(), reads.clone());
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    let out = env.run(&args);
                    reads.fetch_add(1, Ordering::Relaxed);
                    let parses = serde_json::from_slice::<serde_json::Value>(&out.stdout).is_ok()
                        || String::from_utf8_lossy(&out.stdout)
                            .lines()
                            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok());
                    if !out.status.success() || !parses {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{args:?}: {}", env.render_output(&out)));
                    }
                }
            })
        })
        .collect();

    let workers: Vec<_> = (0..writers)
        .map(|w| {
            let (env, successes, conflicts, failures) = (
                env.clone(),
                successes.clone(),
                conflicts.clone(),
                failures.clone(),
            );
            let run = run.clone();
            std::thread::spawn(move || {
                let mut mine = 0;
                let mut attempts = 0;
                while mine < per_writer && attempts < per_writer * 200 {
                    attempts += 1;
                    let head = head_of(&run);
                    let read = env.run(&["read-state", "r1", "--at", &head]);
                    if !read.status.success() {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("read-state: {}", env.render_output(&read)));
                        continue;
                    }
                    let mut st: serde_json::Value = serde_json::from_slice(&read.stdout).unwrap();
                    let n = st["counter"].as_u64().unwrap();
                    st["counter"] = (n + 1).into();
                    st["last_writer"] = w.into();
                    let out = env.run_stdin(
                        &["write-state", "r1", "--expect", &head, "-m", "increment"],
                        st.to_string().as_bytes(),
                    );
                    match out.status.code() {
                        Some(0) => {
                            mine += 1;
                            successes.fetch_add(1, Ordering::Relaxed);
                        }
                        Some(4) => {
                            conflicts.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => failures
                            .lock()
                            .unwrap()
                            .push(format!("write-state: {}", env.render_output(&out))),
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    let successes = successes.load(Ordering::Relaxed);
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("run_state.json")).unwrap())
            .expect("run_state.json parses");
    let fsck = env.run(&["fsck", "r1"]);
    let log = env.run(&["log", "r1"]);
    let increments = String::from_utf8_lossy(&log.stdout)
        .lines()
        .filter(|l| l.ends_with("\tincrement"))
        .count();
    eprintln!(
        "contention: {writers} writers x {per_writer}: {successes} successful writes, {} conflicts (exit 4), \
         counter {}, {increments} increments in the log, {} list/status reads, {} failures, {:.1} s",
        conflicts.load(Ordering::Relaxed),
        state["counter"],
        reads.load(Ordering::Relaxed),
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(successes, writers * per_writer);
    assert_eq!(state["counter"], successes as u64, "lost update");
    assert_eq!(increments, successes);
    assert!(fsck.status.success(), "{}", env.render_output(&fsck));
}

/// The dispatch command: append to a log, then sleep a second.
fn racing_project(env: &TestEnv) -> std::path::PathBuf {
    let log = env.root().join("dispatched.log");
    env.write(
        "rk.yaml",
        format!(
            "dispatch:\n  command: [sh, -c, 'echo \"$$ $*\" >> {:?}; sleep 1', sh]\n",
            log.display().to_string()
        ),
    );
    log
}

#[test]
fn contention_ten_simultaneous_resumes_dispatch_once() {
    let rounds = if full() { 5 } else { 1 };
    let started = Instant::now();
    let env = Arc::new(TestEnv::new());
    let log = racing_project(&env);
    started_run(&env, "r1", "model: m\nseed: 7\n");
    let mut tallies = Vec::new();
    for round in 0..rounds {
        let _ = std::fs::remove_file(&log);
        let barrier = Arc::new(Barrier::new(10));
        let children: Vec<Child> = (0..10)
            .map(|_| {
                let env = env.clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    env.cmd(&["resume", "r1"])
                        .stdout(Stdio::null())
                        .stderr(Stdio::piped())
                        .spawn()
                        .unwrap()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        // Meanwhile, list and status keep working.
        for _ in 0..3 {
            for args in [&["list", "--json"][..], &["status", "r1", "--json"][..]] {
                let out = env.run(args);
                assert!(out.status.success(), "{}", env.render_output(&out));
                assert!(
                    serde_json::from_slice::<serde_json::Value>(&out.stdout).is_ok()
                        || String::from_utf8_lossy(&out.stdout)
                            .lines()
                            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
                );
            }
        }
        let outs: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let codes: Vec<Option<i32>> = outs.iter().map(|o| o.status.code()).collect();
        let ok = codes.iter().filter(|c| **c == Some(0)).count();
        let busy = codes.iter().filter(|c| **c == Some(4)).count();
        let dispatched = std::fs::read_to_string(&log).unwrap_or_default();
        let dispatches = dispatched.lines().count();
        tallies.push((ok, busy, dispatches));
        assert_eq!(
            (ok, busy, dispatches),
            (1, 9, 1),
            "round {round}: codes {codes:?}, dispatched:\n{dispatched}\nstderr: {:?}",
            outs.iter()
                .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
                .collect::<Vec<_>>()
        );
        for o in outs.iter().filter(|o| o.status.code() == Some(4)) {
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains("pid "), "busy without the holder: {err}");
        }
        let fsck = env.run(&["fsck", "r1"]);
        assert!(fsck.status.success(), "{}", env.render_output(&fsck));
    }
    eprintln!(
        "contention: {rounds} round(s) of 10 simultaneous resumes: (ok, busy, dispatches) = {tallies:?}, {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
