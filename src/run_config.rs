//! A run's two configs: the one on disk now (`<run>/effective_config.yaml`)
//! and the one its state records (the config object HEAD's snapshot names).
//!
//! Every snapshot carries the id of the config object recorded with the
//! state's `config_hash` (at `init`, at `migrate`, or at the last forced
//! drift), inherited from its parent otherwise; so the recorded config is one
//! object read away, however long the history.

use crate::canon::{self, Document, Value};
use crate::exit::{Diagnostic, Exit};
use crate::project::{RunDir, Settings};
use crate::store::{self, ObjectId, Store};
use std::path::PathBuf;

/// Why the recorded config could not be read: the store failed, or the
/// object it holds is not a config.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Canon(#[from] canon::Error),
}

impl Diagnostic for Error {
    fn exit(&self) -> Exit {
        match self {
            Error::Store(e) => e.exit(),
            Error::Canon(e) => e.exit(),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Error::Store(e) => e.hint(),
            Error::Canon(e) => e.hint(),
        }
    }
}

/// The path of the run's config file.
pub fn current_path(run: &RunDir, settings: &Settings) -> PathBuf {
    run.path.join(&settings.config_file)
}

/// The run's current config, or `None` when the file does not exist.
pub fn current(run: &RunDir, settings: &Settings) -> Result<Option<Document>, canon::Error> {
    let path = current_path(run, settings);
    if !path.exists() && path.symlink_metadata().is_err() {
        return Ok(None);
    }
    canon::load_file(&path, None).map(Some)
}

/// The config the run's state records: the object HEAD's snapshot names.
/// `None` when the run has no snapshot, or its snapshots name no config (a
/// legacy run, or states written only through `write-state`).
pub fn recorded(run: &RunDir) -> Result<Option<(ObjectId, Value)>, Error> {
    let store = Store::new(run);
    let Some(head) = store.read_head()? else {
        return Ok(None);
    };
    let snapshot = store.read_snapshot(&head)?;
    let Some(config) = snapshot.config else {
        return Ok(None);
    };
    Ok(Some((config.clone(), config_object(&store, &config)?)))
}

/// The value of a config object.
pub fn config_object(store: &Store, id: &ObjectId) -> Result<Value, Error> {
    let bytes = store.get(id)?;
    let doc = canon::load(
        &bytes,
        Some(canon::Format::Json),
        &store.object_path(id).display().to_string(),
    )?;
    Ok(doc.value)
}
