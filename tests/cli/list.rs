//! `rk list` on many runs: every run is listed, whatever the number of worker
//! threads reading them.

use crate::common::TestEnv;
use crate::status::{all, run_with};

#[test]
fn one_thread_or_many_list_every_run() {
    let env = TestEnv::new();
    for i in 0..150 {
        let rid = format!("r{i:03}");
        match i % 5 {
            0 => {
                env.write(&format!("experiments/run_{rid}/run_state.json"), "{");
            }
            1 => run_with(&env, &rid, &all("completed"), ""),
            _ => run_with(&env, &rid, &all("completed")[..i % 7], ""),
        }
    }
    for args in [&["list"][..], &["list", "--json"][..]] {
        let runs: Vec<_> = ["1", "2", "5"]
            .iter()
            .map(|n| env.cmd(args).env("RK_THREADS", n).output().unwrap())
            .collect();
        for out in &runs {
            assert_eq!(out.stdout, runs[0].stdout, "{args:?}");
            assert_eq!(out.status.code(), runs[0].status.code());
        }
    }
    let out = env
        .cmd(&["list", "--json"])
        .env("RK_THREADS", "2")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for i in 0..150 {
        assert!(
            text.contains(&format!("\"r{i:03}\"")),
            "r{i:03} missing: {text}"
        );
    }
}

/// A run dir whose name is not a run id rk accepts (the Python tools take
/// any `--run_id`, so `run_été 2` exists) is never left out in silence: it
/// is not a row (its name could not be typed back as an id), but a warning
/// names it and the command that shows it, by its path, which works.
#[test]
fn a_run_whose_name_rk_cannot_take_as_an_id_is_named_in_a_warning() {
    let env = TestEnv::new();
    run_with(&env, "r1", &all("completed"), "");
    let odd = "experiments/run_été 2";
    env.write(
        &format!("{odd}/run_state.json"),
        "{\"schema_version\": 1, \"run_id\": \"été 2\", \"phases\": {}}",
    );
    // Not a run: no state, config or store.
    std::fs::create_dir_all(env.root().join("experiments/run_not a run")).unwrap();
    let path = env.root().join(odd);
    let quoted = format!("'{}'", path.display());
    for args in [&["list"][..], &["list", "--json"]] {
        let out = env.run(args);
        let shown = env.render_output(&out);
        assert_eq!(out.status.code(), Some(0), "{shown}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{shown}");
        assert!(stderr.starts_with("rk: warning: "), "{shown}");
        assert!(stderr.contains("\"été 2\""), "{shown}");
        assert!(stderr.contains(&format!("rk status {quoted}")), "{shown}");
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("été"),
            "{shown}"
        );
    }
    let shown = env
        .cmd(&["status", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        shown.status.code(),
        Some(0),
        "{}",
        env.render_output(&shown)
    );
}
