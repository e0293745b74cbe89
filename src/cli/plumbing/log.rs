use crate::cli::{stdout, Context, RunArg};
use crate::error::{Error, Exit};
use crate::ops::log::SessionLineDocument;
use crate::store::{LogLineDocument, Store};
use std::io::Write;

/// Print the log of a run's store: one line per HEAD move, oldest first.
///
/// Each line is `<old|-> <new> <unix_ms> <op>` TAB `<message>`, exactly as
/// stored in `<run>/.rk/log`: the snapshot HEAD named before (`-` for none),
/// the snapshot it names after, when (milliseconds since the epoch), the
/// operation (`write-state`, `observed`, `resume`, …) and the message. The
/// last line's second field is HEAD (unless a write was interrupted between
/// the log append and the HEAD update; `rk fsck` says so). A torn last line
/// left by a crash is not shown.
///
/// With --json, one JSON object per line (NDJSON): `format_version` (1),
/// `old` (id or null), `new`, `unix_ms`, `time` (RFC 3339), `op`, `message`.
///
/// With --sessions, every session ever recorded instead (docs/FORMATS.md#rk-fields), oldest
/// first, rebuilt from the whole snapshot history (so sessions trimmed from
/// run_state.json by sessions_keep are included), each in its latest recorded
/// form: `<started_at>  <ended_at|running>  exit <code|->  <steps>  <command>`,
/// with `stopped: <text>` and `resume file: <path>` lines under a session that
/// has a note. With --json, one object per session: `format_version` (1) and
/// the session's fields as run_state.json holds them.
///
/// Both forms read the log the same way: a torn last line is skipped by both,
/// a malformed complete line fails both (exit 5). A line whose snapshot
/// cannot be read is printed by the plain log; --sessions skips that
/// snapshot's sessions with a warning naming the line (`rk fsck` tells more).
///
/// Reads only: takes no lock. A run without a store prints nothing.
///
/// Exit status: 0 printed; 2 no such run; 5 a complete log line is malformed.
///
/// Compatibility: the text lines follow the store's log format of docs/FORMATS.md#the-store
/// and will not change. JSON fields may be added; none is renamed or removed
/// without a new `format_version`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: RunArg,

    /// Print NDJSON instead of the log lines.
    #[arg(long)]
    json: bool,

    /// List every session ever recorded instead of the HEAD moves.
    #[arg(long)]
    sessions: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let (_, run) = ctx.run(&args.run)?;
    let mut out = stdout();
    if args.sessions {
        let (sessions, warnings) = crate::ops::log::sessions(&run)?;
        for session in sessions {
            write_session(&mut out, &session, args.json)?;
        }
        out.flush()?;
        for w in warnings {
            crate::cli::warn(ctx.color, &w);
        }
        return Ok(Exit::Success);
    }
    let entries = Store::new(&run).read_log()?;
    for e in entries {
        if args.json {
            crate::output::write_json_line(&mut out, &LogLineDocument::from(&e))?;
        } else {
            writeln!(out, "{}", e.to_line())?;
        }
    }
    out.flush()?;
    Ok(Exit::Success)
}

fn write_session(out: &mut dyn Write, s: &serde_json::Value, json: bool) -> std::io::Result<()> {
    if json {
        return crate::output::write_json_line(out, &SessionLineDocument::from(s));
    }
    let text = |name: &str| s.get(name).and_then(|v| v.as_str()).map(String::from);
    let words = |name: &str| {
        s.get(name)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|w| w.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    };
    let exit = match s.get("exit_code") {
        Some(serde_json::Value::Number(n)) => format!("exit {n}"),
        _ => "exit -".into(),
    };
    writeln!(
        out,
        "{}  {}  {exit}  [{}]  {}",
        text("started_at").unwrap_or_else(|| "?".into()),
        text("ended_at").unwrap_or_else(|| "running".into()),
        words("steps"),
        words("command")
    )?;
    if let Some(stopped) = text("stopped_at") {
        writeln!(out, "    stopped: {stopped}")?;
    }
    if let Some(file) = text("resume_file") {
        writeln!(out, "    resume file: {file}")?;
    }
    Ok(())
}
