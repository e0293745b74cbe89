//! `rk migrate`: legacy runs get the statuses the evidence rules say, corrupt
//! manifests are backed up and reconstructed with a note, a second migrate
//! and `--dry-run` change no byte, `--rebuild` keeps the old state in history.

use crate::common::{tree, TestEnv};
use crate::read_state::PY_STATE;

const RUN: &str = "experiments/run_r1";
const M: &str = "results/trial_manifest.json";

/// A legacy run of the Python tool set, no state file:
/// * t1: v2, two parts both recorded, both downloaded (combined results),
///   parsed and scored;
/// * t2: v1, two parts, one recorded, one part downloaded per-part; parsed
///   with an empty predictions file (does not count);
/// * t3: a corrupt manifest, but predictions on disk;
/// * t4: a manifest listing no datasets (takes no part in the job rules).
pub fn legacy_run() -> TestEnv {
    let env = TestEnv::new();
    env.write(
        &format!("{RUN}/effective_config.yaml"),
        "model:\n  lr: 0.1\nseed: 7\n",
    );
    env.write(
        &format!("{RUN}/t1/{M}"),
        r#"{"schema_version": 2, "run_id": "r1", "datasets": {"a": ["x", "y"]},
            "job_status": {"a_p01": "downloaded", "a_p02": "completed"}}"#,
    );
    env.write(&format!("{RUN}/t1/results/results_combined.jsonl"), "{}\n");
    env.write(&format!("{RUN}/t1/results/predictions.csv"), "id,p\n");
    env.write(&format!("{RUN}/t1/results/per_item_scores.csv"), "id,s\n");
    env.write(
        &format!("{RUN}/t2/{M}"),
        r#"{"datasets": {"a": ["x", "y"]}, "job_status": {"a_p01": "completed"}}"#,
    );
    env.write(&format!("{RUN}/t2/results/a_p01/results.jsonl"), "{}\n");
    env.write(&format!("{RUN}/t2/results/a_p02/results.jsonl"), "");
    env.write(&format!("{RUN}/t2/results/predictions.csv"), "");
    env.write(&format!("{RUN}/t3/{M}"), "{\"datasets\": {\"a\": [");
    env.write(&format!("{RUN}/t3/results/predictions.csv"), "id,p\n");
    env.write(
        &format!("{RUN}/t4/{M}"),
        r#"{"schema_version": 2, "datasets": {}}"#,
    );
    env.write(&format!("{RUN}/t4/results/predictions.csv"), "id,p\n");
    env
}

#[test]
fn legacy_run_gets_the_statuses_the_rules_say() {
    let env = legacy_run();
    let mut all = env.render(&["migrate", "r1"]);
    all.push_str(&env.render(&["read-state", "r1"]));
    insta::assert_snapshot!(all);
    let state: serde_json::Value =
        serde_json::from_str(&env.read(&format!("{RUN}/run_state.json"))).unwrap();
    let status = |p: &str| state["phases"][p]["status"].as_str().unwrap().to_string();
    assert_eq!(status("prepare"), "completed");
    // t1 recorded both parts, t2 one of two, t3 unreadable; t4 not counted.
    assert_eq!(status("submit"), "in_progress");
    assert_eq!(status("poll"), "in_progress");
    // predictions: t1, t3, t4 non-empty; t2 empty.
    assert_eq!(status("parse"), "in_progress");
    assert_eq!(status("score"), "in_progress");
    assert_eq!(status("stats"), "not_started");
    assert_eq!(state["migrated"], true);
    assert_eq!(state["config_hash_scheme"], "pyyaml-sorted");
    assert_eq!(state["config_path"], "effective_config.yaml");
    let hash = env.run(&[
        "hash-config",
        "--scheme",
        "pyyaml-sorted",
        &format!("{RUN}/effective_config.yaml"),
    ]);
    let hash = String::from_utf8(hash.stdout).unwrap();
    assert_eq!(
        state["config_hash"].as_str().unwrap(),
        hash.split_whitespace().next().unwrap()
    );
    // The config object is stored: the recorded config is the current one.
    assert_eq!(env.run(&["fsck", "r1"]).status.code(), Some(0));
}

