//! rk beside the Python tool set: the same runs, used from both sides.
//!
//! The fixtures are rk's own: states written the way the Python tool set
//! writes them (`json.dump(state, indent=2)`, no `config_hash_scheme`, hashes
//! from `yaml.safe_dump(cfg, sort_keys=True)`), and small Python or shell
//! orchestrators that behave as the real one does where it matters (rewrite
//! the effective config at start, keep the state in memory and rewrite it
//! whole, never mark a phase they skip). Where python3 and PyYAML are
//! installed, every hash rk writes is checked with PyYAML itself; where they
//! are not, those tests say so and skip.

use crate::common::{last_session, state_of, TestEnv};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What PyYAML says a config file hashes to, the way `resume_run.py` checks
/// it; `None` (with the reason printed) when python3 or PyYAML is missing.
fn pyyaml_hash(path: &Path) -> Option<String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import hashlib, sys, yaml\n\
             cfg = yaml.safe_load(open(sys.argv[1], encoding='utf-8')) or {}\n\
             print(hashlib.sha256(yaml.safe_dump(cfg, sort_keys=True).encode('utf-8')).hexdigest())",
        ])
        .arg(path)
        .output();
    match out {
        Ok(out) if out.status.success() => {
            Some(String::from_utf8(out.stdout).unwrap().trim().to_string())
        }
        Ok(out) => {
            eprintln!(
                "skipped: python3 cannot hash with PyYAML: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            None
        }
        Err(e) => {
            eprintln!("skipped: python3 is not available: {e}");
            None
        }
    }
}

/// The recorded hash must be the one PyYAML computes from the run's config.
fn assert_pyyaml_agrees(run: &Path, what: &str) {
    let state = state_of(run);
    let Some(expected) = pyyaml_hash(&run.join("effective_config.yaml")) else {
        return;
    };
    assert_eq!(
        state["config_hash"].as_str(),
        Some(expected.as_str()),
        "{what}: rk recorded a hash PyYAML does not compute"
    );
    assert!(
        matches!(
            state["config_hash_scheme"].as_str(),
            None | Some("pyyaml-sorted")
        ),
        "{what}: scheme {}",
        state["config_hash_scheme"]
    );
}

/// A config that exercises the emitter: floats, quoting, unicode, long
/// strings that fold, nested lists, empty collections and nulls.
const RICH_CONFIG: &str = "\
model_id: accounts/fireworks/models/llama-v3p1-70b-instruct
temps: [0.0, 0.7, 1.0e-05]
samples_per_item: {'0.0': 1, '0.7': 5}
paths:
  raw_dir: data/raw
  prepared_dir: data/prepared
  batch_inputs_dir: data/batch_inputs
  results_dir: results
  reports_dir: reports
prompt: \"Answer with 'yes' or 'no': é ü 日本\"
long: this is a long sentence that goes on and on beyond eighty columns so PyYAML has to fold it somewhere
sweep: {}
flags: [yes, no, 'on', ~, 0o17, 0x1F, '012']
nested: [[1, 2], {a: null, b: [true, false]}]
";

/// A project with no rk.yaml (the Python tool set's layout).
fn python_project(env: &TestEnv) {
    std::fs::create_dir_all(env.root().join("experiments")).unwrap();
}

