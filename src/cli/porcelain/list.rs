use crate::cli::{stdout, warn, Context};
use crate::error::{Error, Exit};
use crate::ops::list::{self, ListDocument, Row, SortBy};
use crate::state::OverallStatus;
use std::io::Write;

/// List every run of the project with its overall status.
///
/// One row per run directory under `runs_dir` (`<runs_dir>/<prefix><RID>`),
/// and one per run archived by the Python tool set's archive_run.py (a
/// `t<temp>_<rid>` directory holding its archive_manifest.json), named by its
/// directory and reported from that manifest:
///
///   RUN      the run id
///   STATUS   the overall status, first match wins: archived, running (the
///            dispatch lock is held, its Slurm job runs, or a live process of
///            this host started with --run_id RID from the project root, an
///            orchestrator rk did not start, runs it), queued (its
///            Slurm job is pending), failed,
///            completed (every phase, or the last phase completed with none
///            failed or in progress: the orchestrator never marks a phase it
///            skips), interrupted (work began, nothing is in progress or a
///            phase is in_progress, and nobody holds the run), stopped,
///            not_started, corrupt (the state file is unreadable), no_state (a
///            legacy run without a state)
///   PHASE    the first phase of the pipeline that is neither completed nor
///            skipped, with its position: `parse 5/9`; `-` when none
///   MIGRATED yes when the state was made by `rk migrate`
///   CONFIG   the first 12 hex of config_hash; a trailing `~` marks the
///            legacy pyyaml-sorted scheme (no config_hash_scheme)
///   DRIFT    the number of recorded config drift events
///   UPDATED  the latest `updated_at` of any phase, else the state file's
///            modification time (UTC, to the second)
///
/// Read-only and lock-free: list takes no lock (the dispatch lock is probed
/// with a shared non-blocking lock that never disturbs `rk resume`), reads
/// each state file once and never the store or the trials, so it is safe and
/// fast while runs are running. It reads only the fields it shows: a wrong
/// type in another field is reported by `rk status`, not here. Runs whose open
/// session has a Slurm job are looked up with one squeue call for all of them
/// (in a dispatch.via: slurm project, an in-progress run whose state file
/// lost rk's sessions to an orchestrator's rewrite is looked up in rk's
/// records, in the store); a scheduler that cannot be reached leaves the
/// phases to decide.
///
/// A corrupt state file is a `corrupt` row plus one warning on stderr; the
/// listing goes on and exits 0. A run directory whose name holds no run id
/// rk accepts (`run_été 2`, made by a tool that takes any id) is no row: one
/// warning names its path, by which every command takes it.
///
/// With --json, one object: `format_version` (1) and `runs`, a list of
/// `{run, status, phase: {name, index, count} | null, migrated, config_hash,
/// config_hash_scheme (null = legacy), drift_records, last_update (RFC 3339
/// or null), last_update_source ("phase" | "mtime" | null), problem}`.
///
/// Exit status: 0 listed (even with corrupt runs); 2 no project.
///
/// Compatibility: JSON fields may be added, never renamed or removed without a
/// new `format_version`. The table is for people and may change.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Print JSON instead of the table.
    #[arg(long)]
    json: bool,

    /// Row order: by run id (`name`), or most recently updated first (`updated`).
    #[arg(long, value_enum, default_value_t = Sort::Name)]
    sort: Sort,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Sort {
    Name,
    Updated,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let project = ctx.project()?;
    project.existing_runs_dir()?;
    let sort = match args.sort {
        Sort::Name => SortBy::Name,
        Sort::Updated => SortBy::Updated,
    };
    let listing = list::list(&project, sort)?;
    for row in &listing.rows {
        if let Some(problem) = &row.problem {
            warn(
                ctx.color,
                &format!(
                    "run {}: corrupt {}: {problem}; `rk status {}` shows how to recover",
                    row.rid, project.settings.state_file, row.rid
                ),
            );
        }
    }
    for (path, why) in &listing.without_an_id {
        let path = path.display().to_string();
        warn(
            ctx.color,
            &format!(
                "{path} is not listed: {why}; name it by its path: `rk status {}`",
                crate::dispatch::shell_word(&path)
            ),
        );
    }
    let mut out = stdout();
    if args.json {
        crate::output::write_json_line(&mut out, &ListDocument::from(&listing))?;
    } else {
        write_table(&mut out, &listing.rows, ctx)?;
    }
    out.flush()?;
    Ok(Exit::Success)
}

/// A timestamp to the second, for tables: `2025-09-02T21:47:10Z`.
pub fn short_time(t: &crate::clock::Timestamp) -> String {
    let mut s = t.to_string();
    if s.len() > 19 {
        s.truncate(19);
        s.push('Z');
    }
    s
}

fn write_table(out: &mut dyn Write, rows: &[Row], ctx: &Context) -> std::io::Result<()> {
    let style = ctx.style();
    let header = [
        "RUN", "STATUS", "PHASE", "MIGRATED", "CONFIG", "DRIFT", "UPDATED",
    ];
    // Only the cells that need formatting are owned; the rest borrow.
    let owned: Vec<[String; 4]> = rows
        .iter()
        .map(|r| {
            [
                r.phase.as_ref().map_or("-".into(), |p| {
                    format!("{} {}/{}", p.name, p.index, p.count)
                }),
                r.short_hash(),
                r.drift_records.to_string(),
                r.last_update.as_ref().map_or("-".into(), short_time),
            ]
        })
        .collect();
    let width = |c: &str| {
        if c.is_ascii() {
            c.len()
        } else {
            c.chars().count()
        }
    };
    let mut widths = header.map(width);
    for (r, o) in rows.iter().zip(&owned) {
        for (w, c) in widths.iter_mut().zip(cells(r, o)) {
            *w = (*w).max(width(c));
        }
    }
    let mut line = |cols: [&str; 7], status: Option<OverallStatus>| -> std::io::Result<()> {
        for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
            if i == 6 {
                out.write_all(c.as_bytes())?;
                break;
            }
            match (i, status) {
                (1, Some(st)) if style.color => write!(out, "{}", style.status(st, c))?,
                _ => out.write_all(c.as_bytes())?,
            }
            pad(out, w - width(c) + 2)?;
        }
        out.write_all(b"\n")
    };
    line(header, None)?;
    for (r, o) in rows.iter().zip(&owned) {
        line(cells(r, o), Some(r.status))?;
    }
    Ok(())
}

/// The seven cells of a row: borrowed from the row, or from its formatted cells.
fn cells<'a>(r: &'a Row, o: &'a [String; 4]) -> [&'a str; 7] {
    [
        r.rid.as_str(),
        r.status.as_str(),
        o[0].as_str(),
        if r.migrated { "yes" } else { "no" },
        o[1].as_str(),
        o[2].as_str(),
        o[3].as_str(),
    ]
}

/// `n` spaces, without formatting machinery (this runs once per cell).
fn pad(out: &mut dyn Write, mut n: usize) -> std::io::Result<()> {
    const SPACES: &[u8; 32] = b"                                ";
    while n > 0 {
        let k = n.min(SPACES.len());
        out.write_all(&SPACES[..k])?;
        n -= k;
    }
    Ok(())
}
