//! Sessions and notes: the working state keeps the last few sessions, the
//! history keeps them all.

use crate::common::{orchestrated_project, started_run, state_of, TestEnv};

#[test]
fn seven_resumes_keep_five_sessions_in_the_state_and_seven_in_history() {
    let env = TestEnv::new();
    orchestrated_project(&env, "");
    let run = started_run(&env, "r1", "trials:\n  t1: [ds-1]\n");
    for (i, step) in [
        "prepare", "build", "submit", "poll", "parse", "score", "stats",
    ]
    .iter()
    .enumerate()
    {
        // Each session gets its own start time.
        let now = format!("2025-09-03T10:0{i}:00.000000Z");
        let out = env
            .cmd(&["resume", "r1", "--only-step", step])
            .env("RK_NOW", &now)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let sessions = state_of(&run)["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 5);
    assert_eq!(sessions[0]["steps"][0], "submit");
    let history = env.run(&["log", "r1", "--sessions", "--json"]);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&history.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[0]["steps"][0], "prepare");
    assert_eq!(lines[0]["exit_code"], 0);
    assert_eq!(lines[6]["steps"][0], "stats");
    assert!(lines.iter().all(|l| l["format_version"] == 1));
}

#[test]
fn a_note_lands_on_the_latest_session() {
    let env = TestEnv::new();
    orchestrated_project(&env, "");
    let run = started_run(&env, "r1", "trials:\n  t1: [ds-1]\n");
    insta::assert_snapshot!(env.render(&["note", "r1", "checking parse output by hand", "--resume-file", "notes/next.md"]), @r#"
    noted on a new session started 2025-09-03T10:00:00.000000Z
    [exit status: 0]
    "#);
    assert_eq!(
        env.run(&["resume", "r1", "--only-step", "prepare"])
            .status
            .code(),
        Some(0)
    );
    let out = env
        .cmd(&["note", "r1", "stopped after prepare; next: build"])
        .env("RK_NOW", "2025-09-03T11:00:00Z")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let sessions = state_of(&run)["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2);
    assert_eq!(
        sessions[1]["stopped_at"],
        "stopped after prepare; next: build"
    );
    let log = env.run(&["log", "r1", "--sessions"]);
    let text = String::from_utf8_lossy(&log.stdout);
    assert!(
        text.contains("    stopped: checking parse output by hand\n    resume file: notes/next.md"),
        "{text}"
    );
    assert!(
        text.contains("    stopped: stopped after prepare; next: build"),
        "{text}"
    );
}

#[test]
fn a_note_on_a_missing_run_is_exit_2() {
    let env = TestEnv::new();
    orchestrated_project(&env, "");
    started_run(&env, "r1", "a: 1\n");
    insta::assert_snapshot!(env.render(&["note", "r2", "x"]), @r#"
    [stderr]
    rk: error: no run "r2" in [ROOT]/experiments; closest: r1
    rk: hint: `rk list` shows every run of the project
    [exit status: 2]
    "#);
}
