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
