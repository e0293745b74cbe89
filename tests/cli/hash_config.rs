//! `rk hash-config`: sha256sum-style output, stdin, the canonical and pretty
//! forms, ignored pointers, formats, and every refusal (exit 2, one error line
//! naming the place).

use crate::common::TestEnv;

const YAML: &str = "# the model\nmodel:\n  lr: 0.001\n  layers: [64, 64]\n  name: 'resnet'\nseed: 18446744073709551557\noutput_dir: /tmp/out\nflags: {fast: yes, debug: off}\n";
const JSON: &str = r#"{"flags": {"debug": false, "fast": true}, "output_dir": "/tmp/out",
 "seed": 18446744073709551557, "model": {"name": "resnet", "layers": [64, 64], "lr": 1e-3}}"#;

fn env_with_configs() -> TestEnv {
    let env = TestEnv::new();
    env.write("a.yaml", YAML);
    env.write("a.json", JSON);
    env.write("b.yaml", YAML.replace("0.001", "0.002"));
    env
}

#[test]
fn hashes_several_files_like_sha256sum() {
    let env = env_with_configs();
    insta::assert_snapshot!(env.render(&["hash-config", "a.yaml", "a.json", "b.yaml"]));
}

#[test]
fn canonical_bytes_hash_to_the_printed_hash() {
    let env = env_with_configs();
    let canonical = env.run(&["hash-config", "--canonical", "a.yaml"]);
    assert_eq!(canonical.status.code(), Some(0));
    insta::assert_snapshot!(String::from_utf8(canonical.stdout.clone()).unwrap());
    let hash = env.run(&["hash-config", "a.json"]);
    let printed = String::from_utf8(hash.stdout).unwrap();
    assert_eq!(
        printed,
        format!("{}  a.json\n", rk::canon::sha256_hex(&canonical.stdout))
    );
}

#[test]
fn pretty_form() {
    let env = env_with_configs();
    insta::assert_snapshot!(env.render(&["hash-config", "--pretty", "a.json"]));
}

#[test]
fn canonical_and_pretty_take_one_file() {
    let env = env_with_configs();
    insta::assert_snapshot!(env.render(&["hash-config", "--canonical", "a.yaml", "a.json"]));
}

