//! The command line: clap definitions (one file per command), the shared
//! [`Context`], and the one place where errors become messages and exit codes.

pub mod man;
mod plumbing;
mod porcelain;
pub mod progress;
mod shell;

pub use shell::Shell;

use crate::error::{Error, Exit};
use crate::output::{ColorChoice, Messages, Style};
use crate::project::{Project, RunDir};
use clap::{CommandFactory, Parser, Subcommand};
use std::io::{self, Write};
use std::path::PathBuf;

/// rk keeps the state of long, multi-phase experiment runs: resume exactly
/// where a run stood, detect config drift, migrate, list, compare, archive.
///
/// Plumbing commands (hash-config, read-state, write-state, scan-trials,
/// cat-object, log, fsck) print stable machine-readable output. Porcelain
/// commands compose them for people.
///
/// Exit status: 0 success or no difference; 1 a difference was found; 2 usage
/// error or invalid input; 3 config (or code) drift, resume refused; 4 busy or
/// conflict, or a full disk (no space, quota or file size limit: nothing is
/// half-written, run the command again once there is room); 5 corrupt store
/// or state (or one of rk's own files that is not a regular file); 6 refused by the run's state; after `rk
/// resume` dispatched, the orchestrator's own exit code.
///
/// The project is found by walking up from the current directory to the first
/// directory holding rk.yaml or experiments/ (-C DIR starts the walk in DIR;
/// RK_PROJECT names the root). A run is named by its id (experiments/run_<id>)
/// or by the path of its directory.
///
/// rk.yaml is optional; every key defaults on its own to the Python tool set's
/// layout, and an unknown key is an error naming its line. rk.yaml(5) (`man 5
/// rk.yaml`) lists every key with its default and meaning, and a full example:
/// where the runs live (runs_dir, run_dir_prefix), the names of a run's files,
/// the pipeline (phases), the trial manifests, hashing (hash.ignore,
/// hash.scheme), how the orchestrator is started (dispatch: command and step
/// templates with {run_id}, {run_dir}, {config}, {step}; plan; via local or
/// slurm), the evidence rules, sessions_keep, gates, code_drift, status_md.
///
/// Environment: RK_PROJECT (the project root), RK_NOW (an RFC 3339 time used
/// instead of the clock; anything else is exit 2, as is a clock past year
/// 9999), NO_COLOR (no colour, even on a terminal), RK_LOCK_TIMEOUT_MS (how long to wait for .state.lock,
/// in milliseconds, default 10000; anything but a whole number is exit 2), RK_PYTHON (the Python with PyYAML rk asks for a
/// pyyaml-sorted hash it cannot reproduce itself, default python3),
/// RK_THREADS (worker threads for scan-trials, status, migrate, list, archive
/// and verify; default the number of cores, at most 8; 1 does the work on one
/// thread).
#[derive(Debug, Parser)]
#[command(name = "rk", version, max_term_width = 100)]
pub struct Cli {
    /// Run as if rk was started in DIR: the project is found by walking up
    /// from DIR, and relative paths are read from there (overrides RK_PROJECT).
    #[arg(short = 'C', value_name = "DIR", global = true)]
    pub directory: Option<PathBuf>,

    /// When to colour output. `auto` colours a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Resume(porcelain::resume::Args),
    Status(porcelain::status::Args),
    List(porcelain::list::Args),
    Next(porcelain::next::Args),
    DiffConfig(porcelain::diff_config::Args),
    Migrate(porcelain::migrate::Args),
    Init(porcelain::init::Args),
    Stop(porcelain::stop::Args),
    Note(porcelain::note::Args),
    Gate(porcelain::gate::Args),
    Compare(porcelain::compare::Args),
    Archive(porcelain::archive::Args),
    Verify(porcelain::verify::Args),
    Restore(porcelain::restore::Args),
    Demo(porcelain::demo::Args),
    Completions(porcelain::completions::Args),
    HashConfig(plumbing::hash_config::Args),
    ReadState(plumbing::read_state::Args),
    WriteState(plumbing::write_state::Args),
    ScanTrials(plumbing::scan_trials::Args),
    CatObject(plumbing::cat_object::Args),
    Log(plumbing::log::Args),
    Fsck(plumbing::fsck::Args),
    #[command(hide = true)]
    DemoOrchestrator(porcelain::demo_orchestrator::Args),
}

/// The RUN operand of every command that acts on one run, with its one
/// help text.
#[derive(Debug, clap::Args)]
pub struct RunArg {
    #[arg(value_name = "RUN", help = RUN_HELP)]
    pub run: String,
}

