//! Content-addressed objects (docs/FORMATS.md#objects): `.rk/objects/<2 hex>/<62 hex>`,
//! named by the blake3 of their canonical bytes, written once, re-hashed on
//! every read.

use super::atomic::{self, Created, OBJECT_MODE};
use super::{io_err, Error, Store};
use crate::canon::{canonical_bytes, Value};
use std::fmt;
use std::path::PathBuf;

/// An object id: 64 lowercase hex digits of a blake3 hash.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(String);

impl ObjectId {
    /// The id of `bytes`.
    pub fn of(bytes: &[u8]) -> ObjectId {
        ObjectId(blake3::hash(bytes).to_hex().to_string())
    }

    /// Parse a full id (64 lowercase hex digits).
    pub fn parse(text: &str) -> Option<ObjectId> {
        (text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| ObjectId(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, for people.
    pub fn short(&self) -> &str {
        &self.0[..12]
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A snapshot object: one recorded version of the run state.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub id: ObjectId,
    pub parent: Option<ObjectId>,
    pub time: String,
    pub op: String,
    pub message: String,
    /// The config object the run used at this snapshot.
    pub config: Option<ObjectId>,
    /// The run state, as JSON.
    pub state: serde_json::Value,
}

/// The canonical value of a snapshot object (docs/FORMATS.md#objects).
pub fn snapshot_value(
    parent: Option<&ObjectId>,
    time: &str,
    op: &str,
    message: &str,
    config: Option<&ObjectId>,
    state: &serde_json::Value,
) -> Value {
    let id = |o: Option<&ObjectId>| o.map_or(Value::Null, |i| Value::String(i.to_string()));
    Value::Object(vec![
        ("kind".into(), Value::String("snapshot".into())),
        ("parent".into(), id(parent)),
        ("time".into(), Value::String(time.into())),
        ("op".into(), Value::String(op.into())),
        ("message".into(), Value::String(message.into())),
        ("config".into(), id(config)),
        ("state".into(), Value::from(state)),
    ])
}

/// Is `text` a plausible (possibly abbreviated) hex id?
fn is_hex_prefix(text: &str) -> bool {
    (4..=64).contains(&text.len()) && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Store {
    /// Where the object `id` lives.
    pub fn object_path(&self, id: &ObjectId) -> PathBuf {
        self.objects_dir().join(&id.0[..2]).join(&id.0[2..])
    }

    /// Store `bytes` as an object and return its id. An object already there
    /// is re-hashed: accepted when it matches, replaced by the correct bytes
    /// when it does not (the id fixes the content, so this loses nothing).
    pub fn put(&self, bytes: &[u8]) -> Result<ObjectId, Error> {
        let id = ObjectId::of(bytes);
        let path = self.object_path(&id);
        let dir = path.parent().map(PathBuf::from).unwrap_or_default();
        self.ensure_dir(&dir)?;
        match atomic::create_new(&path, bytes, OBJECT_MODE).map_err(|e| io_err(&path, e))? {
            Created::New => {}
            Created::Existed => {
                let existing = atomic::read_regular(&path, atomic::limit::STATE)
                    .map_err(|e| io_err(&path, e))?;
                if ObjectId::of(&existing) != id {
                    atomic::write_atomic(&path, bytes, OBJECT_MODE)
                        .map_err(|e| io_err(&path, e))?;
                }
            }
        }
        Ok(id)
    }

    /// Store a JSON value as an object of its canonical bytes.
    pub fn put_value(&self, value: &Value) -> Result<ObjectId, Error> {
        self.put(&canonical_bytes(value))
    }

    /// Write a snapshot object.
    pub fn put_snapshot(
        &self,
        parent: Option<&ObjectId>,
        time: &str,
        op: &str,
        message: &str,
        config: Option<&ObjectId>,
        state: &serde_json::Value,
    ) -> Result<ObjectId, Error> {
        self.put_value(&snapshot_value(parent, time, op, message, config, state))
    }

    /// The bytes of an object, re-hashed: a mismatch is corruption.
    pub fn get(&self, id: &ObjectId) -> Result<Vec<u8>, Error> {
        let path = self.object_path(id);
        let bytes = match atomic::read_regular(&path, atomic::limit::STATE) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::MissingObject {
                    id: id.clone(),
                    path: path.display().to_string(),
                    rid: self.rid.clone(),
                    last_good: self.last_good_excluding(id),
                })
            }
            Err(e) => return Err(io_err(&path, e)),
        };
        let actual = ObjectId::of(&bytes);
        if &actual != id {
            return Err(Error::CorruptObject {
                path: path.display().to_string(),
                reason: format!("its bytes hash to {actual}, not {id}"),
                rid: self.rid.clone(),
                last_good: self.last_good_excluding(id),
            });
        }
        Ok(bytes)
    }

    /// The last good snapshot other than `bad` (which is being reported).
    fn last_good_excluding(&self, bad: &ObjectId) -> Option<ObjectId> {
        let mut candidates = Vec::new();
        if let Ok(Some(head)) = self.read_head() {
            candidates.push(head);
        }
        if let Ok(entries) = self.read_log() {
            candidates.extend(entries.into_iter().rev().map(|e| e.new));
        }
        candidates
            .into_iter()
            .filter(|c| c != bad)
            .find(|id| self.snapshot_intact(id))
    }

    /// Read and check a snapshot object.
    pub fn read_snapshot(&self, id: &ObjectId) -> Result<Snapshot, Error> {
        let bytes = self.get(id)?;
        parse_snapshot(id, &bytes).map_err(|reason| Error::CorruptObject {
            path: self.object_path(id).display().to_string(),
            reason,
            rid: self.rid.clone(),
            last_good: self.last_good_excluding(id),
        })
    }

    /// Resolve what a user typed: a full or abbreviated (≥ 4 hex) object id,
    /// `HEAD`, `HEAD~` or `HEAD~N`.
    pub fn resolve(&self, given: &str) -> Result<ObjectId, Error> {
        if let Some(rest) = given.strip_prefix("HEAD") {
            let steps = match rest {
                "" => 0,
                "~" | "^" => 1,
                _ => rest
                    .strip_prefix('~')
                    .and_then(|n| n.parse::<usize>().ok())
                    .ok_or_else(|| Error::BadRevision {
                        given: given.into(),
                        reason: "after HEAD only ~N is understood".into(),
                    })?,
            };
            let mut id = self.read_head()?.ok_or_else(|| Error::BadRevision {
                given: given.into(),
                reason: "the run has no snapshot yet (no .rk/HEAD)".into(),
            })?;
            for step in 0..steps {
                id = self
                    .read_snapshot(&id)?
                    .parent
                    .ok_or_else(|| Error::BadRevision {
                        given: given.into(),
                        reason: format!("the history is only {} snapshot(s) long", step + 1),
                    })?;
            }
            return Ok(id);
        }
        if !is_hex_prefix(given) {
            return Err(Error::BadRevision {
                given: given.into(),
                reason: "expected 4 to 64 lowercase hex digits, HEAD or HEAD~N".into(),
            });
        }
        if let Some(id) = ObjectId::parse(given) {
            if !self.object_path(&id).exists() {
                return Err(Error::UnknownObject {
                    given: given.into(),
                    path: self.objects_dir().display().to_string(),
                });
            }
            return Ok(id);
        }
        let dir = self.objects_dir().join(&given[..2]);
        let mut candidates: Vec<String> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| format!("{}{}", &given[..2], e.file_name().to_string_lossy()))
                    .filter(|name| name.starts_with(given) && ObjectId::parse(name).is_some())
                    .collect()
            })
            .unwrap_or_default();
        candidates.sort();
        match candidates.len() {
            0 => Err(Error::UnknownObject {
                given: given.into(),
                path: self.objects_dir().display().to_string(),
            }),
            1 => Ok(ObjectId(candidates.remove(0))),
            _ => Err(Error::Ambiguous {
                given: given.into(),
                candidates: candidates.iter().map(|c| c[..16].to_string()).collect(),
            }),
        }
    }

    /// Resolve what a user typed (see [`Store::resolve`]) to a snapshot. An
    /// intact object of another kind (a config object) is a usage error.
    pub fn resolve_snapshot(&self, given: &str) -> Result<Snapshot, Error> {
        let id = self.resolve(given)?;
        let bytes = self.get(&id)?;
        let kind = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(String::from));
        if kind.as_deref() != Some("snapshot") {
            return Err(Error::BadRevision {
                given: given.into(),
                reason: format!("object {id} is a config object, not a snapshot"),
            });
        }
        self.read_snapshot(&id)
    }

    /// Every object file and every leftover temp file under `objects/`:
    /// `(objects, temps)`, both sorted.
    pub fn list_objects(&self) -> Result<(Vec<PathBuf>, Vec<PathBuf>), Error> {
        let mut objects = Vec::new();
        let mut temps = Vec::new();
        let root = self.objects_dir();
        let top = match std::fs::read_dir(&root) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((objects, temps)),
            Err(e) => return Err(io_err(&root, e)),
        };
        for entry in top.filter_map(|e| e.ok()) {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(atomic::TMP_PREFIX) {
                temps.push(path);
                continue;
            }
            if !path.is_dir() {
                objects.push(path);
                continue;
            }
            let inner = std::fs::read_dir(&path).map_err(|e| io_err(&path, e))?;
            for e in inner.filter_map(|e| e.ok()) {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.starts_with(atomic::TMP_PREFIX) {
                    temps.push(e.path());
                } else {
                    objects.push(e.path());
                }
            }
        }
        objects.sort();
        temps.sort();
        Ok((objects, temps))
    }
}

