//! The trial manifest (docs/FORMATS.md#trial-manifests): `results/trial_manifest.json`, written by
//! the orchestrator, v1 (no or any other `schema_version`) or v2
//! (`"schema_version": 2`).
//!
//! Two readings of one parser. [`ManifestView`] borrows from the bytes and
//! keeps only what rk reports, skipping everything else (checked as strictly
//! as a full read, never built): it is what a scan of 10,000 trials runs.
//! [`Manifest`] owns its fields and keeps the whole JSON object for callers
//! that rewrite or show it.
//!
//! Leniency, decided here once: a file that is not JSON, or JSON that is not an
//! object, is **corrupt**. A field of the wrong type inside an otherwise valid
//! object (`"datasets": []`, a `job_status` value that is not a string) is
//! treated as absent and reported as a warning string; it never makes the
//! whole manifest corrupt, because the orchestrator's other fields are still
//! worth reading and only `migrate` may rewrite a manifest.
//!
//! Both readings see what the orchestrator's `json.load` sees: of a duplicate
//! key the last value wins, in the place of the first; a `\uXXXX` escape of a
//! lone surrogate (which `json.dump` writes for a str holding one, such as a
//! file name that is not UTF-8) reads as U+FFFD; and both call the same bytes
//! corrupt (invalid UTF-8, a number out of `f64` range, nesting deeper than
//! 128), wherever in the file they are.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

/// Which layout a manifest has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaVersion {
    V1,
    V2,
}

impl SchemaVersion {
    pub fn number(self) -> u32 {
        match self {
            SchemaVersion::V1 => 1,
            SchemaVersion::V2 => 2,
        }
    }
}

/// One stage of `stage_status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageStatus<'a> {
    pub stage: Cow<'a, str>,
    /// `completed`, `in_progress`, `pending`, or whatever the file says.
    pub status: Option<Cow<'a, str>>,
}

/// What rk reads of a manifest, borrowing from its bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ManifestView<'a> {
    pub schema_version: Option<SchemaVersion>,
    pub run_id: Option<Cow<'a, str>>,
    /// `{key: [ids]}` in file order; ids that are not strings are kept as
    /// their JSON text so the count of expected parts stays right.
    pub datasets: Vec<(Cow<'a, str>, Vec<Cow<'a, str>>)>,
    /// `{part: status}` in file order.
    pub job_status: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    pub stage_status: Vec<StageStatus<'a>>,
    /// `"reconstructed": true`: written by `rk migrate` from files on disk.
    pub reconstructed: bool,
    /// Fields of the wrong type, each ignored: `datasets is a list, not an object`.
    pub warnings: Vec<String>,
}

