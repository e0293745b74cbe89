use crate::cli::{stdout, Cli, Context};
use crate::error::{Error, Exit};
use clap::CommandFactory;
use std::io::Write;

/// Print a shell completion script for rk.
///
/// The script completes every command, option and value that `rk --help`
/// lists (run ids are not completed). Install it where your shell looks:
///
///   rk completions bash > ~/.local/share/bash-completion/completions/rk
///   rk completions zsh > ~/.zfunc/_rk   # with fpath+=(~/.zfunc) before compinit
///   rk completions fish > ~/.config/fish/completions/rk.fish
///
/// Generated from the same definitions as the help, so it is current for the
/// rk that prints it.
///
/// Exit status: 0 printed; 2 a shell rk cannot complete.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum, value_name = "SHELL")]
    shell: clap_complete::Shell,
}

pub fn run(args: Args, _ctx: &Context) -> Result<Exit, Error> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut offered(), "rk", &mut script);
    let mut out = stdout();
    out.write_all(&script)?;
    out.flush()?;
    Ok(Exit::Success)
}

/// rk's commands as completion offers them: every command `rk --help` lists.
/// clap_complete would also offer the hidden ones (the demo's stand-in
/// orchestrator), so they are left out of the tree it is given.
fn offered() -> clap::Command {
    let all = Cli::command();
    let mut offered = clap::Command::new("rk")
        .version(env!("CARGO_PKG_VERSION"))
        .args(all.get_arguments().cloned())
        .subcommands(all.get_subcommands().filter(|c| !c.is_hide_set()).cloned());
    // The about texts decide how `-h` is described ("see more with --help").
    if let Some(about) = all.get_about() {
        offered = offered.about(about.clone());
    }
    if let Some(long) = all.get_long_about() {
        offered = offered.long_about(long.clone());
    }
    offered
}
