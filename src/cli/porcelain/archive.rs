use crate::cli::progress::with_progress;
use crate::cli::{stdout, warn, Context, RunArg};
use crate::error::{Error, Exit};
use crate::ops::archive::{self, Options, Progress};
use crate::ops::archive_manifest::MANIFEST;
use std::io::Write;
use std::path::PathBuf;

/// Archive a finished run: record every file in `archive_manifest.json`.
///
/// Refuses a run whose overall status is not completed (exit 6, naming the
/// phases that are not) unless --allow-incomplete, which the manifest and the
/// state record. Refuses a running run (exit 4), a run without a state or an
/// already archived one (exit 6).
///
/// The manifest (written atomically) holds `format_version` (1),
/// `schema_version` (1), `run_id`, `archived_at`, `config_hash` and
/// `config_hash_scheme` (`pyyaml-sorted` for a legacy state), `head` (the
/// snapshot that records the archive), `status: "archived"`,
/// `allow_incomplete`, `phases` (phase → status), `trials` (per trial: `slug`,
/// `manifest` path and its `artifacts`) and `other` (files outside any
/// trial). An artifact is `{path, bytes, blake3}` or, for a symlink, `{path,
/// link}`; paths are relative to the run dir.
///
/// What is archived: every regular file and symlink under the run dir except
/// `.rk/` (the store), the state file and its lock, `archive_manifest.json`,
/// STATUS.md (re-rendered at every state change) and temp files (`.tmp-*`).
/// Symlinks are recorded as links and never followed; every file is opened
/// with O_NOFOLLOW, so nothing outside the run dir is read. Fifos, sockets and
/// devices are skipped. A file that vanishes or changes size while it is
/// hashed stops the archive (exit 4) with nothing written.
///
/// Files are hashed with BLAKE3 on every core; a large file is split along
/// the BLAKE3 tree so it too uses every core. A progress bar is shown on
/// stderr when it is a terminal and hashing takes more than a second.
///
/// The state records the archive first (snapshot op `archive`, field
/// `archive: {archived_at, manifest, allow_incomplete}`), then the manifest
/// is written; the run counts as archived only when both exist, so a failure
/// in between (a full disk) leaves a run that is not archived, and running
/// `rk archive` again completes it.
///
/// --dest DIR then moves the run dir to DIR, which must not exist and must not
/// lie inside the run; its parent must exist. A rename where possible. Across
/// devices the run is copied to a `.tmp-move-<name>` beside DIR (modes,
/// modification times, symlinks as links and hard links kept; a FIFO, socket
/// or device is not copied and a warning names it), every file and directory
/// of the copy is fsynced, the copy is verified against the manifest and
/// renamed to DIR, and only then is the original renamed out of the runs dir
/// and deleted: a kill at any instant leaves the original untouched or a
/// verified copy at DIR, never a half-deleted run. Running the same `rk
/// archive RUN --dest DIR` again finishes an interrupted move (the run is
/// already archived: only the move is left; a verified copy already at DIR
/// is kept and only the original deleted).
///
/// Exit status: 0 archived; 2 bad --dest or no such run; 4 running, or the
/// run changed while hashed; 5 corrupt state, or the manifest could not be
/// written; 6 not completed, no state, or already archived.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: RunArg,

    /// Archive a run that is not completed; recorded in the manifest and state.
    #[arg(long)]
    allow_incomplete: bool,

    /// Move the run dir to DIR (a path that does not exist yet) once archived.
    #[arg(long, value_name = "DIR")]
    dest: Option<PathBuf>,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let (project, run) = ctx.run(&args.run)?;
    let options = Options {
        allow_incomplete: args.allow_incomplete,
        dest: args.dest,
    };
    let progress = Progress::default();
    let done = with_progress(&progress, || {
        archive::archive(&project, &run, &options, &progress)
    })?;
    for w in &done.warnings {
        warn(ctx.color, w);
    }
    let mut out = stdout();
    writeln!(
        out,
        "archived {}: {} files ({} bytes), {} links in {} trials -> {}",
        done.manifest.run_id,
        done.files,
        done.bytes,
        done.links,
        done.manifest.trials.len(),
        MANIFEST
    )?;
    writeln!(out, "snapshot {}", done.manifest.head)?;
    if done.manifest.allow_incomplete && !done.incomplete.is_empty() {
        let list: Vec<String> = done
            .incomplete
            .iter()
            .map(|(n, s)| format!("{n} ({s})"))
            .collect();
        writeln!(out, "incomplete: {}", list.join(", "))?;
    }
    if let Some(dest) = &done.moved_to {
        let how = if done.copied {
            "copied across devices, verified, original deleted"
        } else {
            "renamed"
        };
        writeln!(out, "moved to {} ({how})", dest.display())?;
    }
    out.flush()?;
    Ok(Exit::Success)
}
