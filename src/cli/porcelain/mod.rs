//! Porcelain: commands for people, each a thin mapping onto `ops`.
pub mod diff_config;
