//! The model of `run_state.json` version 1 (docs/FORMATS.md#run-state).
//!
//! Known fields are typed; every field rk does not know is kept, at the top
//! level and inside phases, notes, drift records, sessions and gates, and is
//! written back after the known ones in the order it was read. Fields that
//! were absent stay absent (`None`), and `null` stays `null`
//! (`Some(None)` for the fields where the Python tool set writes null), so
//! reading and writing a file changes nothing but the layout.

use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

/// Unknown fields, in the order they were read.
pub type Extra = Map<String, Value>;

/// A phase status. Unknown statuses are kept and shown as is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PhaseStatus {
    NotStarted,
    InProgress,
    Completed,
    Failed,
    Stopped,
    Other(String),
}

impl PhaseStatus {
    pub fn parse(s: &str) -> PhaseStatus {
        match s {
            "not_started" => PhaseStatus::NotStarted,
            "in_progress" => PhaseStatus::InProgress,
            "completed" => PhaseStatus::Completed,
            "failed" => PhaseStatus::Failed,
            "stopped" => PhaseStatus::Stopped,
            other => PhaseStatus::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            PhaseStatus::NotStarted => "not_started",
            PhaseStatus::InProgress => "in_progress",
            PhaseStatus::Completed => "completed",
            PhaseStatus::Failed => "failed",
            PhaseStatus::Stopped => "stopped",
            PhaseStatus::Other(s) => s,
        }
    }
}

impl fmt::Display for PhaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One phase of the pipeline. For `Option<Option<T>>` fields the outer
/// `None` means absent and `Some(None)` means `null`.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    pub status: PhaseStatus,
    pub started_at: Option<Option<String>>,
    pub updated_at: Option<Option<String>>,
    /// Any JSON (the Python tool set writes null or a string).
    pub last_error: Option<Value>,
    pub extra: Extra,
}

impl Phase {
    /// A phase as `rk init` writes it.
    pub fn not_started() -> Phase {
        Phase {
            status: PhaseStatus::NotStarted,
            started_at: Some(None),
            updated_at: Some(None),
            last_error: Some(Value::Null),
            extra: Extra::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Note {
    pub created_by: Option<String>,
    pub created_at: Option<String>,
    pub message: Option<String>,
    pub extra: Extra,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DriftRecord {
    pub detected_at: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    pub forced: Option<bool>,
    pub extra: Extra,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Session {
    pub started_at: Option<String>,
    pub ended_at: Option<Option<String>>,
    pub command: Option<Vec<String>>,
    pub steps: Option<Vec<String>>,
    pub exit_code: Option<Option<i64>>,
    pub host: Option<String>,
    pub pid: Option<Option<i64>>,
    /// Where work stopped (`rk note`, docs/FORMATS.md#rk-fields).
    pub stopped_at: Option<Option<String>>,
    pub resume_file: Option<Option<String>>,
    pub extra: Extra,
}

/// A review owed before a phase (docs/FORMATS.md#rk-fields).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gate {
    pub reason: Option<String>,
    pub created_at: Option<Option<String>>,
    pub cleared_at: Option<Option<String>>,
    pub cleared_by: Option<Option<String>>,
    pub note: Option<Option<String>>,
    pub extra: Extra,
}

/// `run_state.json`, version 1.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunState {
    pub schema_version: Option<i64>,
    pub run_id: Option<String>,
    /// `Some(None)`: `null`, a valid state with nothing recorded to drift
    /// from (rk records the hash at its next write).
    pub config_hash: Option<Option<String>>,
    pub config_hash_scheme: Option<String>,
    pub config_path: Option<String>,
    /// In file order; written in pipeline order.
    pub phases: Vec<(String, Phase)>,
    pub last_checkpoint: Option<Value>,
    pub stop_requested: Option<bool>,
    pub migrated: Option<bool>,
    pub notes: Option<Vec<Note>>,
    pub config_drift: Option<Vec<DriftRecord>>,
    pub sessions: Option<Vec<Session>>,
    pub gates: Option<Vec<(String, Gate)>>,
    /// The archive record `rk archive` writes; its presence (with
    /// `archive_manifest.json`) makes the run `archived`.
    pub archive: Option<Value>,
    pub extra: Extra,
}

/// Where and why a value does not fit the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// JSON Pointer of the offending value.
    pub pointer: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() && self.message.ends_with(')') && self.message.contains("JSON (")
        {
            // A syntax error: the message already says where.
            return f.write_str(&self.message);
        }
        let at = if self.pointer.is_empty() {
            "the top level"
        } else {
            &self.pointer
        };
        write!(f, "{}: {}", at, self.message)
    }
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Takes known fields out of an object; what is left is the extra.
struct Fields {
    map: Map<String, Value>,
    at: String,
}

impl Fields {
    fn new(value: Value, at: &str) -> Result<Fields, Problem> {
        match value {
            Value::Object(map) => Ok(Fields {
                map,
                at: at.to_string(),
            }),
            other => Err(Problem {
                pointer: at.to_string(),
                message: format!("expected an object, found {}", kind(&other)),
            }),
        }
    }

    fn ptr(&self, key: &str) -> String {
        format!("{}/{}", self.at, escape(key))
    }

    fn bad(&self, key: &str, want: &str, found: &Value) -> Problem {
        Problem {
            pointer: self.ptr(key),
            message: format!("expected {want}, found {}", kind(found)),
        }
    }

    fn any(&mut self, key: &str) -> Option<Value> {
        self.map.shift_remove(key)
    }

    fn string(&mut self, key: &str) -> Result<Option<String>, Problem> {
        match self.any(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.bad(key, "a string", &v)),
        }
    }

    fn nullable_string(&mut self, key: &str) -> Result<Option<Option<String>>, Problem> {
        match self.any(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) => Ok(Some(Some(s))),
            Some(v) => Err(self.bad(key, "a string or null", &v)),
        }
    }

