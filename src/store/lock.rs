//! The two locks of a run, both flock(2) (docs/FORMATS.md#locks).
//!
//! * `.state.lock` — every writer of `run_state.json` takes it exclusively;
//!   it is the very lock Python's `fcntl.flock` takes, so rk and the
//!   orchestrator exclude each other. rk waits for it a bounded time
//!   (10 s, `RK_LOCK_TIMEOUT_MS` overrides) and then gives up with exit 4.
//! * `.rk/run.lock` — the dispatch lock `rk resume` holds for as long as the
//!   orchestrator lives. The flock is the truth; the JSON in the file (pid,
//!   host, start, command) is for messages only, so a crashed holder never
//!   leaves a stale lock. Probes take a *shared* non-blocking lock and let go
//!   at once; `try_acquire` retries its exclusive attempt for a moment so a
//!   concurrent probe never makes it fail.
//!
//! Lock files are opened with `O_NOFOLLOW`: a symlink planted in their place
//! is refused, never followed.

use super::{io_err, Error};
use crate::project::RunDir;
use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a writer waits for `.state.lock` by default.
pub const STATE_LOCK_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `DispatchLock::try_acquire` retries its exclusive attempt.
pub const DISPATCH_RETRY: Duration = Duration::from_millis(200);

fn open_lock_file(path: &Path, write: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK);
    if write {
        options.write(true).create(true).mode(0o644);
    }
    // O_NONBLOCK: a FIFO in place of a lock file opens at once and is then
    // refused as not a regular file, instead of blocking rk (and `rk list`).
    let file = options.open(path)?;
    super::atomic::check_regular(&file)?;
    Ok(file)
}

/// The state-file lock, held until dropped.
#[derive(Debug)]
pub struct StateLock {
    file: File,
    path: PathBuf,
}

/// `RK_LOCK_TIMEOUT_MS` is set but is not a whole number of milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("RK_LOCK_TIMEOUT_MS={0:?} is not a number of milliseconds")]
pub struct BadLockTimeout(pub String);

/// How long `RK_LOCK_TIMEOUT_MS` says to wait for `.state.lock`, if set (empty
/// is unset); an error when it is not a whole number of milliseconds.
pub fn lock_timeout_from_env() -> Result<Option<Duration>, BadLockTimeout> {
    crate::environment::whole_number("RK_LOCK_TIMEOUT_MS", |_: &u64| true)
        .map(|ms| ms.map(Duration::from_millis))
        .map_err(BadLockTimeout)
}

impl StateLock {
    /// Take `.state.lock` exclusively, waiting up to the timeout
    /// (`RK_LOCK_TIMEOUT_MS` when set, else 10 s); then exit 4 naming the
    /// holder when `/proc/locks` tells it.
    pub fn acquire(path: &Path) -> Result<StateLock, Error> {
        // An invalid value is refused by the CLI before any work starts.
        let timeout = lock_timeout_from_env()
            .ok()
            .flatten()
            .unwrap_or(STATE_LOCK_TIMEOUT);
        StateLock::acquire_within(path, timeout)
    }

