//! The `rk status` screen: a [`Report`] drawn for people, section by
//! section. `rk status` prints it (coloured when colour is on) and STATUS.md
//! embeds it (plain), so the two always show the same.
//!
//! It sits beside [`status`](super::status) rather than in `cli` because
//! STATUS.md is written by the state write path itself, after every change
//! rk makes, and that path is below `cli`. It writes only to the writer it
//! is given.

use super::status::{next_command, ConfigFacts, PhaseLine, Report, SessionFacts};
use crate::canon;
use crate::code_version::CodeDrift;
use crate::output::Style;
use crate::state::OverallStatus;
use std::io::{self, Write};

const BAR: usize = 12;

fn bar(filled: usize) -> String {
    "█".repeat(filled.min(BAR)) + &"░".repeat(BAR - filled.min(BAR))
}

/// The human screen; also what STATUS.md renders (without colour).
pub fn render(out: &mut dyn Write, r: &Report, style: Style) -> io::Result<()> {
    render_header(out, r, style)?;
    render_phases(out, r, style)?;
    writeln!(out, "config    {}", config_line(r, style))?;
    render_code(out, r, style)?;
    writeln!(out, "held by   {}", held_by(r))?;
    if let Some(job) = &r.job {
        writeln!(out, "job       {}", job.describe())?;
    }
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
        render_session(out, s)?;
    }
    if !r.concerns.is_empty() {
        writeln!(out, "concerns")?;
        for c in &r.concerns {
            writeln!(out, "  - {c}")?;
        }
    }
    render_next(out, r, style)
}

/// The run, its dir, owed review gates, a corrupt state, the trials.
fn render_header(out: &mut dyn Write, r: &Report, style: Style) -> io::Result<()> {
    writeln!(
        out,
        "run {}: {}",
        r.rid,
        style.bold(&style.status(r.status, r.status.as_str()))
    )?;
    writeln!(out, "  dir       {}", r.path.display())?;
    for g in &r.owed_gates {
        writeln!(
            out,
            "  {}",
            style.yellow(&format!(
                "review owed before {}: {} ({})",
                g.phase, g.reason, g.source
            ))
        )?;
    }
    if let Some(problem) = &r.state_problem {
        let is = if r.state_unreadable {
            ""
        } else {
            "is corrupt: "
        };
        writeln!(out, "  state     {} {is}{problem}", r.state_file.display())?;
    }
    let mut facts = vec![format!(
        "{} trial{}",
        r.trials,
        if r.trials == 1 { "" } else { "s" }
    )];
    if r.migrated {
        facts.push("migrated".into());
    }
    writeln!(out, "  trials    {}", facts.join(", "))
}

/// The status a phase line shows.
fn shown_status(p: &PhaseLine) -> &str {
    if p.skipped {
        "skipped"
    } else {
        p.status.as_deref().unwrap_or("-")
    }
}

/// One line per phase: status, bar, evidence counts, and its last error.
fn render_phases(out: &mut dyn Write, r: &Report, style: Style) -> io::Result<()> {
    writeln!(out, "phases")?;
    let name_w = r.phases.iter().map(|p| p.name.len()).max().unwrap_or(0);
    let status_w = r
        .phases
        .iter()
        .map(|p| shown_status(p).len())
        .max()
        .unwrap_or(1);
    for p in &r.phases {
        let shown = shown_status(p);
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
        if let Some(error) = &p.last_error {
            let error = error.replace('\n', " ");
            writeln!(
                out,
                "  {:name_w$}  {}",
                "",
                style.red(&format!("last error: {error}"))
            )?;
        }
    }
    Ok(())
}

/// The config against what the state records.
fn config_line(r: &Report, style: Style) -> String {
    match &r.config {
        ConfigFacts::Unchanged { scheme, hash } => {
            format!("unchanged ({} {})", scheme.name(), canon::short_hash(hash))
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
                canon::short_hash(recorded),
                canon::short_hash(current)
            ))
        }
        ConfigFacts::Unverifiable { scheme, reason } => {
            style.yellow(&format!("unverifiable under {}: {reason}", scheme.name()))
        }
        ConfigFacts::NotRecorded { reason } => format!("not checked: {reason}"),
        ConfigFacts::Missing { path } => style.yellow(&format!("missing: {}", path.display())),
        ConfigFacts::Unreadable { error } => style.red(&format!("unreadable: {error}")),
    }
}

