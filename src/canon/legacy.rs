//! Legacy scheme `pyyaml-sorted`. To be written.
use super::Value;

/// Why the PyYAML bytes of a value cannot be reproduced with certainty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unverifiable(pub String);

pub fn safe_dump_sorted(_value: &Value) -> Result<String, Unverifiable> {
    todo!("canon::legacy::safe_dump_sorted")
}
