//! `rk init`: the layout and first state of a new run; bad input refused
//! with nothing created.

use crate::common::{tree, TestEnv};

fn project() -> TestEnv {
    let env = TestEnv::new();
    env.write("rk.yaml", "runs_dir: experiments\n");
    env.write(
        "conf/base.yaml",
        "# the base config\nmodel: {lr: 0.1, layers: 4}\nseed: 7\n",
    );
    env
}

#[test]
fn creates_the_layout_and_first_state() {
    let env = project();
    let mut all = env.render(&["init", "r1", "--config", "conf/base.yaml"]);
    all.push_str(&env.render(&["read-state", "r1"]));
    all.push_str(&env.render(&["log", "r1"]));
    insta::assert_snapshot!(all);
    // The config's bytes are copied unchanged.
    assert_eq!(
        env.read("experiments/run_r1/effective_config.yaml"),
        env.read("conf/base.yaml")
    );
    // The recorded config equals the current one; the store is sound.
    let out = env.run(&[
        "diff-config",
        "conf/base.yaml",
        "experiments/run_r1/effective_config.yaml",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(env.run(&["fsck", "r1"]).status.code(), Some(0));
    let state: serde_json::Value =
        serde_json::from_str(&env.read("experiments/run_r1/run_state.json")).unwrap();
    // Recorded under the Python tool set's scheme, so resume_run.py agrees.
    assert_eq!(state["config_hash_scheme"], "pyyaml-sorted");
    let hash = env.run(&["hash-config", "--scheme", "pyyaml-sorted", "conf/base.yaml"]);
    let hash = String::from_utf8(hash.stdout).unwrap();
    assert_eq!(
        state["config_hash"].as_str(),
        hash.split_whitespace().next()
    );
    assert_eq!(state["migrated"], false);
    // No temp dir is left beside the runs.
    let names: Vec<String> = std::fs::read_dir(env.root().join("experiments"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["run_r1"]);
}

#[test]
fn custom_phases_and_json_config() {
    let env = project();
    env.write("conf/c.json", r#"{"b": [1, 2.5], "a": "x"}"#);
    let out = env.run(&[
        "init",
        "r2",
        "--config",
        "conf/c.json",
        "--phases",
        "fetch,train,report",
    ]);
    assert!(out.status.success(), "{}", env.render_output(&out));
    let state: serde_json::Value =
        serde_json::from_str(&env.read("experiments/run_r2/run_state.json")).unwrap();
    let phases: Vec<&String> = state["phases"].as_object().unwrap().keys().collect();
    assert_eq!(phases, ["fetch", "train", "report"]);
    assert_eq!(
        state["pipeline"],
        serde_json::json!(["fetch", "train", "report"])
    );
    // The run's own pipeline is what resume reads (the default plan passes
    // no step flags; rk's reading is on stderr).
    let dry = env.run(&["resume", "r2", "--dry-run", "--", "echo"]);
    assert_eq!(String::from_utf8_lossy(&dry.stdout), "echo\n");
    assert!(String::from_utf8_lossy(&dry.stderr).contains("fetch is the first phase not completed"));
    let bad = env.run(&["resume", "r2", "--only-step", "parse", "--dry-run"]);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "parse is not a phase of this run"
    );
}

#[test]
fn outside_a_project_the_cwd_becomes_the_root() {
    let env = TestEnv::new();
    env.write("c.yaml", "a: 1\n");
    let out = env.run(&["init", "r1", "--config", "c.yaml"]);
    assert!(out.status.success(), "{}", env.render_output(&out));
    assert!(env
        .root()
        .join("experiments/run_r1/run_state.json")
        .is_file());
}

#[test]
fn records_the_code_version_in_a_git_repository() {
    let git = |args: &[&str], dir: &std::path::Path| crate::common::git(dir, args);
    let env = project();
    if !git(&["init", "-q"], env.root()) {
        eprintln!("skipped: no git");
        return;
    }
    assert!(git(&["add", "rk.yaml"], env.root()));
    assert!(git(&["commit", "-qm", "first"], env.root()));
    let out = env.run(&["init", "r1", "--config", "conf/base.yaml"]);
    assert!(out.status.success(), "{}", env.render_output(&out));
    let state: serde_json::Value =
        serde_json::from_str(&env.read("experiments/run_r1/run_state.json")).unwrap();
    assert_eq!(state["code_version"]["commit"].as_str().unwrap().len(), 40);
    // conf/ is untracked: the tree is not dirty.
    assert_eq!(state["code_version"]["dirty"], false);
    // The run dir's .gitignore hides rk's own files from git: only the
    // run's config, state and the .gitignore itself show as new.
    std::fs::write(
        env.root()
            .join("experiments/run_r1/STOP_REQUESTED.cleared.x"),
        "",
    )
    .unwrap();
    let out = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all"])
        .current_dir(env.root())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    let mut shown: Vec<&str> = shown.lines().filter(|l| l.contains("run_r1")).collect();
    shown.sort();
    assert_eq!(
        shown,
        [
            "?? experiments/run_r1/.gitignore",
            "?? experiments/run_r1/effective_config.yaml",
            "?? experiments/run_r1/run_state.json",
        ]
    );
}

#[test]
fn bad_input_is_exit_2_and_creates_nothing() {
    let env = project();
    env.write("conf/bad.yaml", "model: {lr: 0.1\n");
    env.write("conf/dup.json", r#"{"a": 1, "a": 2}"#);
    assert!(env
        .run(&["init", "r1", "--config", "conf/base.yaml"])
        .status
        .success());
    let before = tree(env.root());
    let mut all = String::new();
    for args in [
        &["init", "r1", "--config", "conf/base.yaml"][..],
        &["init", "experiments/run_r9", "--config", "conf/base.yaml"],
        &["init", "../r9", "--config", "conf/base.yaml"],
        &["init", ".r9", "--config", "conf/base.yaml"],
        &["init", "r9", "--config", "conf/bad.yaml"],
        &["init", "r9", "--config", "conf/dup.json"],
        &["init", "r9", "--config", "conf/missing.yaml"],
        &["init", "r9", "--config", "conf"],
        &[
            "init",
            "r9",
            "--config",
            "conf/base.yaml",
            "--phases",
            "a,b,a",
        ],
        &[
            "init",
            "r9",
            "--config",
            "conf/base.yaml",
            "--phases",
            "a,,b",
        ],
    ] {
        all.push_str(&format!("$ rk {}\n", args.join(" ")));
        all.push_str(&env.render(args));
        assert_eq!(before, tree(env.root()), "{args:?} changed the tree");
    }
    insta::assert_snapshot!(all);
}

/// A run with its own pipeline is judged by that pipeline everywhere: list,
/// status and archive agree that it is completed when its phases are.
#[test]
fn a_custom_pipeline_is_what_list_status_and_archive_judge() {
    let env = project();
    env.write("c.yaml", "a: 1\n");
    assert!(env
        .run(&[
            "init",
            "r2",
            "--config",
            "c.yaml",
            "--phases",
            "fetch,train"
        ])
        .status
        .success());
    let mut state: serde_json::Value =
        serde_json::from_str(&env.read("experiments/run_r2/run_state.json")).unwrap();
    for phase in ["fetch", "train"] {
        state["phases"][phase]["status"] = "completed".into();
    }
    let out = env.run_stdin(&["write-state", "r2"], state.to_string().as_bytes());
    assert!(out.status.success(), "{}", env.render_output(&out));
    let list = String::from_utf8(env.run(&["list", "--json"]).stdout).unwrap();
    assert!(list.contains("\"status\":\"completed\""), "{list}");
    let status: serde_json::Value =
        serde_json::from_slice(&env.run(&["status", "r2", "--json"]).stdout).unwrap();
    assert_eq!(status["status"], "completed");
    assert_eq!(status["next"], "rk archive r2");
    assert!(env.run(&["archive", "r2"]).status.success());
}
