//! Every `--json` document of the porcelain, pinned whole: a field added,
//! renamed, removed or retyped fails here (docs/FORMATS.md#compatibility).

use crate::common::TestEnv;
use crate::status::{all, run_with};

fn project() -> TestEnv {
    let env = TestEnv::new();
    run_with(&env, "done", &all("completed"), "");
    run_with(
        &env,
        "half",
        &[("prepare", "completed"), ("build", "failed")],
        "",
    );
    env.write(
        "experiments/run_done/t1/results/trial_manifest.json",
        r#"{"schema_version": 2, "run_id": "done", "datasets": {"t1": ["ds-1"]}, "job_status": {"t1_p01": "downloaded"}}"#,
    );
    env
}

fn pretty(env: &TestEnv, args: &[&str]) -> String {
    let out = env.run(args);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}\n{}", env.render_output(&out)));
    let text = serde_json::to_string_pretty(&v).unwrap();
    let root = env.root().canonicalize().unwrap();
    text.replace(root.to_str().unwrap(), "[ROOT]")
        .replace(env.root().to_str().unwrap(), "[ROOT]")
        + &format!("\n[exit status: {}]", out.status.code().unwrap_or(-1))
}

#[test]
fn status_json_document() {
    let env = project();
    insta::assert_snapshot!(pretty(&env, &["status", "half", "--json"]));
}

#[test]
fn list_json_document() {
    let env = project();
    insta::assert_snapshot!(pretty(&env, &["list", "--json"]));
}

#[test]
fn compare_json_document() {
    let env = project();
    insta::assert_snapshot!(pretty(&env, &["compare", "done", "half", "--json"]));
}