/// Why a manifest is corrupt: not JSON, or not a JSON object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Corrupt(pub String);

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'a> ManifestView<'a> {
    /// Read the fields rk reports; corrupt when not JSON or not an object.
    pub fn parse(bytes: &'a [u8]) -> Result<ManifestView<'a>, Corrupt> {
        match ManifestView::parse_exact(bytes) {
            // Looked for only when the bytes do not parse, so a scan of
            // well-formed manifests pays nothing for it. The replacement has
            // the escape's length: an error names the same line and column.
            Err(corrupt) => match crate::python_json::lone_surrogates_replaced(bytes) {
                Cow::Owned(fixed) => {
                    ManifestView::parse_exact(&fixed).map(ManifestView::into_owned)
                }
                Cow::Borrowed(_) => Err(corrupt),
            },
            view => view,
        }
    }

    /// The same view, owning its strings.
    fn into_owned(self) -> ManifestView<'static> {
        fn own(c: Cow<'_, str>) -> Cow<'static, str> {
            Cow::Owned(c.into_owned())
        }
        ManifestView {
            schema_version: self.schema_version,
            run_id: self.run_id.map(own),
            datasets: self
                .datasets
                .into_iter()
                .map(|(k, ids)| (own(k), ids.into_iter().map(own).collect()))
                .collect(),
            job_status: self
                .job_status
                .into_iter()
                .map(|(p, s)| (own(p), own(s)))
                .collect(),
            stage_status: self
                .stage_status
                .into_iter()
                .map(|s| StageStatus {
                    stage: own(s.stage),
                    status: s.status.map(own),
                })
                .collect(),
            reconstructed: self.reconstructed,
            warnings: self.warnings,
        }
    }

    /// [`ManifestView::parse`] of the bytes exactly as they are.
    fn parse_exact(bytes: &'a [u8]) -> Result<ManifestView<'a>, Corrupt> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let view = match de.deserialize_any(ViewVisitor) {
            Ok(Some(view)) => view,
            Ok(None) => return Err(Corrupt("not a JSON object".into())),
            Err(e) => return Err(Corrupt(format!("not valid JSON: {e}"))),
        };
        de.end()
            .map_err(|e| Corrupt(format!("not valid JSON: {e}")))?;
        Ok(view)
    }

    pub fn version(&self) -> SchemaVersion {
        self.schema_version.unwrap_or(SchemaVersion::V1)
    }

    /// The expected parts (docs/FORMATS.md#trial-manifests): `k_p01 … k_pNN` per dataset key.
    pub fn expected_parts(&self) -> Vec<String> {
        expected_parts(self.datasets.iter().map(|(k, ids)| (k.as_ref(), ids.len())))
    }

    /// Whether any dataset key has at least one id (the trial takes part in
    /// the job rules).
    pub fn lists_datasets(&self) -> bool {
        self.datasets.iter().any(|(_, ids)| !ids.is_empty())
    }

    /// Whether `job_status` has an entry for `part`.
    pub fn has_job(&self, part: &str) -> bool {
        self.job_status.iter().any(|(p, _)| p == part)
    }
}

/// `k_p01 … k_pNN` for each `(k, N)`; two digits at least, `p100` beyond 99.
pub fn expected_parts<'k>(datasets: impl IntoIterator<Item = (&'k str, usize)>) -> Vec<String> {
    datasets
        .into_iter()
        .flat_map(|(key, n)| (1..=n).map(move |i| format!("{key}_p{i:02}")))
        .collect()
}

/// A manifest read whole: the fields of [`ManifestView`], owned, plus the JSON
/// object for callers that show or rewrite it (unknown fields kept, in order).
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    pub schema_version: SchemaVersion,
    pub run_id: Option<String>,
    pub datasets: Vec<(String, Vec<String>)>,
    pub job_status: Vec<(String, String)>,
    /// `(stage, status)`; status `None` when the entry has none.
    pub stage_status: Vec<(String, Option<String>)>,
    pub reconstructed: bool,
    pub warnings: Vec<String>,
    /// The whole object as read.
    pub raw: serde_json::Map<String, serde_json::Value>,
}

impl Manifest {
    pub fn parse(bytes: &[u8]) -> Result<Manifest, Corrupt> {
        let view = ManifestView::parse(bytes)?;
        let raw = match crate::python_json::value(bytes) {
            Ok(serde_json::Value::Object(map)) => map,
            Ok(_) => return Err(Corrupt("not a JSON object".into())),
            Err(e) => return Err(Corrupt(format!("not valid JSON: {e}"))),
        };
        let own = |c: &Cow<str>| c.to_string();
        Ok(Manifest {
            schema_version: view.version(),
            run_id: view.run_id.as_ref().map(own),
            datasets: view
                .datasets
                .iter()
                .map(|(k, ids)| (own(k), ids.iter().map(own).collect()))
                .collect(),
            job_status: view
                .job_status
                .iter()
                .map(|(p, s)| (own(p), own(s)))
                .collect(),
            stage_status: view
                .stage_status
                .iter()
                .map(|s| (own(&s.stage), s.status.as_ref().map(own)))
                .collect(),
            reconstructed: view.reconstructed,
            warnings: view.warnings,
            raw,
        })
    }

    /// `timestamps`, as written.
    pub fn timestamps(&self) -> Option<&serde_json::Value> {
        self.raw.get("timestamps")
    }

    /// `jobs`, as written.
    pub fn jobs(&self) -> Option<&serde_json::Value> {
        self.raw.get("jobs")
    }

