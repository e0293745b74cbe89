//! Property tests of the canonical form: canonical bytes are a fixed point,
//! every spelling of a value (YAML or JSON, any key order, comments, any
//! quoting that keeps a string a string) hashes the same, big integers keep
//! their digits, and no input makes a loader panic.

use proptest::prelude::*;
use rk::canon::{self, canonical_bytes, Format, Integer, Value};

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_][a-z0-9_]{0,8}",
        "[a-zA-Z0-9 _.:#'\"\\\\/~\t\n\u{e9}\u{1F600}\u{0}\u{7f}\u{85}\u{2028}-]{0,8}",
        Just("yes".to_string()),
        Just("1".to_string()),
        Just("<<".to_string()),
    ]
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z][a-zA-Z0-9_]{0,10}",
        "[a-zA-Z0-9 _.:#,\\[\\]{}'\"\\\\/~\t\n\r\u{e9}\u{1F600}\u{0}\u{1b}\u{7f}\u{a0}\u{85}\u{2028}\u{feff}-]{0,12}",
        prop::sample::select(vec![
            "yes", "No", "on", "~", "null", "true", "0755", "0x1F", "1e5", "1.0", "1:30", ".inf", ".nan",
            "2001-12-14", "<<", "=", "", " ", "-", "- a", "a: b", "#x", "&a", "*a", "!x", "%x", "@",
            "|", ">", "'", "\"",
        ])
        .prop_map(str::to_string),
    ]
}

fn integer() -> impl Strategy<Value = Integer> {
    prop_oneof![
        any::<i64>().prop_map(Integer::from),
        "-?[1-9][0-9]{16,40}".prop_map(|s| Integer::from_decimal(&s).unwrap()),
    ]
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        prop::sample::select(vec![
            0.5,
            -0.0,
            1e-7,
            1e21,
            333333333.3333333,
            5e-324,
            1.0,
            100.0
        ]),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        integer().prop_map(Value::Int),
        float().prop_map(Value::Float),
        string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..5).prop_map(|entries| {
                let mut seen = std::collections::HashSet::new();
                Value::Object(
                    entries
                        .into_iter()
                        .filter(|(k, _)| seen.insert(k.clone()))
                        .collect(),
                )
            }),
        ]
    })
}

/// A deterministic shuffler driven by the test's seed.
struct Shuffle(u64);

impl Shuffle {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn order<T>(&mut self, items: &[T]) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..items.len()).collect();
        for i in (1..idx.len()).rev() {
            idx.swap(i, self.pick(i as u64 + 1) as usize);
        }
        idx
    }
}

fn canon_str(v: &Value) -> String {
    String::from_utf8(canonical_bytes(v)).unwrap()
}

fn json_string(s: &str) -> String {
    let mut out = Vec::new();
    canon::write_string(s, &mut out);
    String::from_utf8(out).unwrap()
}

/// A JSON spelling: keys in shuffled order, random whitespace, floats in
/// Rust's own spelling.
fn to_json(v: &Value, r: &mut Shuffle, out: &mut String) {
    let ws = |r: &mut Shuffle| [" ", "", "\n  ", "\t"][r.pick(4) as usize];
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(&b.to_string()),
        Value::Int(i) => out.push_str(i.as_str()),
        Value::Float(f) => out.push_str(&format!("{f:?}")),
        Value::String(s) => out.push_str(&json_string(s)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(ws(r));
                to_json(item, r, out);
            }
            out.push(']');
        }
        Value::Object(entries) => {
            out.push('{');
            for (n, i) in r.order(entries).into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(ws(r));
                out.push_str(&json_string(&entries[i].0));
                out.push(':');
                out.push_str(ws(r));
                to_json(&entries[i].1, r, out);
            }
            out.push('}');
        }
    }
}

/// Does `s` survive as a plain YAML scalar (it resolves to the same string)?
fn plain_ok(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && matches!(
            canon::yaml::load(s.as_bytes(), "-").map(|d| d.value),
            Ok(Value::String(ref t)) if t == s
        )
}

fn single_quote_ok(s: &str) -> bool {
    s.chars().all(|c| {
        c == ' '
            || c.is_ascii_graphic()
            || (c as u32 >= 0xa0 && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}'))
    })
}

