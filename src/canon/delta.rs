//! Which values differ between two configs, as JSON Pointers
//! (`diff-config --keys`, `status`, `compare`).

use super::jcs::utf16_cmp;
use super::{canonical_bytes, Pointer, Value};

/// The pointers of every value that differs between `a` and `b`, in canonical
/// order: a changed scalar, a key present on one side only, an array element
/// past the other's end, or a node whose kind changed.
pub fn changed_pointers(a: &Value, b: &Value) -> Vec<Pointer> {
    let mut out = Vec::new();
    walk(a, b, &mut Pointer::root(), &mut out);
    out
}

fn walk(a: &Value, b: &Value, at: &mut Pointer, out: &mut Vec<Pointer>) {
    match (a, b) {
        (Value::Object(ea), Value::Object(eb)) => {
            let mut keys: Vec<&String> = ea.iter().chain(eb.iter()).map(|(k, _)| k).collect();
            keys.sort_by(|x, y| utf16_cmp(x, y));
            keys.dedup();
            for key in keys {
                let va = ea.iter().find(|(k, _)| k == key).map(|(_, v)| v);
                let vb = eb.iter().find(|(k, _)| k == key).map(|(_, v)| v);
                at.push(key.clone());
                match (va, vb) {
                    (Some(x), Some(y)) => walk(x, y, at, out),
                    _ => out.push(at.clone()),
                }
                at.pop();
            }
        }
        (Value::Array(ia), Value::Array(ib)) => {
            for i in 0..ia.len().max(ib.len()) {
                at.push(i.to_string());
                match (ia.get(i), ib.get(i)) {
                    (Some(x), Some(y)) => walk(x, y, at, out),
                    _ => out.push(at.clone()),
                }
                at.pop();
            }
        }
        _ => {
            if canonical_bytes(a) != canonical_bytes(b) {
                out.push(at.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canon::Integer;

    fn int(n: i64) -> Value {
        Value::Int(Integer::from(n))
    }

    #[test]
    fn names_each_changed_value() {
        let a = Value::Object(vec![
            ("lr".into(), Value::Float(0.1)),
            ("seeds".into(), Value::Array(vec![int(1), int(2)])),
            ("gone".into(), Value::Null),
            ("same".into(), int(1)),
        ]);
        let b = Value::Object(vec![
            ("same".into(), Value::Float(1.0)),
            ("lr".into(), Value::Float(0.2)),
            ("seeds".into(), Value::Array(vec![int(1), int(3), int(4)])),
            ("new".into(), Value::Bool(true)),
        ]);
        let got: Vec<String> = changed_pointers(&a, &b)
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(got, ["/gone", "/lr", "/new", "/seeds/1", "/seeds/2"]);
        assert!(changed_pointers(&a, &a).is_empty());
    }
}
