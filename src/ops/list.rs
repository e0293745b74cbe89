//! `rk list` (rk-list(1)): one row per run of the project.
//!
//! The one idea: list must stay fast and harmless on a project with thousands
//! of runs, some of them running. So it reads each state file exactly once,
//! parses only the fields a row shows (a borrowed serde struct that skips the
//! rest with `IgnoredAny`, never the full `RunState`), touches neither the
//! store nor the trials, takes no lock (the dispatch lock is only probed,
//! shared and non-blocking), and spreads the runs over the cores. The overall
//! status comes from the same [`state::from_phases`] that `rk status` uses.
//!
//! Decision: list checks the types of the fields it reads (and that
//! `schema_version`, when present, is 1); a wrong type in a field it does not
//! show is only caught by `rk status`, which reads the whole file.

use crate::clock::Timestamp;
use crate::project::{Project, RunDir, Settings, Via};
use crate::slurm::{self, JobId, Lookup};
use crate::state::{self, OverallStatus, PhaseStatus};
use crate::store::DispatchLock;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// How rows are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SortBy {
    /// By run id.
    #[default]
    Name,
    /// Most recently updated first (ties by run id).
    Updated,
}

/// The first phase of the pipeline that is not completed (`phase` of
/// `rk list --json`: `{name, index, count}`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CurrentPhase {
    pub name: String,
    /// 1-based position in the pipeline.
    pub index: usize,
    /// Number of phases in the pipeline.
    pub count: usize,
}

/// Where a row's last update comes from (`last_update_source` of `rk list
/// --json`: `"phase"` or `"mtime"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdatedFrom {
    /// The latest `updated_at` of a phase.
    Phase,
    /// The state file's modification time (no phase has `updated_at`).
    Mtime,
}

/// One run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub rid: String,
    pub status: OverallStatus,
    /// `None` when every phase is completed, or there is no readable state.
    pub phase: Option<CurrentPhase>,
    pub migrated: bool,
    pub config_hash: Option<String>,
    /// `None` means the legacy scheme (`config_hash_scheme` absent).
    pub config_hash_scheme: Option<String>,
    pub drift_records: usize,
    pub last_update: Option<Timestamp>,
    pub updated_from: Option<UpdatedFrom>,
    /// Why the state is corrupt, for a `corrupt` row.
    pub problem: Option<String>,
    /// The Slurm job of the run's open session.
    pub job: Option<JobId>,
}

impl Row {
    /// The hash as the table shows it: 12 hex, `~` suffix for the legacy scheme.
    pub fn short_hash(&self) -> String {
        match &self.config_hash {
            None => "-".into(),
            Some(h) => {
                let short = crate::canon::short_hash(h);
                if self.config_hash_scheme.is_none() {
                    format!("{short}~")
                } else {
                    short.to_string()
                }
            }
        }
    }
}

/// Every run of the project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    pub rows: Vec<Row>,
    /// Runs that are no row: their directory's name holds no run id rk
    /// accepts. Each path, and why its id is refused.
    pub without_an_id: Vec<(PathBuf, String)>,
}

/// `rk list --json` (format_version 1): the document rk-list(1) describes
/// under "With --json" (docs/FORMATS.md#plumbing-output), borrowed from a
/// [`Listing`]. The fields are in output order.
#[derive(Debug, serde::Serialize)]
pub struct ListDocument<'a> {
    format_version: u32,
    runs: Vec<RowDocument<'a>>,
}

/// One of `runs` in `rk list --json`.
#[derive(Debug, serde::Serialize)]
struct RowDocument<'a> {
    run: &'a str,
    status: OverallStatus,
    phase: Option<&'a CurrentPhase>,
    migrated: bool,
    config_hash: Option<&'a str>,
    /// `null` is the legacy scheme.
    config_hash_scheme: Option<&'a str>,
    drift_records: usize,
    /// RFC 3339.
    last_update: Option<String>,
    last_update_source: Option<UpdatedFrom>,
    problem: Option<&'a str>,
}

impl<'a> From<&'a Listing> for ListDocument<'a> {
    fn from(listing: &'a Listing) -> Self {
        ListDocument {
            format_version: 1,
            runs: listing
                .rows
                .iter()
                .map(|row| RowDocument {
                    run: &row.rid,
                    status: row.status,
                    phase: row.phase.as_ref(),
                    migrated: row.migrated,
                    config_hash: row.config_hash.as_deref(),
                    config_hash_scheme: row.config_hash_scheme.as_deref(),
                    drift_records: row.drift_records,
                    last_update: row.last_update.map(|t| t.to_string()),
                    last_update_source: row.updated_from,
                    problem: row.problem.as_deref(),
                })
                .collect(),
        }
    }
}

