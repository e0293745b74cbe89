//! Atomic file replacement and write-once creation, in one place.
//!
//! The one idea: a reader must only ever see the old bytes or the new bytes of
//! a file, whatever instant the writer dies at. So every write goes to a temp
//! file in the same directory (named `.tmp-…`, which readers and `rk fsck`
//! know to ignore or report), is synced, and is then renamed over the target;
//! the directory is synced so the rename itself survives a power cut.
//!
//! Nothing here follows a symlink: temp files are opened `O_EXCL|O_NOFOLLOW`,
//! and a target or parent directory that is a symlink is refused, so a write
//! can never land outside the run directory.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Prefix of every temp file rk writes; readers ignore such names.
pub const TMP_PREFIX: &str = ".tmp-";

/// Mode of ordinary files rk writes (`run_state.json`, `HEAD`).
pub const FILE_MODE: u32 = 0o644;
/// Mode of immutable objects.
pub const OBJECT_MODE: u32 = 0o444;

/// What `create_new` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Created {
    /// The file was created with the given bytes.
    New,
    /// A file already existed at the target; it was left untouched.
    Existed,
}

/// Replace `path` with `bytes` atomically (temp → write → fsync → rename →
/// fsync dir). The file gets exactly `mode`.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    refuse_symlink(path)?;
    let dir = parent(path)?;
    let (tmp, file) = create_temp(&dir, bytes, mode)?;
    drop(file);
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(&dir)
}

/// Replace `path` with `bytes` atomically but without waiting for the disk
/// (no fsync): readers still see the old bytes or the new, but a power cut
/// may lose the change. Only for courtesy copies that rk renders again after
/// every change (`STATUS.md`), never for state.
pub fn write_atomic_unsynced(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    refuse_symlink(path)?;
    let dir = parent(path)?;
    let (tmp, file) = create_temp_with(&dir, bytes, mode, false)?;
    drop(file);
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Create `path` with `bytes` unless it exists (rename without replacing).
/// An existing file is never touched; the caller decides what it means.
pub fn create_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<Created> {
    refuse_symlink(path)?;
    let dir = parent(path)?;
    let (tmp, file) = create_temp(&dir, bytes, mode)?;
    drop(file);
    let result = match rename_noreplace(&tmp, path) {
        // Without RENAME_NOREPLACE, link(2) never replaces either.
        Err(e) if e.kind() == io::ErrorKind::Unsupported => std::fs::hard_link(&tmp, path),
        other => other,
    };
    let _ = std::fs::remove_file(&tmp);
    match result {
        Ok(()) => {
            sync_dir(&dir)?;
            Ok(Created::New)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(Created::Existed),
        Err(e) => Err(e),
    }
}

/// Mode of directories rk creates (`.rk/`, `.rk/objects/xx/`).
pub const DIR_MODE: u32 = 0o755;

/// Create `dir` and its missing parents with [`DIR_MODE`] (never wider than
/// it, whatever the umask), like `create_dir_all`.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
}

/// Create one directory with [`DIR_MODE`] (never wider, whatever the umask);
/// an existing one is `AlreadyExists`.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(DIR_MODE).create(dir)
}

/// fsync a directory, so renames and creations in it are durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Refuse a path that is a symlink, or whose parent directory is one.
pub fn refuse_symlink(path: &Path) -> io::Result<()> {
    let check = |p: &Path| -> io::Result<()> {
        match std::fs::symlink_metadata(p) {
            Ok(meta) if meta.file_type().is_symlink() => Err(io::Error::other(format!(
                "{} is a symlink; rk never writes through a symlink",
                p.display()
            ))),
            _ => Ok(()),
        }
    };
    check(path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        check(dir)?;
    }
    Ok(())
}

