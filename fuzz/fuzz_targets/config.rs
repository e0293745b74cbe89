//! Config loader and canonicalizer: any bytes, read as JSON, as YAML and as
//! stdin would be (JSON first, then YAML), never panic; whatever loads has
//! canonical bytes that are a fixed point when read back as JSON, a pretty
//! form that reads back to the same canonical bytes, and a hash under both
//! schemes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rk::canon::{self, canonical_bytes, config_hash, pretty, Format, Scheme};

fuzz_target!(|data: &[u8]| {
    for (format, origin) in [
        (Some(Format::Json), "fuzz.json"),
        (Some(Format::Yaml), "fuzz.yaml"),
        (None, "-"),
    ] {
        let Ok(doc) = canon::load(data, format, origin) else {
            continue;
        };
        let canonical = canonical_bytes(&doc.value);
        let again = canon::load(&canonical, Some(Format::Json), "canonical.json")
            .unwrap_or_else(|e| panic!("canonical bytes do not load as JSON: {e}"));
        assert_eq!(
            canonical_bytes(&again.value),
            canonical,
            "canonical bytes are not a fixed point"
        );
        let text = pretty(&doc.value);
        let from_pretty = canon::load(text.as_bytes(), Some(Format::Json), "pretty.json")
            .unwrap_or_else(|e| panic!("pretty form does not load as JSON: {e}"));
        assert_eq!(
            canonical_bytes(&from_pretty.value),
            canonical,
            "pretty form reads back to other canonical bytes"
        );
        for scheme in Scheme::ALL {
            let _ = config_hash(&doc, scheme);
        }
    }
});
