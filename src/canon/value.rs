//! The one value model every config and state passes through.
//!
//! YAML and JSON both load into [`Value`]. Integers keep their exact decimal
//! digits (a seed such as 18446744073709551557 must not collide with its
//! neighbours), floats are finite `f64`s, and objects keep their keys in source
//! order; canonical and pretty forms sort them when they are written.

/// A config or state value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// An integer literal, exactly.
    Int(Integer),
    /// A finite float (NaN and ±Infinity are refused when loading).
    Float(f64),
    String(String),
    Array(Vec<Value>),
    /// Keys are unique; order is the source order.
    Object(Vec<(String, Value)>),
}

/// An exact integer: an optional `-` and decimal digits with no leading
/// zeros; zero is `0`, never `-0`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Integer(String);

impl Integer {
    /// Normalizes an optional sign and decimal digits (`+007` → `7`, `-0` → `0`).
    /// Returns `None` when `text` is not `[+-]?[0-9]+`.
    pub fn from_decimal(text: &str) -> Option<Integer> {
        let (negative, digits) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = digits.trim_start_matches('0');
        Some(match (digits.is_empty(), negative) {
            (true, _) => Integer("0".into()),
            (false, true) => Integer(format!("-{digits}")),
            (false, false) => Integer(digits.into()),
        })
    }

    /// The normalized decimal text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }
}

impl From<i64> for Integer {
    fn from(n: i64) -> Integer {
        Integer(n.to_string())
    }
}

impl From<u64> for Integer {
    fn from(n: u64) -> Integer {
        Integer(n.to_string())
    }
}

impl Value {
    /// The kind of value, as words for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Array(_) => "sequence",
            Value::Object(_) => "mapping",
        }
    }

    /// The value under `key`, when this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

impl From<&serde_json::Value> for Value {
    fn from(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i.into())
                } else if let Some(u) = n.as_u64() {
                    Value::Int(u.into())
                } else {
                    Value::Float(n.as_f64().unwrap_or(0.0))
                }
            }
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(items) => {
                Value::Array(items.iter().map(Value::from).collect())
            }
            serde_json::Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Value::from(v)))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_normalize() {
        assert_eq!(Integer::from_decimal("+007").unwrap().as_str(), "7");
        assert_eq!(Integer::from_decimal("-0").unwrap().as_str(), "0");
        assert_eq!(Integer::from_decimal("-00120").unwrap().as_str(), "-120");
        assert_eq!(
            Integer::from_decimal("18446744073709551557")
                .unwrap()
                .as_str(),
            "18446744073709551557"
        );
        assert!(Integer::from_decimal("").is_none());
        assert!(Integer::from_decimal("1.0").is_none());
        assert!(Integer::from_decimal("-").is_none());
    }
}
