//! Canonical configs: YAML or JSON in, one value model, canonical bytes and a
//! hash out (docs/FORMATS.md#config-hashes).
//!
//! The one idea to keep in mind: a hash must change exactly when the value the
//! orchestrator reads changes. Key order, comments, quoting and YAML-vs-JSON
//! spelling never change it; every input whose value is ambiguous (NaN,
//! duplicate keys, custom tags, several documents, …) is refused with the JSON
//! Pointer of the offending value rather than hashed.
//!
//! YAML is resolved the way the Python tool set reads it (PyYAML's
//! `safe_load`, YAML 1.1 rules: `yes` is a boolean, `0755` is octal, `1e5` is a
//! string), so rk hashes the value the orchestrator actually sees. All YAML
//! parsing lives in [`yaml`], so the parser can be swapped in one place.

mod delta;
mod jcs;
mod json;
pub mod legacy;
mod pointer;
mod pretty;
mod resolve;
mod value;
pub mod yaml;

pub use delta::changed_pointers;
pub use jcs::{canonical_bytes, ecmascript_number, shortest_digits, utf16_cmp, write_string};
pub use pointer::Pointer;
pub use pretty::pretty;
pub use value::{Integer, Value};

use crate::exit::{Diagnostic, Exit};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::Path;

/// The deepest nesting of arrays and objects a config may have; deeper input
/// is refused (a top-level array or object is depth 1).
pub const MAX_DEPTH: usize = 128;

/// The most nodes a YAML document may expand to once its aliases are
/// resolved; more is refused as an alias bomb ("billion laughs").
pub const MAX_NODES: u64 = 1_000_000;

/// `bytes` as text, or [`Error::InvalidUtf8`] at the first bad byte.
fn utf8<'a>(bytes: &'a [u8], origin: &str) -> Result<&'a str, Error> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let column =
            std::str::from_utf8(&valid[line_start..]).map_or(1, |line| line.chars().count() + 1);
        Error::InvalidUtf8 {
            origin: origin.to_string(),
            mark: Mark {
                line: valid.iter().filter(|&&b| b == b'\n').count() + 1,
                column,
            },
        }
    })
}

/// How to read input bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

/// A config hash scheme (docs/FORMATS.md#config-hashes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `rk-c14n-v1`: sha256 of the RFC 8785 canonical bytes.
    C14nV1,
    /// `pyyaml-sorted`: sha256 of PyYAML 6 `yaml.safe_dump(cfg, sort_keys=True)`.
    PyyamlSorted,
}

impl Scheme {
    pub const ALL: [Scheme; 2] = [Scheme::C14nV1, Scheme::PyyamlSorted];

    pub fn name(self) -> &'static str {
        match self {
            Scheme::C14nV1 => "rk-c14n-v1",
            Scheme::PyyamlSorted => "pyyaml-sorted",
        }
    }

    pub fn from_name(name: &str) -> Option<Scheme> {
        Scheme::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// In JSON output a scheme is its name, spelled in one place: [`Scheme::name`].
impl serde::Serialize for Scheme {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// A 1-based line and column in an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A loaded config.
#[derive(Clone, Debug)]
pub struct Document {
    pub value: Value,
    /// Where each mapping key starts, named by the pointer of its value:
    /// JSON always fills it, YAML when loaded with [`load_file_with_marks`].
    pub key_marks: Vec<(Pointer, Mark)>,
    /// Why the `pyyaml-sorted` bytes of this config cannot be reproduced with
    /// certainty (a YAML timestamp, a non-string key, …), when that is so.
    pub legacy_unverifiable: Option<String>,
    /// Where a plain YAML timestamp (`2025-01-01`) stands: rk reads it as a
    /// string, PyYAML as a date, so the same canonical form can hide a change
    /// of type (`diff-config` shows it).
    pub timestamps: Vec<Pointer>,
}

impl Document {
    /// Where the key of the value at `pointer` starts, when known.
    pub fn mark_of(&self, pointer: &Pointer) -> Option<Mark> {
        self.key_marks
            .iter()
            .find(|(p, _)| p == pointer)
            .map(|(_, m)| *m)
    }
}

/// Why a config could not be loaded or hashed. Every variant is exit 2.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is a directory, not a config file")]
    IsDirectory { path: String },
    #[error("{origin}:{mark}: {message}")]
    Syntax {
        origin: String,
        mark: Mark,
        message: String,
    },
    #[error("{origin}:{mark}: invalid UTF-8")]
    InvalidUtf8 { origin: String, mark: Mark },
    /// A value that has no single meaning: NaN, a duplicate key, a custom tag,
    /// too deep, …, at `pointer`.
    #[error("{origin}{}: {reason} at {}", mark.map(|m| format!(":{m}")).unwrap_or_default(), display_pointer(pointer))]
    Refused {
        origin: String,
        pointer: Pointer,
        mark: Option<Mark>,
        reason: String,
    },
    #[error("{origin}:{mark}: more than one YAML document; a config is one document")]
    MultipleDocuments { origin: String, mark: Mark },
    #[error("invalid JSON Pointer {pointer:?}: {message}")]
    BadPointer { pointer: String, message: String },
}

fn display_pointer(p: &Pointer) -> String {
    let s = p.to_string();
    if s.is_empty() {
        "the top level (\"\")".into()
    } else {
        s
    }
}

impl Diagnostic for Error {
    fn exit(&self) -> Exit {
        Exit::Usage
    }

    fn hint(&self) -> Option<String> {
        match self {
            Error::Read { source, .. } if source.kind() == std::io::ErrorKind::InvalidInput => {
                Some("rk reads a config only from a regular file: copy it to one and name that".into())
            }
            Error::Read { source, .. } if source.kind() == std::io::ErrorKind::InvalidData => {
                Some("a config file is at most 256 MiB; drop what the run does not need".into())
            }
            Error::Read { .. } => Some("check the path and its permissions".into()),
            Error::IsDirectory { .. } => Some("name the config file inside it".into()),
            Error::Syntax { .. } | Error::InvalidUtf8 { .. } => {
                Some("fix the file at that line and column, then run the command again".into())
            }
            Error::Refused { .. } => Some(
                "give the value one unambiguous meaning (see `man rk-hash-config`), or drop it with --ignore POINTER".into(),
            ),
            Error::MultipleDocuments { .. } => Some("keep one document (remove the extra `---`)".into()),
            Error::BadPointer { .. } => Some("a pointer looks like /model/lr; escape '~' as ~0 and '/' as ~1".into()),
        }
    }
}

/// Whether loading YAML records [`Document::key_marks`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyMarks {
    Record,
    Skip,
}