/// Size bounds for the files rk reads whole. A file past its bound is refused
/// before it is read: a symlink to `/dev/zero` or a runaway writer must never
/// make rk read without end.
pub mod limit {
    /// `run_state.json`, a state on stdin, and store objects.
    pub const STATE: u64 = 256 << 20;
    /// A config file (`effective_config.yaml`, `--config`, `c.yaml`).
    pub const CONFIG: u64 = 256 << 20;
    /// `.rk/HEAD`, `STOP_REQUESTED` and other one-line files.
    pub const SMALL: u64 = 64 << 10;
    /// `.rk/log`.
    pub const LOG: u64 = 1 << 30;
}

/// Open `path` for reading without ever blocking: `O_NONBLOCK` (a FIFO opens
/// at once instead of waiting for a writer), then `fstat` — anything but a
/// regular file is refused (`EISDIR` for a directory, an error naming the
/// kind otherwise), so a FIFO, a socket or a device such as `/dev/zero` is
/// never read. Symlinks are followed; where they point is checked. Returns
/// the file and its length (from the same `fstat`).
pub fn open_regular(path: &Path) -> io::Result<(File, u64)> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)?;
    let len = check_regular(&file)?;
    Ok((file, len))
}

/// Refuse an open file that is not a regular file (see [`open_regular`]);
/// the length of one that is.
pub fn check_regular(file: &File) -> io::Result<u64> {
    use std::os::unix::fs::FileTypeExt;
    let meta = file.metadata()?;
    let ft = meta.file_type();
    if ft.is_file() {
        return Ok(meta.len());
    }
    if ft.is_dir() {
        return Err(io::Error::from_raw_os_error(libc::EISDIR));
    }
    let kind = if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else {
        "not a file"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("is {kind}, not a regular file; rk reads only regular files"),
    ))
}

/// Read a whole regular file of at most `limit` bytes, never blocking on a
/// FIFO or device ([`open_regular`]) and never reading past the bound.
pub fn read_regular(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let (file, len) = open_regular(path)?;
    if len > limit {
        return Err(too_large(len, limit));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64, limit));
    }
    Ok(bytes)
}

pub fn too_large(len: u64, limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("is {len} bytes or more, over rk's bound of {limit} bytes for this file"),
    )
}

fn parent(path: &Path) -> io::Result<PathBuf> {
    match path.parent() {
        Some(d) if d.as_os_str().is_empty() => Ok(PathBuf::from(".")),
        Some(d) => Ok(d.to_path_buf()),
        None => Err(io::Error::other(format!(
            "{} has no parent directory",
            path.display()
        ))),
    }
}

/// A fresh `.tmp-…` file in `dir` holding `bytes`, synced, with `mode`.
fn create_temp(dir: &Path, bytes: &[u8], mode: u32) -> io::Result<(PathBuf, File)> {
    create_temp_with(dir, bytes, mode, true)
}

/// [`create_temp`], synced or not.
fn create_temp_with(
    dir: &Path,
    bytes: &[u8],
    mode: u32,
    sync: bool,
) -> io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut attempts = 0;
    loop {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "{TMP_PREFIX}{}-{}-{nanos:x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let tmp = dir.join(name);
        let opened = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp);
        let mut file = match opened {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 100 => {
                attempts += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        let written = (|| {
            file.write_all(bytes)?;
            file.set_permissions(Permissions::from_mode(mode))?;
            if sync {
                file.sync_all()
            } else {
                Ok(())
            }
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        return Ok((tmp, file));
    }
}

/// rename(2) that never replaces `to` (`renameat2(RENAME_NOREPLACE)`): an
/// existing `to` is `AlreadyExists`. On a file system without it the error is
/// `Unsupported`, and the caller picks its fallback.
pub fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::other(format!("{} holds a NUL byte", p.display())))
    };
    let (cf, ct) = (c(from)?, c(to)?);
    // SAFETY: both are valid NUL-terminated paths; AT_FDCWD resolves them
    // relative to the cwd exactly like rename(2).
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            cf.as_ptr(),
            libc::AT_FDCWD,
            ct.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => {
            Err(io::Error::new(io::ErrorKind::Unsupported, err))
        }
        _ => Err(err),
    }
}

