use crate::cli::{stdout, warn, Context, RunArg};
use crate::error::{Error, Exit};
use crate::ops::note;
use std::io::Write;

/// Record where work stopped and what comes next.
///
/// The text goes into the latest session of the run (`stopped_at`), with
/// --resume-file naming a file that says how to pick up (a plan, a notebook);
/// a run that has no session yet gets one for the note. `rk status` shows it,
/// and `rk log RUN --sessions` lists every session with its notes, including
/// those older than rk.yaml's sessions_keep.
///
/// Exit status: 0 recorded; 2 no such run, or a run without a state.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: RunArg,

    /// Where work stopped and what comes next.
    #[arg(value_name = "TEXT")]
    text: String,

    /// A file that says how to resume the work.
    #[arg(long, value_name = "PATH")]
    resume_file: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let (project, run) = ctx.run(&args.run)?;
    let noted = note::note(&project, &run, &args.text, args.resume_file.as_deref())?;
    for w in &noted.warnings {
        warn(ctx.color, w);
    }
    let mut out = stdout();
    let which = if noted.new_session {
        "a new session"
    } else {
        "the session"
    };
    writeln!(out, "noted on {which} started {}", noted.session_started_at)?;
    out.flush()?;
    Ok(Exit::Success)
}
