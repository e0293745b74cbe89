//! `rk archive` and `rk verify`: refusal of an incomplete run, the manifest,
//! symlinks out of the run never followed, one changed byte, missing and
//! extra files, bad --dest.

use crate::common::TestEnv;
use crate::status::{all, run_with};

fn completed(env: &TestEnv) {
    run_with(env, "r1", &all("completed"), "");
    env.write(
        "experiments/run_r1/t1/results/trial_manifest.json",
        r#"{"schema_version": 2}"#,
    );
    env.write(
        "experiments/run_r1/t1/results/predictions.csv",
        "a,b\n1,2\n",
    );
    env.write("experiments/run_r1/t2/results/trial_manifest.json", "{}");
    env.write("experiments/run_r1/t2/reports/report.md", "# t2\n");
}

#[test]
fn incomplete_run_is_refused_with_exit_6() {
    let env = TestEnv::new();
    run_with(
        &env,
        "r1",
        &[("prepare", "completed"), ("build", "failed")],
        "",
    );
    insta::assert_snapshot!(env.render(&["archive", "r1"]));
    assert!(!env
        .root()
        .join("experiments/run_r1/archive_manifest.json")
        .exists());
    let out = env.run(&["archive", "r1", "--allow-incomplete"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    let m: serde_json::Value =
        serde_json::from_str(&env.read("experiments/run_r1/archive_manifest.json")).unwrap();
    assert_eq!(m["allow_incomplete"], true);
    let st: serde_json::Value =
        serde_json::from_str(&env.read("experiments/run_r1/run_state.json")).unwrap();
    assert_eq!(st["archive"]["allow_incomplete"], true);
}

#[test]
fn archive_then_verify_clean_and_archived() {
    let env = TestEnv::new();
    completed(&env);
    // Stop tokens a resume cleared are rk's leftovers, not artifacts.
    env.write(
        "experiments/run_r1/STOP_REQUESTED.cleared.20250903T100000.000000Z",
        "2025-09-03T09:00:00Z\n",
    );
    let out = env.run(&["archive", "r1"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    let manifest = env.read("experiments/run_r1/archive_manifest.json");
    assert!(!manifest.contains("STOP_REQUESTED"), "{manifest}");
    let m: serde_json::Value =
        serde_json::from_str(&env.read("experiments/run_r1/archive_manifest.json")).unwrap();
    assert_eq!(m["status"], "archived");
    assert_eq!(m["trials"][0]["slug"], "t1");
    assert_eq!(
        m["trials"][0]["artifacts"][0],
        serde_json::json!({"path": "t1/results/predictions.csv", "bytes": 8,
                           "blake3": blake3::hash(b"a,b\n1,2\n").to_hex().to_string()})
    );
    assert_eq!(m["other"][0]["path"], "effective_config.yaml");
    insta::assert_snapshot!(env.render(&["verify", "r1"]), @r"
    ok: 5 entries match the archive manifest
    [exit status: 0]
    ");
    let list = env.run(&["list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("archived"));
    // A second archive is refused.
    assert_eq!(env.run(&["archive", "r1"]).status.code(), Some(6));
}

#[test]
fn verify_catches_one_changed_byte_missing_and_extra() {
    let env = TestEnv::new();
    completed(&env);
    assert_eq!(env.run(&["archive", "r1"]).status.code(), Some(0));
    env.write(
        "experiments/run_r1/t1/results/predictions.csv",
        "a,b\n1,3\n",
    );
    std::fs::remove_file(env.root().join("experiments/run_r1/t2/reports/report.md")).unwrap();
    env.write("experiments/run_r1/t2/new.txt", "new\n");
    insta::assert_snapshot!(env.render(&["verify", "r1"]));
}

#[test]
fn symlink_out_of_the_run_is_recorded_never_followed() {
    let env = TestEnv::new();
    completed(&env);
    env.write("outside/secret.txt", "secret\n");
    std::os::unix::fs::symlink(
        env.root().join("outside/secret.txt"),
        env.root().join("experiments/run_r1/t1/results/leak.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "../../../outside",
        env.root().join("experiments/run_r1/t1/dir"),
    )
    .unwrap();
    assert_eq!(env.run(&["archive", "r1"]).status.code(), Some(0));
    let text = env.read("experiments/run_r1/archive_manifest.json");
    assert!(!text.contains(&blake3::hash(b"secret\n").to_hex().to_string()));
    assert!(!text.contains("secret.txt\", \"bytes"));
    let m: serde_json::Value = serde_json::from_str(&text).unwrap();
    let arts = m["trials"][0]["artifacts"].as_array().unwrap();
    assert!(arts.contains(&serde_json::json!({"path": "t1/dir", "link": "../../../outside"})));
    assert!(arts
        .iter()
        .any(|a| a["path"] == "t1/results/leak.txt" && a.get("link").is_some()));
    assert!(!arts
        .iter()
        .any(|a| a["path"].as_str().unwrap().starts_with("t1/dir/")));
    assert_eq!(env.run(&["verify", "r1"]).status.code(), Some(0));
}

#[test]
fn bad_dest_is_exit_2_and_good_dest_moves() {
    let env = TestEnv::new();
    completed(&env);
    std::fs::create_dir_all(env.root().join("taken")).unwrap();
    insta::assert_snapshot!(format!(
        "{}{}",
        env.render(&["archive", "r1", "--dest", "experiments/run_r1/t1/inside"]),
        env.render(&["archive", "r1", "--dest", "taken"])
    ));
    assert!(!env
        .root()
        .join("experiments/run_r1/archive_manifest.json")
        .exists());
    let out = env.run(&["archive", "r1", "--dest", "moved"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    assert!(env.root().join("moved/archive_manifest.json").is_file());
    assert!(!env.root().join("experiments/run_r1").exists());
    assert_eq!(env.run(&["verify", "./moved"]).status.code(), Some(0));
}

#[test]
fn verify_of_an_unarchived_run_is_exit_6() {
    let env = TestEnv::new();
    completed(&env);
    assert_eq!(env.run(&["verify", "r1"]).status.code(), Some(6));
}

#[test]
fn a_file_vanishing_while_hashed_is_a_clear_error() {
    // A fifo that is replaced by nothing: simulate with a file removed between
    // walk and hash by the library directly.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a"), "x").unwrap();
    let progress = rk::ops::archive::Progress::default();
    let r = rk::ops::archive_manifest::hash_files(dir.path(), &[("gone", 3)], &progress).unwrap();
    let e = r.into_iter().next().unwrap().unwrap_err();
    assert_eq!(e.exit(), rk::Exit::Busy);
    assert!(e.to_string().contains("gone vanished"), "{e}");
    let r = rk::ops::archive_manifest::hash_files(dir.path(), &[("a", 5)], &progress).unwrap();
    let e = r.into_iter().next().unwrap().unwrap_err();
    assert!(e.to_string().contains("changed while it was hashed"), "{e}");
}

/// A full disk while the manifest is written: nothing half-written, the run
/// is not archived, and archiving again afterwards completes it.
#[test]
fn a_full_disk_while_writing_the_manifest_leaves_nothing_half_written() {
    let env = TestEnv::new();
    crate::common::orchestrated_project(&env, "");
    let run = crate::common::started_run(&env, "r1", "trials:\n  t1: [ds-1]\n");
    assert_eq!(env.run(&["resume", "r1"]).status.code(), Some(0));
    for i in 0..300 {
        env.write(
            &format!("experiments/run_r1/t1/results/extra/part_{i:03}.csv"),
            "x\n",
        );
    }
    // Files up to 8 KiB may be written (the state, its snapshot, STATUS.md);
    // the manifest of 300+ artifacts is larger.
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            "trap '' XFSZ; ulimit -f 16; exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_rk"),
            "archive",
            "r1",
        ])
        .current_dir(env.root())
        .env("RK_NOW", crate::common::NOW)
        .env("NO_COLOR", "1")
        .env_remove("RK_PROJECT")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.starts_with("rk: error: cannot write ") && stderr.contains("archive_manifest.json"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
    assert!(!run.join("archive_manifest.json").exists());
    let leftovers: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let status = env.run(&["status", "r1", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(
        v["status"], "completed",
        "not archived until the manifest exists"
    );
    // With room again, archiving completes and verifies.
    let again = env.run(&["archive", "r1"]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(env.run(&["verify", "r1"]).status.code(), Some(0));
}

/// A directory on another file system than the test's temp dir, or why not.
fn other_device(env: &TestEnv) -> Result<tempfile::TempDir, String> {
    use std::os::unix::fs::MetadataExt;
    let shm = std::path::Path::new("/dev/shm");
    let here = std::fs::metadata(env.root())
        .map_err(|e| e.to_string())?
        .dev();
    let there = std::fs::metadata(shm)
        .map_err(|e| format!("no /dev/shm: {e}"))?
        .dev();
    if here == there {
        return Err("/dev/shm is on the same device as the temp dir".into());
    }
    tempfile::tempdir_in(shm).map_err(|e| format!("cannot use /dev/shm: {e}"))
}

/// `archive --dest` across devices (a tmpfs, /dev/shm): the copy keeps
/// modification times and hard links, says what it did not copy (a FIFO),
/// verifies at the destination; an interrupted move (a leftover temp copy,
/// or a verified copy in place with the original not yet deleted) is
/// finished by running the same command again.
#[test]
fn archive_dest_across_devices_preserves_and_resumes() {
    let env = TestEnv::new();
    let other = match other_device(&env) {
        Ok(d) => d,
        Err(why) => {
            eprintln!("skipped: no second file system: {why}");
            return;
        }
    };
    completed(&env);
    let run = env.root().join("experiments/run_r1");
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    let csv = run.join("t1/results/predictions.csv");
    std::fs::File::options()
        .write(true)
        .open(&csv)
        .unwrap()
        .set_modified(old)
        .unwrap();
    std::fs::hard_link(&csv, run.join("t1/results/same.csv")).unwrap();
    let fifo = std::ffi::CString::new(run.join("t1/pipe").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo of a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let dest = other.path().join("r1");
    let dest_s = dest.to_str().unwrap();
    let out = env.run(&["archive", "r1", "--dest", dest_s]);
    let shown = env.render_output(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("copied across devices, verified, original deleted"),
        "{shown}"
    );
    assert!(
        shown.contains("t1/pipe is a FIFO; it was not copied"),
        "{shown}"
    );
    assert!(!run.exists());
    use std::os::unix::fs::MetadataExt;
    let a = std::fs::metadata(dest.join("t1/results/predictions.csv")).unwrap();
    let b = std::fs::metadata(dest.join("t1/results/same.csv")).unwrap();
    assert_eq!(a.modified().unwrap(), old);
    assert_eq!(
        (a.ino(), a.nlink()),
        (b.ino(), 2),
        "the hard link was split"
    );
    let verify = env.run(&["verify", dest_s]);
    assert!(verify.status.success(), "{}", env.render_output(&verify));

    // Killed after the copy was put in place, before the original was
    // deleted: both exist. Rerunning finishes the delete.
    let env = TestEnv::new();
    completed(&env);
    assert!(env.run(&["archive", "r1"]).status.success());
    let run = env.root().join("experiments/run_r1");
    let dest = other.path().join("r1b");
    let cp = std::process::Command::new("cp")
        .args(["-a", run.to_str().unwrap(), dest.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(cp.success());
    let out = env.run(&["archive", "r1", "--dest", dest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", env.render_output(&out));
    assert!(!run.exists() && dest.join("archive_manifest.json").exists());

    // Killed while copying: a partial temp copy next to the destination and
    // the original archived in place. Rerunning copies again and moves.
    let env = TestEnv::new();
    completed(&env);
    assert!(env.run(&["archive", "r1"]).status.success());
    std::fs::create_dir_all(other.path().join(".tmp-move-r1c/t1")).unwrap();
    std::fs::write(other.path().join(".tmp-move-r1c/t1/partial"), "x").unwrap();
    let dest = other.path().join("r1c");
    let out = env.run(&["archive", "r1", "--dest", dest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", env.render_output(&out));
    assert!(!other.path().join(".tmp-move-r1c").exists());
    let verify = env.run(&["verify", dest.to_str().unwrap()]);
    assert!(verify.status.success(), "{}", env.render_output(&verify));
}

/// Archive and verify hash on every worker thread, a big file split across
/// them: one thread and many give the same hashes, and verify on one thread
/// finds clean what archive hashed on three.
#[test]
fn one_thread_or_many_hash_the_same() {
    let env = TestEnv::new();
    completed(&env);
    // Past the size from which one file is hashed on several threads.
    let big: Vec<u8> = (0..20 * 1024 * 1024 + 12345)
        .map(|i: u32| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    env.write("experiments/run_r1/t1/results/big.bin", &big);
    for i in 0..40 {
        env.write(
            &format!("experiments/run_r1/t2/parts/p{i:02}.txt"),
            format!("{i}\n"),
        );
    }
    let out = env
        .cmd(&["archive", "r1"])
        .env("RK_THREADS", "3")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    let m: serde_json::Value =
        serde_json::from_str(&env.read("experiments/run_r1/archive_manifest.json")).unwrap();
    let recorded = m["trials"][0]["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == "t1/results/big.bin")
        .unwrap()["blake3"]
        .clone();
    assert_eq!(recorded, blake3::hash(&big).to_hex().to_string());
    assert_eq!(m["trials"][1]["artifacts"].as_array().unwrap().len(), 42);
    for n in ["1", "2"] {
        let out = env
            .cmd(&["verify", "r1"])
            .env("RK_THREADS", n)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", env.render_output(&out));
    }
    // One byte changed in the second half of the big file is found on any
    // number of threads.
    let mut changed = big.clone();
    changed[15 * 1024 * 1024] ^= 1;
    env.write("experiments/run_r1/t1/results/big.bin", &changed);
    for n in ["1", "2", "4"] {
        let out = env
            .cmd(&["verify", "r1"])
            .env("RK_THREADS", n)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", env.render_output(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("t1/results/big.bin"));
    }
}

/// A worker that cannot hash its file fails the whole archive with a clear
/// error, and the run is not archived: here one file of many cannot be read
/// (mode 000; when the tests run as root, rk runs without the capabilities
/// that let root read it anyway).
#[test]
fn a_file_that_fails_to_hash_fails_the_archive() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let env = TestEnv::new();
    completed(&env);
    for i in 0..50 {
        env.write(
            &format!("experiments/run_r1/t2/parts/p{i:02}.txt"),
            format!("{i}\n"),
        );
    }
    let locked = env.write("experiments/run_r1/t2/parts/p33.txt", "no\n");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    for threads in ["1", "2"] {
        let mut cmd = env.cmd(&["archive", "r1"]);
        cmd.env("RK_THREADS", threads);
        // SAFETY: prctl only changes this child's capability bounding set
        // before exec; it allocates nothing and touches no lock.
        unsafe {
            cmd.pre_exec(|| {
                for cap in [1, 2] {
                    // CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH; EPERM when not root.
                    libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0);
                }
                Ok(())
            });
        }
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{}", env.render_output(&out));
        assert!(
            err.contains("rk: error:")
                && err.contains("p33.txt")
                && err.contains("ermission denied"),
            "{err}"
        );
        assert!(!env
            .root()
            .join("experiments/run_r1/archive_manifest.json")
            .exists());
        let st: serde_json::Value =
            serde_json::from_str(&env.read("experiments/run_r1/run_state.json")).unwrap();
        assert!(st.get("archive").is_none_or(|a| a.is_null()), "{st}");
    }
}
