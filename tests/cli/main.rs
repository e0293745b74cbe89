//! Integration tests: one binary, one module per command. Each test runs the
//! real `rk` binary and checks stdout, stderr and the exit status together.

mod common;
mod diff_config;
mod hash_config;
mod man_pages;
mod scan_trials;