/// What RUN can be, as every command's help says it.
pub const RUN_HELP: &str =
    "The run: a run id, the run dir's name (`run_<id>`), or the path of a run directory";

/// What every command gets besides its own arguments.
pub struct Context {
    pub color: ColorChoice,
    /// `-C DIR` was given: the project is found from the cwd, never RK_PROJECT.
    pub directory_given: bool,
}

impl Context {
    /// The project, found as docs/FORMATS.md#a-run-directory says.
    pub fn project(&self) -> Result<Project, Error> {
        let cwd = std::env::current_dir()
            .map_err(|e| Error::usage(format!("cannot read the current directory: {e}"), None))?;
        let env_project = if self.directory_given {
            None
        } else {
            std::env::var_os("RK_PROJECT")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Ok(Project::discover(&cwd, env_project.as_deref())?)
    }

    /// The project, and the run RUN names in it.
    pub fn run(&self, arg: &RunArg) -> Result<(Project, RunDir), Error> {
        self.run_named(&arg.run)
    }

    /// The project, and the run `operand` names in it (a RUN operand that
    /// is optional or has a second spelling).
    pub fn run_named(&self, operand: &str) -> Result<(Project, RunDir), Error> {
        let project = self.project()?;
        let run = project.resolve_run(operand)?;
        Ok((project, run))
    }

    /// Styles for stdout.
    pub fn style(&self) -> Style {
        Style {
            color: self.color.for_stdout(),
        }
    }
}

/// Parse the command line, run the command, render any error, and return
/// the process exit code.
pub fn main() -> i32 {
    let cli = match shortcut(std::env::args_os()) {
        Some(Shortcut::Version) => {
            return match writeln!(io::stdout(), "{}", version_line()) {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Exit::Usage.code(),
                _ => 0,
            };
        }
        Some(Shortcut::Run(cli)) => *cli,
        None => match Cli::try_parse() {
            Ok(cli) => cli,
            Err(e) => return parse_error(e),
        },
    };
    let color = cli.color;
    match run(cli) {
        Ok(exit) => exit.code(),
        Err(e) if e.is_broken_pipe() => 0,
        Err(e) => {
            render_error(&e, color);
            e.exit().code()
        }
    }
}

/// A command line read without clap.
#[derive(Debug)]
enum Shortcut {
    /// `rk --version` or `rk -V`: the line clap prints.
    Version,
    /// `rk hash-config FILE`: what clap would have parsed.
    Run(Box<Cli>),
}

/// The two shortest command lines, recognised without building the parser
/// of every command (most of their start-up): `rk --version` (or `-V`) alone
/// and `rk hash-config FILE` with one FILE that is valid UTF-8 and is `-` or
/// does not start with `-`. Every other command line, including help, a
/// second operand and any option, is left to clap, which also reports every
/// usage error.
fn shortcut(args: impl IntoIterator<Item = std::ffi::OsString>) -> Option<Shortcut> {
    let mut args = args.into_iter().skip(1);
    let (first, second) = (args.next()?, args.next());
    if args.next().is_some() {
        return None;
    }
    match (first.to_str()?, second) {
        ("--version" | "-V", None) => Some(Shortcut::Version),
        ("hash-config", Some(file)) => {
            let file = file.into_string().ok()?;
            if file.is_empty() || (file.starts_with('-') && file != "-") {
                return None;
            }
            Some(Shortcut::Run(Box::new(Cli {
                directory: None,
                color: ColorChoice::Auto,
                command: Command::HashConfig(plumbing::hash_config::Args::one_file(file)),
            })))
        }
        _ => None,
    }
}

/// What `rk --version` prints.
fn version_line() -> String {
    format!("rk {}", env!("CARGO_PKG_VERSION"))
}

fn run(cli: Cli) -> Result<Exit, Error> {
    crate::clock::check().map_err(|message| {
        Error::usage(
            message,
            Some("unset RK_NOW or give it an RFC 3339 UTC time; check the system clock".into()),
        )
    })?;
    if let Some(dir) = &cli.directory {
        std::env::set_current_dir(dir).map_err(|e| {
            Error::usage(
                format!("cannot change to directory {}: {e}", dir.display()),
                Some("-C takes an existing directory".into()),
            )
        })?;
    }
    if let Err(e) = crate::pool::threads_from_env() {
        return Err(Error::usage(
            e,
            Some(
                "set RK_THREADS to a whole number from 1 up, or unset it to use every core".into(),
            ),
        ));
    }
    if let Err(e) = crate::store::lock::lock_timeout_from_env() {
        return Err(Error::usage(
            e,
            Some("set RK_LOCK_TIMEOUT_MS to a whole number of milliseconds (0: do not wait), or unset it to wait 10 s".into()),
        ));
    }
    let ctx = Context {
        color: cli.color,
        directory_given: cli.directory.is_some(),
    };
    match cli.command {
        Command::HashConfig(args) => plumbing::hash_config::run(args, &ctx),
        Command::ReadState(args) => plumbing::read_state::run(args, &ctx),
        Command::WriteState(args) => plumbing::write_state::run(args, &ctx),
        Command::CatObject(args) => plumbing::cat_object::run(args, &ctx),
        Command::Log(args) => plumbing::log::run(args, &ctx),
        Command::Fsck(args) => plumbing::fsck::run(args, &ctx),
        Command::ScanTrials(args) => plumbing::scan_trials::run(args, &ctx),
        Command::List(args) => porcelain::list::run(args, &ctx),
        Command::Status(args) => porcelain::status::run(args, &ctx),
        Command::Compare(args) => porcelain::compare::run(args, &ctx),
        Command::Archive(args) => porcelain::archive::run(args, &ctx),
        Command::Verify(args) => porcelain::verify::run(args, &ctx),
        Command::DiffConfig(args) => porcelain::diff_config::run(args, &ctx),
        Command::Resume(args) => porcelain::resume::run(args, &ctx),
        Command::Demo(args) => porcelain::demo::run(args, &ctx),
        Command::Completions(args) => porcelain::completions::run(args, &ctx),
        Command::Gate(args) => porcelain::gate::run(args, &ctx),
        Command::Note(args) => porcelain::note::run(args, &ctx),
        Command::Next(args) => porcelain::next::run(args, &ctx),
        Command::Restore(args) => porcelain::restore::run(args, &ctx),
        Command::Init(args) => porcelain::init::run(args, &ctx),
        Command::Migrate(args) => porcelain::migrate::run(args, &ctx),
        Command::Stop(args) => porcelain::stop::run(args, &ctx),
        Command::DemoOrchestrator(args) => porcelain::demo_orchestrator::run(args, &ctx),
    }
}

/// A command line clap refused: help and version go to stdout (exit 0); a
/// missing subcommand prints the help (exit 2); every other error is shown in
/// rk's own `rk: error:` / `rk: hint:` form, exit 2.
fn parse_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    if !e.use_stderr() {
        let _ = e.print();
        return 0;
    }
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = e.print();
        return Exit::Usage.code();
    }
    let (message, hint) = clap_message(&e.render().to_string());
    render_error(&Error::usage(message, Some(hint)), ColorChoice::Auto);
    Exit::Usage.code()
}

