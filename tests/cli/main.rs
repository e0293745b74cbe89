#![allow(clippy::result_large_err)] // rk::Error is returned whole, as by every rk writer
//! Integration tests: one binary, one module per command. Each test runs the
//! real `rk` binary and checks stdout, stderr and the exit status together.

mod archive;
mod bad_input;
mod cat_object;
mod cli_errors;
mod code_drift;
mod common;
mod compare;
mod completions;
mod contention;
mod crash;
mod demo;
mod diff_config;
mod fsck;
mod gate;
mod hash_config;
mod init;
mod json_documents;
mod list;
mod log;
mod man_pages;
mod migrate;
mod note;
mod orchestrators;
mod python_interop;
mod read_state;
mod readme;
mod restore;
mod resume;
mod scan_trials;
mod security;
mod slurm;
mod status;
mod status_default;
mod status_md;
mod stop;
mod testing_md;
mod version;
mod write_state;
mod writers;
