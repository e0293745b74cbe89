//! Security: nothing rk does leaves the run directory.
//!
//! * RIDs and paths that try to leave `runs_dir` are exit 2 and touch nothing.
//! * A run dir, state file, lock file, HEAD, dispatch lock or STOP token that
//!   is a symlink pointing outside the run: no write follows it (the target
//!   outside is unchanged, a dangling target is never created).
//! * `archive` reads nothing outside the run: a symlink to a FIFO outside is
//!   recorded as a link (opening the FIFO would block forever).
//! * Config values and paths holding shell syntax reach the dispatched
//!   program as inert argv elements.
//! * Files rk writes are 0644 (objects 0444) and nothing it makes is
//!   world-writable, even under `umask 000`.

use crate::common::{assert_same_tree, started_run, tree, TestEnv};
use crate::status::{all, run_with};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const CONFIG: &str = "model: m\nseed: 7\n";

/// A project with run r1 and a directory `outside/` next to the project's
/// runs, holding a file and a run-shaped directory.
fn project() -> TestEnv {
    let env = TestEnv::new();
    env.write("rk.yaml", "dispatch:\n  command: [\"true\"]\n");
    started_run(&env, "r1", CONFIG);
    env.write("outside/secret.txt", "keep me\n");
    env.write(
        "outside/run/run_state.json",
        "{\"schema_version\": 1, \"phases\": {}}\n",
    );
    env.write("outside/run/effective_config.yaml", CONFIG);
    env.write("c.yaml", CONFIG);
    env
}

/// Every command that writes, on `operand`.
fn writers(operand: &str) -> Vec<Vec<String>> {
    [
        vec!["write-state", operand],
        vec!["resume", operand],
        vec!["migrate", operand],
        vec!["archive", operand, "--allow-incomplete"],
        vec!["stop", operand],
        vec!["note", operand, "hello"],
        vec!["restore", operand],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(String::from).collect())
    .collect()
}

const STATE: &[u8] = b"{\"schema_version\": 1, \"phases\": {}, \"x\": 1}";

/// Run with STATE on stdin; a command that exits before reading it is fine.
fn run(env: &TestEnv, args: &[String]) -> std::process::Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    crate::common::output_with_stdin(&mut env.cmd(&args), STATE)
}

#[test]
fn rids_and_paths_that_leave_runs_dir_touch_nothing() {
    let env = project();
    let long = "a".repeat(5000);
    for operand in [
        "..",
        "a/../../x",
        "../outside",
        "/etc",
        "/",
        "-rf",
        "",
        long.as_str(),
        "r1/..",
        "experiments/../outside",
    ] {
        for args in writers(operand) {
            let before = tree(env.root());
            let out = run(&env, &args);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{args:?}: {}",
                env.render_output(&out)
            );
            assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
            assert_same_tree(&before, &tree(env.root()), &format!("{args:?}"));
        }
    }
    for rid in ["..", "a/../../x", "/tmp/x", "-rf", "../outside/new"] {
        let out = env.run(&["init", rid, "--config", "c.yaml"]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "init {rid}: {}",
            env.render_output(&out)
        );
    }
    assert!(!env.root().join("x").exists() && !env.root().join("outside/new").exists());
}

