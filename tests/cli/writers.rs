//! rk is never the only writer: every change goes through one write path that
//! takes `.state.lock` before it reads, so no update by anyone is lost. Each
//! test runs rk beside a second, real writer: a Python process doing what the
//! Python tool set does (flock on `.state.lock`, read-modify-write, or a whole
//! rewrite of the state it keeps in memory), other rk processes, or an
//! orchestrator rk dispatched.
//!
//! The foreign writers are small scripts of these tests' own, run with the
//! machine's `python3` (the Python tool set's own interpreter); without one
//! the Python tests say they were skipped and why.

use crate::common::{last_session, started_run, state_of, wait_for, TestEnv};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CONFIG: &str = "model: m\nseed: 7\n";

fn python() -> Option<&'static str> {
    let ok = Command::new("python3")
        .args(["-c", "import fcntl, json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: python3 is not available, so no Python writer can run beside rk");
    }
    ok.then_some("python3")
}

/// A project whose orchestrator says it started (`started` in the run dir),
/// waits until `go` appears there, then runs `then` (shell: `$1` is the run
/// dir, `$2` the run id).
fn waiting_orchestrator(env: &TestEnv, then: &str, extra_yaml: &str) {
    let script = env.write(
        "wait.sh",
        format!("#!/bin/sh\ntouch \"$1/started\"\nwhile [ ! -e \"$1/go\" ]; do sleep 0.02; done\n{then}"),
    );
    env.write(
        "rk.yaml",
        format!(
            "dispatch:\n  command: [sh, {:?}, \"{{run_dir}}\", \"{{run_id}}\"]\n{extra_yaml}",
            script.display().to_string()
        ),
    );
}

fn has_session(run: &Path) -> bool {
    state_of(run)["sessions"]
        .as_array()
        .is_some_and(|s| !s.is_empty())
}

/// A Python writer that works like the Python tool set: flock on
/// `.state.lock`, then change `run_state.json` and replace it atomically.
///
/// `python3 writer.py RUN_DIR MODE …`:
/// * `hold-and-complete PHASES…`: take the lock, say so in `locked`, wait
///   until `go` exists, mark the phases completed, release;
/// * `keep-in-memory`: load the state once, say so in `loaded`, wait until
///   `go` exists, then (under the lock) mark `prepare` completed in its
///   in-memory copy and write that whole copy back — as an orchestrator that
///   holds its state in memory does;
/// * `count SECONDS`: read-modify-write `py_count += 1` under the lock until
///   SECONDS have passed, with short pauses; print the number of updates.
const WRITER: &str = r#"
import fcntl, json, os, random, sys, tempfile, time
run, mode = sys.argv[1], sys.argv[2]
state_path = os.path.join(run, "run_state.json")

def write(state):
    fd, tmp = tempfile.mkstemp(dir=run, prefix=".py_state_")
    with os.fdopen(fd, "w") as f:
        json.dump(state, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, state_path)

def locked():
    f = open(os.path.join(run, ".state.lock"), "a+")
    fcntl.flock(f.fileno(), fcntl.LOCK_EX)
    return f

def wait_go():
    while not os.path.exists(os.path.join(run, "go")):
        time.sleep(0.01)

def now():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())

if mode == "hold-and-complete":
    lock = locked()
    open(os.path.join(run, "locked"), "w").close()
    wait_go()
    with open(state_path) as f:
        state = json.load(f)
    for phase in sys.argv[3:]:
        state["phases"][phase] = {"status": "completed", "started_at": now(),
                                  "updated_at": now(), "last_error": None}
    write(state)
    lock.close()
elif mode == "keep-in-memory":
    with open(state_path) as f:
        state = json.load(f)
    open(os.path.join(run, "loaded"), "w").close()
    wait_go()
    lock = locked()
    state["phases"]["prepare"] = {"status": "completed", "started_at": now(),
                                  "updated_at": now(), "last_error": None}
    write(state)
    lock.close()
elif mode == "count":
    end = time.time() + float(sys.argv[3])
    n = 0
    while time.time() < end:
        lock = locked()
        with open(state_path) as f:
            state = json.load(f)
        state["py_count"] = state.get("py_count", 0) + 1
        write(state)
        lock.close()
        n += 1
        time.sleep(random.uniform(0.01, 0.06))
    print(n)
"#;

