//! `rk archive` (rk-archive(1)): a verifiable record of every file of a finished
//! run, written atomically, then (optionally) the run moved elsewhere.
//!
//! The one idea: the manifest must describe exactly the bytes inside the run
//! dir and nothing else; the walk and the hashing that make it sure of that
//! live in [`archive_manifest`](super::archive_manifest), which `rk verify`
//! uses too. A file that changes or vanishes while it is hashed stops the
//! archive with nothing written.
//!
//! Order of writes: the state records the archive first (op `archive`, through
//! `state::commit`), then `archive_manifest.json` is written atomically. A run
//! is `archived` only when both exist, so a crash or a full disk between the
//! two leaves a run that is simply not archived yet; archiving again repairs it.

use crate::error::{Error, Exit};
use crate::ops::slurm_job;
use crate::project::{Project, RunDir};
use crate::state::{self, Expect, OverallStatus, PhaseStatus};
use crate::store::{self, atomic, DispatchLock, Holder};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::archive_manifest::{
    hash_files, read_manifest, walk, ArchiveManifest, Artifact, Found, TrialEntry, MANIFEST,
};

/// Bytes hashed so far, for the progress bar the caller draws.
pub use crate::output::Progress;

/// What `rk archive` was asked.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub allow_incomplete: bool,
    pub dest: Option<PathBuf>,
}

/// What `rk archive` did.
#[derive(Clone, Debug)]
pub struct Archived {
    pub manifest: ArchiveManifest,
    pub files: usize,
    pub links: usize,
    pub bytes: u64,
    /// Phases that were not completed (archived with --allow-incomplete).
    pub incomplete: Vec<(String, String)>,
    /// Where the run now lives, when moved.
    pub moved_to: Option<PathBuf>,
    /// The move crossed devices: copied, verified, then deleted.
    pub copied: bool,
    pub warnings: Vec<String>,
}

/// The artifacts of `found`, hashed. The first error (a vanished or changed
/// file) stops the archive.
fn artifacts(run_dir: &Path, found: &[Found], progress: &Progress) -> Result<Vec<Artifact>, Error> {
    let files: Vec<(&str, u64)> = found
        .iter()
        .filter_map(|f| match f {
            Found::File { path, bytes } => Some((path.as_str(), *bytes)),
            Found::Link { .. } => None,
        })
        .collect();
    progress
        .total
        .store(files.iter().map(|(_, b)| b).sum(), Ordering::Relaxed);
    let mut hashes = hash_files(run_dir, &files, progress)?.into_iter();
    let mut out = Vec::with_capacity(found.len());
    for f in found {
        out.push(match f {
            Found::File { path, bytes } => Artifact::File {
                path: path.clone(),
                bytes: *bytes,
                blake3: hashes
                    .next()
                    .unwrap_or_else(|| Err(Error::usage("internal: hash missing", None)))?,
            },
            Found::Link { path, target } => Artifact::Link {
                path: path.clone(),
                link: target.clone(),
            },
        });
    }
    Ok(out)
}

/// Check `--dest` before any work: it must not exist, its parent must, and it
/// must not lie inside the run itself.
fn check_dest(run: &RunDir, dest: &Path) -> Result<(), Error> {
    let usage = |msg: String, hint: &str| Error::usage(msg, Some(hint.into()));
    if dest.symlink_metadata().is_ok() {
        return Err(usage(
            format!("--dest {} already exists", dest.display()),
            "name a directory that does not exist yet; the run dir is moved to that path",
        ));
    }
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let parent = parent.canonicalize().map_err(|e| {
        usage(
            format!(
                "--dest {}: its parent directory cannot be used: {e}",
                dest.display()
            ),
            "create the parent directory first",
        )
    })?;
    let run_path = run
        .path
        .canonicalize()
        .map_err(|e| Error::Store(store::io_err(&run.path, e)))?;
    if parent.starts_with(&run_path) {
        return Err(usage(
            format!(
                "--dest {} is inside the run {} itself",
                dest.display(),
                run_path.display()
            ),
            "choose a destination outside the run directory",
        ));
    }
    Ok(())
}

