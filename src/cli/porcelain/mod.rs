//! Porcelain: commands for people, each a thin mapping onto `ops`.
pub mod archive;
pub mod compare;
pub mod completions;
pub mod demo;
pub mod demo_orchestrator;
pub mod diff_config;
pub mod gate;
pub mod init;
pub mod list;
pub mod migrate;
pub mod next;
pub mod note;
pub mod restore;
pub mod resume;
pub mod status;
pub mod stop;
pub mod verify;
