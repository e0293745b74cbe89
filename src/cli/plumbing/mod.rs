//! Plumbing: stable, machine-readable output over the domain layers.
pub mod hash_config;
pub mod scan_trials;
