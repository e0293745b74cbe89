//! `rk diff-config`: the unified diff of two configs' pretty canonical forms
//! (SPEC §6.3, §7.6).

use crate::canon::{self, Pointer, Value};
use similar::TextDiff;

/// One side of a comparison: what it is called in the diff header, and its value.
#[derive(Clone, Debug)]
pub struct Side {
    pub label: String,
    pub value: Value,
}

/// The difference between two configs.
#[derive(Clone, Debug)]
pub struct ConfigDiff {
    /// A git-style unified diff (`--- a/…`, `+++ b/…`, `@@` hunks, 3 lines of
    /// context); empty when the configs are equal.
    pub unified: String,
    /// The pointers of the values that differ, in canonical order.
    pub keys: Vec<Pointer>,
}

impl ConfigDiff {
    pub fn is_same(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Compare two configs.
pub fn diff(a: &Side, b: &Side) -> ConfigDiff {
    let keys = canon::changed_pointers(&a.value, &b.value);
    if keys.is_empty() {
        return ConfigDiff {
            unified: String::new(),
            keys,
        };
    }
    ConfigDiff {
        unified: unified_diff(
            &canon::pretty(&a.value),
            &canon::pretty(&b.value),
            &a.label,
            &b.label,
        ),
        keys,
    }
}

/// A git-style unified diff of two texts with 3 lines of context. Like git,
/// the `a/` and `b/` prefixes replace a leading `/` of an absolute path.
pub fn unified_diff(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("a/{}", old_label.trim_start_matches('/')),
            &format!("b/{}", new_label.trim_start_matches('/')),
        )
        .to_string()
}
