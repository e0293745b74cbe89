use crate::cli::{stdout, Context};
use crate::error::{Error, Exit};
use crate::state::{self, RunState};
use crate::store::Store;
use std::io::Write;

/// Print the state of a run as JSON.
///
/// Without --at, prints run_state.json as rk would write it: pretty (2
/// spaces, trailing newline), known fields in a fixed order, phases in the
/// project's pipeline order, every unknown field kept. With --at, prints the
/// state recorded in a snapshot of the run's store (`rk log RUN` lists them),
/// so `rk read-state RUN --at ID | rk write-state RUN` brings an old state
/// back (recorded as a new snapshot; history is never rewritten).
///
/// Reads only: takes no lock, and works while the orchestrator runs. The one
/// exception is --with-id without --at: it reads the state and its id under
/// `.state.lock` (held only for the read), so both are one version even while
/// other writers work; without the lock a write landing between the two
/// reads would pair an old state with a newer id, and a compare-and-swap on
/// that pair would silently undo the write.
///
/// Exit status: 0 printed; 2 no such run, no state file, or an unknown
/// snapshot id; 5 the state file or the snapshot is corrupt (the message names
/// the path and the last good snapshot, and the hint the command that
/// recovers it).
///
/// Compatibility: the output is the run_state.json version 1 object. Fields
/// may be added in later versions; none is renamed or removed without a new
/// `schema_version`. Whitespace and field order are not part of the contract;
/// parse it as JSON.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run: a run id, or the path of a run directory.
    #[arg(value_name = "RUN")]
    run: String,

    /// Print the state recorded in this snapshot: an id (at least 4 hex
    /// digits, unique), HEAD, or HEAD~N (N snapshots before HEAD).
    #[arg(long, value_name = "ID")]
    at: Option<String>,

    /// Print `{"format_version":1,"id":ID,"state":{…}}`: the state and the
    /// snapshot that records it, the id to give `rk write-state --expect`
    /// for a compare-and-swap. `id` is null when someone (the orchestrator)
    /// wrote run_state.json since rk last recorded it; a write with any
    /// --expect then conflicts once and records that version, and the next
    /// read has its id.
    #[arg(long)]
    with_id: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let project = ctx.project()?;
    let run = project.resolve_run(&args.run)?;
    let settings = &project.settings;
    let id;
    let _lock = match (&args.at, args.with_id) {
        (None, true) => Some(crate::store::StateLock::acquire(
            &run.path.join(&settings.state_lock),
        )?),
        _ => None,
    };
    let text = match &args.at {
        None => match state::load(&run, settings)? {
            Some(s) => {
                id = state::recorded_id(&run, settings);
                s.to_pretty(&settings.phases)
            }
            None => {
                return Err(state::Error::NoState {
                    path: state::state_path(&run, settings).display().to_string(),
                    rid: run.rid.clone(),
                }
                .into())
            }
        },
        Some(at) => {
            let snapshot = Store::new(&run).resolve_snapshot(at)?;
            id = Some(snapshot.id.clone());
            match RunState::from_json(snapshot.state.clone()) {
                Ok(s) => s.to_pretty(&settings.phases),
                Err(_) => {
                    let mut t = serde_json::to_string_pretty(&snapshot.state)
                        .map_err(|e| Error::usage(e, None))?;
                    t.push('\n');
                    t
                }
            }
        }
    };
    let text = if args.with_id {
        let state: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| Error::usage(e, None))?;
        let mut t = serde_json::to_string_pretty(&serde_json::json!({
            "format_version": 1,
            "id": id.map(|i| i.to_string()),
            "state": state,
        }))
        .map_err(|e| Error::usage(e, None))?;
        t.push('\n');
        t
    } else {
        text
    };
    let mut out = stdout();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(Exit::Success)
}