    pub fn acquire_within(path: &Path, timeout: Duration) -> Result<StateLock, Error> {
        let file = open_lock_file(path, true).map_err(|e| io_err(path, e))?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => {
                    return Ok(StateLock {
                        file,
                        path: path.to_path_buf(),
                    })
                }
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => return Err(io_err(path, e)),
            }
            if start.elapsed() >= timeout {
                return Err(Error::LockBusy {
                    path: path.display().to_string(),
                    holder: lock_holder(&file),
                    waited_ms: start.elapsed().as_millis() as u64,
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Who holds a lock, from `/proc/locks` and `/proc/<pid>/cmdline` (Linux).
fn lock_holder(file: &File) -> Option<String> {
    let meta = file.metadata().ok()?;
    let (major, minor) = (libc::major(meta.dev()), libc::minor(meta.dev()));
    let wanted = format!("{major:02x}:{minor:02x}:{}", meta.ino());
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    let me = std::process::id().to_string();
    for line in locks.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
        let Some(pos) = fields.iter().position(|f| *f == "FLOCK") else {
            continue;
        };
        let (Some(pid), Some(dev_ino)) = (fields.get(pos + 3), fields.get(pos + 4)) else {
            continue;
        };
        if *dev_ino != wanted || *pid == me || fields.contains(&"->") {
            continue;
        }
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
            .ok()
            .map(|b| {
                b.split(|c| *c == 0)
                    .filter(|s| !s.is_empty())
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|c| !c.is_empty());
        return Some(match cmd {
            Some(cmd) => format!("pid {pid}: {cmd}"),
            None => format!("pid {pid}"),
        });
    }
    None
}

/// What the dispatch lock file says about its holder. Every field is
/// optional: the file is informational and may be half-written.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Holder {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
}

impl Holder {
    /// This process, now, running `command`.
    pub fn current(command: Vec<String>) -> Holder {
        Holder {
            pid: Some(std::process::id() as i64),
            host: Some(hostname()),
            started_at: Some(crate::clock::now().to_string()),
            command: Some(command),
        }
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(pid) = self.pid {
            parts.push(format!("pid {pid}"));
        }
        if let Some(host) = &self.host {
            parts.push(format!("on {host}"));
        }
        if let Some(at) = &self.started_at {
            parts.push(format!("since {at}"));
        }
        if let Some(cmd) = &self.command {
            parts.push(format!("running `{}`", cmd.join(" ")));
        }
        if parts.is_empty() {
            f.write_str("held by an unknown process")
        } else {
            write!(f, "held by {}", parts.join(" "))
        }
    }
}

/// This machine's host name.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates
    // when the name fits, and we stop at the first NUL or the end.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown".into();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

fn dispatch_lock_path(run: &RunDir) -> PathBuf {
    run.store_dir().join("run.lock")
}

fn read_holder(file: &mut File) -> Holder {
    let mut text = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.read_to_string(&mut text);
    serde_json::from_str(&text).unwrap_or_default()
}

/// The dispatch lock `.rk/run.lock`, held until dropped (or, through an
/// inherited descriptor, until the child that inherited it ends).
#[derive(Debug)]
pub struct DispatchLock {
    file: File,
}

impl DispatchLock {
    /// Take the dispatch lock without waiting for its holder. The exclusive
    /// attempt is retried for ~200 ms so a concurrent probe never makes it
    /// fail. Held by someone else → `Error::RunBusy` with what the file says.
    pub fn try_acquire(run: &RunDir, holder: &Holder) -> Result<DispatchLock, Error> {
        let dir = run.store_dir();
        if !dir.is_dir() {
            super::atomic::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        }
        super::atomic::refuse_symlink(&dir.join("run.lock")).map_err(|e| io_err(&dir, e))?;
        let path = dispatch_lock_path(run);
        let mut file = open_lock_file(&path, true).map_err(|e| io_err(&path, e))?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if start.elapsed() < DISPATCH_RETRY => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(Error::RunBusy {
                        rid: run.rid.clone(),
                        holder: read_holder(&mut file),
                    })
                }
                Err(TryLockError::Error(e)) => return Err(io_err(&path, e)),
            }
        }
        let info = serde_json::to_vec(holder).unwrap_or_default();
        let written = (|| -> std::io::Result<()> {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&info)?;
            file.write_all(b"\n")
        })();
        written.map_err(|e| io_err(&path, e))?;
        Ok(DispatchLock { file })
    }

    /// Who holds the dispatch lock, if anyone. Takes a shared non-blocking
    /// lock and releases it at once, so it never blocks or fails a
    /// concurrent `try_acquire` and never leaves a stale lock.
    pub fn probe(run: &RunDir) -> Option<Holder> {
        let path = dispatch_lock_path(run);
        let mut file = open_lock_file(&path, false).ok()?;
        match file.try_lock_shared() {
            Ok(()) => {
                let _ = file.unlock();
                None
            }
            Err(TryLockError::WouldBlock) => Some(read_holder(&mut file)),
            Err(TryLockError::Error(_)) => None,
        }
    }

    /// The raw descriptor, made inheritable (FD_CLOEXEC cleared) so a child
    /// started afterwards keeps the lock for as long as it lives.
    pub fn inheritable_fd(&self) -> std::io::Result<std::os::fd::RawFd> {
        let fd = self.file.as_raw_fd();
        // SAFETY: fd is a valid descriptor owned by self.file.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: as above; only the FD_CLOEXEC bit changes.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(fd)
    }
}

/// Whether a process with this pid exists on this host.
pub fn process_alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

impl Holder {
    /// True when the holder recorded in the lock file is a process on this
    /// host that has ended: the lock is then held by the orchestrator it
    /// started (which inherited the lock), not by the recorded pid.
    pub fn ended_here(&self) -> bool {
        self.host.as_deref() == Some(hostname().as_str())
            && self
                .pid
                .and_then(|p| i32::try_from(p).ok())
                .is_some_and(|p| p > 0 && !process_alive(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_dir() -> (tempfile::TempDir, RunDir) {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir {
            rid: "r1".into(),
            path: dir.path().to_path_buf(),
        };
        (dir, run)
    }

    #[test]
    fn dispatch_lock_excludes_and_probe_sees_holder() {
        let (_d, run) = run_dir();
        assert_eq!(DispatchLock::probe(&run), None);
        let holder = Holder::current(vec!["python".into(), "-m".into(), "x".into()]);
        let lock = DispatchLock::try_acquire(&run, &holder).unwrap();
        assert_eq!(DispatchLock::probe(&run), Some(holder.clone()));
        match DispatchLock::try_acquire(&run, &holder) {
            Err(Error::RunBusy { holder: h, .. }) => assert_eq!(h, holder),
            other => panic!("expected busy, got {other:?}"),
        }
        drop(lock);
        assert_eq!(DispatchLock::probe(&run), None);
        assert!(DispatchLock::try_acquire(&run, &holder).is_ok());
    }

    #[test]
    fn probe_never_makes_acquire_fail() {
        let (_d, run) = run_dir();
        let holder = Holder::current(vec!["x".into()]);
        drop(DispatchLock::try_acquire(&run, &holder).unwrap());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let prober = {
            let run = run.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = DispatchLock::probe(&run);
                }
            })
        };
        for _ in 0..50 {
            drop(DispatchLock::try_acquire(&run, &holder).unwrap());
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        prober.join().unwrap();
    }

    #[test]
    fn state_lock_times_out() {
        let (_d, run) = run_dir();
        let path = run.path.join(".state.lock");
        let held = StateLock::acquire_within(&path, Duration::from_millis(10)).unwrap();
        match StateLock::acquire_within(&path, Duration::from_millis(50)) {
            Err(Error::LockBusy { .. }) => {}
            other => panic!("expected busy, got {other:?}"),
        }
        drop(held);
        assert!(StateLock::acquire_within(&path, Duration::from_millis(50)).is_ok());
    }
}
