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
