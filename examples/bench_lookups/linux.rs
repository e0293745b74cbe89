//! The Linux system calls behind bench_lookups (see main.rs).

use std::ffi::CString;
use std::os::fd::RawFd;

/// The files of the default rules below `results/` (`parse`, `score`,
/// `stats`, `costs`; `poll` looks at the combined file, then at a part's).
const IN_RESULTS: [&str; 5] = [
    "predictions.csv",
    "per_item_scores.csv",
    "significance.json",
    "costs.json",
    "results_combined.jsonl",
];
/// A part's results, looked at when the combined file is absent.
const PART: &str = "a_p01/results.jsonl";
const PART_DIR: &str = "a_p01";

fn c(s: &str) -> CString {
    CString::new(s).expect("no NUL in a path")
}

/// The file exists (through symlinks), is regular and holds a byte.
fn non_empty(dir: RawFd, path: &std::ffi::CStr) -> bool {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: a NUL-terminated path and a stat buffer fstatat fills on 0.
    if unsafe { libc::fstatat(dir, path.as_ptr(), st.as_mut_ptr(), 0) } != 0 {
        return false;
    }
    // SAFETY: fstatat returned 0.
    let st = unsafe { st.assume_init() };
    st.st_mode & libc::S_IFMT == libc::S_IFREG && st.st_size > 0
}

fn open(dir: RawFd, path: &std::ffi::CStr, flags: i32) -> RawFd {
    // SAFETY: a NUL-terminated path; the result is checked by the caller.
    unsafe { libc::openat(dir, path.as_ptr(), flags | libc::O_CLOEXEC) }
}

fn close(fd: RawFd) {
    // SAFETY: `fd` was opened here and is closed once.
    unsafe { libc::close(fd) };
}

fn read_manifest(dir: RawFd, path: &std::ffi::CStr, buf: &mut [u8]) {
    let fd = open(dir, path, libc::O_RDONLY | libc::O_NONBLOCK);
    if fd >= 0 {
        // SAFETY: `buf` is writable for its length.
        unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        close(fd);
    }
}

/// Which of `wanted` the dir lists (bit i: `wanted[i]`), read to the end.
fn list(dir: RawFd, buf: &mut [u8], wanted: &[&str]) -> u32 {
    let mut listed = 0;
    loop {
        // SAFETY: getdents64 writes at most `buf.len()` bytes into `buf`.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, dir, buf.as_mut_ptr(), buf.len()) };
        if n <= 0 {
            return listed;
        }
        let mut at = 0;
        while at < n as usize {
            // struct linux_dirent64: u64 ino, i64 off, u16 reclen, u8 type, name.
            let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
            let name = &buf[at + 19..at + reclen];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if let Some(i) = wanted.iter().position(|w| w.as_bytes() == name) {
                listed |= 1 << i;
            }
            at += reclen;
        }
    }
}

/// `slug/rest` NUL-terminated in `path`, reused from trial to trial (as
/// rk builds its paths), so the ways differ only in their system calls.
fn at<'p>(path: &'p mut Vec<u8>, slug: &str, rest: &str) -> &'p std::ffi::CStr {
    path.clear();
    path.extend_from_slice(slug.as_bytes());
    path.push(b'/');
    path.extend_from_slice(rest.as_bytes());
    path.push(0);
    std::ffi::CStr::from_bytes_with_nul(path).expect("no NUL in a path")
}

fn pass(way: &str, run: RawFd, slugs: &[String]) -> usize {
    let mut found = 0;
    let mut buf = vec![0u8; 32 * 1024];
    let wanted: Vec<&str> = IN_RESULTS.iter().copied().chain([PART_DIR]).collect();
    let manifest = c("trial_manifest.json");
    let in_results: Vec<CString> = IN_RESULTS.iter().map(|n| c(n)).collect();
    let part = c(PART);
    let below_results: Vec<String> = IN_RESULTS.iter().map(|n| format!("results/{n}")).collect();
    let mut path = Vec::new();
    for slug in slugs {
        match way {
            "manifest" | "stat" => {
                read_manifest(
                    run,
                    at(&mut path, slug, "results/trial_manifest.json"),
                    &mut buf,
                );
                if way == "stat" {
                    for n in &below_results[..4] {
                        found += usize::from(non_empty(run, at(&mut path, slug, n)));
                    }
                    if non_empty(run, at(&mut path, slug, "results/results_combined.jsonl")) {
                        found += 1;
                    } else {
                        found += usize::from(non_empty(
                            run,
                            at(&mut path, slug, "results/a_p01/results.jsonl"),
                        ));
                    }
                    found += usize::from(non_empty(run, at(&mut path, slug, "reports/report.md")));
                }
            }
            "dirfd" => {
                let dir = open(
                    run,
                    at(&mut path, slug, "results"),
                    libc::O_PATH | libc::O_DIRECTORY,
                );
                if dir >= 0 {
                    read_manifest(dir, &manifest, &mut buf);
                    for n in &in_results[..4] {
                        found += usize::from(non_empty(dir, n));
                    }
                    if non_empty(dir, &in_results[4]) {
                        found += 1;
                    } else {
                        found += usize::from(non_empty(dir, &part));
                    }
                    close(dir);
                }
                found += usize::from(non_empty(run, at(&mut path, slug, "reports/report.md")));
            }
            _ => {
                let dir = open(
                    run,
                    at(&mut path, slug, "results"),
                    libc::O_RDONLY | libc::O_DIRECTORY,
                );
                if dir >= 0 {
                    read_manifest(dir, &manifest, &mut buf);
                    let listed = list(dir, &mut buf, &wanted);
                    for (i, path) in in_results[..4].iter().enumerate() {
                        found += usize::from(listed & 1 << i != 0 && non_empty(dir, path));
                    }
                    if listed & 1 << 4 != 0 && non_empty(dir, &in_results[4]) {
                        found += 1;
                    } else if listed & 1 << 5 != 0 {
                        found += usize::from(non_empty(dir, &part));
                    }
                    close(dir);
                }
                found += usize::from(non_empty(run, at(&mut path, slug, "reports/report.md")));
            }
        }
    }
    found
}

fn cpu_ms() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 * 1e3 + t.tv_nsec as f64 / 1e6
}

pub fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(run_dir) = args.first() else {
        eprintln!("usage: bench_lookups RUN_DIR [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(15);
    let mut slugs: Vec<String> = std::fs::read_dir(run_dir)
        .expect("a readable run dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("results").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    slugs.sort();
    let run = open(
        libc::AT_FDCWD,
        &c(run_dir),
        libc::O_RDONLY | libc::O_DIRECTORY,
    );
    assert!(run >= 0, "cannot open {run_dir}");
    let ways = ["manifest", "stat", "dirfd", "list"];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); ways.len()];
    let mut found = vec![0; ways.len()];
    for _ in 0..rounds {
        for (i, way) in ways.iter().enumerate() {
            let start = cpu_ms();
            found[i] = pass(way, run, &slugs);
            times[i].push(cpu_ms() - start);
        }
    }
    println!(
        "{} trials, {rounds} passes each, CPU ms of one thread",
        slugs.len()
    );
    for (i, way) in ways.iter().enumerate() {
        let t = &mut times[i];
        t.sort_by(f64::total_cmp);
        println!(
            "{way:<9} min {:7.1}  median {:7.1}  ({} files found)",
            t[0],
            t[t.len() / 2],
            found[i]
        );
    }
}
