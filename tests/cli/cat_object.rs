//! `rk cat-object`: verbatim canonical bytes, re-hashed on every read.

use crate::common::TestEnv;
use crate::read_state::{run_with_state, PY_STATE};

fn written(env: &TestEnv) -> String {
    let out = env.run_stdin(&["write-state", "r1", "-m", "m"], PY_STATE.as_bytes());
    assert!(out.status.success(), "{}", env.render_output(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn prints_the_bytes_its_id_hashes() {
    let env = run_with_state(PY_STATE);
    let id = written(&env);
    let out = env.run(&["cat-object", "r1", &id[..6]]);
    assert!(out.status.success());
    assert_eq!(blake3::hash(&out.stdout).to_hex().as_str(), id);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(
            r#"{"config":null,"kind":"snapshot","message":"m","op":"write-state","parent":""#
        ),
        "{text}"
    );
    assert!(!text.ends_with('\n'));
    let head = env.run(&["cat-object", "r1", "HEAD"]);
    assert_eq!(text.as_bytes(), head.stdout.as_slice());
}

#[test]
fn unknown_and_malformed_ids_are_exit_2() {
    let env = run_with_state(PY_STATE);
    written(&env);
    let mut all = env.render(&["cat-object", "r1", "ffff"]);
    all.push_str(&env.render(&["cat-object", "r1", "xyz"]));
    all.push_str(&env.render(&["cat-object", "r1", "HEAD~9"]));
    insta::assert_snapshot!(all);
}

#[test]
fn a_flipped_byte_is_exit_5_naming_the_object() {
    let env = run_with_state(PY_STATE);
    let id = written(&env);
    let path = env.root().join(format!(
        "experiments/run_r1/.rk/objects/{}/{}",
        &id[..2],
        &id[2..]
    ));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 0x01;
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let out = env.render(&["cat-object", "r1", &id]);
    assert!(out.contains(&format!("{}/{}", &id[..2], &id[2..])), "{out}");
    insta::assert_snapshot!(out);
}