    /// `reconstructed_from`: the backup a reconstructed manifest replaced.
    pub fn reconstructed_from(&self) -> Option<&str> {
        self.raw.get("reconstructed_from").and_then(|v| v.as_str())
    }

    pub fn expected_parts(&self) -> Vec<String> {
        expected_parts(self.datasets.iter().map(|(k, ids)| (k.as_str(), ids.len())))
    }

    pub fn lists_datasets(&self) -> bool {
        self.datasets.iter().any(|(_, ids)| !ids.is_empty())
    }

    pub fn has_job(&self, part: &str) -> bool {
        self.job_status.iter().any(|(p, _)| p == part)
    }
}

// ---- the lenient borrowed parser ------------------------------------------

/// Any JSON value, checked exactly as `serde_json::Value` would read it
/// (UTF-8, escapes, number range, nesting limit) and then dropped.
/// `serde::de::IgnoredAny` is not enough: serde_json skips it with a lax
/// scanner, so a file the scan called fine was corrupt to [`Manifest::parse`].
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Skip;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
                while seq.next_element::<Skip>()?.is_some() {}
                Ok(Skip)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
                while map.next_entry::<Skip, Skip>()?.is_some() {}
                Ok(Skip)
            }
        }
        d.deserialize_any(V)
    }
}

/// Entries of a JSON object as `json.load` keeps them: a duplicate key's last
/// value replaces the first in its place (and a last value of the wrong type
/// drops the entry).
///
/// A manifest's objects hold a few dozen keys at most, so a key is looked for
/// in the list of keys, which costs less than hashing it; past
/// [`Entries::LINEAR`] keys an index takes over.
struct Entries<'a, T> {
    keys: Vec<Cow<'a, str>>,
    items: Vec<Option<T>>,
    at: Option<HashMap<Cow<'a, str>, usize>>,
}

impl<'a, T> Entries<'a, T> {
    const LINEAR: usize = 32;

    fn new() -> Self {
        Entries {
            keys: Vec::new(),
            items: Vec::new(),
            at: None,
        }
    }

    fn set(&mut self, key: Cow<'a, str>, item: Option<T>) {
        let found = match &self.at {
            Some(at) => at.get(key.as_ref()).copied(),
            None => self.keys.iter().position(|k| *k == key),
        };
        if let Some(i) = found {
            self.items[i] = item;
            return;
        }
        if let Some(at) = &mut self.at {
            at.insert(key.clone(), self.keys.len());
        }
        self.keys.push(key);
        self.items.push(item);
        if self.at.is_none() && self.keys.len() > Self::LINEAR {
            self.at = Some(
                self.keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| (k.clone(), i))
                    .collect(),
            );
        }
    }

    fn finish(self) -> Vec<T> {
        self.items.into_iter().flatten().collect()
    }
}

