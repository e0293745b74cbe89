//! Trial manifest parsers: any bytes never panic; the borrowing
//! `ManifestView` (scans) and the owning `Manifest` (compare, archive,
//! migrate) agree on corrupt or not and on every field they report; and both
//! agree with a plain reading of the JSON as the orchestrator (Python's
//! `json.load`, last duplicate key wins) sees it (docs/FORMATS.md#trial-manifests).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rk::trials::manifest::{expected_parts, Manifest, ManifestView, SchemaVersion};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let view = ManifestView::parse(data);
    let whole = Manifest::parse(data);
    let plain = serde_json::from_slice::<Value>(data);
    let object = matches!(plain, Ok(Value::Object(_)));
    assert_eq!(
        view.is_ok(),
        whole.is_ok(),
        "view and manifest disagree on corrupt"
    );
    assert_eq!(
        view.is_ok(),
        object,
        "corrupt is not exactly 'not a JSON object'"
    );
    let (Ok(view), Ok(whole), Ok(Value::Object(raw))) = (view, whole, plain) else {
        return;
    };

    // The two parsers agree.
    assert_eq!(view.version(), whole.schema_version);
    assert_eq!(view.expected_parts(), whole.expected_parts());
    assert_eq!(view.run_id.as_deref(), whole.run_id.as_deref());
    assert_eq!(view.reconstructed, whole.reconstructed);
    assert_eq!(view.warnings, whole.warnings);
    assert_eq!(view.lists_datasets(), whole.lists_datasets());

    // And both read what the JSON says.
    let v2 = raw.get("schema_version").and_then(Value::as_i64) == Some(2)
        && raw
            .get("schema_version")
            .is_some_and(|v| v.is_i64() || v.is_u64());
    assert_eq!(
        whole.schema_version,
        if v2 {
            SchemaVersion::V2
        } else {
            SchemaVersion::V1
        },
        "schema version"
    );
    let counts: Vec<(&str, usize)> = match raw.get("datasets") {
        Some(Value::Object(d)) => d
            .iter()
            .filter_map(|(k, v)| v.as_array().map(|ids| (k.as_str(), ids.len())))
            .collect(),
        _ => Vec::new(),
    };
    assert_eq!(
        whole.expected_parts(),
        expected_parts(counts),
        "expected parts"
    );
    let jobs: Vec<(String, String)> = match raw.get("job_status") {
        Some(Value::Object(j)) => j
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
            .collect(),
        _ => Vec::new(),
    };
    assert_eq!(whole.job_status, jobs, "job_status");
    let stages: Vec<(String, Option<String>)> = match raw.get("stage_status") {
        Some(Value::Object(s)) => s
            .iter()
            .filter_map(|(k, v)| match v {
                Value::Object(o) => Some((
                    k.clone(),
                    o.get("status").and_then(Value::as_str).map(str::to_string),
                )),
                Value::String(s) => Some((k.clone(), Some(s.clone()))),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    assert_eq!(whole.stage_status, stages, "stage_status");
    assert_eq!(
        whole.run_id.as_deref(),
        raw.get("run_id").and_then(Value::as_str),
        "run_id"
    );
    assert_eq!(
        whole.reconstructed,
        raw.get("reconstructed")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        "reconstructed"
    );
});