fn yaml_double(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            ' ' => out.push(' '),
            c if c.is_ascii_graphic() => out.push(c),
            c if (c as u32) >= 0xa0
                && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
                && (c as u32) < 0xfff0 =>
            {
                out.push(c)
            }
            c if (c as u32) > 0xffff => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// A YAML spelling of a string: plain when that keeps it a string, else a
/// random choice of single or double quotes.
fn yaml_string(s: &str, r: &mut Shuffle) -> String {
    match r.pick(3) {
        0 if plain_ok(s) => s.to_string(),
        1 if single_quote_ok(s) => format!("'{}'", s.replace('\'', "''")),
        _ => yaml_double(s),
    }
}

/// A float as PyYAML reads it: a dot in the mantissa and a signed exponent.
fn yaml_float(f: f64) -> String {
    let e = format!("{f:e}");
    let (mantissa, exponent) = e.split_once('e').unwrap();
    let mantissa = if mantissa.contains('.') {
        mantissa.to_string()
    } else {
        format!("{mantissa}.0")
    };
    let exponent = if exponent.starts_with('-') {
        exponent.to_string()
    } else {
        format!("+{exponent}")
    };
    format!("{mantissa}e{exponent}")
}

fn yaml_scalar(v: &Value, r: &mut Shuffle) -> String {
    match v {
        Value::Null => ["null", "~", "Null"][r.pick(3) as usize].to_string(),
        Value::Bool(true) => ["true", "yes", "On"][r.pick(3) as usize].to_string(),
        Value::Bool(false) => ["false", "no", "OFF"][r.pick(3) as usize].to_string(),
        Value::Int(i) => {
            let s = i.as_str();
            match (r.pick(3), i.as_i64()) {
                (0, Some(n)) if n >= 0 => format!("0x{n:x}"),
                (1, Some(n)) if n > 1000 => {
                    let digits = n.to_string();
                    format!(
                        "{}_{}",
                        &digits[..digits.len() - 3],
                        &digits[digits.len() - 3..]
                    )
                }
                _ => s.to_string(),
            }
        }
        Value::Float(f) => yaml_float(*f),
        Value::String(s) => yaml_string(s, r),
        Value::Array(_) | Value::Object(_) => yaml_flow(v, r),
    }
}

fn yaml_flow(v: &Value, r: &mut Shuffle) -> String {
    match v {
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(|i| yaml_flow(i, r)).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(entries) => {
            let parts: Vec<String> = r
                .order(entries)
                .into_iter()
                .map(|i| {
                    format!(
                        "{}: {}",
                        yaml_double(&entries[i].0),
                        yaml_flow(&entries[i].1, r)
                    )
                })
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        scalar => yaml_scalar(scalar, r),
    }
}

fn comment(r: &mut Shuffle) -> &'static str {
    ["", "  # a comment", " #: not a key"][r.pick(3) as usize]
}

/// A block-style YAML spelling, with flow collections mixed in at random.
fn to_yaml(v: &Value, indent: usize, r: &mut Shuffle, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(entries) if !entries.is_empty() => {
            for i in r.order(entries) {
                let (k, item) = &entries[i];
                let key = if plain_ok(k) && r.pick(2) == 0 {
                    k.clone()
                } else {
                    yaml_double(k)
                };
                out.push_str(&format!("{pad}{key}:"));
                block_child(item, indent, r, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                out.push_str(&format!("{pad}-"));
                block_child(item, indent, r, out);
            }
        }
        other => {
            out.push_str(&format!("{pad}{}{}\n", yaml_flow(other, r), comment(r)));
        }
    }
}

fn block_child(item: &Value, indent: usize, r: &mut Shuffle, out: &mut String) {
    let nested = matches!(item, Value::Object(e) if !e.is_empty())
        || matches!(item, Value::Array(a) if !a.is_empty());
    if nested && r.pick(3) != 0 {
        out.push_str(&format!("{}\n", comment(r)));
        to_yaml(item, indent + 2, r, out);
    } else {
        out.push_str(&format!(" {}{}\n", yaml_flow(item, r), comment(r)));
    }
}

fn yaml_document(v: &Value, r: &mut Shuffle) -> String {
    let mut out = String::new();
    if r.pick(2) == 0 {
        out.push_str("# generated\n");
    }
    if r.pick(2) == 0 {
        out.push_str("---\n");
    }
    to_yaml(v, 0, r, &mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn canonical_bytes_are_a_fixed_point(v in value()) {
        let bytes = canonical_bytes(&v);
        let again = canon::load(&bytes, Some(Format::Json), "-").unwrap();
        prop_assert_eq!(canon_str(&again.value), canon_str(&v));
        // Canonical JSON is also YAML that PyYAML reads the same way… except
        // where YAML 1.1 and JSON disagree, which only `load` with a format decides.
    }

    #[test]
    fn yaml_and_json_spellings_hash_equal(v in value(), seed in any::<u64>()) {
        let mut r = Shuffle(seed);
        let mut json = String::new();
        to_json(&v, &mut r, &mut json);
        let yaml = yaml_document(&v, &mut r);
        let from_json = canon::load(json.as_bytes(), Some(Format::Json), "a.json")
            .map_err(|e| TestCaseError::fail(format!("{e}\n{json}")))?;
        let from_yaml = canon::load(yaml.as_bytes(), Some(Format::Yaml), "a.yaml")
            .map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?;
        let want = canon_str(&v);
        prop_assert_eq!(canon_str(&from_json.value), want.clone(), "json:\n{}", json);
        prop_assert_eq!(canon_str(&from_yaml.value), want, "yaml:\n{}", yaml);
        let h = |d: &canon::Document| canon::config_hash(d, canon::Scheme::C14nV1);
        prop_assert_eq!(h(&from_json), h(&from_yaml));
    }

    #[test]
    fn big_integers_keep_their_digits(digits in "-?[1-9][0-9]{15,60}") {
        let want = Integer::from_decimal(&digits).unwrap();
        for format in [Format::Json, Format::Yaml] {
            let doc = canon::load(format!("[{digits}]").as_bytes(), Some(format), "-").unwrap();
            prop_assert_eq!(canon_str(&doc.value), format!("[{}]", want.as_str()));
        }
    }

    #[test]
    fn loaders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = canon::load(&bytes, Some(Format::Json), "-");
        let _ = canon::load(&bytes, Some(Format::Yaml), "-");
    }

    #[test]
    fn loaders_never_panic_on_yamlish_text(text in "[-a-z0-9 :,#&*!|>'\"\\[\\]{}?\n\t.%@`<=~]{0,80}") {
        let _ = canon::load(text.as_bytes(), Some(Format::Yaml), "-");
        let _ = canon::load(text.as_bytes(), Some(Format::Json), "-");
    }
}

#[test]
fn seeds_beyond_2_pow_53_do_not_collide() {
    let a = canon::load(b"seed: 18446744073709551557\n", None, "a.yaml").unwrap();
    let b = canon::load(b"{\"seed\": 18446744073709551556}", None, "b.json").unwrap();
    assert_eq!(canon_str(&a.value), r#"{"seed":18446744073709551557}"#);
    assert_ne!(
        canon::config_hash(&a, canon::Scheme::C14nV1),
        canon::config_hash(&b, canon::Scheme::C14nV1)
    );
}
