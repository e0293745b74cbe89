//! `rk restore`: bring a run's state back from its store when
//! `run_state.json` is missing or corrupt (docs/FORMATS.md#rk-fields).
//!
//! It is the one-command form of `rk read-state RUN --at ID | rk write-state
//! RUN`, through the same write path: a corrupt file is kept aside as
//! `run_state.json.corrupt.<ts>`, a readable one is first recorded as an
//! `observed` snapshot, so restoring never loses anything.

use crate::error::{Error, Exit};
use crate::ops::commit::commit;
use crate::project::{Project, RunDir};
use crate::state::{Expect, RunState};
use crate::store::{ObjectId, Store};

/// What was restored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restored {
    /// The snapshot whose state was written back.
    pub from: ObjectId,
    /// The new snapshot (HEAD) recording the restore.
    pub snapshot: ObjectId,
    /// What the write path had to say (a corrupt file kept aside, …).
    pub warnings: Vec<String>,
}

/// Write the state of snapshot `at` (default: the newest intact snapshot,
/// normally HEAD) back to `run_state.json`.
pub fn restore(project: &Project, run: &RunDir, at: Option<&str>) -> Result<Restored, Error> {
    let settings = &project.settings;
    let store = Store::new(run);
    let snapshot = match at {
        Some(given) => store.resolve_snapshot(given)?,
        None => {
            let Some(id) = store.last_good_snapshot() else {
                return Err(Error::refusal(
                    Exit::Corrupt,
                    format!("run {} has no snapshot to restore from", run.rid),
                    Some(format!(
                        "rebuild a state from the files on disk instead: rk migrate {} (move a damaged {} aside first)",
                        run.rid, settings.state_file
                    )),
                ));
            };
            store.read_snapshot(&id)?
        }
    };
    let state = RunState::from_json(snapshot.state.clone()).map_err(|problem| {
        Error::refusal(
            Exit::Corrupt,
            format!(
                "snapshot {} holds a state rk cannot read: {problem}",
                snapshot.id
            ),
            Some(format!(
                "choose another snapshot from `rk log {}` with --at",
                run.rid
            )),
        )
    })?;
    let (committed, ()) = commit(
        project,
        run,
        "restore",
        &format!("restored from {}", snapshot.id),
        &Expect::Any,
        |draft| {
            draft.state = state;
            Ok(())
        },
    )?;
    Ok(Restored {
        from: snapshot.id,
        snapshot: committed.id,
        warnings: committed.warnings,
    })
}
