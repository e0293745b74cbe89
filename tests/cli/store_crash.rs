//! Crash safety: `rk write-state` killed with SIGKILL at random instants
//! leaves run_state.json old or new, HEAD readable and fsck clean.

use crate::read_state::run_with_state;
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn state(i: usize) -> String {
    let mut s = format!(
        "{{\"schema_version\": 1, \"run_id\": \"r1\", \"phases\": {{\"prepare\": {{\"status\": \"completed\"}}}}, \"iteration\": {i}, \"pad\": \""
    );
    // Big enough that writing it is not instantaneous.
    s.push_str(&"x".repeat(64 * 1024 + i));
    s.push_str("\"}");
    s
}

/// The bytes rk writes for `text` (its field order is already rk's).
fn normalized(text: &str) -> Vec<u8> {
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    let mut s = serde_json::to_string_pretty(&v).unwrap();
    s.push('\n');
    s.into_bytes()
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn sigkill_at_random_instants_leaves_old_or_new() {
    let env = run_with_state(&state(0));
    let path = env.root().join("experiments/run_r1/run_state.json");
    // How long an uninterrupted write takes, to aim the kills inside it.
    let start = Instant::now();
    assert!(env
        .run_stdin(&["write-state", "r1"], state(1).as_bytes())
        .status
        .success());
    let span = start.elapsed().as_micros().max(1000) as u64;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("seed {seed}, span {span} µs");
    let mut rng = Rng(seed);
    let mut old = std::fs::read(&path).unwrap();
    let mut completed = 0;
    for i in 2..52 {
        let new = state(i);
        let mut child = env
            .cmd(&["write-state", "r1", "-m", &format!("iteration {i}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(new.as_bytes());
        std::thread::sleep(Duration::from_micros(rng.next() % (span * 12 / 10)));
        // SAFETY: plain kill(2) of our own child.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGKILL);
        }
        let status = child.wait().unwrap();
        if status.success() {
            completed += 1;
        }
        let now = std::fs::read(&path).unwrap();
        let new_bytes = normalized(&new);
        assert!(
            now == old || now == new_bytes,
            "iteration {i} (seed {seed}): run_state.json is neither old nor new"
        );
        let fsck = env.run(&["fsck", "r1"]);
        assert!(
            fsck.status.success(),
            "iteration {i} (seed {seed}): {}",
            env.render_output(&fsck)
        );
        let head = env.run(&["read-state", "r1", "--at", "HEAD"]);
        assert!(head.status.success(), "{}", env.render_output(&head));
        old = now;
    }
    eprintln!("{completed} of 50 writes finished before the kill");
    // After all that, a normal write records the survivor and goes through.
    assert!(env
        .run_stdin(&["write-state", "r1"], state(99).as_bytes())
        .status
        .success());
    assert!(env.run(&["fsck", "r1"]).status.success());
}