#[test]
fn stdin_json_and_yaml() {
    let env = TestEnv::new();
    let json = env.run_stdin(&["hash-config", "-"], JSON.as_bytes());
    let yaml = env.run_stdin(&["hash-config", "-"], YAML.as_bytes());
    let yaml_canonical = env.run_stdin(&["hash-config", "--canonical", "-"], YAML.as_bytes());
    insta::assert_snapshot!(format!(
        "{}{}{}",
        env.render_output(&json),
        env.render_output(&yaml),
        env.render_output(&yaml_canonical)
    ));
    assert_eq!(json.stdout, yaml.stdout);
    // Input that starts like JSON but is only valid YAML falls back to YAML.
    let flow = env.run_stdin(
        &["hash-config", "--canonical", "-"],
        b"{a: yes, b: [1, 0x10]}",
    );
    insta::assert_snapshot!(env.render_output(&flow), @r#"{"a":true,"b":[1,16]}[exit status: 0]"#);
}

#[test]
fn ignore_flag_and_project_hash_ignore() {
    let env = env_with_configs();
    env.write("c.yaml", YAML.replace("/tmp/out", "/scratch/elsewhere"));
    let plain = env.render(&["hash-config", "a.yaml", "c.yaml"]);
    let ignored = env.render(&["hash-config", "--ignore", "/output_dir", "a.yaml", "c.yaml"]);
    let nested = env.render(&[
        "hash-config",
        "--canonical",
        "--ignore",
        "/model/layers/1",
        "--ignore",
        "/flags",
        "--ignore",
        "/no/such/key",
        "a.yaml",
    ]);
    env.write("rk.yaml", "hash:\n  ignore: [/output_dir]\n");
    let project = env.render(&["hash-config", "a.yaml", "c.yaml"]);
    assert_eq!(ignored, project);
    insta::assert_snapshot!(format!(
        "--- no ignore\n{plain}--- --ignore /output_dir\n{ignored}--- nested\n{nested}\n--- rk.yaml hash.ignore\n{project}"
    ));
}

#[test]
fn format_flag_overrides_the_name() {
    let env = TestEnv::new();
    env.write("json-in-disguise.yaml", r#"{"a": 1, "b": "yes"}"#);
    env.write("yaml.json", "a: 1\nb: yes\n");
    insta::assert_snapshot!(format!(
        "{}{}{}",
        env.render(&[
            "hash-config",
            "--canonical",
            "--format",
            "json",
            "json-in-disguise.yaml"
        ]),
        env.render(&[
            "hash-config",
            "--canonical",
            "--format",
            "yaml",
            "yaml.json"
        ]),
        env.render(&["hash-config", "yaml.json"]),
    ));
}

#[test]
fn later_files_are_hashed_after_a_failure() {
    let env = env_with_configs();
    insta::assert_snapshot!(env.render(&["hash-config", "missing.yaml", "a.yaml"]));
}

#[test]
fn legacy_scheme_says_unverifiable_for_a_timestamp() {
    let env = TestEnv::new();
    env.write("t.yaml", "started: 2025-09-03\n");
    insta::assert_snapshot!(env.render(&["hash-config", "--scheme", "pyyaml-sorted", "t.yaml"]));
}

fn billion_laughs() -> String {
    let mut src = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for w in names.windows(2) {
        let refs = vec![format!("*{}", w[0]); 9].join(", ");
        src.push_str(&format!("{}: &{} [{}]\n", w[1], w[1], refs));
    }
    src
}

/// Every refusal: exit 2 and one error line (plus one hint line) naming the place.
#[test]
fn refusals() {
    let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "malformed_yaml",
            "c.yaml",
            b"model:\n  lr: [1, 2\nseed: 3\n".to_vec(),
        ),
        ("malformed_yaml_indent", "c.yaml", b"a: b: c\n".to_vec()),
        (
            "malformed_json",
            "c.json",
            b"{\"a\": 1,\n \"b\": }\n".to_vec(),
        ),
        ("json_trailing_garbage", "c.json", b"{\"a\": 1} x".to_vec()),
        (
            "duplicate_key_yaml",
            "c.yaml",
            b"model:\n  lr: 1\n  lr: 2\n".to_vec(),
        ),
        (
            "duplicate_key_json",
            "c.json",
            b"{\"model\": {\"lr\": 1,\n  \"lr\": 2}}".to_vec(),
        ),
        ("nan", "c.yaml", b"model:\n  lr: .nan\n".to_vec()),
        ("infinity", "c.yaml", b"model:\n  lr: -.inf\n".to_vec()),
        ("json_overflow", "c.json", b"{\"lr\": 1e400}".to_vec()),
        ("alias_bomb", "c.yaml", billion_laughs().into_bytes()),
        ("depth_129", "c.yaml", deep.clone().into_bytes()),
        ("depth_129_json", "c.json", deep.into_bytes()),
        ("two_documents", "c.yaml", b"a: 1\n---\na: 2\n".to_vec()),
        (
            "invalid_utf8",
            "c.yaml",
            b"a: 1\nname: \"caf\xe9\"\n".to_vec(),
        ),
        ("custom_tag", "c.yaml", b"model: !Model\n  lr: 1\n".to_vec()),
        ("null_key", "c.yaml", b"model:\n  ~: 1\n".to_vec()),
        (
            "colliding_keys",
            "c.yaml",
            b"ids:\n  1: one\n  '1': uno\n".to_vec(),
        ),
        ("sequence_key", "c.yaml", b"? [a, b]\n: 1\n".to_vec()),
        ("undefined_alias", "c.yaml", b"a: *nowhere\n".to_vec()),
    ];
    for (name, file, content) in cases {
        let env = TestEnv::new();
        env.write(file, &content);
        let out = env.run(&["hash-config", file]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr
                .lines()
                .filter(|l| l.starts_with("rk: error:"))
                .count(),
            1,
            "{name}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{name}");
        insta::assert_snapshot!(format!("refusal_{name}"), env.render_output(&out));
    }
}

