//! Command lines clap refuses are shown in rk's own `rk: error:` /
//! `rk: hint:` form, with exit 2; help and version still go to stdout.

use crate::common::TestEnv;

#[test]
fn parse_errors_are_in_rks_format() {
    let env = TestEnv::new();
    let mut all = String::new();
    for args in [
        &["list", "--jsn"][..],
        &["st"],
        &["list", "--sort", "size"],
        &["resume"],
        &["status", "a", "b"],
        &["resume", "r1", "--only-step", "a", "--from-step", "b"],
    ] {
        all.push_str(&format!("$ rk {}\n", args.join(" ")));
        all.push_str(&env.render(args));
    }
    insta::assert_snapshot!(all);
}

#[test]
fn help_and_version_are_not_errors() {
    let env = TestEnv::new();
    for args in [
        &["--help"][..],
        &["--version"],
        &["status", "--help"],
        &["help", "list"],
    ] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty() && out.stderr.is_empty(), "{args:?}");
    }
}

/// RK_LOCK_TIMEOUT_MS that is not a whole number of milliseconds (`10s`,
/// `-1`, too large) is refused naming it before any command runs, as
/// RK_THREADS and RK_NOW are, instead of silently waiting the default 10 s;
/// empty is unset, and `0` (do not wait) is taken.
#[test]
fn a_lock_timeout_that_is_not_a_number_is_refused_naming_it() {
    let env = TestEnv::new();
    let run = crate::common::started_run(&env, "r1", "model: m\n");
    let before = crate::common::tree(env.root());
    for bad in ["10s", "-1", "abc", "99999999999999999999999"] {
        for args in [&["note", "r1", "x"][..], &["list"]] {
            let out = env
                .cmd(args)
                .env("RK_LOCK_TIMEOUT_MS", bad)
                .output()
                .unwrap();
            let shown = env.render_output(&out);
            assert_eq!(out.status.code(), Some(2), "{bad}: {shown}");
            assert!(
                shown.contains(&format!("rk: error: RK_LOCK_TIMEOUT_MS={bad:?}")),
                "{bad}: {shown}"
            );
            assert!(shown.contains("rk: hint: "), "{bad}: {shown}");
        }
    }
    crate::common::assert_same_tree(
        &before,
        &crate::common::tree(env.root()),
        "a bad lock timeout",
    );
    for fine in ["", "0", "250"] {
        let out = env
            .cmd(&["note", "r1", "x"])
            .env("RK_LOCK_TIMEOUT_MS", fine)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{fine:?}: {}",
            env.render_output(&out)
        );
    }
    assert_eq!(crate::common::last_session(&run)["stopped_at"], "x");
}
