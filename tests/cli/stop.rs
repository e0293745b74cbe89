//! `rk stop`: the tokens, written atomically and fresh every time, and who holds
//! the run.

use crate::common::{tree, TestEnv, NOW};

fn run() -> TestEnv {
    let env = TestEnv::new();
    env.write("experiments/run_r1/effective_config.yaml", "a: 1\n");
    env
}

#[test]
fn writes_the_token_and_warns_when_nothing_runs() {
    let env = run();
    insta::assert_snapshot!(env.render(&["stop", "r1"]));
    assert_eq!(
        env.read("experiments/run_r1/STOP_REQUESTED"),
        format!("{NOW}\n")
    );
    assert!(!env.root().join("experiments/run_r1/STOP_NOW").exists());
}

#[test]
fn now_writes_both_and_a_second_stop_rewrites_them_fresh() {
    let env = run();
    assert!(env.run(&["stop", "r1"]).status.success());
    let mut all = env.render(&["stop", "r1", "--now"]);
    assert_eq!(env.read("experiments/run_r1/STOP_NOW"), format!("{NOW}\n"));
    // A stop asked for again is a fresh request (the orchestrator ignores a
    // token older than an hour), as stop_run.py writes it every time.
    let out = env
        .cmd(&["stop", "r1", "--now"])
        .env("RK_NOW", "2025-09-04T00:00:00Z")
        .output()
        .unwrap();
    all.push_str(&env.render_output(&out));
    for token in ["STOP_REQUESTED", "STOP_NOW"] {
        assert_eq!(
            env.read(&format!("experiments/run_r1/{token}")),
            "2025-09-04T00:00:00.000000Z\n"
        );
    }
    insta::assert_snapshot!(all);
}

#[test]
fn names_the_holder_of_the_run() {
    let env = run();
    let run_dir = rk::project::RunDir {
        rid: "r1".into(),
        path: env.root().join("experiments/run_r1"),
    };
    let holder = rk::store::Holder {
        pid: Some(4242),
        host: Some("gpu-7".into()),
        started_at: Some("2025-09-03T09:00:00.000000Z".into()),
        command: Some(vec!["python".into(), "-m".into(), "scripts.run_all".into()]),
    };
    let _lock = rk::store::DispatchLock::try_acquire(&run_dir, &holder).unwrap();
    insta::assert_snapshot!(env.render(&["stop", "r1"]));
}

#[test]
fn no_such_run_names_the_closest() {
    let env = run();
    env.write("experiments/run_r12/effective_config.yaml", "a: 1\n");
    let before = tree(env.root());
    insta::assert_snapshot!(env.render(&["stop", "r2"]));
    assert_eq!(before, tree(env.root()));
}
