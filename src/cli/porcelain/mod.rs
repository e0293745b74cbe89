//! Porcelain: commands for people, each a thin mapping onto `ops`.
pub mod demo;
pub mod demo_orchestrator;
pub mod diff_config;
pub mod resume;
