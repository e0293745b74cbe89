//! One module per porcelain verb. Each takes its options and a writer and
//! returns what happened; nothing here parses arguments or picks colours.
//! An entry that acts on one run takes the `&RunDir` the command line
//! resolved once (`cli::Context::run`), after the `&Project` when it needs
//! the project's settings: `(&Project, &RunDir, …)` or `(&RunDir, …)`.

pub mod adopt;
pub mod archive;
pub mod archive_manifest;
pub mod commit;
pub mod compare;
pub mod demo;
pub mod diff_config;
pub mod gate;
pub mod init;
pub mod list;
pub mod log;
pub mod migrate;
pub mod next;
pub mod note;
pub mod plan;
pub mod restore;
pub mod resume;
pub mod session_end;
pub mod slurm_job;
pub mod status;
pub mod status_md;
pub mod status_screen;
pub mod stop;
pub mod verify;
