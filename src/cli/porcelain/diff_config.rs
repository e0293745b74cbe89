use crate::cli::{stdout, Context};
use crate::error::{Error, Exit};
use crate::ops::diff_config::{self, Operand};
use crate::output::ColorChoice;
use std::io::Write;

/// Show how two configs differ, as a unified diff of their canonical forms.
///
/// Both sides are canonicalized (keys sorted, one scalar per line, numbers and
/// strings in canonical spelling), so key order, comments, quoting and
/// YAML-vs-JSON never show as a difference, and each changed value is exactly
/// one `-`/`+` pair.
///
/// An operand is `-` (stdin), an existing config file, a run (a run id, or the
/// path of a run dir: its current config file), `RUN@recorded` (the config the
/// run's state records: the config object stored with its config_hash at init,
/// at migrate, or at the last forced drift), or `RUN@<snapshot>` with a
/// snapshot id (4+ hex digits), `HEAD` or `HEAD~N` (the config recorded at that
/// snapshot). An existing file, or a name ending in .yaml, .yml or .json, is
/// always read as a file.
///
/// `rk diff-config RUN@recorded RUN` shows exactly the drift `rk resume RUN`
/// refuses.
///
/// Two files whose canonical forms are equal can still hold different YAML
/// types: `1` and `1.0` (integer, float), a plain date and a quoted one
/// (date, string). rk-c14n-v1 hashes them the same, PyYAML loads them
/// differently, so diff-config shows each under an `@@ types … @@` hunk
/// (`-/lr: 1 (integer)`, `+/lr: 1.0 (float)`) and exits 1. A recorded config
/// (canonical JSON in the store) keeps neither distinction.
///
/// Exit status: 0 the configs are the same, 1 they differ, 2 error.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The old side: a file, `-`, RUN, RUN@recorded or RUN@<snapshot>.
    #[arg(value_name = "A")]
    a: String,

    /// The new side: a file, `-`, RUN, RUN@recorded or RUN@<snapshot>.
    #[arg(value_name = "B")]
    b: String,

    /// Print only the JSON Pointers of the values that differ, one per line.
    #[arg(long)]
    keys: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    if args.a == "-" && args.b == "-" {
        return Err(Error::usage(
            "only one side can be read from stdin",
            Some("save one config to a file first".into()),
        ));
    }
    let (oa, ob) = (Operand::parse(&args.a), Operand::parse(&args.b));
    let project = if oa.needs_project() || ob.needs_project() {
        Some(ctx.project()?)
    } else {
        None
    };
    let mut stdin = std::io::stdin().lock();
    let a = diff_config::resolve(&oa, &args.a, project.as_ref(), &mut stdin)?;
    let b = diff_config::resolve(&ob, &args.b, project.as_ref(), &mut stdin)?;
    let diff = diff_config::diff(&a, &b);
    let mut out = stdout();
    if args.keys {
        for key in &diff.keys {
            writeln!(out, "{key}")?;
        }
    } else {
        write_colored_diff(&mut out, &diff.unified, ctx.color)?;
    }
    out.flush()?;
    Ok(if diff.is_same() {
        Exit::Success
    } else {
        Exit::Different
    })
}

/// Write a unified diff, coloured like git's on a terminal.
pub fn write_colored_diff(
    out: &mut dyn Write,
    unified: &str,
    color: ColorChoice,
) -> std::io::Result<()> {
    let style = crate::output::Style {
        color: color.for_stdout(),
    };
    if !style.color {
        return out.write_all(unified.as_bytes());
    }
    for line in unified.split_inclusive('\n') {
        let (text, newline) = match line.strip_suffix('\n') {
            Some(t) => (t, "\n"),
            None => (line, ""),
        };
        let painted = if text.starts_with("---") || text.starts_with("+++") {
            style.bold(text)
        } else if text.starts_with('-') {
            style.red(text)
        } else if text.starts_with('+') {
            style.green(text)
        } else if text.starts_with("@@") {
            style.cyan(text)
        } else {
            text.to_string()
        };
        write!(out, "{painted}{newline}")?;
    }
    Ok(())
}