/// Parse the bytes of a snapshot object (already re-hashed).
pub(crate) fn parse_snapshot(id: &ObjectId, bytes: &[u8]) -> Result<Snapshot, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let obj = value
        .as_object()
        .ok_or("not a JSON object, so not a snapshot")?;
    if obj.get("kind").and_then(|k| k.as_str()) != Some("snapshot") {
        return Err("not a snapshot (it is a config object or another kind)".into());
    }
    let text = |key: &str| -> Result<String, String> {
        obj.get(key)
            .and_then(|v| v.as_str())
            .map(String::from)
            .ok_or_else(|| format!("snapshot field {key:?} is missing or not a string"))
    };
    let id_field = |key: &str| -> Result<Option<ObjectId>, String> {
        match obj.get(key) {
            Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => ObjectId::parse(s)
                .map(Some)
                .ok_or_else(|| format!("snapshot field {key:?} is not an object id")),
            _ => Err(format!(
                "snapshot field {key:?} is missing or not an id or null"
            )),
        }
    };
    let state = obj
        .get("state")
        .filter(|s| s.is_object())
        .cloned()
        .ok_or("snapshot field \"state\" is missing or not an object")?;
    Ok(Snapshot {
        id: id.clone(),
        parent: id_field("parent")?,
        time: text("time")?,
        op: text("op")?,
        message: text("message")?,
        config: id_field("config")?,
        state,
    })
}