/// Archive a run.
pub fn archive(
    project: &Project,
    run: &RunDir,
    options: &Options,
    progress: &Progress,
) -> Result<Archived, Error> {
    let settings = &project.settings;
    // A --dest that already holds a verified copy of this archived run is an
    // interrupted move: rerunning the command finishes it.
    let resumed_copy = match &options.dest {
        Some(dest) if dest.symlink_metadata().is_ok() => copy_of_archived_run(run, settings, dest),
        _ => None,
    };
    if let (Some(dest), None) = (&options.dest, &resumed_copy) {
        check_dest(run, dest)?;
    }
    // Held for the whole archive (and the move): no resume starts while the
    // run is being archived or moved.
    let _dispatch = DispatchLock::try_acquire(
        run,
        &Holder::current(vec!["rk".into(), "archive".into(), run.rid.clone()]),
    )?;
    let loaded = state::load(run, settings);
    let overall = state::overall_status_of_holder(run, settings, &loaded);
    let Some(st) = loaded? else {
        return Err(Error::refusal(
            Exit::Refused,
            format!("run {} has no state; an archive records it", run.rid),
            Some(state::no_state_hint(&run.rid)),
        ));
    };
    match overall {
        OverallStatus::Running => {
            return Err(Error::refusal(
                Exit::Busy,
                format!("run {} is running; it cannot be archived", run.rid),
                Some(format!(
                    "wait for it to end, or stop it with `rk stop {}`",
                    run.rid
                )),
            ))
        }
        OverallStatus::Archived => {
            return match &options.dest {
                // Archived, and asked to move: an interrupted `archive
                // --dest` (or a move asked for later). Only the move is left
                // to do.
                Some(dest) => move_archived_run(run, settings, dest, resumed_copy),
                None => Err(Error::refusal(
                    Exit::Refused,
                    format!("run {} is already archived", run.rid),
                    Some(format!(
                        "check it with `rk verify {0}`; to move it, `rk archive {0} --dest DIR`",
                        run.rid
                    )),
                )),
            };
        }
        _ => {}
    }
    // A run dispatched to Slurm is held by its job, not by the lock above.
    slurm_job::refuse_while_live(run, &st, "nothing archived")?;
    let incomplete: Vec<(String, String)> = phase_statuses(&st, settings)
        .into_iter()
        .filter(|(_, status)| status != PhaseStatus::Completed.as_str())
        .collect();
    if overall != OverallStatus::Completed && !options.allow_incomplete {
        let list: Vec<String> = incomplete
            .iter()
            .map(|(n, s)| format!("{n} ({s})"))
            .collect();
        return Err(Error::refusal(
            Exit::Refused,
            format!(
                "run {} is {overall}, not completed; not completed: {}",
                run.rid,
                list.join(", ")
            ),
            Some(format!(
                "finish it with `rk resume {0}`, or archive it as it is with `rk archive {0} --allow-incomplete`",
                run.rid
            )),
        ));
    }

    let archived_at = crate::clock::now().to_string();
    let (committed, all) =
        record_while_hashing(run, settings, overall, &archived_at, options, progress)?;
    let (trials, other) = by_trial(run, settings, all)?;
    // Everything the manifest says of the state is what the snapshot it
    // names (`head`) records: the state as read under the lock.
    let st = &committed.state;
    let manifest = ArchiveManifest {
        format_version: 1,
        schema_version: 1,
        run_id: st.run_id.clone().unwrap_or_else(|| run.rid.clone()),
        archived_at: archived_at.clone(),
        config_hash: st.recorded_hash().map(String::from),
        config_hash_scheme: st
            .config_hash_scheme
            .clone()
            .unwrap_or_else(|| "pyyaml-sorted".into()),
        head: committed.id.to_string(),
        status: "archived".into(),
        archived_date: archived_at.clone(),
        files: file_lists(&trials, &other),
        config: python_config_summary(run, settings),
        allow_incomplete: options.allow_incomplete,
        phases: phase_statuses(st, settings)
            .into_iter()
            .map(|(phase, status)| (phase, status.into()))
            .collect(),
        trials,
        other,
    };
    write_manifest(run, &manifest)?;

    let (files, links, bytes) = tally(&manifest);
    let mut archived = Archived {
        manifest,
        files,
        links,
        bytes,
        incomplete,
        moved_to: None,
        copied: false,
        warnings: committed.warnings,
    };
    archived
        .warnings
        .extend(crate::ops::status_md::refresh(project, run));
    if let Some(dest) = &options.dest {
        let (copied, warnings) = move_run(run, dest, settings, &archived.manifest)?;
        archived.copied = copied;
        archived.warnings.extend(warnings);
        archived.moved_to = Some(dest.clone());
    }
    Ok(archived)
}

