//! An orchestrator's rewrite of its own config, adopted when the session that
//! dispatched it ends.
//!
//! The real orchestrator rewrites `effective_config.yaml` at every start (it
//! sets the run's own paths and normalises the file). That is not drift:
//! drift is a change made outside a dispatch. A change whose file time falls
//! between the session's start and its end is adopted by the command that
//! closes the session: the new config is stored as an object, its hash is
//! recorded under the run's own scheme, and a note and the session say the
//! orchestrator rewrote it and which keys changed. No drift record is
//! written. A change made after the session ended is drift as always.

use crate::canon::{self, Scheme, Value};
use crate::drift;
use crate::project::{RunDir, Settings};
use crate::run_config;
use crate::state::{Note, RunState, Session};
use crate::store::{ObjectId, Store};
use serde_json::json;
use std::time::SystemTime;

/// A rewrite found at the end of a session, ready to be applied under the
/// lock.
#[derive(Clone, Debug)]
pub struct Rewrite {
    pub hash: String,
    pub scheme: Scheme,
    /// The stored config object.
    pub object: ObjectId,
    /// The JSON Pointers that changed.
    pub keys: Vec<String>,
}

/// Did the run's config file change during the session that began at
/// `began` (and ended now), from the value `before`? `Ok(None)`: no
/// rewrite to adopt (unchanged, or changed before the session began). An
/// error says why a rewrite could not be adopted (the caller warns; it will
/// then show as drift).
pub fn find(
    run: &RunDir,
    settings: &Settings,
    scheme: Scheme,
    before: &Value,
    began: SystemTime,
) -> Result<Option<Rewrite>, crate::Error> {
    let path = run_config::current_path(run, settings);
    let Ok(modified) = std::fs::metadata(&path).and_then(|m| m.modified()) else {
        return Ok(None);
    };
    // Coarse file-system clocks can stamp a write a few milliseconds early.
    let slack = std::time::Duration::from_millis(50);
    if modified + slack < began {
        return Ok(None);
    }
    let Some(doc) = run_config::current(run, settings)? else {
        return Ok(None);
    };
    if canon::canonical_bytes(&doc.value) == canon::canonical_bytes(before) {
        return Ok(None);
    }
    let hash = drift::hash_to_record(&doc, &path, scheme, &settings.hash_ignore)?;
    let object = Store::new(run).put_value(&doc.value)?;
    let keys = canon::changed_pointers(before, &doc.value)
        .iter()
        .map(|p| p.to_string())
        .collect();
    Ok(Some(Rewrite {
        hash,
        scheme,
        object,
        keys,
    }))
}

impl Rewrite {
    /// One line for people.
    pub fn describe(&self, config_file: &str) -> String {
        format!(
            "the orchestrator rewrote {config_file} during the session (changed {}); adopted, config_hash {} ({})",
            if self.keys.is_empty() {
                "no key, only its spelling".to_string()
            } else {
                self.keys.join(", ")
            },
            &self.hash[..self.hash.len().min(12)],
            self.scheme
        )
    }

    /// Record the adoption in the state read under the lock: the hash, a
    /// note, and the session's `config_rewritten`.
    pub fn apply(&self, state: &mut RunState, session: &Session, settings: &Settings, now: &str) {
        state.config_hash = Some(Some(self.hash.clone()));
        state.config_hash_scheme = Some(self.scheme.name().into());
        if state.config_path.is_none() {
            state.config_path = Some(settings.config_file.clone());
        }
        state.notes.get_or_insert_with(Vec::new).push(Note {
            created_by: Some("rk resume".into()),
            created_at: Some(now.to_string()),
            message: Some(self.describe(&settings.config_file)),
            ..Note::default()
        });
        if let Some(entry) = state
            .sessions
            .iter_mut()
            .flatten()
            .find(|s| crate::state::records::same_session(s, session))
        {
            entry.extra.insert(
                "config_rewritten".into(),
                json!({"keys": self.keys, "config_hash": self.hash, "scheme": self.scheme.name()}),
            );
        }
    }
}
