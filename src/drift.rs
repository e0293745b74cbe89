//! Config drift (SPEC §6.3): does the run's current config still hash to the
//! `config_hash` recorded in its state, under the scheme it was recorded with?
//!
//! The one idea: never a false answer. A legacy (`pyyaml-sorted`) hash that rk
//! cannot reproduce with certainty is `Unverifiable`, never "drifted" and never
//! "unchanged".

use crate::canon::{self, ConfigHash, Document, Pointer, Scheme};

/// What the check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Drift {
    /// The config hashes to the recorded hash.
    Unchanged { scheme: Scheme, hash: String },
    /// It does not.
    Drifted {
        scheme: Scheme,
        recorded: String,
        current: String,
    },
    /// The recorded scheme's bytes cannot be reproduced with certainty.
    Unverifiable { scheme: Scheme, reason: String },
    /// The state records no hash (or a scheme rk does not know).
    NotRecorded { reason: String },
}

impl Drift {
    pub fn is_drifted(&self) -> bool {
        matches!(self, Drift::Drifted { .. })
    }
}

/// The scheme a state's `config_hash_scheme` names; absent means legacy.
pub fn recorded_scheme(scheme_field: Option<&str>) -> Option<Scheme> {
    match scheme_field {
        None => Some(Scheme::PyyamlSorted),
        Some(name) => Scheme::from_name(name),
    }
}

/// The hash of `doc` under `scheme`, as rk records it: `hash.ignore` pointers
/// are dropped for `rk-c14n-v1`; the legacy scheme hashes the whole config, as
/// the Python tool set did.
pub fn hash_under(doc: &Document, scheme: Scheme, ignore: &[Pointer]) -> ConfigHash {
    match scheme {
        Scheme::C14nV1 if !ignore.is_empty() => {
            let mut doc = doc.clone();
            canon::remove_pointers(&mut doc.value, ignore);
            canon::config_hash(&doc, scheme)
        }
        _ => canon::config_hash(doc, scheme),
    }
}

/// Compare the current config against the recorded hash and scheme.
pub fn check(
    recorded_hash: Option<&str>,
    scheme_field: Option<&str>,
    current: &Document,
    ignore: &[Pointer],
) -> Drift {
    let Some(recorded) = recorded_hash.filter(|h| !h.is_empty()) else {
        return Drift::NotRecorded {
            reason: "the state records no config_hash".into(),
        };
    };
    let Some(scheme) = recorded_scheme(scheme_field) else {
        return Drift::NotRecorded {
            reason: format!(
                "the state records config_hash_scheme {:?}, which this rk does not know",
                scheme_field.unwrap_or_default()
            ),
        };
    };
    match hash_under(current, scheme, ignore) {
        ConfigHash::Hex(hash) if hash.eq_ignore_ascii_case(recorded) => {
            Drift::Unchanged { scheme, hash }
        }
        ConfigHash::Hex(current) => Drift::Drifted {
            scheme,
            recorded: recorded.to_ascii_lowercase(),
            current,
        },
        ConfigHash::Unverifiable(reason) => Drift::Unverifiable { scheme, reason },
    }
}