/// Runs below this count are read on the calling thread.
const PARALLEL_FROM: usize = 32;

/// List every run under `runs_dir`. Never fails on a run: a corrupt state is
/// a `corrupt` row with its problem. Fails only when a worker thread panics
/// (a bug): a listing never leaves a run out.
pub fn list(project: &Project, sort: SortBy) -> Result<Listing, crate::pool::Panicked> {
    let ids = project.run_ids();
    let settings = &project.settings;
    let runs_dir = project.runs_dir();
    let row_of = |rid: &String, buf: &mut Vec<u8>| {
        let run = RunDir {
            rid: rid.clone(),
            path: runs_dir.join(format!("{}{rid}", settings.run_dir_prefix)),
        };
        read_row(&run, settings, buf)
    };
    let mut rows = crate::pool::map(
        "reading run states",
        &ids,
        PARALLEL_FROM,
        Vec::new,
        |buf, rid| row_of(rid, buf),
    )?;
    if settings.dispatch.via == Via::Slurm {
        // An orchestrator that rewrites the state from memory may have
        // dropped rk's sessions from the file; rk's records (in the store)
        // still name the job. Only for rows where work may be under way.
        for row in rows.iter_mut() {
            if row.job.is_none() && row.status == OverallStatus::Interrupted {
                let run = RunDir {
                    rid: row.rid.clone(),
                    path: runs_dir.join(format!("{}{}", settings.run_dir_prefix, row.rid)),
                };
                row.job = state::load(&run, settings)
                    .ok()
                    .flatten()
                    .and_then(|s| s.open_slurm_job());
            }
        }
    }
    // Runs archived by archive_run.py (`t0_<rid>`), from their manifests.
    let archives = project.archive_dirs();
    if !archives.is_empty() {
        rows.extend(
            archives
                .iter()
                .map(|name| python_archive_row(&runs_dir.join(name), name)),
        );
        rows.sort_by(|a, b| a.rid.cmp(&b.rid));
    }
    ask_the_scheduler(&mut rows);
    if sort == SortBy::Updated {
        rows.sort_by(|a, b| b.last_update.cmp(&a.last_update).then(a.rid.cmp(&b.rid)));
    }
    Ok(Listing {
        rows,
        without_an_id: project.runs_without_an_id(),
    })
}

/// Runs whose open session has a Slurm job: one `squeue` call for all of
/// them; a pending job makes the row `queued`, a running one `running`. A
/// scheduler that cannot be asked leaves the rows as the phases say (`rk
/// status` says why).
fn ask_the_scheduler(rows: &mut [Row]) {
    let ids: Vec<JobId> = rows
        .iter()
        .filter(|r| r.status != OverallStatus::Archived && r.status != OverallStatus::Running)
        .filter_map(|r| r.job.clone())
        .collect();
    let Ok(found) = slurm::lookup(&ids) else {
        return;
    };
    for row in rows.iter_mut() {
        let Some(id) = &row.job else { continue };
        if let Some((_, Lookup::Known(job))) = found.iter().find(|(j, _)| j == id) {
            match job.phase() {
                slurm::Phase::Queued => row.status = OverallStatus::Queued,
                slurm::Phase::Running => row.status = OverallStatus::Running,
                slurm::Phase::Ended => {}
            }
        }
    }
}

/// The fields of `run_state.json` a row needs, borrowed from the bytes.
#[derive(Deserialize)]
struct ListState<'a> {
    #[serde(default)]
    schema_version: Option<i64>,
    #[serde(default, borrow)]
    config_hash: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    config_hash_scheme: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    phases: Option<Entries<ListPhase<'a>>>,
    #[serde(default)]
    migrated: Option<bool>,
    /// A run's own pipeline (`rk init --phases`), read as leniently as
    /// `RunState::pipeline` reads it.
    #[serde(default)]
    pipeline: Option<serde_json::Value>,
    #[serde(default)]
    config_drift: Option<Vec<IgnoredAny>>,
    #[serde(default)]
    archive: Option<IgnoredAny>,
    /// Only for a Slurm job in the last session (read leniently).
    #[serde(default)]
    sessions: Option<Vec<ListSession>>,
}

