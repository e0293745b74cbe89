//! `rk fsck`: check everything the store and the working state promise.
//!
//! Re-hashes every object, checks that HEAD, every snapshot's parent and
//! config, and every log line name intact objects, and that `run_state.json`
//! reads. What a crash may legitimately leave behind (a torn last log line, a
//! log one entry ahead of HEAD, `.tmp-` files, a working state newer than
//! HEAD) is reported as a note, never as corruption.
//!
//! `prune` (`rk fsck --prune`) cleans up what can be cleaned without losing
//! anything: leftover temp files and killed `init`s' temp runs (of writers
//! no longer alive), a corrupt config object rebuilt from the run's config
//! file when that still hashes to it, and other corrupt objects that HEAD
//! does not need moved aside to `.rk/corrupt/` (kept, and from then on
//! reported as notes).

use super::{load, state_path};
use crate::canon::{canonical_bytes, Value as CanonValue};
use crate::project::{RunDir, Settings};
use crate::store::{self, atomic, atomic::TMP_PREFIX, ObjectId, StateLock, Store};
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
    /// HEAD names an intact snapshot (the current state needs no restore).
    pub head_intact: bool,
    /// Leftover temp files (`.tmp-…`) in the run and its store.
    pub temps: Vec<PathBuf>,
    /// Leftover temp runs of killed `rk init`s (`<runs_dir>/.tmp-init-…`)
    /// and originals of moved runs a kill left half-deleted (`.tmp-moved-…`).
    pub init_leftovers: Vec<PathBuf>,
    /// Objects whose bytes do not hash to their name.
    pub corrupt: Vec<ObjectId>,
    /// Objects that a snapshot or the log names but that do not exist (and
    /// were not set aside).
    pub missing: Vec<ObjectId>,
    /// run_state.json cannot be read (a restore, not --prune, repairs it).
    pub working_corrupt: bool,
    /// The object the run's config file rebuilds (its canonical bytes' id),
    /// when the file reads.
    pub config_rebuilds: Option<ObjectId>,
}

/// Where `prune` keeps corrupt objects it moved out of `objects/`.
pub fn corrupt_dir(store: &Store) -> PathBuf {
    store.dir().join("corrupt")
}

/// The pid a temp name carries (`.tmp-<pid>-…`, `.tmp-init-<rid>-<pid>`).
fn temp_pid(name: &str) -> Option<i32> {
    let rest = name.strip_prefix(TMP_PREFIX)?;
    let digits = match rest
        .strip_prefix("init-")
        .or_else(|| rest.strip_prefix("moved-"))
    {
        Some(named) => named.rsplit('-').next()?,
        None => rest.split('-').next()?,
    };
    digits.parse().ok()
}

/// Whether the writer that named a temp is gone (no such process here).
fn writer_gone(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match temp_pid(&name) {
        Some(pid) if pid > 0 => !Path::new(&format!("/proc/{pid}")).exists(),
        _ => true,
    }
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
    symlinks_in_store(&store, &mut r.problems);
    r.config_rebuilds = crate::run_config::current(run, settings)
        .ok()
        .flatten()
        .map(|doc| ObjectId::of(&canonical_bytes(&doc.value)));
    let mut temps = Vec::new();
    temps_in(&run.path, &mut temps);
    temps_in(store.dir(), &mut temps);
    let objects = check_objects(&store, run, settings, &mut r, &mut temps);
    // A damaged object that was set aside is history, not corruption: a
    // note wherever it is named, except by HEAD.
    let mut history_notes = Vec::new();
    r.missing = objects.missing();
    check_snapshot_links(&objects, &mut r, &mut history_notes);
    check_head(&objects, &mut r);
    check_log(&objects, &mut r, &mut history_notes);
    check_working_state(run, settings, &store, &mut r);
    r.notes.extend(history_notes);
    note_temps(run, temps, &mut r);
    note_init_leftovers(run, &mut r);
    r.corrupt = objects.corrupt.into_iter().collect();
    r.head_intact = r.head.as_ref().is_some_and(|h| store.snapshot_intact(h));
    r.last_good = store.last_good_snapshot();
    r
}

