use crate::cli::Context;
use crate::dispatch::StepRange;
use crate::error::{Error, Exit};
use crate::ops::demo::orchestrator::{self, Job};
use crate::project::Project;
use std::path::PathBuf;
use std::time::Duration;

/// The demo project's simulated orchestrator (hidden). It takes the Python
/// tool set's arguments, walks the phases, writes trial files and
/// run_state.json under .state.lock, and honours STOP_REQUESTED.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run directory.
    #[arg(long = "run-dir", value_name = "DIR")]
    run_dir: PathBuf,
    /// The config (accepted for compatibility; the run dir's config is read).
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long = "run_id")]
    run_id: String,
    /// Accepted for compatibility.
    #[arg(long)]
    resume: bool,
    #[arg(long = "only_step", conflicts_with_all = ["from_step", "to_step"])]
    only_step: Option<String>,
    #[arg(long = "from_step")]
    from_step: Option<String>,
    #[arg(long = "to_step")]
    to_step: Option<String>,
    /// Pause per trial and phase, in milliseconds.
    #[arg(long = "delay-ms", default_value_t = 40)]
    delay_ms: u64,
    /// Fail when this phase is reached.
    #[arg(long = "fail-at")]
    fail_at: Option<String>,
}

pub fn run(args: Args, _ctx: &Context) -> Result<Exit, Error> {
    let project_root = args
        .run_dir
        .ancestors()
        .nth(2)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let project = Project::open(project_root)?;
    let steps = match (args.only_step, args.from_step, args.to_step) {
        (Some(only), _, _) => Some(StepRange::Only(only)),
        (None, None, None) => None,
        (None, from, to) => Some(StepRange::Range { from, to }),
    };
    let job = Job {
        run_dir: args.run_dir,
        run_id: args.run_id,
        steps,
        delay: Duration::from_millis(args.delay_ms),
        fail_at: args.fail_at,
    };
    let code = orchestrator::run(&job, &project.settings, &mut std::io::stderr())
        .map_err(|e| Error::usage(format!("orchestrator: {e}"), None))?;
    Ok(if code == 0 {
        Exit::Success
    } else {
        Exit::Child(code)
    })
}
