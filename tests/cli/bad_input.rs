//! The bad-input corpus: malformed configs, state files, manifests, rk.yaml,
//! store files (HEAD, log, objects) and command-line arguments, each fed to
//! the commands that read them.
//!
//! Table-driven: every case is a setup on a fresh project holding a started
//! run `r1` (config, state, store) and a config `c.yaml` at the root, the
//! argv, the documented exit code, and a substring of the one `rk: error:`
//! line that names the place (path, line, JSON Pointer). No case may panic,
//! and unless the command is meant to write, the project is byte-identical
//! afterwards. Big inputs (10 MB strings, deep nesting, alias bombs) are
//! generated here, not checked in.

use crate::common::{assert_same_tree, started_run, tree, TestEnv};
use std::os::unix::fs::symlink;

const RUN: &str = "experiments/run_r1";

type Setup = Box<dyn Fn(&TestEnv)>;

pub(crate) struct Case {
    name: &'static str,
    setup: Setup,
    args: Vec<String>,
    stdin: Vec<u8>,
    code: i32,
    /// A substring of the one error line (empty: exit 0, no error line).
    message: String,
    /// A substring of stdout (for an exit-0 case, required: what the command
    /// must say); `Some("")` means stdout must be empty.
    out: Option<String>,
    /// The command is meant to write: skip the byte-identical check.
    writes: bool,
}

fn case(
    name: &'static str,
    setup: impl Fn(&TestEnv) + 'static,
    args: &[&str],
    code: i32,
    message: &str,
) -> Case {
    Case {
        name,
        setup: Box::new(setup),
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin: Vec::new(),
        code,
        message: message.to_string(),
        out: None,
        writes: false,
    }
}

impl Case {
    fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Case {
        self.stdin = bytes.into();
        self
    }
    fn out(mut self, stdout: &str) -> Case {
        self.out = Some(stdout.to_string());
        self
    }
    fn writes(mut self) -> Case {
        self.writes = true;
        self
    }
}

/// A config file `c.yaml` (or another name) at the root.
fn config(name: &'static str, bytes: Vec<u8>) -> impl Fn(&TestEnv) {
    move |env: &TestEnv| {
        env.write(name, &bytes);
    }
}

fn file_in_run(rel: &'static str, bytes: Vec<u8>) -> impl Fn(&TestEnv) {
    move |env: &TestEnv| {
        let p = env.root().join(RUN).join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let _ = std::fs::remove_file(&p);
        std::fs::write(p, &bytes).unwrap();
    }
}

fn state(bytes: &[u8]) -> impl Fn(&TestEnv) {
    file_in_run("run_state.json", bytes.to_vec())
}

fn manifest(bytes: &[u8]) -> impl Fn(&TestEnv) {
    file_in_run("t1/results/trial_manifest.json", bytes.to_vec())
}

/// A legacy run `l1` (no state) whose trial t1 has `bytes` as its manifest.
fn legacy_manifest(bytes: &[u8]) -> impl Fn(&TestEnv) {
    let bytes = bytes.to_vec();
    move |env: &TestEnv| {
        env.write("experiments/run_l1/effective_config.yaml", "model: m\n");
        env.write("experiments/run_l1/t1/results/trial_manifest.json", &bytes);
    }
}

/// A sparse file of `len` bytes at `rel` (from the root): big, yet no disk.
fn sparse(rel: &'static str, len: u64) -> impl Fn(&TestEnv) {
    move |env: &TestEnv| {
        let path = env.root().join(rel);
        let _ = std::fs::remove_file(&path);
        std::fs::File::create(&path).unwrap().set_len(len).unwrap();
    }
}

fn rk_yaml(bytes: &[u8]) -> impl Fn(&TestEnv) {
    let bytes = bytes.to_vec();
    move |env: &TestEnv| {
        env.write("rk.yaml", &bytes);
    }
}

fn replace_with_dir(rel: &'static str) -> impl Fn(&TestEnv) {
    move |env: &TestEnv| {
        let p = env.root().join(RUN).join(rel);
        let _ = std::fs::remove_file(&p);
        std::fs::create_dir_all(p.join("inside")).unwrap();
    }
}

fn symlink_loop(rel: &'static str) -> impl Fn(&TestEnv) {
    move |env: &TestEnv| {
        let p = env.root().join(RUN).join(rel);
        let _ = std::fs::remove_file(&p);
        symlink(p.file_name().unwrap(), &p).unwrap();
    }
}

fn first_object(env: &TestEnv) -> std::path::PathBuf {
    let objects = env.root().join(RUN).join(".rk/objects");
    let mut all: Vec<_> = std::fs::read_dir(&objects)
        .unwrap()
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
        .map(|e| e.path())
        .collect();
    all.sort();
    all.remove(0)
}

fn alias_bomb() -> Vec<u8> {
    let mut s = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
        .iter()
        .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
    {
        s.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{prev}"); 9].join(", ")
        ));
    }
    s.into_bytes()
}

fn ten_mb_string_yaml() -> Vec<u8> {
    let mut s = b"model: m\nblob: ".to_vec();
    s.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    s.push(b'\n');
    s
}

fn deep_json(depth: usize) -> Vec<u8> {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()
}

fn deep_yaml(depth: usize) -> Vec<u8> {
    let mut s = String::new();
    for i in 0..depth {
        s.push_str(&" ".repeat(i));
        s.push_str("k:\n");
    }
    s.push_str(&" ".repeat(depth));
    s.push_str("k: 1\n");
    s.into_bytes()
}

fn state_with(extra: &str) -> Vec<u8> {
    format!("{{\"schema_version\": 1, \"run_id\": \"r1\", \"phases\": {{}}{extra}}}").into_bytes()
}

