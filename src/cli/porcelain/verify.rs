use crate::cli::progress::with_progress;
use crate::cli::{stdout, Context, RunArg};
use crate::error::{Error, Exit};
use crate::ops::verify;
use crate::output::Progress;
use std::io::Write;

/// Check an archived run against its `archive_manifest.json`.
///
/// Walks the run dir exactly as `rk archive` did (same exclusions, symlinks
/// never followed, files opened O_NOFOLLOW), re-hashes every file with
/// BLAKE3 on every core, and prints one line per difference:
///
///   missing PATH          recorded, not on disk
///   changed PATH: WHAT    other bytes, size, link target, or file/link kind
///   extra PATH            on disk, not recorded
///
/// then a summary line. A progress bar is shown on stderr when it is a
/// terminal and hashing takes more than a second.
///
/// Exit status: 0 clean; 1 any missing, changed or extra file; 2 no such run;
/// 5 the manifest is corrupt; 6 the run is not archived (no manifest).
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    run: RunArg,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let (project, run) = ctx.run(&args.run)?;
    let progress = Progress::default();
    let report = with_progress(&progress, || verify::verify(&project, &run, &progress))?;
    let style = ctx.style();
    let mut out = stdout();
    for p in &report.missing {
        writeln!(out, "{} {p}", style.red("missing"))?;
    }
    for (p, what) in &report.changed {
        writeln!(out, "{} {p}: {what}", style.red("changed"))?;
    }
    for p in &report.extra {
        writeln!(out, "{} {p}", style.yellow("extra"))?;
    }
    if report.is_clean() {
        writeln!(
            out,
            "ok: {} entries match the archive manifest",
            report.checked
        )?;
    } else {
        writeln!(
            out,
            "{} entries checked: {} missing, {} changed, {} extra",
            report.checked,
            report.missing.len(),
            report.changed.len(),
            report.extra.len()
        )?;
    }
    out.flush()?;
    Ok(if report.is_clean() {
        Exit::Success
    } else {
        Exit::Different
    })
}