    fn bool(&mut self, key: &str) -> Result<Option<bool>, Problem> {
        match self.any(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(v) => Err(self.bad(key, "true or false", &v)),
        }
    }

    fn int(&mut self, key: &str) -> Result<Option<i64>, Problem> {
        match self.any(key) {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(v) => Err(self.bad(key, "an integer", &v)),
        }
    }

    fn nullable_int(&mut self, key: &str) -> Result<Option<Option<i64>>, Problem> {
        match self.any(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::Number(n)) if n.is_i64() => Ok(Some(n.as_i64())),
            Some(v) => Err(self.bad(key, "an integer or null", &v)),
        }
    }

    fn strings(&mut self, key: &str) -> Result<Option<Vec<String>>, Problem> {
        match self.any(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s),
                    other => Err(Problem {
                        pointer: format!("{}/{i}", self.ptr(key)),
                        message: format!("expected a string, found {}", kind(&other)),
                    }),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => Err(self.bad(key, "an array of strings", &v)),
        }
    }

    fn list<T>(
        &mut self,
        key: &str,
        item: impl Fn(Value, &str) -> Result<T, Problem>,
    ) -> Result<Option<Vec<T>>, Problem> {
        match self.any(key) {
            None => Ok(None),
            Some(Value::Array(items)) => {
                let base = self.ptr(key);
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| item(v, &format!("{base}/{i}")))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some)
            }
            Some(v) => Err(self.bad(key, "an array", &v)),
        }
    }

    fn entries<T>(
        &mut self,
        key: &str,
        item: impl Fn(Value, &str) -> Result<T, Problem>,
    ) -> Result<Option<Vec<(String, T)>>, Problem> {
        match self.any(key) {
            None => Ok(None),
            Some(Value::Object(map)) => {
                let base = self.ptr(key);
                map.into_iter()
                    .map(|(k, v)| {
                        let at = format!("{base}/{}", escape(&k));
                        item(v, &at).map(|t| (k, t))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some)
            }
            Some(v) => Err(self.bad(key, "an object", &v)),
        }
    }

    fn finish(self) -> Extra {
        self.map
    }
}

/// Builds an object with known fields first, in a fixed order.
#[derive(Default)]
struct Out(Map<String, Value>);