fn writer(env: &TestEnv, python: &str, run: &Path, args: &[&str]) -> Child {
    let script = env.write("writer.py", WRITER);
    Command::new(python)
        .arg(script)
        .arg(run)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

fn phase_status(run: &Path, phase: &str) -> String {
    state_of(run)["phases"][phase]["status"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn ops_in_log(run: &Path) -> Vec<String> {
    std::fs::read_to_string(run.join(".rk/log"))
        .unwrap()
        .lines()
        .map(|l| {
            l.split('\t')
                .next()
                .unwrap()
                .split(' ')
                .nth(3)
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn a_change_waits_for_the_lock_and_never_reverts_the_orchestrators_write() {
    let Some(py) = python() else { return };
    let env = TestEnv::new();
    let run = started_run(&env, "r1", CONFIG);
    let mut py = writer(&env, py, &run, &["hold-and-complete", "prepare", "build"]);
    wait_for("the Python writer to hold the lock", || {
        run.join("locked").exists()
    });
    // rk starts while the orchestrator holds the lock…
    let note = env.cmd(&["note", "r1", "looked at parse"]).spawn().unwrap();
    let gate = env
        .cmd(&["gate", "add", "r1", "stats", "--reason", "check the plots"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // …and the orchestrator's write lands only after that.
    std::fs::write(run.join("go"), "").unwrap();
    assert!(py.wait().unwrap().success());
    for mut child in [note, gate] {
        assert!(child.wait().unwrap().success());
    }
    assert_eq!(phase_status(&run, "prepare"), "completed");
    assert_eq!(phase_status(&run, "build"), "completed");
    let state = state_of(&run);
    assert_eq!(state["gates"]["stats"]["reason"], "check the plots");
    let sessions = state["sessions"].as_array().unwrap();
    assert_eq!(sessions.last().unwrap()["stopped_at"], "looked at parse");
    // The orchestrator's version is in the history too.
    assert!(ops_in_log(&run).contains(&"observed".to_string()));
}

#[test]
fn twenty_gates_and_ten_notes_at_once_all_land() {
    let env = TestEnv::new();
    let phases: Vec<String> = (1..=20).map(|i| format!("p{i:02}")).collect();
    env.write("rk.yaml", format!("phases: [{}]\n", phases.join(", ")));
    let run = started_run(&env, "r1", CONFIG);
    let mut children: Vec<Child> = phases
        .iter()
        .map(|p| {
            env.cmd(&["gate", "add", "r1", p, "--reason", &format!("review {p}")])
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children.extend((0..10).map(|i| {
        env.cmd(&["note", "r1", &format!("note {i}")])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }));
    for child in children {
        let out = child.wait_with_output().unwrap();
        env.expect_exit(&out, 0);
    }
    let state = state_of(&run);
    let gates = state["gates"].as_object().unwrap();
    assert_eq!(gates.len(), 20, "{gates:?}");
    let ops = ops_in_log(&run);
    assert_eq!(ops.iter().filter(|o| *o == "gate").count(), 20);
    assert_eq!(ops.iter().filter(|o| *o == "note").count(), 10);
    // Every note is in the history; the last one stands on the session.
    let all = env.run(&["log", "r1", "--json"]);
    let text = String::from_utf8_lossy(&all.stdout);
    for i in 0..10 {
        assert!(
            text.contains(&format!("note {i}")),
            "note {i} lost:\n{text}"
        );
    }
    let gate_list = env.run(&["gate", "list", "r1", "--json"]);
    assert_eq!(
        String::from_utf8_lossy(&gate_list.stdout).lines().count(),
        20
    );
}

#[test]
fn an_orchestrator_rewriting_from_memory_drops_none_of_rks_records() {
    let Some(py) = python() else { return };
    let env = TestEnv::new();
    let script = env.write(
        "orchestrator.sh",
        "#!/bin/sh\necho \"start $*\" >> \"$(dirname \"$0\")/dispatched.log\"\n",
    );
    env.write(
        "rk.yaml",
        format!(
            "dispatch:\n  command: [sh, {:?}, \"{{run_id}}\"]\n  plan: rk\n",
            script.display().to_string()
        ),
    );
    let run = started_run(&env, "r1", CONFIG);
    let mut py = writer(&env, py, &run, &["keep-in-memory"]);
    wait_for("the orchestrator to load the state", || {
        run.join("loaded").exists()
    });
    // While it runs, a person adds a note and a review gate…
    assert!(env
        .run(&["note", "r1", "parse looked fine"])
        .status
        .success());
    let gate = env.run(&[
        "gate",
        "add",
        "r1",
        "submit",
        "--reason",
        "check the budget",
    ]);
    env.expect_exit(&gate, 0);
    // …and the orchestrator writes its in-memory state over them.
    std::fs::write(run.join("go"), "").unwrap();
    assert!(py.wait().unwrap().success());
    let file = state_of(&run);
    assert!(
        file["gates"].is_null(),
        "the rewrite dropped the gate: {file}"
    );
    assert_eq!(phase_status(&run, "prepare"), "completed");

    // Every reader shows rk's records meanwhile…
    let shown = env.run(&["read-state", "r1"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["gates"]["submit"]["reason"], "check the budget");
    assert_eq!(shown["phases"]["prepare"]["status"], "completed");
    let gates = env.run(&["gate", "list", "r1", "--json"]);
    assert!(String::from_utf8_lossy(&gates.stdout).contains("check the budget"));
    let status = env.run(&["status", "r1", "--json"]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("check the budget"));

    // …the gate is enforced from rk's record…
    let resume = env.run(&["resume", "r1"]);
    env.expect_exit(&resume, 0);
    let log = env.read("dispatched.log");
    assert!(log.contains("--to_step build"), "{log}");

    // …and the next write puts them back in the file, beside the
    // orchestrator's progress.
    let file = state_of(&run);
    assert_eq!(file["gates"]["submit"]["reason"], "check the budget");
    assert_eq!(file["phases"]["prepare"]["status"], "completed");
    let stops: Vec<_> = file["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["stopped_at"].as_str())
        .collect();
    assert_eq!(stops, ["parse looked fine"]);
}

#[test]
fn notes_and_gates_added_during_a_dispatched_run_survive_its_end() {
    let env = TestEnv::new();
    // The orchestrator waits for `go`, then walks the phases as rk's
    // simulated orchestrator does (rewriting the whole state file).
    waiting_orchestrator(
        &env,
        &format!(
            "exec {:?} demo-orchestrator --run-dir \"$1\" --run_id \"$2\" --delay-ms 0\n",
            env!("CARGO_BIN_EXE_rk")
        ),
        "  plan: rk\n",
    );
    let run = started_run(&env, "r1", CONFIG);
    let resume = env
        .cmd(&["resume", "r1"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the session to start", || has_session(&run));
    assert!(env.run(&["note", "r1", "halfway"]).status.success());
    let gate = env.run(&[
        "gate",
        "add",
        "r1",
        "report",
        "--reason",
        "read the numbers",
    ]);
    env.expect_exit(&gate, 0);
    std::fs::write(run.join("go"), "").unwrap();
    let out = resume.wait_with_output().unwrap();
    env.expect_exit(&out, 0);

    let gates = env.run(&["gate", "list", "r1", "--json"]);
    assert!(
        String::from_utf8_lossy(&gates.stdout).contains("read the numbers"),
        "the gate added during the run was lost"
    );
    let session = last_session(&run);
    assert_eq!(session["stopped_at"], "halfway");
    assert_eq!(session["exit_code"], 0);
    assert!(!session["ended_at"].is_null());
    assert_eq!(
        state_of(&run)["gates"]["report"]["reason"],
        "read the numbers"
    );
}

#[test]
fn archive_and_resume_never_overlap_and_an_archived_run_is_not_resumed() {
    let env = TestEnv::new();
    waiting_orchestrator(&env, "", "");
    let run = started_run(&env, "r1", CONFIG);
    let resume = env
        .cmd(&["resume", "r1"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the dispatch", || has_session(&run));
    let archive = env.run(&["archive", "r1", "--allow-incomplete"]);
    env.expect_exit(&archive, 4);
    assert!(!run.join("archive_manifest.json").exists());
    std::fs::write(run.join("go"), "").unwrap();
    assert!(resume.wait_with_output().unwrap().status.success());

    let archive = env.run(&["archive", "r1", "--allow-incomplete"]);
    env.expect_exit(&archive, 0);
    let refused = env.run(&["resume", "r1"]);
    env.expect_exit(&refused, 6);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("archived"));
    let verify = env.run(&["verify", "r1"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

#[test]
fn two_asides_in_one_second_keep_both() {
    let env = TestEnv::new();
    let run = started_run(&env, "r1", CONFIG);
    let good = env.run(&["read-state", "r1"]).stdout;
    for bad in ["{\"phases\": ", "[1, 2]"] {
        std::fs::write(run.join("run_state.json"), bad).unwrap();
        // The clock is pinned (RK_NOW): both asides get the same stamp.
        let out = env.run_stdin(&["write-state", "r1"], &good);
        env.expect_exit(&out, 0);
    }
    let mut asides: Vec<(String, String)> = std::fs::read_dir(&run)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("run_state.json.corrupt."))
        .map(|n| {
            let bytes = std::fs::read_to_string(run.join(&n)).unwrap();
            (n, bytes)
        })
        .collect();
    asides.sort();
    assert_eq!(asides.len(), 2, "{asides:?}");
    let kept: Vec<&str> = asides.iter().map(|(_, b)| b.as_str()).collect();
    assert!(
        kept.contains(&"{\"phases\": ") && kept.contains(&"[1, 2]"),
        "{asides:?}"
    );
}

#[test]
fn status_md_tells_the_truth_after_the_session_ends() {
    for code in [0, 1] {
        let env = TestEnv::new();
        let script = env.write("exit.sh", format!("#!/bin/sh\nexit {code}\n"));
        env.write(
            "rk.yaml",
            format!(
                "dispatch:\n  command: [sh, {:?}]\n",
                script.display().to_string()
            ),
        );
        let run = started_run(&env, "r1", CONFIG);
        let out = env.run(&["resume", "r1"]);
        assert_eq!(out.status.code(), Some(code));
        let md = std::fs::read_to_string(run.join("STATUS.md")).unwrap();
        assert!(!md.contains("running"), "exit {code}:\n{md}");
        assert!(
            !md.contains("Nothing to type while it runs"),
            "exit {code}:\n{md}"
        );
        assert!(md.contains("rk resume r1"), "exit {code}:\n{md}");
    }
}

#[test]
fn a_session_whose_rk_was_killed_is_closed_by_the_next_write() {
    let env = TestEnv::new();
    waiting_orchestrator(&env, "", "");
    let run = started_run(&env, "r1", CONFIG);
    let mut resume = env.cmd(&["resume", "r1"]).spawn().unwrap();
    wait_for("the orchestrator to start", || run.join("started").exists());
    // SAFETY: signalling a child we spawned.
    unsafe { libc::kill(resume.id() as i32, libc::SIGKILL) };
    let _ = resume.wait();
    // The orchestrator still holds the run: the session stays open.
    let note = env.run(&["note", "r1", "while it runs"]);
    assert!(note.status.success());
    assert!(state_of(&run)["sessions"][0]["ended_at"].is_null());
    // Once it ends, the next write closes the session as crashed.
    std::fs::write(run.join("go"), "").unwrap();
    wait_for("the dispatch lock to be free", || {
        env.run(&["resume", "r1", "--dry-run"]).status.success()
    });
    let note = env.run(&["note", "r1", "after the crash"]);
    assert!(note.status.success());
    assert!(
        String::from_utf8_lossy(&note.stderr).contains("closed it as crashed"),
        "{}",
        String::from_utf8_lossy(&note.stderr)
    );
    let session = state_of(&run)["sessions"][0].clone();
    assert_eq!(session["end"], "crashed");
    assert!(!session["ended_at"].is_null());
    assert!(session["exit_code"].is_null());
}

#[test]
fn a_state_that_is_not_an_object_is_corrupt_in_list_status_and_fsck() {
    let env = TestEnv::new();
    let run = started_run(&env, "r1", CONFIG);
    std::fs::write(run.join("run_state.json"), "[]").unwrap();
    let list = env.run(&["list", "--json"]);
    assert!(list.status.success());
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("\"corrupt\""),
        "{}",
        String::from_utf8_lossy(&list.stdout)
    );
    assert_eq!(env.run(&["status", "r1"]).status.code(), Some(5));
    assert_eq!(env.run(&["fsck", "r1"]).status.code(), Some(5));
}

#[test]
fn expect_after_a_foreign_write_conflicts_records_it_and_a_retry_lands() {
    let env = TestEnv::new();
    let run = started_run(&env, "r1", CONFIG);
    let read = |env: &TestEnv| -> serde_json::Value {
        serde_json::from_slice(&env.run(&["read-state", "r1", "--with-id"]).stdout).unwrap()
    };
    let before = read(&env);
    let id = before["id"].as_str().unwrap().to_string();
    // The orchestrator writes after the script read.
    let mut theirs = before["state"].clone();
    theirs["phases"]["prepare"]["status"] = "completed".into();
    std::fs::write(run.join("run_state.json"), theirs.to_string()).unwrap();
    let mut mine = before["state"].clone();
    mine["mine"] = 1.into();
    let out = env.run_stdin(
        &["write-state", "r1", "--expect", &id],
        mine.to_string().as_bytes(),
    );
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(phase_status(&run, "prepare"), "completed");
    assert!(state_of(&run).get("mine").is_none());
    // Re-read (now recorded), re-apply, retry: both changes stand.
    let again = read(&env);
    let id = again["id"]
        .as_str()
        .expect("the observed version has an id")
        .to_string();
    let mut mine = again["state"].clone();
    mine["mine"] = 1.into();
    let out = env.run_stdin(
        &["write-state", "r1", "--expect", &id],
        mine.to_string().as_bytes(),
    );
    env.expect_exit(&out, 0);
    assert_eq!(phase_status(&run, "prepare"), "completed");
    assert_eq!(state_of(&run)["mine"], 1);
}

/// The long run: a Python writer doing read-modify-write under `.state.lock`
/// beside two rk compare-and-swap writers for `RK_FOREIGN_SECONDS` (30 by
/// default). No update is lost on either side; conflicts really happen; every
/// read is a whole, valid state.
#[test]
fn a_foreign_read_modify_write_loop_beside_rk_loses_no_update() {
    let Some(py) = python() else { return };
    let seconds: f64 = std::env::var("RK_FOREIGN_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30.0);
    let env = std::sync::Arc::new(TestEnv::new());
    let run = started_run(&env, "r1", CONFIG);
    let foreign = writer(&env, py, &run, &["count", &seconds.to_string()]);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let rk_writers: Vec<_> = (0..2)
        .map(|_| {
            let env = env.clone();
            std::thread::spawn(move || {
                let (mut landed, mut conflicts, mut reads) = (0u64, 0u64, 0u64);
                while Instant::now() < deadline {
                    let out = env.run(&["read-state", "r1", "--with-id"]);
                    env.expect_exit(&out, 0);
                    let read: serde_json::Value = serde_json::from_slice(&out.stdout)
                        .unwrap_or_else(|e| panic!("a read was not a whole state: {e}"));
                    assert!(
                        read["state"]["phases"].is_object(),
                        "a read lost the state: {read}"
                    );
                    reads += 1;
                    let id = read["id"]
                        .as_str()
                        .expect("--with-id always names the snapshot")
                        .to_string();
                    let mut state = read["state"].clone();
                    let n = state["rk_count"].as_u64().unwrap_or(0);
                    state["rk_count"] = (n + 1).into();
                    let out = env.run_stdin(
                        &["write-state", "r1", "--expect", &id],
                        state.to_string().as_bytes(),
                    );
                    match out.status.code() {
                        Some(0) => landed += 1,
                        Some(4) => conflicts += 1,
                        other => panic!(
                            "write-state exited {other:?}: {}",
                            String::from_utf8_lossy(&out.stderr)
                        ),
                    }
                }
                (landed, conflicts, reads)
            })
        })
        .collect();
    let (mut landed, mut conflicts, mut reads) = (0, 0, 0);
    for w in rk_writers {
        let (l, c, r) = w.join().unwrap();
        landed += l;
        conflicts += c;
        reads += r;
    }
    let out = foreign.wait_with_output().unwrap();
    assert!(out.status.success());
    let py_updates: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let state = state_of(&run);
    eprintln!(
        "foreign writer: {py_updates} updates; rk: {landed} landed, {conflicts} conflicts, {reads} reads; in {seconds} s"
    );
    assert_eq!(
        state["py_count"].as_u64().unwrap_or(0),
        py_updates,
        "Python updates lost"
    );
    assert_eq!(
        state["rk_count"].as_u64().unwrap_or(0),
        landed,
        "rk updates lost"
    );
    assert!(py_updates > 0 && landed > 0, "both sides must have written");
    assert!(
        conflicts > 0,
        "no conflict happened: the test proved nothing"
    );
    let fsck = env.run(&["fsck", "r1"]);
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stdout)
    );
}
