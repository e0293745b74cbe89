//! Property tests of the trial manifest parsers (docs/FORMATS.md#trial-manifests): no input makes
//! either panic; the borrowing `ManifestView` and the owning `Manifest`
//! agree on corrupt or not; v2 is exactly `"schema_version": 2` (an integer),
//! anything else v1; and the expected parts of a trial are `k_p01 … k_pNN`
//! for each dataset key `k` with N ids, whatever the ids are.

use proptest::prelude::*;
use rk::trials::manifest::{Manifest, ManifestView, SchemaVersion};
use serde_json::{Map, Number, Value};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_.0-9]{0,8}",
        "[a-zA-Z0-9 ~/\"\\\\\t\n\u{0}\u{e9}\u{1F600}\u{2028}-]{0,8}",
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter_map("finite", Number::from_f64)
            .prop_map(Value::Number),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..4)
                .prop_map(|e| Value::Object(e.into_iter().collect())),
        ]
    })
}

/// JSON text of an object with these entries in this order, duplicates kept.
fn object_text(entries: &[(String, String)]) -> String {
    let body: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}: {v}", Value::String(k.clone())))
        .collect();
    format!("{{{}}}", body.join(", "))
}

/// A manifest-shaped object: the fields rk reads, with values of the right
/// type or not, plus others, as JSON text (duplicate keys possible).
fn manifest_text() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        Just("schema_version".to_string()),
        Just("run_id".to_string()),
        Just("datasets".to_string()),
        Just("job_status".to_string()),
        Just("stage_status".to_string()),
        Just("reconstructed".to_string()),
        Just("jobs".to_string()),
        Just("timestamps".to_string()),
        text(),
    ];
    let value = prop_oneof![
        json().prop_map(|v| v.to_string()),
        datasets().prop_map(|d| d.to_string()),
        prop::collection::vec(("[a-z]_p0[1-3]", json()), 0..4).prop_map(|e| {
            let e: Vec<(String, String)> = e.into_iter().map(|(k, v)| (k, v.to_string())).collect();
            object_text(&e)
        }),
        prop::collection::vec(("[a-z]{1,6}", "[a-z_]{1,10}"), 0..4).prop_map(|e| {
            let e: Vec<(String, String)> = e
                .into_iter()
                .map(|(k, s)| (k, format!("{{\"status\": \"{s}\", \"updated_at\": \"t\"}}")))
                .collect();
            object_text(&e)
        }),
    ];
    prop::collection::vec((field, value), 0..7).prop_map(|e| object_text(&e))
}

/// `datasets`: keys to lists of ids of any kind (or, sometimes, not lists).
fn datasets() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (
            "[a-z0-9._]{1,10}",
            prop_oneof![
                8 => prop::collection::vec(json(), 0..5).prop_map(Value::Array),
                1 => json(),
            ],
        ),
        0..4,
    )
    .prop_map(|e| Value::Object(e.into_iter().collect::<Map<_, _>>()))
}

fn expected_from_json(raw: &Value) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(Value::Object(d)) = raw.get("datasets") {
        for (k, ids) in d {
            if let Value::Array(ids) = ids {
                for i in 1..=ids.len() {
                    parts.push(format!("{k}_p{i:02}"));
                }
            }
        }
    }
    parts
}

