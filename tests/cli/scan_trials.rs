use crate::common::{tree, TestEnv};

const RUN: &str = "experiments/run_r1";

const V2: &str = r#"{
  "schema_version": 2,
  "run_id": "r1",
  "datasets": {"t0.7_control": ["ds-1", "ds-2"]},
  "jobs": {"t0.7_control_p01": {"id": "j1"}},
  "job_status": {"t0.7_control_p01": "completed", "t0.7_control_p02": "running"},
  "stage_status": {"downloaded": {"status": "completed", "updated_at": "2025-09-02T22:00:00.000000Z", "artifacts": {}},
                   "parsed": {"status": "in_progress"}},
  "timestamps": {"created_at": "2025-09-02T21:46:43.120001Z"}
}"#;

const V1: &str =
    r#"{"run_id": "r1", "datasets": {"a": ["x"]}, "job_status": {"a_p01": "downloaded"}}"#;

/// A run that looks like a run (it has a config) with the given trials.
fn run_with(env: &TestEnv, trials: &[(&str, &str)]) {
    env.write(&format!("{RUN}/effective_config.yaml"), "model: m\n");
    for (slug, manifest) in trials {
        env.write(
            &format!("{RUN}/{slug}/results/trial_manifest.json"),
            manifest,
        );
    }
}

