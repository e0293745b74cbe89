//! The crash loop: `write-state`, `migrate`, `archive` and `resume` killed
//! with SIGKILL at random instants. After every kill, `run_state.json` is
//! missing only if it was missing before, else it is the prior file or the
//! state of a snapshot object (never torn); HEAD and what it reaches read
//! back; `rk fsck` exits 0 (`.tmp-` leftovers are notes); and the same
//! command, run again, completes.
//!
//! Every kill is classified by what it left: the command had already
//! finished; it had written nothing yet (the run's files, names and sizes,
//! are as before); or it landed mid-write (it had written something and not
//! finished). Kill instants are drawn between the command's start-up (a
//! read-only command's duration) and its uninterrupted duration, narrowed by
//! what each kill found, and each scenario kills until the wanted number
//! landed mid-write (at most ten times as many kills), then asserts they did.
//!
//! In `cargo test`: 12 mid-write kills per scenario, 48 in all. Long mode:
//! `RK_CRASH_KILLS=1000 cargo test --test cli crash -- --nocapture` (1,000
//! mid-write kills; `RK_CRASH_SEED` replays a run). Supersedes the old
//! `store_crash.rs`.

use crate::common::{started_run, TestEnv};
use crate::status::{all, run_with};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

pub fn seed() -> u64 {
    std::env::var("RK_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
        | 1
}

/// Mid-write kills wanted from one scenario: a quarter of `RK_CRASH_KILLS`
/// (default 48).
fn kills_per_scenario() -> usize {
    let total = std::env::var("RK_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(48);
    total.div_ceil(4).max(1)
}

/// Whether a scenario should kill again: not enough kills landed mid-write
/// yet, and fewer than ten times the wanted number were tried.
fn more_kills(tally: &Tally) -> bool {
    let want = kills_per_scenario();
    tally.mid_write < want && tally.kills < want * 10
}

/// The names and sizes of every file under `dir`: what a kill before the
/// first write leaves unchanged.
fn fingerprint(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(e.path());
            }
            out.push((e.path(), if meta.is_dir() { 0 } else { meta.len() }));
        }
    }
    out.sort();
    out
}

/// Where kills are drawn, in µs after the spawn: first between start-up
/// and the end of an uninterrupted run; then narrowed by what each kill
/// found (a kill after the end lowers the top, one before the first write
/// raises the bottom), so a loaded machine still gets its kills mid-write.
struct Window {
    from: u64,
    to: u64,
    initial: (u64, u64),
}

impl Window {
    fn new(startup: u64, span: u64) -> Window {
        let initial = (startup * 3 / 4, span.max(startup + 1));
        Window {
            from: initial.0,
            to: initial.1,
            initial,
        }
    }

    fn draw(&mut self, rng: &mut Rng) -> Duration {
        if self.to <= self.from + 1 {
            (self.from, self.to) = self.initial;
        }
        Duration::from_micros(self.from + rng.below(self.to - self.from))
    }

    fn learn(&mut self, delay: Duration, finished: bool, wrote: bool) {
        let at = delay.as_micros() as u64;
        if finished {
            self.to = self.to.min(at.max(self.from + 1));
        } else if !wrote {
            self.from = self.from.max(at.min(self.to.saturating_sub(1)));
        }
    }
}

/// Kills per run in the write-state and resume scenarios.
const ROTATE: usize = 20;

#[derive(Default)]
struct Tally {
    kills: usize,
    finished_first: usize,
    before_write: usize,
    mid_write: usize,
    torn: usize,
    leftovers: usize,
    failures: Vec<String>,
}

impl Tally {
    /// Count one kill at `delay`: `finished` (the command had ended), else
    /// whether the run's files changed since `before`; `window` learns.
    fn classify(
        &mut self,
        window: &mut Window,
        delay: Duration,
        finished: bool,
        before: &[(PathBuf, u64)],
        run: &Path,
    ) {
        self.kills += 1;
        let wrote = !finished && fingerprint(run) != before;
        if finished {
            self.finished_first += 1;
        } else if !wrote {
            self.before_write += 1;
        } else {
            self.mid_write += 1;
        }
        window.learn(delay, finished, wrote);
    }

