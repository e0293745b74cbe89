//! The pretty canonical form used for diffs (docs/FORMATS.md#drift): canonical key order
//! and canonical scalars, two-space indentation, one scalar per line, so a
//! changed value is exactly one `-`/`+` pair in a unified diff.

use super::jcs::{ecmascript_number, sorted_entries, write_string};
use super::Value;

/// The pretty canonical text of `value`, ending with a newline.
pub fn pretty(value: &Value) -> String {
    let mut out = Vec::with_capacity(1024);
    write(value, 0, &mut out);
    out.push(b'\n');
    String::from_utf8(out).expect("canonical output is UTF-8")
}

fn indent(depth: usize, out: &mut Vec<u8>) {
    out.extend(std::iter::repeat_n(b' ', depth * 2));
}

fn write(value: &Value, depth: usize, out: &mut Vec<u8>) {
    match value {
        Value::Array(items) if items.is_empty() => out.extend_from_slice(b"[]"),
        Value::Object(entries) if entries.is_empty() => out.extend_from_slice(b"{}"),
        Value::Array(items) => {
            out.extend_from_slice(b"[\n");
            for (i, item) in items.iter().enumerate() {
                indent(depth + 1, out);
                write(item, depth + 1, out);
                out.extend_from_slice(if i + 1 < items.len() { b",\n" } else { b"\n" });
            }
            indent(depth, out);
            out.push(b']');
        }
        Value::Object(entries) => {
            out.extend_from_slice(b"{\n");
            let sorted = sorted_entries(entries);
            for (i, (key, item)) in sorted.iter().enumerate() {
                indent(depth + 1, out);
                write_string(key, out);
                out.extend_from_slice(b": ");
                write(item, depth + 1, out);
                out.extend_from_slice(if i + 1 < sorted.len() { b",\n" } else { b"\n" });
            }
            indent(depth, out);
            out.push(b'}');
        }
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => out.extend_from_slice(i.as_str().as_bytes()),
        Value::Float(f) => out.extend_from_slice(ecmascript_number(*f).as_bytes()),
        Value::String(s) => write_string(s, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canon::Integer;

    #[test]
    fn one_scalar_per_line_in_canonical_order() {
        let v = Value::Object(vec![
            (
                "b".into(),
                Value::Array(vec![Value::Int(Integer::from(1i64)), Value::Float(0.5)]),
            ),
            ("a".into(), Value::Object(vec![])),
            ("c".into(), Value::Array(vec![])),
        ]);
        assert_eq!(
            pretty(&v),
            "{\n  \"a\": {},\n  \"b\": [\n    1,\n    0.5\n  ],\n  \"c\": []\n}\n"
        );
        assert_eq!(pretty(&Value::String("x".into())), "\"x\"\n");
    }
}
