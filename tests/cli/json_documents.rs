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

// The documents below are pinned as rk wrote them, byte for byte: not parsed
// and printed again, so key order, spacing, `null` against an absent field and
// the form of every number are pinned too.

/// stdout verbatim with the machine's traces masked, then the exit status.
fn raw(env: &TestEnv, args: &[&str]) -> String {
    let out = env.run(args);
    format!(
        "$ rk {}\n{}[exit status: {}]\n",
        args.join(" "),
        masked(env, &String::from_utf8_lossy(&out.stdout)),
        out.status.code().unwrap_or(-1)
    )
}

/// The temp dir as `[ROOT]`, this machine's name as `[HOST]`, process ids as
/// `[PID]`, 64-hex ids (and their 12-hex form after `--at`) as `[ID]` and
/// 40-hex git commits as `[COMMIT]`.
fn masked(env: &TestEnv, text: &str) -> String {
    let host = rk::store::lock::hostname();
    let root = env.root().canonicalize().unwrap();
    let text = text
        .replace(root.to_str().unwrap(), "[ROOT]")
        .replace(env.root().to_str().unwrap(), "[ROOT]")
        .replace(&format!("\"{host}\""), "\"[HOST]\"")
        .replace(&format!("@{host}\""), "@[HOST]\"");
    // user@host (who cleared a gate): the user is the machine's too.
    let mut text = text;
    while let Some(at) = text.find("@[HOST]\"") {
        let start = text[..at].rfind('"').map_or(0, |q| q + 1);
        if &text[start..at] == "[USER]" {
            break;
        }
        text.replace_range(start..at, "[USER]");
    }
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("\"pid\":") {
        let (head, tail) = rest.split_at(at + "\"pid\":".len());
        out.push_str(head);
        let digits = tail.trim_start_matches(' ');
        let spaces = tail.len() - digits.len();
        let n = digits.chars().take_while(char::is_ascii_digit).count();
        out.push_str(&tail[..spaces]);
        out.push_str(if n > 0 { "[PID]" } else { "" });
        rest = &digits[n..];
    }
    out.push_str(rest);
    let mut masked = String::new();
    let mut run = String::new();
    for c in out.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() && !c.is_ascii_uppercase() {
            run.push(c);
            continue;
        }
        masked.push_str(match run.len() {
            64 => "[ID]",
            40 => "[COMMIT]",
            12 if masked.ends_with("--at ") => "[ID]",
            _ => &run,
        });
        run.clear();
        masked.push(c);
    }
    masked.pop();
    masked
}

