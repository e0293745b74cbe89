//! Give a run a history of N snapshots quickly, for the read-state and
//! status benchmarks (`bench/bench.py`): the same `state::commit` every rk
//! writer uses, in one process instead of N `rk write-state` processes.
//!
//! usage: cargo run --release --example bench_history -- PROJECT_ROOT RID N

#![allow(clippy::result_large_err)] // rk::Error is returned whole, as by every rk writer

use rk::project::Project;
use rk::state::{self, Expect};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        return Err("usage: bench_history PROJECT_ROOT RID N".into());
    }
    let project = Project::open(PathBuf::from(&args[1]))?;
    let run = project.resolve_run(&args[2])?;
    let n: usize = args[3].parse()?;
    state::load(&run, &project.settings)?.ok_or("the run has no state")?;
    for i in 0..n {
        // Each snapshot differs: the checkpoint counts up.
        state::commit(
            &run,
            &project.settings,
            "bench",
            "history",
            &Expect::Any,
            |draft| {
                draft.state.last_checkpoint = Some(serde_json::json!({ "step": i }));
                Ok::<_, state::Error>(())
            },
        )?;
    }
    Ok(())
}
