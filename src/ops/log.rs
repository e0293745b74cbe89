//! `rk log --sessions` (docs/FORMATS.md#rk-fields): every session ever
//! recorded — every `rk resume` is one, `rk note` says where work stopped —
//! including those `sessions_keep` trimmed from `run_state.json`.
//!
//! Only the last few sessions stay in the working state, but every snapshot
//! keeps the state it recorded, so the full list is rebuilt from history.

use crate::error::Error;
use crate::project::RunDir;
use crate::store::Store;
use serde_json::Value;

/// One line of `rk log --sessions --json` (format_version 1), as rk-log(1)
/// describes it: `format_version`, then the session's fields as
/// run_state.json holds them (docs/FORMATS.md#rk-fields), unknown ones kept.
/// (A session that records a `format_version` of its own shows its value in
/// that first place.)
#[derive(Debug, serde::Serialize)]
pub struct SessionLineDocument<'a> {
    format_version: Value,
    #[serde(flatten)]
    fields: SessionFields<'a>,
}

/// A session's fields but `format_version`, in their order.
#[derive(Debug)]
struct SessionFields<'a>(Option<&'a serde_json::Map<String, Value>>);

impl serde::Serialize for SessionFields<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(
            self.0
                .into_iter()
                .flatten()
                .filter(|(name, _)| name.as_str() != "format_version"),
        )
    }
}

impl<'a> From<&'a Value> for SessionLineDocument<'a> {
    fn from(session: &'a Value) -> Self {
        SessionLineDocument {
            format_version: session.get("format_version").cloned().unwrap_or(1.into()),
            fields: SessionFields(session.as_object()),
        }
    }
}

/// Every session ever recorded for the run, oldest first, each as its latest
/// recorded version (JSON objects, unknown fields kept), and a warning for
/// each log line whose snapshot cannot be read: the log is read exactly as
/// `rk log` reads it, and a damaged snapshot only hides its own sessions.
pub fn sessions(run: &RunDir) -> Result<(Vec<Value>, Vec<String>), Error> {
    let store = Store::new(run);
    let mut sessions: Vec<(String, Value)> = Vec::new();
    let mut warnings = Vec::new();
    for (i, entry) in store.read_log()?.into_iter().enumerate() {
        let snapshot = match store.read_snapshot(&entry.new) {
            Ok(s) => s,
            Err(e) => {
                warnings.push(format!(
                    "log line {}: its snapshot cannot be read, so the sessions it recorded are not shown: {e}",
                    i + 1
                ));
                continue;
            }
        };
        let Some(Value::Array(items)) = snapshot.state.get("sessions") else {
            continue;
        };
        for item in items {
            let key = session_key(item);
            match sessions.iter_mut().find(|(k, _)| *k == key) {
                Some((_, latest)) => *latest = item.clone(),
                None => sessions.push((key, item.clone())),
            }
        }
    }
    Ok((sessions.into_iter().map(|(_, v)| v).collect(), warnings))
}

/// A session is its start, host and pid.
fn session_key(session: &Value) -> String {
    let field = |name: &str| session.get(name).map(|v| v.to_string()).unwrap_or_default();
    format!("{}|{}|{}", field("started_at"), field("host"), field("pid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(session: &str) -> String {
        let v: Value = serde_json::from_str(session).unwrap();
        serde_json::to_string(&SessionLineDocument::from(&v)).unwrap()
    }

    #[test]
    fn session_lines_put_format_version_first_and_keep_every_field() {
        assert_eq!(
            line(r#"{"started_at":"t","x":{"k":[1,2.5]},"exit_code":null}"#),
            r#"{"format_version":1,"started_at":"t","x":{"k":[1,2.5]},"exit_code":null}"#
        );
        assert_eq!(
            line(r#"{"a":1,"format_version":7,"b":2}"#),
            r#"{"format_version":7,"a":1,"b":2}"#
        );
        assert_eq!(line("[1]"), r#"{"format_version":1}"#);
    }
}
