//! Config drift (docs/FORMATS.md#drift): does the run's current config still hash to the
//! `config_hash` recorded in its state, under the scheme it was recorded with?
//!
//! The one idea: never a false answer. A legacy (`pyyaml-sorted`) hash that rk
//! cannot reproduce with certainty is `Unverifiable`, never "drifted" and never
//! "unchanged".

use crate::canon::{self, ConfigHash, Document, Pointer, Scheme};
use crate::exit::{Diagnostic, Exit};
use crate::project::Settings;
use crate::state::RunState;

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

/// The interpreter rk asks for a `pyyaml-sorted` hash it cannot reproduce
/// itself: `RK_PYTHON`, else `python3`.
fn python() -> std::ffi::OsString {
    std::env::var_os("RK_PYTHON")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into())
}

/// What PyYAML itself says the `pyyaml-sorted` hash of the config file at
/// `path` is: `sha256(yaml.safe_dump(yaml.safe_load(file) or {}, sort_keys=True))`,
/// the computation the Python tool set makes. `Err` says why it could not ask.
pub fn pyyaml_hash(path: &std::path::Path) -> Result<String, String> {
    const PROGRAM: &str = "import hashlib, sys, yaml\n\
        with open(sys.argv[1], encoding='utf-8') as f:\n    cfg = yaml.safe_load(f) or {}\n\
        text = yaml.safe_dump(cfg, sort_keys=True)\n\
        sys.stdout.write(hashlib.sha256(text.encode('utf-8')).hexdigest())\n";
    let python = python();
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(PROGRAM)
        .arg(path)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("{} cannot be run: {e}", python.to_string_lossy()))?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.status.success() && text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(text.to_ascii_lowercase());
    }
    let why = String::from_utf8_lossy(&out.stderr);
    let last = why
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output");
    Err(format!(
        "{} with PyYAML failed: {last}",
        python.to_string_lossy()
    ))
}

/// A `pyyaml-sorted` hash rk cannot reproduce with certainty, and PyYAML
/// could not be asked: nothing is recorded (exit 2), because a guessed hash
/// would make the Python tool set see drift that is not there.
#[derive(Debug, thiserror::Error)]
#[error("cannot record a {scheme} config_hash for {}: {reason}, so rk cannot reproduce PyYAML's bytes, and asking PyYAML failed ({why})", path.display())]
pub struct Unrecordable {
    scheme: Scheme,
    path: std::path::PathBuf,
    /// Why rk cannot reproduce the bytes itself.
    reason: String,
    /// Why asking PyYAML failed.
    why: String,
}

impl Diagnostic for Unrecordable {
    fn exit(&self) -> Exit {
        Exit::Usage
    }

    fn hint(&self) -> Option<String> {
        Some(
            "install PyYAML for python3 (or set RK_PYTHON to a Python that has it); \
             for new runs, rk.yaml `hash: {scheme: rk-c14n-v1}` records rk's own scheme instead \
             (the Python tool set cannot verify it); or change the value"
                .into(),
        )
    }
}

/// The scheme a run's hashes are recorded under: the one its state names
/// (absent: the Python tool set's pyyaml-sorted), or rk.yaml `hash.scheme`
/// when the state names one rk does not know.
pub fn run_scheme(state: &RunState, settings: &Settings) -> Scheme {
    recorded_scheme(state.config_hash_scheme.as_deref()).unwrap_or(settings.hash_scheme)
}

/// The `config_hash` rk records for the config `doc` read from `path`, under
/// `scheme` (the run's own scheme, or `hash.scheme` for a new run). A
/// `pyyaml-sorted` hash rk cannot reproduce with certainty is asked of
/// PyYAML itself; when that is impossible too, nothing is recorded: exit 2
/// naming the value, because a guessed hash would make the Python tool set
/// see drift that is not there.
pub fn hash_to_record(
    doc: &Document,
    path: &std::path::Path,
    scheme: Scheme,
    ignore: &[Pointer],
) -> Result<String, Unrecordable> {
    match hash_under(doc, scheme, ignore) {
        ConfigHash::Hex(hash) => Ok(hash),
        ConfigHash::Unverifiable(reason) => pyyaml_hash(path).map_err(|why| Unrecordable {
            scheme,
            path: path.to_path_buf(),
            reason: reason.to_string(),
            why,
        }),
    }
}