/// What the object check learned: which objects hash right, which do not,
/// which were set aside earlier, and each snapshot's parent and config.
struct Objects<'a> {
    store: &'a Store,
    intact: BTreeSet<ObjectId>,
    corrupt: BTreeSet<ObjectId>,
    set_aside: BTreeSet<ObjectId>,
    /// Each intact snapshot's (parent, config).
    snapshots: BTreeMap<ObjectId, (Option<ObjectId>, Option<ObjectId>)>,
}

impl Objects<'_> {
    /// What is wrong with a named object, if anything.
    fn describe(&self, id: &ObjectId) -> Option<String> {
        if self.corrupt.contains(id) {
            Some(format!("{id}, which is corrupt"))
        } else if self.is_set_aside(id) {
            Some(format!(
                "{id}, which was damaged and is recorded in {} (set aside by `rk fsck --prune`)",
                corrupt_dir(self.store).display()
            ))
        } else if !self.intact.contains(id) {
            Some(format!(
                "{id}, which is missing ({})",
                self.store.object_path(id).display()
            ))
        } else {
            None
        }
    }

    /// What is wrong with an object named as a snapshot, if anything.
    fn describe_snapshot(&self, id: &ObjectId) -> Option<String> {
        self.describe(id).or_else(|| {
            (!self.snapshots.contains_key(id)).then(|| format!("{id}, which is not a snapshot"))
        })
    }

    fn is_set_aside(&self, id: &ObjectId) -> bool {
        !self.intact.contains(id) && self.set_aside.contains(id)
    }

    /// Objects a snapshot or the log names that neither exist, nor are
    /// corrupt, nor were set aside.
    fn missing(&self) -> Vec<ObjectId> {
        let mut named: BTreeSet<ObjectId> = BTreeSet::new();
        for (parent, config) in self.snapshots.values() {
            named.extend(parent.iter().chain(config.iter()).cloned());
        }
        if let Ok(entries) = self.store.read_log() {
            for e in entries {
                named.extend(std::iter::once(e.new).chain(e.old));
            }
        }
        named
            .into_iter()
            .filter(|id| {
                !self.intact.contains(id)
                    && !self.corrupt.contains(id)
                    && !self.set_aside.contains(id)
            })
            .collect()
    }
}

/// Re-hash every object; remember snapshots and what they name. Temp files
/// found among the objects are added to `temps`.
fn check_objects<'a>(
    store: &'a Store,
    run: &RunDir,
    settings: &Settings,
    r: &mut FsckReport,
    temps: &mut Vec<PathBuf>,
) -> Objects<'a> {
    let mut intact: BTreeSet<ObjectId> = BTreeSet::new();
    let mut snapshots: BTreeMap<ObjectId, (Option<ObjectId>, Option<ObjectId>)> = BTreeMap::new();
    let mut corrupt: BTreeSet<ObjectId> = BTreeSet::new();
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
                        let repair = if Some(&id) == r.config_rebuilds.as_ref() {
                            format!(
                                "; it is the config object of {}, which still hashes to it: `rk fsck {} --prune` rewrites it from that file",
                                settings.config_file, run.rid
                            )
                        } else {
                            String::new()
                        };
                        corrupt.insert(id.clone());
                        r.problems.push(format!(
                            "corrupt object {}: its bytes do not hash to its name{repair}",
                            path.display()
                        ));
                    }
                }
            }
        }
    }
    r.objects = intact.len();
    let set_aside: BTreeSet<ObjectId> = std::fs::read_dir(corrupt_dir(store))
        .map(|d| {
            d.flatten()
                .filter_map(|e| ObjectId::parse(&e.file_name().to_string_lossy()))
                .collect()
        })
        .unwrap_or_default();
    Objects {
        store,
        intact,
        corrupt,
        set_aside,
        snapshots,
    }
}

