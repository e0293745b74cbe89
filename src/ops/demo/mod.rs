//! `rk demo`: a self-contained sample project and a walk through it.

pub mod orchestrator;
