//! Man pages generated from the clap definitions: `man/rk.1` and
//! `man/rk-<command>.1`. A test keeps the committed pages current.

use clap::CommandFactory;

/// Every man page as (file name, roff bytes).
pub fn pages() -> Vec<(String, Vec<u8>)> {
    let root = super::Cli::command().disable_version_flag(true);
    let mut pages = vec![("rk.1".to_string(), render(root.clone()))];
    for sub in root.get_subcommands() {
        if sub.is_hide_set() {
            continue;
        }
        let name = format!("rk-{}", sub.get_name());
        let sub = sub
            .clone()
            .name(name.clone())
            .bin_name(format!("rk {}", sub.get_name()));
        pages.push((format!("{name}.1"), render(sub)));
    }
    pages
}

fn render(cmd: clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .date("")
        .render(&mut out)
        .expect("rendering to a Vec cannot fail");
    out
}