/// Every snapshot's parent and config must be intact (a parent must be a
/// snapshot).
fn check_snapshot_links(objects: &Objects, r: &mut FsckReport, history_notes: &mut Vec<String>) {
    for (id, (parent, config)) in &objects.snapshots {
        if let Some(why) = parent.as_ref().and_then(|p| objects.describe_snapshot(p)) {
            let line = format!("snapshot {id} names parent {why}");
            if parent.as_ref().is_some_and(|p| objects.is_set_aside(p)) {
                history_notes.push(line);
            } else {
                r.problems.push(line);
            }
        }
        if let Some(why) = config.as_ref().and_then(|c| objects.describe(c)) {
            let line = format!("snapshot {id} names config {why}");
            if config.as_ref().is_some_and(|c| objects.is_set_aside(c)) {
                history_notes.push(line);
            } else {
                r.problems.push(line);
            }
        }
    }
}

/// HEAD must name an intact snapshot (a set-aside one is still a problem).
fn check_head(objects: &Objects, r: &mut FsckReport) {
    let store = objects.store;
    match store.read_head() {
        Err(e) => r.problems.push(e_line(&e)),
        Ok(None) => {
            if !objects.snapshots.is_empty() {
                r.notes.push(format!(
                    "{} is missing although the store holds snapshots",
                    store.head_path().display()
                ));
            }
        }
        Ok(Some(h)) => {
            if let Some(why) = objects.describe_snapshot(&h) {
                r.problems
                    .push(format!("{} names {why}", store.head_path().display()));
            }
            r.head = Some(h);
        }
    }
}