    fn report(&self, what: &str, seed: u64, started: Instant) {
        eprintln!(
            "crash {what}: seed {seed}: {} kills: {} mid-write, {} before the first write, \
             {} after the command finished; {} torn files, \
             {} leftover .tmp- files, {} failures, {:.1} s",
            self.kills,
            self.mid_write,
            self.before_write,
            self.finished_first,
            self.torn,
            self.leftovers,
            self.failures.len(),
            started.elapsed().as_secs_f64()
        );
        assert_eq!(
            self.torn, 0,
            "torn files (seed {seed}): {:#?}",
            self.failures
        );
        assert!(
            self.failures.is_empty(),
            "{what} (seed {seed}): {:#?}",
            self.failures
        );
        assert!(
            self.mid_write >= kills_per_scenario(),
            "{what} (seed {seed}): only {} of {} kills landed mid-write ({} before the first write, {} after the end)",
            self.mid_write,
            self.kills,
            self.before_write,
            self.finished_first
        );
    }
}

/// Spawn `cmd`, feed it `stdin`, kill it after `delay`; true when it had
/// already finished with status 0.
fn kill_after(mut cmd: Command, stdin: Option<&[u8]>, delay: Duration) -> bool {
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("rk starts");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        // A writer thread, so a full pipe never delays the kill.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    std::thread::sleep(delay);
    // SAFETY: kill(2) of our own child, which has not been reaped yet.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    child.wait().unwrap().success()
}

/// How long `cmd` takes uninterrupted, in µs (at least 1 ms).
fn span_of(out: impl FnOnce() -> bool) -> u64 {
    let start = Instant::now();
    assert!(out(), "the uninterrupted command fails");
    start.elapsed().as_micros().max(1000) as u64
}

/// The `state` of every snapshot object in the run's store, orphans included
/// (a kill between the state rename and the log append leaves the new state
/// in the file and its snapshot not yet in the log: it was committed to disk,
/// and the next command records it).
fn snapshot_states(run: &Path) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let Ok(fans) = std::fs::read_dir(run.join(".rk/objects")) else {
        return out;
    };
    for fan in fans.flatten() {
        for obj in std::fs::read_dir(fan.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if obj.file_name().to_string_lossy().starts_with(".tmp-") {
                continue;
            }
            let Ok(bytes) = std::fs::read(obj.path()) else {
                continue;
            };
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                if v["kind"] == "snapshot" {
                    out.push(v["state"].clone());
                }
            }
        }
    }
    out
}

pub fn temp_files(dir: &Path) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(e.path());
            } else if e.file_name().to_string_lossy().starts_with(".tmp-") {
                n += 1;
            }
        }
    }
    n
}

/// Everything that must hold after a kill. `prior` is run_state.json before
/// the command (None: there was none). Returns the file now.
fn check(
    env: &TestEnv,
    rid: &str,
    run: &Path,
    prior: Option<&[u8]>,
    what: &str,
    tally: &mut Tally,
) -> Option<Vec<u8>> {
    let now = std::fs::read(run.join("run_state.json")).ok();
    match (&now, prior) {
        (None, None) => {}
        (None, Some(_)) => {
            tally.torn += 1;
            tally
                .failures
                .push(format!("{what}: run_state.json vanished"));
        }
        (Some(now), Some(prior)) if now.as_slice() == prior => {}
        (Some(now), _) => match serde_json::from_slice::<serde_json::Value>(now) {
            Err(e) => {
                tally.torn += 1;
                tally
                    .failures
                    .push(format!("{what}: run_state.json does not parse: {e}"));
            }
            Ok(v) => {
                if !snapshot_states(run).contains(&v) {
                    tally.torn += 1;
                    tally.failures.push(format!(
                        "{what}: run_state.json is neither the prior file nor a committed state"
                    ));
                }
            }
        },
    }
    if run.join(".rk/HEAD").exists() {
        let head = env.run(&["read-state", rid, "--at", "HEAD"]);
        if !head.status.success() {
            tally.failures.push(format!(
                "{what}: read-state --at HEAD: {}",
                env.render_output(&head)
            ));
        }
    }
    let fsck = env.run(&["fsck", rid]);
    if !fsck.status.success() {
        tally
            .failures
            .push(format!("{what}: fsck: {}", env.render_output(&fsck)));
    }
    now
}