/// Load a config and get its canonical bytes:
///
/// ```
/// let doc = rk::canon::load(b"b: 1\na: [1.0, 2]  # a comment\n", None, "config.yaml").unwrap();
/// assert_eq!(rk::canon::canonical_bytes(&doc.value), br#"{"a":[1,2],"b":1}"#);
/// ```
///
/// Decide the format: an explicit one wins; a `.json` name is JSON; stdin
/// (`origin == "-"`) whose first non-blank byte is `{` or `[` is tried as JSON
/// first, then (on a JSON syntax error) YAML; everything else is YAML.
pub fn load(bytes: &[u8], format: Option<Format>, origin: &str) -> Result<Document, Error> {
    load_as(bytes, format, origin, KeyMarks::Skip)
}

fn load_as(
    bytes: &[u8],
    format: Option<Format>,
    origin: &str,
    marks: KeyMarks,
) -> Result<Document, Error> {
    match format {
        Some(Format::Json) => json::load(bytes, origin),
        Some(Format::Yaml) => yaml::load_as(bytes, origin, marks),
        None if origin.ends_with(".json") => json::load(bytes, origin),
        // Only a syntax error sends stdin on to YAML: JSON that is refused
        // (a duplicate key, 1e400) must not be re-read with YAML's rules.
        None if origin == "-" && looks_like_json(bytes) => match json::load(bytes, origin) {
            Err(Error::Syntax { .. }) => yaml::load_as(bytes, origin, marks),
            other => other,
        },
        None => yaml::load_as(bytes, origin, marks),
    }
}

fn looks_like_json(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    matches!(
        bytes.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// Read and load a config file.
pub fn load_file(path: &Path, format: Option<Format>) -> Result<Document, Error> {
    load_file_as(path, format, KeyMarks::Skip)
}

/// Read and load a config from `reader`, shown as `-` in messages (stdin).
pub fn load_reader(
    reader: &mut dyn std::io::Read,
    format: Option<Format>,
) -> Result<Document, Error> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|source| Error::Read {
            path: "-".into(),
            source,
        })?;
    load(&bytes, format, "-")
}

/// [`load_file`], recording where each mapping key starts
/// ([`Document::mark_of`]) for messages that point into the file.
pub fn load_file_with_marks(path: &Path, format: Option<Format>) -> Result<Document, Error> {
    load_file_as(path, format, KeyMarks::Record)
}

fn load_file_as(path: &Path, format: Option<Format>, marks: KeyMarks) -> Result<Document, Error> {
    let shown = path.display().to_string();
    if path.is_dir() {
        return Err(Error::IsDirectory { path: shown });
    }
    let bytes = read_config_file(path).map_err(|source| Error::Read {
        path: shown.clone(),
        source,
    })?;
    load_as(&bytes, format, &shown, marks)
}

/// Read a config file whole: a regular file of at most 256 MiB, opened
/// without blocking (a FIFO or `/dev/zero` in its place is refused, never
/// read).
pub fn read_config_file(path: &Path) -> std::io::Result<Vec<u8>> {
    crate::store::atomic::read_regular(path, crate::store::atomic::limit::CONFIG)
}

