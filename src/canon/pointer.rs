//! RFC 6901 JSON Pointers: where a value sits in a config (`/model/lr`).
//!
//! Errors name values by pointer, `hash.ignore` removes values by pointer, and
//! `diff-config --keys` prints pointers.

use std::fmt;

/// A parsed JSON Pointer: the reference tokens, unescaped.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pointer(Vec<String>);

impl Pointer {
    pub fn root() -> Pointer {
        Pointer(Vec::new())
    }

    /// Parse `""` or `/a/b~1c`. `~` must be followed by `0` or `1`.
    pub fn parse(text: &str) -> Result<Pointer, String> {
        if text.is_empty() {
            return Ok(Pointer::root());
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!(
                "JSON Pointer {text:?} must be empty or start with '/'"
            ));
        };
        let mut tokens = Vec::new();
        for raw in rest.split('/') {
            let mut token = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c == '~' {
                    match chars.next() {
                        Some('0') => token.push('~'),
                        Some('1') => token.push('/'),
                        _ => {
                            return Err(format!(
                                "JSON Pointer {text:?} has a '~' not followed by 0 or 1"
                            ))
                        }
                    }
                } else {
                    token.push(c);
                }
            }
            tokens.push(token);
        }
        Ok(Pointer(tokens))
    }

    pub fn tokens(&self) -> &[String] {
        &self.0
    }

    /// This pointer with one more token.
    pub fn child(&self, token: impl Into<String>) -> Pointer {
        let mut tokens = self.0.clone();
        tokens.push(token.into());
        Pointer(tokens)
    }

    pub fn push(&mut self, token: impl Into<String>) {
        self.0.push(token.into());
    }

    pub fn pop(&mut self) {
        self.0.pop();
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for token in &self.0 {
            f.write_str("/")?;
            for c in token.chars() {
                match c {
                    '~' => f.write_str("~0")?,
                    '/' => f.write_str("~1")?,
                    c => write!(f, "{c}")?,
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_rfc6901() {
        for text in ["", "/a", "/a/b~1c/~0d", "/", "//x", "/0"] {
            assert_eq!(Pointer::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Pointer::parse("/a~1b").unwrap().tokens(), ["a/b"]);
        assert!(Pointer::parse("a").is_err());
        assert!(Pointer::parse("/a~2").is_err());
        assert!(Pointer::parse("/a~").is_err());
    }
}
