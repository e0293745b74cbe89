//! Every `--json` document of the porcelain, and the plumbing's JSON, pinned whole: a field added,
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

/// Each line of an NDJSON output, pretty, with the machine's name hidden.
fn pretty_lines(env: &TestEnv, args: &[&str]) -> String {
    let out = env.run(args);
    let host = rk::store::lock::hostname();
    let mut text = String::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{args:?}: {e}\n{}", env.render_output(&out)));
        text.push_str(&serde_json::to_string_pretty(&v).unwrap());
        text.push('\n');
    }
    let root = env.root().canonicalize().unwrap();
    text.replace(root.to_str().unwrap(), "[ROOT]")
        .replace(env.root().to_str().unwrap(), "[ROOT]")
        .replace(&format!("\"{host}\""), "\"[HOST]\"")
        + &format!("[exit status: {}]", out.status.code().unwrap_or(-1))
}

/// 64-hex ids as `[ID]`: snapshots hold the machine's name, so their ids
/// differ from machine to machine; the documents' shape does not.
fn mask_ids(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() && !c.is_ascii_uppercase() {
            run.push(c);
            continue;
        }
        out.push_str(if run.len() == 64 { "[ID]" } else { &run });
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

#[test]
fn plumbing_and_porcelain_ndjson_documents() {
    let env = project();
    let noted = env.run(&["note", "half", "parse next"]);
    assert!(noted.status.success(), "{}", env.render_output(&noted));
    let gate = env.run(&["gate", "add", "half", "stats", "--reason", "check"]);
    assert!(gate.status.success(), "{}", env.render_output(&gate));
    let mut all = String::new();
    for args in [
        &["log", "half", "--json"][..],
        &["log", "half", "--sessions", "--json"],
        &["gate", "list", "half", "--json"],
        &["scan-trials", "done"],
    ] {
        all.push_str(&format!("$ rk {}\n", args.join(" ")));
        all.push_str(&pretty_lines(&env, args));
        all.push_str("\n\n");
    }
    all.push_str("$ rk read-state half --with-id\n");
    let host = rk::store::lock::hostname();
    all.push_str(
        &pretty(&env, &["read-state", "half", "--with-id"])
            .replace(&format!("\"{host}\""), "\"[HOST]\""),
    );
    insta::assert_snapshot!(mask_ids(&all));
}
