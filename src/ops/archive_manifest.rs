//! `archive_manifest.json`: the record `rk archive` writes and `rk verify`
//! checks, and the walk and hashing both use to make and check it.
//!
//! The one idea: the manifest must describe exactly the bytes inside the run
//! dir and nothing else. The walk never follows a symlink (it is recorded as
//! a link with its target), every file is opened `O_NOFOLLOW`, so no artifact
//! outside the run can be read through a link; and a file that changes or
//! vanishes while it is hashed is an error, never a wrong hash. Archive and
//! verify share this module, so a clean archive always verifies clean.
//!
//! Hashing is the slow part (hundreds of MB), so files are hashed by a pool of
//! threads (one per core), and a large file is split along BLAKE3's own tree
//! (`blake3::hazmat`: subtrees hashed on separate threads, then merged), so
//! one big artifact still uses every core. Reads are 256 KiB `pread`s.

use crate::error::{Error, Exit};
use crate::output::Progress;
use crate::project::RunDir;
use crate::store::{self, atomic};
use blake3::hazmat::{
    merge_subtrees_non_root, merge_subtrees_root, ChainingValue, HasherExt, Mode,
};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::Ordering;

/// The manifest's file name in the run dir.
pub const MANIFEST: &str = "archive_manifest.json";
/// Names at the top of the run dir that are never archived: rk's store, the
/// state (recorded in the store), its lock, the manifest itself, STATUS.md
/// (re-rendered after every state change) and the stop tokens a resume
/// cleared (`STOP_REQUESTED.cleared.<ts>`, `STOP_NOW.cleared.<ts>`).
const TOP_EXCLUDED: [&str; 2] = [".rk", MANIFEST];
const READ_BUF: usize = 256 * 1024;
/// Files at least this large are split along the BLAKE3 tree.
const SPLIT_FROM: u64 = 16 * 1024 * 1024;
/// Smallest subtree hashed on its own thread.
const LEAF: u64 = 4 * 1024 * 1024;

/// One archived entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Artifact {
    File {
        path: String,
        bytes: u64,
        blake3: String,
    },
    Link {
        path: String,
        link: String,
    },
}

impl Artifact {
    pub fn path(&self) -> &str {
        match self {
            Artifact::File { path, .. } | Artifact::Link { path, .. } => path,
        }
    }
}

/// One trial in the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialEntry {
    pub slug: String,
    pub manifest: String,
    pub artifacts: Vec<Artifact>,
}

/// `archive_manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveManifest {
    pub format_version: u32,
    pub schema_version: u32,
    pub run_id: String,
    pub archived_at: String,
    pub config_hash: Option<String>,
    /// `pyyaml-sorted` when the state names no scheme (legacy).
    pub config_hash_scheme: String,
    /// The snapshot that records the archive.
    pub head: String,
    pub status: String,
    /// The same time as `archived_at`, under the name archive_run.py writes
    /// and list_runs.py reads.
    #[serde(default)]
    pub archived_date: String,
    /// As archive_run.py writes it, for list_runs.py: category (each trial's
    /// slug, and `run` for the other files) → the archived paths.
    #[serde(default)]
    pub files: std::collections::BTreeMap<String, Vec<String>>,
    /// As archive_run.py writes it: the config's `temperature` (its first
    /// `temps`, or `temperature`) and `model_id`, null when it has none.
    #[serde(default)]
    pub config: serde_json::Value,
    pub allow_incomplete: bool,
    /// Phase → status, in pipeline order.
    pub phases: serde_json::Map<String, serde_json::Value>,
    pub trials: Vec<TrialEntry>,
    /// Files of the run dir outside any trial (the config, notes, …).
    pub other: Vec<Artifact>,
}

impl ArchiveManifest {
    /// Every artifact, trials first.
    pub fn artifacts(&self) -> impl Iterator<Item = &Artifact> {
        self.trials
            .iter()
            .flat_map(|t| t.artifacts.iter())
            .chain(self.other.iter())
    }
}

