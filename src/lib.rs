//! rk keeps the state of long, multi-phase experiment runs so that a run can
//! be stopped and resumed exactly, checked for config drift, migrated from
//! older layouts, listed, compared and archived.
//!
//! Data flows one way: `cli` parses arguments and renders, `ops` carries out
//! the porcelain verbs, and `canon`, `store`, `state`, `trials` and `project`
//! hold the domain. Nothing below `cli` prints.

pub mod canon;
pub mod cli;
pub mod clock;
pub mod code_version;
pub mod dispatch;
pub mod drift;
pub mod environment;
pub mod error;
pub mod exit;
pub mod ops;
pub mod orchestrators;
pub mod output;
pub mod pool;
pub mod project;
pub mod python_json;
pub mod run_config;
pub mod slurm;
pub mod state;
pub mod store;
pub mod trials;

pub use error::{Error, Result};
pub use exit::Exit;