/// Split clap's rendered error into rk's one-line message and a hint: its
/// tips, the usage line, and where to read more.
fn clap_message(text: &str) -> (String, String) {
    let mut message = String::new();
    let mut tips = Vec::new();
    let mut usage = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(m) = line.strip_prefix("error: ") {
            message = m.to_string();
        } else if let Some(tip) = line.strip_prefix("tip: ") {
            tips.push(tip.to_string());
        } else if let Some(u) = line.strip_prefix("Usage: ") {
            usage = Some(u.to_string());
        } else if line.starts_with("For more information") {
        } else {
            message.push(' ');
            message.push_str(line);
        }
    }
    let command = match &usage {
        Some(usage) => usage
            .split_whitespace()
            .take_while(|w| !w.starts_with(['-', '[', '<']))
            .collect::<Vec<_>>()
            .join(" "),
        None => {
            // No usage line (an invalid value): the subcommand typed, if any.
            let root = Cli::command();
            let typed = std::env::args().skip(1).find(|a| {
                root.get_subcommands()
                    .any(|c| c.get_name() == a && !c.is_hide_set())
            });
            typed.map_or("rk".to_string(), |sub| format!("rk {sub}"))
        }
    };
    let mut hint = tips.join("; ");
    if let Some(usage) = usage {
        if !hint.is_empty() {
            hint.push_str("; ");
        }
        hint.push_str(&format!("usage: {usage}"));
    }
    if !hint.is_empty() {
        hint.push_str("; ");
    }
    hint.push_str(&format!("`{command} --help` shows every option"));
    (message, hint)
}

