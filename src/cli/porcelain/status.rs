use crate::cli::porcelain::list::paint;
use crate::cli::{stdout, Context};
use crate::error::{Error, Exit};
use crate::ops::status::{self, ConfigFacts, Report};
use crate::output::Style;
use std::io::Write;

/// Show where a run stands and the exact command to type next.
///
/// One screen: the overall status (the same first-match rule as `rk list`);
/// each phase with the status its state records and a bar; where the
/// evidence rules of rk.yaml apply to the run's trials, the bar and the
/// counts are the trials that satisfy the phase's rule (`parse ████░░
/// 37/50`), else the bar is full for a completed phase and empty otherwise;
/// the config: unchanged, drifted (with the changed JSON Pointers when the
/// store holds the recorded config, else only the two hashes: a legacy run
/// records no config) or unverifiable (a legacy hash rk cannot reproduce
/// exactly); who holds the run (pid, host, since) or `interrupted`; a pending
/// STOP_REQUESTED; the last activity and the last session's exit; concerns
/// carried by the run (notes such as migration notes, config drift records,
/// corrupt, unreadable or reconstructed manifests); and the next command.
///
/// The next command, decided in one place (shared with `rk next` and
/// STATUS.md): `rk resume RUN` for a stopped, interrupted, failed or
/// not-started run; `rk diff-config RUN@recorded RUN` then `rk resume RUN
/// --force` when its config drifted (just the latter when there is no
/// recorded config to diff, or the legacy hash is unverifiable); `rk migrate
/// RUN` without a state; `rk archive RUN` when completed; `rk verify RUN`
/// when archived; for a corrupt state the recovery of the last good snapshot,
/// `rk read-state RUN --at ID | rk write-state RUN`; nothing while running.
///
/// Status never fails on a damaged run: a corrupt state, a missing config or
/// a bad manifest is shown, and status exits 0. Read-only and lock-free.
///
/// With --json, one object: `format_version` (1), `run`, `path`, `status`,
/// `state_problem`, `last_good_snapshot`, `migrated`, `trials`, `phases`
/// (`{name, status, updated_at, evidence: {satisfied, counted, status} |
/// null}`), `config` (`{state: unchanged|drifted|unverifiable|not_recorded|
/// missing|unreadable, …}`), `held_by` (`{pid, host, started_at, command}` |
/// null), `stop_requested`, `last_activity`, `last_session`, `concerns`,
/// `next` (the command, or null).
///
/// Exit status: 0 shown (whatever the run's state); 2 no such run.
///
/// Compatibility: JSON fields may be added, never renamed or removed without a
/// new `format_version`. The screen is for people and may change.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run: a run id, or the path of a run directory.
    #[arg(value_name = "RUN")]
    run: String,

    /// Print JSON instead of the screen.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let project = ctx.project()?;
    let report = status::status(&project, &args.run)?;
    let mut out = stdout();
    if args.json {
        writeln!(out, "{}", to_json(&report))?;
    } else {
        render(&mut out, &report, ctx.style())?;
    }
    out.flush()?;
    Ok(Exit::Success)
}

const BAR: usize = 12;

fn bar(filled: usize) -> String {
    "█".repeat(filled.min(BAR)) + &"░".repeat(BAR - filled.min(BAR))
}