#[test]
fn every_trial_complete_is_completed() {
    let env = TestEnv::new();
    env.write(&format!("{RUN}/effective_config.yaml"), "a: 1\n");
    for t in ["t1", "t2"] {
        env.write(
            &format!("{RUN}/{t}/{M}"),
            r#"{"schema_version": 2, "datasets": {"d": ["x"]}, "job_status": {"d_p01": "downloaded"}}"#,
        );
        for f in [
            "results/d_p01/results.jsonl",
            "results/predictions.csv",
            "results/per_item_scores.csv",
            "results/significance.json",
            "results/costs.json",
            "reports/report.md",
        ] {
            env.write(&format!("{RUN}/{t}/{f}"), "x\n");
        }
    }
    let out = env.run(&["migrate", "r1", "--json"]);
    assert!(out.status.success(), "{}", env.render_output(&out));
    assert!(out.stderr.is_empty(), "no uncertainty, no warning");
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for p in plan["phases"].as_array().unwrap() {
        assert_eq!(p["status"], "completed", "{p}");
        assert_eq!(p["satisfied"], 2);
    }
    assert_eq!(plan["notes"], serde_json::json!([]));
    let state = env.read(&format!("{RUN}/run_state.json"));
    assert!(
        !state.contains("\"notes\""),
        "no uncertainty, no note:\n{state}"
    );
}