pub(crate) fn cases() -> Vec<Case> {
    let none = |_: &TestEnv| {};
    let big_state = {
        let mut s = b"{\"schema_version\": 1, \"phases\": {}, \"pad\": \"".to_vec();
        s.extend(std::iter::repeat_n(b'x', 64 * 1024));
        s.extend(b"\"}");
        s
    };
    vec![
        // ---- configs: hash-config ------------------------------------------------
        case(
            "config truncated yaml",
            config("c.yaml", b"a:\n  b: [1, 2\n".to_vec()),
            &["hash-config", "c.yaml"],
            2,
            "c.yaml:3:1",
        ),
        case(
            "config truncated json",
            config("c.json", b"{\"a\": [1, 2".to_vec()),
            &["hash-config", "c.json"],
            2,
            "c.json:1:12",
        ),
        case(
            "config duplicate key",
            config("c.yaml", b"a: 1\na: 2\n".to_vec()),
            &["hash-config", "c.yaml"],
            2,
            "c.yaml:2:1: duplicate key at /a",
        ),
        case(
            "config duplicate key json",
            config("c.json", b"{\"a\": 1, \"a\": 2}".to_vec()),
            &["hash-config", "c.json"],
            2,
            "duplicate key at /a",
        ),
        case(
            "config NaN yaml",
            config("c.yaml", b"model:\n  lr: .nan\n".to_vec()),
            &["hash-config", "c.yaml"],
            2,
            "at /model/lr",
        ),
        case(
            "config inf yaml",
            config("c.yaml", b"lr: -.inf\n".to_vec()),
            &["hash-config", "c.yaml"],
            2,
            "at /lr",
        ),
        case(
            "config NaN json",
            config("c.json", b"{\"a\": NaN}".to_vec()),
            &["hash-config", "c.json"],
            2,
            "c.json:1:7",
        ),
        case(
            "config huge float",
            config("c.json", b"{\"a\": 1e999}".to_vec()),
            &["hash-config", "c.json"],
            2,
            "at /a",
        ),
        case(
            "config huge integer kept",
            config(
                "c.yaml",
                format!("seed: {}\n", "9".repeat(400)).into_bytes(),
            ),
            &["hash-config", "c.yaml"],
            0,
            "",
        )
        .out("  c.yaml\n"),
        case(
            "config 1,000,001 plain nodes is no alias bomb",
            config(
                "c.yaml",
                format!("a: [{}]\n", vec!["0"; 1_000_001].join(",")).into_bytes(),
            ),
            &["hash-config", "c.yaml"],
            0,
            "",
        )
        .out("  c.yaml\n"),
        case(
            "config over the size bound",
            sparse("c.yaml", 300 << 20),
            &["hash-config", "c.yaml"],
            2,
            "cannot read c.yaml: is 314572800 bytes or more, over rk's bound",
        ),
        case(
            "config alias bomb",
            config("c.yaml", alias_bomb()),
            &["hash-config", "c.yaml"],
            2,
            "alias bomb",
        ),
        case(
            "config 10 MB string",
            config("c.yaml", ten_mb_string_yaml()),
            &["hash-config", "c.yaml"],
            0,
            "",
        )
        .out("  c.yaml\n"),
        case(
            "config deep json",
            config("c.json", deep_json(200)),
            &["hash-config", "c.json"],
            2,
            "nesting deeper than 128",
        ),
        case(
            "config deep yaml",
            config("c.yaml", deep_yaml(200)),
            &["hash-config", "c.yaml"],
            2,
            "nesting deeper than 128",
        ),
        case(
            "config 128 deep ok",
            config("c.json", deep_json(128)),
            &["hash-config", "c.json"],
            0,
            "",
        )
        .out("  c.json\n"),
        case(
            "config invalid utf-8",
            config("c.yaml", b"a: \xff\xfe\n".to_vec()),
            &["hash-config", "c.yaml"],
            2,
            "c.yaml:1:4: invalid UTF-8",
        ),
        case(
            "config BOM + CRLF",
            config("c.yaml", b"\xef\xbb\xbfa: 1\r\nb: 2\r\n".to_vec()),
            &["hash-config", "c.yaml"],
            0,
            "",
        )
        .out("  c.yaml\n"),
        case(
            "config multiple documents",
            config("c.yaml", b"a: 1\n---\nb: 2\n".to_vec()),
            &["hash-config", "c.yaml"],
            2,
            "c.yaml:2:1",
        ),
        case(
            "config custom tag",
            config("c.yaml", b"a: !!python/object x\n".to_vec()),
            &["hash-config", "c.yaml"],
            2,
            "at /a",
        ),
        case(
            "config colliding keys",
            config("c.yaml", b"1: a\n\"1\": b\n".to_vec()),
            &["hash-config", "c.yaml"],
            2,
            "at /1",
        ),
        case(
            "config sequence key",
            config("c.yaml", b"? [a]\n: 1\n".to_vec()),
            &["hash-config", "c.yaml"],
            2,
            "c.yaml:1:3",
        ),
        case(
            "config null key",
            config("c.yaml", b"~: 1\n".to_vec()),
            &["hash-config", "c.yaml"],
            2,
            "c.yaml:1:1",
        ),
        case(
            "config is a directory",
            |env: &TestEnv| {
                std::fs::create_dir_all(env.root().join("d.yaml")).unwrap();
            },
            &["hash-config", "d.yaml"],
            2,
            "d.yaml is a directory",
        ),
        case(
            "config symlink loop",
            |env: &TestEnv| {
                symlink("l.yaml", env.root().join("l.yaml")).unwrap();
            },
            &["hash-config", "l.yaml"],
            2,
            "l.yaml",
        ),
        case(
            "config missing",
            none,
            &["hash-config", "missing.yaml"],
            2,
            "missing.yaml",
        ),
        case(
            "config bad pointer",
            config("c.yaml", b"a: 1\n".to_vec()),
            &["hash-config", "c.yaml", "--ignore", "a"],
            2,
            "\"a\"",
        ),
        case(
            "config stdin garbage",
            none,
            &["hash-config", "-"],
            2,
            "-:2:1",
        )
        .stdin(b"{\"a\": [".to_vec()),
        // ---- configs: init --config, resume ---------------------------------------
        case(
            "init truncated config",
            config("c.yaml", b"a: [1\n".to_vec()),
            &["init", "r2", "--config", "c.yaml"],
            2,
            "c.yaml",
        ),
        case(
            "init NaN config",
            config("c.yaml", b"lr: .nan\n".to_vec()),
            &["init", "r2", "--config", "c.yaml"],
            2,
            "at /lr",
        ),
        case(
            "init config is a directory",
            |env: &TestEnv| {
                std::fs::create_dir_all(env.root().join("d.yaml")).unwrap();
            },
            &["init", "r2", "--config", "d.yaml"],
            2,
            "d.yaml",
        ),
        case(
            "resume malformed run config",
            file_in_run("effective_config.yaml", b"model: [\n".to_vec()),
            &["resume", "r1", "--dry-run"],
            2,
            "effective_config.yaml",
        ),
        case(
            "resume duplicate key in run config",
            file_in_run("effective_config.yaml", b"a: 1\na: 1\n".to_vec()),
            &["resume", "r1", "--dry-run"],
            2,
            "effective_config.yaml:2:1",
        ),
        case(
            "resume --config alias bomb",
            config("bomb.yaml", alias_bomb()),
            &["resume", "r1", "--dry-run", "--config", "bomb.yaml"],
            2,
            "bomb.yaml",
        ),
        // ---- run_state.json ------------------------------------------------------
        case(
            "state truncated",
            state(b"{\"schema_version\": 1, \"phases\": {"),
            &["read-state", "r1"],
            5,
            "run_state.json: truncated JSON",
        ),
        case(
            "state empty",
            state(b""),
            &["read-state", "r1"],
            5,
            "run_state.json",
        ),
        case(
            "state not an object",
            state(b"[1, 2]"),
            &["read-state", "r1"],
            5,
            "run_state.json",
        ),
        case(
            "state wrong type schema_version",
            state(b"{\"schema_version\": \"1\", \"phases\": {}}"),
            &["read-state", "r1"],
            5,
            "/schema_version",
        ),
        case(
            "state wrong type phases",
            state(b"{\"schema_version\": 1, \"phases\": []}"),
            &["read-state", "r1"],
            5,
            "/phases",
        ),
        case(
            "state wrong type status",
            state(b"{\"schema_version\": 1, \"phases\": {\"parse\": {\"status\": 5}}}"),
            &["read-state", "r1"],
            5,
            "/phases/parse/status",
        ),
        case(
            "state NaN",
            state(&state_with(", \"x\": NaN")),
            &["read-state", "r1"],
            5,
            "run_state.json",
        ),
        case(
            "state huge float",
            state(&state_with(", \"x\": 1e999")),
            &["read-state", "r1"],
            5,
            "run_state.json",
        ),
        case(
            "state future version",
            state(b"{\"schema_version\": 99, \"phases\": {}}"),
            &["status", "r1", "--json"],
            5,
            "/schema_version",
        )
        .out("this rk reads version 1 of run_state.json, not 99"),
        case(
            "state invalid utf-8",
            state(b"{\"schema_version\": 1, \"phases\": {}, \"x\": \"\xff\"}"),
            &["read-state", "r1"],
            5,
            "run_state.json",
        ),
        case(
            "state BOM",
            state(b"\xef\xbb\xbf{\"schema_version\": 1, \"phases\": {}}"),
            &["read-state", "r1"],
            5,
            "run_state.json",
        ),
        case(
            "state CRLF",
            state(b"{\"schema_version\": 1,\r\n \"phases\": {}}\r\n"),
            &["read-state", "r1"],
            0,
            "",
        )
        .out("\"schema_version\": 1"),
        case(
            "state deep nesting",
            state(&state_with(&format!(
                ", \"x\": {}",
                String::from_utf8(deep_json(10_000)).unwrap()
            ))),
            &["read-state", "r1"],
            5,
            "run_state.json",
        ),
        case(
            "state 10 MB string",
            state(&state_with(&format!(
                ", \"x\": \"{}\"",
                "y".repeat(10 * 1024 * 1024)
            ))),
            &["status", "r1"],
            0,
            "",
        )
        .out("run r1: not_started"),
        case(
            "state is a directory",
            replace_with_dir("run_state.json"),
            &["read-state", "r1"],
            5,
            "run_state.json",
        ),
        case(
            "state symlink loop",
            symlink_loop("run_state.json"),
            &["read-state", "r1"],
            5,
            "run_state.json",
        ),
        case(
            "state over the size bound",
            sparse("experiments/run_r1/run_state.json", 300 << 20),
            &["read-state", "r1"],
            5,
            "run_state.json: the top level: cannot be read: is 314572800 bytes or more",
        ),
        case(
            "state over the size bound, list goes on",
            sparse("experiments/run_r1/run_state.json", 300 << 20),
            &["list", "--json"],
            0,
            "",
        )
        .out("\"problem\":\"cannot be read: is 314572800 bytes or more"),
        case(
            "state corrupt, list goes on",
            state(b"{"),
            &["list", "--json"],
            0,
            "",
        )
        .out("\"status\":\"corrupt\""),
        case(
            "write-state stdin truncated",
            none,
            &["write-state", "r1"],
            2,
            "invalid state from stdin",
        )
        .stdin(b"{\"schema_version\": 1, \"pha".to_vec()),
        case(
            "write-state stdin wrong type",
            none,
            &["write-state", "r1"],
            2,
            "/phases",
        )
        .stdin(b"{\"schema_version\": 1, \"phases\": 3}".to_vec()),
        case(
            "write-state stdin not an object",
            none,
            &["write-state", "r1"],
            2,
            "invalid state from stdin",
        )
        .stdin(b"\"hello\"".to_vec()),
        case(
            "write-state onto a corrupt state",
            state(b"{trunc"),
            &["write-state", "r1"],
            0,
            "",
        )
        .out("\n")
        .stdin(big_state)
        .writes(),
        // ---- manifests -----------------------------------------------------------
        case(
            "manifest truncated scan",
            manifest(b"{\"datasets\": {\"a\": ["),
            &["scan-trials", "r1"],
            0,
            "",
        )
        .out("\"error\":\"not valid JSON: EOF while parsing"),
        case(
            "manifest not an object",
            manifest(b"[]"),
            &["scan-trials", "r1"],
            0,
            "",
        )
        .out("\"error\":\"not a JSON object\""),
        case(
            "manifest wrong types",
            manifest(b"{\"schema_version\": 2, \"datasets\": 7, \"job_status\": \"x\"}"),
            &["scan-trials", "r1"],
            0,
            "",
        )
        .out("datasets is a number, not an object; ignored"),
        case(
            "manifest invalid utf-8",
            manifest(b"{\"run_id\": \"\xff\"}"),
            &["status", "r1"],
            0,
            "",
        )
        .out("corrupt manifest t1/results/trial_manifest.json: not valid JSON"),
        case(
            "manifest is a directory",
            |env: &TestEnv| {
                std::fs::create_dir_all(
                    env.root().join(RUN).join("t1/results/trial_manifest.json"),
                )
                .unwrap();
            },
            &["scan-trials", "r1"],
            0,
            "",
        )
        .out(""),
        case(
            "manifest symlink loop",
            |env: &TestEnv| {
                std::fs::create_dir_all(env.root().join(RUN).join("t1/results")).unwrap();
                symlink(
                    "trial_manifest.json",
                    env.root().join(RUN).join("t1/results/trial_manifest.json"),
                )
                .unwrap();
            },
            &["scan-trials", "r1"],
            0,
            "",
        )
        .out(""),
        case(
            "manifest huge numbers",
            manifest(
                b"{\"schema_version\": 99999999999999999999999, \"datasets\": {\"a\": [\"x\"]}}",
            ),
            &["status", "r1"],
            0,
            "",
        )
        .out("trials    1 trial"),
        case(
            "manifest deep nesting",
            manifest(&deep_json(5000)),
            &["scan-trials", "r1"],
            0,
            "",
        )
        .out("recursion limit exceeded"),
        case(
            "manifest corrupt, migrate repairs",
            legacy_manifest(b"{\"datasets\""),
            &["migrate", "l1"],
            0,
            "",
        )
        .out("corrupt manifests backed up and reconstructed:")
        .writes(),
        case(
            "manifest corrupt, migrate dry-run",
            legacy_manifest(b"{\"datasets\""),
            &["migrate", "l1", "--dry-run"],
            0,
            "",
        )
        .out("would write: t1/results/trial_manifest.json.corrupt."),
        case(
            "manifest NaN, migrate",
            legacy_manifest(b"{\"datasets\": {\"a\": [NaN]}}"),
            &["migrate", "l1", "--dry-run"],
            0,
            "",
        )
        .out("would write: t1/results/trial_manifest.json.corrupt."),
        // ---- rk.yaml ---------------------------------------------------------------
        case(
            "rk.yaml unknown key",
            rk_yaml(b"runs_dir: experiments\nbogus: 1\n"),
            &["list"],
            2,
            "rk.yaml:2:1: unknown key \"bogus\"",
        ),
        case(
            "rk.yaml wrong type",
            rk_yaml(b"runs_dir: [a]\n"),
            &["list"],
            2,
            "rk.yaml:1:1: runs_dir must be a string",
        ),
        case(
            "rk.yaml huge number",
            rk_yaml(b"sessions_keep: 99999999999999999999999\n"),
            &["list"],
            2,
            "rk.yaml:1:1: sessions_keep",
        ),
        case(
            "rk.yaml dispatch as a shell string",
            rk_yaml(b"dispatch:\n  command: \"python run.py\"\n"),
            &["resume", "r1", "--dry-run"],
            2,
            "rk.yaml:2:3: dispatch.command",
        ),
        case(
            "rk.yaml runs_dir escapes",
            rk_yaml(b"runs_dir: ../../etc\n"),
            &["list"],
            2,
            "rk.yaml:1:1",
        ),
        case(
            "rk.yaml state_file escapes",
            rk_yaml(b"state_file: ../../outside.json\n"),
            &["read-state", "r1"],
            2,
            "state_file",
        ),
        case(
            "rk.yaml state_file is STATUS.md",
            rk_yaml(b"state_file: STATUS.md\n"),
            &["list"],
            2,
            "rk.yaml:1:1: state_file \"STATUS.md\" collides with a file rk keeps",
        ),
        case(
            "rk.yaml state_lock is the state file",
            rk_yaml(b"state_lock: run_state.json\n"),
            &["status", "r1"],
            2,
            "rk.yaml:1:1: state_lock and state_file are both \"run_state.json\"",
        ),
        case(
            "rk.yaml config_file is the state lock",
            rk_yaml(b"state_lock: cfg.yaml\nconfig_file: cfg.yaml\n"),
            &["list"],
            2,
            "config_file",
        ),
        case(
            "rk.yaml state_file is .rk",
            rk_yaml(b"state_file: .rk\n"),
            &["read-state", "r1"],
            2,
            "rk.yaml:1:1: state_file \".rk\" collides",
        ),
        case(
            "rk.yaml config_file is archive_manifest.json",
            rk_yaml(b"config_file: archive_manifest.json\n"),
            &["list"],
            2,
            "rk.yaml:1:1: config_file \"archive_manifest.json\" collides",
        ),
        case(
            "rk.yaml state_lock is STOP_REQUESTED",
            rk_yaml(b"state_lock: STOP_REQUESTED\n"),
            &["stop", "r1"],
            2,
            "rk.yaml:1:1: state_lock \"STOP_REQUESTED\" collides",
        ),
        case(
            "rk.yaml truncated",
            rk_yaml(b"phases: [a, b\n"),
            &["list"],
            2,
            "rk.yaml:2:1",
        ),
        case(
            "rk.yaml alias bomb",
            rk_yaml(&alias_bomb()),
            &["list"],
            2,
            "rk.yaml",
        ),
        case(
            "rk.yaml invalid utf-8",
            rk_yaml(b"runs_dir: \xff\n"),
            &["list"],
            2,
            "rk.yaml:1:11",
        ),
        case(
            "rk.yaml BOM + CRLF",
            rk_yaml(b"\xef\xbb\xbfruns_dir: experiments\r\n"),
            &["list"],
            0,
            "",
        )
        .out("r1   not_started"),
        case("rk.yaml empty", rk_yaml(b""), &["list"], 0, "").out("r1   not_started"),
        // Regression: a duplicate key named rk.yaml twice and hinted at
        // hash-config's --ignore.
        case(
            "rk.yaml duplicate key",
            rk_yaml(b"runs_dir: experiments\nruns_dir: other\n"),
            &["list"],
            2,
            "rk.yaml:2:1: duplicate key at /runs_dir",
        ),
        // Regression: an rk.yaml that is a directory was silently ignored.
        case(
            "rk.yaml is a directory",
            |env: &TestEnv| {
                std::fs::create_dir_all(env.root().join("rk.yaml/x")).unwrap();
            },
            &["list"],
            2,
            "rk.yaml is a directory",
        ),
        case(
            "rk.yaml symlink loop",
            |env: &TestEnv| {
                symlink("rk.yaml", env.root().join("rk.yaml")).unwrap();
            },
            &["list"],
            2,
            "rk.yaml",
        ),
        // ---- HEAD, log, objects ------------------------------------------------------
        case(
            "HEAD garbage",
            file_in_run(".rk/HEAD", b"zz\n".to_vec()),
            &["read-state", "r1", "--at", "HEAD"],
            5,
            ".rk/HEAD",
        ),
        case(
            "HEAD empty",
            file_in_run(".rk/HEAD", b"".to_vec()),
            &["fsck", "r1"],
            5,
            "run_r1/.rk",
        )
        .out("HEAD: expected one line holding a 64-hex snapshot id, found \"\""),
        case(
            "HEAD names a missing object",
            file_in_run(".rk/HEAD", format!("{}\n", "0".repeat(64)).into_bytes()),
            &["read-state", "r1", "--at", "HEAD"],
            5,
            "missing object",
        ),
        case(
            "HEAD is a directory",
            replace_with_dir(".rk/HEAD"),
            &["read-state", "r1", "--at", "HEAD"],
            5,
            ".rk/HEAD",
        ),
        case(
            "HEAD symlink loop",
            symlink_loop(".rk/HEAD"),
            &["read-state", "r1", "--at", "HEAD"],
            5,
            ".rk/HEAD",
        ),
        case(
            "log garbage line",
            |env: &TestEnv| {
                append(env, ".rk/log", b"garbage line\n");
            },
            &["log", "r1"],
            5,
            ".rk/log, line 2",
        ),
        case(
            "log torn last line ignored",
            |env: &TestEnv| {
                append(env, ".rk/log", b"- abc");
            },
            &["log", "r1"],
            0,
            "",
        )
        .out(" init\ttest\n"),
        case(
            "log invalid utf-8",
            |env: &TestEnv| {
                append(env, ".rk/log", b"\xff\xfe\n");
            },
            &["log", "r1"],
            5,
            ".rk/log, line 2",
        ),
        case(
            "log is a directory",
            replace_with_dir(".rk/log"),
            &["log", "r1"],
            5,
            ".rk/log",
        ),
        case(
            "object one byte appended",
            |env: &TestEnv| {
                let p = first_object(env);
                let mut b = std::fs::read(&p).unwrap();
                b.push(b' ');
                std::fs::remove_file(&p).unwrap();
                std::fs::write(&p, b).unwrap();
            },
            &["fsck", "r1"],
            5,
            "run_r1/.rk",
        )
        .out("error: corrupt object "),
        case(
            "object truncated to zero",
            |env: &TestEnv| {
                let p = first_object(env);
                std::fs::remove_file(&p).unwrap();
                std::fs::write(&p, b"").unwrap();
            },
            &["fsck", "r1"],
            5,
            "run_r1/.rk",
        )
        .out("error: corrupt object "),
        case(
            "object corrupt, read-state HEAD",
            |env: &TestEnv| {
                let head = env.read(&format!("{RUN}/.rk/HEAD"));
                let head = head.trim();
                let p = env
                    .root()
                    .join(RUN)
                    .join(".rk/objects")
                    .join(&head[..2])
                    .join(&head[2..]);
                std::fs::remove_file(&p).unwrap();
                std::fs::write(&p, b"{}").unwrap();
            },
            &["read-state", "r1", "--at", "HEAD"],
            5,
            "corrupt object ",
        ),
        case(
            "objects dir is a file",
            |env: &TestEnv| {
                let p = env.root().join(RUN).join(".rk/objects");
                std::fs::remove_dir_all(&p).unwrap();
                std::fs::write(&p, b"").unwrap();
            },
            &["fsck", "r1"],
            5,
            "run_r1/.rk",
        )
        .out(".rk/objects: Not a directory"),
        case(
            "cat-object bad id",
            none,
            &["cat-object", "r1", "zz"],
            2,
            "\"zz\" is not a snapshot id",
        ),
        case(
            "cat-object unknown id",
            none,
            &["cat-object", "r1", "0000"],
            2,
            "no object \"0000\"",
        ),
        // ---- command-line arguments ---------------------------------------------------
        case(
            "argv rid with a dash",
            none,
            &["read-state", "-rf"],
            2,
            "'-r'",
        ),
        case("argv rid ..", none, &["read-state", ".."], 2, ".."),
        case(
            "argv rid empty",
            none,
            &["read-state", ""],
            2,
            "it is empty",
        ),
        case(
            "argv rid too long",
            none,
            &["read-state", &"a".repeat(100_000)],
            2,
            "invalid run id",
        ),
        case(
            "argv rid unknown",
            none,
            &["status", "r9"],
            2,
            "no run \"r9\"",
        ),
        case(
            "argv unknown step",
            none,
            &["resume", "r1", "--only-step", "nope"],
            2,
            "unknown step \"nope\"",
        ),
        case(
            "argv from after to",
            none,
            &["resume", "r1", "--from-step", "score", "--to-step", "parse"],
            2,
            "--from-step score comes after --to-step parse",
        ),
        case(
            "argv only with from",
            none,
            &[
                "resume",
                "r1",
                "--only-step",
                "parse",
                "--from-step",
                "parse",
            ],
            2,
            "'--only-step <STEP>' cannot be used with '--from-step <STEP>'",
        ),
        case(
            "argv HEAD~huge",
            none,
            &["read-state", "r1", "--at", "HEAD~99999999999999999999"],
            2,
            "HEAD~99999999999999999999",
        ),
        case(
            "argv HEAD~N too far",
            none,
            &["read-state", "r1", "--at", "HEAD~5"],
            2,
            "HEAD~5",
        ),
        case(
            "argv expect garbage",
            none,
            &["write-state", "r1", "--expect", "nothex"],
            2,
            "nothex",
        )
        .stdin(state_with("")),
        case(
            "argv init phases empty",
            config("c.yaml", b"a: 1\n".to_vec()),
            &["init", "r2", "--config", "c.yaml", "--phases", "a,,b"],
            2,
            "--phases",
        ),
        case(
            "argv init path",
            config("c.yaml", b"a: 1\n".to_vec()),
            &["init", "a/../../x", "--config", "c.yaml"],
            2,
            "a/../../x",
        ),
        case(
            "argv unknown flag",
            none,
            &["stop", "r1", "--bogus"],
            2,
            "'--bogus'",
        ),
    ]
}