/// Plant `link` (relative to the run) pointing at `target`, run every writer
/// on r1, and check that `outside/` is byte-identical and `dangling` was
/// never created.
fn no_write_follows(env: &TestEnv, what: &str) {
    let outside = env.root().join("outside");
    let before = tree(&outside);
    for args in writers("r1") {
        let out = run(env, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{what} {args:?}: {err}");
        assert_same_tree(&before, &tree(&outside), &format!("{what}: {args:?}"));
        assert!(
            !outside.join("dangling").exists(),
            "{what}: {args:?} created the dangling target"
        );
    }
    let init = env.run(&["init", "r1", "--config", "c.yaml"]);
    assert_ne!(init.status.code(), Some(0));
    assert_same_tree(&before, &tree(&outside), &format!("{what}: init"));
}

#[test]
fn symlinks_in_the_run_are_never_written_through() {
    for (rel, target) in [
        ("run_state.json", "secret.txt"),
        ("run_state.json", "dangling"),
        (".state.lock", "secret.txt"),
        (".state.lock", "dangling"),
        (".rk/HEAD", "secret.txt"),
        (".rk/HEAD", "dangling"),
        (".rk/log", "secret.txt"),
        (".rk/run.lock", "dangling"),
        (".rk/run.lock", "secret.txt"),
        ("STOP_REQUESTED", "secret.txt"),
        ("STOP_REQUESTED", "dangling"),
        ("STATUS.md", "dangling"),
        ("archive_manifest.json", "dangling"),
    ] {
        let env = project();
        let link = env.root().join("experiments/run_r1").join(rel);
        let _ = std::fs::remove_file(&link);
        symlink(env.root().join("outside").join(target), &link).unwrap();
        no_write_follows(&env, &format!("{rel} -> outside/{target}"));
    }
}

#[test]
fn a_run_dir_or_store_that_is_a_symlink_is_never_written_through() {
    // The run dir itself links to a run-shaped directory outside.
    let env = project();
    symlink(
        env.root().join("outside/run"),
        env.root().join("experiments/run_evil"),
    )
    .unwrap();
    let outside = env.root().join("outside");
    let before = tree(&outside);
    for args in writers("evil") {
        let out = run(&env, &args);
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
        assert_same_tree(
            &before,
            &tree(&outside),
            &format!("run dir symlink: {args:?}"),
        );
    }
    let out = env.run(&["init", "evil", "--config", "c.yaml"]);
    assert_ne!(out.status.code(), Some(0));
    assert_same_tree(&before, &tree(&outside), "init over a symlinked run dir");

    // .rk links to a directory outside.
    let env = project();
    let store = env.root().join("experiments/run_r1/.rk");
    std::fs::rename(&store, env.root().join("outside/store")).unwrap();
    symlink(env.root().join("outside/store"), &store).unwrap();
    no_write_follows(&env, ".rk -> outside/store");
    let fsck = env.run(&["fsck", "r1"]);
    assert_eq!(fsck.status.code(), Some(5), "{}", env.render_output(&fsck));
    assert!(String::from_utf8_lossy(&fsck.stdout).contains("run_r1/.rk is a symlink"));

    // .rk/objects, or one fan-out directory, links outside.
    for rel in ["objects", "objects/xx"] {
        let env = project();
        let store = env.root().join("experiments/run_r1/.rk");
        let link = store.join(rel);
        if rel == "objects" {
            std::fs::rename(&link, env.root().join("outside/objects")).unwrap();
            symlink(env.root().join("outside/objects"), &link).unwrap();
        } else {
            // Every fan-out directory links to one directory outside.
            std::fs::create_dir_all(env.root().join("outside/fan")).unwrap();
            for i in 0..=255u8 {
                let fan = store.join(format!("objects/{i:02x}"));
                if fan.exists() {
                    continue;
                }
                symlink(env.root().join("outside/fan"), &fan).unwrap();
            }
        }
        no_write_follows(&env, &format!(".rk/{rel} -> outside"));
        let fsck = env.run(&["fsck", "r1"]);
        assert_eq!(
            fsck.status.code(),
            Some(5),
            "{rel}: {}",
            env.render_output(&fsck)
        );
        assert!(
            String::from_utf8_lossy(&fsck.stdout).contains("is a symlink"),
            "{rel}: {}",
            env.render_output(&fsck)
        );
    }
}

#[test]
fn archive_reads_nothing_outside_the_run() {
    let env = TestEnv::new();
    run_with(&env, "r1", &all("completed"), "");
    env.write("experiments/run_r1/t1/results/trial_manifest.json", "{}");
    std::fs::create_dir_all(env.root().join("outside")).unwrap();
    let fifo = env.root().join("outside/fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo of a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    symlink(
        &fifo,
        env.root().join("experiments/run_r1/t1/results/pipe.csv"),
    )
    .unwrap();
    symlink(
        env.root().join("outside"),
        env.root().join("experiments/run_r1/t1/out"),
    )
    .unwrap();
    let mut child = env
        .cmd(&["archive", "r1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("archive blocked: it opened the FIFO outside the run");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", env.render_output(&out));
    let m: serde_json::Value =
        serde_json::from_str(&env.read("experiments/run_r1/archive_manifest.json")).unwrap();
    let arts = m["trials"][0]["artifacts"].as_array().unwrap();
    let pipe = arts
        .iter()
        .find(|a| a["path"] == "t1/results/pipe.csv")
        .unwrap();
    assert!(
        pipe.get("link").is_some() && pipe.get("blake3").is_none(),
        "{pipe}"
    );
    let verify = env.run(&["verify", "r1"]);
    assert!(verify.status.success(), "{}", env.render_output(&verify));
}

/// The dispatched program writes each argv element on its own line.
const ECHO_ARGS: &str =
    "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$RK_ARGS_OUT\"\n";

#[test]
fn shell_syntax_reaches_dispatch_as_inert_argv() {
    let env = TestEnv::new();
    let pwned = env.root().join("pwned");
    let script = env.write("echo_args.sh", ECHO_ARGS);
    let evil = [
        format!("$(touch {})", pwned.display()),
        format!("; touch {} ; rm -rf ~", pwned.display()),
        format!("`touch {}`", pwned.display()),
        "| cat /etc/passwd".to_string(),
    ];
    let yaml_list = evil
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect::<Vec<_>>()
        .join(", ");
    env.write(
        "rk.yaml",
        format!(
            "dispatch:\n  command: [sh, {:?}, {yaml_list}, \"{{config}}\", \"{{run_id}}\"]\n",
            script.display().to_string()
        ),
    );
    // Shell syntax in config values, too.
    let config = format!(
        "cmd: \"$(touch {0})\"\nother: \"; rm -rf ~\"\n",
        pwned.display()
    );
    started_run(&env, "r1", &config);
    let args_out = env.root().join("args.txt");
    let out = env
        .cmd(&["resume", "r1"])
        .env("RK_ARGS_OUT", &args_out)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", env.render_output(&out));
    let got = std::fs::read_to_string(&args_out).unwrap();
    let lines: Vec<&str> = got.lines().collect();
    for (i, e) in evil.iter().enumerate() {
        assert_eq!(lines[i], e, "argv element {i} changed:\n{got}");
    }
    assert!(
        lines[evil.len()].ends_with("run_r1/effective_config.yaml"),
        "{got}"
    );
    assert_eq!(lines[evil.len() + 1], "r1");
    // `--` CMD is an argv too.
    let out = env
        .cmd(&[
            "resume",
            "r1",
            "--",
            "sh",
            script.to_str().unwrap(),
            &evil[0],
            &evil[1],
        ])
        .env("RK_ARGS_OUT", &args_out)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", env.render_output(&out));
    assert!(std::fs::read_to_string(&args_out)
        .unwrap()
        .starts_with(&format!("{}\n{}\n", evil[0], evil[1])));
    assert!(!pwned.exists(), "a shell ran a config value");
}

/// Every file and directory under `dir` (rk's and the test's), with mode.
fn modes(dir: &Path) -> Vec<(String, u32, bool)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            if meta.file_type().is_symlink() {
                continue;
            }
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            out.push((rel, meta.permissions().mode() & 0o7777, meta.is_dir()));
            if meta.is_dir() {
                stack.push(e.path());
            }
        }
    }
    out
}