/// A string that borrows when the JSON text needs no unescaping.
struct Str<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Any JSON value, reduced to what the lenient fields need: a string, an
/// integer, a bool, or just its kind. Containers are skipped unless a typed
/// reader asked for them.
enum Scalar<'a> {
    Str(Cow<'a, str>),
    Int(i128),
    Bool(bool),
    Other(&'static str, Option<String>),
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Int(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::Int(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Scalar::Other("number", Some(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Other("null", None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<Skip>()?.is_some() {}
                Ok(Scalar::Other("list", None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<Skip, Skip>()?.is_some() {}
                Ok(Scalar::Other("object", None))
            }
        }
        d.deserialize_any(V)
    }
}

impl Scalar<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Scalar::Str(_) => "string",
            Scalar::Int(_) => "number",
            Scalar::Bool(_) => "boolean",
            Scalar::Other(kind, _) => kind,
        }
    }
}

/// A value expected to be an object of `T`, or the kind it was instead.
enum Lenient<T> {
    Map(Vec<T>, Vec<String>),
    Not(&'static str),
}

/// `datasets`: `{key: [ids]}`.
struct Datasets<'a>(Lenient<(Cow<'a, str>, Vec<Cow<'a, str>>)>);
/// `job_status`: `{part: status}`.
struct Jobs<'a>(Lenient<(Cow<'a, str>, Cow<'a, str>)>);
/// `stage_status`: `{stage: {status, …}}` (a bare string status is accepted).
struct Stages<'a>(Lenient<StageStatus<'a>>);

/// Ids of one dataset, or the kind the value was instead.
enum Ids<'a> {
    List(Vec<Cow<'a, str>>),
    Not(&'static str),
}

impl<'de> Deserialize<'de> for Ids<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ids<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of ids")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut ids = Vec::new();
                while let Some(id) = seq.next_element::<Scalar<'de>>()? {
                    ids.push(match id {
                        Scalar::Str(s) => s,
                        Scalar::Int(i) => Cow::Owned(i.to_string()),
                        Scalar::Bool(b) => Cow::Owned(b.to_string()),
                        Scalar::Other(kind, text) => {
                            Cow::Owned(text.unwrap_or_else(|| kind.into()))
                        }
                    });
                }
                Ok(Ids::List(ids))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<Skip, Skip>()?.is_some() {}
                Ok(Ids::Not("object"))
            }
            fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> Result<Self::Value, E> {
                Ok(Ids::Not("string"))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Ids::Not("string"))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Ids::Not("number"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Ids::Not("number"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Ids::Not("number"))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Ids::Not("boolean"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Ids::Not("null"))
            }
        }
        d.deserialize_any(V)
    }
}

/// A stage entry: an object with `status`, or a bare status string.
enum Stage<'a> {
    Status(Option<Cow<'a, str>>),
    Not(&'static str),
}

impl<'de> Deserialize<'de> for Stage<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Stage<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a stage status")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut status = None;
                while let Some(key) = map.next_key::<Str<'de>>()? {
                    if key.0 == "status" {
                        status = match map.next_value::<Scalar<'de>>()? {
                            Scalar::Str(s) => Some(s),
                            _ => None,
                        };
                    } else {
                        map.next_value::<Skip>()?;
                    }
                }
                Ok(Stage::Status(status))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Stage::Status(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Stage::Status(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<Skip>()?.is_some() {}
                Ok(Stage::Not("list"))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Stage::Not("number"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Stage::Not("number"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Stage::Not("number"))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Stage::Not("boolean"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Stage::Not("null"))
            }
        }
        d.deserialize_any(V)
    }
}

/// Deserialize an object field by field with `entry`, or report its kind.
macro_rules! lenient_map {
    ($ty:ident, $item:ty, $expecting:literal, |$key:ident, $map:ident, $warnings:ident| $entry:block) => {
        impl<'de> Deserialize<'de> for $ty<'de> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty<'de>;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_map<A: MapAccess<'de>>(
                        self,
                        mut $map: A,
                    ) -> Result<Self::Value, A::Error> {
                        let mut items: Entries<'de, $item> = Entries::new();
                        let mut $warnings: Vec<String> = Vec::new();
                        while let Some(Str($key)) = $map.next_key::<Str<'de>>()? {
                            let key = $key.clone();
                            let item = $entry;
                            items.set(key, item);
                        }
                        Ok($ty(Lenient::Map(items.finish(), $warnings)))
                    }
                    fn visit_seq<A: SeqAccess<'de>>(
                        self,
                        mut seq: A,
                    ) -> Result<Self::Value, A::Error> {
                        while seq.next_element::<Skip>()?.is_some() {}
                        Ok($ty(Lenient::Not("list")))
                    }
                    fn visit_borrowed_str<E: de::Error>(
                        self,
                        _: &'de str,
                    ) -> Result<Self::Value, E> {
                        Ok($ty(Lenient::Not("string")))
                    }
                    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                        Ok($ty(Lenient::Not("string")))
                    }
                    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                        Ok($ty(Lenient::Not("number")))
                    }
                    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                        Ok($ty(Lenient::Not("number")))
                    }
                    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                        Ok($ty(Lenient::Not("number")))
                    }
                    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                        Ok($ty(Lenient::Not("boolean")))
                    }
                    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                        Ok($ty(Lenient::Not("null")))
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

