//! `rk fsck`: check everything the store and the working state promise.
//!
//! Re-hashes every object, checks that HEAD, every snapshot's parent and
//! config, and every log line name intact objects, and that `run_state.json`
//! reads. What a crash may legitimately leave behind (a torn last log line, a
//! log one entry ahead of HEAD, `.tmp-` files, a working state newer than
//! HEAD) is reported as a note, never as corruption.

use super::{load, state_path};
use crate::canon::{canonical_bytes, Value as CanonValue};
use crate::project::{RunDir, Settings};
use crate::store::{atomic::TMP_PREFIX, ObjectId, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What fsck found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FsckReport {
    /// Intact objects.
    pub objects: usize,
    pub head: Option<ObjectId>,
    pub log_entries: usize,
    /// Corruption: each names a path and what is wrong.
    pub problems: Vec<String>,
    /// Harmless leftovers of interrupted writes, and other observations.
    pub notes: Vec<String>,
    /// The newest snapshot that reads back intact.
    pub last_good: Option<ObjectId>,
}

fn temps_in(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                out.push(e.path());
            }
        }
    }
}

/// Check a run's store and working state.
pub fn fsck(run: &RunDir, settings: &Settings) -> FsckReport {
    let store = Store::new(run);
    let mut r = FsckReport::default();

    // Objects: re-hash each; remember snapshots and what they name.
    let mut intact: BTreeSet<ObjectId> = BTreeSet::new();
    let mut snapshots: BTreeMap<ObjectId, (Option<ObjectId>, Option<ObjectId>)> = BTreeMap::new();
    let mut corrupt: BTreeSet<ObjectId> = BTreeSet::new();
    symlinks_in_store(&store, &mut r.problems);
    let mut temps = Vec::new();
    temps_in(&run.path, &mut temps);
    temps_in(store.dir(), &mut temps);
    match store.list_objects() {
        Err(e) => r.problems.push(e.to_string()),
        Ok((objects, object_temps)) => {
            temps.extend(object_temps);
            for path in objects {
                let name = path
                    .parent()
                    .and_then(|d| d.file_name())
                    .map(|d| d.to_string_lossy().into_owned())
                    .unwrap_or_default()
                    + &path
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default();
                let Some(id) = ObjectId::parse(&name) else {
                    r.notes.push(format!(
                        "{} is not an object name; rk ignores it",
                        path.display()
                    ));
                    continue;
                };
                match store.get(&id) {
                    Ok(bytes) => {
                        intact.insert(id.clone());
                        let value: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
                        let is_snapshot = value
                            .as_ref()
                            .and_then(|v| v.get("kind"))
                            .and_then(|k| k.as_str())
                            == Some("snapshot");
                        if is_snapshot {
                            match store.read_snapshot(&id) {
                                Ok(s) => {
                                    snapshots.insert(id, (s.parent, s.config));
                                }
                                Err(e) => r.problems.push(e_line(&e)),
                            }
                        }
                    }
                    Err(_) => {
                        corrupt.insert(id.clone());
                        r.problems.push(format!(
                            "corrupt object {}: its bytes do not hash to its name",
                            path.display()
                        ));
                    }
                }
            }
        }
    }
    r.objects = intact.len();

    let describe = |id: &ObjectId| -> Option<String> {
        if corrupt.contains(id) {
            Some(format!("{id}, which is corrupt"))
        } else if !intact.contains(id) {
            Some(format!(
                "{id}, which is missing ({})",
                store.object_path(id).display()
            ))
        } else {
            None
        }
    };
    let describe_snapshot = |id: &ObjectId| -> Option<String> {
        describe(id).or_else(|| {
            (!snapshots.contains_key(id)).then(|| format!("{id}, which is not a snapshot"))
        })
    };

    for (id, (parent, config)) in &snapshots {
        if let Some(why) = parent.as_ref().and_then(&describe_snapshot) {
            r.problems.push(format!("snapshot {id} names parent {why}"));
        }
        if let Some(why) = config.as_ref().and_then(&describe) {
            r.problems.push(format!("snapshot {id} names config {why}"));
        }
    }

    // HEAD.
    match store.read_head() {
        Err(e) => r.problems.push(e_line(&e)),
        Ok(None) => {
            if !snapshots.is_empty() {
                r.notes.push(format!(
                    "{} is missing although the store holds snapshots",
                    store.head_path().display()
                ));
            }
        }
        Ok(Some(h)) => {
            if let Some(why) = describe_snapshot(&h) {
                r.problems
                    .push(format!("{} names {why}", store.head_path().display()));
            }
            r.head = Some(h);
        }
    }

    // The log.
    let log_path = store.log_path();
    if let Ok(bytes) =
        crate::store::atomic::read_regular(&log_path, crate::store::atomic::limit::LOG)
    {
        if !bytes.is_empty() && bytes.last() != Some(&b'\n') {
            r.notes.push(format!(
                "{}: torn last line (an interrupted append); ignored, and cut off by the next write",
                log_path.display()
            ));
        }
    }
    match store.read_log() {
        Err(e) => r.problems.push(e_line(&e)),
        Ok(entries) => {
            r.log_entries = entries.len();
            for (i, e) in entries.iter().enumerate() {
                for id in std::iter::once(&e.new).chain(e.old.as_ref()) {
                    if let Some(why) = describe_snapshot(id) {
                        r.problems.push(format!(
                            "{}, line {}: names {why}",
                            log_path.display(),
                            i + 1
                        ));
                    }
                }
            }
            if let (Some(last), Some(head)) = (entries.last(), &r.head) {
                if &last.new != head {
                    r.notes.push(format!(
                        "the last log entry ({}) is not HEAD ({head}): a write was interrupted before it moved HEAD",
                        last.new
                    ));
                }
            }
        }
    }

    // The working state.
    let state_file = state_path(run, settings);
    match load(run, settings) {
        Err(e) => r.problems.push(e_line(&e)),
        Ok(None) => r
            .notes
            .push(format!("{} does not exist", state_file.display())),
        Ok(Some(state)) => {
            for (name, phase) in &state.phases {
                if let super::PhaseStatus::Other(status) = &phase.status {
                    r.notes.push(format!(
                        "phase {name} in {} has the unknown status {status:?}; rk shows it as is and counts it as not completed (docs/ORCHESTRATORS.md#statuses)",
                        state_file.display()
                    ));
                }
            }
            let head_state = r
                .head
                .as_ref()
                .and_then(|h| store.read_snapshot(h).ok())
                .map(|s| canonical_bytes(&CanonValue::from(&s.state)));
            let working = canonical_bytes(&CanonValue::from(&state.to_json(&settings.phases)));
            let head_unreadable = r.head.is_some() && head_state.is_none();
            if !head_unreadable && head_state.as_ref() != Some(&working) && r.problems.is_empty() {
                r.notes.push(format!(
                    "{} differs from HEAD (written since rk last recorded it); the next rk write records it as `observed`",
                    state_file.display()
                ));
            }
        }
    }

    temps.sort();
    for t in temps {
        r.notes.push(format!(
            "leftover temp file {} (from an interrupted write; safe to delete)",
            t.display()
        ));
    }
    r.last_good = store.last_good_snapshot();
    r
}

/// The store must live inside the run: `.rk`, `.rk/objects`, its fan-out
/// directories, HEAD and the log are never symlinks (rk refuses to write
/// through one, and what it points at is outside rk's control).
fn symlinks_in_store(store: &Store, problems: &mut Vec<String>) {
    let mut paths = vec![
        store.dir().to_path_buf(),
        store.objects_dir(),
        store.head_path(),
        store.log_path(),
    ];
    if let Ok(entries) = std::fs::read_dir(store.objects_dir()) {
        let mut fan: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        fan.sort();
        paths.extend(fan);
    }
    for p in paths {
        if let Ok(meta) = std::fs::symlink_metadata(&p) {
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&p)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                problems.push(format!(
                    "{} is a symlink (to {target}); the store must be inside the run and rk never writes through a symlink: replace it with a real directory or file holding a copy",
                    p.display()
                ));
            }
        }
    }
}

fn e_line(e: &dyn std::error::Error) -> String {
    e.to_string()
}