/// An already archived run asked to move (`--dest`): finish an interrupted
/// move whose verified copy is in place, or move it now.
fn move_archived_run(
    run: &RunDir,
    settings: &crate::project::Settings,
    dest: &Path,
    resumed_copy: Option<()>,
) -> Result<Archived, Error> {
    let manifest = read_manifest(run)?;
    let (copied, warnings) = match resumed_copy {
        Some(()) => {
            finish_move(run, dest)?;
            (true, Vec::new())
        }
        None => move_run(run, dest, settings, &manifest)?,
    };
    let (files, links, bytes) = tally(&manifest);
    Ok(Archived {
        files,
        links,
        bytes,
        manifest,
        incomplete: Vec::new(),
        moved_to: Some(dest.to_path_buf()),
        copied,
        warnings,
    })
}

/// Files, symlinks and the bytes of the files a manifest records.
fn tally(manifest: &ArchiveManifest) -> (usize, usize, u64) {
    let (mut files, mut links, mut bytes) = (0, 0, 0);
    for a in manifest.artifacts() {
        match a {
            Artifact::File { bytes: b, .. } => {
                files += 1;
                bytes += b;
            }
            Artifact::Link { .. } => links += 1,
        }
    }
    (files, links, bytes)
}

/// Each pipeline phase and its status, in pipeline order, as the manifest
/// records them (`absent` for a phase the state does not hold).
fn phase_statuses(
    st: &state::RunState,
    settings: &crate::project::Settings,
) -> Vec<(String, String)> {
    st.pipeline(&settings.phases)
        .into_iter()
        .map(|phase| {
            let status = st.phase(&phase).map_or("absent", |p| p.status.as_str());
            let status = status.to_string();
            (phase, status)
        })
        .collect()
}