/// Read a run's archive manifest: not archived → exit 6; unreadable → exit 5.
pub fn read_manifest(run: &RunDir) -> Result<ArchiveManifest, Error> {
    let path = run.path.join(MANIFEST);
    let bytes = match crate::store::atomic::read_regular(&path, crate::store::atomic::limit::STATE)
    {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::refusal(
                Exit::Refused,
                format!(
                    "run {} is not archived: {} does not exist",
                    run.rid,
                    path.display()
                ),
                Some(format!("archive it with `rk archive {}`", run.rid)),
            ))
        }
        Err(e) => return Err(Error::Store(crate::store::io_err(&path, e))),
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::refusal(
            Exit::Corrupt,
            format!("corrupt {}: {e}", path.display()),
            Some(format!(
                "the manifest cannot be trusted; archive the run again with `rk archive {}` once its files are known good",
                run.rid
            )),
        )
    })
}

/// An entry found by the walk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    File { path: String, bytes: u64 },
    Link { path: String, target: String },
}

impl Found {
    pub fn path(&self) -> &str {
        match self {
            Found::File { path, .. } | Found::Link { path, .. } => path,
        }
    }
}

fn excluded(rel_dir: &str, name: &str, state_file: &str, state_lock: &str) -> bool {
    name.starts_with(atomic::TMP_PREFIX)
        || (rel_dir.is_empty()
            && (TOP_EXCLUDED.contains(&name)
                || name == state_file
                || name == state_lock
                || name == "STATUS.md"
                || name.starts_with("STOP_REQUESTED.cleared.")
                || name.starts_with("STOP_NOW.cleared.")))
}