#[test]
fn missing_file_directory_and_bad_pointer() {
    let env = env_with_configs();
    std::fs::create_dir(env.root().join("dir")).unwrap();
    insta::assert_snapshot!(format!(
        "{}{}{}{}",
        env.render(&["hash-config", "missing.yaml"]),
        env.render(&["hash-config", "dir"]),
        env.render(&["hash-config", "--ignore", "model/lr", "a.yaml"]),
        env.render(&["hash-config", "--ignore", "/a~2", "a.yaml"]),
    ));
}

#[test]
fn a_broken_rk_yaml_is_an_error_not_ignored() {
    let env = env_with_configs();
    env.write("rk.yaml", "hash:\n  ignore: [/output_dir]\n  ignroe: []\n");
    insta::assert_snapshot!(env.render(&["hash-config", "a.yaml"]));
}

/// `rk hash-config FILE` is read without clap (it is the start-up figure in
/// bench/); the same request spelled so that clap parses it (`--` before
/// FILE, or the default scheme named) gives the same bytes and exit status,
/// on success and on every kind of failure.
#[test]
fn the_shortcut_and_the_parser_agree() {
    let env = env_with_configs();
    env.write("bad.yaml", "a: [1, 2\nb: 3\n");
    env.write("dup.yaml", "a: 1\na: 2\n");
    std::fs::create_dir(env.root().join("dir.yaml")).unwrap();
    let project = TestEnv::new();
    project.write("a.yaml", YAML);
    project.write("rk.yaml", "hash:\n  ignore: [/output_dir]\n");
    let broken = TestEnv::new();
    broken.write("a.yaml", YAML);
    broken.write("rk.yaml", "hash:\n  ignroe: []\n");
    let run = |env: &TestEnv, args: &[&str], vars: &[(&str, &str)], stdin: Option<&str>| {
        let mut cmd = env.cmd(args);
        cmd.envs(vars.iter().copied());
        let out = match stdin {
            None => cmd.output().unwrap(),
            Some(input) => crate::common::output_with_stdin(&mut cmd, input.as_bytes()),
        };
        env.render_output(&out)
    };
    // Where, FILE, environment, stdin, the exit status both give.
    type Case<'a> = (
        &'a TestEnv,
        &'a str,
        &'a [(&'a str, &'a str)],
        Option<&'a str>,
        i32,
    );
    let cases: [Case; 11] = [
        (&env, "a.yaml", &[], None, 0),
        (&env, "a.json", &[], None, 0),
        (&env, "-", &[], Some(YAML), 0),
        (&env, "missing.yaml", &[], None, 2),
        (&env, "bad.yaml", &[], None, 2),
        (&env, "dup.yaml", &[], None, 2),
        (&env, "dir.yaml", &[], None, 2),
        (&env, "a.yaml", &[("RK_NOW", "yesterday")], None, 2),
        (&env, "a.yaml", &[("RK_THREADS", "0")], None, 2),
        (&project, "a.yaml", &[], None, 0),
        (&broken, "a.yaml", &[], None, 2),
    ];
    for (env, file, vars, stdin, code) in cases {
        let quick = run(env, &["hash-config", file], vars, stdin);
        assert!(
            quick.ends_with(&format!("[exit status: {code}]\n")),
            "{file} {vars:?}: {quick}"
        );
        for parsed in [
            &["hash-config", "--", file][..],
            &["hash-config", "--scheme", "rk-c14n-v1", file],
            &["--color", "auto", "hash-config", file],
        ] {
            assert_eq!(quick, run(env, parsed, vars, stdin), "{parsed:?} {vars:?}");
        }
    }
}

/// Near misses of the shortcut's shape are clap's to answer: a missing FILE,
/// an option where FILE would be, help.
#[test]
fn near_misses_of_the_shortcut_are_clap_errors_and_help() {
    let env = env_with_configs();
    let missing = env.run(&["hash-config"]);
    env.expect_exit(&missing, 2);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.starts_with("rk: error: "), "{stderr}");
    assert!(stderr.contains("<FILE>"), "{stderr}");
    let option = env.run(&["hash-config", "--bogus"]);
    env.expect_exit(&option, 2);
    assert!(String::from_utf8_lossy(&option.stderr).contains("'--bogus'"));
    let help = env.run(&["hash-config", "--help"]);
    env.expect_exit(&help, 0);
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage: rk hash-config"));
    let empty = env.run(&["hash-config", ""]);
    assert_ne!(empty.status.code(), Some(0));
}
