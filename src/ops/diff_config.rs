//! `rk diff-config`: the unified diff of two configs' pretty canonical forms
//! (docs/FORMATS.md#drift, rk-diff-config(1)).

use crate::canon::{self, Pointer, Value};
use similar::TextDiff;

/// One side of a comparison: what it is called in the diff header, and its value.
#[derive(Clone, Debug)]
pub struct Side {
    pub label: String,
    pub value: Value,
    /// Where the YAML holds a plain timestamp (see `canon::Document`).
    pub timestamps: Vec<Pointer>,
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

/// Compare two configs. When their canonical forms are equal, values whose
/// YAML type differs (an integer against a float such as `1` and `1.0`, a
/// plain date against a quoted string) still differ: rk-c14n-v1 hashes them
/// the same, but PyYAML, and so the orchestrator, loads different types.
/// They are shown as `-`/`+` lines naming the type under an `@@ types @@`
/// hunk.
pub fn diff(a: &Side, b: &Side) -> ConfigDiff {
    let keys = canon::changed_pointers(&a.value, &b.value);
    if keys.is_empty() {
        let mut types = Vec::new();
        type_changes(a, b, &a.value, &b.value, &mut Pointer::root(), &mut types);
        if types.is_empty() {
            return ConfigDiff {
                unified: String::new(),
                keys,
            };
        }
        let mut unified = format!(
            "--- a/{}\n+++ b/{}\n@@ types: the same under rk-c14n-v1, loaded as different types by PyYAML @@\n",
            a.label.trim_start_matches('/'),
            b.label.trim_start_matches('/')
        );
        for (pointer, old, new) in &types {
            unified.push_str(&format!("-{pointer}: {old}\n+{pointer}: {new}\n"));
        }
        return ConfigDiff {
            unified,
            keys: types.into_iter().map(|(p, _, _)| p).collect(),
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

/// Walk two canonically equal values and collect where the YAML types differ.
fn type_changes(
    a: &Side,
    b: &Side,
    va: &Value,
    vb: &Value,
    at: &mut Pointer,
    out: &mut Vec<(Pointer, String, String)>,
) {
    let described = |side: &Side, v: &Value, at: &Pointer| -> String {
        match v {
            Value::Int(n) => format!("{} (integer)", n.as_str()),
            Value::Float(f) => format!("{f:?} (float)"),
            Value::String(s) if side.timestamps.contains(at) => format!("{s} (YAML date)"),
            Value::String(s) => format!("{s:?} (string)"),
            other => format!("({})", other.kind()),
        }
    };
    match (va, vb) {
        (Value::Array(xs), Value::Array(ys)) => {
            for (i, (x, y)) in xs.iter().zip(ys).enumerate() {
                at.push(i.to_string());
                type_changes(a, b, x, y, at, out);
                at.pop();
            }
        }
        (Value::Object(xs), Value::Object(ys)) => {
            for (k, x) in xs {
                if let Some((_, y)) = ys.iter().find(|(j, _)| j == k) {
                    at.push(k.clone());
                    type_changes(a, b, x, y, at, out);
                    at.pop();
                }
            }
        }
        (Value::Int(_), Value::Float(_)) | (Value::Float(_), Value::Int(_)) => {
            out.push((at.clone(), described(a, va, at), described(b, vb, at)));
        }
        (Value::String(_), Value::String(_))
            if a.timestamps.contains(at) != b.timestamps.contains(at) =>
        {
            out.push((at.clone(), described(a, va, at), described(b, vb, at)));
        }
        _ => {}
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

/// What a `diff-config` operand names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    /// `-`: a config on stdin.
    Stdin,
    /// An existing file.
    File(String),
    /// A run's current config (`RUN`).
    Current(String),
    /// `RUN@recorded`: the config the run's state records.
    Recorded(String),
    /// `RUN@<snapshot id>`, `RUN@HEAD`, `RUN@HEAD~N`: the config recorded at
    /// that snapshot.
    AtSnapshot { run: String, rev: String },
}

impl Operand {
    /// `-` is stdin; an existing regular file, or a name ending in `.yaml`,
    /// `.yml` or `.json`, is a file; `X@Y` is a run revision; anything else
    /// is a run (a RID, or a path to a run dir).
    pub fn parse(text: &str) -> Operand {
        if text == "-" {
            return Operand::Stdin;
        }
        let looks_like_config = [".yaml", ".yml", ".json"]
            .iter()
            .any(|ext| text.ends_with(ext));
        if std::path::Path::new(text).is_file() || (looks_like_config && !text.contains('@')) {
            return Operand::File(text.to_string());
        }
        match text.rsplit_once('@') {
            Some((run, "recorded")) => Operand::Recorded(run.to_string()),
            Some((run, rev)) => Operand::AtSnapshot {
                run: run.to_string(),
                rev: rev.to_string(),
            },
            None => Operand::Current(text.to_string()),
        }
    }

    /// Whether resolving this operand needs the project.
    pub fn needs_project(&self) -> bool {
        !matches!(self, Operand::Stdin | Operand::File(_))
    }
}

/// The config an operand names. `project` is needed for run operands;
/// `stdin` is read for `-`.
pub fn resolve(
    operand: &Operand,
    label: &str,
    project: Option<&crate::project::Project>,
    stdin: &mut dyn std::io::Read,
) -> Result<Side, crate::Error> {
    use crate::error::{Error, Exit};
    use crate::run_config;
    let side = |value| Side {
        label: label.to_string(),
        value,
        timestamps: Vec::new(),
    };
    let file_side = |doc: canon::Document| Side {
        label: label.to_string(),
        value: doc.value,
        timestamps: doc.timestamps,
    };
    let project = || project.ok_or_else(|| Error::usage("no project for a run operand", None));
    match operand {
        Operand::Stdin => Ok(file_side(canon::load_reader(stdin, None)?)),
        Operand::File(path) => Ok(file_side(canon::load_file(
            std::path::Path::new(path),
            None,
        )?)),
        Operand::Current(run) => {
            let project = project()?;
            let run = project.resolve_run(run)?;
            match run_config::current(&run, &project.settings)? {
                Some(doc) => Ok(file_side(doc)),
                None => Err(Error::usage(
                    format!(
                        "run {} has no config: {} does not exist",
                        run.rid,
                        run_config::current_path(&run, &project.settings).display()
                    ),
                    Some(format!(
                        "compare a recorded config instead: {}@recorded",
                        run.rid
                    )),
                )),
            }
        }
        Operand::Recorded(run) => {
            let project = project()?;
            let run = project.resolve_run(run)?;
            match run_config::recorded(&run)? {
                Some((_, value)) => Ok(side(value)),
                None => Err(Error::refusal(
                    Exit::Usage,
                    format!("run {} has no recorded config in its store (a legacy run, or one never written by rk)", run.rid),
                    Some(format!("`rk status {}` shows the recorded and current config hashes", run.rid)),
                )),
            }
        }
        Operand::AtSnapshot { run, rev } => {
            let project = project()?;
            let run = project.resolve_run(run)?;
            let store = crate::store::Store::new(&run);
            let snapshot = store.resolve_snapshot(rev)?;
            match snapshot.config {
                Some(id) => Ok(side(run_config::config_object(&store, &id)?)),
                None => Err(Error::usage(
                    format!(
                        "snapshot {} of run {} records no config",
                        snapshot.id.short(),
                        run.rid
                    ),
                    Some(format!("`rk log {}` lists the snapshots", run.rid)),
                )),
            }
        }
    }
}
