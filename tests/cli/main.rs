//! Integration tests: one binary, one module per command. Each test runs the
//! real `rk` binary and checks stdout, stderr and the exit status together.

mod archive;
mod cat_object;
mod common;
mod compare;
mod diff_config;
mod fsck;
mod hash_config;
mod log;
mod man_pages;
mod read_state;
mod scan_trials;
mod status;
mod store_crash;
mod write_state;
