//! Strict JSON (RFC 8259) into the value model.
//!
//! Hand-written rather than serde_json because a config hash needs what a
//! general-purpose parser throws away: the exact digits of an integer literal,
//! every duplicate key (refused, not silently overwritten), and the line and
//! column of each key for error messages. The one idea to keep in mind: any
//! input that two readers could understand differently is an error here.

use super::{Document, Error, Integer, Mark, Pointer, Value, MAX_DEPTH};
use std::collections::HashSet;

/// Load one JSON value. A leading UTF-8 byte order mark is ignored.
pub fn load(bytes: &[u8], origin: &str) -> Result<Document, Error> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let text = super::utf8(bytes, origin)?;
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        line: 1,
        line_start: 0,
        origin,
        path: Pointer::root(),
        depth: 0,
        key_marks: Vec::new(),
    };
    parser.skip_ws();
    let value = parser.value()?;
    parser.skip_ws();
    if parser.pos < parser.bytes.len() {
        return Err(parser.syntax("unexpected characters after the JSON value"));
    }
    Ok(Document {
        value,
        key_marks: parser.key_marks,
        legacy_unverifiable: None,
        timestamps: Vec::new(),
    })
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    line_start: usize,
    origin: &'a str,
    /// Where the value being parsed sits.
    path: Pointer,
    /// How many arrays and objects enclose the current position.
    depth: usize,
    key_marks: Vec<(Pointer, Mark)>,
}