fn append(env: &TestEnv, rel: &str, bytes: &[u8]) {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(env.root().join(RUN).join(rel))
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

fn check(case: &Case) -> Result<(), String> {
    let env = TestEnv::new();
    started_run(&env, "r1", "model: m\nseed: 7\n");
    env.write("c.yaml", "model: m\nseed: 7\n");
    (case.setup)(&env);
    let before = tree(env.root());
    let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
    // A command may exit before it reads its stdin.
    let out = crate::common::output_with_stdin(&mut env.cmd(&args), &case.stdin);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shown = || {
        let mut r = env.render_output(&out);
        if r.len() > 2000 {
            r.truncate(2000);
            r.push('…');
        }
        r
    };
    if stderr.contains("panicked") {
        return Err(format!("panicked:\n{}", shown()));
    }
    if out.status.code() != Some(case.code) {
        return Err(format!("expected exit {}:\n{}", case.code, shown()));
    }
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("rk: error:") || l.starts_with("error:"))
        .collect();
    if case.code == 0 {
        if !errors.is_empty() {
            return Err(format!("exit 0 with an error line:\n{}", shown()));
        }
    } else {
        if errors.len() != 1 {
            return Err(format!("expected one error line:\n{}", shown()));
        }
        if !errors[0].contains(&case.message) {
            return Err(format!("error line lacks {:?}:\n{}", case.message, shown()));
        }
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    match case.out.as_deref() {
        Some("") if !stdout.is_empty() => {
            return Err(format!("expected no output:\n{}", shown()));
        }
        Some(want) if !stdout.contains(want) => {
            return Err(format!("stdout lacks {want:?}:\n{}", shown()));
        }
        _ => {}
    }
    if !case.writes {
        let after = tree(env.root());
        let changed = std::panic::catch_unwind(|| assert_same_tree(&before, &after, case.name));
        if changed.is_err() {
            return Err("the project changed".into());
        }
    }
    Ok(())
}

#[test]
fn bad_input_corpus() {
    let cases = cases();
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(e) = check(case) {
            failures.push(format!(
                "[{}] {:?}: {e}",
                case.name,
                case.args
                    .iter()
                    .map(|a| if a.len() > 40 {
                        format!("{}…", a.chars().take(40).collect::<String>())
                    } else {
                        a.clone()
                    })
                    .collect::<Vec<_>>()
            ));
        }
    }
    eprintln!(
        "bad-input corpus: {} cases, {} failures",
        cases.len(),
        failures.len()
    );
    assert!(cases.len() >= 60);
    // Every case says what it expects: an error naming the place, or (exit
    // 0) what the command prints.
    let vague: Vec<&str> = cases
        .iter()
        .filter(|c| {
            if c.code == 0 {
                c.out.is_none()
            } else {
                c.message.is_empty()
            }
        })
        .map(|c| c.name)
        .collect();
    assert!(vague.is_empty(), "cases that expect nothing: {vague:?}");
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// A full disk, simulated with RLIMIT_FSIZE (writes past 512 bytes fail
/// with EFBIG; SIGXFSZ ignored): write-state, init and migrate fail with an
/// error naming the file, leave no temp file and change nothing.
#[test]
fn bad_input_full_disk() {
    let big = {
        let mut s = b"{\"schema_version\": 1, \"phases\": {}, \"pad\": \"".to_vec();
        s.extend(std::iter::repeat_n(b'x', 8 * 1024));
        s.extend(b"\"}");
        s
    };
    let rk = env!("CARGO_BIN_EXE_rk");
    for (args, stdin) in [
        (vec!["write-state", "r1"], big.clone()),
        (vec!["init", "r2", "--config", "big.yaml"], Vec::new()),
        (vec!["migrate", "l1"], Vec::new()),
    ] {
        let env = TestEnv::new();
        started_run(&env, "r1", "model: m\nseed: 7\n");
        env.write("big.yaml", format!("model: m\npad: {}\n", "x".repeat(8192)));
        env.write(
            "experiments/run_l1/effective_config.yaml",
            format!("model: m\npad: {}\n", "x".repeat(8192)),
        );
        env.write(
            "experiments/run_l1/t1/results/trial_manifest.json",
            "{\"datasets\": {\"a\": [",
        );
        env.write(
            "experiments/run_l1/t1/results/predictions.csv",
            "x".repeat(4096),
        );
        let before = tree(env.root());
        let mut sh = std::process::Command::new("sh");
        sh.args(["-c", "trap '' XFSZ; ulimit -f 1; exec \"$0\" \"$@\"", rk])
            .args(&args)
            .current_dir(env.root())
            .env("RK_NOW", crate::common::NOW)
            .env("NO_COLOR", "1")
            .env_remove("RK_PROJECT");
        let out = crate::common::output_with_stdin(&mut sh, &stdin);
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!(
            "full disk {args:?}: exit {:?}: {}",
            out.status.code(),
            stderr.lines().next().unwrap_or("")
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!out.status.success(), "{args:?} succeeded on a full disk");
        assert_eq!(
            stderr
                .lines()
                .filter(|l| l.starts_with("rk: error:"))
                .count(),
            1,
            "{stderr}"
        );
        assert!(stderr.contains("File too large"), "{stderr}");
        assert!(stderr.contains("nothing was half-written"), "{stderr}");
        assert_eq!(out.status.code(), Some(4), "{args:?}: {stderr}");
        assert_eq!(
            crate::crash::temp_files(env.root()),
            0,
            "{args:?} left temp files"
        );
        if args[0] == "write-state" {
            assert_same_tree(&before, &tree(env.root()), "write-state on a full disk");
        }
    }
}

/// Replace `rel` (in run r1) with a FIFO or a symlink to `/dev/zero`.
fn plant_special(env: &TestEnv, rel: &str, fifo: bool) {
    let path = env.root().join(RUN).join(rel);
    let _ = std::fs::remove_file(&path);
    if fifo {
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo of a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    } else {
        symlink("/dev/zero", &path).unwrap();
    }
}

/// Run `rk args` and kill it if it has not ended within 20 s (a hang).
fn run_bounded(env: &TestEnv, args: &[&str]) -> Result<std::process::Output, String> {
    use std::process::Stdio;
    let mut child = env
        .cmd(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let _ = child
            .stdin
            .take()
            .unwrap()
            .write_all(b"{\"schema_version\": 1, \"phases\": {}}");
    }
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{args:?} blocked"));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(child.wait_with_output().unwrap())
}

/// A FIFO or a symlink to /dev/zero in place of each file rk reads: every
/// command ends (no hang, no unbounded read) with one error naming the
/// file — exit 5 for rk's own files, 2 for the config — and `rk list` goes
/// on to the other runs, showing this one as corrupt.
#[test]
fn special_files_never_block() {
    let files = [
        ("run_state.json", 5),
        ("effective_config.yaml", 2),
        (".rk/HEAD", 5),
        (".rk/log", 5),
        (".rk/run.lock", 5),
        (".state.lock", 5),
        ("STOP_REQUESTED", 5),
    ];
    let commands: &[&[&str]] = &[
        &["status", "r1"],
        &["resume", "r1", "--dry-run"],
        &["read-state", "r1"],
        &["log", "r1"],
        &["fsck", "r1"],
        &["write-state", "r1"],
        &["stop", "r1"],
        &["note", "r1", "hello"],
        &["diff-config", "r1", "c.yaml"],
        &["migrate", "r1"],
        &["list"],
    ];
    let mut failures = Vec::new();
    let mut pairs = 0;
    let mut refused = 0;
    for (rel, code) in files {
        for fifo in [true, false] {
            let kind = if fifo { "FIFO" } else { "/dev/zero" };
            for args in commands {
                let env = TestEnv::new();
                started_run(&env, "r1", "model: m\nseed: 7\n");
                started_run(&env, "r2", "model: m\nseed: 7\n");
                env.write("c.yaml", "model: m\nseed: 7\n");
                plant_special(&env, rel, fifo);
                pairs += 1;
                let out = match run_bounded(&env, args) {
                    Ok(out) => out,
                    Err(e) => {
                        failures.push(format!("{rel} as {kind}: {e}"));
                        continue;
                    }
                };
                let shown = env.render_output(&out);
                let what = format!("{rel} as {kind}: {args:?}");
                let stderr = String::from_utf8_lossy(&out.stderr);
                let errors: Vec<&str> = stderr
                    .lines()
                    .filter(|l| l.starts_with("rk: error:"))
                    .collect();
                let name = rel.rsplit('/').next().unwrap();
                if shown.contains("panicked") {
                    failures.push(format!("{what} panicked:\n{shown}"));
                } else if args[0] == "list" {
                    let stdout = String::from_utf8_lossy(&out.stdout);
                    if out.status.code() != Some(0)
                        || !stdout.lines().any(|l| l.starts_with("r1 "))
                        || !stdout.lines().any(|l| l.starts_with("r2 "))
                    {
                        failures.push(format!("{what}: list did not go on:\n{shown}"));
                    }
                } else if out.status.code() != Some(0) {
                    refused += 1;
                    // fsck lists its findings on stdout as `error: …`.
                    let stdout = String::from_utf8_lossy(&out.stdout);
                    let named = errors.iter().any(|l| l.contains(name))
                        || (args[0] == "fsck"
                            && stdout
                                .lines()
                                .any(|l| l.starts_with("error:") && l.contains(name)));
                    if out.status.code() != Some(code) || errors.len() != 1 || !named {
                        failures.push(format!(
                            "{what}: want exit {code} and one error naming {name}:\n{shown}"
                        ));
                    }
                }
            }
        }
    }
    eprintln!("special files: {pairs} file/command pairs, {refused} refused with an error");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A state of `strings` (arbitrary Unicode, cycled) in every string field a
/// state holds: ids, hashes, scheme, paths, phase names and statuses, times,
/// errors, notes, drift records, sessions, gates, the pipeline, the archive
/// record and the recorded code version.
fn unicode_state(strings: &[String]) -> serde_json::Value {
    use serde_json::json;
    let mut i = 0;
    let mut s = || {
        i += 1;
        strings[i % strings.len()].clone()
    };
    let mut phases = serde_json::Map::new();
    for status in ["completed", "in_progress", "failed"] {
        phases.insert(
            format!("p{}", s()),
            json!({"status": status, "started_at": s(), "updated_at": s(), "last_error": s()}),
        );
    }
    phases.insert(
        "prepare".into(),
        json!({"status": s(), "started_at": s(), "updated_at": s(), "last_error": {"message": s()}}),
    );
    let mut gates = serde_json::Map::new();
    gates.insert(
        s(),
        json!({"reason": s(), "created_at": s(), "cleared_at": s(), "cleared_by": s(), "note": s()}),
    );
    gates.insert(
        "score".into(),
        json!({"reason": s(), "created_at": s(), "cleared_at": null}),
    );
    json!({
        "schema_version": 1,
        "run_id": s(),
        "config_hash": s(),
        // A known scheme in most cases, so resume goes on to compare hashes.
        "config_hash_scheme": match strings.len() % 3 {
            0 => strings[0].clone(),
            1 => "pyyaml-sorted".into(),
            _ => "rk-c14n-v1".into(),
        },
        "config_path": s(),
        "phases": phases,
        "last_checkpoint": s(),
        "notes": [{"created_by": s(), "created_at": s(), "message": s()}],
        "config_drift": [{"detected_at": s(), "expected": s(), "actual": s(), "forced": true}],
        "sessions": [{"started_at": s(), "ended_at": s(), "command": [s(), s()],
                      "steps": [s()], "exit_code": 3, "host": s(), "pid": 1,
                      "stopped_at": s(), "resume_file": s()},
                     {"started_at": s(), "ended_at": null, "command": [s()], "host": s()}],
        "gates": gates,
        "pipeline": [s(), "prepare", s()],
        "archive": {"archived_at": s(), "dest": s(), "manifest": s()},
        "code_version": {"commit": s(), "dirty": true},
        s(): s(),
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Arbitrary Unicode in every string field of a state never panics
    /// status, list or resume --dry-run (no slicing of a str by byte index),
    /// and each ends with a documented exit code.
    #[test]
    fn arbitrary_unicode_in_every_state_field(
        strings in proptest::collection::vec("\\PC{0,14}", 1..24)
    ) {
        let env = TestEnv::new();
        started_run(&env, "r1", "model: m\nseed: 7\n");
        let state = unicode_state(&strings);
        env.write(
            &format!("{RUN}/run_state.json"),
            serde_json::to_vec(&state).unwrap(),
        );
        for args in [
            &["status", "r1"][..],
            &["status", "r1", "--json"],
            &["list"],
            &["list", "--json"],
            &["resume", "r1", "--dry-run"],
            &["resume", "r1", "--dry-run", "--force"],
        ] {
            let out = env.run(args);
            let shown = env.render_output(&out);
            proptest::prop_assert!(!shown.contains("panicked"), "{:?}: {}", args, shown);
            proptest::prop_assert!(
                matches!(out.status.code(), Some(0..=6)),
                "{:?}: {}",
                args,
                shown
            );
        }
    }
}

/// RK_NOW that is not an RFC 3339 time, or a time past 9999-12-31, is exit 2
/// naming RK_NOW before any command runs (nothing written); a valid one is
/// used, and a leap day or the last representable instant round-trips.
#[test]
fn rk_now_garbage_is_refused_naming_it() {
    for (now, ok) in [
        ("garbage", false),
        ("", false),
        ("2025-02-30T00:00:00Z", false),
        ("2025-09-03", false),
        ("9999-12-31T23:59:59-01:00", false),
        ("2024-02-29T12:00:00Z", true),
        ("9999-12-31T23:59:59.999999Z", true),
    ] {
        let env = TestEnv::new();
        started_run(&env, "r1", "model: m\nseed: 7\n");
        let before = tree(env.root());
        let out = env
            .cmd(&["note", "r1", "hello"])
            .env("RK_NOW", now)
            .output()
            .unwrap();
        let shown = env.render_output(&out);
        if ok {
            assert_eq!(out.status.code(), Some(0), "{now}: {shown}");
            let log = env.run(&["read-state", "r1"]);
            let stamp = now.trim_end_matches('Z');
            assert!(
                String::from_utf8_lossy(&log.stdout).contains(stamp),
                "{now}: {}",
                env.render_output(&log)
            );
        } else {
            assert_eq!(out.status.code(), Some(2), "{now}: {shown}");
            assert!(shown.contains("rk: error: RK_NOW="), "{now}: {shown}");
            assert_same_tree(&before, &tree(env.root()), now);
        }
    }
}