impl Out {
    fn put(&mut self, key: &str, v: Option<Value>) {
        if let Some(v) = v {
            self.0.insert(key.to_string(), v);
        }
    }
    fn string(&mut self, key: &str, v: &Option<String>) {
        self.put(key, v.clone().map(Value::String));
    }
    fn nullable_string(&mut self, key: &str, v: &Option<Option<String>>) {
        self.put(key, v.clone().map(|s| s.map_or(Value::Null, Value::String)));
    }
    fn bool(&mut self, key: &str, v: Option<bool>) {
        self.put(key, v.map(Value::Bool));
    }
    fn int(&mut self, key: &str, v: Option<i64>) {
        self.put(key, v.map(Value::from));
    }
    fn nullable_int(&mut self, key: &str, v: Option<Option<i64>>) {
        self.put(key, v.map(|n| n.map_or(Value::Null, Value::from)));
    }
    fn strings(&mut self, key: &str, v: &Option<Vec<String>>) {
        self.put(
            key,
            v.as_ref()
                .map(|l| Value::Array(l.iter().cloned().map(Value::String).collect())),
        );
    }
    fn finish(mut self, extra: &Extra) -> Value {
        for (k, v) in extra {
            if !self.0.contains_key(k) {
                self.0.insert(k.clone(), v.clone());
            }
        }
        Value::Object(self.0)
    }
}

impl Phase {
    fn parse(value: Value, at: &str) -> Result<Phase, Problem> {
        let mut f = Fields::new(value, at)?;
        let status = match f.any("status") {
            Some(Value::String(s)) => PhaseStatus::parse(&s),
            Some(v) => return Err(f.bad("status", "a string", &v)),
            None => {
                return Err(Problem {
                    pointer: f.ptr("status"),
                    message: "missing; every phase has a status".into(),
                })
            }
        };
        Ok(Phase {
            status,
            started_at: f.nullable_string("started_at")?,
            updated_at: f.nullable_string("updated_at")?,
            last_error: f.any("last_error"),
            extra: f.finish(),
        })
    }

    fn to_json(&self) -> Value {
        let mut o = Out::default();
        o.put("status", Some(Value::String(self.status.as_str().into())));
        o.nullable_string("started_at", &self.started_at);
        o.nullable_string("updated_at", &self.updated_at);
        o.put("last_error", self.last_error.clone());
        o.finish(&self.extra)
    }
}

impl Note {
    fn parse(value: Value, at: &str) -> Result<Note, Problem> {
        let mut f = Fields::new(value, at)?;
        Ok(Note {
            created_by: f.string("created_by")?,
            created_at: f.string("created_at")?,
            message: f.string("message")?,
            extra: f.finish(),
        })
    }

    fn to_json(&self) -> Value {
        let mut o = Out::default();
        o.string("created_by", &self.created_by);
        o.string("created_at", &self.created_at);
        o.string("message", &self.message);
        o.finish(&self.extra)
    }
}

impl DriftRecord {
    fn parse(value: Value, at: &str) -> Result<DriftRecord, Problem> {
        let mut f = Fields::new(value, at)?;
        Ok(DriftRecord {
            detected_at: f.string("detected_at")?,
            expected: f.string("expected")?,
            actual: f.string("actual")?,
            forced: f.bool("forced")?,
            extra: f.finish(),
        })
    }

    fn to_json(&self) -> Value {
        let mut o = Out::default();
        o.string("detected_at", &self.detected_at);
        o.string("expected", &self.expected);
        o.string("actual", &self.actual);
        o.bool("forced", self.forced);
        o.finish(&self.extra)
    }
}

impl Session {
    fn parse(value: Value, at: &str) -> Result<Session, Problem> {
        let mut f = Fields::new(value, at)?;
        Ok(Session {
            started_at: f.string("started_at")?,
            ended_at: f.nullable_string("ended_at")?,
            command: f.strings("command")?,
            steps: f.strings("steps")?,
            exit_code: f.nullable_int("exit_code")?,
            host: f.string("host")?,
            pid: f.nullable_int("pid")?,
            stopped_at: f.nullable_string("stopped_at")?,
            resume_file: f.nullable_string("resume_file")?,
            extra: f.finish(),
        })
    }

