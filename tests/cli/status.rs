//! `rk list` and `rk status` on every overall status: running (a live
//! process holds the dispatch lock), interrupted, failed, completed, stopped,
//! not_started, archived, corrupt, no_state; status screens for a stopped, a
//! drifted, a legacy migrated and a completed run.

use crate::common::TestEnv;
use rk::canon::{self, Format, Scheme};
use rk::project::{RunDir, Settings};
use rk::state::{self, Expect, RunState};
use rk::store::Store;
use std::process::{Child, Command, Stdio};

pub const PHASES: [&str; 9] = [
    "prepare", "build", "submit", "poll", "parse", "score", "stats", "costs", "report",
];

pub const CONFIG: &str = "model:\n  name: resnet\n  lr: 0.001\nseed: 7\n";

/// A state JSON with the given phase statuses (the rest not_started).
pub fn state_json(rid: &str, statuses: &[(&str, &str)], extra: &str) -> String {
    let phases: Vec<String> = PHASES
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let st = statuses
                .iter()
                .find(|(n, _)| n == p)
                .map_or("not_started", |(_, s)| s);
            let at = if st == "not_started" {
                "null".to_string()
            } else {
                format!("\"2025-09-02T21:{:02}:10.500000Z\"", i)
            };
            format!(
                "\"{p}\": {{\"status\": \"{st}\", \"started_at\": {at}, \"updated_at\": {at}, \"last_error\": null}}"
            )
        })
        .collect();
    format!(
        "{{\"schema_version\": 1, \"run_id\": \"{rid}\", \"config_hash\": \"{}\", \"config_hash_scheme\": \"rk-c14n-v1\", \"phases\": {{{}}}{extra}}}\n",
        config_hash(CONFIG),
        phases.join(", ")
    )
}

pub fn config_hash(yaml: &str) -> String {
    let doc = canon::load(yaml.as_bytes(), Some(Format::Yaml), "c.yaml").unwrap();
    match canon::config_hash(&doc, Scheme::C14nV1) {
        canon::ConfigHash::Hex(h) => h,
        other => panic!("{other:?}"),
    }
}

pub fn legacy_hash(yaml: &str) -> String {
    let doc = canon::load(yaml.as_bytes(), Some(Format::Yaml), "c.yaml").unwrap();
    match canon::config_hash(&doc, Scheme::PyyamlSorted) {
        canon::ConfigHash::Hex(h) => h,
        other => panic!("{other:?}"),
    }
}

pub fn all(status: &str) -> Vec<(&'static str, &str)> {
    PHASES.iter().map(|p| (*p, status)).collect()
}

/// Write a run with a state and its config.
pub fn run_with(env: &TestEnv, rid: &str, statuses: &[(&str, &str)], extra: &str) {
    env.write(
        &format!("experiments/run_{rid}/run_state.json"),
        state_json(rid, statuses, extra),
    );
    env.write(
        &format!("experiments/run_{rid}/effective_config.yaml"),
        CONFIG,
    );
}

/// A child process holding the dispatch lock of a run until killed.
pub struct Holder(Child);