#[test]
fn every_hash_rk_writes_is_the_one_pyyaml_computes() {
    let env = TestEnv::new();
    python_project(&env);
    env.write("cfg.yaml", RICH_CONFIG);

    // init
    let out = env.run(&["init", "r1", "--config", "cfg.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    let r1 = env.root().join("experiments/run_r1");
    assert_pyyaml_agrees(&r1, "init");

    // migrate (a legacy run without state)
    env.write("experiments/run_r2/effective_config.yaml", RICH_CONFIG);
    env.write(
        "experiments/run_r2/t1/results/trial_manifest.json",
        r#"{"schema_version": 2, "run_id": "r2", "datasets": {}}"#,
    );
    let out = env.run(&["migrate", "r2"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert_pyyaml_agrees(&env.root().join("experiments/run_r2"), "migrate");

    // resume --force after drift records the new hash under the same scheme
    let changed = RICH_CONFIG.replace("0.7, 1.0e-05", "0.9, 1.0e-05");
    env.write("experiments/run_r1/effective_config.yaml", &changed);
    let out = env
        .cmd(&["resume", "r1", "--force", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert_pyyaml_agrees(&r1, "resume --force");
    let drift = &state_of(&r1)["config_drift"][0];
    assert_eq!(drift["expected_scheme"], "pyyaml-sorted");
    assert_eq!(drift["actual_scheme"], "pyyaml-sorted");
}

#[test]
fn a_config_rk_cannot_reproduce_is_hashed_by_pyyaml_or_refused() {
    let env = TestEnv::new();
    python_project(&env);
    // A YAML timestamp: PyYAML loads a datetime, which rk does not model.
    env.write("cfg.yaml", "started: 2025-09-02 21:46:42\nmodel: m\n");
    let before = crate::common::tree(env.root());
    let out = env
        .cmd(&["init", "r1", "--config", "cfg.yaml"])
        .env("RK_PYTHON", "/nonexistent/python3")
        .output()
        .unwrap();
    let shown = env.render_output(&out);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(shown.contains("/started is a YAML timestamp"), "{shown}");
    assert!(shown.contains("hash: {scheme: rk-c14n-v1}"), "{shown}");
    assert!(shown.contains("RK_PYTHON"), "{shown}");
    crate::common::assert_same_tree(&before, &crate::common::tree(env.root()), "refused init");

    if pyyaml_hash(&env.root().join("cfg.yaml")).is_none() {
        return;
    }
    let out = env.run(&["init", "r1", "--config", "cfg.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert_pyyaml_agrees(&env.root().join("experiments/run_r1"), "init via PyYAML");
    // rk still cannot verify it on its own, and says so rather than guess.
    let status = env.render(&["status", "r1"]);
    assert!(
        status.contains("unverifiable under pyyaml-sorted"),
        "{status}"
    );
}

#[test]
fn hash_scheme_in_rk_yaml_chooses_the_scheme_of_new_runs_only() {
    let env = TestEnv::new();
    env.write("rk.yaml", "hash:\n  scheme: rk-c14n-v1\n");
    std::fs::create_dir_all(env.root().join("experiments")).unwrap();
    env.write("cfg.yaml", "a: 1\n");
    assert_eq!(
        env.run(&["init", "r1", "--config", "cfg.yaml"])
            .status
            .code(),
        Some(0)
    );
    let r1 = env.root().join("experiments/run_r1");
    assert_eq!(state_of(&r1)["config_hash_scheme"], "rk-c14n-v1");
    // A run the Python tool set made keeps its scheme when forced past drift.
    let r2 = python_run(&env, "r2", "a: 1\n", &[]);
    env.write("experiments/run_r2/effective_config.yaml", "a: 2\n");
    let out = env
        .cmd(&["resume", "r2", "--force", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert_eq!(state_of(&r2)["config_hash_scheme"], "pyyaml-sorted");
    assert_pyyaml_agrees(&r2, "forced drift of a Python run");
    // A bad value names the setting.
    env.write("rk.yaml", "hash:\n  scheme: sha1\n");
    let shown = env.render(&["list"]);
    assert!(
        shown.contains("hash.scheme must be `pyyaml-sorted` or `rk-c14n-v1`"),
        "{shown}"
    );
}

/// A run as the Python tool set leaves it: effective_config.yaml and a
/// run_state.json written by `json.dump(state, indent=2)` with the PyYAML
/// hash and no `config_hash_scheme`; `statuses` sets phases (others
/// not_started).
pub fn python_run(env: &TestEnv, rid: &str, config: &str, statuses: &[(&str, &str)]) -> PathBuf {
    let dir = env.root().join(format!("experiments/run_{rid}"));
    env.write(
        &format!("experiments/run_{rid}/effective_config.yaml"),
        config,
    );
    let doc = rk::canon::load(config.as_bytes(), None, "config").unwrap();
    let hash = match rk::canon::config_hash(&doc, rk::canon::Scheme::PyyamlSorted) {
        rk::canon::ConfigHash::Hex(h) => h,
        other => panic!("fixture config must be verifiable: {other:?}"),
    };
    write_python_state(&dir, rid, Some(&hash), statuses);
    dir
}

/// run_state.json exactly as state_utils.py's `init_run_state` +
/// `update_phase` + `write_json_atomic` produce it (key order, indent 2, no
/// trailing newline, naive-UTC timestamps with a `Z`).
pub fn write_python_state(dir: &Path, rid: &str, hash: Option<&str>, statuses: &[(&str, &str)]) {
    let phases = [
        "prepare", "build", "submit", "poll", "parse", "score", "stats", "costs", "report",
    ];
    let mut text = String::from("{\n  \"schema_version\": 1,\n");
    text.push_str(&format!("  \"run_id\": \"{rid}\",\n"));
    match hash {
        Some(h) => text.push_str(&format!("  \"config_hash\": \"{h}\",\n")),
        None => text.push_str("  \"config_hash\": null,\n"),
    }
    text.push_str("  \"phases\": {\n");
    let mut names: Vec<&str> = phases.to_vec();
    for (name, _) in statuses {
        if !names.contains(name) {
            names.push(name);
        }
    }
    for (i, name) in names.iter().enumerate() {
        let status = statuses
            .iter()
            .find(|(n, _)| n == name)
            .map_or("not_started", |(_, s)| s);
        let stamp = if status == "not_started" {
            "null".to_string()
        } else {
            "\"2025-09-02T21:46:43.120001Z\"".to_string()
        };
        text.push_str(&format!(
            "    \"{name}\": {{\n      \"status\": \"{status}\",\n      \"started_at\": {stamp},\n      \"updated_at\": {stamp},\n      \"last_error\": null\n    }}{}\n",
            if i + 1 == names.len() { "" } else { "," }
        ));
    }
    text.push_str("  },\n  \"last_checkpoint\": null,\n  \"stop_requested\": false\n}");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("run_state.json"), text).unwrap();
}

/// An orchestrator stand-in that logs its working directory and argv, one
/// line per start, then exits 0.
const LOGGING_ORCHESTRATOR: &str = r#"#!/bin/sh
echo "cwd=$(pwd) args=$*" >> "$RK_TEST_LOG"
"#;

/// A project whose dispatch command is the logging stand-in, in the real
/// command's shape; `plan` is rk.yaml `dispatch.plan` (None: the default).
fn logging_project(env: &TestEnv, plan: Option<&str>) {
    let script = env.write("orchestrator.sh", LOGGING_ORCHESTRATOR);
    let plan = plan.map(|p| format!("  plan: {p}\n")).unwrap_or_default();
    env.write(
        "rk.yaml",
        format!(
            "dispatch:\n{plan}  command: [sh, {:?}, --config, \"{{config}}\", --run_id, \"{{run_id}}\", --resume]\n",
            script.display().to_string()
        ),
    );
    std::fs::create_dir_all(env.root().join("experiments")).unwrap();
}

fn resume(env: &TestEnv, args: &[&str]) -> std::process::Output {
    env.cmd(args)
        .env("RK_TEST_LOG", env.root().join("dispatched.log"))
        .output()
        .unwrap()
}

fn dispatched(env: &TestEnv) -> Vec<String> {
    std::fs::read_to_string(env.root().join("dispatched.log"))
        .map(|s| {
            s.lines()
                .map(|l| l.replace(env.root().to_str().unwrap(), "[ROOT]"))
                .collect()
        })
        .unwrap_or_default()
}

const CFG: &str = "model_id: m\ntemps: [0.7]\n";

const ALL_DONE: [(&str, &str); 9] = [
    ("prepare", "completed"),
    ("build", "completed"),
    ("submit", "completed"),
    ("poll", "completed"),
    ("parse", "completed"),
    ("score", "completed"),
    ("stats", "completed"),
    ("costs", "completed"),
    ("report", "completed"),
];

#[test]
fn the_default_plan_passes_only_the_users_step_flags_as_resume_run_py_does() {
    let env = TestEnv::new();
    logging_project(&env, None);
    python_run(
        &env,
        "r1",
        CFG,
        &[("prepare", "completed"), ("build", "in_progress")],
    );
    let out = resume(&env, &["resume", "r1"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    let out = resume(
        &env,
        &["resume", "r1", "--from_step", "parse", "--to_step", "stats"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert_eq!(
        dispatched(&env),
        [
            "cwd=[ROOT] args=--config [ROOT]/experiments/run_r1/effective_config.yaml --run_id r1 --resume",
            "cwd=[ROOT] args=--config [ROOT]/experiments/run_r1/effective_config.yaml --run_id r1 --resume --from_step parse --to_step stats",
        ]
    );
    // The dry run shows rk's own reading beside the argv.
    let dry = env.render(&["resume", "r1", "--dry-run"]);
    assert!(
        dry.contains("build is the first phase not completed"),
        "{dry}"
    );
    assert!(!dry.contains("--from_step"), "{dry}");
}

#[test]
fn plan_rk_starts_at_the_first_unfinished_step_never_an_unknown_phase() {
    let env = TestEnv::new();
    logging_project(&env, Some("rk"));
    // The design doc's tenth phase, `archive`, in the state: kept, shown,
    // never a step.
    let mut statuses: Vec<(&str, &str)> = ALL_DONE[..8].to_vec();
    statuses.push(("archive", "not_started"));
    python_run(&env, "r1", CFG, &statuses);
    let out = resume(&env, &["resume", "r1"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert!(
        dispatched(&env)[0].ends_with("--resume --from_step report"),
        "{:?}",
        dispatched(&env)
    );
    let status = env.render(&["status", "r1"]);
    assert!(status.contains("archive"), "{status}");
    assert!(
        status.contains("not a step of the run's pipeline"),
        "{status}"
    );
    // Every step completed, `archive` not started: completed, nothing to do.
    let mut statuses: Vec<(&str, &str)> = ALL_DONE.to_vec();
    statuses.push(("archive", "not_started"));
    python_run(&env, "r2", CFG, &statuses);
    let out = resume(&env, &["resume", "r2"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert_eq!(dispatched(&env).len(), 1, "{:?}", dispatched(&env));
    let list = env.render(&["list"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("r2") && l.contains("completed")),
        "{list}"
    );
}

#[test]
fn phases_the_orchestrator_skipped_count_as_completed() {
    let env = TestEnv::new();
    logging_project(&env, None);
    // run_all skips prepare (prepared data exist) and poll (submit already
    // downloaded) without marking them.
    let statuses: Vec<(&str, &str)> = ALL_DONE
        .iter()
        .filter(|(p, _)| *p != "prepare" && *p != "poll")
        .cloned()
        .collect();
    python_run(&env, "r1", CFG, &statuses);
    let status = env.render(&["status", "r1"]);
    assert!(status.starts_with("run r1: completed"), "{status}");
    assert!(status.contains("prepare  skipped"), "{status}");
    assert!(status.contains("poll     skipped"), "{status}");
    assert!(status.contains("next      rk archive r1"), "{status}");
    let json: serde_json::Value =
        serde_json::from_slice(&env.run(&["status", "r1", "--json"]).stdout).unwrap();
    assert_eq!(json["status"], "completed");
    assert_eq!(json["phases"][0]["skipped"], true);
    assert_eq!(json["phases"][0]["status"], "not_started");
    let list = env.render(&["list"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("r1") && l.contains("completed")),
        "{list}"
    );
    // Nothing to resume, and archive accepts it as archive_run.py does.
    let out = resume(&env, &["resume", "r1"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert!(dispatched(&env).is_empty());
    let out = env.run(&["archive", "r1"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    // An archived run is not dispatched again unless --force.
    let out = resume(&env, &["resume", "r1", "--only-step", "report"]);
    assert_eq!(out.status.code(), Some(6), "{}", env.render_output(&out));
    assert!(dispatched(&env).is_empty());
    let out = resume(&env, &["resume", "r1", "--only-step", "report", "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert_eq!(dispatched(&env).len(), 1);
}

#[test]
fn completed_with_missing_outputs_is_dispatched() {
    let env = TestEnv::new();
    logging_project(&env, None);
    let run = python_run(&env, "r1", CFG, &ALL_DONE);
    for slug in ["t1", "t2"] {
        env.write(
            &format!("experiments/run_r1/{slug}/results/trial_manifest.json"),
            r#"{"schema_version": 2, "run_id": "r1", "datasets": {}}"#,
        );
        for f in [
            "predictions.csv",
            "per_item_scores.csv",
            "significance.json",
            "costs.json",
        ] {
            env.write(&format!("experiments/run_r1/{slug}/results/{f}"), "x\n");
        }
        env.write(
            &format!("experiments/run_r1/{slug}/reports/report.md"),
            "# r\n",
        );
    }
    std::fs::remove_file(run.join("t2/results/predictions.csv")).unwrap();
    let dry = env.render(&["resume", "r1", "--dry-run"]);
    assert!(
        dry.contains("outputs missing although the state says completed: parse"),
        "{dry}"
    );
    let out = resume(&env, &["resume", "r1"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert_eq!(
        dispatched(&env).len(),
        1,
        "the orchestrator repairs what is missing"
    );
    // With the file back, the run is complete and nothing is dispatched.
    env.write("experiments/run_r1/t2/results/predictions.csv", "x\n");
    let out = resume(&env, &["resume", "r1"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert_eq!(dispatched(&env).len(), 1);
}

#[test]
fn a_null_config_hash_is_valid_and_recorded_at_the_next_write() {
    let env = TestEnv::new();
    logging_project(&env, None);
    let dir = env.root().join("experiments/run_r1");
    env.write("experiments/run_r1/effective_config.yaml", CFG);
    write_python_state(&dir, "r1", None, &[("prepare", "completed")]);
    let status = env.render(&["status", "r1"]);
    assert!(status.starts_with("run r1: interrupted"), "{status}");
    let out = resume(&env, &["resume", "r1"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert_eq!(dispatched(&env).len(), 1);
    assert_pyyaml_agrees(&dir, "a null hash recorded at resume");
}

#[test]
fn an_unknown_phase_status_is_kept_warned_and_not_completed() {
    let env = TestEnv::new();
    logging_project(&env, Some("rk"));
    let mut statuses: Vec<(&str, &str)> = ALL_DONE.to_vec();
    statuses[4] = ("parse", "paused_by_admin");
    python_run(&env, "r1", CFG, &statuses);
    let status = env.render(&["status", "r1"]);
    assert!(!status.starts_with("run r1: completed"), "{status}");
    assert!(status.contains("parse    paused_by_admin"), "{status}");
    assert!(
        status.contains("phase parse has status \"paused_by_admin\", which rk does not know"),
        "{status}"
    );
    let out = resume(&env, &["resume", "r1"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert!(
        dispatched(&env)[0].ends_with("--from_step parse"),
        "{:?}",
        dispatched(&env)
    );
    // Kept as is: rk's own writes leave the status alone.
    assert_eq!(
        state_of(&env.root().join("experiments/run_r1"))["phases"]["parse"]["status"],
        "paused_by_admin"
    );
}

#[test]
fn the_orchestrator_runs_in_the_project_root_wherever_rk_was_started() {
    let env = TestEnv::new();
    logging_project(&env, None);
    python_run(&env, "r1", CFG, &[]);
    let out = env
        .cmd(&["resume", "r1"])
        .current_dir(env.root().join("experiments/run_r1"))
        .env("RK_TEST_LOG", env.root().join("dispatched.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert!(
        dispatched(&env)[0].starts_with("cwd=[ROOT] "),
        "{:?}",
        dispatched(&env)
    );
}

/// Set a file's modification time `secs` seconds from now (negative: past).
fn age(path: &Path, secs: i64) {
    let when = std::time::SystemTime::now()
        .checked_add(std::time::Duration::from_secs(secs.unsigned_abs()))
        .filter(|_| secs >= 0)
        .unwrap_or_else(|| {
            std::time::SystemTime::now() - std::time::Duration::from_secs(secs.unsigned_abs())
        });
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(when)
        .unwrap();
}

#[test]
fn stop_tokens_stale_fresh_and_busy() {
    let env = TestEnv::new();
    logging_project(&env, None);
    let run = python_run(&env, "r1", CFG, &[("prepare", "completed")]);
    let token = run.join("STOP_REQUESTED");

    // A busy resume (exit 4) clears nothing.
    std::fs::write(&token, "2025-09-03T09:00:00.000000Z").unwrap();
    age(&token, -7200);
    let run_dir = rk::project::RunDir {
        rid: "r1".into(),
        path: run.clone(),
    };
    let lock = rk::store::DispatchLock::try_acquire(
        &run_dir,
        &rk::store::Holder::current(vec!["x".into()]),
    )
    .unwrap();
    let out = resume(&env, &["resume", "r1"]);
    assert_eq!(out.status.code(), Some(4), "{}", env.render_output(&out));
    drop(lock);
    assert!(token.exists(), "a busy resume cleared the user's stop");

    // A token written after the resume began is left for the orchestrator.
    age(&token, 3600);
    let out = resume(&env, &["resume", "r1"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert!(token.exists());
    assert!(String::from_utf8_lossy(&out.stderr).contains("left STOP_REQUESTED"));

    // One older than the resume is cleared, kept aside, and noted.
    age(&token, -7200);
    let out = resume(&env, &["resume", "r1"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert!(!token.exists());
    let aside: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("STOP_REQUESTED.cleared."))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");

    // rk stop rewrites the token every time, so a repeated stop is fresh
    // (the orchestrator ignores one older than an hour).
    assert!(env.run(&["stop", "r1"]).status.success());
    age(&token, -7200);
    assert!(env.run(&["stop", "r1"]).status.success());
    let modified = std::fs::metadata(&token).unwrap().modified().unwrap();
    assert!(modified.elapsed().map_or(true, |e| e.as_secs() < 3600));
}

/// A stand-in for `scripts/run_all.py`: it says it started, then waits until
/// told to end (a file), the way a long run holds a run for hours.
const WAITING_RUN_ALL: &str = "\
import os, sys, time
open('started', 'w').write(str(os.getpid()))
while not os.path.exists('finish'):
    time.sleep(0.02)
";

/// Kills the child when the test ends, whatever happens.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn an_orchestrator_rk_did_not_start_counts_as_running() {
    let env = TestEnv::new();
    python_project(&env);
    if Command::new("python3").arg("-V").output().is_err() {
        eprintln!("skipped: python3 is not available");
        return;
    }
    env.write("scripts/__init__.py", "");
    env.write("scripts/run_all.py", WAITING_RUN_ALL);
    let run = python_run(
        &env,
        "r1",
        CFG,
        &[("prepare", "completed"), ("build", "in_progress")],
    );
    python_run(
        &env,
        "r2",
        CFG,
        &[("prepare", "completed"), ("build", "in_progress")],
    );
    // Started as resume_run.py starts it: from the project root.
    let config = run.join("effective_config.yaml");
    let child = Command::new("python3")
        .args(["-m", "scripts.run_all", "--config"])
        .arg(&config)
        .args(["--run_id", "r1", "--resume"])
        .current_dir(env.root())
        .spawn()
        .unwrap();
    let pid = child.id();
    let child = Child(child);
    let started = env.root().join("started");
    let t0 = std::time::Instant::now();
    while !started.exists() {
        assert!(
            t0.elapsed().as_secs() < 30,
            "the orchestrator did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    let status = env.render(&["status", "r1"]);
    assert!(status.starts_with("run r1: running"), "{status}");
    assert!(
        status.contains(&format!("pid {pid} (an orchestrator rk did not start)")),
        "{status}"
    );
    assert!(status.contains("-m scripts.run_all"), "{status}");
    let json: serde_json::Value =
        serde_json::from_slice(&env.run(&["status", "r1", "--json"]).stdout).unwrap();
    assert_eq!(json["orchestrators"][0]["pid"], pid);
    let list = env.render(&["list"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("r1") && l.contains("running")),
        "{list}"
    );
    // Another run of the same project is not held by it.
    assert!(
        list.lines()
            .any(|l| l.starts_with("r2") && !l.contains("running")),
        "{list}"
    );

    // resume refuses (exit 4) and leaves the user's stop token alone.
    std::fs::write(run.join("STOP_REQUESTED"), "2025-09-03T09:00:00.000000Z").unwrap();
    age(&run.join("STOP_REQUESTED"), -7200);
    let out = env.run(&["resume", "r1"]);
    let shown = env.render_output(&out);
    assert_eq!(out.status.code(), Some(4), "{shown}");
    assert!(shown.contains(&format!("pid {pid}")), "{shown}");
    assert!(run.join("STOP_REQUESTED").exists());
    assert_eq!(
        env.run(&["resume", "r1", "--dry-run"]).status.code(),
        Some(4)
    );

    // Ended: the run is interrupted, its state changed recently, and status
    // says an orchestrator elsewhere may still be running.
    env.write("finish", "");
    drop(child);
    let status = env.render(&["status", "r1"]);
    assert!(status.starts_with("run r1: interrupted"), "{status}");
    assert!(status.contains("may still be running"), "{status}");
}

/// An orchestrator that behaves as run_all does where it matters: it loads
/// the state into memory at start, rewrites effective_config.yaml (its own
/// run paths, `sweep: {}` normalised into null keys, `sort_keys=False`),
/// skips prepare (its outputs exist) without marking it, and rewrites the
/// whole state from memory under `.state.lock` after each phase.
const REWRITING_RUN_ALL: &str = r#"
import fcntl, json, os, sys, tempfile, yaml
args = sys.argv
cfg_path = args[args.index("--config") + 1]
rid = args[args.index("--run_id") + 1]
root = os.path.join("experiments", "run_" + rid)
with open(os.path.join(root, "run_state.json")) as f:
    state = json.load(f)
with open(cfg_path) as f:
    cfg = yaml.safe_load(f)
cfg.setdefault("paths", {})["batch_inputs_dir"] = os.path.join(root, "batch_inputs")
cfg["sweep"] = {"models": None, "temps": None}
with open(os.path.join(root, "effective_config.yaml"), "w") as f:
    yaml.safe_dump(cfg, f, sort_keys=False)
def write():
    with open(os.path.join(root, ".state.lock"), "a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        fd, tmp = tempfile.mkstemp(dir=root, prefix=".tmp_state_", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(state, f, indent=2)
        os.replace(tmp, os.path.join(root, "run_state.json"))
for phase in ["build", "submit", "poll", "parse", "score", "stats", "costs", "report"]:
    state["phases"][phase]["status"] = "completed"
    state["phases"][phase]["updated_at"] = "2025-09-03T10:00:01.000000Z"
    write()
"#;

fn has_pyyaml() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import yaml"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: python3 with PyYAML is not available");
    }
    ok
}

#[test]
fn the_orchestrators_own_config_rewrite_is_adopted_not_drift() {
    let env = TestEnv::new();
    if !has_pyyaml() {
        return;
    }
    let script = env.write("fake_run_all.py", REWRITING_RUN_ALL);
    env.write(
        "rk.yaml",
        format!(
            "dispatch:\n  command: [python3, {:?}, --config, \"{{config}}\", --run_id, \"{{run_id}}\", --resume]\n",
            script.display().to_string()
        ),
    );
    env.write(
        "cfg.yaml",
        "model_id: m\ntemps: [0.7]\npaths:\n  batch_inputs_dir: data/batch_inputs\nsweep: {}\n",
    );
    assert_eq!(
        env.run(&["init", "r1", "--config", "cfg.yaml"])
            .status
            .code(),
        Some(0)
    );
    let run = env.root().join("experiments/run_r1");
    let out = env.run(&["resume", "r1"]);
    let shown = env.render_output(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("the orchestrator rewrote effective_config.yaml during the session (changed /paths/batch_inputs_dir, /sweep/models, /sweep/temps); adopted"),
        "{shown}"
    );
    // No drift, in rk or for the Python tool set (PyYAML agrees with the hash).
    assert_pyyaml_agrees(&run, "the adopted rewrite");
    let state = state_of(&run);
    assert!(state.get("config_drift").is_none(), "{state}");
    let session = last_session(&run);
    assert_eq!(
        session["config_rewritten"]["keys"][0],
        "/paths/batch_inputs_dir"
    );
    let status = env.render(&["status", "r1"]);
    assert!(status.contains("config    unchanged"), "{status}");
    assert!(
        status.contains("the orchestrator rewrote effective_config.yaml"),
        "{status}"
    );
    // prepare was skipped without being marked: the run is completed.
    assert!(status.starts_with("run r1: completed"), "{status}");
    assert!(status.contains("prepare  skipped"), "{status}");
    // The adopted config is RUN@recorded.
    assert_eq!(
        env.run(&["diff-config", "r1@recorded", "r1"]).status.code(),
        Some(0)
    );
    // A change after the session ended is drift.
    let cfg = env.read("experiments/run_r1/effective_config.yaml");
    env.write(
        "experiments/run_r1/effective_config.yaml",
        cfg.replace("0.7", "0.9"),
    );
    let out = env.run(&["resume", "r1", "--only-step", "report"]);
    assert_eq!(out.status.code(), Some(3), "{}", env.render_output(&out));
}

#[test]
fn a_python_made_run_gets_its_recorded_config_once_verified() {
    let env = TestEnv::new();
    logging_project(&env, None);
    python_run(&env, "r1", CFG, &[("prepare", "completed")]);
    // Nothing recorded yet: the refusal can only list hashes.
    assert_eq!(
        env.run(&["diff-config", "r1@recorded", "r1"]).status.code(),
        Some(2)
    );
    let out = resume(&env, &["resume", "r1"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    env.write(
        "experiments/run_r1/effective_config.yaml",
        CFG.replace("0.7", "0.9"),
    );
    let diff = env.render(&["diff-config", "r1@recorded", "r1"]);
    assert!(diff.contains("-    0.7\n+    0.9\n"), "{diff}");
    assert!(diff.contains("[exit status: 1]"), "{diff}");
    let out = resume(&env, &["resume", "r1"]);
    let shown = env.render_output(&out);
    assert_eq!(out.status.code(), Some(3), "{shown}");
    assert!(shown.contains("+++ b/r1"), "{shown}");
}

#[test]
fn runs_archived_by_archive_run_py_are_listed_and_reported() {
    let env = TestEnv::new();
    python_project(&env);
    python_run(&env, "r2", CFG, &[("prepare", "completed")]);
    // The layout archive_run.py leaves: t<temp>_<rid>/ with the moved
    // directories and its manifest; no run_state.json.
    env.write("experiments/t07_r1/results/predictions.csv", "x\n");
    env.write("experiments/t07_r1/reports/report.md", "# r\n");
    std::fs::create_dir_all(env.root().join("experiments/t07_r1/batch_inputs")).unwrap();
    env.write(
        "experiments/t07_r1/archive_manifest.json",
        r#"{
  "experiment_id": "t07_r1",
  "description": "Temperature=0.7 experiment run",
  "archived_date": "2025-09-03T09:30:00.250000Z",
  "config": {"temperature": 0.7, "model_id": "m", "samples_per_item": {}},
  "run_id": "r1",
  "files": {"batch_inputs": [], "results": ["predictions.csv"], "reports": ["report.md"], "shared_controls": []},
  "status": "archived",
  "notes": "Experiment archived using archive_run.py script",
  "state": {"migrated": false, "config_hash": "9f2c00000000aaaa", "phases": {}}
}"#,
    );
    let list = env.render(&["list"]);
    let row = list
        .lines()
        .find(|l| l.starts_with("t07_r1"))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(row.contains("archived"), "{row}");
    assert!(row.contains("9f2c00000000~"), "{row}");
    assert!(row.contains("2025-09-03T09:30:00Z"), "{row}");
    assert!(list.lines().any(|l| l.starts_with("r2")), "{list}");
    let status = env.render(&["status", "t07_r1"]);
    assert!(status.starts_with("run t07_r1: archived"), "{status}");
    assert!(
        status.contains("archived by archive_run.py at 2025-09-03T09:30:00.250000Z; run r1; model m; temperature 0.7; 2 files (results 1, reports 1)"),
        "{status}"
    );
    assert!(
        status.contains("next      nothing: the run is archived"),
        "{status}"
    );
    // Nothing writes into it.
    let before = crate::common::tree(env.root());
    assert_eq!(env.run(&["resume", "t07_r1"]).status.code(), Some(6));
    assert_eq!(env.run(&["migrate", "t07_r1"]).status.code(), Some(6));
    crate::common::assert_same_tree(
        &before,
        &crate::common::tree(env.root()),
        "a Python archive",
    );
}

#[test]
fn rks_archive_manifest_carries_the_fields_list_runs_py_reads() {
    let env = TestEnv::new();
    python_project(&env);
    let run = python_run(&env, "r1", "model_id: m\ntemps: [0.7, 1.0]\n", &ALL_DONE);
    env.write(
        "experiments/run_r1/t1/results/trial_manifest.json",
        r#"{"schema_version": 2, "run_id": "r1", "datasets": {}}"#,
    );
    env.write("experiments/run_r1/t1/results/predictions.csv", "x\n");
    let out = env.run(&["archive", "r1"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("archive_manifest.json")).unwrap()).unwrap();
    // rk's own fields, and archive_run.py's beside them.
    assert_eq!(manifest["archived_date"], manifest["archived_at"]);
    assert_eq!(manifest["status"], "archived");
    assert_eq!(manifest["config"]["temperature"], 0.7);
    assert_eq!(manifest["config"]["model_id"], "m");
    assert_eq!(
        manifest["files"]["t1"],
        serde_json::json!([
            "t1/results/predictions.csv",
            "t1/results/trial_manifest.json"
        ])
    );
    assert!(manifest["files"]["run"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "effective_config.yaml"));
    // list_runs.py reads the date with datetime.fromisoformat and counts the
    // files per category: both must work on rk's manifest.
    let check = Command::new("python3")
        .args([
            "-c",
            "import json, sys\nfrom datetime import datetime\n\
             m = json.load(open(sys.argv[1]))\n\
             d = datetime.fromisoformat(m['archived_date'].replace('Z', '+00:00'))\n\
             print(d.strftime('%Y-%m-%d %H:%M'), sum(len(v) for v in m['files'].values()), m['config']['temperature'], m['config']['model_id'])",
        ])
        .arg(run.join("archive_manifest.json"))
        .output();
    match check {
        Ok(out) if out.status.success() => {
            let total = manifest["files"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_array().unwrap().len())
                .sum::<usize>();
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                format!("2025-09-03 10:00 {total} 0.7 m")
            );
        }
        Ok(out) => panic!("{}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => eprintln!("skipped the Python reading: python3 is not available: {e}"),
    }
}

/// Python's `json.dump` writes a str holding a lone surrogate (a file name
/// that is not UTF-8, as `os.listdir` decodes it, in an exception message
/// the orchestrator puts in `last_error`) as a `\udcXX` escape, and its
/// `json.load` reads that back. The state is the orchestrator's real record,
/// not a corrupt file: status, list, resume and the write path read it (the
/// lone surrogate becomes U+FFFD), and nothing is moved aside or restored.
#[test]
fn a_lone_surrogate_escape_python_writes_is_read_not_called_corrupt() {
    let env = TestEnv::new();
    logging_project(&env, Some("rk"));
    let mut statuses: Vec<(&str, &str)> = ALL_DONE[..4].to_vec();
    statuses.push(("parse", "failed"));
    let dir = python_run(&env, "r1", CFG, &statuses);
    let path = dir.join("run_state.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let (head, tail) = text.split_once("\"parse\": {").unwrap();
    let tail = tail.replacen(
        "\"last_error\": null",
        r#""last_error": "[Errno 2] No such file or directory: '/data/caf\udce9.csv'""#,
        1,
    );
    std::fs::write(&path, format!("{head}\"parse\": {{{tail}")).unwrap();
    if Command::new("python3").arg("--version").output().is_ok() {
        let read = Command::new("python3")
            .args(["-c", "import json,sys; s=json.load(open(sys.argv[1])); print(s['phases']['parse']['status'])"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&read.stdout).trim(), "failed");
    }

    let status = env.run(&["status", "r1"]);
    let shown = env.render_output(&status);
    assert_eq!(status.status.code(), Some(0), "{shown}");
    assert!(shown.starts_with("run r1: failed"), "{shown}");
    assert!(shown.contains("/data/caf\u{fffd}.csv"), "{shown}");
    let json = env.run(&["status", "r1", "--json"]);
    assert_eq!(json.status.code(), Some(0), "{}", env.render_output(&json));
    let list = env.render(&["list"]);
    assert!(list.contains("r1   failed"), "{list}");
    let state = env.run(&["read-state", "r1"]);
    assert_eq!(
        state.status.code(),
        Some(0),
        "{}",
        env.render_output(&state)
    );
    let fsck = env.run(&["fsck", "r1"]);
    assert_eq!(fsck.status.code(), Some(0), "{}", env.render_output(&fsck));

    let note = env.run(&["note", "r1", "the csv has a Latin-1 name"]);
    assert_eq!(note.status.code(), Some(0), "{}", env.render_output(&note));
    let out = resume(&env, &["resume", "r1"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert!(
        dispatched(&env)[0].ends_with("--from_step parse"),
        "{:?}",
        dispatched(&env)
    );
    let state = state_of(&dir);
    assert_eq!(state["phases"]["parse"]["status"], "failed");
    assert_eq!(
        state["phases"]["parse"]["last_error"],
        "[Errno 2] No such file or directory: '/data/caf\u{fffd}.csv'"
    );
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains(".corrupt.")), "{names:?}");
}