impl Parser<'_> {
    fn mark(&self) -> Mark {
        self.mark_at(self.pos)
    }

    /// The mark of byte `pos` on the current line.
    fn mark_at(&self, pos: usize) -> Mark {
        let pos = pos.min(self.bytes.len());
        let column = self.bytes[self.line_start..pos]
            .iter()
            .filter(|&&b| (b & 0xC0) != 0x80)
            .count()
            + 1;
        Mark {
            line: self.line,
            column,
        }
    }

    fn syntax(&self, message: impl Into<String>) -> Error {
        self.syntax_at(self.pos, message)
    }

    fn syntax_at(&self, pos: usize, message: impl Into<String>) -> Error {
        Error::Syntax {
            origin: self.origin.to_string(),
            mark: self.mark_at(pos),
            message: message.into(),
        }
    }

    fn refuse(&self, pointer: Pointer, mark: Mark, reason: impl Into<String>) -> Error {
        Error::Refused {
            origin: self.origin.to_string(),
            pointer,
            mark: Some(mark),
            reason: reason.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    self.line_start = self.pos;
                }
                _ => break,
            }
        }
    }

    /// What the byte at the current position is, for messages.
    fn found(&self) -> String {
        match self.text[self.pos..].chars().next() {
            None => "the end of the input".into(),
            Some(c) if c.is_control() => format!("{:?}", c),
            Some(c) => format!("'{c}'"),
        }
    }

    fn value(&mut self) -> Result<Value, Error> {
        match self.peek() {
            None => Err(self.syntax("unexpected end of input; expected a JSON value")),
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(_) => Err(self.syntax(format!("expected a JSON value, found {}", self.found()))),
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, Error> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.syntax(format!(
                "expected a JSON value, found {} (did you mean {word}?)",
                self.found()
            )))
        }
    }

    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.refuse(
                self.path.clone(),
                self.mark(),
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn array(&mut self) -> Result<Value, Error> {
        self.enter()?;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.path.push(items.len().to_string());
            let item = self.value()?;
            self.path.pop();
            items.push(item);
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                _ => {
                    return Err(self.syntax(format!(
                        "expected ',' or ']' after an array element, found {}",
                        self.found()
                    )))
                }
            }
        }
        self.depth -= 1;
        Ok(Value::Array(items))
    }

    fn object(&mut self) -> Result<Value, Error> {
        self.enter()?;
        self.pos += 1;
        let mut entries: Vec<(String, Value)> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Object(entries));
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.syntax(format!(
                    "expected a string key in double quotes, found {}",
                    self.found()
                )));
            }
            let key_mark = self.mark();
            let key = self.string()?;
            self.path.push(key.clone());
            if !seen.insert(key.clone()) {
                return Err(self.refuse(self.path.clone(), key_mark, "duplicate key"));
            }
            self.key_marks.push((self.path.clone(), key_mark));
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.syntax(format!(
                    "expected ':' after an object key, found {}",
                    self.found()
                )));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value()?;
            self.path.pop();
            entries.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => {
                    return Err(self.syntax(format!(
                        "expected ',' or '}}' after an object member, found {}",
                        self.found()
                    )))
                }
            }
        }
        self.depth -= 1;
        Ok(Value::Object(entries))
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Value, Error> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return Err(self.syntax("a number cannot have a leading zero"));
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.syntax("expected a digit after '-'")),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            integer = false;
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.syntax("expected a digit after the decimal point"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            integer = false;
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.syntax("expected a digit in the exponent"));
            }
        }
        let literal = &self.text[start..self.pos];
        if integer {
            let n = Integer::from_decimal(literal).expect("the grammar checked the digits");
            return Ok(Value::Int(n));
        }
        match literal.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => Err(self.refuse(
                self.path.clone(),
                self.mark_at(start),
                format!("number {literal} is too large for a float (it would be Infinity)"),
            )),
        }
    }

    /// A string literal; the current byte is the opening quote.
    fn string(&mut self) -> Result<String, Error> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.text[run_start..self.pos]);
            match self.peek() {
                None => return Err(self.syntax("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let escape_at = self.pos;
                    self.pos += 1;
                    let Some(c) = self.peek() else {
                        return Err(self.syntax("unterminated string"));
                    };
                    self.pos += 1;
                    match c {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape(escape_at)?),
                        _ => {
                            return Err(self.syntax_at(
                                escape_at,
                                format!("invalid escape '\\{}' in a string", c as char),
                            ))
                        }
                    }
                }
                Some(b) => {
                    return Err(self.syntax(format!(
                        "raw control character U+{b:04X} in a string (escape it)"
                    )))
                }
            }
        }
    }

    fn hex4(&mut self, escape_at: usize) -> Result<u32, Error> {
        let hex = self.bytes.get(self.pos..self.pos + 4);
        let value = hex
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match value {
            Some(v) => {
                self.pos += 4;
                Ok(v)
            }
            None => Err(self.syntax_at(escape_at, "\\u must be followed by 4 hex digits")),
        }
    }

    /// The character of a `\uXXXX` escape (and its low surrogate, if any);
    /// the position is just after the `u`.
    fn unicode_escape(&mut self, escape_at: usize) -> Result<char, Error> {
        let first = self.hex4(escape_at)?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !self.bytes[self.pos..].starts_with(b"\\u") {
                    return Err(self.syntax_at(escape_at, "lone high surrogate in a \\u escape"));
                }
                let low_at = self.pos;
                self.pos += 2;
                let low = self.hex4(low_at)?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(self.syntax_at(escape_at, "lone high surrogate in a \\u escape"));
                }
                0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00)
            }
            0xDC00..=0xDFFF => {
                return Err(self.syntax_at(escape_at, "lone low surrogate in a \\u escape"))
            }
            c => c,
        };
        Ok(char::from_u32(code).expect("surrogates were handled"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canon::canonical_bytes;

    fn load_str(s: &str) -> Result<Document, Error> {
        load(s.as_bytes(), "t.json")
    }

    fn canon(s: &str) -> String {
        String::from_utf8(canonical_bytes(&load_str(s).unwrap().value)).unwrap()
    }

    fn err(s: &str) -> String {
        load_str(s).unwrap_err().to_string()
    }

    #[test]
    fn rfc8785_example() {
        let input = r#"{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"#;
        let expected = concat!(
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"#,
            r#""string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
        assert_eq!(canon(input), expected);
    }

    #[test]
    fn integers_are_exact() {
        assert_eq!(canon("18446744073709551557"), "18446744073709551557");
        assert_eq!(canon("-0"), "0");
        assert_eq!(canon("[-12, 1.0, -0.0, 1e21, 100]"), "[-12,1,0,1e+21,100]");
        assert!(matches!(load_str("1.5").unwrap().value, Value::Float(_)));
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(canon(r#""\ud83d\ude00""#), "\"😀\"");
        assert!(err(r#""\ud83d""#).contains("lone high surrogate"));
        assert!(err(r#""\ude00""#).contains("lone low surrogate"));
        assert!(err(r#""\ud83d\u0041""#).contains("lone high surrogate"));
        assert!(err("\"a\tb\"").contains("raw control character U+0009"));
        assert!(err(r#""\x""#).contains("invalid escape"));
        assert!(err(r#""\u12g4""#).contains("4 hex digits"));
        assert!(err("\"abc").contains("unterminated"));
    }

    #[test]
    fn refusals_name_the_pointer_and_place() {
        assert_eq!(
            err("{\"a\": {\"b\": 1,\n  \"b\": 2}}"),
            "t.json:2:3: duplicate key at /a/b"
        );
        assert_eq!(
            err("{\"x\": [1, 1e999]}"),
            "t.json:1:11: number 1e999 is too large for a float (it would be Infinity) at /x/1"
        );
        assert_eq!(
            err("[-1e400]"),
            "t.json:1:2: number -1e400 is too large for a float (it would be Infinity) at /0"
        );
        assert!(err("NaN").contains("expected a JSON value"));
    }

    #[test]
    fn depth_limit() {
        let ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert!(load_str(&ok).is_ok());
        let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
        let e = err(&deep);
        assert!(e.contains("nesting deeper than 128"), "{e}");
        assert!(e.contains(&"/0".repeat(128)), "{e}");
        // Far deeper input fails fast, without exhausting the stack.
        assert!(load_str(&"[".repeat(1_000_000)).is_err());
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        assert_eq!(
            err("{\n  \"a\": 1,\n}"),
            "t.json:3:1: expected a string key in double quotes, found '}'"
        );
        assert_eq!(
            err("[1 2]"),
            "t.json:1:4: expected ',' or ']' after an array element, found '2'"
        );
        assert_eq!(
            err("{} x"),
            "t.json:1:4: unexpected characters after the JSON value"
        );
        assert_eq!(
            err(""),
            "t.json:1:1: unexpected end of input; expected a JSON value"
        );
        assert_eq!(err("01"), "t.json:1:2: a number cannot have a leading zero");
        assert_eq!(
            err("1."),
            "t.json:1:3: expected a digit after the decimal point"
        );
        assert_eq!(
            err("tru"),
            "t.json:1:1: expected a JSON value, found 't' (did you mean true?)"
        );
        assert_eq!(
            err("{\"é\": x}"),
            "t.json:1:7: expected a JSON value, found 'x'"
        );
    }

    #[test]
    fn bom_and_utf8() {
        assert_eq!(canon("\u{feff}{\"a\": 1}"), "{\"a\":1}");
        let e = load(b"{\"a\":\n \"\xff\"}", "t.json").unwrap_err();
        assert_eq!(e.to_string(), "t.json:2:3: invalid UTF-8");
    }

    #[test]
    fn key_marks() {
        let doc = load_str("{\"a\": {\n  \"b\": 1}}").unwrap();
        let mark = doc.mark_of(&Pointer::parse("/a/b").unwrap()).unwrap();
        assert_eq!((mark.line, mark.column), (2, 3));
        assert_eq!(
            doc.mark_of(&Pointer::parse("/a").unwrap()).unwrap().column,
            2
        );
    }
}