/// A big state: writing it is not instantaneous.
fn big_state(i: usize) -> String {
    format!(
        "{{\"schema_version\": 1, \"run_id\": \"r1\", \"phases\": {{\"prepare\": {{\"status\": \"completed\"}}}}, \"iteration\": {i}, \"pad\": \"{}\"}}",
        "x".repeat(64 * 1024 + i)
    )
}

#[test]
fn crash_write_state() {
    let started = Instant::now();
    let seed = seed();
    let mut rng = Rng(seed);
    let env = TestEnv::new();
    env.write("experiments/run_r1/run_state.json", big_state(0));
    let run = env.root().join("experiments/run_r1");
    let span = span_of(|| {
        env.run_stdin(&["write-state", "r1"], big_state(1).as_bytes())
            .status
            .success()
    });
    let mut tally = Tally::default();
    let mut run = run;
    let mut rid = "r1".to_string();
    let startup = span_of(|| env.run(&["log", "r1"]).status.success());
    let mut window = Window::new(startup, span);
    let mut prior = std::fs::read(run.join("run_state.json")).ok();
    let mut i = 0;
    while more_kills(&tally) {
        i += 1;
        // A fresh run every ROTATE kills, so fsck (which re-hashes every
        // object) stays cheap in the long mode.
        if i > 0 && i % ROTATE == 0 {
            tally.leftovers += temp_files(&run);
            rid = format!("w{i}");
            env.write(
                &format!("experiments/run_{rid}/run_state.json"),
                big_state(0),
            );
            run = env.root().join(format!("experiments/run_{rid}"));
            prior = std::fs::read(run.join("run_state.json")).ok();
        }
        let rid = rid.as_str();
        let new = big_state(i + 2);
        let mut cmd = env.cmd(&["write-state", rid, "-m", &format!("iteration {i}")]);
        cmd.env("RK_NOW", format!("2025-09-03T10:00:{:02}.000000Z", i % 60));
        let delay = window.draw(&mut rng);
        let before = fingerprint(&run);
        let finished = kill_after(cmd, Some(new.as_bytes()), delay);
        tally.classify(&mut window, delay, finished, &before, &run);
        let what = format!("write-state kill {i} after {delay:?}");
        check(&env, rid, &run, prior.as_deref(), &what, &mut tally);
        // The next command works, and leaves exactly the new state.
        let out = env.run_stdin(&["write-state", rid], new.as_bytes());
        if !out.status.success() {
            tally
                .failures
                .push(format!("{what}: next write: {}", env.render_output(&out)));
        }
        prior = check(&env, rid, &run, prior.as_deref(), &what, &mut tally);
        let v: serde_json::Value = serde_json::from_slice(prior.as_deref().unwrap()).unwrap();
        assert_eq!(v["iteration"], i + 2, "{what}");
    }
    tally.leftovers += temp_files(&run);
    tally.report("write-state", seed, started);
}

/// A legacy run (no state) with `trials` trials and one corrupt manifest.
fn legacy_run(env: &TestEnv, rid: &str, trials: usize) -> PathBuf {
    let run = format!("experiments/run_{rid}");
    env.write(
        &format!("{run}/effective_config.yaml"),
        "model: m\nseed: 7\n",
    );
    for t in 0..trials {
        let slug = format!("{run}/t{t:03}");
        if t == 7 {
            env.write(
                &format!("{slug}/results/trial_manifest.json"),
                "{\"datasets\": {\"a\": [",
            );
        } else {
            env.write(
                &format!("{slug}/results/trial_manifest.json"),
                format!(
                    "{{\"schema_version\": 2, \"run_id\": \"{rid}\", \"datasets\": {{\"a\": [\"x\", \"y\"]}}, \"job_status\": {{\"a_p01\": \"completed\", \"a_p02\": \"completed\"}}}}"
                ),
            );
        }
        env.write(&format!("{slug}/results/results_combined.jsonl"), "{}\n");
        if t % 2 == 0 {
            env.write(&format!("{slug}/results/predictions.csv"), "id,p\n1,0\n");
        }
    }
    env.root().join(run)
}