#[test]
fn corrupt_manifest_is_backed_up_and_reconstructed_with_a_note() {
    let env = legacy_run();
    let corrupt = std::fs::read(env.root().join(format!("{RUN}/t3/{M}"))).unwrap();
    assert!(env.run(&["migrate", "r1"]).status.success());
    let backup = env
        .root()
        .join(format!("{RUN}/t3/{M}.corrupt.20250903T100000Z"));
    assert_eq!(std::fs::read(&backup).unwrap(), corrupt, "bytes kept");
    let rebuilt: serde_json::Value =
        serde_json::from_str(&env.read(&format!("{RUN}/t3/{M}"))).unwrap();
    assert_eq!(rebuilt["schema_version"], 2);
    assert_eq!(rebuilt["reconstructed"], true);
    assert_eq!(
        rebuilt["reconstructed_from"],
        "trial_manifest.json.corrupt.20250903T100000Z"
    );
    assert_eq!(rebuilt["stage_status"]["parsed"]["status"], "completed");
    let state = env.read(&format!("{RUN}/run_state.json"));
    assert!(state.contains("corrupt manifest t3/results/trial_manifest.json"));
    assert!(state.contains("\"created_by\": \"rk migrate\""));
    // scan-trials now sees a readable, reconstructed manifest.
    let scan = String::from_utf8(env.run(&["scan-trials", "r1"]).stdout).unwrap();
    let t3 = scan.lines().find(|l| l.contains("\"t3\"")).unwrap();
    assert!(
        t3.contains("\"state\":\"ok\"") && t3.contains("\"reconstructed\":true"),
        "{t3}"
    );
    // A rebuild counts the reconstructed trial as unreadable, as before.
    let out = env.run(&["migrate", "r1", "--rebuild", "--dry-run", "--json"]);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let submit = &plan["phases"][2];
    assert_eq!(
        (submit["satisfied"].as_u64(), submit["counted"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(plan["repairs"], serde_json::json!([]));
}

#[test]
fn second_migrate_changes_nothing() {
    let env = legacy_run();
    assert!(env.run(&["migrate", "r1"]).status.success());
    let before = tree(env.root());
    insta::assert_snapshot!(env.render(&["migrate", "r1"]));
    assert_eq!(before, tree(env.root()));
}

#[test]
fn dry_run_writes_nothing() {
    let env = legacy_run();
    let before = tree(env.root());
    let mut all = env.render(&["migrate", "r1", "--dry-run"]);
    assert_eq!(before, tree(env.root()), "--dry-run changed the tree");
    all.push_str(&env.render(&["migrate", "r1", "--dry-run", "--json"]));
    assert_eq!(
        before,
        tree(env.root()),
        "--dry-run --json changed the tree"
    );
    assert!(!env.root().join(RUN).join(".rk").exists());
    insta::assert_snapshot!(all);
}

#[test]
fn dry_run_plan_equals_what_is_written() {
    let env = legacy_run();
    let dry = env.run(&["migrate", "r1", "--dry-run", "--json"]);
    let real = env.run(&["migrate", "r1", "--json"]);
    let mut dry: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
    let mut real: serde_json::Value = serde_json::from_slice(&real.stdout).unwrap();
    assert!(real["snapshot"].is_string());
    for v in [&mut dry, &mut real] {
        v["snapshot"] = serde_json::Value::Null;
        v["dry_run"] = serde_json::Value::Null;
    }
    assert_eq!(dry, real);
}

#[test]
fn rebuild_keeps_the_old_state_in_history() {
    let env = legacy_run();
    env.write(&format!("{RUN}/run_state.json"), PY_STATE);
    let out = env.run(&["migrate", "r1", "--rebuild"]);
    assert!(out.status.success(), "{}", env.render_output(&out));
    let mut all = env.render(&["log", "r1"]);
    // The Python tool set's state, as it was, is the observed snapshot.
    let old = env.run(&["read-state", "r1", "--at", "HEAD~1"]);
    let old = String::from_utf8(old.stdout).unwrap();
    assert!(
        old.contains("paused_by_admin") && old.contains("9f2c0000"),
        "{old}"
    );
    // Sessions, notes and unknown fields are kept; phases are re-inferred.
    let state: serde_json::Value =
        serde_json::from_str(&env.read(&format!("{RUN}/run_state.json"))).unwrap();
    assert_eq!(state["orchestrator_private"]["nested"]["deep"], true);
    assert_eq!(state["sessions"][0]["gpu"], "A100");
    assert_eq!(state["notes"][0]["ticket"], "OPS-1");
    assert_eq!(state["phases"]["parse"]["status"], "in_progress");
    assert!(state["phases"].get("mystery").is_none());
    // rk never changes a run's scheme: the Python tool set's stays.
    assert_eq!(state["config_hash_scheme"], "pyyaml-sorted");
    assert_eq!(state["migrated"], true);
    // A second rebuild of an unchanged run records no new observed snapshot,
    // and its notes replace the first rebuild's instead of piling up.
    let notes = |env: &TestEnv| {
        let s: serde_json::Value =
            serde_json::from_str(&env.read(&format!("{RUN}/run_state.json"))).unwrap();
        s["notes"].as_array().unwrap().len()
    };
    let first = notes(&env);
    assert!(env.run(&["migrate", "r1", "--rebuild"]).status.success());
    assert_eq!(first, notes(&env));
    all.push_str(&env.render(&["log", "r1"]));
    insta::assert_snapshot!(all);
}

#[test]
fn missing_config_still_migrates_with_a_note() {
    let env = legacy_run();
    std::fs::remove_file(env.root().join(format!("{RUN}/effective_config.yaml"))).unwrap();
    let out = env.run(&["migrate", "r1"]);
    let text = env.render_output(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("config: none (effective_config.yaml is missing)"),
        "{text}"
    );
    assert!(
        text.contains("rk: warning: no config at effective_config.yaml"),
        "{text}"
    );
    let state: serde_json::Value =
        serde_json::from_str(&env.read(&format!("{RUN}/run_state.json"))).unwrap();
    assert!(state.get("config_hash").is_none());
    assert!(state.get("config_hash_scheme").is_none());
    assert!(state["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["message"].as_str().unwrap().starts_with("no config at")));
}

#[test]
fn malformed_config_is_refused_and_nothing_written() {
    let env = legacy_run();
    env.write(&format!("{RUN}/effective_config.yaml"), "model: [1, 2\n");
    let before = tree(env.root());
    insta::assert_snapshot!(env.render(&["migrate", "r1"]));
    assert_eq!(before, tree(env.root()));
}

#[test]
fn no_trials_and_phases_without_rules() {
    let env = TestEnv::new();
    env.write("rk.yaml", "phases: [prepare, train, report]\n");
    env.write(&format!("{RUN}/effective_config.yaml"), "a: 1\n");
    insta::assert_snapshot!(env.render(&["migrate", "r1", "--dry-run"]));
}

#[test]
fn bad_operands_are_exit_2_and_touch_nothing() {
    let env = legacy_run();
    env.write("experiments/run_r10/effective_config.yaml", "a: 1\n");
    env.write("elsewhere/x.txt", "x");
    let before = tree(env.root());
    let mut all = env.render(&["migrate", "r2"]);
    all.push_str(&env.render(&["migrate", "../etc"]));
    all.push_str(&env.render(&["migrate", "elsewhere/"]));
    all.push_str(&env.render(&["migrate", "-x"]));
    assert_eq!(before, tree(env.root()));
    insta::assert_snapshot!(all);
}

#[test]
fn a_path_operand_works() {
    let env = legacy_run();
    let out = env.run(&["migrate", &format!("./{RUN}")]);
    assert!(out.status.success(), "{}", env.render_output(&out));
    assert!(env.root().join(RUN).join("run_state.json").is_file());
}

#[test]
fn store_without_state_is_refused_unless_rebuild() {
    let env = legacy_run();
    assert!(env.run(&["migrate", "r1"]).status.success());
    std::fs::remove_file(env.root().join(format!("{RUN}/run_state.json"))).unwrap();
    let before = tree(env.root());
    insta::assert_snapshot!(env.render(&["migrate", "r1"]));
    assert_eq!(before, tree(env.root()));
    assert!(env.run(&["migrate", "r1", "--rebuild"]).status.success());
    assert!(env.root().join(RUN).join("run_state.json").is_file());
}

#[test]
fn corrupt_state_is_exit_5_unless_rebuild() {
    let env = legacy_run();
    env.write(&format!("{RUN}/run_state.json"), "{\"phases\": ");
    let out = env.run(&["migrate", "r1"]);
    assert_eq!(out.status.code(), Some(5), "{}", env.render_output(&out));
    let out = env.run(&["migrate", "r1", "--rebuild"]);
    let text = env.render_output(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("was corrupt; its bytes are kept in"),
        "{text}"
    );
    assert!(env
        .root()
        .join(format!("{RUN}/run_state.json.corrupt.20250903T100000Z"))
        .is_file());
}

#[test]
fn an_unreadable_manifest_is_noted_and_left_alone() {
    let env = legacy_run();
    let t5 = env.root().join(format!("{RUN}/t5/results"));
    std::fs::create_dir_all(&t5).unwrap();
    std::os::unix::fs::symlink("nowhere.json", t5.join("trial_manifest.json")).unwrap();
    let out = env.run(&["migrate", "r1", "--json"]);
    assert!(out.status.success(), "{}", env.render_output(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["trials"], 5);
    assert!(plan["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().starts_with("unreadable manifest t5/")));
    assert_eq!(plan["repairs"].as_array().unwrap().len(), 1, "only t3");
    let link = std::fs::read_link(t5.join("trial_manifest.json")).unwrap();
    assert_eq!(link, std::path::Path::new("nowhere.json"));
}

/// What `rk resume` does when a run has no state: the library entry points.
#[test]
fn library_plan_then_apply() {
    let env = legacy_run();
    let project = rk::project::Project::open(env.root().to_path_buf()).unwrap();
    let run = project.resolve_run("r1").unwrap();
    let plan = rk::ops::migrate::plan(&project, &run).unwrap();
    assert_eq!(plan.action, rk::ops::migrate::Action::Migrate);
    assert_eq!(plan.resume_from(), Some("submit"));
    let applied = rk::ops::migrate::apply(&project, &run, &plan).unwrap();
    assert!(applied.snapshot.is_some());
    assert_eq!(applied.repaired.len(), 1);
    // Planned again, the run has a state: nothing to do.
    let again = rk::ops::migrate::plan(&project, &run).unwrap();
    assert_eq!(again.action, rk::ops::migrate::Action::Nothing);
    let none = rk::ops::migrate::apply(&project, &run, &again).unwrap();
    assert_eq!(none.snapshot, None);
}

/// `migrate --rebuild` over a changed config records the drift (both hashes,
/// not forced, by the rebuild) and says so; list counts it.
#[test]
fn rebuild_over_a_changed_config_records_the_drift() {
    let env = crate::common::TestEnv::new();
    env.write("c.yaml", "a: 1\n");
    assert!(env
        .run(&["init", "r1", "--config", "c.yaml"])
        .status
        .success());
    let before = crate::common::state_of(&env.root().join("experiments/run_r1"));
    env.write("experiments/run_r1/effective_config.yaml", "a: 2\n");
    let out = env.run(&["migrate", "r1", "--rebuild"]);
    let shown = env.render_output(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("rk: warning: the config drifted since the state was recorded"),
        "{shown}"
    );
    let after = crate::common::state_of(&env.root().join("experiments/run_r1"));
    let record = &after["config_drift"][0];
    assert_eq!(record["expected"], before["config_hash"]);
    assert_eq!(record["actual"], after["config_hash"]);
    assert_eq!(record["forced"], false);
    assert_eq!(record["by"], "rk migrate --rebuild");
    let list = env.run(&["list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(v["runs"][0]["drift_records"], 1);
    // A rebuild over the same config records nothing more.
    let again = env.run(&["migrate", "r1", "--rebuild"]);
    assert!(!env.render_output(&again).contains("drifted"));
    let state = crate::common::state_of(&env.root().join("experiments/run_r1"));
    assert_eq!(state["config_drift"].as_array().unwrap().len(), 1);
}