lenient_map!(
    Datasets,
    (Cow<'de, str>, Vec<Cow<'de, str>>),
    "an object of dataset ids",
    |key, map, warnings| {
        match map.next_value::<Ids<'de>>()? {
            Ids::List(ids) => Some((key, ids)),
            Ids::Not(kind) => {
                warnings.push(format!("datasets.{key} is a {kind}, not a list; ignored"));
                None
            }
        }
    }
);

lenient_map!(
    Jobs,
    (Cow<'de, str>, Cow<'de, str>),
    "an object of job statuses",
    |key, map, warnings| {
        match map.next_value::<Scalar<'de>>()? {
            Scalar::Str(status) => Some((key, status)),
            other => {
                warnings.push(format!(
                    "job_status.{key} is a {}, not a string; ignored",
                    other.kind()
                ));
                None
            }
        }
    }
);

lenient_map!(
    Stages,
    StageStatus<'de>,
    "an object of stage statuses",
    |key, map, warnings| {
        match map.next_value::<Stage<'de>>()? {
            Stage::Status(status) => Some(StageStatus { stage: key, status }),
            Stage::Not(kind) => {
                warnings.push(format!(
                    "stage_status.{key} is a {kind}, not an object; ignored"
                ));
                None
            }
        }
    }
);

fn take<T>(field: &str, value: Lenient<T>, warnings: &mut Vec<String>) -> Vec<T> {
    match value {
        Lenient::Map(items, mut w) => {
            warnings.append(&mut w);
            items
        }
        Lenient::Not(kind) => {
            warnings.push(format!("{field} is a {kind}, not an object; ignored"));
            Vec::new()
        }
    }
}

/// The top level: an object → `Some(view)`, anything else → `None` (corrupt).
struct ViewVisitor;