/// Every log line must parse and name intact snapshots; a torn last line
/// and a log one entry ahead of HEAD are notes.
fn check_log(objects: &Objects, r: &mut FsckReport, history_notes: &mut Vec<String>) {
    let store = objects.store;
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
                    if let Some(why) = objects.describe_snapshot(id) {
                        let line = format!("{}, line {}: names {why}", log_path.display(), i + 1);
                        if objects.is_set_aside(id) {
                            history_notes.push(line);
                        } else {
                            r.problems.push(line);
                        }
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
}

/// `run_state.json` must read; unknown phase statuses and a working state
/// newer than HEAD are notes (the latter only when nothing else is wrong).
fn check_working_state(run: &RunDir, settings: &Settings, store: &Store, r: &mut FsckReport) {
    let state_file = state_path(run, settings);
    match load(run, settings) {
        Err(e) => {
            r.working_corrupt = true;
            r.problems.push(e_line(&e));
        }
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
}

/// Leftover temp files in the run and its store: notes, kept in the report
/// for `prune`.
fn note_temps(run: &RunDir, mut temps: Vec<PathBuf>, r: &mut FsckReport) {
    temps.sort();
    for t in &temps {
        r.notes.push(format!(
            "leftover temp file {} (from an interrupted write; `rk fsck {} --prune` removes it)",
            t.display(),
            run.rid
        ));
    }
    r.temps = temps;
}

/// Temp runs of killed `rk init`s and half-deleted originals of moved runs
/// beside the run, whose writer is gone: notes, kept in the report for
/// `prune`.
fn note_init_leftovers(run: &RunDir, r: &mut FsckReport) {
    if let Some(runs_dir) = run.path.parent() {
        if let Ok(entries) = std::fs::read_dir(runs_dir) {
            let mut inits: Vec<PathBuf> = entries
                .flatten()
                .filter(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.starts_with(&format!("{TMP_PREFIX}init-"))
                        || name.starts_with(&format!("{TMP_PREFIX}moved-"))
                })
                .map(|e| e.path())
                .filter(|p| writer_gone(p))
                .collect();
            inits.sort();
            for p in &inits {
                r.notes.push(format!(
                    "leftover temp run {} (from a killed `rk init`, or the original of a run `rk archive --dest` had already copied; `rk fsck {} --prune` removes it)",
                    p.display(),
                    run.rid
                ));
            }
            r.init_leftovers = inits;
        }
    }
}

/// `rk fsck --prune`: clean up what can be cleaned without losing anything,
/// under the state lock. Returns one line per action taken.
///
/// * temp files and killed inits' temp runs whose writer is gone: removed;
/// * a corrupt object the run's config file rebuilds: rewritten from it;
/// * any other corrupt object except HEAD's snapshot: moved to
///   `.rk/corrupt/<id>` (kept for inspection; fsck then notes it instead of
///   failing). A corrupt HEAD is left for `rk restore`.
pub fn prune(run: &RunDir, settings: &Settings) -> Result<Vec<String>, store::Error> {
    let _lock = StateLock::acquire(&run.path.join(&settings.state_lock))?;
    let store = Store::new(run);
    let mut done = Vec::new();
    // A log with malformed complete lines: keep it aside whole, and rewrite
    // it with the lines that parse (a torn last line is dropped too).
    if store.read_log().is_err() {
        let path = store.log_path();
        let bytes =
            atomic::read_regular(&path, atomic::limit::LOG).map_err(|e| store::io_err(&path, e))?;
        let text = String::from_utf8_lossy(&bytes);
        let kept: String = text
            .split_inclusive('\n')
            .filter(|l| l.ends_with('\n') && store::LogEntry::parse(&l[..l.len() - 1]).is_ok())
            .collect();
        // Never over an earlier damaged log kept aside.
        let backup = atomic::write_aside(
            &path,
            "corrupt",
            &crate::clock::file_stamp(crate::clock::now()),
            &bytes,
        )
        .map_err(|e| store::io_err(&path, e))?;
        atomic::write_atomic(&path, kept.as_bytes(), atomic::FILE_MODE)
            .map_err(|e| store::io_err(&path, e))?;
        done.push(format!(
            "rewrote {} with its {} well-formed lines; the damaged log is kept as {}",
            path.display(),
            kept.lines().count(),
            backup.display()
        ));
    }
    let report = fsck(run, settings);
    for t in &report.temps {
        if writer_gone(t) {
            std::fs::remove_file(t).map_err(|e| store::io_err(t, e))?;
            done.push(format!("removed {}", t.display()));
        }
    }
    for p in &report.init_leftovers {
        std::fs::remove_dir_all(p).map_err(|e| store::io_err(p, e))?;
        done.push(format!("removed {}", p.display()));
    }
    for id in &report.corrupt {
        let path = store.object_path(id);
        if Some(id) == report.config_rebuilds.as_ref() {
            // Read again: the file may have changed since the check.
            let bytes = crate::run_config::current(run, settings)
                .ok()
                .flatten()
                .map(|doc| canonical_bytes(&doc.value))
                .filter(|bytes| ObjectId::of(bytes) == *id);
            match bytes {
                Some(bytes) => {
                    store.put(&bytes)?;
                    done.push(format!(
                        "rebuilt config object {id} from {}",
                        settings.config_file
                    ));
                }
                None => done.push(format!(
                    "left config object {id}: {} changed since the check and no longer rebuilds it; run `rk fsck {} --prune` again",
                    settings.config_file, run.rid
                )),
            }
        } else if Some(id) == report.head.as_ref() {
            done.push(format!(
                "left {} in place: it is HEAD's snapshot; restore a good one first (`rk restore {}`)",
                path.display(),
                run.rid
            ));
        } else {
            let dir = corrupt_dir(&store);
            if !dir.is_dir() {
                atomic::create_dir(&dir).map_err(|e| store::io_err(&dir, e))?;
            }
            let to = dir.join(id.to_string());
            std::fs::rename(&path, &to).map_err(|e| store::io_err(&path, e))?;
            atomic::sync_dir(&dir).map_err(|e| store::io_err(&dir, e))?;
            done.push(format!("moved corrupt object {id} to {}", to.display()));
        }
    }
    // A missing object cannot come back; record that it is known lost, so
    // the history naming it is a note from now on (HEAD excepted).
    for id in &report.missing {
        if Some(id) == report.head.as_ref() {
            continue;
        }
        let dir = corrupt_dir(&store);
        if !dir.is_dir() {
            atomic::create_dir(&dir).map_err(|e| store::io_err(&dir, e))?;
        }
        let to = dir.join(id.to_string());
        atomic::write_atomic(
            &to,
            b"missing from objects/ when `rk fsck --prune` ran\n",
            atomic::FILE_MODE,
        )
        .map_err(|e| store::io_err(&to, e))?;
        done.push(format!("recorded missing object {id} in {}", to.display()));
    }
    Ok(done)
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
