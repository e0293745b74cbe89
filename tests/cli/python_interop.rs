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

use crate::common::TestEnv;
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

fn state_of(run: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(run.join("run_state.json")).unwrap()).unwrap()
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
