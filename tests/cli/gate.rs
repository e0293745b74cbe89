//! Review gates stop a resume before the gated phase, until cleared.

use crate::common::{orchestrated_project, phase_statuses, started_run, state_of, TestEnv};

const CONFIG: &str = "trials:\n  t1: [ds-1, ds-2]\n";

fn status_of(run: &std::path::Path, phase: &str) -> String {
    phase_statuses(run)
        .into_iter()
        .find(|(p, _)| p == phase)
        .map(|(_, s)| s)
        .unwrap_or_default()
}

#[test]
fn a_gate_stops_resume_before_its_phase_until_cleared() {
    let env = TestEnv::new();
    orchestrated_project(&env, "");
    let run = started_run(&env, "r1", CONFIG);
    insta::assert_snapshot!(env.render(&["gate", "add", "r1", "submit", "--reason", "check the budget"]), @r#"
    gate added: review owed before submit in run r1: check the budget
    [exit status: 0]
    "#);
    let out = env.run(&["resume", "r1", "--dry-run"]);
    assert!(String::from_utf8_lossy(&out.stdout)
        .trim_end()
        .ends_with("--to_step build"));
    let out = env.run(&["resume", "r1"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(status_of(&run, "build"), "completed");
    assert_eq!(status_of(&run, "submit"), "not_started");

    // Only gated work is left: nothing is dispatched, exit 6, and --force
    // does not clear the gate.
    insta::assert_snapshot!(env.render(&["resume", "r1", "--force"]), @r#"
    [stderr]
    rk: error: only gated work is left in run r1: review owed before submit: check the budget; nothing dispatched
    rk: hint: when the review is done: rk gate clear r1 submit --note "what was checked"
    [exit status: 6]
    "#);

    let cleared = env
        .render(&["gate", "clear", "r1", "submit", "--note", "budget ok"])
        .replace(&rk::ops::gate::who(), "[USER]");
    insta::assert_snapshot!(cleared, @r#"
    gate before submit cleared by [USER] at 2025-09-03T10:00:00.000000Z: budget ok
    [exit status: 0]
    "#);
    // The default plan passes no step flags; rk's reading is on stderr.
    let out = env.run(&["resume", "r1", "--dry-run"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("--from_step"));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("submit is the first phase not completed")
    );
    assert_eq!(env.run(&["resume", "r1"]).status.code(), Some(0));
    assert_eq!(status_of(&run, "report"), "completed");
    let gate = &state_of(&run)["gates"]["submit"];
    assert_eq!(gate["note"], "budget ok");
    assert_eq!(gate["cleared_by"], rk::ops::gate::who());
    let list = env.run(&["gate", "list", "r1"]);
    assert!(String::from_utf8_lossy(&list.stdout)
        .starts_with("submit     cleared  check the budget (state)"));
}

#[test]
fn rk_yaml_gates_are_owed_by_every_run() {
    let env = TestEnv::new();
    orchestrated_project(&env, "gates:\n  parse: \"look at the raw outputs\"\n");
    started_run(&env, "r1", CONFIG);
    let out = env.run(&["resume", "r1", "--dry-run"]);
    assert!(String::from_utf8_lossy(&out.stdout)
        .trim_end()
        .ends_with("--to_step poll"));
    insta::assert_snapshot!(env.render(&["gate", "list", "r1"]), @r#"
    parse      owed     look at the raw outputs (rk.yaml)
    [exit status: 0]
    "#);
    assert_eq!(
        env.run(&["gate", "clear", "r1", "parse", "--note", "fine"])
            .status
            .code(),
        Some(0)
    );
    let out = env.run(&["resume", "r1", "--dry-run"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("--from_step"));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("prepare is the first phase not completed")
    );
}

#[test]
fn bad_gate_input() {
    let env = TestEnv::new();
    orchestrated_project(&env, "");
    started_run(&env, "r1", CONFIG);
    insta::assert_snapshot!(env.render(&["gate", "add", "r1", "review", "--reason", "x"]), @r#"
    [stderr]
    rk: error: unknown phase "review"
    rk: hint: phases: prepare, build, submit, poll, parse, score, stats, costs, report
    [exit status: 2]
    "#);
    insta::assert_snapshot!(env.render(&["gate", "clear", "r1", "parse", "--note", "x"]), @r#"
    [stderr]
    rk: error: run r1 has no gate on parse
    rk: hint: `rk gate list r1` shows the gates
    [exit status: 2]
    "#);
    assert_eq!(
        env.run(&["gate", "add", "nope", "parse", "--reason", "x"])
            .status
            .code(),
        Some(2)
    );
    let out = env.run(&["gate", "add", "r1", "parse"]);
    assert_eq!(out.status.code(), Some(2), "--reason is required");
}

#[test]
fn gate_clear_without_user_names_the_account() {
    let env = TestEnv::new();
    orchestrated_project(&env, "");
    let run = started_run(&env, "r1", CONFIG);
    env.run(&["gate", "add", "r1", "parse", "--reason", "look"]);
    let out = env
        .cmd(&["gate", "clear", "r1", "parse", "--note", "ok"])
        .env_remove("USER")
        .env_remove("LOGNAME")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let by = state_of(&run)["gates"]["parse"]["cleared_by"]
        .as_str()
        .unwrap()
        .to_string();
    let user = by.split('@').next().unwrap();
    assert!(!user.is_empty() && user != "unknown", "cleared_by = {by}");
    let id = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let expected = String::from_utf8_lossy(&id.stdout).trim().to_string();
    if id.status.success() && !expected.is_empty() {
        assert_eq!(user, expected);
    }
}
