use crate::cli::{stdout, Context, RunArg};
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
/// Reads only: takes no lock, and works while the orchestrator runs (except
/// --with-id, which holds .state.lock for the moment it reads). The notes,
/// gates, sessions and drift records rk wrote are shown even when an
/// orchestrator's rewrite of the file dropped them; rk's next write puts them
/// back.
///
/// A compare-and-swap loop for a script:
///
///   out=$(rk read-state RUN --with-id)
///   id=$(jq -r .id <<<"$out")
///   jq '.state | .counter += 1' <<<"$out" | rk write-state RUN --expect "$id"
///   # exit 4: someone wrote in between; read again and retry
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
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    run: RunArg,

    /// Print the state recorded in this snapshot: an id (at least 4 hex
    /// digits, unique), HEAD, or HEAD~N (N snapshots before HEAD).
    #[arg(long, value_name = "ID")]
    at: Option<String>,

    /// Print `{"format_version":1,"id":ID,"state":{…}}`: the state and the
    /// snapshot that records it, the id to give `rk write-state --expect`
    /// for a compare-and-swap. To give one, it takes .state.lock for a
    /// moment: a version someone (the orchestrator) wrote since rk last
    /// recorded one is recorded first as an `observed` snapshot, and the
    /// state printed is the one read under the lock.
    #[arg(long)]
    with_id: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let (project, run) = ctx.run(&args.run)?;
    let settings = &project.settings;
    let id;
    let text = match &args.at {
        None => {
            let found = if args.with_id {
                state::observe(&run, settings)?
            } else {
                state::load(&run, settings)?.map(|s| (None, s))
            };
            match found {
                Some((recorded, s)) => {
                    id = recorded;
                    s.to_pretty(&settings.phases)
                }
                None => return Err(state::Error::no_state(&run, settings).into()),
            }
        }
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
    let mut out = stdout();
    if args.with_id {
        let state: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| Error::usage(e, None))?;
        let doc = state::StateWithIdDocument::new(id.as_ref(), &state);
        crate::output::write_json_pretty(&mut out, &doc)?;
    } else {
        out.write_all(text.as_bytes())?;
    }
    out.flush()?;
    Ok(Exit::Success)
}
