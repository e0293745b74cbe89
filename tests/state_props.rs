//! Property tests of the `run_state.json` model (docs/FORMATS.md#run-state): no input makes
//! the parser panic; a state rk rewrites keeps every field it does not know,
//! at the top level and inside phases, notes, drift records, sessions and
//! gates, unchanged; and phases come out in pipeline order, unknown ones
//! after, in the order they were read.

use proptest::prelude::*;
use rk::state::RunState;
use serde_json::{Map, Number, Value};

const TOP: [&str; 14] = [
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
const PHASE: [&str; 4] = ["status", "started_at", "updated_at", "last_error"];
const NOTE: [&str; 3] = ["created_by", "created_at", "message"];
const DRIFT: [&str; 4] = ["detected_at", "expected", "actual", "forced"];
const SESSION: [&str; 9] = [
    "started_at",
    "ended_at",
    "command",
    "steps",
    "exit_code",
    "host",
    "pid",
    "stopped_at",
    "resume_file",
];
const GATE: [&str; 5] = ["reason", "created_at", "cleared_at", "cleared_by", "note"];

fn pipeline() -> Vec<String> {
    rk::project::DEFAULT_PHASES
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{0,8}",
        "[a-zA-Z0-9 ~/\"\\\\\t\n\u{0}\u{e9}\u{1F600}\u{2028}-]{0,8}",
    ]
}

/// Any JSON value (numbers as serde_json reads them back: finite floats).
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

/// Unknown fields for an object whose known fields are `known`.
fn extra(known: &'static [&'static str]) -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec(
        (
            text().prop_filter("unknown", move |k| !known.contains(&k.as_str())),
            json(),
        ),
        0..3,
    )
    .prop_map(|e| e.into_iter().collect())
}

fn opt<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<T>> {
    prop::option::of(s)
}

fn nullable_string() -> impl Strategy<Value = Value> {
    prop_oneof![Just(Value::Null), text().prop_map(Value::String)]
}

fn nullable_int() -> impl Strategy<Value = Value> {
    prop_oneof![Just(Value::Null), any::<i64>().prop_map(Value::from)]
}

/// An object: the known fields that are present (in a shuffled order), then
/// the unknown ones.
fn object(
    known: Vec<(&'static str, Option<Value>)>,
    extra: Map<String, Value>,
    rot: usize,
) -> Value {
    let mut present: Vec<(&str, Value)> = known
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    if !present.is_empty() {
        let n = rot % present.len();
        present.rotate_left(n);
    }
    let mut map: Map<String, Value> = present
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    map.extend(extra);
    Value::Object(map)
}

fn phase() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            prop::sample::select(vec![
                "not_started",
                "in_progress",
                "completed",
                "failed",
                "stopped"
            ])
            .prop_map(str::to_string),
            text(),
        ],
        opt(nullable_string()),
        opt(nullable_string()),
        opt(json()),
        extra(&PHASE),
        any::<usize>(),
    )
        .prop_map(|(status, s, u, e, x, rot)| {
            object(
                vec![
                    ("status", Some(Value::String(status))),
                    ("started_at", s),
                    ("updated_at", u),
                    ("last_error", e),
                ],
                x,
                rot,
            )
        })
}

fn note() -> impl Strategy<Value = Value> {
    (
        opt(text()),
        opt(text()),
        opt(text()),
        extra(&NOTE),
        any::<usize>(),
    )
        .prop_map(|(by, at, m, x, rot)| {
            object(
                vec![
                    ("created_by", by.map(Value::String)),
                    ("created_at", at.map(Value::String)),
                    ("message", m.map(Value::String)),
                ],
                x,
                rot,
            )
        })
}

fn drift() -> impl Strategy<Value = Value> {
    (
        opt(text()),
        opt(text()),
        opt(any::<bool>()),
        extra(&DRIFT),
        any::<usize>(),
    )
        .prop_map(|(e, a, f, x, rot)| {
            object(
                vec![
                    ("detected_at", Some(Value::String("t".into()))),
                    ("expected", e.map(Value::String)),
                    ("actual", a.map(Value::String)),
                    ("forced", f.map(Value::Bool)),
                ],
                x,
                rot,
            )
        })
}