    fn to_json(&self) -> Value {
        let mut o = Out::default();
        o.string("started_at", &self.started_at);
        o.nullable_string("ended_at", &self.ended_at);
        o.strings("command", &self.command);
        o.strings("steps", &self.steps);
        o.nullable_int("exit_code", self.exit_code);
        o.string("host", &self.host);
        o.nullable_int("pid", self.pid);
        o.nullable_string("stopped_at", &self.stopped_at);
        o.nullable_string("resume_file", &self.resume_file);
        o.finish(&self.extra)
    }
}

impl Gate {
    fn parse(value: Value, at: &str) -> Result<Gate, Problem> {
        let mut f = Fields::new(value, at)?;
        Ok(Gate {
            reason: f.string("reason")?,
            created_at: f.nullable_string("created_at")?,
            cleared_at: f.nullable_string("cleared_at")?,
            cleared_by: f.nullable_string("cleared_by")?,
            note: f.nullable_string("note")?,
            extra: f.finish(),
        })
    }

    fn to_json(&self) -> Value {
        let mut o = Out::default();
        o.string("reason", &self.reason);
        o.nullable_string("created_at", &self.created_at);
        o.nullable_string("cleared_at", &self.cleared_at);
        o.nullable_string("cleared_by", &self.cleared_by);
        o.nullable_string("note", &self.note);
        o.finish(&self.extra)
    }
}

impl RunState {
    /// The state from its JSON value; a wrong type is a [`Problem`] naming
    /// the JSON Pointer. `schema_version`, when present, must be 1.
    pub fn from_json(value: Value) -> Result<RunState, Problem> {
        let mut f = Fields::new(value, "")?;
        let schema_version = f.int("schema_version")?;
        if let Some(v) = schema_version.filter(|v| *v != 1) {
            return Err(Problem {
                pointer: "/schema_version".into(),
                message: format!("this rk reads version 1 of run_state.json, not {v}"),
            });
        }
        Ok(RunState {
            schema_version,
            run_id: f.string("run_id")?,
            config_hash: f.nullable_string("config_hash")?,
            config_hash_scheme: f.string("config_hash_scheme")?,
            config_path: f.string("config_path")?,
            phases: f.entries("phases", Phase::parse)?.unwrap_or_default(),
            last_checkpoint: f.any("last_checkpoint"),
            stop_requested: f.bool("stop_requested")?,
            migrated: f.bool("migrated")?,
            notes: f.list("notes", Note::parse)?,
            config_drift: f.list("config_drift", DriftRecord::parse)?,
            sessions: f.list("sessions", Session::parse)?,
            gates: f.entries("gates", Gate::parse)?,
            archive: f.any("archive"),
            extra: f.finish(),
        })
    }