/// Record the archive in the state (op `archive`) while the files are
/// walked and hashed: the commit is fsync-bound and does not need the
/// hashes. If hashing fails, the record is taken back (op
/// `archive-aborted`) and the hashing error returned.
fn record_while_hashing(
    run: &RunDir,
    settings: &crate::project::Settings,
    overall: OverallStatus,
    archived_at: &str,
    options: &Options,
    progress: &Progress,
) -> Result<(state::Committed, Vec<Artifact>), Error> {
    let record = serde_json::json!({
        "archived_at": archived_at,
        "manifest": MANIFEST,
        "allow_incomplete": options.allow_incomplete,
    });
    let (hashed, committed) = std::thread::scope(|s| {
        let commit = s.spawn(|| {
            let message = format!("archive: {MANIFEST}");
            state::commit(run, settings, "archive", &message, &Expect::Any, |draft| {
                draft.require(run, settings)?;
                // The orchestrator may have written since the checks above.
                let now = state::overall_status_of_holder(run, settings, &Ok(Some(draft.state.clone())));
                if now != overall {
                    return Err(Error::refusal(
                        Exit::Busy,
                        format!("run {} changed from {overall} to {now} while rk was archiving it; nothing archived", run.rid),
                        Some(format!("run `rk archive {}` again", run.rid)),
                    ));
                }
                draft.state.archive = Some(record.clone());
                Ok(())
            })
        });
        let hashed = walk(&run.path, &settings.state_file, &settings.state_lock)
            .and_then(|found| artifacts(&run.path, &found, progress));
        let committed = commit
            .join()
            .unwrap_or_else(|_| Err(Error::usage("internal: the state commit panicked", None)));
        (hashed, committed)
    });
    let (committed, ()) = committed?;
    match hashed {
        Ok(all) => Ok((committed, all)),
        Err(e) => {
            let _ = state::commit::<_, Error>(
                run,
                settings,
                "archive-aborted",
                "hashing failed; nothing archived",
                &Expect::Head(committed.id.clone()),
                |draft| {
                    draft.state.archive = None;
                    Ok(())
                },
            );
            Err(e)
        }
    }
}

/// Sort the artifacts into the run's trials (by the first component of the
/// path) and the other files of the run dir.
fn by_trial(
    run: &RunDir,
    settings: &crate::project::Settings,
    all: Vec<Artifact>,
) -> Result<(Vec<TrialEntry>, Vec<Artifact>), Error> {
    let trial_list = crate::trials::load(&run.path, &settings.trials_manifest)?;
    let mut trials: Vec<TrialEntry> = trial_list
        .iter()
        .map(|t| TrialEntry {
            slug: t.slug.clone(),
            manifest: t.manifest_path.clone(),
            artifacts: Vec::new(),
        })
        .collect();
    let mut other = Vec::new();
    for a in all {
        let slug = a.path().split('/').next().unwrap_or("");
        match trials.binary_search_by(|t| t.slug.as_str().cmp(slug)) {
            Ok(i) if a.path().contains('/') => trials[i].artifacts.push(a),
            _ => other.push(a),
        }
    }
    Ok((trials, other))
}

/// The `files` map archive_run.py writes: each trial's slug, and `run` for
/// the other files, → the archived paths.
fn file_lists(
    trials: &[TrialEntry],
    other: &[Artifact],
) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut lists: std::collections::BTreeMap<String, Vec<String>> = trials
        .iter()
        .map(|t| {
            (
                t.slug.clone(),
                t.artifacts.iter().map(|a| a.path().to_string()).collect(),
            )
        })
        .collect();
    lists.insert(
        "run".into(),
        other.iter().map(|a| a.path().to_string()).collect(),
    );
    lists
}

/// Write `archive_manifest.json` atomically; failing, the run is not archived.
fn write_manifest(run: &RunDir, manifest: &ArchiveManifest) -> Result<(), Error> {
    let mut text = serde_json::to_vec_pretty(manifest)
        .map_err(|e| Error::usage(format!("internal: {e}"), None))?;
    text.push(b'\n');
    let manifest_path = run.path.join(MANIFEST);
    atomic::write_atomic(&manifest_path, &text, atomic::FILE_MODE).map_err(|e| {
        Error::refusal(
            Exit::Corrupt,
            format!(
                "cannot write {}: {e}; the state records the archive but no manifest exists, so the run is not archived",
                manifest_path.display()
            ),
            Some(format!("free some space and run `rk archive {}` again", run.rid)),
        )
    })
}

