//! `rk diff-config` on files and stdin: spelling never shows as a
//! difference; a changed value is one `-`/`+` pair under git-style headers.

use crate::common::TestEnv;

const BASE: &str = "\
# training config
model:
  name: resnet
  lr: 0.001
  layers: [64, 64, 128]
data:
  path: /data/train
  shuffle: yes
seed: 7
";

#[test]
fn same_value_in_another_spelling_is_no_difference() {
    let env = TestEnv::new();
    env.write("a.yaml", BASE);
    env.write(
        "b.yaml",
        "seed: 7   # same seed\ndata: {shuffle: true, \"path\": '/data/train'}\nmodel:\n  layers:\n    - 64\n    - 0x40\n    - 128\n  lr: 1.0e-3\n  name: \"resnet\"\n",
    );
    env.write(
        "c.json",
        r#"{"seed": 7, "model": {"lr": 0.001, "name": "resnet", "layers": [64, 64, 128]},
            "data": {"path": "/data/train", "shuffle": true}}"#,
    );
    insta::assert_snapshot!(format!(
        "{}{}",
        env.render(&["diff-config", "a.yaml", "b.yaml"]),
        env.render(&["diff-config", "b.yaml", "c.json"]),
    ), @r"
    [exit status: 0]
    [exit status: 0]
    ");
    let stdin = env.run_stdin(&["diff-config", "-", "a.yaml"], BASE.as_bytes());
    assert_eq!(env.render_output(&stdin), "[exit status: 0]\n");
}

#[test]
fn changed_scalar_is_one_pair() {
    let env = TestEnv::new();
    env.write("a.yaml", BASE);
    env.write("b.yaml", BASE.replace("lr: 0.001", "lr: 0.0005"));
    insta::assert_snapshot!(env.render(&["diff-config", "a.yaml", "b.yaml"]));
}

#[test]
fn added_removed_and_retyped_values() {
    let env = TestEnv::new();
    env.write("a.yaml", BASE);
    env.write(
        "b.json",
        r#"{"seed": "7", "model": {"lr": 0.001, "name": "resnet", "layers": [64, 64]},
            "data": {"path": "/data/train", "shuffle": true, "workers": 4}}"#,
    );
    insta::assert_snapshot!(env.render(&["diff-config", "a.yaml", "b.json"]));
    insta::assert_snapshot!(
        "keys",
        env.render(&["diff-config", "--keys", "a.yaml", "b.json"])
    );
}

#[test]
fn stdin_side_is_labelled_dash() {
    let env = TestEnv::new();
    env.write("a.yaml", BASE);
    let out = env.run_stdin(
        &["diff-config", "a.yaml", "-"],
        BASE.replace("seed: 7", "seed: 8").as_bytes(),
    );
    insta::assert_snapshot!(env.render_output(&out));
}

#[test]
fn errors_exit_2() {
    let env = TestEnv::new();
    env.write("a.yaml", BASE);
    env.write("bad.yaml", "model:\n  lr: .nan\n");
    insta::assert_snapshot!(format!(
        "{}{}{}",
        env.render(&["diff-config", "a.yaml", "missing.yaml"]),
        env.render(&["diff-config", "bad.yaml", "a.yaml"]),
        env.render(&["diff-config", "-", "-"]),
    ));
}

/// `1` and `1.0`, a plain and a quoted date: the same under rk-c14n-v1, a
/// different type to PyYAML; diff-config shows them and exits 1, and the
/// same file against itself is still exit 0.
#[test]
fn yaml_type_changes_show_though_the_canonical_forms_agree() {
    let env = crate::common::TestEnv::new();
    env.write("a.yaml", "lr: 1\nseed: 7\nday: 2025-09-02\nname: x\n");
    env.write("b.yaml", "lr: 1.0\nseed: 7\nday: \"2025-09-02\"\nname: x\n");
    insta::assert_snapshot!(env.render(&["diff-config", "a.yaml", "b.yaml"]), @r#"
    --- a/a.yaml
    +++ b/b.yaml
    @@ types: the same under rk-c14n-v1, loaded as different types by PyYAML @@
    -/lr: 1 (integer)
    +/lr: 1.0 (float)
    -/day: 2025-09-02 (YAML date)
    +/day: "2025-09-02" (string)
    [exit status: 1]
    "#);
    let keys = env.run(&["diff-config", "--keys", "a.yaml", "b.yaml"]);
    assert_eq!(String::from_utf8_lossy(&keys.stdout), "/lr\n/day\n");
    assert_eq!(
        env.run(&["diff-config", "a.yaml", "a.yaml"]).status.code(),
        Some(0)
    );
    let same = env.run(&["hash-config", "a.yaml", "b.yaml"]);
    let text = String::from_utf8_lossy(&same.stdout);
    let hashes: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(hashes[0], hashes[1], "{text}");
}