    /// Parse JSON text.
    pub fn from_slice(bytes: &[u8]) -> Result<RunState, Problem> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(Problem {
                pointer: String::new(),
                message: "empty; expected a JSON object".into(),
            });
        }
        let value: Value = crate::python_json::value(bytes).map_err(|e| Problem {
            pointer: String::new(),
            message: if e.is_eof() {
                format!("truncated JSON ({e})")
            } else {
                format!("invalid JSON ({e})")
            },
        })?;
        RunState::from_json(value)
    }

    /// The state as JSON: known fields in a fixed order, then unknown ones;
    /// phases in the run's pipeline order (see [`RunState::pipeline`]; the
    /// project's phases are `pipeline`), then any others in the order read.
    pub fn to_json(&self, pipeline: &[String]) -> Value {
        let mut o = Out::default();
        o.int("schema_version", self.schema_version);
        o.string("run_id", &self.run_id);
        o.nullable_string("config_hash", &self.config_hash);
        o.string("config_hash_scheme", &self.config_hash_scheme);
        o.string("config_path", &self.config_path);
        let mut phases = Map::new();
        for name in &self.pipeline(pipeline) {
            if let Some((_, p)) = self.phases.iter().find(|(n, _)| n == name) {
                phases.insert(name.clone(), p.to_json());
            }
        }
        for (name, p) in &self.phases {
            if !phases.contains_key(name) {
                phases.insert(name.clone(), p.to_json());
            }
        }
        o.put("phases", Some(Value::Object(phases)));
        o.put("last_checkpoint", self.last_checkpoint.clone());
        o.bool("stop_requested", self.stop_requested);
        o.bool("migrated", self.migrated);
        let list = |items: &Option<Vec<Value>>| items.clone().map(Value::Array);
        o.put(
            "notes",
            list(
                &self
                    .notes
                    .as_ref()
                    .map(|l| l.iter().map(Note::to_json).collect()),
            ),
        );
        o.put(
            "config_drift",
            list(
                &self
                    .config_drift
                    .as_ref()
                    .map(|l| l.iter().map(DriftRecord::to_json).collect()),
            ),
        );
        o.put(
            "sessions",
            list(
                &self
                    .sessions
                    .as_ref()
                    .map(|l| l.iter().map(Session::to_json).collect()),
            ),
        );
        o.put(
            "gates",
            self.gates
                .as_ref()
                .map(|g| Value::Object(g.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())),
        );
        o.put("archive", self.archive.clone());
        o.finish(&self.extra)
    }

    /// The file as rk writes it: pretty, 2 spaces, trailing newline.
    pub fn to_pretty(&self, pipeline: &[String]) -> String {
        let mut s =
            serde_json::to_string_pretty(&self.to_json(pipeline)).unwrap_or_else(|_| "{}".into());
        s.push('\n');
        s
    }

    /// The phase named `name`.
    pub fn phase(&self, name: &str) -> Option<&Phase> {
        self.phases.iter().find(|(n, _)| n == name).map(|(_, p)| p)
    }

    /// The phase named `name`, for changing it.
    pub fn phase_mut(&mut self, name: &str) -> Option<&mut Phase> {
        self.phases
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p)
    }

    /// The run's phases in pipeline order: the state's own `pipeline` list
    /// when it has one (a run made with `rk init --phases`), else the
    /// project's phases followed by any other phase the state lists, in file
    /// order. Phases the state does not list yet are not started.
    pub fn pipeline(&self, project_phases: &[String]) -> Vec<String> {
        pipeline_of(
            self.extra.get("pipeline"),
            project_phases,
            self.phases.iter().map(|(n, _)| n.as_str()),
        )
        .into_owned()
    }

    /// The steps the orchestrator knows, in order: the state's own
    /// `pipeline` list, else the project's phases. Unlike [`Self::pipeline`]
    /// it leaves out phases the state lists beyond them (the design doc's
    /// `archive`, say): those are kept and shown, never passed as a step.
    pub fn steps(&self, project_phases: &[String]) -> Vec<String> {
        pipeline_of(
            self.extra.get("pipeline"),
            project_phases,
            std::iter::empty(),
        )
        .into_owned()
    }

    /// The recorded `config_hash`, when there is one (absent, `null` and
    /// empty all mean none).
    pub fn recorded_hash(&self) -> Option<&str> {
        self.config_hash
            .as_ref()
            .and_then(|h| h.as_deref())
            .filter(|h| !h.is_empty())
    }

    /// Whether the state records an archive (`rk archive`).
    pub fn is_archived(&self) -> bool {
        matches!(&self.archive, Some(v) if !v.is_null())
    }

    /// A fresh state, every pipeline phase not started (`rk init`).
    pub fn new(run_id: &str, pipeline: &[String]) -> RunState {
        RunState {
            schema_version: Some(1),
            run_id: Some(run_id.into()),
            phases: pipeline
                .iter()
                .map(|p| (p.clone(), Phase::not_started()))
                .collect(),
            last_checkpoint: Some(Value::Null),
            stop_requested: Some(false),
            ..RunState::default()
        }
    }
}