impl<'de> Visitor<'de> for ViewVisitor {
    type Value = Option<ManifestView<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut v = ManifestView::default();
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            match key.as_ref() {
                "schema_version" => {
                    let s = map.next_value::<Scalar<'de>>()?;
                    v.schema_version = Some(if matches!(s, Scalar::Int(2)) {
                        SchemaVersion::V2
                    } else {
                        SchemaVersion::V1
                    });
                }
                "run_id" => match map.next_value::<Scalar<'de>>()? {
                    Scalar::Str(s) => v.run_id = Some(s),
                    Scalar::Other("null", _) => v.run_id = None,
                    other => {
                        v.run_id = None;
                        v.warnings.push(format!(
                            "run_id is a {}, not a string; ignored",
                            other.kind()
                        ))
                    }
                },
                "datasets" => {
                    let Datasets(d) = map.next_value()?;
                    v.datasets = take("datasets", d, &mut v.warnings);
                }
                "job_status" => {
                    let Jobs(j) = map.next_value()?;
                    v.job_status = take("job_status", j, &mut v.warnings);
                }
                "stage_status" => {
                    let Stages(s) = map.next_value()?;
                    v.stage_status = take("stage_status", s, &mut v.warnings);
                }
                "reconstructed" => match map.next_value::<Scalar<'de>>()? {
                    Scalar::Bool(b) => v.reconstructed = b,
                    other => {
                        v.reconstructed = false;
                        v.warnings.push(format!(
                            "reconstructed is a {}, not a boolean; ignored",
                            other.kind()
                        ))
                    }
                },
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(Some(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(None)
    }
    fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_fields() {
        let text = br#"{"schema_version": 2, "run_id": "r1",
            "datasets": {"t0.7_control": ["ds-1", "ds-2"], "b": [7]},
            "jobs": {"x": [1, {"y": null}]},
            "job_status": {"t0.7_control_p01": "completed", "b_p01": "running"},
            "stage_status": {"parsed": {"status": "completed", "updated_at": "t", "artifacts": {"a": 1}},
                             "scored": "pending"},
            "timestamps": {"created": "t"}, "extra": [1, 2, 3]}"#;
        let v = ManifestView::parse(text).unwrap();
        assert_eq!(v.version(), SchemaVersion::V2);
        assert_eq!(v.run_id.as_deref(), Some("r1"));
        assert_eq!(
            v.expected_parts(),
            ["t0.7_control_p01", "t0.7_control_p02", "b_p01"]
        );
        assert!(v.has_job("b_p01") && !v.has_job("t0.7_control_p02"));
        assert_eq!(v.stage_status[0].status.as_deref(), Some("completed"));
        assert_eq!(v.stage_status[1].status.as_deref(), Some("pending"));
        assert!(v.warnings.is_empty());
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.datasets[1], ("b".to_string(), vec!["7".to_string()]));
        assert!(m.raw.contains_key("extra"));
        assert!(m.timestamps().is_some());
    }

    #[test]
    fn v1_is_anything_but_exactly_two() {
        for text in [
            r#"{}"#,
            r#"{"schema_version": 1}"#,
            r#"{"schema_version": "2"}"#,
            r#"{"schema_version": 2.0}"#,
            r#"{"schema_version": 3}"#,
        ] {
            let v = ManifestView::parse(text.as_bytes()).unwrap();
            assert_eq!(v.version(), SchemaVersion::V1, "{text}");
        }
    }

    #[test]
    fn corrupt_is_not_json_or_not_an_object() {
        for text in ["", "{", "[1]", "\"x\"", "null", "{} {}", "{\"a\":1,}"] {
            assert!(ManifestView::parse(text.as_bytes()).is_err(), "{text:?}");
            assert!(Manifest::parse(text.as_bytes()).is_err(), "{text:?}");
        }
    }

    #[test]
    fn wrong_types_are_warnings_not_corruption() {
        let text = br#"{"datasets": ["a"], "job_status": {"a_p01": 3, "a_p02": "done"},
            "stage_status": 7, "reconstructed": "yes", "run_id": 5}"#;
        let v = ManifestView::parse(text).unwrap();
        assert!(v.datasets.is_empty());
        assert_eq!(v.job_status.len(), 1);
        assert!(v.stage_status.is_empty());
        assert!(!v.reconstructed);
        assert_eq!(
            v.warnings,
            [
                "datasets is a list, not an object; ignored",
                "job_status.a_p01 is a number, not a string; ignored",
                "stage_status is a number, not an object; ignored",
                "reconstructed is a string, not a boolean; ignored",
                "run_id is a number, not a string; ignored",
            ]
        );
        let v = ManifestView::parse(br#"{"datasets": {"a": "x", "b": []}}"#).unwrap();
        assert_eq!(v.warnings, ["datasets.a is a string, not a list; ignored"]);
        assert!(!v.lists_datasets());
    }

    #[test]
    fn escaped_keys_are_owned() {
        let v = ManifestView::parse(br#"{"job_status": {"a\u005fp01": "done"}}"#).unwrap();
        assert!(v.has_job("a_p01"));
    }

    /// Fuzz finding (target `manifest`): values the view skipped were not
    /// checked, so a scan called a file fine that `Manifest::parse` (compare,
    /// archive, migrate) called corrupt.
    #[test]
    fn skipped_values_are_checked_like_the_whole_manifest() {
        let deep = format!("{{\"x\": {}{}}}", "[".repeat(200), "]".repeat(200));
        for text in [
            // The `manifest` target's first crash, on the code before the fix.
            b"{\"reconstructed\": true, \"reconstructed_from\": \"trial.\xce_manifest.json.bak\", \"datasets\": {\"k\": [\"2\",\"2\",\"3\"]}}".to_vec(),
            b"{\"x\": 1e400}".to_vec(),
            b"{\"x\": \"\xff\"}".to_vec(),
            b"{\"jobs\": {\"\xc3\": 1}}".to_vec(),
            b"{\"datasets\": {\"a\": [[1e999]]}}".to_vec(),
            b"{\"stage_status\": {\"s\": {\"artifacts\": [-1e309]}}}".to_vec(),
            deep.into_bytes(),
        ] {
            let shown = String::from_utf8_lossy(&text[..text.len().min(30)]).into_owned();
            assert!(ManifestView::parse(&text).is_err(), "{shown}");
            assert!(Manifest::parse(&text).is_err(), "{shown}");
        }
        let fine = format!("{{\"x\": {}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(ManifestView::parse(fine.as_bytes()).is_ok());
        assert!(Manifest::parse(fine.as_bytes()).is_ok());
        // A lone surrogate escape, which Python's json.load reads too: both
        // readings take it, as U+FFFD.
        let lone = br#"{"run_id": "r\ud800", "x": "\udc00"}"#;
        let view = ManifestView::parse(lone).unwrap();
        assert_eq!(view.run_id.as_deref(), Some("r\u{fffd}"));
        assert_eq!(Manifest::parse(lone).unwrap().raw["x"], "\u{fffd}");
    }

    /// Duplicates are found the same way in a small object (keys searched in
    /// a list) and a large one (an index past `Entries::LINEAR` keys), also
    /// when the index is built between a key and its duplicate, and when a
    /// key and its duplicate are spelled differently (one escapes its `_`).
    #[test]
    fn duplicate_keys_in_large_objects() {
        let key = |i: usize, escaped: bool| {
            if escaped {
                format!("\"a\\u005fp{i:02}\"")
            } else {
                format!("\"a_p{i:02}\"")
            }
        };
        for n in [3, 31, 32, 33, 34, 80] {
            let mut entries: Vec<String> = (1..=n)
                .map(|i| format!("{}: \"first\"", key(i, i % 6 == 4)))
                .collect();
            // Every third part again: a string replaces it, a number drops it.
            for i in (1..=n).step_by(3) {
                let last = if i % 2 == 0 { "\"last\"" } else { "0" };
                entries.push(format!("{}: {last}", key(i, i % 6 == 1)));
            }
            let text = format!("{{\"job_status\": {{{}}}}}", entries.join(", "));
            let v = ManifestView::parse(text.as_bytes()).unwrap();
            let want: Vec<(String, String)> = (1..=n)
                .filter(|i| i % 3 != 1 || i % 2 == 0)
                .map(|i| {
                    let status = if i % 3 == 1 { "last" } else { "first" };
                    (format!("a_p{i:02}"), status.to_string())
                })
                .collect();
            let got: Vec<(String, String)> = v
                .job_status
                .iter()
                .map(|(p, s)| (p.to_string(), s.to_string()))
                .collect();
            assert_eq!(got, want, "{n} keys");
        }
    }

    /// Fuzz finding (target `manifest`): of a duplicate key the view kept
    /// every value, or the first; the orchestrator's `json.load` (and
    /// `Manifest::raw`) keeps the last, in the place of the first.
    #[test]
    fn duplicate_keys_last_value_wins() {
        let text = br#"{"datasets": {"a": ["1"], "b": ["x"], "a": ["1", "2"]},
            "job_status": {"a_p01": "failed", "a_p02": "running", "a_p01": "completed", "a_p02": 3},
            "stage_status": {"parsed": {"status": "completed", "status": 1}, "scored": "pending", "scored": []},
            "run_id": "r1", "run_id": 7, "reconstructed": true, "reconstructed": "yes"}"#;
        let v = ManifestView::parse(text).unwrap();
        assert_eq!(v.expected_parts(), ["a_p01", "a_p02", "b_p01"]);
        assert_eq!(
            v.job_status,
            [(Cow::Borrowed("a_p01"), Cow::Borrowed("completed"))]
        );
        assert_eq!(
            v.stage_status,
            [StageStatus {
                stage: "parsed".into(),
                status: None
            }]
        );
        assert_eq!(v.run_id, None);
        assert!(!v.reconstructed);
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.expected_parts(), v.expected_parts());
        assert_eq!(m.raw["job_status"]["a_p01"], "completed");
    }

    #[test]
    fn part_numbering() {
        let parts = expected_parts([("k", 100)]);
        assert_eq!(parts[0], "k_p01");
        assert_eq!(parts[98], "k_p99");
        assert_eq!(parts[99], "k_p100");
        assert!(expected_parts([("k", 0)]).is_empty());
    }
}