/// `rk status --json` for every overall status and every form of `config`,
/// `held_by`, `last_session`, `evidence`, `owed_gates` and a corrupt state.
#[test]
fn status_json_documents_verbatim() {
    use crate::status::{commit_with_config, every_status, state_json, trial, CONFIG};
    let env = TestEnv::new();
    let _holder = every_status(&env);
    // Stopped, with a session, evidence from trials and a pending stop.
    let mut statuses = all("completed")[..4].to_vec();
    statuses.push(("parse", "stopped"));
    run_with(
        &env,
        "j-stopped",
        &statuses,
        r#", "sessions": [{"started_at": "2025-09-02T21:00:00.000000Z", "ended_at": "2025-09-02T21:05:00.000000Z", "command": ["python"], "steps": ["parse"], "exit_code": 130, "host": "node1", "pid": 42, "stopped_at": "parse t3", "resume_file": "notes.md"}]"#,
    );
    for i in 0..3 {
        let files: &[&str] = if i < 2 {
            &["results/predictions.csv"]
        } else {
            &[]
        };
        trial(&env, "j-stopped", &format!("t{i}"), files);
    }
    env.write(
        "experiments/run_j-stopped/STOP_REQUESTED",
        "2025-09-02T21:04:00.000000Z\n",
    );
    // Drifted, with the changed keys (the store holds the recorded config).
    let text = state_json("k-drifted", &all("completed")[..4], "");
    env.write("experiments/run_k-drifted/effective_config.yaml", CONFIG);
    commit_with_config(&env, "k-drifted", &text, CONFIG);
    env.write(
        "experiments/run_k-drifted/effective_config.yaml",
        CONFIG.replace("seed: 7", "seed: 8"),
    );
    // Drifted, only the hashes known (no store).
    run_with(&env, "l-drifted-legacy", &all("completed")[..1], "");
    env.write(
        "experiments/run_l-drifted-legacy/effective_config.yaml",
        "seed: 9\n",
    );
    // No config_hash recorded; a config missing; a config that does not parse.
    env.write(
        "experiments/run_m-not-recorded/run_state.json",
        r#"{"schema_version": 1, "run_id": "m-not-recorded", "phases": {"prepare": {"status": "completed", "updated_at": "2025-09-02T21:00:10.500000Z", "last_error": null}, "build": {"status": "failed", "updated_at": "2025-09-02T21:01:10.500000Z", "last_error": "boom: out of memory"}, "submit": {"status": "paused", "updated_at": null, "last_error": {"code": 3}}}}"#,
    );
    env.write(
        "experiments/run_m-not-recorded/effective_config.yaml",
        CONFIG,
    );
    env.write(
        "experiments/run_n-missing/run_state.json",
        state_json(
            "n-missing",
            &[("prepare", "completed"), ("submit", "completed")],
            "",
        ),
    );
    run_with(&env, "o-unreadable", &[], "");
    env.write(
        "experiments/run_o-unreadable/effective_config.yaml",
        "a: [\n",
    );
    // Unverifiable: a legacy hash over a YAML timestamp.
    env.write(
        "experiments/run_p-unverifiable/run_state.json",
        r#"{"schema_version": 1, "run_id": "p-unverifiable", "config_hash": "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", "phases": {}}"#,
    );
    env.write(
        "experiments/run_p-unverifiable/effective_config.yaml",
        "started: 2025-09-03\n",
    );
    // A corrupt state with a snapshot to go back to.
    let text = state_json("q-corrupt", &all("completed")[..2], "");
    env.write("experiments/run_q-corrupt/effective_config.yaml", CONFIG);
    commit_with_config(&env, "q-corrupt", &text, CONFIG);
    env.write("experiments/run_q-corrupt/run_state.json", "{\"phases\": ");
    // An owed gate and a note.
    run_with(&env, "r-gated", &all("completed")[..3], "");
    let gate = env.run(&["gate", "add", "r-gated", "poll", "--reason", "check costs"]);
    env.expect_exit(&gate, 0);
    let note = env.run(&["note", "r-gated", "poll next"]);
    env.expect_exit(&note, 0);
    // Archived by archive_run.py.
    env.write(
        "experiments/t07_s-py/archive_manifest.json",
        r#"{"experiment_id": "t07_s-py", "archived_date": "2025-09-03T09:30:00.250000Z", "config": {"temperature": 0.7, "model_id": "m"}, "run_id": "s-py", "files": {"results": ["predictions.csv"]}, "status": "archived", "state": {"migrated": false, "config_hash": "9f2c00000000aaaa", "phases": {}}}"#,
    );
    // Every state file's time fixed, but for one interrupted run changed a
    // minute ago (an orchestrator elsewhere may still run it).
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_756_800_000);
    for entry in std::fs::read_dir(env.root().join("experiments")).unwrap() {
        let state = entry.unwrap().path().join("run_state.json");
        if let Ok(file) = std::fs::File::options().write(true).open(&state) {
            file.set_modified(old).unwrap();
        }
    }
    let recent = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(
            env.root()
                .join("experiments/run_b-interrupted/run_state.json"),
        )
        .unwrap()
        .set_modified(recent)
        .unwrap();
    let micros = recent
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    let recent = rk::clock::Timestamp::from_unix_micros(micros).to_string();
    let mut all_docs = String::new();
    for rid in [
        "a-running",
        "b-interrupted",
        "c-failed",
        "d-completed",
        "e-stopped",
        "f-not-started",
        "g-archived",
        "h-corrupt",
        "i-legacy",
        "j-stopped",
        "k-drifted",
        "l-drifted-legacy",
        "m-not-recorded",
        "n-missing",
        "o-unreadable",
        "p-unverifiable",
        "q-corrupt",
        "r-gated",
        "t07_s-py",
    ] {
        all_docs.push_str(&raw(&env, &["status", rid, "--json"]));
        next_is_status_next(&env, rid);
    }
    all_docs.push_str(&raw(&env, &["list", "--json"]));
    all_docs.push_str(&raw(&env, &["list", "--json", "--sort", "updated"]));
    insta::assert_snapshot!(all_docs.replace(&recent, "[A MINUTE AGO]"));
}

