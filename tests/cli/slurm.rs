//! `dispatch.via: slurm` against a real one-node Slurm (`.ci/slurm up`;
//! `.ci/run` brings it up when it runs as root). Where no Slurm answers,
//! each test that needs one says it was skipped and why, and passes.
//!
//! The tests that need the scheduler run one at a time (the node has few
//! CPUs), and every wait is for a condition, bounded generously.
//!
//! The `jobs_only_accounting_knows_…` tests also need accounting storage
//! (`.ci/slurm up` starts slurmdbd on a MariaDB of its own, with MinJobAge=30):
//! they wait until the controller has forgotten their jobs, so that rk can
//! learn of them only from `sacct`. Where `sacct` does not answer, they say
//! they were skipped and why, and pass.

use crate::common::{c14n_hash, started_run, state_of, TestEnv};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const CONFIG: &str = "model: m\nseed: 1\n";

/// Whether a Slurm answers here, with an idle (or busy) node. When not, say
/// on the real stderr (not captured) that `test` was skipped and why.
fn slurm_answers(test: &str) -> bool {
    let why = match Command::new("sinfo").args(["-h", "-o", "%T"]).output() {
        Err(e) => format!("sinfo cannot be run ({e})"),
        Ok(out) if !out.status.success() => format!(
            "sinfo failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Ok(out) => {
            let states = String::from_utf8_lossy(&out.stdout);
            if states.lines().any(|s| {
                ["idle", "mixed", "allocated", "completing"]
                    .iter()
                    .any(|w| s.starts_with(w))
            }) {
                return true;
            }
            format!("no usable node (sinfo: {:?})", states.trim())
        }
    };
    let context = std::env::var("RK_SLURM_SKIP_REASON")
        .unwrap_or_else(|_| "bring one up with `sudo .ci/slurm up`".into());
    let _ = writeln!(
        std::io::stderr(),
        "skipped slurm::{test}: no Slurm here: {why}; {context}"
    );
    false
}