#[test]
fn files_are_0644_objects_0444_nothing_world_writable_under_umask_000() {
    let env = TestEnv::new();
    env.write("rk.yaml", "dispatch:\n  command: [\"true\"]\n");
    env.write("c.yaml", CONFIG);
    let rk = env!("CARGO_BIN_EXE_rk");
    let umask0 = |args: &[&str]| {
        let out = std::process::Command::new("sh")
            .args(["-c", "umask 000; exec \"$0\" \"$@\"", rk])
            .args(args)
            .current_dir(env.root())
            .env("RK_NOW", crate::common::NOW)
            .env("NO_COLOR", "1")
            .env_remove("RK_PROJECT")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.code() == Some(0) || args[0] == "archive",
            "{args:?}: {}",
            env.render_output(&out)
        );
    };
    // init creates experiments/ itself, and the run dir.
    umask0(&["init", "r1", "--config", "c.yaml"]);
    env.write("experiments/run_l1/effective_config.yaml", CONFIG);
    env.write(
        "experiments/run_l1/t1/results/trial_manifest.json",
        "{\"datasets\": {",
    );
    umask0(&["resume", "r1"]);
    umask0(&["stop", "r1"]);
    umask0(&["migrate", "l1"]);
    umask0(&["archive", "r1", "--allow-incomplete"]);
    let mut bad = Vec::new();
    for dir in ["experiments", "experiments/run_r1", "experiments/run_l1"] {
        let mode = std::fs::metadata(env.root().join(dir))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777;
        if mode != 0o755 {
            bad.push(format!("{dir}: {mode:o}"));
        }
    }
    for run in ["experiments/run_r1", "experiments/run_l1"] {
        for (rel, mode, is_dir) in modes(&env.root().join(run)) {
            let in_objects = rel.starts_with(".rk/objects/") && !is_dir;
            let want_ok = if is_dir {
                mode == 0o755
            } else if in_objects {
                mode == 0o444
            } else {
                mode == 0o644
            };
            if !want_ok {
                bad.push(format!("{run}/{rel}: {mode:o}"));
            }
        }
    }
    assert!(bad.is_empty(), "modes under umask 000: {bad:#?}");
}

#[test]
fn lock_files_are_opened_without_following_links() {
    let env = project();
    for rel in [".state.lock", ".rk/run.lock"] {
        let link = env.root().join("experiments/run_r1").join(rel);
        let _ = std::fs::remove_file(&link);
        symlink(env.root().join("outside/lock-target"), &link).unwrap();
    }
    let out = run(&env, &["write-state".to_string(), "r1".to_string()]);
    assert_ne!(out.status.code(), Some(0), "{}", env.render_output(&out));
    let out = env.run(&["resume", "r1"]);
    assert_ne!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert!(!env.root().join("outside/lock-target").exists());
    // Probing (list, status) does not follow it either, and does not fail.
    let out = env.run(&["list", "--json"]);
    assert!(out.status.success(), "{}", env.render_output(&out));
    assert!(!env.root().join("outside/lock-target").exists());
}

