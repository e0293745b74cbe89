//! Runs archived by the Python tool set's `archive_run.py`: a directory of
//! `runs_dir` named `t<temp>_<rid>` (not `<prefix><RID>`) holding
//! `batch_inputs/`, `results/`, `reports/` and an `archive_manifest.json`
//! with `archived_date`, `run_id`, `files` (category → names),
//! `config{temperature, model_id}`, `status` and, when the run had one, a
//! copy of its state's `migrated`, `config_hash` and `phases`. It has no
//! `run_state.json`: rk lists and reports it from that manifest.

use serde_json::Value;
use std::path::Path;

/// What `archive_run.py`'s manifest says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PythonArchive {
    pub run_id: Option<String>,
    pub archived_date: Option<String>,
    pub status: Option<String>,
    /// Category (`results`, `reports`, …) → number of entries.
    pub files: Vec<(String, usize)>,
    pub model_id: Option<String>,
    pub temperature: Option<String>,
    pub migrated: Option<bool>,
    pub config_hash: Option<String>,
}

impl PythonArchive {
    /// Every entry the manifest lists.
    pub fn file_count(&self) -> usize {
        self.files.iter().map(|(_, n)| n).sum()
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!(
            "archived by archive_run.py{}",
            self.archived_date
                .as_deref()
                .map(|d| format!(" at {d}"))
                .unwrap_or_default()
        )];
        if let Some(rid) = &self.run_id {
            parts.push(format!("run {rid}"));
        }
        if let Some(model) = &self.model_id {
            parts.push(format!("model {model}"));
        }
        if let Some(t) = &self.temperature {
            parts.push(format!("temperature {t}"));
        }
        let by: Vec<String> = self
            .files
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        parts.push(format!("{} files ({})", self.file_count(), by.join(", ")));
        parts.push("its manifest records no hashes, so `rk verify` cannot check it".into());
        parts.join("; ")
    }
}

/// The manifest of a run archived by `archive_run.py` in `dir`, or `None`
/// when there is none, it is not a JSON object, or it is rk's own (rk's
/// names the snapshot that records the archive, `head`).
pub fn read(dir: &Path) -> Option<PythonArchive> {
    let bytes =
        crate::store::atomic::read_regular(&dir.join("archive_manifest.json"), 16 << 20).ok()?;
    let Value::Object(m) = serde_json::from_slice::<Value>(&bytes).ok()? else {
        return None;
    };
    if m.contains_key("head") {
        return None;
    }
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let config = m.get("config");
    let state = m.get("state");
    Some(PythonArchive {
        run_id: text(m.get("run_id")),
        archived_date: text(m.get("archived_date")),
        status: text(m.get("status")),
        files: match m.get("files") {
            Some(Value::Object(f)) => f
                .iter()
                .map(|(k, v)| (k.clone(), v.as_array().map_or(0, Vec::len)))
                .collect(),
            _ => Vec::new(),
        },
        model_id: text(config.and_then(|c| c.get("model_id"))),
        temperature: text(config.and_then(|c| c.get("temperature"))),
        migrated: state
            .and_then(|s| s.get("migrated"))
            .and_then(Value::as_bool),
        config_hash: text(state.and_then(|s| s.get("config_hash"))),
    })
}
