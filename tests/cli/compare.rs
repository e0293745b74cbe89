//! `rk compare`: equal runs are compatible (exit 0); different configs,
//! trial sets or a legacy scheme against a new one; the same run twice.

use crate::common::TestEnv;
use crate::status::{all, legacy_hash, run_with, state_json, CONFIG};

fn trial(env: &TestEnv, rid: &str, slug: &str, v2: bool) {
    let body = if v2 {
        r#"{"schema_version": 2, "datasets": {"d": ["x"]}}"#
    } else {
        r#"{"datasets": {"d": ["x"]}}"#
    };
    env.write(
        &format!("experiments/run_{rid}/{slug}/results/trial_manifest.json"),
        body,
    );
}

#[test]
fn equal_runs_are_compatible() {
    let env = TestEnv::new();
    run_with(&env, "a", &all("completed"), "");
    run_with(&env, "b", &all("completed"), "");
    for rid in ["a", "b"] {
        trial(&env, rid, "t1", true);
        trial(&env, rid, "t2", true);
    }
    insta::assert_snapshot!(env.render(&["compare", "a", "b"]));
}

/// Same config and trials, but one run is further along: every marked line
/// is a discrepancy, so the verdict names them and the exit status is 1.
#[test]
fn compatible_runs_that_differ_in_progress_are_exit_1() {
    let env = TestEnv::new();
    run_with(&env, "a", &all("completed"), "");
    run_with(&env, "b", &all("completed")[..3], "");
    for rid in ["a", "b"] {
        trial(&env, rid, "t1", true);
        trial(&env, rid, "t2", true);
    }
    insta::assert_snapshot!(env.render(&["compare", "a", "b"]));
    let out = env.run(&["compare", "a", "b", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["compatible"], true);
    assert_eq!(v["discrepancies"][0], "status");
    assert_eq!(v["discrepancies"].as_array().unwrap().len(), 7);
}

#[test]
fn different_configs_and_trials_are_discrepancies() {
    let env = TestEnv::new();
    run_with(&env, "a", &all("completed"), "");
    run_with(&env, "b", &all("completed"), "");
    env.write(
        "experiments/run_b/effective_config.yaml",
        CONFIG.replace("0.001", "0.01"),
    );
    env.write(
        "experiments/run_b/run_state.json",
        state_json("b", &all("completed"), "").replace(
            &crate::status::config_hash(CONFIG),
            &crate::status::config_hash(&CONFIG.replace("0.001", "0.01")),
        ),
    );
    trial(&env, "a", "t1", true);
    trial(&env, "a", "t2", true);
    trial(&env, "b", "t1", false);
    trial(&env, "b", "t3", true);
    insta::assert_snapshot!(env.render(&["compare", "a", "b"]));
    let out = env.run(&["compare", "a", "b", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["config"]["changed_keys"],
        serde_json::json!(["/model/lr"])
    );
    assert_eq!(v["only_in_a"], serde_json::json!(["t2"]));
}

#[test]
fn legacy_against_new_scheme_is_recomputed() {
    let env = TestEnv::new();
    run_with(&env, "a", &all("completed"), "");
    run_with(&env, "b", &all("completed"), "");
    env.write(
        "experiments/run_b/run_state.json",
        state_json("b", &all("completed"), "")
            .replace("\"config_hash_scheme\": \"rk-c14n-v1\", ", "")
            .replace(&crate::status::config_hash(CONFIG), &legacy_hash(CONFIG)),
    );
    let out = env.run(&["compare", "a", "b", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["config"]["recomputed"], true);
}

#[test]
fn same_run_twice_is_exit_2() {
    let env = TestEnv::new();
    run_with(&env, "a", &all("completed"), "");
    insta::assert_snapshot!(env.render(&["compare", "a", "experiments/run_a"]));
}
