//! Porcelain: commands for people, each a thin mapping onto `ops`.
pub mod archive;
pub mod compare;
pub mod demo_orchestrator;
pub mod diff_config;
pub mod list;
pub mod status;
pub mod verify;