fn strings() -> impl Strategy<Value = Value> {
    prop::collection::vec(text().prop_map(Value::String), 0..3).prop_map(Value::Array)
}

fn session() -> impl Strategy<Value = Value> {
    (
        (
            opt(text()),
            opt(nullable_string()),
            opt(strings()),
            opt(strings()),
        ),
        (opt(nullable_int()), opt(text()), opt(nullable_int())),
        (opt(nullable_string()), opt(nullable_string())),
        extra(&SESSION),
        any::<usize>(),
    )
        .prop_map(|((s, e, c, st), (x, h, p), (sa, rf), extra, rot)| {
            object(
                vec![
                    ("started_at", s.map(Value::String)),
                    ("ended_at", e),
                    ("command", c),
                    ("steps", st),
                    ("exit_code", x),
                    ("host", h.map(Value::String)),
                    ("pid", p),
                    ("stopped_at", sa),
                    ("resume_file", rf),
                ],
                extra,
                rot,
            )
        })
}

fn gate() -> impl Strategy<Value = Value> {
    (
        opt(text()),
        opt(nullable_string()),
        opt(nullable_string()),
        extra(&GATE),
        any::<usize>(),
    )
        .prop_map(|(r, c, cl, x, rot)| {
            object(
                vec![
                    ("reason", r.map(Value::String)),
                    ("created_at", c),
                    ("cleared_at", cl),
                ],
                x,
                rot,
            )
        })
}

/// Phase names: pipeline ones and others, in any order, no repeats.
fn phase_names() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(rk::project::DEFAULT_PHASES.to_vec()).prop_map(str::to_string),
            "[a-z]{1,6}",
        ],
        0..8,
    )
    .prop_map(|names| {
        let mut seen = std::collections::HashSet::new();
        names
            .into_iter()
            .filter(|n| seen.insert(n.clone()))
            .collect()
    })
}

/// A valid state with random unknown fields everywhere, as a JSON value.
fn state() -> impl Strategy<Value = Value> {
    (
        (
            opt(Just(1i64)),
            opt(text()),
            opt(text()),
            opt(text()),
            opt(text()),
        ),
        phase_names().prop_flat_map(|names| {
            let n = names.len();
            (Just(names), prop::collection::vec(phase(), n))
        }),
        (opt(json()), opt(any::<bool>()), opt(any::<bool>())),
        (
            opt(prop::collection::vec(note(), 0..3)),
            opt(prop::collection::vec(drift(), 0..2)),
            opt(prop::collection::vec(session(), 0..3)),
            opt(prop::collection::vec(("[a-z]{1,5}", gate()), 0..3)),
            opt(json()),
        ),
        extra(&TOP),
        any::<usize>(),
    )
        .prop_map(
            |(
                (sv, rid, h, hs, cp),
                (names, phases),
                (lc, sr, mig),
                (notes, dr, ses, gates, ar),
                x,
                rot,
            )| {
                let phases: Map<String, Value> = names.into_iter().zip(phases).collect();
                let gates = gates.map(|g| Value::Object(g.into_iter().collect()));
                object(
                    vec![
                        ("schema_version", sv.map(Value::from)),
                        ("run_id", rid.map(Value::String)),
                        ("config_hash", h.map(Value::String)),
                        ("config_hash_scheme", hs.map(Value::String)),
                        ("config_path", cp.map(Value::String)),
                        ("phases", Some(Value::Object(phases))),
                        ("last_checkpoint", lc),
                        ("stop_requested", sr.map(Value::Bool)),
                        ("migrated", mig.map(Value::Bool)),
                        ("notes", notes.map(Value::Array)),
                        ("config_drift", dr.map(Value::Array)),
                        ("sessions", ses.map(Value::Array)),
                        ("gates", gates),
                        ("archive", ar),
                    ],
                    x,
                    rot,
                )
            },
        )
}

/// `a` and `b` hold the same fields with equal values, recursively for
/// objects (key order aside).
fn same_fields(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| same_fields(v, w)))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(v, w)| same_fields(v, w))
        }
        _ => a == b,
    }
}

