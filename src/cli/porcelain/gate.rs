use crate::cli::{stdout, warn, Context, RunArg};
use crate::error::{Error, Exit};
use crate::ops::gate::{self, Cleared, GateLineDocument, GateView};
use std::io::Write;

/// Review gates: no dispatch of a phase (or any later one) until a review is
/// recorded.
///
/// A gate on phase P comes from rk.yaml (`gates: {P: "reason"}`, owed by every
/// run) or from `rk gate add`. While it is owed, `rk resume` dispatches only
/// up to the phase before P (passing --to_step), and when only gated work is
/// left it dispatches nothing, says which review is owed, and exits 6.
/// `rk gate clear` records who cleared it (user@host), when, and the note, as
/// a snapshot; `--force` on resume never clears a gate. Adding a gate that was
/// cleared owes it again.
///
/// Exit status: 0 done; 2 unknown phase (the phases are listed), no such gate,
/// no such run, or a run without a state.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Owe a review before PHASE.
    Add {
        #[command(flatten)]
        run: RunArg,
        /// The phase the review is owed before.
        #[arg(value_name = "PHASE")]
        phase: String,
        /// What must be reviewed.
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// Record that the review before PHASE is done.
    Clear {
        #[command(flatten)]
        run: RunArg,
        #[arg(value_name = "PHASE")]
        phase: String,
        /// What was checked.
        #[arg(long, value_name = "TEXT")]
        note: String,
    },
    /// List the run's gates, owed and cleared.
    ///
    /// With --json, one object per gate (NDJSON): `phase`, `reason`, `source`
    /// (`rk.yaml` or `state`), `created_at`, `cleared_at`, `cleared_by`,
    /// `note` (each null when not recorded), `format_version` (1), `owed`.
    /// Fields may be added, never renamed or removed without a new
    /// format_version.
    List {
        #[command(flatten)]
        run: RunArg,
        /// One JSON object per gate (NDJSON, with format_version).
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let mut out = stdout();
    match args.action {
        Action::Add { run, phase, reason } => {
            let (project, run) = ctx.run(&run)?;
            let (gate, warnings) = gate::add(&project, &run, &phase, &reason)?;
            for w in &warnings {
                warn(ctx.color, w);
            }
            writeln!(
                out,
                "gate added: review owed before {} in run {}: {}",
                gate.phase, run.rid, gate.reason
            )?;
        }
        Action::Clear { run, phase, note } => {
            let (project, run) = ctx.run(&run)?;
            match gate::clear(&project, &run, &phase, &note)? {
                Cleared::Now(g) => writeln!(
                    out,
                    "gate before {} cleared by {} at {}: {}",
                    g.phase,
                    g.cleared_by.unwrap_or_default(),
                    g.cleared_at.unwrap_or_default(),
                    note
                )?,
                Cleared::Already(g) => writeln!(
                    out,
                    "gate before {} was already cleared by {} at {}",
                    g.phase,
                    g.cleared_by.unwrap_or_default(),
                    g.cleared_at.unwrap_or_default()
                )?,
            }
        }
        Action::List { run, json } => {
            let (project, run) = ctx.run(&run)?;
            for g in gate::list(&project, &run)? {
                if json {
                    crate::output::write_json_line(&mut out, &GateLineDocument::from(&g))?;
                } else {
                    writeln!(out, "{}", line(&g))?;
                }
            }
        }
    }
    out.flush()?;
    Ok(Exit::Success)
}

fn line(g: &GateView) -> String {
    match &g.cleared_at {
        None => format!("{:<10} owed     {} ({})", g.phase, g.reason, g.source),
        Some(at) => format!(
            "{:<10} cleared  {} ({}) — by {} at {}: {}",
            g.phase,
            g.reason,
            g.source,
            g.cleared_by.as_deref().unwrap_or("?"),
            at,
            g.note.as_deref().unwrap_or("")
        ),
    }
}
