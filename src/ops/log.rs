//! `rk log --sessions` (docs/FORMATS.md#rk-fields): every session ever
//! recorded — every `rk resume` is one, `rk note` says where work stopped —
//! including those `sessions_keep` trimmed from `run_state.json`.
//!
//! Only the last few sessions stay in the working state, but every snapshot
//! keeps the state it recorded, so the full list is rebuilt from history.

use crate::error::Error;
use crate::project::{Project, RunDir};
use crate::store::Store;
use serde_json::Value;

/// Every session ever recorded for the run, oldest first, each as its latest
/// recorded version (JSON objects, unknown fields kept), and a warning for
/// each log line whose snapshot cannot be read: the log is read exactly as
/// `rk log` reads it, and a damaged snapshot only hides its own sessions.
pub fn sessions(_project: &Project, run: &RunDir) -> Result<(Vec<Value>, Vec<String>), Error> {
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