/// 256 cases, or `PROPTEST_CASES` for a longer hunt.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let view = ManifestView::parse(&bytes);
        let whole = Manifest::parse(&bytes);
        prop_assert_eq!(view.is_ok(), whole.is_ok());
    }

    #[test]
    fn never_panics_on_damaged_manifests(text in manifest_text(), cut in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = text.into_bytes();
        let at = cut.index(bytes.len() + 1);
        for damaged in [bytes[..at].to_vec(), {
            if at < bytes.len() {
                bytes[at] = byte;
            }
            bytes.clone()
        }] {
            let view = ManifestView::parse(&damaged);
            let whole = Manifest::parse(&damaged);
            prop_assert_eq!(view.is_ok(), whole.is_ok());
        }
    }

    #[test]
    fn corrupt_exactly_when_not_a_json_object(v in prop_oneof![json(), json().prop_map(|v| Value::Array(vec![v]))]) {
        let bytes = serde_json::to_vec(&v).unwrap();
        let object = v.is_object();
        prop_assert_eq!(ManifestView::parse(&bytes).is_ok(), object);
        prop_assert_eq!(Manifest::parse(&bytes).is_ok(), object);
    }

    #[test]
    fn view_and_manifest_read_what_the_json_says(text in manifest_text()) {
        let raw: Value = serde_json::from_str(&text).unwrap();
        let view = ManifestView::parse(text.as_bytes()).unwrap();
        let whole = Manifest::parse(text.as_bytes()).unwrap();
        prop_assert_eq!(view.version(), whole.schema_version);
        prop_assert_eq!(&view.expected_parts(), &whole.expected_parts());
        // Duplicate keys: the last value wins, as the orchestrator reads it.
        prop_assert_eq!(whole.expected_parts(), expected_from_json(&raw));
        prop_assert_eq!(whole.run_id.as_deref(), raw.get("run_id").and_then(Value::as_str));
        prop_assert_eq!(
            whole.reconstructed,
            raw.get("reconstructed").and_then(Value::as_bool).unwrap_or(false)
        );
        let jobs: Vec<(String, String)> = match raw.get("job_status") {
            Some(Value::Object(j)) => j
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect(),
            _ => Vec::new(),
        };
        prop_assert_eq!(&whole.job_status, &jobs);
        for (part, _) in &jobs {
            prop_assert!(view.has_job(part));
        }
    }

    #[test]
    fn v2_is_exactly_the_integer_two(
        version in prop_oneof![
            Just(None),
            Just(Some("2".to_string())),
            Just(Some("2.0".to_string())),
            Just(Some("\"2\"".to_string())),
            Just(Some("20e-1".to_string())),
            Just(Some("[2]".to_string())),
            Just(Some("null".to_string())),
            Just(Some("true".to_string())),
            Just(Some("-2".to_string())),
            Just(Some("18446744073709551618".to_string())),
            any::<i64>().prop_map(|n| Some(n.to_string())),
        ],
        before in manifest_text(),
        after in prop::collection::vec(("[a-z]{1,5}", json()), 0..3),
    ) {
        // The version field placed among other fields, after any earlier one.
        let mut text = before.strip_suffix('}').unwrap().to_string();
        let mut sep = if text.len() > 1 { ", " } else { "" };
        if let Some(v) = &version {
            text.push_str(&format!("{sep}\"schema_version\": {v}"));
            sep = ", ";
        }
        for (k, v) in &after {
            if k != "schema_version" {
                text.push_str(&format!("{sep}\"{k}\": {v}"));
                sep = ", ";
            }
        }
        text.push('}');
        let raw: Value = match serde_json::from_str(&text) {
            Ok(raw) => raw,
            Err(_) => return Ok(()), // 18446744073709551618 and the like: corrupt for both
        };
        let v2 = matches!(raw.get("schema_version"), Some(Value::Number(n)) if n.as_i64() == Some(2));
        let want = if v2 { SchemaVersion::V2 } else { SchemaVersion::V1 };
        prop_assert_eq!(ManifestView::parse(text.as_bytes()).unwrap().version(), want);
        prop_assert_eq!(Manifest::parse(text.as_bytes()).unwrap().schema_version, want);
        if version.as_deref() == Some("2") {
            prop_assert_eq!(want, SchemaVersion::V2);
        }
    }

    #[test]
    fn expected_parts_count_every_id(d in datasets(), extra in prop::collection::vec(any::<i64>().prop_map(Value::from), 95..105)) {
        let mut raw = Map::new();
        raw.insert("schema_version".into(), Value::from(2));
        raw.insert("datasets".into(), d);
        // Sometimes a key with about 100 ids: p99, p100, p101.
        raw.insert("zz".into(), Value::Null);
        if let Some(Value::Object(ds)) = raw.get_mut("datasets") {
            if ds.len() % 2 == 1 {
                ds.insert("big".into(), Value::Array(extra));
            }
        }
        let raw = Value::Object(raw);
        let bytes = serde_json::to_vec(&raw).unwrap();
        let view = ManifestView::parse(&bytes).unwrap();
        let want = expected_from_json(&raw);
        prop_assert_eq!(&view.expected_parts(), &want);
        prop_assert_eq!(&Manifest::parse(&bytes).unwrap().expected_parts(), &want);
        for p in &want {
            let (_, n) = p.rsplit_once("_p").unwrap();
            prop_assert!(n.len() >= 2 && n.bytes().all(|b| b.is_ascii_digit()), "{p}");
        }
        prop_assert_eq!(view.lists_datasets(), !want.is_empty());
    }
}

/// The fuzz target's seeds (`fuzz/seeds/manifest`) are manifests both
/// parsers read alike, so the seed corpus stays valid as the parsers change.
#[test]
fn fuzz_seeds_parse_alike() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/manifest");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let view = ManifestView::parse(&bytes).unwrap();
        let whole = Manifest::parse(&bytes).unwrap();
        let raw: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(view.version(), whole.schema_version);
        assert_eq!(view.expected_parts(), expected_from_json(&raw));
        assert_eq!(whole.expected_parts(), expected_from_json(&raw));
        seen += 1;
    }
    assert!(seen >= 4, "seeds missing from {}", dir.display());
}