/// What list needs of a session: whether it is open, and its Slurm job.
#[derive(Deserialize)]
struct ListSession {
    #[serde(default)]
    ended_at: Option<serde_json::Value>,
    #[serde(default)]
    slurm: Option<serde_json::Value>,
}

impl ListSession {
    fn open_job(&self) -> Option<JobId> {
        if !matches!(self.ended_at, None | Some(serde_json::Value::Null)) {
            return None;
        }
        self.slurm
            .as_ref()?
            .get("job_id")?
            .as_str()
            .and_then(JobId::parse)
    }
}

#[derive(Deserialize)]
struct ListPhase<'a> {
    #[serde(borrow)]
    status: Cow<'a, str>,
    #[serde(default, borrow)]
    updated_at: Option<Cow<'a, str>>,
}

/// A JSON object read as a list of entries, in file order.
struct Entries<T>(Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Entries<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Entries<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<T>, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<Cow<'de, str>, T>()? {
                    out.push((k.into_owned(), v));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

fn read_row(run: &RunDir, settings: &Settings, buf: &mut Vec<u8>) -> Row {
    let mut row = Row {
        rid: run.rid.clone(),
        status: OverallStatus::NoState,
        phase: None,
        migrated: false,
        config_hash: None,
        config_hash_scheme: None,
        drift_records: 0,
        last_update: None,
        updated_from: None,
        problem: None,
        job: None,
    };
    let path = state::state_path(run, settings);
    let (file, len) = match read_file(&path, buf) {
        Ok(Some(read)) => read,
        Ok(None) => {
            row.status = running_or(run, settings, OverallStatus::NoState);
            return row;
        }
        Err(e) => {
            row.problem = Some(format!("cannot be read: {e}"));
            row.status = running_or(run, settings, OverallStatus::Corrupt);
            return row;
        }
    };
    // Only an object is a state: serde would read a struct from an array too,
    // and `[]` must be `corrupt` here exactly as in `status` and `fsck`.
    let is_object = buf[..len]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    // A lone surrogate escape reads as Python's json.load reads it.
    let mut scratch = Vec::new();
    let parsed = if is_object {
        crate::python_json::from_slice::<ListState>(&buf[..len], &mut scratch)
            .map_err(|e| e.to_string())
    } else {
        Err("not a JSON object".to_string())
    };
    let parsed = parsed.and_then(|s| match s.schema_version {
        Some(v) if v != 1 => Err(format!("schema_version {v} is not 1")),
        _ => Ok(s),
    });
    let s = match parsed {
        Ok(s) => s,
        Err(e) => {
            row.problem = Some(e);
            row.status = running_or(run, settings, OverallStatus::Corrupt);
            return row;
        }
    };
    let phases: Vec<(String, ListPhase)> = s.phases.map(|e| e.0).unwrap_or_default();
    let statuses: Vec<(&str, PhaseStatus)> = phases
        .iter()
        .map(|(n, p)| (n.as_str(), PhaseStatus::parse(&p.status)))
        .collect();
    let refs: Vec<(&str, &PhaseStatus)> = statuses.iter().map(|(n, s)| (*n, s)).collect();
    // The steps the orchestrator knows; phases the state lists beyond them
    // neither become the current phase nor decide completion.
    let steps = state::pipeline_of(s.pipeline.as_ref(), &settings.phases, std::iter::empty());
    let status_of = |name: &str| refs.iter().find(|(n, _)| *n == name).map(|(_, s)| *s);
    let skipped = state::skipped(&steps, status_of);
    row.phase = steps
        .iter()
        .enumerate()
        .find(|(_, name)| {
            status_of(name) != Some(&PhaseStatus::Completed) && !skipped.contains(&name.as_str())
        })
        .map(|(i, name)| CurrentPhase {
            name: name.clone(),
            index: i + 1,
            count: steps.len(),
        });
    row.migrated = s.migrated.unwrap_or(false);
    row.config_hash = s.config_hash.map(Cow::into_owned);
    row.config_hash_scheme = s.config_hash_scheme.map(Cow::into_owned);
    row.drift_records = s.config_drift.map_or(0, |d| d.len());
    row.last_update = latest(phases.iter().filter_map(|(_, p)| p.updated_at.as_deref()));
    row.updated_from = Some(UpdatedFrom::Phase);
    if row.last_update.is_none() {
        row.last_update = file
            .metadata()
            .ok()
            .map(|m| Timestamp::from_unix_micros(m.mtime() * 1_000_000 + m.mtime_nsec() / 1000));
        row.updated_from = row.last_update.map(|_| UpdatedFrom::Mtime);
    }
    row.job = s
        .sessions
        .as_ref()
        .and_then(|all| all.last())
        .and_then(ListSession::open_job);
    row.status = if s.archive.is_some() && run.path.join("archive_manifest.json").is_file() {
        OverallStatus::Archived
    } else {
        running_or(run, settings, state::from_phases(&steps, &refs))
    };
    row
}

/// The latest of some RFC 3339 times. Times in rk's own form (UTC,
/// microseconds, `Z`: all the same length) order as strings, so only the
/// latest is parsed; any other form is parsed to compare.
fn latest<'a>(times: impl Iterator<Item = &'a str>) -> Option<Timestamp> {
    const OWN_FORM: usize = "2025-09-02T21:46:43.120001Z".len();
    let times: Vec<&str> = times.collect();
    if times
        .iter()
        .all(|t| t.len() == OWN_FORM && t.ends_with('Z'))
    {
        if let Some(t) = times.iter().max().and_then(|t| Timestamp::parse(t)) {
            return Some(t);
        }
    }
    times.iter().filter_map(|t| Timestamp::parse(t)).max()
}