/// `rk next RUN` prints the first line of `rk status RUN --json`'s `next`
/// (nothing when it is null), although it gathers less: no trial is read and
/// git is not asked.
fn next_is_status_next(env: &TestEnv, rid: &str) {
    let status = env.run(&["status", rid, "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let first = doc["next"]
        .as_str()
        .and_then(|n| n.lines().next())
        .map(|line| format!("{line}\n"))
        .unwrap_or_default();
    let next = env.run(&["next", rid]);
    assert_eq!(next.status.code(), Some(0), "rk next {rid}");
    assert_eq!(
        String::from_utf8_lossy(&next.stdout),
        first,
        "rk next {rid}"
    );
}

/// `rk status --json`'s `code` in each of its forms, from a real git repository.
#[test]
fn status_json_code_documents_verbatim() {
    use crate::common::{git, orchestrated_project};
    if std::process::Command::new("git")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no git on this machine");
        return;
    }
    let env = TestEnv::new();
    orchestrated_project(&env, "");
    env.write(".gitignore", "experiments/\n");
    env.write("cfg.yaml", "trials:\n  t1: [ds-1]\n");
    assert!(git(env.root(), &["init", "-q"]));
    assert!(git(env.root(), &["add", "."]));
    assert!(git(env.root(), &["commit", "-qm", "first"]));
    env.expect_exit(&env.run(&["init", "r1", "--config", "cfg.yaml"]), 0);
    let mut docs = raw(&env, &["status", "r1", "--json"]);
    env.write("train.py", "print('v2')\n");
    assert!(git(env.root(), &["add", "train.py"]));
    assert!(git(
        env.root(),
        &["commit", "-qm", "tune the learning rate"]
    ));
    env.write("train.py", "print('v3')\n");
    docs.push_str(&raw(&env, &["status", "r1", "--json"]));
    let head = std::process::Command::new("git")
        .arg("-C")
        .arg(env.root())
        .args(["rev-parse", "HEAD"])
        .output()
        .unwrap();
    let head = String::from_utf8(head.stdout).unwrap();
    std::fs::rename(env.root().join(".git"), env.root().join("git-away")).unwrap();
    docs.push_str(&raw(&env, &["status", "r1", "--json"]));
    // The commit's abbreviated id depends on when it was made.
    let mut shown = docs.clone();
    for n in (4..=40).rev() {
        shown = shown.replace(
            &format!("\"id\":\"{}\"", &head.trim()[..n]),
            "\"id\":\"[COMMIT]\"",
        );
    }
    insta::assert_snapshot!(shown);
}

/// `rk compare --json`: compatible, differing configs and trials, a config
/// that cannot be read, and schemes that differ (recomputed hashes).
#[test]
fn compare_json_documents_verbatim() {
    use crate::status::{legacy_hash, CONFIG};
    let env = project();
    run_with(&env, "done2", &all("completed"), "");
    env.write(
        "experiments/run_done2/t1/results/trial_manifest.json",
        r#"{"schema_version": 2, "run_id": "done2", "datasets": {"t1": ["ds-1"]}, "job_status": {"t1_p01": "downloaded"}}"#,
    );
    run_with(&env, "other", &all("completed")[..5], "");
    env.write(
        "experiments/run_other/effective_config.yaml",
        CONFIG.replace("seed: 7", "seed: 8"),
    );
    env.write(
        "experiments/run_other/t2/results/trial_manifest.json",
        "{bad",
    );
    env.write(
        "experiments/run_other/t3/results/trial_manifest.json",
        r#"{"datasets": {"a": ["x"]}}"#,
    );
    run_with(&env, "broken", &all("completed"), "");
    env.write("experiments/run_broken/effective_config.yaml", "a: [\n");
    env.write(
        "experiments/run_legacy/run_state.json",
        crate::status::state_json("legacy", &all("completed"), "")
            .replace("\"config_hash_scheme\": \"rk-c14n-v1\", ", "")
            .replace(&crate::status::config_hash(CONFIG), &legacy_hash(CONFIG))
            .replace(
                "\"schema_version\": 1,",
                r#""schema_version": 1, "migrated": true,"#,
            ),
    );
    env.write("experiments/run_legacy/effective_config.yaml", CONFIG);
    let mut docs = String::new();
    for (a, b) in [
        ("done", "done2"),
        ("done", "half"),
        ("done", "other"),
        ("done", "broken"),
        ("done", "legacy"),
    ] {
        docs.push_str(&raw(&env, &["compare", a, b, "--json"]));
    }
    insta::assert_snapshot!(docs);
}

/// `rk migrate --json`: a dry run, the migration itself (with a repaired
/// manifest and the new snapshot), nothing to do, and a rebuild.
#[test]
fn migrate_json_documents_verbatim() {
    let env = crate::migrate::legacy_run();
    let mut docs = raw(&env, &["migrate", "r1", "--dry-run", "--json"]);
    docs.push_str(&raw(&env, &["migrate", "r1", "--json"]));
    docs.push_str(&raw(&env, &["migrate", "r1", "--json"]));
    env.write("experiments/run_r1/effective_config.yaml", "seed: 8\n");
    docs.push_str(&raw(
        &env,
        &["migrate", "r1", "--rebuild", "--dry-run", "--json"],
    ));
    docs.push_str(&raw(&env, &["migrate", "r1", "--rebuild", "--json"]));
    // No config at all.
    env.write("experiments/run_r2/t1/results/trial_manifest.json", "{}");
    docs.push_str(&raw(&env, &["migrate", "r2", "--json"]));
    insta::assert_snapshot!(docs);
}

/// The plumbing's JSON and the porcelain's NDJSON, verbatim: log (both
/// forms), gate list (owed from rk.yaml and the state, and cleared),
/// scan-trials (ok, reconstructed, corrupt, missing), read-state (plain,
/// --with-id, --at; numbers as written).
#[test]
fn plumbing_and_ndjson_documents_verbatim() {
    let env = project();
    env.write("rk.yaml", "gates:\n  report: \"read the report\"\n");
    env.expect_exit(&env.run(&["note", "half", "parse next"]), 0);
    env.expect_exit(
        &env.run(&["gate", "add", "half", "stats", "--reason", "check"]),
        0,
    );
    env.expect_exit(
        &env.run(&["gate", "add", "half", "score", "--reason", "look"]),
        0,
    );
    env.expect_exit(
        &env.run(&["gate", "clear", "half", "score", "--note", "fine"]),
        0,
    );
    run_with(&env, "odd", &[], "");
    let odd = env.run_stdin(
        &["write-state", "odd"],
        br#"{"schema_version": 1, "run_id": "odd", "phases": {}, "counter": 1.5e3, "big": 12345678901234567890, "neg": -0.0, "tiny": 1e-7}"#,
    );
    env.expect_exit(&odd, 0);
    env.write(
        "experiments/run_done/t2/results/trial_manifest.json",
        r#"{"schema_version": 2, "reconstructed": true, "datasets": {"a": ["x", "y"], "b": ["z"]}, "job_status": {"a_p01": "completed", "a_p02": "failed", "b_p01": "completed"}, "stage_status": {"parsed": {"status": "completed"}, "scored": {}}}"#,
    );
    env.write("experiments/run_done/t3/results/trial_manifest.json", "[1]");
    let t4 = env.root().join("experiments/run_done/t4/results");
    std::fs::create_dir_all(&t4).unwrap();
    std::os::unix::fs::symlink("nowhere.json", t4.join("trial_manifest.json")).unwrap();
    let mut docs = String::new();
    for args in [
        &["log", "half", "--json"][..],
        &["log", "half", "--sessions", "--json"],
        &["gate", "list", "half", "--json"],
        &["gate", "list", "done", "--json"],
        &["scan-trials", "done"],
        &["read-state", "odd"],
        &["read-state", "odd", "--with-id"],
        &["read-state", "odd", "--at", "HEAD", "--with-id"],
        &["read-state", "half", "--at", "HEAD~1"],
        &["read-state", "done", "--with-id"],
    ] {
        docs.push_str(&raw(&env, args));
    }
    insta::assert_snapshot!(docs);
}
