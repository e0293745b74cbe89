//! JSON as the Python tool set's `json.load` reads it, for the files the
//! orchestrator writes (run_state.json, trial manifests).
//!
//! Python's `json.dump` writes a str holding a lone UTF-16 surrogate (a file
//! name that is not UTF-8, as `os.listdir` decodes it) as a `\udcXX` escape,
//! and `json.load` reads it back; serde_json refuses it. rk reads such an
//! escape as U+FFFD (docs/FORMATS.md#run-state), and only when the text does
//! not parse as it is, so well-formed files pay nothing.

use serde_json::Value;
use std::borrow::Cow;

/// Parse JSON text as Python's `json.load` reads it: a `\uXXXX`
/// escape of a lone UTF-16 surrogate, which `json.dump` writes for a str
/// holding one (a file name that is not UTF-8, decoded by `os.listdir`, in
/// the exception message an orchestrator puts in `last_error`), reads as
/// U+FFFD, the replacement character, instead of making the whole state
/// corrupt. A string cannot hold the surrogate itself, so rk writes U+FFFD
/// back (docs/FORMATS.md#run-state).
pub fn value(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    from_slice(bytes, &mut Vec::new())
}

/// `T` from JSON text as Python's `json.load` reads it (see [`value`]).
/// The text is parsed as it is first; only text that does not parse is
/// looked at for lone surrogate escapes, so well-formed files (list, status
/// and scans read thousands) pay nothing for them. The text with the escapes
/// replaced goes into `scratch`, which a `T` that borrows then borrows from;
/// the replacement has the escape's length, so an error names the same line
/// and column.
pub fn from_slice<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
    scratch: &'a mut Vec<u8>,
) -> Result<T, serde_json::Error> {
    match serde_json::from_slice(bytes) {
        Ok(t) => Ok(t),
        Err(e) => match lone_surrogates_replaced(bytes) {
            Cow::Owned(fixed) => {
                *scratch = fixed;
                let fixed: &'a Vec<u8> = scratch;
                serde_json::from_slice(fixed)
            }
            Cow::Borrowed(_) => Err(e),
        },
    }
}

/// `bytes` with every `\uXXXX` escape of a lone surrogate (one not in a
/// high-low pair) replaced by `\ufffd`; borrowed when there is none.
pub fn lone_surrogates_replaced(bytes: &[u8]) -> Cow<'_, [u8]> {
    fn unit(bytes: &[u8], at: usize) -> Option<u16> {
        let escape = bytes.get(at..at + 6)?;
        if escape[0] != b'\\' || escape[1] != b'u' {
            return None;
        }
        u16::from_str_radix(std::str::from_utf8(&escape[2..]).ok()?, 16).ok()
    }
    let mut out: Option<Vec<u8>> = None;
    let (mut i, mut copied) = (0, 0);
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let lone = match unit(bytes, i) {
            Some(0xD800..=0xDBFF) => match unit(bytes, i + 6) {
                Some(0xDC00..=0xDFFF) => {
                    i += 12;
                    continue;
                }
                _ => true,
            },
            Some(0xDC00..=0xDFFF) => true,
            _ => false,
        };
        if lone {
            let buf = out.get_or_insert_with(|| Vec::with_capacity(bytes.len()));
            buf.extend_from_slice(&bytes[copied..i]);
            buf.extend_from_slice(b"\\ufffd");
            i += 6;
            copied = i;
        } else {
            // Any other escape: skip it whole (`\\` must not start one).
            i += 2;
        }
    }
    match out {
        None => Cow::Borrowed(bytes),
        Some(mut buf) => {
            buf.extend_from_slice(&bytes[copied..]);
            Cow::Owned(buf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogate_escapes_read_as_the_replacement_character() {
        for (text, want) in [
            (r#""caf\udce9""#, "caf\u{fffd}"),
            (r#""\ud83d\ude00 ok""#, "\u{1f600} ok"),
            (r#""\ud83d""#, "\u{fffd}"),
            (r#""\ud83d\u0041""#, "\u{fffd}A"),
            (r#""\ude00\ud83d""#, "\u{fffd}\u{fffd}"),
            (r#""\\udce9""#, "\\udce9"),
            (r#""\\\udce9""#, "\\\u{fffd}"),
            (r#""\uDCE9x""#, "\u{fffd}x"),
        ] {
            assert_eq!(value(text.as_bytes()).unwrap(), Value::from(want), "{text}");
        }
        let plain = br#"{"a": "\u00e9"}"#;
        assert!(matches!(lone_surrogates_replaced(plain), Cow::Borrowed(_)));
        // A truncated escape at the end is left to the parser to refuse.
        assert!(value(br#""\ud8"#).is_err());
    }
}