/// A state's `code_version.commit` is data, never an option to git: a value
/// like `--output=PATH` creates nothing, and a non-ASCII one (a branch name
/// such as `aéééééé`) neither panics status nor resume.
#[test]
fn a_recorded_commit_never_reaches_git_as_an_option() {
    if std::process::Command::new("git")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no git on this machine");
        return;
    }
    let env = TestEnv::new();
    env.write("rk.yaml", "dispatch:\n  command: [\"true\"]\n");
    env.write(".gitignore", "experiments/\n");
    assert!(crate::common::git(env.root(), &["init", "-q"]));
    assert!(crate::common::git(env.root(), &["add", "."]));
    assert!(crate::common::git(env.root(), &["commit", "-qm", "first"]));
    let pwned = env.root().join("pwned");
    for commit in [
        format!("--output={}", pwned.display()),
        "aéééééé".to_string(),
        "é".repeat(3),
        "-p".to_string(),
    ] {
        let project = rk::project::Project::open(env.root().to_path_buf()).unwrap();
        let mut state = rk::state::RunState::new("r1", &project.settings.phases);
        state.config_hash = Some(Some(crate::common::c14n_hash(CONFIG)));
        state.config_hash_scheme = Some("rk-c14n-v1".into());
        state.extra.insert(
            "code_version".into(),
            serde_json::json!({"commit": commit, "dirty": false}),
        );
        let _ = std::fs::remove_dir_all(env.root().join("experiments"));
        crate::common::run_with_state(&env, "r1", CONFIG, &state);
        for args in [
            &["status", "r1"][..],
            &["status", "r1", "--json"],
            &["resume", "r1", "--dry-run"],
            &["resume", "r1", "--dry-run", "--force"],
            &["list"],
        ] {
            let out = env.run(args);
            let shown = env.render_output(&out);
            assert_eq!(out.status.code(), Some(0), "{commit:?} {args:?}: {shown}");
            if args[0] != "list" {
                assert!(
                    shown.contains("not a commit id"),
                    "{commit:?} {args:?}: {shown}"
                );
            }
        }
        let leftovers: Vec<_> = std::fs::read_dir(env.root())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("pwned"))
            .collect();
        assert!(leftovers.is_empty(), "{commit:?}: git wrote {leftovers:?}");
    }
}

/// A project under a directory whose name is not UTF-8: `{run_dir}` and
/// `{config}` reach the orchestrator as the file system's exact bytes, paths
/// that exist (never U+FFFD replacements).
#[test]
fn non_utf8_project_paths_reach_the_orchestrator_byte_exact() {
    use std::os::unix::ffi::OsStrExt;
    let env = TestEnv::new();
    let root = env
        .root()
        .join(std::ffi::OsStr::from_bytes(b"proj-\xff\xfe"));
    std::fs::create_dir_all(&root).unwrap();
    let script = env.write("echo_args.sh", ECHO_ARGS);
    std::fs::write(
        root.join("rk.yaml"),
        format!(
            "dispatch:\n  command: [sh, {:?}, \"{{run_dir}}\", \"{{config}}\", \"{{run_id}}\"]\n",
            script.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(root.join("c.yaml"), CONFIG).unwrap();
    let args_out = env.root().join("args.txt");
    let rk = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_rk"))
            .args(args)
            .current_dir(&root)
            .env("RK_NOW", crate::common::NOW)
            .env("NO_COLOR", "1")
            .env("RK_ARGS_OUT", &args_out)
            .env_remove("RK_PROJECT")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let init = rk(&["init", "r1", "--config", "c.yaml"]);
    assert!(init.status.success(), "{}", env.render_output(&init));
    let out = rk(&["resume", "r1"]);
    assert!(out.status.success(), "{}", env.render_output(&out));
    let got = std::fs::read(&args_out).unwrap();
    let lines: Vec<&[u8]> = got.split(|b| *b == b'\n').collect();
    let run_dir = std::path::Path::new(std::ffi::OsStr::from_bytes(lines[0]));
    let config = std::path::Path::new(std::ffi::OsStr::from_bytes(lines[1]));
    assert!(
        lines[0].ends_with(b"proj-\xff\xfe/experiments/run_r1"),
        "{got:?}"
    );
    assert!(run_dir.is_dir(), "{run_dir:?} does not exist");
    assert!(config.is_file(), "{config:?} does not exist");
    assert_eq!(lines[2], b"r1");
}
