//! How much the evidence rules' file lookups cost the kernel, and whether a
//! listing of each trial's `results/` would answer them cheaper than one
//! `fstatat` a rule (the question of issue 16, item 1; bench/RESULTS.md).
//!
//! For every trial dir of RUN_DIR it opens and reads
//! `results/trial_manifest.json` (what scan-trials and status both pay), then
//! looks for the files the default evidence rules name, in one of four ways:
//!
//! * `manifest`: nothing more (the floor);
//! * `stat`: one `fstatat` from the run dir a path, as `rk status` does;
//! * `dirfd`: `results/` opened once (`O_PATH`), the manifest and the names
//!   looked up from it;
//! * `list`: `results/` opened once, the manifest read from it, the dir read
//!   to its end with `getdents64`, and only the names it lists stat'ed.
//!
//! Each pass is timed in CPU time of the calling thread (one thread, so
//! other programs on the machine disturb it less than wall time); the
//! output is the minimum and median over ROUNDS passes of each way.
//!
//! usage: bench_lookups RUN_DIR [ROUNDS]
//!
//! `bench/bench.py` runs it on the 10,000-trial run: the `stat` median less
//! the `manifest` median is the floor its status target compares with.
//!
//! It measures Linux system calls (`O_PATH`, `getdents64`), so elsewhere it
//! only says so: `cargo test` builds every example on every platform.

#[cfg(target_os = "linux")]
mod linux;

#[cfg(target_os = "linux")]
fn main() {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!(
        "bench_lookups measures Linux system calls (O_PATH, getdents64); nothing to measure here"
    );
    std::process::exit(2);
}