/// The names an aside of `path` may take: `<name>.<kind>.<stamp>`, then
/// `<name>.<kind>.<stamp>-2`, `-3`, … so that two asides within the same
/// second never share a name.
fn aside_names(path: &Path, kind: &str, stamp: &str) -> impl Iterator<Item = PathBuf> {
    let mut base = path.as_os_str().to_owned();
    base.push(format!(".{kind}.{stamp}"));
    (1..=1000u32).map(move |n| {
        let mut name = base.clone();
        if n > 1 {
            name.push(format!("-{n}"));
        }
        PathBuf::from(name)
    })
}

/// Keep `bytes` aside as `<path>.<kind>.<stamp>` (or `…-N`), never over an
/// earlier aside. Returns the name used.
pub fn write_aside(path: &Path, kind: &str, stamp: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    for candidate in aside_names(path, kind, stamp) {
        if create_new(&candidate, bytes, FILE_MODE)? == Created::New {
            return Ok(candidate);
        }
    }
    Err(io::Error::other(format!(
        "too many {kind} copies of {} at {stamp}",
        path.display()
    )))
}

/// Move `path` aside to `<path>.<kind>.<stamp>` (or `…-N`) by a rename that
/// never replaces an earlier aside. Returns the name used.
pub fn move_aside(path: &Path, kind: &str, stamp: &str) -> io::Result<PathBuf> {
    for candidate in aside_names(path, kind, stamp) {
        let moved = match rename_noreplace(path, &candidate) {
            Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                // link(2) never replaces either; then drop the old name.
                std::fs::hard_link(path, &candidate).and_then(|()| std::fs::remove_file(path))
            }
            other => other,
        };
        match moved {
            Ok(()) => {
                sync_dir(&parent(path)?)?;
                return Ok(candidate);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "too many {kind} copies of {} at {stamp}",
        path.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_creates_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_atomic(&p, b"one", FILE_MODE).unwrap();
        write_atomic(&p, b"two", FILE_MODE).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let meta = std::fs::metadata(&p).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o644);
        let o = dir.path().join("o");
        assert_eq!(create_new(&o, b"x", OBJECT_MODE).unwrap(), Created::New);
        assert_eq!(create_new(&o, b"y", OBJECT_MODE).unwrap(), Created::Existed);
        assert_eq!(std::fs::read(&o).unwrap(), b"x");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.starts_with(TMP_PREFIX)),
            "{names:?}"
        );
    }

    #[test]
    fn asides_never_overwrite_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("run_state.json");
        let a = write_aside(&p, "corrupt", "20250101T000000Z", b"one").unwrap();
        let b = write_aside(&p, "corrupt", "20250101T000000Z", b"two").unwrap();
        assert_ne!(a, b);
        assert_eq!(std::fs::read(&a).unwrap(), b"one");
        assert_eq!(std::fs::read(&b).unwrap(), b"two");
        std::fs::write(&p, b"three").unwrap();
        let c = move_aside(&p, "corrupt", "20250101T000000Z").unwrap();
        assert!(c.to_string_lossy().ends_with(".corrupt.20250101T000000Z-3"));
        assert_eq!(std::fs::read(&c).unwrap(), b"three");
        assert!(!p.exists());
    }

    #[test]
    fn reads_only_regular_files_within_their_bound() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"12345").unwrap();
        assert_eq!(read_regular(&f, 5).unwrap(), b"12345");
        assert!(read_regular(&f, 4)
            .unwrap_err()
            .to_string()
            .contains("bound of 4"));
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo of a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        assert!(read_regular(&fifo, 100)
            .unwrap_err()
            .to_string()
            .contains("a FIFO"));
        let zero = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert!(read_regular(&zero, 100)
            .unwrap_err()
            .to_string()
            .contains("character device"));
        assert_eq!(
            read_regular(dir.path(), 100).unwrap_err().raw_os_error(),
            Some(libc::EISDIR)
        );
    }

    #[test]
    fn refuses_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, b"keep").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        assert!(write_atomic(&link, b"evil", FILE_MODE).is_err());
        assert_eq!(std::fs::read(&outside).unwrap(), b"keep");
    }
}
