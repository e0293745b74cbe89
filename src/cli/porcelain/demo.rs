use crate::cli::{stdout, Context};
use crate::error::{Error, Exit};
use crate::ops::demo;
use std::io::Write;
use std::path::PathBuf;

/// Make a self-contained sample project and walk through it.
///
/// Creates DIR (default ./rk-demo) as a project root: an rk.yaml whose dispatch
/// command is rk's built-in simulated orchestrator, and experiments/ with four
/// runs: `stopped` (stopped mid-way by a STOP_REQUESTED), `legacy` (made by the
/// old Python tool set: no run_state.json, one corrupt manifest), `drifted`
/// (its config edited after it started) and `done` (completed). Then it runs,
/// as you would type them: list, status, the exact command a resume would
/// run, a drift refusal with its diff, diff-config and a migration plan, and
/// ends with what to type next. It leaves every run as described, so the
/// README's tour (resume, force, gate, migrate, archive…) works step by step
/// right after it.
///
/// Needs nothing but the rk binary. A DIR made by an earlier `rk demo` (it
/// holds a .rk-demo marker) is replaced; any other existing DIR is refused
/// (exit 2).
///
/// Exit status: 0 made and walked through; 2 DIR exists and was not made by
/// rk demo, or cannot be written.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to make the sample project.
    #[arg(value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub fn run(args: Args, _ctx: &Context) -> Result<Exit, Error> {
    let dir = args.dir.unwrap_or_else(demo::default_dir);
    let exe = std::env::current_exe()
        .map_err(|e| Error::usage(format!("cannot find the rk binary: {e}"), None))?;
    demo::create(&dir, &exe)?;
    let mut out = stdout();
    writeln!(out, "rk demo: made a sample project in {}", dir.display())?;
    for (rid, what) in demo::RUNS {
        writeln!(out, "  experiments/run_{rid:<8} {what}")?;
    }
    demo::walk(&dir, &exe, &mut out)?;
    write!(out, "{}", demo::next_steps(&dir))?;
    out.flush()?;
    Ok(Exit::Success)
}