/// Every regular file and symlink of the run dir, sorted by path, never
/// following a symlink. Other entries (fifos, sockets, devices) are skipped.
pub fn walk(run_dir: &Path, state_file: &str, state_lock: &str) -> Result<Vec<Found>, Error> {
    let mut out = Vec::new();
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        let dir = if rel.is_empty() {
            run_dir.to_path_buf()
        } else {
            run_dir.join(&rel)
        };
        let entries = std::fs::read_dir(&dir).map_err(|e| read_error(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| read_error(&dir, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(Error::refusal(
                    Exit::Usage,
                    format!("{}: a file name is not UTF-8", entry.path().display()),
                    Some("rename the file; the manifest records paths as UTF-8".into()),
                ));
            };
            if excluded(&rel, name, state_file, state_lock) {
                continue;
            }
            let path = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            let meta = std::fs::symlink_metadata(entry.path())
                .map_err(|e| read_error(&entry.path(), e))?;
            let ft = meta.file_type();
            if ft.is_symlink() {
                let target =
                    std::fs::read_link(entry.path()).map_err(|e| read_error(&entry.path(), e))?;
                out.push(Found::Link {
                    path,
                    target: target.to_string_lossy().into_owned(),
                });
            } else if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file() {
                out.push(Found::File {
                    path,
                    bytes: meta.len(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.path().cmp(b.path()));
    Ok(out)
}

fn read_error(path: &Path, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::NotFound {
        Error::refusal(
            Exit::Busy,
            format!("{} vanished while the run was read", path.display()),
            Some(
                "something is changing the run; make sure nothing runs in it and try again".into(),
            ),
        )
    } else {
        Error::Store(store::io_err(path, e))
    }
}

/// Hash `files` (paths relative to `run_dir`) on every core. One result per
/// file, in the order of `files`: the file's blake3, or the error reading it
/// (a vanished or changed file). A panicking worker fails the whole call, so
/// no file is ever left out.
pub fn hash_files(
    run_dir: &Path,
    files: &[(&str, u64)],
    progress: &Progress,
) -> Result<Vec<Result<String, Error>>, Error> {
    let threads = crate::pool::threads();
    let split_depth = if crate::pool::parallel() {
        threads.next_power_of_two().trailing_zeros() + 1
    } else {
        0
    };
    Ok(crate::pool::map(
        "hashing files",
        files,
        2,
        || vec![0u8; READ_BUF],
        |buf, &(rel, bytes)| hash_one(&run_dir.join(rel), bytes, split_depth, buf, progress),
    )?)
}

fn hash_one(
    path: &Path,
    expected: u64,
    depth: u32,
    buf: &mut [u8],
    progress: &Progress,
) -> Result<String, Error> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| read_error(path, e))?;
    let len = file.metadata().map_err(|e| read_error(path, e))?.len();
    let changed = || {
        Error::refusal(
            Exit::Busy,
            format!("{} changed while it was hashed", path.display()),
            Some("something is writing the run; make sure nothing runs in it and try again".into()),
        )
    };
    if len != expected {
        return Err(changed());
    }
    let hash = if len >= SPLIT_FROM && depth > 0 {
        match subtree(&file, 0, len, true, depth, progress).map_err(|e| read_error(path, e))? {
            Node::Root(h) => h,
            Node::Cv(_) => return Err(changed()),
        }
    } else {
        let mut hasher = blake3::Hasher::new();
        let read = read_range(&file, 0, len, &mut hasher, buf, progress)
            .map_err(|e| read_error(path, e))?;
        if read != len {
            return Err(changed());
        }
        hasher.finalize()
    };
    let after = file.metadata().map_err(|e| read_error(path, e))?.len();
    if after != len {
        return Err(changed());
    }
    Ok(hash.to_hex().to_string())
}

/// Feed `len` bytes at `offset` to `hasher`; returns the bytes read (short
/// when the file shrank).
fn read_range(
    file: &File,
    offset: u64,
    len: u64,
    hasher: &mut blake3::Hasher,
    buf: &mut [u8],
    progress: &Progress,
) -> io::Result<u64> {
    let mut done = 0u64;
    while done < len {
        let want = (len - done).min(buf.len() as u64) as usize;
        let n = match file.read_at(&mut buf[..want], offset + done) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        done += n as u64;
        progress.done.fetch_add(n as u64, Ordering::Relaxed);
    }
    Ok(done)
}

enum Node {
    Root(blake3::Hash),
    Cv(ChainingValue),
}

/// Hash the subtree of `len` bytes at `offset`, splitting it along the
/// BLAKE3 tree onto two threads down to `depth` levels.
fn subtree(
    file: &File,
    offset: u64,
    len: u64,
    root: bool,
    depth: u32,
    progress: &Progress,
) -> io::Result<Node> {
    if depth == 0 || len <= LEAF {
        let mut hasher = blake3::Hasher::new();
        hasher.set_input_offset(offset);
        let mut buf = vec![0u8; READ_BUF];
        let read = read_range(file, offset, len, &mut hasher, &mut buf, progress)?;
        if read != len {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank"));
        }
        return Ok(if root {
            Node::Root(hasher.finalize())
        } else {
            Node::Cv(hasher.finalize_non_root())
        });
    }
    let left_len = blake3::hazmat::left_subtree_len(len);
    let (left, right) = crate::pool::join(
        || subtree(file, offset, left_len, false, depth - 1, progress),
        || {
            subtree(
                file,
                offset + left_len,
                len - left_len,
                false,
                depth - 1,
                progress,
            )
        },
    );
    let (Node::Cv(l), Node::Cv(r)) = (left?, right?) else {
        return Err(io::Error::other("subtree returned a root"));
    };
    Ok(if root {
        Node::Root(merge_subtrees_root(&l, &r, Mode::Hash))
    } else {
        Node::Cv(merge_subtrees_non_root(&l, &r, Mode::Hash))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_hash_equals_plain_blake3() {
        let dir = tempfile::tempdir().unwrap();
        for len in [
            0u64,
            1,
            1024,
            1025,
            LEAF + 3,
            SPLIT_FROM + 12345,
            3 * SPLIT_FROM,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let path = dir.path().join("f");
            std::fs::write(&path, &data).unwrap();
            let mut buf = vec![0u8; READ_BUF];
            let got = hash_one(&path, len, 3, &mut buf, &Progress::default()).unwrap();
            assert_eq!(got, blake3::hash(&data).to_hex().to_string(), "{len}");
        }
    }
}
