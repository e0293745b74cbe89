use crate::cli::{stdout, warn, Context};
use crate::error::{Error, Exit};
use crate::ops::init::{self, Request};
use crate::project::{self, Project};
use std::io::Write;
use std::path::PathBuf;

/// Create a run: its directory, a copy of its config, and its first state.
///
/// RUN is a run id (never a path): the run is created at
/// `<runs_dir>/<run_dir_prefix>RUN` (experiments/run_RUN by default), and
/// runs_dir is created when missing. Outside any project (no rk.yaml and no
/// experiments/ up from the current directory), the current directory becomes
/// the project root. A run that exists already is refused (exit 2).
///
/// The config file's bytes are copied unchanged to effective_config.yaml
/// (rk.yaml `config_file`). It must parse (YAML, or JSON for a .json name)
/// and mean the same when read back under that name; otherwise exit 2 and
/// nothing is created. The first state has every phase not_started,
/// `migrated: false`, `config_hash` of the config under rk.yaml `hash.scheme`
/// (default pyyaml-sorted, the hash the Python tool set verifies; rk-c14n-v1
/// after rk.yaml `hash.ignore`) with `config_hash_scheme` and `config_path`.
/// Where rk cannot be sure of PyYAML's bytes for the config (a YAML
/// timestamp, a non-string key, …) it asks python3 with PyYAML (RK_PYTHON
/// names another interpreter); without them it refuses (exit 2) naming the
/// value, rather than record a hash the Python tools would read as drift.
/// And,
/// when the project is in a git repository, `code_version: {commit, dirty}`
/// (a git that cannot be run is a warning, never a failure). The state is
/// recorded as the run's first snapshot (op `init`) together with the config
/// object, so `rk diff-config RUN@recorded RUN` works from the start.
///
/// The run appears whole or not at all: it is built in a temp directory
/// beside the runs and renamed into place without replacing anything.
///
/// --phases a,b,c gives this run its own phase list (names non-empty, without
/// spaces or '/', unique), recorded in its state; rk.yaml `phases` stays the
/// default for other runs.
///
/// Exit status: 0 created; 2 a bad or existing run id, a path operand, a
/// missing or malformed config, or bad --phases.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The id of the new run.
    #[arg(value_name = "RUN")]
    run: String,

    /// The config file to start the run with.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,

    /// The run's phases, comma-separated (default: rk.yaml `phases`).
    #[arg(long, value_name = "A,B,C", value_delimiter = ',')]
    phases: Option<Vec<String>>,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let project = match ctx.project() {
        Ok(p) => p,
        Err(Error::Project(project::Error::NotFound { .. })) => {
            let cwd = std::env::current_dir().map_err(|e| {
                Error::usage(format!("cannot read the current directory: {e}"), None)
            })?;
            Project::open(cwd)?
        }
        Err(e) => return Err(e),
    };
    let created = init::init(
        &project,
        &args.run,
        &Request {
            config: args.config,
            phases: args.phases,
        },
    )?;
    let shown = created
        .run
        .path
        .strip_prefix(&project.root)
        .unwrap_or(&created.run.path)
        .display()
        .to_string();
    let mut out = stdout();
    writeln!(out, "initialized run {} in {shown}", created.run.rid)?;
    writeln!(
        out,
        "config: {} {} {}",
        project.settings.config_file, project.settings.hash_scheme, created.config_hash
    )?;
    writeln!(out, "phases: {}", created.phases.join(", "))?;
    if let Some(v) = &created.code_version {
        writeln!(
            out,
            "code: {}{}",
            v.commit,
            if v.dirty { " (dirty)" } else { "" }
        )?;
    }
    writeln!(out, "snapshot: {}", created.snapshot)?;
    writeln!(out, "next: rk resume {}", created.run.rid)?;
    out.flush()?;
    for w in &created.warnings {
        warn(ctx.color, w);
    }
    Ok(Exit::Success)
}