/// A run's phases in pipeline order (see [`RunState::pipeline`]): its own
/// `pipeline` list when it is a non-empty list of strings, else
/// `project_phases` followed by the other phases it lists, in order.
pub fn pipeline_of<'p, 'a>(
    own: Option<&Value>,
    project_phases: &'p [String],
    listed: impl IntoIterator<Item = &'a str>,
) -> Cow<'p, [String]> {
    if let Some(Value::Array(items)) = own {
        let own: Vec<String> = items
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        if !own.is_empty() {
            return Cow::Owned(own);
        }
    }
    let mut phases = Cow::Borrowed(project_phases);
    for name in listed {
        if !phases.iter().any(|p| p == name) {
            phases.to_mut().push(name.to_string());
        }
    }
    phases
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline() -> Vec<String> {
        crate::project::DEFAULT_PHASES
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn round_trip_keeps_unknown_fields_and_orders_phases() {
        let text = r#"{"zz_top": {"a": [1, 2]}, "schema_version": 1, "run_id": "r1",
          "phases": {"weird": {"status": "paused", "x": 1},
                     "parse": {"status": "in_progress", "started_at": null, "mine": true},
                     "prepare": {"status": "completed", "last_error": null}},
          "notes": [{"message": "m", "extra_note": 3}],
          "sessions": [{"pid": null, "custom": "c"}],
          "config_drift": [{"forced": true, "why": "x"}]}"#;
        let state = RunState::from_slice(text.as_bytes()).unwrap();
        let out = state.to_pretty(&pipeline());
        let expected = r#"{
  "schema_version": 1,
  "run_id": "r1",
  "phases": {
    "prepare": {
      "status": "completed",
      "last_error": null
    },
    "parse": {
      "status": "in_progress",
      "started_at": null,
      "mine": true
    },
    "weird": {
      "status": "paused",
      "x": 1
    }
  },
  "notes": [
    {
      "message": "m",
      "extra_note": 3
    }
  ],
  "config_drift": [
    {
      "forced": true,
      "why": "x"
    }
  ],
  "sessions": [
    {
      "pid": null,
      "custom": "c"
    }
  ],
  "zz_top": {
    "a": [
      1,
      2
    ]
  }
}
"#;
        assert_eq!(out, expected);
        let again = RunState::from_slice(out.as_bytes()).unwrap();
        assert_eq!(again.to_pretty(&pipeline()), out);
        assert_eq!(
            state.phase("weird").unwrap().status.as_str(),
            "paused",
            "unknown statuses are kept"
        );
    }

    /// Property-test finding (`state_props::round_trip_keeps_unknown_fields`):
    /// serde_json's default float parser can land one ulp off, so reading and
    /// rewriting a state changed an unknown field's number
    /// (`-3.9032551511533506e-215` came back as `-3.90325515115335e-215`).
    /// Fixed by serde_json's `float_roundtrip` feature.
    #[test]
    fn rewriting_keeps_float_values_exact() {
        let text = r#"{"phases": {"stats": {"status": "failed", "last_error": [-3.9032551511533506e-215]}},
            "zz": [-3.9032551511533506e-215, 1.8357319306089825e+286, 5e-324, 0.1]}"#;
        let state = RunState::from_slice(text.as_bytes()).unwrap();
        let out = state.to_pretty(&pipeline());
        for number in [
            "-3.9032551511533506e-215",
            "1.8357319306089825e+286",
            "5e-324",
            "0.1",
        ] {
            assert!(out.contains(number), "{number} changed:\n{out}");
        }
        let again = RunState::from_slice(out.as_bytes()).unwrap();
        assert_eq!(again.to_pretty(&pipeline()), out);
    }

    #[test]
    fn bad_types_name_their_pointer() {
        let p = RunState::from_slice(br#"{"phases": {"a/b": {"status": 3}}}"#).unwrap_err();
        assert_eq!(p.pointer, "/phases/a~1b/status");
        let p = RunState::from_slice(b"[1]").unwrap_err();
        assert_eq!(p.pointer, "");
        let p = RunState::from_slice(br#"{"sessions": [{"command": ["a", 1]}]}"#).unwrap_err();
        assert_eq!(p.pointer, "/sessions/0/command/1");
        let p = RunState::from_slice(br#"{"schema_version": 1, "run_id""#).unwrap_err();
        assert!(p.message.starts_with("truncated"), "{p}");
    }
}