/// The project's code since the run started: unchanged, or the commits.
fn render_code(out: &mut dyn Write, r: &Report, style: Style) -> io::Result<()> {
    match &r.code {
        CodeDrift::NotRecorded => {}
        CodeDrift::Unchanged { commit, dirty } => writeln!(
            out,
            "code      unchanged since {}{}",
            short_commit(commit),
            if *dirty { " (uncommitted changes)" } else { "" }
        )?,
        CodeDrift::Changed {
            since,
            commits,
            dirty,
        } => {
            writeln!(
                out,
                "code      {}",
                style.yellow(&format!(
                    "{} commit{} since the run started at {}{}",
                    commits.len(),
                    if commits.len() == 1 { "" } else { "s" },
                    short_commit(since),
                    if *dirty {
                        ", and uncommitted changes"
                    } else {
                        ""
                    }
                ))
            )?;
            for c in commits.iter().take(10) {
                writeln!(out, "            {} {}", c.id, c.subject)?;
            }
            if commits.len() > 10 {
                writeln!(out, "            … and {} more", commits.len() - 10)?;
            }
        }
        CodeDrift::Unavailable(why) => writeln!(out, "code      not checked: {why}")?,
    }
    Ok(())
}

/// Who holds the run: rk's dispatch lock holder, a Slurm job, an
/// orchestrator rk did not start, or nobody (and why it is interrupted).
fn held_by(r: &Report) -> String {
    match (&r.holder, r.status) {
        (None, OverallStatus::Running | OverallStatus::Queued) if r.job.is_some() => {
            format!(
                "Slurm job {}",
                r.job.as_ref().map_or("?", |j| j.id.as_str())
            )
        }
        (Some(h), _) => {
            let mut parts = Vec::new();
            if let Some(pid) = h.pid {
                if h.ended_here() {
                    parts.push(format!(
                        "the orchestrator started by rk pid {pid} (rk itself has ended)"
                    ));
                } else {
                    parts.push(format!("pid {pid}"));
                }
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
        (None, OverallStatus::Running) if !r.others.is_empty() => r
            .others
            .iter()
            .map(|o| {
                format!(
                    "pid {} (an orchestrator rk did not start){}: {}",
                    o.pid,
                    o.since.map(|t| format!(" since {t}")).unwrap_or_default(),
                    crate::dispatch::shell_words(&o.command)
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        (None, OverallStatus::Interrupted) => match &r.recently_changed {
            Some(at) => format!(
                "nobody rk can see (interrupted: the state last changed at {at}; an orchestrator on another host, or one rk cannot see, may still be running)"
            ),
            None => "nobody (interrupted: work began and no process holds the run)".into(),
        },
        (None, _) => "nobody".into(),
    }
}

/// The last session: its exit, times, steps, host, and what `rk note` left.
fn render_session(out: &mut dyn Write, s: &SessionFacts) -> io::Result<()> {
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
    if let Some(stopped) = &s.stopped_at {
        writeln!(out, "  noted   {stopped}")?;
    }
    if let Some(file) = &s.resume_file {
        writeln!(out, "  resume  {file}")?;
    }
    Ok(())
}

/// The next command (two owed in order: `next` then `then`), or why there
/// is none.
fn render_next(out: &mut dyn Write, r: &Report, style: Style) -> io::Result<()> {
    match next_command(r) {
        Some(next) => {
            let mut lines = next.lines();
            if let Some(first) = lines.next() {
                writeln!(out, "next      {}", style.bold(first))?;
            }
            for line in lines {
                writeln!(out, "then      {}", style.bold(line))?;
            }
        }
        None if r.status == OverallStatus::Archived => {
            writeln!(out, "next      nothing: the run is archived")?
        }
        None => writeln!(out, "next      nothing to do while it runs")?,
    }
    Ok(())
}

fn short_commit(commit: &str) -> String {
    commit.chars().take(10).collect()
}
