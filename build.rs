//! On Linux with glibc, link GCC's unwinder statically (libgcc_eh.a, as
//! `gcc -static-libgcc` does) instead of loading libgcc_s.so.1 at every start.
//! That library's constructor probes the processor with `cpuid` several
//! times, and under a hypervisor each `cpuid` traps: it was a tenth of the
//! start-up of `rk --version` and of `rk hash-config FILE` (bench/RESULTS.md).
//! Where the C compiler does not know libgcc_eh.a, nothing changes.

use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let var = |name: &str| env::var(name).unwrap_or_default();
    let gnu_linux = var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu";
    // A static build (crt-static) links libgcc_eh.a already.
    let crt_static = var("CARGO_CFG_TARGET_FEATURE")
        .split(',')
        .any(|f| f == "crt-static");
    if gnu_linux && !crt_static && compiler_has_libgcc_eh() {
        println!("cargo:rustc-link-lib=static:-bundle=gcc_eh");
    }
}

/// Whether the C compiler that links rk finds libgcc_eh.a: asked for a file
/// it does not have, `cc -print-file-name` prints the bare name back.
fn compiler_has_libgcc_eh() -> bool {
    let linker = env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".into());
    Command::new(linker)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .is_some_and(|path| path != "libgcc_eh.a" && std::path::Path::new(&path).is_file())
}