impl Holder {
    pub fn take(env: &TestEnv, rid: &str) -> Holder {
        let lock = env.write(&format!("experiments/run_{rid}/.rk/run.lock"), "");
        let mut child = Command::new("flock")
            .arg("-x")
            .arg(&lock)
            .arg("-c")
            .arg("echo locked; exec sleep 30")
            .stdout(Stdio::piped())
            .spawn()
            .expect("flock runs");
        use std::io::Read;
        let mut buf = [0u8; 7];
        child.stdout.take().unwrap().read_exact(&mut buf).unwrap();
        Holder(child)
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn every_status(env: &TestEnv) -> Holder {
    run_with(env, "a-running", &all("completed")[..3], "");
    let holder = Holder::take(env, "a-running");
    run_with(
        env,
        "b-interrupted",
        &[("prepare", "completed"), ("build", "in_progress")],
        "",
    );
    run_with(
        env,
        "c-failed",
        &[("prepare", "completed"), ("build", "failed")],
        "",
    );
    run_with(env, "d-completed", &all("completed"), "");
    run_with(
        env,
        "e-stopped",
        &[("prepare", "completed"), ("build", "stopped")],
        "",
    );
    run_with(env, "f-not-started", &[], "");
    // No phase has updated_at: the row shows the state file's mtime.
    let mtime = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_756_800_000);
    std::fs::File::options()
        .write(true)
        .open(
            env.root()
                .join("experiments/run_f-not-started/run_state.json"),
        )
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    run_with(
        env,
        "g-archived",
        &all("completed"),
        ", \"archive\": {\"archived_at\": \"2025-09-03T09:00:00.000000Z\", \"manifest\": \"archive_manifest.json\", \"allow_incomplete\": false}",
    );
    env.write("experiments/run_g-archived/archive_manifest.json", "{}");
    env.write(
        "experiments/run_h-corrupt/run_state.json",
        "{\"schema_version\": 1, \"phases\": {",
    );
    env.write("experiments/run_i-legacy/effective_config.yaml", CONFIG);
    env.write(
        "experiments/run_i-legacy/t1/results/trial_manifest.json",
        "{}",
    );
    holder
}

#[test]
fn list_every_overall_status() {
    let env = TestEnv::new();
    let _holder = every_status(&env);
    insta::assert_snapshot!(env.render(&["list"]));
}

#[test]
fn list_json_and_sort_by_update() {
    let env = TestEnv::new();
    run_with(&env, "old", &[("prepare", "completed")], "");
    run_with(&env, "new", &all("completed")[..6], "");
    env.write(
        "experiments/run_old/run_state.json",
        state_json(
            "old",
            &[("prepare", "completed")],
            ", \"migrated\": true, \"config_drift\": [{}, {}]",
        ),
    );
    let out = env.run(&["list", "--sort", "updated"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let order: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(order, ["new", "old"]);
    insta::assert_snapshot!(env.render(&["list", "--json"]));
}

#[test]
fn list_a_corrupt_run_among_many_is_a_row() {
    let env = TestEnv::new();
    for i in 0..40 {
        run_with(&env, &format!("r{i:02}"), &all("completed")[..i % 9], "");
    }
    env.write("experiments/run_r17/run_state.json", "[1, 2");
    let out = env.run(&["list"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 41);
    assert!(
        text.lines()
            .any(|l| l.starts_with("r17 ") && l.contains(" corrupt ")),
        "{text}"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("run r17: corrupt run_state.json"), "{err}");
}

#[test]
fn list_outside_a_project_is_exit_2() {
    let env = TestEnv::new();
    assert_eq!(env.run(&["list"]).status.code(), Some(2));
    std::fs::create_dir_all(env.root().join("experiments")).unwrap();
    insta::assert_snapshot!(env.render(&["list"]), @"RUN  STATUS  PHASE  MIGRATED  CONFIG  DRIFT  UPDATED\n[exit status: 0]\n");
}

#[test]
fn status_of_every_overall_status() {
    let env = TestEnv::new();
    let _holder = every_status(&env);
    let mut all_out = String::new();
    for rid in [
        "a-running",
        "b-interrupted",
        "c-failed",
        "d-completed",
        "e-stopped",
        "f-not-started",
        "g-archived",
        "h-corrupt",
        "i-legacy",
    ] {
        let out = env.run(&["status", rid, "--json"]);
        let want = if rid == "h-corrupt" { 5 } else { 0 };
        assert_eq!(out.status.code(), Some(want), "{rid}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let line = format!("{rid}: {} | {}\n", v["status"], v["next"]);
        all_out.push_str(&line.replace(env.root().to_str().unwrap(), "[ROOT]"));
        if rid == "a-running" {
            assert!(v["held_by"].is_object(), "{v}");
        }
    }
    insta::assert_snapshot!(all_out);
}

#[test]
fn status_no_such_run_is_exit_2() {
    let env = TestEnv::new();
    run_with(&env, "r1", &[], "");
    insta::assert_snapshot!(env.render(&["status", "r2"]));
}

pub fn trial(env: &TestEnv, rid: &str, slug: &str, files: &[&str]) {
    env.write(
        &format!("experiments/run_{rid}/{slug}/results/trial_manifest.json"),
        r#"{"schema_version": 2, "datasets": {"d": ["ds-1"]}, "job_status": {"d_p01": "completed"}}"#,
    );
    env.write(
        &format!("experiments/run_{rid}/{slug}/results/results_combined.jsonl"),
        "{}\n",
    );
    for f in files {
        env.write(&format!("experiments/run_{rid}/{slug}/{f}"), "x\n");
    }
}

#[test]
fn status_stopped_run() {
    let env = TestEnv::new();
    let done: Vec<_> = all("completed")[..4].to_vec();
    let mut statuses = done.clone();
    statuses.push(("parse", "stopped"));
    run_with(
        &env,
        "r1",
        &statuses,
        r#", "sessions": [{"started_at": "2025-09-02T21:00:00.000000Z", "ended_at": "2025-09-02T21:05:00.000000Z", "command": ["python"], "steps": ["parse"], "exit_code": 130, "host": "node1", "pid": 42}]"#,
    );
    for i in 0..8 {
        let files: &[&str] = if i < 5 {
            &["results/predictions.csv"]
        } else {
            &[]
        };
        trial(&env, "r1", &format!("t{i}"), files);
    }
    env.write(
        "experiments/run_r1/STOP_REQUESTED",
        "2025-09-02T21:04:00.000000Z\n",
    );
    insta::assert_snapshot!(env.render(&["status", "r1"]));
}

pub fn commit_with_config(env: &TestEnv, rid: &str, state_text: &str, config: &str) {
    let run = RunDir {
        rid: rid.into(),
        path: env.root().join(format!("experiments/run_{rid}")),
    };
    let settings = Settings::default();
    let doc = canon::load(config.as_bytes(), Some(Format::Yaml), "c.yaml").unwrap();
    let id = Store::new(&run).put_value(&doc.value).unwrap();
    let state = RunState::from_slice(state_text.as_bytes()).unwrap();
    state::commit(&run, &settings, "init", "test", &Expect::Any, |draft| {
        draft.state = state;
        draft.config = Some(id);
        Ok::<_, state::Error>(())
    })
    .unwrap();
}

#[test]
fn status_drifted_run() {
    let env = TestEnv::new();
    let text = state_json("r1", &all("completed")[..4], "");
    env.write("experiments/run_r1/effective_config.yaml", CONFIG);
    commit_with_config(&env, "r1", &text, CONFIG);
    env.write(
        "experiments/run_r1/effective_config.yaml",
        CONFIG
            .replace("0.001", "0.01")
            .replace("seed: 7", "seed: 8"),
    );
    insta::assert_snapshot!(env.render(&["status", "r1"]));
}

#[test]
fn status_legacy_migrated_run() {
    let env = TestEnv::new();
    let text = state_json("r1", &all("completed")[..2], "")
        .replace("\"config_hash_scheme\": \"rk-c14n-v1\", ", "")
        .replace(&config_hash(CONFIG), &legacy_hash(CONFIG))
        .replace(
            "\"schema_version\": 1,",
            r#""schema_version": 1, "migrated": true, "notes": [{"created_by": "rk migrate", "created_at": "2025-09-02T20:00:00.000000Z", "message": "poll inferred from 2 of 3 trials"}],"#,
        );
    env.write("experiments/run_r1/run_state.json", text);
    env.write("experiments/run_r1/effective_config.yaml", CONFIG);
    trial(&env, "r1", "t0", &[]);
    trial(&env, "r1", "t1", &[]);
    env.write(
        "experiments/run_r1/t2/results/trial_manifest.json",
        "{not json",
    );
    insta::assert_snapshot!(env.render(&["status", "r1"]));
}

#[test]
fn status_completed_run() {
    let env = TestEnv::new();
    run_with(&env, "r1", &all("completed"), "");
    for i in 0..3 {
        trial(
            &env,
            "r1",
            &format!("t{i}"),
            &[
                "results/predictions.csv",
                "results/per_item_scores.csv",
                "results/significance.json",
                "results/costs.json",
                "reports/report.md",
            ],
        );
    }
    insta::assert_snapshot!(env.render(&["status", "r1"]));
}

#[test]
fn status_corrupt_state_shows_the_recovery() {
    let env = TestEnv::new();
    let text = state_json("r1", &all("completed")[..2], "");
    env.write("experiments/run_r1/effective_config.yaml", CONFIG);
    commit_with_config(&env, "r1", &text, CONFIG);
    env.write("experiments/run_r1/run_state.json", "{\"phases\": ");
    let out = env.run(&["status", "r1", "--json"]);
    // Shown, with the recovery, and exit 5: the verdict list and fsck give.
    assert_eq!(out.status.code(), Some(5));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "corrupt");
    let id = v["last_good_snapshot"].as_str().unwrap();
    assert_eq!(v["next"], format!("rk restore r1 --at {}", &id[..12]));
    assert_eq!(
        v["next_commands"],
        serde_json::json!([format!("rk restore r1 --at {}", &id[..12])])
    );
    // The advice works.
    assert_eq!(
        env.run(&["restore", "r1", "--at", id]).status.code(),
        Some(0)
    );
    let out = env.run(&["status", "r1", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "interrupted");
}

/// The next command is for the shell as printed (`eval "$(rk next RUN)"`):
/// a run named by a path, and the state file the corrupt-state advice moves
/// aside, stay one word each when the project's path holds a space or a
/// quote.
#[test]
fn the_next_command_runs_as_printed_from_a_path_with_spaces() {
    let env = TestEnv::new();
    let dir = "my 'runs' here";
    let all: Vec<(&str, &str)> = PHASES.iter().map(|p| (*p, "completed")).collect();
    env.write(
        &format!("{dir}/experiments/run_r1/effective_config.yaml"),
        CONFIG,
    );
    env.write(
        &format!("{dir}/experiments/run_r1/run_state.json"),
        state_json("r1", &all, ""),
    );
    env.write(
        &format!("{dir}/experiments/run_r2/effective_config.yaml"),
        CONFIG,
    );
    env.write(
        &format!("{dir}/experiments/run_r2/run_state.json"),
        "{\"schema_version\": 1,",
    );
    let project = env.root().join(dir);
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_rk"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let in_shell = |line: &str| {
        Command::new("sh")
            .args(["-c", line])
            .current_dir(&project)
            .env("PATH", &path)
            .env("RK_NOW", crate::common::NOW)
            .env("NO_COLOR", "1")
            .env_remove("RK_PROJECT")
            .output()
            .unwrap()
    };
    let project_arg = project.to_str().unwrap();
    let r1 = project.join("experiments/run_r1");
    for (operand, done) in [
        (
            r1.to_str().unwrap(),
            "experiments/run_r1/archive_manifest.json",
        ),
        ("r2", "experiments/run_r2/.rk/HEAD"),
    ] {
        let out = env.run(&["-C", project_arg, "next", operand]);
        assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
        let line = String::from_utf8(out.stdout).unwrap();
        let status = env.run(&["-C", project_arg, "status", operand, "--json"]);
        let doc: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        assert_eq!(doc["next"].as_str(), Some(line.trim_end()), "{operand}");
        let ran = in_shell(line.trim_end());
        assert_eq!(
            ran.status.code(),
            Some(0),
            "`{}`: {}",
            line.trim_end(),
            env.render_output(&ran)
        );
        assert!(
            project.join(done).exists(),
            "`{}` made no {done}",
            line.trim_end()
        );
    }
}

/// A state file rk may not read (its mode, another user's file) is not
/// damaged: status, read-state and resume say it cannot be read and point at
/// its owner and mode, never at restoring a snapshot over it (exit 5 as for
/// any unreadable state), `rk next` says the same, and nothing is written.
#[test]
fn a_state_file_rk_may_not_read_is_a_permission_problem_not_damage() {
    let env = TestEnv::new();
    let run = crate::common::started_run(&env, "r1", CONFIG);
    let state = run.join("run_state.json");
    let before = crate::common::tree(env.root());
    for args in [
        &["status", "r1"][..],
        &["status", "r1", "--json"],
        &["read-state", "r1"],
        &["resume", "r1", "--dry-run"],
    ] {
        let Some(mut cmd) = crate::common::cmd_without_access(&env, &state, args) else {
            return;
        };
        let out = cmd.output().unwrap();
        let shown = env.render_output(&out);
        assert_eq!(out.status.code(), Some(5), "{args:?}: {shown}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("cannot be read"), "{args:?}: {shown}");
        assert!(stderr.contains("Permission denied"), "{args:?}: {shown}");
        assert!(stderr.contains("rk: hint:"), "{args:?}: {shown}");
        assert!(stderr.contains("ls -l"), "{args:?}: {shown}");
        assert!(!shown.contains("restore"), "{args:?}: {shown}");
        assert!(!shown.contains("the top level"), "{args:?}: {shown}");
    }
    let mut cmd = crate::common::cmd_without_access(&env, &state, &["next", "r1"]).unwrap();
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("ls -l {}\n", state.display()),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o644)).unwrap();
    crate::common::assert_same_tree(
        &before,
        &crate::common::tree(env.root()),
        "an unreadable state",
    );
}
