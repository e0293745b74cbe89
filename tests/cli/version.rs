//! `rk --version`: answered before the whole parser is built, with the very
//! line clap prints when it is built.

use crate::common::TestEnv;

#[test]
fn the_quick_version_is_the_parsers_version() {
    let env = TestEnv::new();
    let quick = env.run(&["--version"]);
    let short = env.run(&["-V"]);
    // With another argument, clap parses and prints the version itself.
    let parsed = env.run(&["--color", "never", "--version"]);
    for out in [&quick, &short, &parsed] {
        assert_eq!(out.status.code(), Some(0));
        assert!(out.stderr.is_empty());
    }
    assert_eq!(quick.stdout, parsed.stdout);
    assert_eq!(short.stdout, parsed.stdout);
    assert_eq!(
        String::from_utf8_lossy(&quick.stdout),
        format!("rk {}\n", env!("CARGO_PKG_VERSION"))
    );
}
