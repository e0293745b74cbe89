//! `run_state.json` parser: any bytes never panic; a state that parses is
//! written (in pipeline order) to JSON that parses back to the same JSON,
//! through the value and through the pretty text, and that keeps every field
//! of the input, known or not, with unknown ones unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rk::state::RunState;
use serde_json::Value;

const KNOWN: [&str; 14] = [
    "schema_version",
    "run_id",
    "config_hash",
    "config_hash_scheme",
    "config_path",
    "phases",
    "last_checkpoint",
    "stop_requested",
    "migrated",
    "notes",
    "config_drift",
    "sessions",
    "gates",
    "archive",
];

fuzz_target!(|data: &[u8]| {
    let Ok(state) = RunState::from_slice(data) else {
        return;
    };
    let pipeline: Vec<String> = rk::project::DEFAULT_PHASES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let written = state.to_json(&pipeline);
    let reread = RunState::from_json(written.clone())
        .unwrap_or_else(|p| panic!("written state does not parse: {p}"));
    assert_eq!(reread.to_json(&pipeline), written, "value round trip");
    let text = state.to_pretty(&pipeline);
    let from_text = RunState::from_slice(text.as_bytes())
        .unwrap_or_else(|p| panic!("pretty state does not parse: {p}"));
    assert_eq!(from_text.to_json(&pipeline), written, "text round trip");

    // Every input field is kept; unknown ones unchanged; only `phases` may be added.
    let Ok(Value::Object(input)) = serde_json::from_slice::<Value>(data) else {
        panic!("a state parsed from something that is not a JSON object");
    };
    let Value::Object(out) = &written else {
        panic!("a state written as something that is not an object");
    };
    for (key, value) in &input {
        let kept = out.get(key).unwrap_or_else(|| panic!("field {key:?} lost"));
        if !KNOWN.contains(&key.as_str()) {
            assert_eq!(kept, value, "unknown field {key:?} changed");
        }
    }
    for key in out.keys() {
        assert!(
            input.contains_key(key) || key == "phases",
            "field {key:?} invented"
        );
    }
    if let Some(Value::Object(phases)) = input.get("phases") {
        let Some(Value::Object(written_phases)) = out.get("phases") else {
            panic!("phases lost");
        };
        assert_eq!(phases.len(), written_phases.len(), "phase count changed");
        for (name, phase) in phases {
            let Some(Value::Object(w)) = written_phases.get(name) else {
                panic!("phase {name:?} lost");
            };
            let Value::Object(p) = phase else {
                panic!("a non-object phase parsed");
            };
            for (k, v) in p {
                assert_eq!(w.get(k), Some(v), "phase {name:?} field {k:?} changed");
            }
            assert_eq!(w.len(), p.len(), "phase {name:?} gained fields");
        }
        // Pipeline phases first, in pipeline order.
        let names: Vec<&String> = written_phases.keys().collect();
        let in_pipeline = names.iter().take_while(|n| pipeline.contains(n)).count();
        assert!(
            names[in_pipeline..].iter().all(|n| !pipeline.contains(n)),
            "a pipeline phase after an unknown one"
        );
        let positions: Vec<usize> = names[..in_pipeline]
            .iter()
            .map(|n| pipeline.iter().position(|p| p == *n).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "pipeline order");
    }
});