/// A project whose resumes go to Slurm with `command` as the dispatch
/// command and `args` as `dispatch.slurm.args`.
fn slurm_project(env: &TestEnv, command: &[&str], args: &[&str]) {
    let list = |items: &[&str]| {
        items
            .iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    env.write(
        "rk.yaml",
        format!(
            "dispatch:\n  via: slurm\n  slurm: {{args: [{}]}}\n  command: [{}]\n",
            list(args),
            list(command)
        ),
    );
}

/// An orchestrator as a shell one-liner: `sh -c SCRIPT sh`, the step
/// arguments rk appends landing in `$@`.
fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into(), "sh".into()]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn sessions(run: &Path) -> Vec<serde_json::Value> {
    state_of(run)["sessions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `rk status --json`'s slurm_job.
fn job_json(env: &TestEnv, rid: &str) -> serde_json::Value {
    let out = env.run(&["status", rid, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "gave up waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Wait until the scheduler reports the run's job as ended.
fn wait_until_ended(env: &TestEnv, rid: &str) {
    wait_for("the job to end", || {
        job_json(env, rid)["slurm_job"]["phase"] == "ended"
    });
}

/// Jobs the scheduler still knows under `rk-<rid>` (any state).
fn jobs_named(rid: &str) -> Vec<String> {
    let out = Command::new("squeue")
        .args([
            "-h",
            "--states=all",
            "--name",
            &format!("rk-{rid}"),
            "-o",
            "%i %T",
        ])
        .output()
        .unwrap();
    stdout(&out).lines().map(String::from).collect()
}

/// A run id no other test (or an earlier run of this one) shares, so
/// `squeue --name rk-<rid>` only sees this test's jobs.
fn unique_rid(stem: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{stem}{}x{}", std::process::id(), nanos % 1_000_000_000)
}

fn started(env: &TestEnv, rid: &str) -> PathBuf {
    started_run(env, rid, CONFIG)
}

#[test]
fn rk_yaml_dispatch_via_and_slurm_args_are_checked_with_their_line() {
    let env = TestEnv::new();
    env.write("rk.yaml", "dispatch:\n  via: cloud\n");
    let out = env.run(&["list"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("rk.yaml:2") && err.contains("dispatch.via must be `local` or `slurm`"),
        "{err}"
    );

    env.write(
        "rk.yaml",
        "dispatch:\n  via: slurm\n  slurm:\n    args: [--partition=gpu]\n    qos: high\n",
    );
    let out = env.run(&["list"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("rk.yaml:5") && err.contains("unknown key \"qos\""),
        "{err}"
    );

    env.write("rk.yaml", "dispatch:\n  slurm: {args: [1, 2]}\n");
    let out = env.run(&["list"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn dry_run_prints_the_exact_sbatch_command_line_and_writes_nothing() {
    let env = TestEnv::new();
    slurm_project(
        &env,
        &[
            "python",
            "-m",
            "scripts.run_all",
            "--config",
            "{config}",
            "--run_id",
            "{run_id}",
        ],
        &["--partition=gpu", "--time=2-00:00:00"],
    );
    let run = started(&env, "r1");
    let before = crate::common::tree(&run);
    let out = env.run(&["resume", "r1", "--dry-run", "--only-step", "parse"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let root = std::fs::canonicalize(env.root()).unwrap();
    let line = stdout(&out).replace(&root.display().to_string(), "[ROOT]");
    let line = line.replace(&env.root().display().to_string(), "[ROOT]");
    assert_eq!(
        line,
        "sbatch --parsable --job-name=rk-r1 --chdir=[ROOT] \
         --output=[ROOT]/experiments/run_r1/slurm-%j.out --partition=gpu --time=2-00:00:00 \
         [ROOT]/experiments/run_r1/.rk/slurm-job.sh python -m scripts.run_all --config \
         [ROOT]/experiments/run_r1/effective_config.yaml --run_id r1 --only_step parse\n"
    );
    crate::common::assert_same_tree(&before, &crate::common::tree(&run), "a dry run");
}

#[test]
fn a_missing_sbatch_is_exit_2_naming_it_and_records_nothing() {
    let env = TestEnv::new();
    slurm_project(&env, &["true"], &[]);
    let run = started(&env, "r1");
    let empty = tempfile::tempdir().unwrap();
    let out = env
        .cmd(&["resume", "r1"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("rk: error: `sbatch` cannot be run"), "{err}");
    assert!(
        err.contains("rk: hint: install Slurm's client commands"),
        "{err}"
    );
    assert!(sessions(&run).is_empty(), "no session recorded");
}

#[test]
fn a_refused_submission_is_exit_2_with_sbatchs_message_and_records_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_answers("a_refused_submission_is_exit_2_with_sbatchs_message_and_records_nothing") {
        return;
    }
    let env = TestEnv::new();
    slurm_project(&env, &["true"], &["--partition=no-such-partition"]);
    let run = started(&env, "r1");
    let head = std::fs::read(run.join(".rk/HEAD")).unwrap();
    let out = env.run(&["resume", "r1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("rk: error: `sbatch` refused:"), "{err}");
    assert!(err.contains("partition"), "sbatch's own message: {err}");
    assert!(sessions(&run).is_empty());
    assert_eq!(std::fs::read(run.join(".rk/HEAD")).unwrap(), head);
}

/// The cluster's slurm.conf with the controller moved to a port where
/// nothing listens: the real client, with a scheduler that is down.
fn down_conf(env: &TestEnv) -> PathBuf {
    let conf = std::fs::read_to_string(
        std::env::var("SLURM_CONF").unwrap_or_else(|_| "/etc/slurm/slurm.conf".into()),
    )
    .unwrap();
    let down: String = conf
        .lines()
        .filter(|l| !l.starts_with("SlurmctldPort") && !l.starts_with("MessageTimeout"))
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        + "SlurmctldPort=1\nMessageTimeout=1\n";
    env.write("down/slurm.conf", down)
}

/// The cluster's slurm.conf with accounting storage (slurmdbd) moved to a
/// port where nothing listens: the controller answers, `sacct` cannot.
fn accounting_down_conf(env: &TestEnv) -> PathBuf {
    let conf = std::fs::read_to_string(
        std::env::var("SLURM_CONF").unwrap_or_else(|_| "/etc/slurm/slurm.conf".into()),
    )
    .unwrap();
    let down: String = conf
        .lines()
        .filter(|l| !l.starts_with("AccountingStoragePort"))
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        + "AccountingStoragePort=1\n";
    env.write("accounting-down/slurm.conf", down)
}

#[test]
fn a_scheduler_that_is_down_is_exit_4_and_records_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_answers("a_scheduler_that_is_down_is_exit_4_and_records_nothing") {
        return;
    }
    let env = TestEnv::new();
    let conf_path = down_conf(&env);
    slurm_project(&env, &["true"], &[]);
    let run = started(&env, "r1");
    let head = std::fs::read(run.join(".rk/HEAD")).unwrap();
    let state_before = std::fs::read(run.join("run_state.json")).unwrap();
    let out = env
        .cmd(&["resume", "r1"])
        .env("SLURM_CONF", &conf_path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("rk: error: `sbatch` cannot reach the Slurm controller: ")
            && err.contains("Unable to contact slurm controller"),
        "{err}"
    );
    assert!(err.contains("nothing was recorded as dispatched"), "{err}");
    assert_eq!(
        std::fs::read(run.join("run_state.json")).unwrap(),
        state_before
    );
    assert_eq!(std::fs::read(run.join(".rk/HEAD")).unwrap(), head);
}

#[test]
fn a_held_job_is_queued_a_second_resume_is_refused_and_stop_now_cancels_it() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let test = "a_held_job_is_queued_a_second_resume_is_refused_and_stop_now_cancels_it";
    if !slurm_answers(test) {
        return;
    }
    let env = TestEnv::new();
    let rid = unique_rid("q");
    slurm_project(&env, &strs(&sh("exit 0")), &["--hold"]);
    let run = started(&env, &rid);

    // Submitted: the job id on stdout, recorded in the new session.
    let out = env.run(&["resume", &rid]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let job = stdout(&out).trim().to_string();
    assert!(
        !job.is_empty() && job.chars().all(|c| c.is_ascii_digit()),
        "{job:?}"
    );
    assert!(stderr(&out).contains(&format!("rk: submitted Slurm job {job} for run {rid}")));
    let recorded = sessions(&run);
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["slurm"]["job_id"], job.as_str());
    assert_eq!(
        recorded[0]["slurm"]["job_name"],
        format!("rk-{rid}").as_str()
    );
    assert!(recorded[0]["ended_at"].is_null() && recorded[0]["exit_code"].is_null());

    // Queued in status (text and JSON), list and next.
    let status = stdout(&env.run(&["status", &rid]));
    assert!(
        status.starts_with(&format!("run {rid}: queued\n")),
        "{status}"
    );
    assert!(
        status.contains(&format!("job       Slurm job {job} PENDING")),
        "{status}"
    );
    assert_eq!(job_json(&env, &rid)["slurm_job"]["phase"], "queued");
    assert_eq!(job_json(&env, &rid)["status"], "queued");
    let list = stdout(&env.run(&["list", "--json"]));
    assert!(list.contains("\"queued\""), "{list}");
    let next = env.run(&["next", &rid]);
    assert_eq!(stdout(&next), "", "nothing to type while it waits");

    // An orchestrator that rewrites the state from memory, dropping rk's
    // sessions and marking a phase in progress: rk's records still name the job.
    let mut rewritten = state_of(&run);
    rewritten.as_object_mut().unwrap().remove("sessions");
    rewritten["phases"]["prepare"]["status"] = "in_progress".into();
    std::fs::write(
        run.join("run_state.json"),
        serde_json::to_vec_pretty(&rewritten).unwrap(),
    )
    .unwrap();
    let status = stdout(&env.run(&["status", &rid]));
    assert!(
        status.starts_with(&format!("run {rid}: queued\n")),
        "{status}"
    );
    let list = stdout(&env.run(&["list"]));
    assert!(list.contains(&format!("{rid}  queued")), "{list}");

    // A second resume submits nothing.
    let again = env.run(&["resume", &rid]);
    assert_eq!(again.status.code(), Some(4), "{}", stderr(&again));
    assert!(
        stderr(&again).contains(&format!("is queued as Slurm job {job}")),
        "{}",
        stderr(&again)
    );
    assert_eq!(jobs_named(&rid).len(), 1, "{:?}", jobs_named(&rid));
    // Nor is it archived while its job waits.
    let archive = env.run(&["archive", &rid, "--allow-incomplete"]);
    assert_eq!(archive.status.code(), Some(4), "{}", stderr(&archive));
    assert!(
        stderr(&archive).contains("nothing archived"),
        "{}",
        stderr(&archive)
    );

    // stop --now writes the tokens and cancels the job.
    let stop = env.run(&["stop", &rid, "--now"]);
    assert_eq!(stop.status.code(), Some(0), "{}", stderr(&stop));
    assert!(
        stdout(&stop).contains(&format!("cancelled Slurm job {job}")),
        "{}",
        stdout(&stop)
    );
    assert!(run.join("STOP_NOW").exists());
    wait_for("the job to be cancelled", || {
        jobs_named(&rid).iter().any(|l| l.ends_with("CANCELLED"))
    });
    wait_until_ended(&env, &rid);

    // The next write closes the session: a job cancelled while pending
    // never counts as a success.
    let note = env.run(&["note", &rid, "cancelled on purpose"]);
    assert_eq!(note.status.code(), Some(0), "{}", stderr(&note));
    let closed = sessions(&run);
    assert_eq!(closed[0]["slurm"]["state"], "CANCELLED");
    assert_eq!(closed[0]["exit_code"], 1);
    assert!(closed[0]["ended_at"].is_string());
    // The phases decide now (the rewrite left prepare in progress).
    let status = stdout(&env.run(&["status", &rid]));
    assert!(
        status.starts_with(&format!("run {rid}: interrupted\n")),
        "{status}"
    );
}

#[test]
fn two_resumes_at_once_submit_one_job() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_answers("two_resumes_at_once_submit_one_job") {
        return;
    }
    let env = TestEnv::new();
    let rid = unique_rid("t");
    slurm_project(&env, &strs(&sh("exit 0")), &["--hold"]);
    let run = started(&env, &rid);
    let a = env
        .cmd(&["resume", &rid])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let b = env
        .cmd(&["resume", &rid])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let mut codes = [a.status.code(), b.status.code()];
    codes.sort();
    assert_eq!(codes, [Some(0), Some(4)], "{}\n{}", stderr(&a), stderr(&b));
    assert_eq!(jobs_named(&rid).len(), 1, "{:?}", jobs_named(&rid));
    assert_eq!(sessions(&run).len(), 1);
    let job = sessions(&run)[0]["slurm"]["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    Command::new("scancel").arg(&job).status().unwrap();
}

#[test]
fn wait_returns_the_orchestrators_exit_code_and_records_it() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_answers("wait_returns_the_orchestrators_exit_code_and_records_it") {
        return;
    }
    let env = TestEnv::new();
    let rid = unique_rid("w");
    slurm_project(&env, &strs(&sh("echo orchestrating; exit 3")), &[]);
    let run = started(&env, &rid);
    let out = env.run(&["resume", &rid, "--wait"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let job = stdout(&out).trim().to_string();
    assert!(
        stderr(&out).contains(&format!(
            "rk: Slurm job {job} exited with 3; rk exits with the same code"
        )),
        "{}",
        stderr(&out)
    );
    let s = &sessions(&run)[0];
    assert_eq!(s["exit_code"], 3);
    assert_eq!(s["slurm"]["state"], "FAILED");
    assert!(s["ended_at"].is_string());
    // The job's output went where rk said.
    let output = std::fs::read_to_string(run.join(format!("slurm-{job}.out"))).unwrap();
    assert_eq!(output, "orchestrating\n");
}

#[test]
fn a_users_slurm_time_format_changes_none_of_the_times_rk_records() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_answers("a_users_slurm_time_format_changes_none_of_the_times_rk_records") {
        return;
    }
    let env = TestEnv::new();
    let rid = unique_rid("tf");
    slurm_project(&env, &strs(&sh("exit 0")), &[]);
    let run = started(&env, &rid);
    // Slurm's clients print times as SLURM_TIME_FORMAT says ("%s": seconds
    // since the epoch), and a user may well have set it.
    let out = env
        .cmd(&["resume", &rid, "--wait"])
        .env("SLURM_TIME_FORMAT", "%s")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let job = stdout(&out).trim().to_string();
    let times = Command::new("squeue")
        .env("TZ", "UTC")
        .env("SLURM_TIME_FORMAT", "standard")
        .args([
            "-h",
            "--states=all",
            "-j",
            &job,
            "-O",
            "StartTime:|,EndTime:",
        ])
        .output()
        .unwrap();
    let times = stdout(&times);
    let (start, end) = times
        .trim()
        .split_once('|')
        .expect("squeue still knows the job");
    let s = crate::common::last_session(&run);
    assert_eq!(s["ended_at"], format!("{end}.000000Z"), "{s}");
    assert_eq!(s["slurm"]["started_at"], format!("{start}.000000Z"), "{s}");
}

#[test]
fn a_completed_job_closes_its_session_with_exit_0_and_the_run_is_completed() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_answers("a_completed_job_closes_its_session_with_exit_0_and_the_run_is_completed") {
        return;
    }
    let env = TestEnv::new();
    let rid = unique_rid("c");
    let rk = env!("CARGO_BIN_EXE_rk");
    slurm_project(
        &env,
        &[
            rk,
            "demo-orchestrator",
            "--run-dir",
            "{run_dir}",
            "--run_id",
            "{run_id}",
            "--delay-ms",
            "0",
        ],
        &[],
    );
    let run = started(&env, &rid);
    let out = env.run(&["resume", &rid]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    wait_until_ended(&env, &rid);
    // Ended but not yet recorded: status says so and stays read-only.
    let before = std::fs::read(run.join("run_state.json")).unwrap();
    let status = stdout(&env.run(&["status", &rid]));
    assert!(
        status.starts_with(&format!("run {rid}: completed\n")),
        "{status}"
    );
    assert!(
        status.contains("COMPLETED")
            && status.contains("the next command that writes the run records it"),
        "{status}"
    );
    assert_eq!(std::fs::read(run.join("run_state.json")).unwrap(), before);
    assert!(sessions(&run).last().unwrap()["ended_at"].is_null());

    let note = env.run(&["note", &rid, "done"]);
    assert_eq!(note.status.code(), Some(0), "{}", stderr(&note));
    let s = sessions(&run).last().cloned().unwrap();
    assert_eq!(s["exit_code"], 0);
    assert_eq!(s["slurm"]["state"], "COMPLETED");
    assert!(s["ended_at"].is_string());
    let list = stdout(&env.run(&["list"]));
    assert!(list.contains(&format!("{rid}  completed")), "{list}");
}

#[test]
fn a_running_job_shows_running_and_a_failing_job_closes_with_its_code() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_answers("a_running_job_shows_running_and_a_failing_job_closes_with_its_code") {
        return;
    }
    let env = TestEnv::new();
    let rid = unique_rid("f");
    slurm_project(
        &env,
        &strs(&sh(
            "touch {run_dir}/started; while [ ! -e {run_dir}/release ]; do sleep 0.1; done; exit 7",
        )),
        &[],
    );
    let run = started(&env, &rid);
    let out = env.run(&["resume", &rid]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let job = stdout(&out).trim().to_string();
    wait_for("the job to start", || run.join("started").exists());
    wait_for("the scheduler to say it runs", || {
        job_json(&env, &rid)["slurm_job"]["phase"] == "running"
    });
    let status = stdout(&env.run(&["status", &rid]));
    assert!(
        status.starts_with(&format!("run {rid}: running\n")),
        "{status}"
    );
    assert!(
        status.contains(&format!("held by   Slurm job {job}")),
        "{status}"
    );
    assert!(
        status.contains(&format!("job       Slurm job {job} RUNNING on "))
            && status.contains(" since "),
        "{status}"
    );
    let list = stdout(&env.run(&["list"]));
    assert!(list.contains(&format!("{rid}  running")), "{list}");
    let again = env.run(&["resume", &rid]);
    assert_eq!(again.status.code(), Some(4));
    assert!(
        stderr(&again).contains(&format!("is running as Slurm job {job} (RUNNING on ")),
        "{}",
        stderr(&again)
    );

    std::fs::write(run.join("release"), "").unwrap();
    wait_until_ended(&env, &rid);
    // The next write (here a resume, which then submits again) closes it.
    let gate = env.run(&["gate", "add", &rid, "report", "--reason", "look first"]);
    assert_eq!(gate.status.code(), Some(0), "{}", stderr(&gate));
    let s = &sessions(&run)[0];
    assert_eq!(s["exit_code"], 7);
    assert_eq!(s["slurm"]["state"], "FAILED");
    assert_eq!(s["slurm"]["job_id"], job.as_str());
}

#[test]
fn a_job_the_scheduler_forgot_closes_its_session_as_unknown() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_answers("a_job_the_scheduler_forgot_closes_its_session_as_unknown") {
        return;
    }
    let env = TestEnv::new();
    slurm_project(&env, &["true"], &[]);
    let project = rk::project::Project::open(env.root().to_path_buf()).unwrap();
    let mut st = rk::state::RunState::new("r1", &project.settings.phases);
    st.config_hash = Some(Some(c14n_hash(CONFIG)));
    st.config_hash_scheme = Some("rk-c14n-v1".into());
    if let Some(p) = st.phase_mut("prepare") {
        p.status = rk::state::PhaseStatus::InProgress;
    }
    let mut session = rk::state::Session {
        started_at: Some("2025-09-01T00:00:00.000000Z".into()),
        ended_at: Some(None),
        exit_code: Some(None),
        ..Default::default()
    };
    // An id far beyond any this test cluster has handed out.
    session
        .extra
        .insert("slurm".into(), serde_json::json!({"job_id": "999999990"}));
    st.sessions = Some(vec![session]);
    let run = crate::common::run_with_state(&env, "r1", CONFIG, &st);

    let status = stdout(&env.run(&["status", "r1"]));
    assert!(status.starts_with("run r1: interrupted\n"), "{status}");
    assert!(
        status.contains("Slurm job 999999990: the scheduler no longer knows it"),
        "{status}"
    );
    let note = env.run(&["note", "r1", "looked"]);
    assert_eq!(note.status.code(), Some(0), "{}", stderr(&note));
    let s = &sessions(&run)[0];
    assert_eq!(s["slurm"]["state"], "unknown");
    assert!(s["exit_code"].is_null());
    assert_eq!(s["ended_at"], crate::common::NOW);
}

#[test]
fn the_dispatch_argv_reaches_the_job_word_for_word() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_answers("the_dispatch_argv_reaches_the_job_word_for_word") {
        return;
    }
    let env = TestEnv::new();
    let rid = unique_rid("a");
    let mut command = sh("printf '%s\\n' \"$@\" > {run_dir}/args; pwd > {run_dir}/cwd");
    command.extend([
        "a b".into(),
        "$(touch {run_dir}/pwned)".into(),
        "it's".into(),
        "*".into(),
    ]);
    slurm_project(&env, &strs(&command), &[]);
    let run = started(&env, &rid);
    let out = env.run(&["resume", &rid, "--wait"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let args = std::fs::read_to_string(run.join("args")).unwrap();
    let run_dir = std::path::absolute(&run).unwrap();
    let expected = format!("a b\n$(touch {}/pwned)\nit's\n*\n", run_dir.display());
    assert!(args.starts_with(&expected), "{args:?}");
    assert!(!run.join("pwned").exists());
    let cwd = std::fs::read_to_string(run.join("cwd")).unwrap();
    assert_eq!(
        std::fs::canonicalize(cwd.trim()).unwrap(),
        std::fs::canonicalize(env.root()).unwrap(),
        "the job runs in the project root"
    );
}

#[test]
fn a_config_rewritten_by_the_job_is_adopted_when_its_session_closes() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_answers("a_config_rewritten_by_the_job_is_adopted_when_its_session_closes") {
        return;
    }
    let env = TestEnv::new();
    let rid = unique_rid("r");
    // The orchestrator normalises its config at start, as the real one does.
    slurm_project(
        &env,
        &strs(&sh("echo 'output_dir: /scratch/run' >> {config}")),
        &[],
    );
    let run = started(&env, &rid);
    let out = env.run(&["resume", &rid, "--wait"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let st = state_of(&run);
    let s = st["sessions"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        s["config_rewritten"]["keys"],
        serde_json::json!(["/output_dir"]),
        "{s}"
    );
    assert!(st
        .get("config_drift")
        .is_none_or(|d| d.as_array().is_some_and(|a| a.is_empty())));
    // Not drift: the next resume plans without --force.
    let dry = env.run(&["resume", &rid, "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    let status = stdout(&env.run(&["status", &rid]));
    assert!(status.contains("config    unchanged"), "{status}");
}

#[test]
fn with_the_scheduler_down_status_says_so_and_resume_and_stop_now_refuse() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_answers("with_the_scheduler_down_status_says_so_and_resume_and_stop_now_refuse") {
        return;
    }
    let env = TestEnv::new();
    let rid = unique_rid("d");
    slurm_project(&env, &strs(&sh("exit 0")), &["--hold"]);
    let run = started(&env, &rid);
    let out = env.run(&["resume", &rid]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let job = stdout(&out).trim().to_string();
    let down = down_conf(&env);
    let before = std::fs::read(run.join("run_state.json")).unwrap();

    let status = env
        .cmd(&["status", &rid])
        .env("SLURM_CONF", &down)
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(0));
    assert!(
        stdout(&status).contains(&format!(
            "job       Slurm job {job}: cannot ask the scheduler: "
        )),
        "{}",
        stdout(&status)
    );
    let again = env
        .cmd(&["resume", &rid])
        .env("SLURM_CONF", &down)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(4), "{}", stderr(&again));
    assert!(
        stderr(&again).contains(&format!(
            "has Slurm job {job} recorded and the scheduler cannot say whether it still runs"
        )),
        "{}",
        stderr(&again)
    );
    let stop = env
        .cmd(&["stop", &rid, "--now"])
        .env("SLURM_CONF", &down)
        .output()
        .unwrap();
    assert_eq!(stop.status.code(), Some(4), "{}", stderr(&stop));
    assert!(
        stderr(&stop).contains(&format!("cannot cancel Slurm job {job}")),
        "{}",
        stderr(&stop)
    );
    assert!(
        run.join("STOP_NOW").exists(),
        "the tokens are written all the same"
    );
    assert_eq!(std::fs::read(run.join("run_state.json")).unwrap(), before);
    Command::new("scancel").arg(&job).status().unwrap();
}

/// Whether accounting storage answers here (`sacct`, through slurmdbd) and
/// the controller forgets a finished job soon enough to wait for it
/// (MinJobAge at most 60 s; `.ci/slurm up` sets 30). When not, say on the
/// real stderr (not captured) that `test` was skipped and why.
fn sacct_answers(test: &str) -> bool {
    if !slurm_answers(test) {
        return false;
    }
    let why = match Command::new("sacct")
        .args(["-n", "-X", "-j", "999999999"])
        .output()
    {
        Err(e) => format!("sacct cannot be run ({e})"),
        Ok(out) if !out.status.success() => format!("sacct failed: {}", stderr(&out).trim()),
        Ok(_) => match min_job_age() {
            Some(age) if age <= 60 => return true,
            Some(age) => format!(
                "the controller keeps a finished job {age} s (MinJobAge), too long to wait for"
            ),
            None => "`scontrol show config` does not say MinJobAge".into(),
        },
    };
    let context = std::env::var("RK_SACCT_SKIP_REASON").unwrap_or_else(|_| {
        "bring it up with `sudo .ci/slurm up`, which starts MariaDB and slurmdbd beside Slurm"
            .into()
    });
    let _ = writeln!(
        std::io::stderr(),
        "skipped slurm::{test}: no accounting storage to test against: {why}; {context}"
    );
    false
}

/// The controller's MinJobAge, in seconds.
fn min_job_age() -> Option<u64> {
    let out = Command::new("scontrol")
        .args(["show", "config"])
        .output()
        .ok()?;
    stdout(&out).lines().find_map(|l| {
        let (key, value) = l.split_once('=')?;
        if key.trim() != "MinJobAge" {
            return None;
        }
        value.split_whitespace().next()?.parse().ok()
    })
}

/// What sacct itself says of `job`: State, NodeList, Start, End (UTC),
/// ExitCode.
fn sacct_row(job: &str) -> Vec<String> {
    let out = Command::new("sacct")
        .env("TZ", "UTC")
        .args(["-n", "-P", "-X", "-j", job])
        .arg("--format=State,NodeList,Start,End,ExitCode")
        .output()
        .unwrap();
    let row = stdout(&out);
    row.lines()
        .next()
        .unwrap_or("")
        .split('|')
        .map(String::from)
        .collect()
}

/// Submit `rid`'s job (`rk resume`, not waiting); its id.
fn submit(env: &TestEnv, rid: &str) -> String {
    let out = env.run(&["resume", rid]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out).trim().to_string()
}

/// Wait until the controller has forgotten `rid`'s job `job` (squeue
/// answers and no longer lists it) and accounting has recorded its end:
/// from then on only sacct knows the job.
fn wait_until_only_accounting_knows(rid: &str, job: &str) {
    wait_for("the controller to forget the job", || {
        let out = Command::new("squeue")
            .args(["-h", "--states=all", "--name", &format!("rk-{rid}")])
            .args(["-o", "%i"])
            .output()
            .unwrap();
        out.status.success() && stdout(&out).trim().is_empty()
    });
    wait_for("accounting to record the job's end", || {
        let row = sacct_row(job);
        !["", "PENDING", "RUNNING", "COMPLETING"].contains(&row[0].as_str())
    });
}

/// A project whose dispatch command runs `<run>/job.sh`, which each test
/// writes for each of its runs.
fn job_sh_project(env: &TestEnv, slurm_args: &[&str]) {
    slurm_project(env, &strs(&sh(". {run_dir}/job.sh")), slurm_args);
}

/// A started run whose job will run `script`.
fn run_of(env: &TestEnv, rid: &str, script: &str) -> PathBuf {
    let run = started(env, rid);
    std::fs::write(run.join("job.sh"), script).unwrap();
    run
}

/// Once only accounting knows `job`: `rk status` shows what sacct says
/// (`state`, `exit`), then `rk note` closes the session with it; the closed
/// session, checked against sacct's own row.
fn close_from_accounting(env: &TestEnv, rid: &str, job: &str, state: &str, exit: i64) {
    let doc = job_json(env, rid);
    let found = &doc["slurm_job"];
    assert_eq!(
        (&found["known"], &found["phase"], &found["state"]),
        (&true.into(), &"ended".into(), &state.into()),
        "{found}"
    );
    assert_eq!(found["exit_code"], exit, "{found}");
    // A user's own time format (here "relative": "21:45:32") changes
    // nothing rk reads.
    let rk = |args: &[&str]| {
        env.cmd(args)
            .env("SLURM_TIME_FORMAT", "relative")
            .output()
            .unwrap()
    };
    let status = stdout(&rk(&["status", rid]));
    assert!(
        status.contains(&format!("job       Slurm job {job} {state} "))
            && status.contains(&format!(
                ", exit {exit}; the next command that writes the run records it"
            )),
        "{status}"
    );
    let note = rk(&["note", rid, "looked"]);
    assert_eq!(note.status.code(), Some(0), "{}", stderr(&note));
    let run = env.root().join(format!("experiments/run_{rid}"));
    let s = crate::common::last_session(&run);
    let row = sacct_row(job);
    assert_eq!(s["slurm"]["job_id"], job);
    assert_eq!(s["slurm"]["state"], state, "{s}");
    assert_eq!(s["exit_code"], exit, "{s}");
    assert_eq!(s["ended_at"], format!("{}.000000Z", row[3]), "{s} {row:?}");
    // A job never given a node never started (sacct gives its end as start).
    let node = (row[1] != "None assigned").then(|| row[1].clone());
    let start = node.as_ref().map(|_| format!("{}.000000Z", row[2]));
    assert_eq!(s["slurm"]["node"], serde_json::json!(node), "{s} {row:?}");
    assert_eq!(
        s["slurm"]["started_at"],
        serde_json::json!(start),
        "{s} {row:?}"
    );
}

#[test]
fn jobs_only_accounting_knows_close_with_sacct_s_word_completed_0_and_failed_with_their_code() {
    let one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let test =
        "jobs_only_accounting_knows_close_with_sacct_s_word_completed_0_and_failed_with_their_code";
    if !sacct_answers(test) {
        return;
    }
    let env = TestEnv::new();
    job_sh_project(&env, &[]);
    let (ok, bad) = (unique_rid("ok"), unique_rid("bad"));
    run_of(&env, &ok, "echo fine\n");
    run_of(&env, &bad, "exit 5\n");
    let (ok_job, bad_job) = (submit(&env, &ok), submit(&env, &bad));
    wait_until_ended(&env, &ok);
    wait_until_ended(&env, &bad);
    // Waiting for the controller to forget holds no CPU: let the other
    // Slurm tests run meanwhile.
    drop(one);
    wait_until_only_accounting_knows(&ok, &ok_job);
    wait_until_only_accounting_knows(&bad, &bad_job);
    assert_eq!(sacct_row(&ok_job)[0], "COMPLETED");
    assert_eq!(sacct_row(&bad_job)[0], "FAILED");

    // With accounting unreachable, a job the controller forgot is not taken
    // for unknown: rk cannot tell how it ended, so its session stays open
    // and a resume refuses.
    let dbd_down = accounting_down_conf(&env);
    let unasked = |args: &[&str]| env.cmd(args).env("SLURM_CONF", &dbd_down).output().unwrap();
    let status = stdout(&unasked(&["status", &ok]));
    assert!(
        status.contains(&format!(
            "job       Slurm job {ok_job}: cannot ask the scheduler: `sacct` cannot reach \
             Slurm's accounting storage (slurmdbd): "
        )) && status.contains("Connection refused"),
        "{status}"
    );
    let note = unasked(&["note", &ok, "while accounting is down"]);
    assert_eq!(note.status.code(), Some(0), "{}", stderr(&note));
    let ok_run = env.root().join(format!("experiments/run_{ok}"));
    let s = crate::common::last_session(&ok_run);
    assert!(
        s["ended_at"].is_null() && s["slurm"]["state"].is_null(),
        "{s}"
    );
    let again = unasked(&["resume", &ok]);
    assert_eq!(again.status.code(), Some(4), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("the scheduler cannot say whether it still runs"),
        "{}",
        stderr(&again)
    );
    assert_eq!(jobs_named(&ok), Vec::<String>::new(), "nothing submitted");

    close_from_accounting(&env, &ok, &ok_job, "COMPLETED", 0);
    close_from_accounting(&env, &bad, &bad_job, "FAILED", 5);
}

#[test]
fn jobs_only_accounting_knows_close_with_128_plus_a_signal_and_not_0_when_cancelled_pending() {
    let one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let test =
        "jobs_only_accounting_knows_close_with_128_plus_a_signal_and_not_0_when_cancelled_pending";
    if !sacct_answers(test) {
        return;
    }
    // The batch script is the shell that sources job.sh: it kills itself.
    let killed_env = TestEnv::new();
    job_sh_project(&killed_env, &[]);
    let killed = unique_rid("k");
    run_of(&killed_env, &killed, "kill -USR1 $$\n");
    let killed_job = submit(&killed_env, &killed);
    // Held, then cancelled by `rk stop --now` before it ever ran.
    let held_env = TestEnv::new();
    job_sh_project(&held_env, &["--hold"]);
    let held = unique_rid("h");
    run_of(&held_env, &held, "exit 0\n");
    let held_job = submit(&held_env, &held);
    let stop = held_env.run(&["stop", &held, "--now"]);
    assert_eq!(stop.status.code(), Some(0), "{}", stderr(&stop));
    wait_until_ended(&killed_env, &killed);
    wait_until_ended(&held_env, &held);
    drop(one);
    wait_until_only_accounting_knows(&killed, &killed_job);
    wait_until_only_accounting_knows(&held, &held_job);
    // sacct's own words: the signal in ExitCode's second half, and a
    // cancellation that names who cancelled with a zero exit code.
    assert_eq!(sacct_row(&killed_job)[4], "0:10");
    let row = sacct_row(&held_job);
    assert!(row[0].starts_with("CANCELLED by "), "{row:?}");
    assert_eq!((row[1].as_str(), row[4].as_str()), ("None assigned", "0:0"));

    close_from_accounting(&killed_env, &killed, &killed_job, "FAILED", 138);
    close_from_accounting(&held_env, &held, &held_job, "CANCELLED", 1);
}