/// The human screen; also what STATUS.md renders (without colour).
pub fn render(out: &mut dyn Write, r: &Report, style: Style) -> std::io::Result<()> {
    writeln!(
        out,
        "run {}: {}",
        r.rid,
        style.bold(&paint(style, r.status, r.status.as_str()))
    )?;
    writeln!(out, "  dir       {}", r.path.display())?;
    if let Some(problem) = &r.state_problem {
        writeln!(
            out,
            "  state     {} is corrupt: {problem}",
            r.state_file.display()
        )?;
    }
    let mut facts = vec![format!("{} trials", r.trials)];
    if r.migrated {
        facts.push("migrated".into());
    }
    writeln!(out, "  trials    {}", facts.join(", "))?;

    writeln!(out, "phases")?;
    let name_w = r.phases.iter().map(|p| p.name.len()).max().unwrap_or(0);
    let status_w = r
        .phases
        .iter()
        .map(|p| p.status.as_deref().unwrap_or("-").len())
        .max()
        .unwrap_or(1);
    for p in &r.phases {
        let shown = p.status.as_deref().unwrap_or("-");
        let (filled, counts) = match p.evidence {
            Some((sat, counted)) if counted > 0 => (
                (sat * BAR + counted / 2) / counted,
                format!(" {sat}/{counted}"),
            ),
            _ => (if shown == "completed" { BAR } else { 0 }, String::new()),
        };
        let painted = match shown {
            "completed" => style.green(shown),
            "failed" => style.red(shown),
            "in_progress" | "stopped" => style.yellow(shown),
            _ => shown.to_string(),
        };
        let pad = " ".repeat(status_w - shown.len());
        let inferred = match (p.status.as_deref(), p.evidence_status) {
            (None, Some(ev)) => format!(" (evidence: {ev})"),
            _ => String::new(),
        };
        writeln!(
            out,
            "  {:name_w$}  {painted}{pad}  {}{counts}{inferred}",
            p.name,
            bar(filled)
        )?;
    }

    let config = match &r.config {
        ConfigFacts::Unchanged { scheme, hash } => {
            format!("unchanged ({} {})", scheme.name(), short(hash))
        }
        ConfigFacts::Drifted {
            scheme,
            recorded,
            current,
            keys,
        } => {
            let what = match keys {
                Some(keys) if !keys.is_empty() => format!("changed {}", keys.join(", ")),
                Some(_) => "no key changed (only spelling under the recorded scheme)".into(),
                None => "no recorded config (legacy run)".into(),
            };
            style.red(&format!(
                "drifted: {what}; recorded {} {}, current {}",
                scheme.name(),
                short(recorded),
                short(current)
            ))
        }
        ConfigFacts::Unverifiable { scheme, reason } => {
            style.yellow(&format!("unverifiable under {}: {reason}", scheme.name()))
        }
        ConfigFacts::NotRecorded { reason } => format!("not checked: {reason}"),
        ConfigFacts::Missing { path } => style.yellow(&format!("missing: {}", path.display())),
        ConfigFacts::Unreadable { error } => style.red(&format!("unreadable: {error}")),
    };
    writeln!(out, "config    {config}")?;

    let held = match (&r.holder, r.status) {
        (Some(h), _) => {
            let mut parts = Vec::new();
            if let Some(pid) = h.pid {
                parts.push(format!("pid {pid}"));
            }
            if let Some(host) = &h.host {
                parts.push(format!("on {host}"));
            }
            if let Some(at) = &h.started_at {
                parts.push(format!("since {at}"));
            }
            if parts.is_empty() {
                "an unknown process".into()
            } else {
                parts.join(" ")
            }
        }
        (None, crate::state::OverallStatus::Interrupted) => {
            "nobody (interrupted: work began and no process holds the run)".into()
        }
        (None, _) => "nobody".into(),
    };
    writeln!(out, "held by   {held}")?;
    if let Some(stop) = &r.stop_requested {
        let since = if stop.is_empty() {
            String::new()
        } else {
            format!(" (written {stop})")
        };
        writeln!(
            out,
            "stop      {}",
            style.yellow(&format!("STOP_REQUESTED pending{since}"))
        )?;
    }
    writeln!(
        out,
        "activity  {}",
        r.last_activity.as_deref().unwrap_or("none recorded")
    )?;
    if let Some(s) = &r.last_session {
        let exit = match (s.exit_code, &s.ended_at) {
            (Some(code), _) => format!("exit {code}"),
            (None, Some(_)) => "ended, no exit code".into(),
            (None, None) => "no exit recorded".into(),
        };
        let mut what = vec![exit];
        if let Some(at) = &s.started_at {
            what.push(format!(
                "{at} -> {}",
                s.ended_at.as_deref().unwrap_or("(open)")
            ));
        }
        if !s.steps.is_empty() {
            what.push(format!("steps {}", s.steps.join(", ")));
        }
        if let Some(host) = &s.host {
            what.push(format!("on {host}"));
        }
        writeln!(out, "session   {}", what.join("; "))?;
    }
    if !r.concerns.is_empty() {
        writeln!(out, "concerns")?;
        for c in &r.concerns {
            writeln!(out, "  - {c}")?;
        }
    }
    match status::next_command(r) {
        Some(next) => {
            let mut lines = next.lines();
            if let Some(first) = lines.next() {
                writeln!(out, "next      {}", style.bold(first))?;
            }
            for line in lines {
                writeln!(out, "then      {}", style.bold(line))?;
            }
        }
        None => writeln!(out, "next      nothing to do while it runs")?,
    }
    Ok(())
}

fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}

fn to_json(r: &Report) -> serde_json::Value {
    use serde_json::json;
    let config = match &r.config {
        ConfigFacts::Unchanged { scheme, hash } => {
            json!({"state": "unchanged", "scheme": scheme.name(), "hash": hash})
        }
        ConfigFacts::Drifted {
            scheme,
            recorded,
            current,
            keys,
        } => json!({"state": "drifted", "scheme": scheme.name(), "recorded": recorded,
                    "current": current, "changed_keys": keys}),
        ConfigFacts::Unverifiable { scheme, reason } => {
            json!({"state": "unverifiable", "scheme": scheme.name(), "reason": reason})
        }
        ConfigFacts::NotRecorded { reason } => json!({"state": "not_recorded", "reason": reason}),
        ConfigFacts::Missing { path } => {
            json!({"state": "missing", "path": path.display().to_string()})
        }
        ConfigFacts::Unreadable { error } => json!({"state": "unreadable", "error": error}),
    };
    json!({
        "format_version": 1,
        "run": r.rid,
        "path": r.path.display().to_string(),
        "status": r.status.as_str(),
        "state_problem": r.state_problem,
        "last_good_snapshot": r.last_good.as_ref().map(|i| i.to_string()),
        "migrated": r.migrated,
        "trials": r.trials,
        "phases": r.phases.iter().map(|p| json!({
            "name": p.name,
            "status": p.status,
            "updated_at": p.updated_at,
            "evidence": p.evidence.map(|(s, c)| json!({
                "satisfied": s, "counted": c, "status": p.evidence_status,
            })),
        })).collect::<Vec<_>>(),
        "config": config,
        "held_by": r.holder.as_ref().map(|h| serde_json::to_value(h).unwrap_or_default()),
        "stop_requested": r.stop_requested,
        "last_activity": r.last_activity,
        "last_session": r.last_session.as_ref().map(|s| json!({
            "started_at": s.started_at, "ended_at": s.ended_at, "exit_code": s.exit_code,
            "steps": s.steps, "host": s.host, "pid": s.pid,
        })),
        "concerns": r.concerns,
        "next": status::next_command(r),
    })
}
