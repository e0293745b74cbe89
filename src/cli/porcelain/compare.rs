use crate::cli::{stdout, Context};
use crate::error::{Error, Exit};
use crate::ops::compare::{self, Comparison, ComparisonDocument, ManifestCounts};
use std::io::Write;

/// Tell whether two runs are compatible, and show how they differ.
///
/// Two runs are **compatible** when all of these hold:
///
///   * their config hashes are equal. When both states record a hash under
///     the same scheme, the recorded hashes are compared; when the schemes
///     differ (a legacy pyyaml-sorted run against an rk-c14n-v1 run) or a
///     side records none, both hashes are recomputed under rk-c14n-v1 from
///     the runs' current configs (`hash.ignore` applied);
///   * their current configs have no changed key (JSON Pointers, as
///     `rk diff-config --keys` prints them);
///   * they have the same set of trials (slugs);
///   * their manifests use the same schema versions (v1, v2) and none is
///     corrupt or missing;
///   * both configs and both trial lists could be read.
///
/// Phase statuses, overall statuses and migrated flags are shown side by
/// side and marked (`*`, and red on a terminal) where they differ. They do
/// not make the runs incompatible (one run may simply be further along), but
/// every marked line is a discrepancy: the verdict then says "compatible
/// config and trials, but they differ in …" and the exit status is 1.
/// Exit 0 means nothing at all is marked.
///
/// With --json, one object: `format_version` (1), `compatible`, `config`
/// (`{scheme, recomputed, a, b, equal, changed_keys}`), `runs` (`[a, b]`,
/// each `{run, status, config_hash, config_hash_scheme, migrated, manifests:
/// {v1, v2, corrupt, missing}, trials, phases: {name: status}}`),
/// `only_in_a`, `only_in_b`, `problems`, `discrepancies` (what else differs:
/// `migrated`, `status`, `phase NAME`).
///
/// Exit status: 0 compatible and nothing marked; 1 any discrepancy (not
/// compatible, or anything marked `*`); 2 error (no such run, the same run
/// named twice).
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The first run: a run id, the run dir's name (`run_<id>`), or the path
    /// of a run directory.
    #[arg(value_name = "A")]
    a: String,

    /// The second run.
    #[arg(value_name = "B")]
    b: String,

    /// Print JSON instead of the report.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let project = ctx.project()?;
    let c = compare::compare(&project, &args.a, &args.b)?;
    let mut out = stdout();
    if args.json {
        crate::output::write_json_line(&mut out, &ComparisonDocument::from(&c))?;
    } else {
        render(&mut out, &c, ctx)?;
    }
    out.flush()?;
    Ok(if c.identical() {
        Exit::Success
    } else {
        Exit::Different
    })
}

fn counts(m: &ManifestCounts) -> String {
    format!(
        "v1 {}, v2 {}, corrupt {}, missing {}",
        m.v1, m.v2, m.corrupt, m.missing
    )
}

fn render(out: &mut dyn Write, c: &Comparison, ctx: &Context) -> std::io::Result<()> {
    let style = ctx.style();
    let mark = |differs: bool, text: String| {
        if differs {
            style.red(&format!("* {text}"))
        } else {
            format!("  {text}")
        }
    };
    fn short(h: &Option<String>) -> &str {
        h.as_deref().map_or("-", crate::canon::short_hash)
    }
    let others = c.discrepancies();
    let verdict = if !c.compatible() {
        style.red("not compatible")
    } else if others.is_empty() {
        style.green("compatible")
    } else {
        style.red(&format!(
            "compatible config and trials, but they differ in {}",
            others.join(", ")
        ))
    };
    writeln!(out, "{} vs {}: {verdict}", c.a.rid, c.b.rid)?;
    let how = if c.hashes.recomputed {
        format!(
            "recomputed under {} from the current configs",
            c.hashes.scheme.name()
        )
    } else {
        format!("recorded, {}", c.hashes.scheme.name())
    };
    writeln!(
        out,
        "{}",
        mark(
            !c.hashes.equal(),
            format!(
                "config hash   {} {} {} ({how})",
                short(&c.hashes.a),
                if c.hashes.equal() { "=" } else { "!=" },
                short(&c.hashes.b)
            )
        )
    )?;
    match &c.changed_keys {
        Some(keys) if keys.is_empty() => writeln!(out, "  changed keys  none")?,
        Some(keys) => writeln!(
            out,
            "{}",
            mark(true, format!("changed keys  {}", keys.join(", ")))
        )?,
        None => writeln!(
            out,
            "{}",
            mark(
                true,
                "changed keys  unknown (a config cannot be read)".into()
            )
        )?,
    }
    let (ma, mb) = (&c.a.manifests, &c.b.manifests);
    let versions_differ = c.manifests_differ();
    writeln!(
        out,
        "{}",
        mark(
            versions_differ,
            format!("manifests     {}: {}", c.a.rid, counts(ma))
        )
    )?;
    writeln!(
        out,
        "{}",
        mark(
            versions_differ,
            format!("              {}: {}", c.b.rid, counts(mb))
        )
    )?;
    let trials_differ = c.trials_differ();
    writeln!(
        out,
        "{}",
        mark(
            trials_differ,
            format!(
                "trials        {} / {}; only in {}: {}; only in {}: {}",
                c.a.trials.len(),
                c.b.trials.len(),
                c.a.rid,
                list_or_none(&c.only_in_a),
                c.b.rid,
                list_or_none(&c.only_in_b)
            )
        )
    )?;
    writeln!(
        out,
        "{}",
        mark(
            c.a.migrated != c.b.migrated,
            format!(
                "migrated      {} / {}",
                yes(c.a.migrated),
                yes(c.b.migrated)
            )
        )
    )?;
    writeln!(
        out,
        "{}",
        mark(
            c.a.status != c.b.status,
            format!("status        {} / {}", c.a.status, c.b.status)
        )
    )?;
    writeln!(out, "  phases")?;
    let rows = c.phase_rows();
    let width = rows.iter().map(|(n, _, _)| n.len()).max().unwrap_or(0);
    let sw = rows.iter().map(|(_, s, _)| s.len()).max().unwrap_or(0);
    for (n, x, y) in rows {
        writeln!(
            out,
            "{}",
            mark(x != y, format!("  {n:width$}  {x:sw$}  {y}"))
        )?;
    }
    for p in &c.problems {
        writeln!(out, "{}", mark(true, format!("problem       {p}")))?;
    }
    Ok(())
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}
