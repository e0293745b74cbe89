//! Plumbing: stable, machine-readable output over the domain layers.
pub mod cat_object;
pub mod fsck;
pub mod hash_config;
pub mod log;
pub mod read_state;
pub mod scan_trials;
pub mod write_state;
