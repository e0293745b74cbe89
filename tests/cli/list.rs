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
