//! Porcelain: commands for people, each a thin mapping onto `ops`.
pub mod demo_orchestrator;
pub mod diff_config;
pub mod init;
pub mod migrate;
pub mod stop;
