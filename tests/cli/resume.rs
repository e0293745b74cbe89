//! `rk resume` with real child processes: the dispatch command is a small
//! shell script that appends its arguments to a log, so each test sees
//! exactly what was dispatched, how often, and with which exit code.

use crate::common::{c14n_hash, last_session, state_of, wait_for, TestEnv};
use rk::canon::{self, ConfigHash, Scheme};
use rk::state::RunState;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

const PHASES: [&str; 9] = [
    "prepare", "build", "submit", "poll", "parse", "score", "stats", "costs", "report",
];
const CONFIG: &str = "model:\n  name: tiny\n  lr: 0.001\nseed: 7\n";

/// The orchestrator stand-in: logs its argv, then behaves as `MODE` says.
const SCRIPT: &str = r#"#!/bin/sh
log="$(dirname "$0")/dispatched.log"
echo "start $*" >> "$log"
case "$RK_TEST_MODE" in
  sleep) sleep "${RK_TEST_SLEEP:-2}" ;;
  trap) trap 'echo "got INT" >> "$log"; exit 42' INT
        sleep 10 & wait ;;
  fail) exit 3 ;;
  helper) # leaves a helper holding the state lock, then fails
        flock "$RK_TEST_LOCK" sleep 5 > /dev/null 2>&1 &
        sleep 0.5; exit 3 ;;
esac
echo "end" >> "$log"
"#;

/// The stand-in checks no outputs of its own, so rk plans where it starts
/// (`dispatch.plan: rk`); the default plan is tested in python_interop.
fn project(env: &TestEnv) {
    let script = env.write("orchestrator.sh", SCRIPT);
    env.write(
        "rk.yaml",
        format!(
            "dispatch:\n  plan: rk\n  command: [sh, {:?}, \"{{run_id}}\"]\n",
            script.display().to_string()
        ),
    );
}

fn state_json(rid: &str, hash: &str, scheme: Option<&str>, statuses: &[(&str, &str)]) -> String {
    let phases: Vec<String> = statuses
        .iter()
        .map(|(p, s)| {
            format!(
                "\"{p}\": {{\"status\": \"{s}\", \"updated_at\": \"2025-09-02T21:47:10.500000Z\"}}"
            )
        })
        .collect();
    let scheme = scheme
        .map(|s| format!("\"config_hash_scheme\": \"{s}\","))
        .unwrap_or_default();
    format!(
        "{{\"schema_version\": 1, \"run_id\": \"{rid}\", \"config_hash\": \"{hash}\", {scheme} \
         \"config_path\": \"effective_config.yaml\", \"phases\": {{{}}}, \"stop_requested\": false}}\n",
        phases.join(", ")
    )
}

/// A run whose state and recorded config object are written through the
/// library's one write path, as `rk init` would.
fn recorded_run(env: &TestEnv, rid: &str, statuses: &[(&str, &str)]) -> PathBuf {
    let text = state_json(rid, &c14n_hash(CONFIG), Some("rk-c14n-v1"), statuses);
    let state = RunState::from_slice(text.as_bytes()).unwrap();
    crate::common::run_with_state(env, rid, CONFIG, &state)
}

fn dispatched(env: &TestEnv) -> Vec<String> {
    std::fs::read_to_string(env.root().join("dispatched.log"))
        .map(|s| s.lines().map(String::from).collect())
        .unwrap_or_default()
}

fn statuses(done: usize, current: Option<&str>) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = PHASES[..done].iter().map(|p| (*p, "completed")).collect();
    if let (Some(status), Some(p)) = (current, PHASES.get(done)) {
        out.push((p, status_static(status)));
    }
    out
}

fn status_static(s: &str) -> &'static str {
    match s {
        "in_progress" => "in_progress",
        "stopped" => "stopped",
        "failed" => "failed",
        _ => "not_started",
    }
}

