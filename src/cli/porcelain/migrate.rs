use crate::cli::{stdout, warn, Context, RunArg};
use crate::error::{Error, Exit};
use crate::ops::migrate::{self, Action, Applied, MigrationDocument, NoteKind, Options, Plan};
use crate::output::Style;
use std::io::Write;

/// Give a run made before rk (no run_state.json) a state inferred from the
/// files its trials left, and a note for every uncertainty.
///
/// Each phase of the pipeline is judged with its rk.yaml `evidence` rule on
/// every trial (a match of `trials.manifest`, readable or not), then over all
/// trials: completed if every trial satisfies the rule, in_progress if some
/// do, not_started if none do or there are no trials. `always: completed`
/// holds once a trial exists; `file: PATH` needs the file (relative to the
/// trial dir) non-empty; `jobs: recorded` needs a job_status entry for each
/// expected part; `jobs: downloaded` needs a non-empty
/// results/results_combined.jsonl or results/<part>/results.jsonl for each
/// part. A trial whose manifest lists no datasets takes no part in the job
/// rules; one whose manifest is corrupt, unreadable or reconstructed counts
/// as not satisfying them.
///
/// The state written has `migrated: true`, `config_hash` of the run's
/// effective_config.yaml under rk.yaml `hash.scheme` (default pyyaml-sorted;
/// a `--rebuild` keeps the run's own scheme; PyYAML is asked where rk cannot
/// reproduce its bytes, as for `rk init`), with `config_hash_scheme` and
/// `config_path`, the config stored as an object, and one note
/// (`created_by: "rk migrate"`) per uncertainty: a phase inferred
/// in_progress, a corrupt or unreadable manifest, an ignored field, a phase
/// with no evidence rule (recorded not_started), no trials, no config. It is
/// recorded as a snapshot with op `migrate`. Phase timestamps are null (the
/// files do not say when the work happened); rules for phases outside
/// rk.yaml `phases` are ignored.
///
/// A corrupt manifest (not JSON, or not an object) is copied aside to
/// `<name>.corrupt.<ts>` and replaced atomically by a reconstructed v2
/// manifest (`stage_status` from the files, jobs unknown, `"reconstructed":
/// true`, `reconstructed_from` naming the backup); the job rules count that
/// trial as unreadable, now and at every later migrate. Manifests are
/// rewritten under .state.lock, the lock the orchestrator takes.
///
/// Decisions: no config file → the run is migrated without config_hash, with
/// a note saying how to record one (put the config in place, then
/// `--rebuild`); a config that does not parse → exit 2, nothing written. A
/// run that already has a state → nothing is done (exit 0), so migrate is
/// idempotent. --rebuild re-infers a run that has a state: phases, config
/// hash, `migrated` and the notes of an earlier migrate are replaced (phases
/// outside the pipeline are dropped from the working state), and
/// everything else (sessions, other notes, drift records, gates, unknown
/// fields) kept. When the config on disk no longer hashes to the recorded
/// `config_hash`, the rebuild records that drift in `config_drift` (`forced:
/// false`, `by: "rk migrate --rebuild"`, both hashes and schemes) and warns,
/// so `rk status` and `rk list` show it. The old state
/// stays in history (recorded as an `observed` snapshot first when rk had not
/// recorded it yet; a corrupt one is kept as run_state.json.corrupt.<ts>). A
/// run with no state file whose store holds snapshots is refused (exit 6):
/// `rk restore` brings the recorded state back, --rebuild infers a new one.
///
/// --dry-run prints the plan (phase statuses with counts, config, notes,
/// files that would be moved or written) and writes nothing at all.
/// Warnings go to stderr with the next step to take.
///
/// Exit status: 0 migrated, dry run, or nothing to do; 2 no such run, or a
/// config that does not parse; 4 the run is locked by another writer; 5 a
/// corrupt state (without --rebuild) or store; 6 refused (see above).
///
/// JSON (--json): one object with `format_version` (1), `run`, `action`
/// (migrate, rebuild or none), `dry_run`, `reason`, `trials`, `phases`
/// ([{phase, status, rule, satisfied, counted}]), `config` ({path, hash,
/// scheme} or null), `repairs` ([{slug, manifest, backup, error}]), `notes`
/// ([message]), `writes` (paths relative to the run dir), `snapshot` (the new
/// snapshot id, or null). Fields may be added, never renamed or removed
/// without a new format_version.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: RunArg,

    /// Print the plan and write nothing.
    #[arg(long)]
    dry_run: bool,

    /// Re-infer the state of a run that already has one.
    #[arg(long)]
    rebuild: bool,

    /// Print the plan (and the new snapshot) as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let (project, run) = ctx.run(&args.run)?;
    let plan = crate::cli::progress::with_progress(crate::output::pool_items(), || {
        migrate::plan_with(
            &project,
            &run,
            Options {
                rebuild: args.rebuild,
            },
        )
    })?;
    let applied = if args.dry_run {
        None
    } else {
        Some(migrate::apply(&project, &run, &plan)?)
    };
    let mut out = stdout();
    if args.json {
        let doc = MigrationDocument::new(&plan, applied.as_ref(), args.dry_run);
        crate::output::write_json_pretty(&mut out, &doc)?;
    } else {
        write_human(&mut out, &plan, applied.as_ref(), ctx.style())?;
    }
    out.flush()?;
    for w in applied.iter().flat_map(|a| &a.warnings) {
        warn(ctx.color, w);
    }
    for w in warnings(&plan, args.dry_run) {
        warn(ctx.color, &w);
    }
    Ok(Exit::Success)
}

