//! Reading every trial manifest of a run, in slug order, on every core.
//!
//! [`scan`] is the one loop: the glob lists the candidates (sorted), worker
//! threads ([`crate::pool::stream`]) take them in chunks, read each file once
//! into a buffer they reuse, and turn it into whatever the caller's `map`
//! makes of it (an NDJSON line, an evidence verdict, an owned manifest). The
//! calling thread hands each result to `each` in slug order while the next
//! are read. Memory stays flat in the number of trials: at most a window of
//! chunks of results waits for a slow neighbour.
//!
//! Files are opened relative to the run dir with `openat2(RESOLVE_BENEATH)`
//! on Linux, so no symlink can lead a read out of the run dir; elsewhere (or
//! where the kernel lacks openat2) the path is canonicalized and checked.
//! Reading never writes: a scan is safe on a run the orchestrator is writing.

use super::glob::{Candidate, Pattern};
use super::Error;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Below this many candidates one thread is faster than starting workers.
const PARALLEL_FROM: usize = 64;

/// What reading one candidate gave.
#[derive(Debug)]
pub enum FileRead<'b> {
    /// The manifest's bytes.
    Bytes(&'b [u8]),
    /// The glob matched an entry, but it cannot be read (a dangling symlink,
    /// no permission, an I/O error): the message says why.
    Missing(String),
}

/// Read every trial manifest `pattern` matches under `run_dir`; `map` runs on
/// worker threads, `each` on the calling thread in slug order. An error from
/// `each` (a closed pipe) stops the scan and is returned.
pub fn scan<T, E>(
    run_dir: &Path,
    pattern: &Pattern,
    map: impl Fn(&Candidate, FileRead<'_>) -> T + Sync + Send,
    mut each: impl FnMut(T) -> Result<(), E>,
) -> Result<(), E>
where
    T: Send,
    E: From<Error>,
{
    let candidates = pattern.candidates(run_dir).map_err(|source| Error::Read {
        path: run_dir.display().to_string(),
        source,
    })?;
    let opener = Opener::new(run_dir)?;
    let process = |i: usize, buf: &mut Vec<u8>| -> Option<T> {
        let candidate = candidates.get(i);
        let read = opener.read(&candidate.path, buf)?;
        Some(map(&candidate, read))
    };
    crate::pool::stream(
        "reading trial manifests",
        candidates.len(),
        PARALLEL_FROM,
        Vec::new,
        |buf, i| process(i, buf),
        |t| match t {
            Some(t) => each(t),
            None => Ok(()),
        },
    )
    .map_err(|e| E::from(Error::from(e)))?
}

/// Opens candidates relative to the run dir without leaving it.
struct Opener {
    run_dir: std::path::PathBuf,
    #[cfg(target_os = "linux")]
    dir_fd: Option<std::os::fd::OwnedFd>,
    canonical_run: std::path::PathBuf,
}

impl Opener {
    fn new(run_dir: &Path) -> Result<Opener, Error> {
        let read_err = |source| Error::Read {
            path: run_dir.display().to_string(),
            source,
        };
        let canonical_run = std::fs::canonicalize(run_dir).map_err(read_err)?;
        #[cfg(target_os = "linux")]
        let dir_fd = {
            let fd: std::os::fd::OwnedFd = File::open(run_dir).map_err(read_err)?.into();
            beneath::supported(&fd).then_some(fd)
        };
        Ok(Opener {
            run_dir: run_dir.into(),
            #[cfg(target_os = "linux")]
            dir_fd,
            canonical_run,
        })
    }

    /// Read `rel` into `buf`. `None`: not a match (absent, a directory, or
    /// behind a symlink that leads out of the run dir).
    fn read<'b>(&self, rel: &str, buf: &'b mut Vec<u8>) -> Option<FileRead<'b>> {
        let file = match self.open(rel) {
            Ok(file) => file,
            Err(e) => return self.open_failed(rel, e),
        };
        match read_into(file, buf) {
            Ok(len) => Some(FileRead::Bytes(&buf[..len])),
            Err(e) if e.raw_os_error() == Some(libc::EISDIR) => None,
            Err(e) => Some(FileRead::Missing(format!("cannot read: {}", plain(&e)))),
        }
    }

    fn open_failed<'b>(&self, rel: &str, e: io::Error) -> Option<FileRead<'b>> {
        match e.raw_os_error() {
            Some(libc::ENOENT) => {
                // Absent is no match; an entry that exists but cannot be
                // opened (a dangling symlink) is a trial whose manifest is
                // missing.
                let meta = std::fs::symlink_metadata(self.run_dir.join(rel)).ok()?;
                meta.file_type()
                    .is_symlink()
                    .then(|| FileRead::Missing("dangling symlink".into()))
            }
            Some(libc::ENOTDIR | libc::EXDEV | libc::ELOOP | libc::EISDIR) => None,
            _ => Some(FileRead::Missing(format!("cannot open: {}", plain(&e)))),
        }
    }

    fn open(&self, rel: &str) -> io::Result<File> {
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.dir_fd {
            match beneath::open(fd, rel) {
                // RESOLVE_BENEATH also refuses absolute symlinks, even those
                // that point back inside: those few take the slow check.
                Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {}
                other => return other,
            }
        }
        let path = self.run_dir.join(rel);
        let real = std::fs::canonicalize(&path)?;
        if !real.starts_with(&self.canonical_run) {
            return Err(io::Error::from_raw_os_error(libc::EXDEV));
        }
        open_nonblocking(&path)
    }
}

fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

/// Read the whole file into `buf` (reused across files; its length is its
/// capacity, zero-filled once) without the extra `statx` and `lseek` that
/// `read_to_end` makes per file.
///
/// A read that returns less than asked is taken as the end of the file when
/// the bytes end like a complete JSON object (`}` and whitespace): one `read`
/// per manifest instead of two. Anything else is read on until `read`
/// returns 0, so a short read can never make a sound manifest look corrupt.
fn read_into(mut file: File, buf: &mut Vec<u8>) -> io::Result<usize> {
    if buf.len() < 16 * 1024 {
        buf.resize(16 * 1024, 0);
    }
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let want = buf.len() - len;
        match file.read(&mut buf[len..]) {
            Ok(0) => return Ok(len),
            Ok(n) => {
                len += n;
                if n < want && ends_like_object(&buf[..len]) {
                    return Ok(len);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn ends_like_object(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .rev()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'}')
}

/// An OS error without the "(os error N)" suffix.
fn plain(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(target_os = "linux")]
mod beneath {
    //! `openat2(dirfd, path, RESOLVE_BENEATH)`: the kernel refuses (EXDEV)
    //! any resolution that would leave the directory, symlinks included.

    use std::fs::File;
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    pub fn open(dir: &OwnedFd, rel: &str) -> io::Result<File> {
        if rel.as_bytes().contains(&0) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        // A NUL-terminated copy, on the stack for the usual short path.
        let mut stack = [0u8; 256];
        let heap: Vec<u8>;
        let path: &[u8] = if rel.len() < stack.len() {
            stack[..rel.len()].copy_from_slice(rel.as_bytes());
            &stack[..=rel.len()]
        } else {
            heap = [rel.as_bytes(), b"\0"].concat();
            &heap
        };
        // SAFETY: open_how is plain integers; all-zero is its valid default.
        let mut how: libc::open_how = unsafe { std::mem::zeroed() };
        how.flags = (libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOCTTY) as u64;
        how.resolve = libc::RESOLVE_BENEATH;
        // SAFETY: `path` is NUL-terminated (no NUL inside) and `how` is a valid open_how of
        // the size passed; the kernel reads both and returns a new fd or -1.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the syscall returned a fresh descriptor that nothing else owns.
        Ok(unsafe { File::from_raw_fd(fd as i32) })
    }

    /// Whether this kernel (and any seccomp filter) allows openat2.
    pub fn supported(dir: &OwnedFd) -> bool {
        match open(dir, ".") {
            Ok(_) => true,
            Err(e) => !matches!(
                e.raw_os_error(),
                Some(libc::ENOSYS | libc::EPERM | libc::EINVAL)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(run: &Path, pattern: &str) -> Vec<(String, String)> {
        let pattern = Pattern::parse(pattern).unwrap();
        let mut out = Vec::new();
        scan::<_, Error>(
            run,
            &pattern,
            |c, read| {
                let what = match read {
                    FileRead::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
                    FileRead::Missing(m) => format!("missing: {m}"),
                };
                (c.slug.clone(), what)
            },
            |t| {
                out.push(t);
                Ok(())
            },
        )
        .unwrap();
        out
    }

    #[test]
    fn many_trials_come_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path();
        for i in 0..700 {
            let d = run.join(format!("t{i:04}/results"));
            std::fs::create_dir_all(&d).unwrap();
            if i % 7 != 0 {
                std::fs::write(d.join("m.json"), format!("{i}").repeat(i % 50)).unwrap();
            }
        }
        let got = collect(run, "*/results/m.json");
        let want: Vec<(String, String)> = (0..700)
            .filter(|i| i % 7 != 0)
            .map(|i| (format!("t{i:04}"), format!("{i}").repeat(i % 50)))
            .collect();
        assert_eq!(got, want);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_stay_inside_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(outside.join("results")).unwrap();
        std::fs::write(outside.join("results/m.json"), "secret").unwrap();
        std::fs::create_dir_all(run.join("a/results")).unwrap();
        std::fs::write(run.join("a/results/m.json"), "a").unwrap();
        std::os::unix::fs::symlink(&outside, run.join("b")).unwrap();
        std::os::unix::fs::symlink(run.join("a"), run.join("c")).unwrap();
        std::fs::create_dir_all(run.join("d/results")).unwrap();
        std::os::unix::fs::symlink("nowhere", run.join("d/results/m.json")).unwrap();
        std::fs::create_dir_all(run.join("e/results/m.json")).unwrap();
        let got = collect(&run, "*/results/m.json");
        assert_eq!(
            got,
            [
                ("a".to_string(), "a".to_string()),
                ("c".to_string(), "a".to_string()),
                ("d".to_string(), "missing: dangling symlink".to_string()),
            ]
        );
    }

    #[test]
    fn an_error_from_each_stops_the_scan() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..300 {
            let d = dir.path().join(format!("t{i:03}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("m.json"), "{}").unwrap();
        }
        let pattern = Pattern::parse("*/m.json").unwrap();
        let mut seen = 0;
        let result = scan(
            dir.path(),
            &pattern,
            |c, _| c.slug.clone(),
            |_| {
                seen += 1;
                if seen == 10 {
                    Err(Error::Read {
                        path: "stdout".into(),
                        source: io::Error::from(io::ErrorKind::BrokenPipe),
                    })
                } else {
                    Ok(())
                }
            },
        );
        assert!(result.is_err());
        assert_eq!(seen, 10);
    }
}