/// The row of a run archived by archive_run.py: `archived`, with what its
/// manifest kept of the run's state.
fn python_archive_row(dir: &std::path::Path, name: &str) -> Row {
    let archive = state::python_archive::read(dir).unwrap_or_default();
    Row {
        rid: name.to_string(),
        status: if archive.status.as_deref() == Some("archived") {
            OverallStatus::Archived
        } else {
            OverallStatus::NoState
        },
        phase: None,
        migrated: archive.migrated.unwrap_or(false),
        config_hash: archive.config_hash.clone(),
        config_hash_scheme: None,
        drift_records: 0,
        last_update: archive.archived_date.as_deref().and_then(Timestamp::parse),
        updated_from: archive
            .archived_date
            .as_deref()
            .and_then(Timestamp::parse)
            .map(|_| UpdatedFrom::Phase),
        problem: None,
        job: None,
    }
}

fn running_or(run: &RunDir, settings: &Settings, status: OverallStatus) -> OverallStatus {
    if DispatchLock::probe(run).is_some()
        || !crate::orchestrators::running(crate::orchestrators::scanned(settings), run, settings)
            .is_empty()
    {
        OverallStatus::Running
    } else {
        status
    }
}

/// Read the whole file into `buf` (reused, so no stat is needed to size it);
/// `Ok(None)` when it does not exist. The open file is returned for the rare
/// row that needs its modification time.
fn read_file(
    path: &std::path::Path,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<(std::fs::File, usize)>> {
    // Never blocks (a FIFO), never reads a device (`/dev/zero`): the row of
    // such a run is `corrupt`, and list goes on.
    let mut file = match crate::store::atomic::open_regular(path) {
        Ok((_, len)) if len > crate::store::atomic::limit::STATE => {
            return Err(crate::store::atomic::too_large(
                len,
                crate::store::atomic::limit::STATE,
            ))
        }
        Ok((f, _)) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    // A plain read loop: `read_to_end` would stat and seek to size the buffer.
    if buf.len() < 64 * 1024 {
        buf.resize(64 * 1024, 0);
    }
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            // The file grew while it was read: stop at the bound all the same.
            if filled as u64 >= crate::store::atomic::limit::STATE {
                return Err(crate::store::atomic::too_large(
                    filled as u64,
                    crate::store::atomic::limit::STATE,
                ));
            }
            buf.resize(buf.len() * 2, 0);
        }
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some((file, filled)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_parse_reads_the_row_fields() {
        let text = br#"{"schema_version": 1, "config_hash": "abc", "phases":
            {"prepare": {"status": "completed", "updated_at": "2025-09-02T21:47:10.500000Z"},
             "build": {"status": "in_progress"}}, "config_drift": [{}, {}], "notes": [1]}"#;
        let s: ListState = serde_json::from_slice(text).unwrap();
        assert_eq!(s.phases.unwrap().0.len(), 2);
        assert_eq!(s.config_drift.unwrap().len(), 2);
        assert!(s.config_hash_scheme.is_none());
        assert!(s.archive.is_none());
    }
}