/// `{temperature, model_id}` of the run's config, as archive_run.py records
/// them (null where the config has none or cannot be read).
fn python_config_summary(run: &RunDir, settings: &crate::project::Settings) -> serde_json::Value {
    use crate::canon::Value;
    let config = crate::run_config::current(run, settings).ok().flatten();
    let number = |v: &Value| match v {
        Value::Int(i) => i
            .as_i64()
            .map(serde_json::Value::from)
            .unwrap_or(serde_json::Value::Null),
        Value::Float(f) => serde_json::json!(f),
        _ => serde_json::Value::Null,
    };
    let value = config.as_ref().map(|d| &d.value);
    let temperature = value
        .and_then(|v| match v.get("temps") {
            Some(Value::Array(items)) => items.first(),
            _ => v.get("temperature"),
        })
        .map(number)
        .unwrap_or(serde_json::Value::Null);
    let model_id = match value.and_then(|v| v.get("model_id")) {
        Some(Value::String(s)) => serde_json::json!(s),
        _ => serde_json::Value::Null,
    };
    serde_json::json!({"temperature": temperature, "model_id": model_id})
}

/// `dest` holds a copy of the archived `run` that verifies against the run's
/// own manifest: what an `archive --dest` killed between putting the copy in
/// place and deleting the original leaves.
fn copy_of_archived_run(
    run: &RunDir,
    settings: &crate::project::Settings,
    dest: &Path,
) -> Option<()> {
    let manifest = read_manifest(run).ok()?;
    let copy = RunDir {
        rid: run.rid.clone(),
        path: dest.to_path_buf(),
    };
    let theirs = read_manifest(&copy).ok()?;
    if theirs.head != manifest.head {
        return None;
    }
    let report =
        crate::ops::verify::check(&copy, settings, &manifest, &Progress::default()).ok()?;
    report.is_clean().then_some(())
}

/// Move the run dir to `dest`: a rename, or across devices a copy that is
/// made durable and verified against the manifest before the original goes.
/// Returns whether it copied, and what the copy could not preserve.
///
/// Across devices, in this order, so a kill at any instant leaves either the
/// original run untouched, or a verified copy at `dest`:
/// 1. copy into `<dest's parent>/.tmp-move-<name>` (a leftover of an earlier
///    attempt is removed first): files with their modes and modification
///    times, symlinks as links, hard links as hard links; FIFOs, sockets and
///    devices are not copied and are named in the returned warnings;
/// 2. fsync every file and directory of the copy;
/// 3. verify the copy against the manifest;
/// 4. rename it to `dest`, fsync the parent;
/// 5. [`finish_move`]: rename the original aside, then delete it.
///
/// Rerunning `rk archive RUN --dest DEST` after a kill resumes: before 4 it
/// copies again, after 4 it only finishes the delete.
fn move_run(
    run: &RunDir,
    dest: &Path,
    settings: &crate::project::Settings,
    manifest: &ArchiveManifest,
) -> Result<(bool, Vec<String>), Error> {
    match std::fs::rename(&run.path, dest) {
        Ok(()) => return Ok((false, Vec::new())),
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {}
        Err(e) => {
            return Err(Error::refusal(
                Exit::Usage,
                format!(
                    "the run is archived, but moving it to {} failed: {e}",
                    dest.display()
                ),
                Some("move the run directory yourself; `rk verify` checks it anywhere".into()),
            ))
        }
    }
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| run.rid.clone());
    let tmp = parent.join(format!("{}move-{name}", atomic::TMP_PREFIX));
    let fail = |what: String| {
        Error::refusal(
            Exit::Corrupt,
            format!("the run is archived, but copying it across devices failed: {what}; the original is untouched"),
            Some(format!(
                "run `rk archive {} --dest {}` again to retry the move",
                run.rid,
                dest.display()
            )),
        )
    };
    if tmp.symlink_metadata().is_ok() {
        std::fs::remove_dir_all(&tmp).map_err(|e| fail(format!("{}: {e}", tmp.display())))?;
    }
    let mut copy = TreeCopy::default();
    copy.copy(&run.path, &tmp, Path::new(""))
        .map_err(|e| fail(e.to_string()))?;
    let copied = RunDir {
        rid: run.rid.clone(),
        path: tmp.clone(),
    };
    let report = crate::ops::verify::check(&copied, settings, manifest, &Progress::default())?;
    if !report.is_clean() {
        return Err(fail(format!(
            "the copy at {} does not match the manifest",
            tmp.display()
        )));
    }
    std::fs::rename(&tmp, dest).map_err(|e| fail(e.to_string()))?;
    atomic::sync_dir(&parent).map_err(|e| fail(e.to_string()))?;
    finish_move(run, dest)?;
    Ok((true, copy.not_preserved))
}

