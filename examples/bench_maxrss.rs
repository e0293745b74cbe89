//! Run a command and print its peak resident memory in KB (ru_maxrss of the
//! waited-for child), for `bench/bench.py`.
//!
//! Measuring from the Python harness itself would be wrong: a child's
//! ru_maxrss starts at the RSS of the process it was forked from (Python,
//! ~18 MB), so the harness forks through this small process instead.
//!
//! usage: bench_maxrss CMD [ARG]…

use std::process::{Command, Stdio};

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        eprintln!("usage: bench_maxrss CMD [ARG]...");
        std::process::exit(2);
    };
    let status = Command::new(cmd)
        .args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    match status {
        Ok(s) => {
            println!("{}", usage.ru_maxrss);
            std::process::exit(s.code().unwrap_or(1));
        }
        Err(e) => {
            eprintln!("bench_maxrss: cannot run {}: {e}", cmd.to_string_lossy());
            std::process::exit(127);
        }
    }
}