/// The corrupt manifest is either untouched, or backed up byte for byte next
/// to a reconstructed one.
fn corrupt_manifest_kept(run: &Path) -> Result<(), String> {
    let dir = run.join("t007/results");
    let manifest = std::fs::read(dir.join("trial_manifest.json"))
        .map_err(|e| format!("t007 manifest missing: {e}"))?;
    if manifest == b"{\"datasets\": {\"a\": [" {
        return Ok(());
    }
    let v: serde_json::Value =
        serde_json::from_slice(&manifest).map_err(|e| format!("t007 manifest torn: {e}"))?;
    if v["reconstructed"] != true {
        return Err("t007 manifest is neither the old one nor reconstructed".into());
    }
    let backed_up = std::fs::read_dir(&dir).unwrap().flatten().any(|e| {
        e.file_name().to_string_lossy().contains(".corrupt.")
            && std::fs::read(e.path()).ok().as_deref() == Some(b"{\"datasets\": {\"a\": [")
    });
    if !backed_up {
        return Err("t007 reconstructed but its bytes were not kept".into());
    }
    Ok(())
}

#[test]
fn crash_migrate() {
    let started = Instant::now();
    let seed = seed();
    let mut rng = Rng(seed);
    let env = TestEnv::new();
    let trials = 50;
    let run = legacy_run(&env, "m0", trials);
    let startup = span_of(|| env.run(&["migrate", "m0", "--dry-run"]).status.success());
    let span = span_of(|| env.run(&["migrate", "m0"]).status.success());
    std::fs::remove_dir_all(&run).unwrap();
    // Once more on a fresh run, warm: the first one paid for a cold cache.
    let warm = legacy_run(&env, "m00", trials);
    let span = span.min(span_of(|| env.run(&["migrate", "m00"]).status.success()));
    std::fs::remove_dir_all(&warm).unwrap();
    let mut tally = Tally::default();
    let mut window = Window::new(startup, span);
    let mut i = 0;
    while more_kills(&tally) {
        i += 1;
        let rid = format!("m{i}");
        let run = legacy_run(&env, &rid, trials);
        let delay = window.draw(&mut rng);
        let before = fingerprint(&run);
        let finished = kill_after(env.cmd(&["migrate", &rid]), None, delay);
        tally.classify(&mut window, delay, finished, &before, &run);
        let what = format!("migrate kill {i} after {delay:?}");
        check(&env, &rid, &run, None, &what, &mut tally);
        if let Err(e) = corrupt_manifest_kept(&run) {
            tally.failures.push(format!("{what}: {e}"));
        }
        let out = env.run(&["migrate", &rid]);
        if !out.status.success() {
            tally
                .failures
                .push(format!("{what}: next migrate: {}", env.render_output(&out)));
        }
        let after = check(&env, &rid, &run, None, &what, &mut tally);
        if after.is_none() {
            tally
                .failures
                .push(format!("{what}: no state after migrate"));
        }
        if let Err(e) = corrupt_manifest_kept(&run) {
            tally.failures.push(format!("{what}: {e}"));
        }
        tally.leftovers += temp_files(&run);
        std::fs::remove_dir_all(&run).unwrap();
    }
    tally.report("migrate", seed, started);
}

/// A completed run with a few MB of artifacts.
fn completed_run(env: &TestEnv, rid: &str) -> PathBuf {
    run_with(env, rid, &all("completed"), "");
    let run = format!("experiments/run_{rid}");
    for t in 0..4 {
        env.write(
            &format!("{run}/t{t}/results/trial_manifest.json"),
            r#"{"schema_version": 2}"#,
        );
        let mut big = Vec::with_capacity(768 * 1024);
        for k in 0..(768 * 1024 / 16) {
            big.extend_from_slice(format!("{t:03},{k:011}\n").as_bytes());
        }
        env.write(&format!("{run}/t{t}/results/predictions.csv"), &big);
        for k in 0..20 {
            env.write(
                &format!("{run}/t{t}/results/part{k}.json"),
                format!("{k}\n"),
            );
        }
    }
    env.root().join(run)
}