fn write_human(
    out: &mut dyn Write,
    plan: &Plan,
    applied: Option<&Applied>,
    style: Style,
) -> std::io::Result<()> {
    if plan.action == Action::Nothing {
        if let Some(reason) = &plan.reason {
            writeln!(out, "{reason}")?;
        }
        writeln!(
            out,
            "to infer it again from the files, run `rk migrate {} --rebuild`",
            plan.rid
        )?;
        return Ok(());
    }
    let verb = match (plan.action, applied.is_some()) {
        (Action::Rebuild, true) => "rebuilt",
        (Action::Rebuild, false) => "would rebuild",
        (_, true) => "migrated",
        (_, false) => "would migrate",
    };
    let dry = if applied.is_none() {
        " (dry run: nothing written)"
    } else {
        ""
    };
    writeln!(
        out,
        "{} {} from {} trial{}{dry}",
        style.bold(verb),
        plan.rid,
        plan.trials,
        if plan.trials == 1 { "" } else { "s" }
    )?;
    writeln!(out, "phases:")?;
    let width = plan.phases.iter().map(|p| p.phase.len()).max().unwrap_or(0);
    for p in &plan.phases {
        let counts = match &p.rule {
            Some(rule) => format!("{}/{}  ({rule})", p.satisfied, p.counted),
            None => "-  (no evidence rule)".into(),
        };
        writeln!(
            out,
            "  {:width$}  {:<11}  {counts}",
            p.phase,
            p.status.as_str()
        )?;
    }
    if let Some(c) = &plan.config {
        match &c.hash {
            Some(h) => writeln!(out, "config: {} {} {h}", c.path, c.scheme)?,
            None => writeln!(out, "config: none ({} is missing)", c.path)?,
        }
    }
    if !plan.repairs.is_empty() {
        let head = if applied.is_some() {
            "corrupt manifests backed up and reconstructed:"
        } else {
            "corrupt manifests to back up and reconstruct:"
        };
        writeln!(out, "{head}")?;
        for r in &plan.repairs {
            writeln!(out, "  {} -> {}", r.manifest, r.backup)?;
        }
    }
    if !plan.notes.is_empty() {
        writeln!(out, "notes:")?;
        for n in &plan.notes {
            writeln!(out, "  - {}", n.message)?;
        }
    }
    match applied {
        None => writeln!(out, "would write: {}", plan.writes.join(", "))?,
        Some(a) => {
            if let Some(id) = &a.snapshot {
                writeln!(out, "snapshot: {id}")?;
            }
            let next = match plan.resume_from() {
                Some(_) => format!("rk resume {}", plan.rid),
                None => format!("rk status {}", plan.rid),
            };
            writeln!(out, "next: {next}")?;
        }
    }
    if applied.is_none() {
        writeln!(
            out,
            "to migrate, run `rk migrate {}{}`",
            plan.rid,
            match plan.action {
                Action::Rebuild => " --rebuild",
                _ => "",
            }
        )?;
    }
    Ok(())
}

/// One warning per kind of uncertainty, each with the next step.
fn warnings(plan: &Plan, dry_run: bool) -> Vec<String> {
    let rid = &plan.rid;
    let count = |kind| plan.notes.iter().filter(|n| n.kind == kind).count();
    let mut out = Vec::new();
    let in_progress: Vec<&str> = plan
        .phases
        .iter()
        .filter(|p| p.status == crate::trials::EvidenceStatus::InProgress)
        .map(|p| p.phase.as_str())
        .collect();
    if !in_progress.is_empty() {
        out.push(format!(
            "phases inferred in_progress: {}; check `rk status {rid}` before `rk resume {rid}` dispatches from {}",
            in_progress.join(", "),
            plan.resume_from().unwrap_or("-")
        ));
    }
    if !plan.repairs.is_empty() {
        out.push(format!(
            "{} corrupt manifest{} {} backed up and reconstructed (jobs unknown); compare the .corrupt.* backup{} with the trial's files",
            plan.repairs.len(),
            if plan.repairs.len() == 1 { "" } else { "s" },
            match (dry_run, plan.repairs.len() == 1) {
                (true, _) => "would be",
                (false, true) => "was",
                (false, false) => "were",
            },
            if plan.repairs.len() == 1 { "" } else { "s" },
        ));
    }
    let unreadable = count(NoteKind::UnreadableManifest);
    if unreadable > 0 {
        out.push(format!(
            "{unreadable} manifest{} cannot be read; see `rk scan-trials {rid}`",
            if unreadable == 1 { "" } else { "s" }
        ));
    }
    if count(NoteKind::NoRule) > 0 {
        let phases: Vec<&str> = plan
            .phases
            .iter()
            .filter(|p| p.rule.is_none())
            .map(|p| p.phase.as_str())
            .collect();
        out.push(format!(
            "no evidence rule for {}: recorded not_started; add one under `evidence:` in rk.yaml, then `rk migrate {rid} --rebuild`",
            phases.join(", ")
        ));
    }
    if let Some(c) = plan.config.as_ref().filter(|c| c.hash.is_none()) {
        out.push(format!(
            "no config at {}: no config_hash recorded; put the run's config there, then `rk migrate {rid} --rebuild`",
            c.path
        ));
    }
    out
}
