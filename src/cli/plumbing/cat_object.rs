use crate::cli::{stdout, Context, RunArg};
use crate::error::{Error, Exit};
use crate::store::Store;
use std::io::Write;

/// Print an object of a run's store: its canonical bytes, verbatim.
///
/// ID is a full object id, an abbreviation of at least 4 hex digits that
/// names one object, HEAD or HEAD~N. The bytes are re-hashed before they are
/// printed; an object whose bytes do not match its name is corruption (exit
/// 5, naming the object, the last good snapshot and how to recover).
///
/// Snapshot objects are
/// `{"config":…,"kind":"snapshot","message":…,"op":…,"parent":…,"state":…,"time":…}`;
/// config objects are the canonical config itself.
///
/// Exit status: 0 printed; 2 no such run or object, or an ambiguous id; 5
/// the object is missing or corrupt.
///
/// Compatibility: the bytes are exactly those the id is the blake3 hash of
/// (`b3sum` of the output prints the id), RFC 8785 canonical JSON with no
/// trailing newline. This never changes.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: RunArg,

    /// The object: an id (at least 4 hex digits), HEAD or HEAD~N.
    #[arg(value_name = "ID")]
    id: String,
}

pub fn run(args: Args, ctx: &Context) -> Result<Exit, Error> {
    let (_, run) = ctx.run(&args.run)?;
    let store = Store::new(&run);
    let id = store.resolve(&args.id)?;
    let bytes = store.get(&id)?;
    let mut out = stdout();
    out.write_all(&bytes)?;
    out.flush()?;
    Ok(Exit::Success)
}
