//! YAML (one document, PyYAML safe_load resolution) into the value model. To be written.
use super::{Document, Error};

pub fn load(_bytes: &[u8], _origin: &str) -> Result<Document, Error> {
    todo!("canon::yaml::load")
}
