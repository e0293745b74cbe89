use crate::cli::{stdout, Context, RunArg};
use crate::error::{Error, Exit};
use std::io::Write;

/// Print one JSON object per trial of RUN (NDJSON), sorted by slug.
///
/// Trials are the matches of rk.yaml's `trials.manifest` glob (default
/// `*/results/trial_manifest.json`), relative to the run dir; the slug is the
/// first path component. `*`, `?` and `[...]` match within one path segment
/// and never match a leading `.`, so `.rk/` is never a trial. A symlink that
/// leads out of the run dir is never followed.
///
/// Each line holds: `format_version` (1); `slug`; `manifest`, the path
/// relative to the run dir; `schema_version`, 2 when the manifest says exactly
/// 2, else 1 (null unless the state is ok); `state`: `ok`, `corrupt` (not JSON,
/// or not an object) or `missing` (the glob matched an entry that cannot be
/// read, such as a dangling symlink); `reconstructed`, true for a manifest
/// `rk migrate` rebuilt; `stages`, `{stage: status}` from `stage_status`;
/// `jobs`, the number of `job_status` entries per status; `expected_parts`,
/// `<key>_p01 … <key>_pNN` for each `datasets` key with N ids; `warnings`,
/// fields of the wrong type that were ignored (a wrong type never makes a
/// manifest corrupt); and `error`, null or why the manifest is corrupt or
/// missing.
///
/// Lines are written as soon as their turn comes, so the first trials appear
/// before the last are read. scan-trials only reads: it takes no lock, works
/// while the orchestrator writes, and never changes a manifest, not even a
/// corrupt one (`rk migrate` repairs those).
///
/// Compatibility: the line format is versioned by `format_version`. Fields may
/// be added in later releases; none is renamed, removed or changes meaning
/// without a new `format_version`. Consumers should ignore fields they do not
/// know.
///
/// Exit status: 0 scanned (corrupt and missing manifests are reported in
/// their lines, not as failures); 2 no such run.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: RunArg,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let (project, run) = ctx.run(&args.run)?;
    let mut out = stdout();
    crate::cli::progress::with_progress(crate::output::pool_items(), || {
        crate::trials::ndjson::write_scan::<Error>(
            &run.path,
            &project.settings.trials_manifest,
            &mut out,
        )
    })?;
    out.flush()?;
    Ok(Exit::Success)
}