/// Remove the values at `pointers` (docs/FORMATS.md#rk-yaml `hash.ignore`). A pointer that
/// names nothing removes nothing.
pub fn remove_pointers(value: &mut Value, pointers: &[Pointer]) {
    for pointer in pointers {
        remove_pointer(value, pointer.tokens());
    }
}

fn remove_pointer(value: &mut Value, tokens: &[String]) {
    let Some((first, rest)) = tokens.split_first() else {
        return;
    };
    match value {
        Value::Object(entries) => {
            if rest.is_empty() {
                entries.retain(|(k, _)| k != first);
            } else if let Some((_, child)) = entries.iter_mut().find(|(k, _)| k == first) {
                remove_pointer(child, rest);
            }
        }
        Value::Array(items) => {
            let Some(index) = array_index(first) else {
                return;
            };
            if index < items.len() {
                if rest.is_empty() {
                    items.remove(index);
                } else {
                    remove_pointer(&mut items[index], rest);
                }
            }
        }
        _ => {}
    }
}

fn array_index(token: &str) -> Option<usize> {
    if token == "0" || (!token.starts_with('0') && token.bytes().all(|b| b.is_ascii_digit())) {
        token.parse().ok()
    } else {
        None
    }
}

/// A config hash as people read it: its first 12 characters (the whole of
/// a shorter one). A hash read from a state file may be any string, so the
/// cut is by characters, never inside one.
pub fn short_hash(hash: &str) -> &str {
    hash.char_indices()
        .nth(12)
        .map_or(hash, |(at, _)| &hash[..at])
}

/// Lowercase hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// The result of hashing a config under a scheme.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigHash {
    /// Lowercase hex sha256.
    Hex(String),
    /// The scheme's bytes cannot be reproduced with certainty; the reason.
    Unverifiable(String),
}

/// `config_hash` of a loaded document under `scheme`.
pub fn config_hash(doc: &Document, scheme: Scheme) -> ConfigHash {
    match scheme {
        Scheme::C14nV1 => ConfigHash::Hex(sha256_hex(&canonical_bytes(&doc.value))),
        Scheme::PyyamlSorted => {
            if let Some(reason) = &doc.legacy_unverifiable {
                return ConfigHash::Unverifiable(reason.clone());
            }
            match legacy::safe_dump_sorted(&doc.value) {
                Ok(text) => ConfigHash::Hex(sha256_hex(text.as_bytes())),
                Err(reason) => ConfigHash::Unverifiable(reason.to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_hash_is_twelve_characters_never_cut_inside_one() {
        let hex = "0123456789abcdef0123";
        assert_eq!(short_hash(hex), "0123456789ab");
        assert_eq!(short_hash("abc"), "abc");
        assert_eq!(short_hash(""), "");
        // A hand-edited state may hold any string there.
        assert_eq!(short_hash("ééééééééééééé"), "éééééééééééé");
    }

    fn canon(bytes: &[u8], format: Option<Format>, origin: &str) -> Result<String, Error> {
        load(bytes, format, origin).map(|d| String::from_utf8(canonical_bytes(&d.value)).unwrap())
    }

    #[test]
    fn format_detection() {
        // .json is JSON, anything else YAML.
        assert!(canon(b"a: 1", None, "c.json").is_err());
        assert_eq!(canon(b"a: yes", None, "c.yml").unwrap(), r#"{"a":true}"#);
        // stdin: JSON first, YAML on a JSON syntax error.
        assert_eq!(canon(b" {\"a\": 1}", None, "-").unwrap(), r#"{"a":1}"#);
        assert_eq!(canon(b"{a: yes}", None, "-").unwrap(), r#"{"a":true}"#);
        assert_eq!(canon(b"a: yes", None, "-").unwrap(), r#"{"a":true}"#);
        // A refusal of JSON is final: YAML would read 1e400 as a string.
        let e = canon(b"{\"lr\": 1e400}", None, "-").unwrap_err();
        assert!(e.to_string().contains("Infinity) at /lr"), "{e}");
        assert!(canon(b"{\"a\": 1, \"a\": 1}", None, "-").is_err());
        // An explicit format wins over the name.
        assert_eq!(
            canon(b"a: 1", Some(Format::Yaml), "c.json").unwrap(),
            r#"{"a":1}"#
        );
    }

    #[test]
    fn remove_pointers_drops_values() {
        let mut doc = load(b"a: {b: 1, c: [1, 2, 3]}\nd: 4\n", None, "c.yaml").unwrap();
        let ptrs: Vec<Pointer> = ["/a/b", "/a/c/1", "/d", "/nope/x", "/a/c/x"]
            .iter()
            .map(|p| Pointer::parse(p).unwrap())
            .collect();
        remove_pointers(&mut doc.value, &ptrs);
        assert_eq!(
            String::from_utf8(canonical_bytes(&doc.value)).unwrap(),
            r#"{"a":{"c":[1,3]}}"#
        );
    }
}