/// The one place errors are shown: `rk: error: <what, where>` and, when there
/// is something to do about it, `rk: hint: <what next>`.
pub fn render_error(e: &Error, color: ColorChoice) {
    let mut shell = Shell::stderr(color);
    let _ = shell.error(&one_line(&e.to_string()));
    if let Some(hint) = e.hint() {
        let _ = shell.hint(&hint);
    }
}

/// A warning on stderr, for things that do not stop the command.
pub fn warn(color: ColorChoice, message: &str) {
    let _ = Shell::stderr(color).warn(message);
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

/// Buffered, locked stdout. Callers flush it; a closed pipe surfaces as
/// `Error::Output(BrokenPipe)`, which ends the process quietly.
pub fn stdout() -> io::BufWriter<io::StdoutLock<'static>> {
    io::BufWriter::new(io::stdout().lock())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;

    fn argv(args: &[&str]) -> Vec<OsString> {
        std::iter::once("rk")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect()
    }

    /// Every command line the shortcut takes is the one clap parses.
    #[test]
    fn the_shortcut_parses_what_clap_parses() {
        for args in [
            &["hash-config", "config.yaml"][..],
            &["hash-config", "-"],
            &["hash-config", "a b.json"],
            &["hash-config", "x=--pretty"],
            &["hash-config", "hash-config"],
        ] {
            let Some(Shortcut::Run(quick)) = shortcut(argv(args)) else {
                panic!("{args:?} is taken by the shortcut");
            };
            let parsed = Cli::try_parse_from(argv(args)).expect("clap parses it");
            assert_eq!(format!("{quick:?}"), format!("{parsed:?}"), "{args:?}");
        }
        for args in [&["--version"][..], &["-V"]] {
            assert!(matches!(shortcut(argv(args)), Some(Shortcut::Version)));
            let e = Cli::try_parse_from(argv(args)).unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::DisplayVersion);
            assert_eq!(e.render().to_string(), format!("{}\n", version_line()));
        }
    }

    /// Near misses are left to clap: options, help, missing or extra
    /// operands, odd spellings, and arguments that are not UTF-8.
    #[test]
    fn near_misses_go_to_clap() {
        for args in [
            &[][..],
            &["--help"],
            &["-h"],
            &["help"],
            &["--version", "--version"],
            &["--version", "hash-config"],
            &["-V", "x"],
            &["--Version"],
            &["-v"],
            &["version"],
            &["hash-config"],
            &["hash-config", ""],
            &["hash-config", "--help"],
            &["hash-config", "-h"],
            &["hash-config", "--"],
            &["hash-config", "--pretty"],
            &["hash-config", "--canonical=x"],
            &["hash-config", "-C"],
            &["hash-config", "-x.yaml"],
            &["hash-config", "a.yaml", "b.yaml"],
            &["hash-config", "a.yaml", "--pretty"],
            &["hash-config", "--", "a.yaml"],
            &["hash-confi", "a.yaml"],
            &["hash_config", "a.yaml"],
            &["Hash-Config", "a.yaml"],
            &["-C", "dir", "hash-config", "a.yaml"],
            &["--color", "never", "hash-config", "a.yaml"],
            &["status", "a"],
        ] {
            assert!(shortcut(argv(args)).is_none(), "{args:?} goes to clap");
        }
        let not_utf8 = OsString::from_vec(b"a\xff.yaml".to_vec());
        let mut args = argv(&["hash-config"]);
        args.push(not_utf8);
        assert!(shortcut(args).is_none());
        let mut args = argv(&[]);
        args.push(OsString::from_vec(b"hash-config\xff".to_vec()));
        args.push("a.yaml".into());
        assert!(shortcut(args).is_none());
    }

    /// Every RUN operand is explained in the same words (`rk init`'s RUN is
    /// the id of a run to be made; `rk status` adds what it defaults to).
    #[test]
    fn every_run_operand_has_the_one_help_text() {
        fn walk(cmd: &clap::Command, path: &str, seen: &mut Vec<String>) {
            for arg in cmd.get_positionals() {
                let names = arg.get_value_names().unwrap_or_default();
                if names.iter().any(|n| n == "RUN") && path != "rk init" {
                    let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                    assert!(help.starts_with(RUN_HELP), "{path}: RUN is {help:?}");
                    seen.push(path.to_string());
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), seen);
            }
        }
        let mut seen = Vec::new();
        walk(&Cli::command(), "rk", &mut seen);
        assert!(seen.len() >= 18, "{seen:?}");
        assert!(seen.iter().any(|p| p == "rk gate list"), "{seen:?}");
    }
}