#[test]
fn v1_v2_and_corrupt_sorted_by_slug() {
    let env = TestEnv::new();
    run_with(
        &env,
        &[
            ("t2_v1", V1),
            ("t1_v2", V2),
            ("t3_corrupt", "{\"schema_version\": 2,"),
            ("t4_array", "[1, 2]"),
            (
                "t5_wrong_types",
                r#"{"datasets": ["a"], "stage_status": {"parsed": 3}}"#,
            ),
        ],
    );
    // Not trials: a hidden dir, a dir without a manifest, a plain file.
    env.write(&format!("{RUN}/.rk/results/trial_manifest.json"), V2);
    env.write(&format!("{RUN}/logs/run.log"), "x");
    env.write(&format!("{RUN}/run_state.json"), "{}");
    insta::assert_snapshot!(env.render(&["scan-trials", "r1"]), @r#"
    {"format_version":1,"slug":"t1_v2","manifest":"t1_v2/results/trial_manifest.json","schema_version":2,"state":"ok","reconstructed":false,"stages":{"downloaded":"completed","parsed":"in_progress"},"jobs":{"completed":1,"running":1},"expected_parts":["t0.7_control_p01","t0.7_control_p02"],"warnings":[],"error":null}
    {"format_version":1,"slug":"t2_v1","manifest":"t2_v1/results/trial_manifest.json","schema_version":1,"state":"ok","reconstructed":false,"stages":{},"jobs":{"downloaded":1},"expected_parts":["a_p01"],"warnings":[],"error":null}
    {"format_version":1,"slug":"t3_corrupt","manifest":"t3_corrupt/results/trial_manifest.json","schema_version":null,"state":"corrupt","reconstructed":false,"stages":{},"jobs":{},"expected_parts":[],"warnings":[],"error":"not valid JSON: EOF while parsing a value at line 1 column 21"}
    {"format_version":1,"slug":"t4_array","manifest":"t4_array/results/trial_manifest.json","schema_version":null,"state":"corrupt","reconstructed":false,"stages":{},"jobs":{},"expected_parts":[],"warnings":[],"error":"not a JSON object"}
    {"format_version":1,"slug":"t5_wrong_types","manifest":"t5_wrong_types/results/trial_manifest.json","schema_version":1,"state":"ok","reconstructed":false,"stages":{},"jobs":{},"expected_parts":[],"warnings":["datasets is a list, not an object; ignored","stage_status.parsed is a number, not an object; ignored"],"error":null}
    [exit status: 0]
    "#);
}

#[cfg(unix)]
#[test]
fn missing_manifest_is_reported() {
    let env = TestEnv::new();
    run_with(&env, &[("t1", V1)]);
    std::fs::create_dir_all(env.root().join(RUN).join("t2/results")).unwrap();
    std::os::unix::fs::symlink(
        "gone.json",
        env.root().join(RUN).join("t2/results/trial_manifest.json"),
    )
    .unwrap();
    insta::assert_snapshot!(env.render(&["scan-trials", "r1"]), @r#"
    {"format_version":1,"slug":"t1","manifest":"t1/results/trial_manifest.json","schema_version":1,"state":"ok","reconstructed":false,"stages":{},"jobs":{"downloaded":1},"expected_parts":["a_p01"],"warnings":[],"error":null}
    {"format_version":1,"slug":"t2","manifest":"t2/results/trial_manifest.json","schema_version":null,"state":"missing","reconstructed":false,"stages":{},"jobs":{},"expected_parts":[],"warnings":[],"error":"dangling symlink"}
    [exit status: 0]
    "#);
}

#[test]
fn reconstructed_manifest_says_so() {
    let env = TestEnv::new();
    run_with(
        &env,
        &[(
            "t1",
            r#"{"schema_version": 2, "reconstructed": true, "reconstructed_from": "trial_manifest.json.corrupt.x", "stage_status": {"parsed": {"status": "completed"}}}"#,
        )],
    );
    insta::assert_snapshot!(env.render(&["scan-trials", "r1"]), @r#"
    {"format_version":1,"slug":"t1","manifest":"t1/results/trial_manifest.json","schema_version":2,"state":"ok","reconstructed":true,"stages":{"parsed":"completed"},"jobs":{},"expected_parts":[],"warnings":[],"error":null}
    [exit status: 0]
    "#);
}

#[test]
fn a_run_without_trials_prints_nothing() {
    let env = TestEnv::new();
    run_with(&env, &[]);
    insta::assert_snapshot!(env.render(&["scan-trials", "r1"]), @"[exit status: 0]");
}

#[test]
fn a_path_operand_works_too() {
    let env = TestEnv::new();
    run_with(&env, &[("t1", V1)]);
    let out = env.run(&["scan-trials", "./experiments/run_r1"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn read_only_even_for_corrupt_manifests() {
    let env = TestEnv::new();
    run_with(&env, &[("t1", V2), ("t2", "not json"), ("t3", "")]);
    let before = tree(env.root());
    let out = env.run(&["scan-trials", "r1"]);
    assert!(out.status.success());
    assert_eq!(tree(env.root()), before);
}

#[test]
fn many_trials_stream_in_slug_order() {
    let env = TestEnv::new();
    let trials: Vec<(String, String)> = (0..500)
        .rev()
        .map(|i| {
            let manifest = if i % 13 == 0 {
                "{".to_string()
            } else {
                V1.to_string()
            };
            (format!("t{i:03}"), manifest)
        })
        .collect();
    let refs: Vec<(&str, &str)> = trials
        .iter()
        .map(|(s, m)| (s.as_str(), m.as_str()))
        .collect();
    run_with(&env, &refs);
    let out = env.run(&["scan-trials", "r1"]);
    assert!(out.status.success());
    let slugs: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["slug"].as_str().unwrap().to_string()
        })
        .collect();
    let want: Vec<String> = (0..500).map(|i| format!("t{i:03}")).collect();
    assert_eq!(slugs, want);
}

#[test]
fn a_closed_pipe_ends_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    let env = TestEnv::new();
    let trials: Vec<(String, &str)> = (0..3000).map(|i| (format!("t{i:04}"), V2)).collect();
    let refs: Vec<(&str, &str)> = trials.iter().map(|(s, m)| (s.as_str(), *m)).collect();
    run_with(&env, &refs);
    let mut child = env
        .cmd(&["scan-trials", "r1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // stdout is dropped here: the pipe is closed.
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn a_run_that_does_not_exist_names_the_closest() {
    let env = TestEnv::new();
    run_with(&env, &[]);
    env.write("experiments/run_r2/effective_config.yaml", "model: m\n");
    insta::assert_snapshot!(env.render(&["scan-trials", "r3"]), @r#"
    [stderr]
    rk: error: no run "r3" in [ROOT]/experiments; closest: r1, r2
    rk: hint: `rk list` shows every run of the project
    [exit status: 2]
    "#);
}

#[test]
fn a_bad_run_id_is_refused() {
    let env = TestEnv::new();
    run_with(&env, &[]);
    let out = env.run(&["scan-trials", ".."]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_custom_manifest_glob_from_rk_yaml() {
    let env = TestEnv::new();
    env.write(
        "rk.yaml",
        "trials:\n  manifest: \"trial_*/manifest.json\"\n",
    );
    env.write(&format!("{RUN}/effective_config.yaml"), "model: m\n");
    env.write(&format!("{RUN}/trial_b/manifest.json"), V1);
    env.write(&format!("{RUN}/trial_a/manifest.json"), V2);
    env.write(&format!("{RUN}/other/manifest.json"), V1);
    env.write(&format!("{RUN}/trial_c/results/trial_manifest.json"), V1);
    insta::assert_snapshot!(env.render(&["scan-trials", "r1"]), @r#"
    {"format_version":1,"slug":"trial_a","manifest":"trial_a/manifest.json","schema_version":2,"state":"ok","reconstructed":false,"stages":{"downloaded":"completed","parsed":"in_progress"},"jobs":{"completed":1,"running":1},"expected_parts":["t0.7_control_p01","t0.7_control_p02"],"warnings":[],"error":null}
    {"format_version":1,"slug":"trial_b","manifest":"trial_b/manifest.json","schema_version":1,"state":"ok","reconstructed":false,"stages":{},"jobs":{"downloaded":1},"expected_parts":["a_p01"],"warnings":[],"error":null}
    [exit status: 0]
    "#);
}

/// The line format, mirrored with `deny_unknown_fields`: any change to the
/// fields fails here first (plumbing output is a contract).
#[test]
fn line_format_is_the_contract() {
    #[allow(dead_code)]
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Line {
        format_version: u32,
        slug: String,
        manifest: String,
        schema_version: Option<u32>,
        state: String,
        reconstructed: bool,
        stages: std::collections::BTreeMap<String, Option<String>>,
        jobs: std::collections::BTreeMap<String, u64>,
        expected_parts: Vec<String>,
        warnings: Vec<String>,
        error: Option<String>,
    }
    let env = TestEnv::new();
    run_with(&env, &[("t1", V2), ("t2", "{")]);
    let out = env.run(&["scan-trials", "r1"]);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let line: Line = serde_json::from_str(line).unwrap();
        assert_eq!(line.format_version, 1);
    }
}

/// `RK_THREADS=1` reads on one thread, more spread the reading: the output is
/// the same, byte for byte, in slug order; so is `status`, which judges every
/// trial on the same workers.
#[test]
fn one_thread_or_many_give_the_same_output() {
    let env = TestEnv::new();
    let trials: Vec<(String, &str)> = (0..700)
        .map(|i| {
            let m = match i % 11 {
                0 => "{",
                1 | 2 => V1,
                _ => V2,
            };
            (format!("t{i:04}"), m)
        })
        .collect();
    let refs: Vec<(&str, &str)> = trials.iter().map(|(s, m)| (s.as_str(), *m)).collect();
    run_with(&env, &refs);
    env.write(&format!("{RUN}/t0003/results/predictions.csv"), "x\n");
    for args in [&["scan-trials", "r1"][..], &["status", "r1", "--json"][..]] {
        let runs: Vec<_> = ["1", "2", "5"]
            .iter()
            .map(|n| env.cmd(args).env("RK_THREADS", n).output().unwrap())
            .collect();
        for out in &runs {
            assert!(out.status.success(), "{}", env.render_output(out));
            assert_eq!(out.stdout, runs[0].stdout, "{args:?}");
        }
    }
}

#[test]
fn a_bad_rk_threads_is_refused() {
    let env = TestEnv::new();
    run_with(&env, &[("t1", V2)]);
    for bad in ["0", "many", "-2"] {
        let out = env
            .cmd(&["scan-trials", "r1"])
            .env("RK_THREADS", bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!(
                "rk: error: RK_THREADS=\"{bad}\" is not a number of threads"
            )) && err.contains("rk: hint: set RK_THREADS to a whole number"),
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }
}

/// Python's `json.dump` writes a lone surrogate escape for a str holding one
/// (`os.listdir`'s name for a part directory that is not UTF-8, in a stage's
/// artifacts), and the orchestrator's `json.load` reads the manifest back:
/// rk reads it too (U+FFFD in the surrogate's place), never calls it corrupt,
/// and `rk migrate` leaves it as it is instead of "repairing" it.
#[test]
fn a_lone_surrogate_escape_python_writes_is_read_not_corrupt() {
    let env = TestEnv::new();
    let manifest = V2.replace(
        r#""artifacts": {}"#,
        r#""artifacts": {"parts": [{"path": "caf\udce9_p01/results.jsonl"}]}"#,
    );
    assert_ne!(manifest, V2);
    run_with(&env, &[("t1", &manifest)]);
    let out = env.run(&["scan-trials", "r1"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["state"], "ok", "{line}");
    assert_eq!(
        line["jobs"],
        serde_json::json!({"completed": 1, "running": 1})
    );
    assert_eq!(line["stages"]["downloaded"], "completed", "{line}");
    let path = env
        .root()
        .join(format!("{RUN}/t1/results/trial_manifest.json"));
    let out = env.run(&["migrate", "r1"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), manifest);
    let names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["trial_manifest.json"]);
    let status = env.render(&["status", "r1"]);
    assert!(!status.contains("corrupt"), "{status}");
}
