//! `rk fsck`: corruption is exit 5 naming the path and the last good
//! snapshot; what an interrupted write leaves behind is only a note.

use crate::common::TestEnv;
use crate::read_state::{run_with_state, PY_STATE};

/// A run with three snapshots (observed + two writes); returns their ids,
/// oldest first.
fn history() -> (TestEnv, Vec<String>) {
    let env = run_with_state(PY_STATE);
    for v in ["a", "b"] {
        let input = format!(r#"{{"schema_version": 1, "phases": {{}}, "v": "{v}"}}"#);
        let out = env.run_stdin(&["write-state", "r1", "-m", v], input.as_bytes());
        assert!(out.status.success());
    }
    let log = env.read("experiments/run_r1/.rk/log");
    let ids = log
        .lines()
        .map(|l| l.split(' ').nth(1).unwrap().to_string())
        .collect();
    (env, ids)
}

fn object(env: &TestEnv, id: &str) -> std::path::PathBuf {
    env.root().join(format!(
        "experiments/run_r1/.rk/objects/{}/{}",
        &id[..2],
        &id[2..]
    ))
}

#[test]
fn clean_store_passes() {
    let (env, _) = history();
    env.write("experiments/run_r1/.rk/objects/.tmp-123-0-abc", "partial");
    insta::assert_snapshot!(env.render(&["fsck", "r1"]));
}

#[test]
fn garbage_in_head() {
    let (env, ids) = history();
    env.write("experiments/run_r1/.rk/HEAD", "not an id\n");
    let out = env.render(&["fsck", "r1"]);
    assert!(
        out.contains(&format!("last good snapshot: {}", ids[2])),
        "{out}"
    );
    insta::assert_snapshot!(out);
    // read-state --at HEAD names the file and the last good snapshot too.
    let out = env.render(&["read-state", "r1", "--at", "HEAD"]);
    assert!(
        out.contains("[ROOT]/experiments/run_r1/.rk/HEAD") && out.contains(&ids[2]),
        "{out}"
    );
    assert!(out.contains("[exit status: 5]"));
    // The recipe of the hint recovers.
    let state = env.run(&["read-state", "r1", "--at", &ids[2]]);
    let fixed = env.run_stdin(&["write-state", "r1"], &state.stdout);
    assert!(fixed.status.success(), "{}", env.render_output(&fixed));
    assert!(env.run(&["fsck", "r1"]).status.success());
}

#[test]
fn a_missing_object() {
    let (env, ids) = history();
    std::fs::remove_file(object(&env, &ids[1])).unwrap();
    let out = env.render(&["fsck", "r1"]);
    assert!(
        out.contains(&format!("last good snapshot: {}", ids[2])),
        "{out}"
    );
    insta::assert_snapshot!(out);
    // The hint (--prune) records the lost object, and fsck passes.
    let pruned = env.run(&["fsck", "r1", "--prune"]);
    let shown = env.render_output(&pruned);
    assert!(pruned.status.success(), "{shown}");
    assert!(
        shown.contains(&format!("pruned: recorded missing object {}", ids[1])),
        "{shown}"
    );
}

#[test]
fn a_flipped_byte_in_head_snapshot() {
    let (env, ids) = history();
    let path = object(&env, &ids[2]);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x20;
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let out = env.render(&["fsck", "r1"]);
    assert!(
        out.contains(&format!("last good snapshot: {}", ids[1])),
        "{out}"
    );
    insta::assert_snapshot!(out);
    let out = env.render(&["read-state", "r1", "--at", "HEAD"]);
    assert!(
        out.contains("[exit status: 5]") && out.contains(&ids[1]),
        "{out}"
    );
}

#[test]
fn a_corrupt_working_state() {
    let (env, ids) = history();
    env.write("experiments/run_r1/run_state.json", "{\"phases\": ");
    let out = env.render(&["fsck", "r1"]);
    assert!(
        out.contains(&format!("last good snapshot: {}", ids[2])),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

/// Run the command a hint names (the first `rk …` in backquotes), as the
/// user would type it.
fn follow_hint(env: &TestEnv, out: &std::process::Output) -> std::process::Output {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let hint = stderr
        .lines()
        .find(|l| l.starts_with("rk: hint:"))
        .unwrap_or_else(|| panic!("no hint:\n{stderr}"));
    let command = hint.split('`').nth(1).unwrap();
    let words: Vec<&str> = command.split_whitespace().skip(1).collect();
    env.run(&words)
}

/// A corrupt HEAD snapshot: fsck's hint is restore, then prune; following
/// both hints ends with fsck exit 0, the damaged object kept aside.
#[test]
fn following_the_hints_after_a_corrupt_object_ends_clean() {
    let (env, ids) = history();
    let path = object(&env, &ids[2]);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x20;
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let first = env.run(&["fsck", "r1"]);
    assert_eq!(first.status.code(), Some(5));
    let restored = follow_hint(&env, &first);
    assert!(
        restored.status.success(),
        "{}",
        env.render_output(&restored)
    );
    let second = env.run(&["fsck", "r1"]);
    assert_eq!(
        second.status.code(),
        Some(5),
        "{}",
        env.render_output(&second)
    );
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("HEAD and the state it names are intact")
    );
    let pruned = follow_hint(&env, &second);
    let shown = env.render_output(&pruned);
    assert!(pruned.status.success(), "{shown}");
    assert!(shown.contains("pruned: moved corrupt object"), "{shown}");
    assert!(shown.contains("set aside by `rk fsck --prune`"), "{shown}");
    assert!(env.run(&["fsck", "r1"]).status.success());
    assert!(env
        .root()
        .join(format!("experiments/run_r1/.rk/corrupt/{}", ids[2]))
        .exists());
}

/// A corrupt config object that effective_config.yaml still hashes to:
/// fsck says `--prune` rewrites it, and it does.
#[test]
fn a_corrupt_config_object_is_rebuilt_from_the_config_file() {
    let env = TestEnv::new();
    env.write("c.yaml", "model: m\nseed: 7\n");
    assert!(env
        .run(&["init", "r1", "--config", "c.yaml"])
        .status
        .success());
    let snapshot: serde_json::Value =
        serde_json::from_slice(&env.run(&["cat-object", "r1", "HEAD"]).stdout).unwrap();
    let config = snapshot["config"].as_str().unwrap().to_string();
    let path = object(&env, &config);
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::write(&path, b"{\"model\":\"evil\"}").unwrap();
    let out = env.run(&["fsck", "r1"]);
    let shown = env.render_output(&out);
    assert_eq!(out.status.code(), Some(5), "{shown}");
    assert!(
        shown.contains("it is the config object of effective_config.yaml, which still hashes to it: `rk fsck r1 --prune` rewrites it"),
        "{shown}"
    );
    let pruned = follow_hint(&env, &out);
    let shown = env.render_output(&pruned);
    assert!(pruned.status.success(), "{shown}");
    assert!(
        shown.contains(&format!("pruned: rebuilt config object {config}")),
        "{shown}"
    );
    let diff = env.run(&["diff-config", "r1@recorded", "r1"]);
    assert!(diff.status.success(), "{}", env.render_output(&diff));
}

/// Leftovers of killed writers — a `.tmp-` file in the store, a killed
/// init's `.tmp-init-…` run, a half-deleted original of a moved run — are
/// listed by fsck and removed by --prune;
/// a live writer's temp file is left alone.
#[test]
fn prune_removes_leftovers_of_dead_writers_only() {
    let (env, _) = history();
    // pid 2^22+1 is above the default pid_max: no such process.
    let dead = 4_194_305;
    env.write(
        &format!("experiments/run_r1/.rk/.tmp-{dead}-0-abc"),
        "partial",
    );
    env.write(&format!("experiments/run_r1/.tmp-{dead}-1-abc"), "partial");
    env.write(
        &format!("experiments/.tmp-init-r9-{dead}/effective_config.yaml"),
        "a: 1\n",
    );
    env.write(
        &format!("experiments/.tmp-moved-r8-{dead}/t1/half-deleted"),
        "x",
    );
    let live = format!("experiments/run_r1/.tmp-{}-0-abc", std::process::id());
    env.write(&live, "a live writer's");
    let out = env.run(&["fsck", "r1"]);
    let shown = env.render_output(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains(&format!(
            "leftover temp run [ROOT]/experiments/.tmp-init-r9-{dead}"
        )),
        "{shown}"
    );
    let out = env.run(&["fsck", "r1", "--prune"]);
    let shown = env.render_output(&out);
    assert!(out.status.success(), "{shown}");
    assert_eq!(shown.matches("pruned: removed").count(), 4, "{shown}");
    assert!(!env
        .root()
        .join(format!("experiments/.tmp-moved-r8-{dead}"))
        .exists());
    assert!(!env
        .root()
        .join(format!("experiments/.tmp-init-r9-{dead}"))
        .exists());
    assert!(env.root().join(&live).exists());
}
