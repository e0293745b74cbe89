use crate::canon::{self, ConfigHash, Format, Pointer, Scheme};
use crate::cli::{stdout, Context};
use crate::error::{Error, Exit};
use std::io::Write;
use std::path::Path;

/// Print the config hash of each FILE, like sha256sum: `<hex>  <file>`.
///
/// Scheme rk-c14n-v1 (the default) is the lowercase hex sha256 of the RFC 8785
/// canonical bytes of the config: key order, comments, quoting and YAML-vs-JSON
/// spelling never change it. Scheme pyyaml-sorted reproduces the hash the Python
/// tool set stored (sha256 of PyYAML `safe_dump(cfg, sort_keys=True)`); where
/// rk cannot be sure of PyYAML's exact bytes it says `unverifiable` on stderr
/// and exits 2 rather than print a hash that might be wrong.
///
/// Under rk-c14n-v1, `1` and `1.0` hash the same, and so do a plain date
/// (`2025-09-02`) and the quoted string `"2025-09-02"`, although PyYAML loads
/// different types; `rk diff-config` shows such a change between two files.
///
/// YAML is read the way PyYAML's safe_load reads it (YAML 1.1: `yes` is true,
/// `0755` is 493, `1e5` is a string). Refused with exit 2 and the JSON Pointer
/// of the value: NaN and infinities, duplicate keys, keys that collide once
/// turned into strings, null/sequence/mapping keys, custom tags, several
/// documents, invalid UTF-8, alias bombs, nesting deeper than 128.
///
/// Files named *.json are JSON, other files YAML; on stdin (`-`) input starting
/// with `{` or `[` is tried as JSON first. Several files are hashed in order;
/// the exit status is that of the first failure, after all are tried.
///
/// Exit status: 0 every file hashed; 2 a file cannot be read, is not one
/// unambiguous config, or cannot be hashed for certain under the scheme.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Config files to hash; `-` reads stdin.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<String>,

    /// The hash scheme.
    #[arg(long, value_name = "SCHEME", default_value = "rk-c14n-v1", value_parser = ["rk-c14n-v1", "pyyaml-sorted"])]
    scheme: String,

    /// Read every input as this format instead of guessing from the name.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,

    /// Print the canonical bytes instead of the hash (one file only; no newline
    /// is added, so the output piped to sha256sum gives the hash).
    #[arg(long, conflicts_with = "pretty")]
    canonical: bool,

    /// Print the pretty canonical form used by diff-config (one file only).
    #[arg(long)]
    pretty: bool,

    /// Drop the value at this JSON Pointer before hashing (repeatable), on top
    /// of rk.yaml's hash.ignore when a project is found.
    #[arg(long, value_name = "PTR")]
    ignore: Vec<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FormatArg {
    Json,
    Yaml,
}

impl Args {
    /// `rk hash-config FILE`: FILE with every option at its default.
    pub(crate) fn one_file(file: String) -> Args {
        Args {
            files: vec![file],
            scheme: "rk-c14n-v1".into(),
            format: None,
            canonical: false,
            pretty: false,
            ignore: Vec::new(),
        }
    }
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let scheme = Scheme::from_name(&args.scheme).expect("clap checked the scheme");
    let format = args.format.map(|f| match f {
        FormatArg::Json => Format::Json,
        FormatArg::Yaml => Format::Yaml,
    });
    let mut ignore = args
        .ignore
        .iter()
        .map(|p| {
            Pointer::parse(p).map_err(|message| canon::Error::BadPointer {
                pointer: p.clone(),
                message,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // No project is fine; a project whose rk.yaml is broken is an error, or
    // its hash.ignore would silently not apply.
    match ctx.project() {
        Ok(project) => ignore.extend(project.settings.hash_ignore),
        Err(Error::Project(crate::project::Error::NotFound { .. })) => {}
        Err(e) => return Err(e),
    }
    let single_output = args.canonical || args.pretty;
    if single_output && args.files.len() != 1 {
        return Err(Error::usage(
            "--canonical and --pretty take exactly one FILE",
            Some("run the command once per file".into()),
        ));
    }
    let mut out = stdout();
    let mut first_failure: Option<Error> = None;
    for (n, file) in args.files.iter().enumerate() {
        let last = n + 1 == args.files.len();
        let result = load(file, format).and_then(|mut doc| {
            canon::remove_pointers(&mut doc.value, &ignore);
            if args.canonical {
                out.write_all(&canon::canonical_bytes(&doc.value))?;
                return Ok(());
            }
            if args.pretty {
                out.write_all(canon::pretty(&doc.value).as_bytes())?;
                return Ok(());
            }
            let hash = canon::config_hash(&doc, scheme);
            if last {
                // Only the exit follows: leave the last tree to it rather
                // than free it node by node (4% of `rk hash-config FILE`).
                std::mem::forget(doc);
            }
            match hash {
                ConfigHash::Hex(hex) => {
                    writeln!(out, "{hex}  {file}")?;
                    Ok(())
                }
                ConfigHash::Unverifiable(reason) => Err(Error::usage(
                    format!("{file}: unverifiable under {scheme}: {reason}"),
                    Some("rk cannot be sure of PyYAML's exact bytes for this config; use --scheme rk-c14n-v1".into()),
                )),
            }
        });
        if let Err(e) = result {
            if e.is_broken_pipe() {
                return Err(e);
            }
            out.flush()?;
            crate::cli::render_error(&e, ctx.color);
            first_failure.get_or_insert(e);
        }
    }
    out.flush()?;
    Ok(first_failure.map(|e| e.exit()).unwrap_or(Exit::Success))
}

/// Load a config operand: a file, or `-` for stdin.
fn load(file: &str, format: Option<Format>) -> Result<canon::Document, Error> {
    Ok(if file == "-" {
        canon::load_reader(&mut std::io::stdin().lock(), format)?
    } else {
        canon::load_file(Path::new(file), format)?
    })
}