#[test]
fn crash_archive() {
    let started = Instant::now();
    let seed = seed();
    let mut rng = Rng(seed);
    let env = TestEnv::new();
    let run = completed_run(&env, "a0");
    let startup = span_of(|| env.run(&["status", "a0"]).status.success());
    let span = span_of(|| env.run(&["archive", "a0"]).status.success());
    std::fs::remove_dir_all(&run).unwrap();
    let mut tally = Tally::default();
    let mut window = Window::new(startup, span);
    let mut i = 0;
    while more_kills(&tally) {
        i += 1;
        let rid = format!("a{i}");
        let run = completed_run(&env, &rid);
        let prior = std::fs::read(run.join("run_state.json")).ok();
        let delay = window.draw(&mut rng);
        let before = fingerprint(&run);
        let finished = kill_after(env.cmd(&["archive", &rid]), None, delay);
        tally.classify(&mut window, delay, finished, &before, &run);
        let what = format!("archive kill {i} after {delay:?}");
        check(&env, &rid, &run, prior.as_deref(), &what, &mut tally);
        if let Ok(bytes) = std::fs::read(run.join("archive_manifest.json")) {
            if serde_json::from_slice::<serde_json::Value>(&bytes).is_err() {
                tally.torn += 1;
                tally
                    .failures
                    .push(format!("{what}: archive_manifest.json torn"));
            }
        }
        let out = env.run(&["archive", &rid]);
        // Killed after the manifest was written: the run is archived, and
        // says so (exit 6); verify below proves the archive whole.
        let already = out.status.code() == Some(6)
            && String::from_utf8_lossy(&out.stderr).contains("is already archived");
        if !out.status.success() && !already {
            tally
                .failures
                .push(format!("{what}: next archive: {}", env.render_output(&out)));
        }
        check(&env, &rid, &run, prior.as_deref(), &what, &mut tally);
        let verify = env.run(&["verify", &rid]);
        if !verify.status.success() {
            tally
                .failures
                .push(format!("{what}: verify: {}", env.render_output(&verify)));
        }
        tally.leftovers += temp_files(&run);
        std::fs::remove_dir_all(&run).unwrap();
    }
    tally.report("archive", seed, started);
}

#[test]
fn crash_resume() {
    let started = Instant::now();
    let seed = seed();
    let mut rng = Rng(seed);
    let env = TestEnv::new();
    env.write("rk.yaml", "dispatch:\n  command: [\"true\"]\n");
    let run = started_run(&env, "r1", "model: m\nseed: 7\n");
    let startup = span_of(|| env.run(&["resume", "r1", "--dry-run"]).status.success());
    let span = span_of(|| env.run(&["resume", "r1"]).status.success());
    let mut tally = Tally::default();
    let mut window = Window::new(startup, span);
    let mut run = run;
    let mut rid = "r1".to_string();
    let mut prior = std::fs::read(run.join("run_state.json")).ok();
    let mut i = 0;
    while more_kills(&tally) {
        i += 1;
        if i > 0 && i % ROTATE == 0 {
            tally.leftovers += temp_files(&run);
            rid = format!("s{i}");
            run = started_run(&env, &rid, "model: m\nseed: 7\n");
            prior = std::fs::read(run.join("run_state.json")).ok();
        }
        let rid = rid.as_str();
        let delay = window.draw(&mut rng);
        let before = fingerprint(&run);
        let finished = kill_after(env.cmd(&["resume", rid]), None, delay);
        tally.classify(&mut window, delay, finished, &before, &run);
        let what = format!("resume kill {i} after {delay:?}");
        check(&env, rid, &run, prior.as_deref(), &what, &mut tally);
        // The orphaned `true` may hold the dispatch lock for a moment: the
        // next resume is busy (exit 4) at most until it ends.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let out = env.run(&["resume", rid]);
            match out.status.code() {
                Some(0) => break,
                Some(4) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    tally
                        .failures
                        .push(format!("{what}: next resume: {}", env.render_output(&out)));
                    break;
                }
            }
        }
        prior = check(&env, rid, &run, prior.as_deref(), &what, &mut tally);
    }
    tally.leftovers += temp_files(&run);
    tally.report("resume", seed, started);
}