#[test]
fn dispatches_from_the_first_unfinished_phase_at_every_interruption_point() {
    for (done, current) in [
        (0, None),
        (1, Some("in_progress")),
        (3, Some("stopped")),
        (4, Some("failed")),
        (5, None),
        (8, Some("in_progress")),
    ] {
        let env = TestEnv::new();
        project(&env);
        recorded_run(&env, "r1", &statuses(done, current));
        let out = env.run(&["resume", "r1"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = dispatched(&env);
        assert_eq!(log.len(), 2, "{log:?}");
        assert_eq!(log[0], format!("start r1 --from_step {}", PHASES[done]));
    }
}

#[test]
fn named_steps_pass_through_as_given() {
    let env = TestEnv::new();
    project(&env);
    recorded_run(&env, "r1", &statuses(9, None));
    assert_eq!(
        env.run(&["resume", "r1", "--only_step", "poll"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        env.run(&[
            "resume",
            "--run_id",
            "r1",
            "--from-step",
            "parse",
            "--to_step",
            "stats"
        ])
        .status
        .code(),
        Some(0)
    );
    assert_eq!(
        env.run(&["resume", "r1", "--to-step", "build"])
            .status
            .code(),
        Some(0)
    );
    let starts: Vec<String> = dispatched(&env)
        .into_iter()
        .filter(|l| l.starts_with("start"))
        .collect();
    assert_eq!(
        starts,
        [
            "start r1 --only_step poll",
            "start r1 --from_step parse --to_step stats",
            "start r1 --to_step build"
        ]
    );
}

#[test]
fn a_completed_run_is_not_dispatched() {
    let env = TestEnv::new();
    project(&env);
    recorded_run(&env, "r1", &statuses(9, None));
    insta::assert_snapshot!(env.render(&["resume", "r1"]), @r#"
    [stderr]
    rk: nothing to resume: run r1 is completed and its outputs are all there
    [exit status: 0]
    "#);
    assert!(dispatched(&env).is_empty());
}

#[test]
fn drift_is_refused_with_a_diff_and_force_records_it() {
    let env = TestEnv::new();
    project(&env);
    let run = recorded_run(&env, "r1", &statuses(4, Some("stopped")));
    env.write(
        "experiments/run_r1/effective_config.yaml",
        CONFIG.replace("0.001", "0.002"),
    );
    let before = crate::common::tree(env.root());
    insta::assert_snapshot!(env.render(&["resume", "r1"]), @r#"
    --- a/r1@recorded
    +++ b/r1
    @@ -1,6 +1,6 @@
     {
       "model": {
    -    "lr": 0.001,
    +    "lr": 0.002,
         "name": "tiny"
       },
       "seed": 7
    [stderr]
    rk: error: config drift in run r1: the config hashes to 99fbf0a1e696 but the run recorded 2afde405964c (rk-c14n-v1); nothing dispatched
    rk: hint: review it with `rk diff-config r1@recorded r1`; to go on with the new config: `rk resume r1 --force` (the drift is recorded)
    [exit status: 3]
    "#);
    assert!(dispatched(&env).is_empty());
    // A refusal writes nothing but the dispatch lock's informational file.
    let mut after = crate::common::tree(env.root());
    after.retain(|(p, _)| !p.ends_with(".rk/run.lock"));
    crate::common::assert_same_tree(&before, &after, "a drift refusal");

    let out = env.run(&["resume", "r1", "--force"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(dispatched(&env), ["start r1 --from_step parse", "end"]);
    let state = state_of(&run);
    let drift = state["config_drift"].as_array().unwrap();
    assert_eq!(drift.len(), 1);
    assert_eq!(drift[0]["forced"], true);
    assert_eq!(drift[0]["actual"], state["config_hash"]);
    assert_eq!(
        state["config_hash"],
        c14n_hash(&CONFIG.replace("0.001", "0.002"))
    );
    // The new config is now the recorded one: no drift, no refusal.
    assert_eq!(
        env.run(&["diff-config", "r1@recorded", "r1"]).status.code(),
        Some(0)
    );
    assert_eq!(
        env.run(&["resume", "r1", "--dry-run"]).status.code(),
        Some(0)
    );
}

#[test]
fn a_legacy_pyyaml_sorted_state_resumes_without_false_drift() {
    let env = TestEnv::new();
    project(&env);
    let config = "# the Python tool set's config\nmodel: {name: tiny, lr: 1.0e-05, stop: ['\\n', '###']}\nseeds: [1, 2, 3]\nflag: yes\nname: '0755'\n";
    env.write("experiments/run_legacy/effective_config.yaml", config);
    let doc = canon::load(config.as_bytes(), None, "cfg").unwrap();
    let ConfigHash::Hex(legacy) = canon::config_hash(&doc, Scheme::PyyamlSorted) else {
        panic!("verifiable")
    };
    env.write(
        "experiments/run_legacy/run_state.json",
        state_json("legacy", &legacy, None, &statuses(2, Some("in_progress"))),
    );
    let out = env.run(&["resume", "legacy"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(dispatched(&env)[0], "start legacy --from_step submit");
    let state = state_of(&env.root().join("experiments/run_legacy"));
    assert_eq!(
        state["config_hash"],
        legacy.as_str(),
        "the legacy hash is kept"
    );
    assert!(state.get("config_hash_scheme").is_none());

    // A changed legacy config is refused, with a diff: the resume above found
    // the config matching the legacy hash and stored it as the recorded one.
    env.write(
        "experiments/run_legacy/effective_config.yaml",
        config.replace("seeds: [1, 2, 3]", "seeds: [1, 2]"),
    );
    let out = env.run(&["resume", "legacy"]);
    assert_eq!(out.status.code(), Some(3));
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(diff.contains("--- a/legacy@recorded"), "{diff}");
    assert!(diff.contains("-    3\n"), "{diff}");
}

#[test]
fn two_resumes_at_once_dispatch_exactly_once() {
    let env = TestEnv::new();
    project(&env);
    recorded_run(&env, "r1", &statuses(2, None));
    let mut first = env
        .cmd(&["resume", "r1"])
        .env("RK_TEST_MODE", "sleep")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the first dispatch", || !dispatched(&env).is_empty());
    let second = env.run(&["resume", "r1"]);
    assert_eq!(second.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains(&format!("pid {}", first.id())), "{stderr}");
    assert!(
        stderr.contains("rk resume r1"),
        "names the holder's command: {stderr}"
    );
    assert!(first.wait().unwrap().success());
    let starts = dispatched(&env)
        .iter()
        .filter(|l| l.starts_with("start"))
        .count();
    assert_eq!(starts, 1);
}

#[test]
fn the_lock_outlives_a_killed_rk_until_the_orchestrator_ends() {
    let env = TestEnv::new();
    project(&env);
    recorded_run(&env, "r1", &statuses(2, None));
    let mut rk = env
        .cmd(&["resume", "r1"])
        .env("RK_TEST_MODE", "sleep")
        .env("RK_TEST_SLEEP", "2")
        .spawn()
        .unwrap();
    wait_for("the dispatch", || !dispatched(&env).is_empty());
    // SIGKILL rk itself; the orchestrator keeps running and keeps the lock.
    unsafe { libc::kill(rk.id() as i32, libc::SIGKILL) };
    let _ = rk.wait();
    let busy = env.run(&["resume", "r1", "--dry-run"]);
    assert_eq!(
        busy.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&busy.stderr)
    );
    wait_for("the orchestrator to end", || {
        dispatched(&env).iter().any(|l| l == "end")
    });
    wait_for("the lock to be released", || {
        env.run(&["resume", "r1", "--dry-run"]).status.code() == Some(0)
    });
    let again = env.run(&["resume", "r1"]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn an_interrupt_reaches_the_orchestrator_and_its_exit_code_comes_back() {
    let env = TestEnv::new();
    project(&env);
    let run = recorded_run(&env, "r1", &statuses(2, None));
    let mut rk = env
        .cmd(&["resume", "r1"])
        .env("RK_TEST_MODE", "trap")
        .spawn()
        .unwrap();
    wait_for("the dispatch", || !dispatched(&env).is_empty());
    std::thread::sleep(Duration::from_millis(200));
    unsafe { libc::kill(rk.id() as i32, libc::SIGINT) };
    let status = rk.wait().unwrap();
    assert_eq!(status.code(), Some(42));
    assert!(dispatched(&env).contains(&"got INT".to_string()));
    let session = last_session(&run);
    assert_eq!(session["exit_code"], 42);
    assert!(session["ended_at"].is_string());
}

#[test]
fn the_orchestrators_failure_code_is_returned_and_recorded() {
    let env = TestEnv::new();
    project(&env);
    let run = recorded_run(&env, "r1", &statuses(2, None));
    let out = env
        .cmd(&["resume", "r1"])
        .env("RK_TEST_MODE", "fail")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("rk: the orchestrator exited with 3"),
        "{}",
        env.render_output(&out)
    );
    assert_eq!(state_of(&run)["sessions"][0]["exit_code"], 3);
    let log = env.run(&["log", "r1"]);
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(
        log.contains(" resume\t") && log.contains(" resume-exit\tresume exited 3"),
        "{log}"
    );
}

#[test]
fn dry_run_writes_nothing_and_prints_the_argv() {
    let env = TestEnv::new();
    project(&env);
    recorded_run(&env, "r1", &statuses(3, Some("in_progress")));
    env.write(
        "experiments/run_r1/STOP_REQUESTED",
        "2025-09-02T22:00:00Z\n",
    );
    let before = crate::common::tree(env.root());
    let out = env.run(&["resume", "r1", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0));
    let argv = String::from_utf8_lossy(&out.stdout);
    assert!(
        argv.starts_with("sh ")
            && argv
                .trim_end()
                .ends_with("orchestrator.sh r1 --from_step poll"),
        "{argv}"
    );
    crate::common::assert_same_tree(&before, &crate::common::tree(env.root()), "--dry-run");
    assert!(dispatched(&env).is_empty());
}

#[test]
fn a_leftover_stop_request_is_cleared_and_noted() {
    let env = TestEnv::new();
    project(&env);
    let run = recorded_run(&env, "r1", &statuses(3, Some("stopped")));
    env.write(
        "experiments/run_r1/STOP_REQUESTED",
        "2025-09-02T22:00:00Z\n",
    );
    assert_eq!(env.run(&["resume", "r1"]).status.code(), Some(0));
    assert!(!run.join("STOP_REQUESTED").exists());
    assert!(run.join("STOP_REQUESTED.cleared.20250903T100000Z").exists());
    let state = state_of(&run);
    assert!(state["notes"][0]["message"]
        .as_str()
        .unwrap()
        .contains("cleared a leftover STOP_REQUESTED"));
}

#[test]
fn bad_input_is_refused_with_the_documented_codes() {
    let env = TestEnv::new();
    project(&env);
    let run = recorded_run(&env, "r1", &statuses(2, None));
    let render = |args: &[&str]| env.render(args);
    insta::assert_snapshot!(render(&["resume", "r1", "--from-step", "nope"]), @r#"
    [stderr]
    rk: error: unknown step "nope"
    rk: hint: valid steps: prepare, build, submit, poll, parse, score, stats, costs, report
    [exit status: 2]
    "#);
    insta::assert_snapshot!(render(&["resume", "r1", "--from-step", "score", "--to-step", "poll"]), @r#"
    [stderr]
    rk: error: --from-step score comes after --to-step poll in the pipeline
    rk: hint: the pipeline is: prepare → build → submit → poll → parse → score → stats → costs → report
    [exit status: 2]
    "#);
    let out = env.run(&["resume", "r1", "--only-step", "poll", "--to-step", "parse"]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(render(&["resume", "r2"]), @r#"
    [stderr]
    rk: error: no run "r2" in [ROOT]/experiments; closest: r1
    rk: hint: `rk list` shows every run of the project
    [exit status: 2]
    "#);
    assert_eq!(env.run(&["resume", "../x"]).status.code(), Some(2));

    std::fs::remove_file(run.join("effective_config.yaml")).unwrap();
    insta::assert_snapshot!(render(&["resume", "r1"]), @r#"
    [stderr]
    rk: error: run r1 has no config: rk looked for [ROOT]/experiments/run_r1/effective_config.yaml and no --config was given
    rk: hint: pass the config the run was started with: rk resume r1 --config PATH
    [exit status: 2]
    "#);
    env.write("elsewhere.yaml", CONFIG);
    let out = env.run(&["resume", "r1", "--config", "elsewhere.yaml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "--config is used when the run has none"
    );

    env.write(
        "experiments/run_r1/run_state.json",
        "{\"schema_version\": 1, \"phases\": {",
    );
    let out = env.run(&["resume", "r1", "--config", "elsewhere.yaml"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("run_state.json"));
    assert_eq!(
        dispatched(&env)
            .iter()
            .filter(|l| l.starts_with("start"))
            .count(),
        1
    );
}

#[test]
fn a_command_that_cannot_start_is_exit_2_and_recorded() {
    let env = TestEnv::new();
    env.write(
        "rk.yaml",
        "dispatch:\n  command: [/nonexistent/orchestrator]\n",
    );
    let run = recorded_run(&env, "r1", &statuses(2, None));
    let out = env.run(&["resume", "r1"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot start \"/nonexistent/orchestrator\""),
        "{stderr}"
    );
    let session = state_of(&run)["sessions"][0].clone();
    assert!(session["error"].as_str().unwrap().contains("cannot start"));
    assert!(session["exit_code"].is_null());
    // The lock was released.
    assert_eq!(
        env.run(&["resume", "r1", "--dry-run"]).status.code(),
        Some(0)
    );
}

#[test]
fn config_values_reach_dispatch_only_as_inert_arguments() {
    let env = TestEnv::new();
    project(&env);
    recorded_run(&env, "r1", &statuses(2, None));
    let pwned = env.root().join("pwned");
    let evil = format!("$(touch {}); rm -rf ~", pwned.display());
    let out = env.run(&[
        "resume",
        "r1",
        "--",
        "sh",
        &env.root().join("orchestrator.sh").display().to_string(),
        &evil,
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!pwned.exists());
    assert_eq!(
        dispatched(&env)[0],
        format!("start {evil} --from_step submit")
    );
}

#[test]
fn a_run_without_state_is_migrated_first_then_resumed_where_the_files_say() {
    let env = TestEnv::new();
    crate::common::orchestrated_project(&env, "");
    let run =
        crate::common::started_run(&env, "old", "trials:\n  t1: [ds-1, ds-2]\n  t2: [ds-1]\n");
    assert_eq!(
        env.run(&["resume", "old", "--to-step", "parse"])
            .status
            .code(),
        Some(0)
    );
    std::fs::remove_file(run.join("run_state.json")).unwrap();
    std::fs::remove_dir_all(run.join(".rk")).unwrap();
    let before = crate::common::tree(env.root());
    let dry = env.run(&["resume", "old", "--dry-run"]);
    assert_eq!(
        dry.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(!String::from_utf8_lossy(&dry.stdout).contains("--from_step"));
    assert!(String::from_utf8_lossy(&dry.stderr).contains("score is the first phase not completed"));
    crate::common::assert_same_tree(
        &before,
        &crate::common::tree(env.root()),
        "a dry run of a legacy run",
    );
    let out = env.run(&["resume", "old"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("migrating it first"));
    let state = state_of(&run);
    assert_eq!(state["migrated"], true);
    assert_eq!(state["phases"]["report"]["status"], "completed");
    assert_eq!(state["sessions"][0]["steps"][0], "score");
}

/// A helper the orchestrator leaves holding the state lock makes recording
/// the session's end fail: rk says so, and still exits with the
/// orchestrator's own code (never 4 for the lock).
#[test]
fn a_helper_holding_the_lock_never_replaces_the_orchestrators_code() {
    if std::process::Command::new("flock")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no flock(1) on this machine");
        return;
    }
    let env = TestEnv::new();
    project(&env);
    recorded_run(&env, "r1", &statuses(2, None));
    let out = env
        .cmd(&["resume", "r1"])
        .env("RK_TEST_MODE", "helper")
        .env(
            "RK_TEST_LOCK",
            env.root().join("experiments/run_r1/.state.lock"),
        )
        .env("RK_LOCK_TIMEOUT_MS", "200")
        .output()
        .unwrap();
    let shown = env.render_output(&out);
    assert_eq!(out.status.code(), Some(3), "{shown}");
    assert!(
        shown.contains("rk: warning: the end of this session is not recorded")
            && shown.contains("rk: the orchestrator exited with 3"),
        "{shown}"
    );
}