/// A state-shaped object whose known fields have arbitrary values.
fn state_shaped() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (
            prop_oneof![
                prop::sample::select(TOP.to_vec()).prop_map(str::to_string),
                text()
            ],
            prop_oneof![
                json(),
                prop::collection::vec(json(), 0..3).prop_map(Value::Array),
                prop::collection::vec(("[a-z]{1,4}", json()), 0..3)
                    .prop_map(|e| Value::Object(e.into_iter().collect())),
                prop::collection::vec(("[a-z]{1,4}", phase()), 0..3)
                    .prop_map(|e| Value::Object(e.into_iter().collect())),
            ],
        ),
        0..6,
    )
    .prop_map(|e| Value::Object(e.into_iter().collect()))
}

fn check_round_trip(input: &Value) -> Result<(), TestCaseError> {
    let Ok(state) = RunState::from_json(input.clone()) else {
        return Ok(());
    };
    let pipeline = pipeline();
    let written = state.to_json(&pipeline);
    let again = RunState::from_json(written.clone())
        .map_err(|p| TestCaseError::fail(format!("rewritten state does not parse: {p}")))?;
    prop_assert_eq!(&again.to_json(&pipeline), &written);
    let text = state.to_pretty(&pipeline);
    prop_assert!(text.ends_with("}\n"), "no trailing newline");
    let from_text = RunState::from_slice(text.as_bytes())
        .map_err(|p| TestCaseError::fail(format!("pretty state does not parse: {p}")))?;
    prop_assert_eq!(from_text.to_json(&pipeline), written);
    Ok(())
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
        let _ = RunState::from_slice(&bytes);
    }

    #[test]
    fn never_panics_on_damaged_states(s in state(), cut in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = serde_json::to_vec(&s).unwrap();
        let at = cut.index(bytes.len() + 1);
        let _ = RunState::from_slice(&bytes[..at]);
        if at < bytes.len() {
            bytes[at] = byte;
            let _ = RunState::from_slice(&bytes);
        }
    }

    #[test]
    fn never_panics_on_json_and_round_trips_what_it_reads(v in prop_oneof![json(), state_shaped()]) {
        let _ = RunState::from_slice(&serde_json::to_vec(&v).unwrap());
        check_round_trip(&v)?;
    }

    #[test]
    fn round_trip_keeps_unknown_fields(input in state()) {
        let state = RunState::from_json(input.clone())
            .map_err(|p| TestCaseError::fail(format!("a valid state was refused: {p}")))?;
        let written = state.to_json(&pipeline());
        // Every field, known or not, with its value; nothing added.
        prop_assert!(same_fields(&input, &written), "\n in: {input}\nout: {written}");
        // Known fields first in the fixed order, then unknown ones as read.
        let (Value::Object(i), Value::Object(o)) = (&input, &written) else { unreachable!() };
        let unknown_in: Vec<&String> = i.keys().filter(|k| !TOP.contains(&k.as_str())).collect();
        let keys: Vec<&String> = o.keys().collect();
        let known_out = keys.len() - unknown_in.len();
        prop_assert_eq!(&keys[known_out..], &unknown_in[..]);
        let known_order: Vec<usize> = keys[..known_out]
            .iter()
            .map(|k| TOP.iter().position(|t| t == k).unwrap())
            .collect();
        prop_assert!(known_order.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        check_round_trip(&input)?;
    }

    #[test]
    fn phases_written_in_pipeline_order_unknown_after(input in state()) {
        let state = RunState::from_json(input.clone()).unwrap();
        let pipeline = pipeline();
        let written = state.to_json(&pipeline);
        let read: Vec<&String> = input["phases"].as_object().unwrap().keys().collect();
        let mut expected: Vec<&String> = pipeline.iter().filter(|p| read.contains(p)).collect();
        expected.extend(read.iter().copied().filter(|n| !pipeline.contains(n)));
        let out: Vec<&String> = written["phases"].as_object().unwrap().keys().collect();
        prop_assert_eq!(out, expected);
    }
}

/// The fuzz target's seeds (`fuzz/seeds/state`) parse and round-trip, so the
/// seed corpus stays a set of valid states as the model changes.
#[test]
fn fuzz_seeds_round_trip() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/state");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        RunState::from_json(value.clone()).unwrap();
        check_round_trip(&value).unwrap();
        seen += 1;
    }
    assert!(seen >= 3, "seeds missing from {}", dir.display());
}