/// The last step of a move across devices, once a verified copy is at
/// `dest`: rename the original out of the runs dir (one atomic step: rk never
/// lists a half-deleted run), then delete it.
fn finish_move(run: &RunDir, dest: &Path) -> Result<(), Error> {
    let runs_dir = match run.path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let aside = runs_dir.join(format!(
        "{}moved-{}-{}",
        atomic::TMP_PREFIX,
        run.rid,
        std::process::id()
    ));
    let failed = |what: String| {
        Error::refusal(
            Exit::Corrupt,
            format!(
                "the run was copied to {} and verified, but the original could not be deleted: {what}",
                dest.display()
            ),
            Some(format!(
                "delete {} yourself; the run lives at {}",
                run.path.display(),
                dest.display()
            )),
        )
    };
    std::fs::rename(&run.path, &aside).map_err(|e| failed(e.to_string()))?;
    atomic::sync_dir(&runs_dir).map_err(|e| failed(e.to_string()))?;
    std::fs::remove_dir_all(&aside).map_err(|e| failed(format!("{}: {e}", aside.display())))
}

/// Copies a run tree across devices, never following a symlink.
#[derive(Default)]
struct TreeCopy {
    /// (device, inode) of files already copied with more than one link, and
    /// where their copy is: later links become hard links to it.
    linked: std::collections::HashMap<(u64, u64), PathBuf>,
    /// What was not copied, for the user.
    not_preserved: Vec<String>,
}

impl TreeCopy {
    fn copy(&mut self, from: &Path, to: &Path, rel: &Path) -> io::Result<()> {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let meta = std::fs::symlink_metadata(from)?;
        std::fs::DirBuilder::new().create(to)?;
        std::fs::set_permissions(to, meta.permissions())?;
        let mut entries: Vec<_> = std::fs::read_dir(from)?.collect::<io::Result<_>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let source = entry.path();
            let target = to.join(entry.file_name());
            let shown = rel.join(entry.file_name());
            let meta = std::fs::symlink_metadata(&source)?;
            let ft = meta.file_type();
            if ft.is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(&source)?, &target)?;
            } else if ft.is_dir() {
                self.copy(&source, &target, &shown)?;
                set_mtime(&target, &meta)?;
            } else if ft.is_file() {
                let key = (meta.dev(), meta.ino());
                if meta.nlink() > 1 {
                    if let Some(first) = self.linked.get(&key) {
                        std::fs::hard_link(first, &target)?;
                        continue;
                    }
                    self.linked.insert(key, target.clone());
                }
                std::fs::copy(&source, &target)?;
                let file = File::options().write(true).open(&target)?;
                file.set_modified(meta.modified()?)?;
                file.sync_all()?;
            } else {
                let kind = if ft.is_fifo() {
                    "a FIFO"
                } else if ft.is_socket() {
                    "a socket"
                } else {
                    "a device"
                };
                self.not_preserved.push(format!(
                    "{} is {kind}; it was not copied to the destination (the archive manifest does not list it either)",
                    shown.display()
                ));
            }
        }
        File::open(to)?.sync_all()?;
        Ok(())
    }
}

/// Give a copied directory the modification time of its original.
fn set_mtime(dir: &Path, meta: &std::fs::Metadata) -> io::Result<()> {
    File::open(dir)?.set_modified(meta.modified()?)
}
