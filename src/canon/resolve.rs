//! PyYAML 6 `SafeLoader` scalar resolution (YAML 1.1), by hand.
//!
//! The orchestrator reads its config with `yaml.safe_load`, so a plain scalar
//! means what PyYAML's implicit resolvers say it means: `yes` is a boolean,
//! `0755` is octal 493, `1:30` is 90, `1e5` is a *string* (PyYAML's float
//! pattern needs a dot and a signed exponent). Each matcher below is one of
//! PyYAML's regular expressions in `resolver.py`, spelled out without a regex
//! engine; each constructor follows `constructor.py`.

use super::Integer;

/// What PyYAML resolves a plain scalar to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Plain {
    Null,
    Bool(bool),
    Int,
    Float,
    /// A date or date-time: PyYAML builds a `datetime` from it.
    Timestamp,
    /// `<<`: a merge key.
    Merge,
    /// `=`: PyYAML's `tag:yaml.org,2002:value`, which `safe_load` cannot construct.
    ValueKey,
    Str,
}

/// Resolve a plain scalar as PyYAML's implicit resolvers do (first match, in
/// PyYAML's registration order: bool, float, int, merge, null, timestamp, value).
pub(crate) fn resolve_plain(text: &str) -> Plain {
    if is_null(text) {
        Plain::Null
    } else if let Some(b) = bool_word(text) {
        Plain::Bool(b)
    } else if is_float(text) {
        Plain::Float
    } else if is_int(text) {
        Plain::Int
    } else if text == "<<" {
        Plain::Merge
    } else if is_timestamp(text) {
        Plain::Timestamp
    } else if text == "=" {
        Plain::ValueKey
    } else {
        Plain::Str
    }
}

/// `~|null|Null|NULL|` (the empty plain scalar is null too).
pub(crate) fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// PyYAML's bool pattern.
pub(crate) fn bool_word(text: &str) -> Option<bool> {
    match text {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// `construct_yaml_bool`, used for an explicit `!!bool` tag: any case.
pub(crate) fn construct_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" => Some(true),
        "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// A cursor over ASCII bytes, for spelling regular expressions out by hand.
struct Cur<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    fn new(s: &'a str) -> Cur<'a> {
        Cur {
            s: s.as_bytes(),
            i: 0,
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, pred: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(b) if pred(b) => {
                self.i += 1;
                true
            }
            _ => false,
        }
    }
    fn byte(&mut self, b: u8) -> bool {
        self.eat(|c| c == b)
    }
    fn many(&mut self, pred: impl Fn(u8) -> bool) -> usize {
        let start = self.i;
        while self.eat(&pred) {}
        self.i - start
    }
    fn sign(&mut self) {
        self.eat(|b| b == b'-' || b == b'+');
    }
    fn end(&self) -> bool {
        self.i == self.s.len()
    }
    fn rest(&self) -> &'a [u8] {
        &self.s[self.i..]
    }
    /// `[0-5]?[0-9]` followed by something that is not a digit.
    fn sexagesimal_digit(&mut self) -> bool {
        match self.rest() {
            [b'0'..=b'5', b'0'..=b'9', ..] => {
                self.i += 2;
                !matches!(self.peek(), Some(b'0'..=b'9'))
            }
            [b'0'..=b'9', ..] => {
                self.i += 1;
                !matches!(self.peek(), Some(b'0'..=b'9'))
            }
            _ => false,
        }
    }
    /// `(:[0-5]?[0-9])+`
    fn sexagesimal_tail(&mut self) -> bool {
        let mut groups = 0;
        while self.peek() == Some(b':') {
            self.i += 1;
            if !self.sexagesimal_digit() {
                return false;
            }
            groups += 1;
        }
        groups > 0
    }
}

fn digit(b: u8) -> bool {
    b.is_ascii_digit()
}
fn digit_(b: u8) -> bool {
    b.is_ascii_digit() || b == b'_'
}

/// PyYAML's int pattern:
/// `[-+]?0b[0-1_]+ | [-+]?0[0-7_]+ | [-+]?(0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+
/// | [-+]?[1-9][0-9_]*(:[0-5]?[0-9])+`
pub(crate) fn is_int(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let all = |s: &str, pred: fn(u8) -> bool| !s.is_empty() && s.bytes().all(pred);
    if let Some(bits) = body.strip_prefix("0b") {
        return all(bits, |b| matches!(b, b'0' | b'1' | b'_'));
    }
    if let Some(hex) = body.strip_prefix("0x") {
        return all(hex, |b| b.is_ascii_hexdigit() || b == b'_');
    }
    if let Some(oct) = body.strip_prefix('0') {
        return oct.is_empty() || all(oct, |b| matches!(b, b'0'..=b'7' | b'_'));
    }
    let mut c = Cur::new(body);
    if !c.eat(|b| matches!(b, b'1'..=b'9')) {
        return false;
    }
    c.many(digit_);
    c.end() || (c.sexagesimal_tail() && c.end())
}

/// `([eE][-+][0-9]+)?` then the end.
fn exponent_then_end(c: &mut Cur) -> bool {
    if c.end() {
        return true;
    }
    c.eat(|b| b == b'e' || b == b'E')
        && c.eat(|b| b == b'-' || b == b'+')
        && c.many(digit) > 0
        && c.end()
}

/// PyYAML's float pattern:
/// `[-+]?([0-9][0-9_]*)\.[0-9_]*([eE][-+][0-9]+)? | \.[0-9][0-9_]*([eE][-+][0-9]+)?
/// | [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]* | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN)`
pub(crate) fn is_float(text: &str) -> bool {
    if matches!(text, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(body, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    // \.[0-9][0-9_]*(exp)?  (no sign)
    if text.starts_with('.') {
        let mut c = Cur::new(text);
        c.i = 1;
        return c.eat(digit) && {
            c.many(digit_);
            exponent_then_end(&mut c)
        };
    }
    let mut c = Cur::new(body);
    if !c.eat(digit) {
        return false;
    }
    c.many(digit_);
    match c.peek() {
        Some(b'.') => {
            c.i += 1;
            c.many(digit_);
            exponent_then_end(&mut c)
        }
        Some(b':') => {
            c.sexagesimal_tail() && c.byte(b'.') && {
                c.many(digit_);
                c.end()
            }
        }
        _ => false,
    }
}

/// PyYAML's timestamp pattern:
/// `[0-9]{4}-[0-9]{2}-[0-9]{2}` or
/// `[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?
/// ([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?`
pub(crate) fn is_timestamp(text: &str) -> bool {
    let b = text.as_bytes();
    let d = |i: usize| b.get(i).is_some_and(|c| c.is_ascii_digit());
    if b.len() == 10
        && (0..4).all(d)
        && b[4] == b'-'
        && d(5)
        && d(6)
        && b[7] == b'-'
        && d(8)
        && d(9)
    {
        return true;
    }
    let mut c = Cur::new(text);
    let one_or_two = |c: &mut Cur| {
        if c.eat(digit) {
            c.eat(digit);
            true
        } else {
            false
        }
    };
    let fixed = |c: &mut Cur, n: usize| (0..n).all(|_| c.eat(digit));
    if !(fixed(&mut c, 4)
        && c.byte(b'-')
        && one_or_two(&mut c)
        && c.byte(b'-')
        && one_or_two(&mut c))
    {
        return false;
    }
    if !c.eat(|b| b == b'T' || b == b't') && c.many(|b| b == b' ' || b == b'\t') == 0 {
        return false;
    }
    if !(one_or_two(&mut c) && c.byte(b':') && fixed(&mut c, 2) && c.byte(b':') && fixed(&mut c, 2))
    {
        return false;
    }
    if c.byte(b'.') {
        c.many(digit);
    }
    c.many(|b| b == b' ' || b == b'\t');
    if c.byte(b'Z') {
        return c.end();
    }
    if c.eat(|b| b == b'-' || b == b'+') {
        if !one_or_two(&mut c) {
            return false;
        }
        if c.byte(b':') && !fixed(&mut c, 2) {
            return false;
        }
        return c.end();
    }
    // `[ \t]*` alone at the end is only allowed when nothing follows; PyYAML's
    // group is optional as a whole, so trailing blanks without a zone do not match.
    c.end() && !text.ends_with([' ', '\t'])
}

/// `construct_yaml_int` on text that matches [`is_int`]: underscores removed,
/// then binary, hex, octal, sexagesimal or decimal, exactly (any size).
pub(crate) fn construct_int(text: &str) -> Result<Integer, String> {
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    let (negative, body) = match cleaned.as_bytes().first() {
        Some(b'-') => (true, &cleaned[1..]),
        Some(b'+') => (false, &cleaned[1..]),
        _ => (false, cleaned.as_str()),
    };
    let bad = || format!("{text:?} is not an integer");
    let magnitude = if body == "0" {
        "0".to_string()
    } else if let Some(bits) = body.strip_prefix("0b") {
        radix_to_decimal(bits, 2).ok_or_else(bad)?
    } else if let Some(hex) = body.strip_prefix("0x") {
        radix_to_decimal(hex, 16).ok_or_else(bad)?
    } else if body.starts_with('0') {
        radix_to_decimal(body, 8).ok_or_else(bad)?
    } else if body.contains(':') {
        let mut parts = body.split(':');
        let first = parts.next().unwrap_or_default();
        let mut big = BigDecimal::from_digits(first)
            .filter(|_| !first.is_empty())
            .ok_or_else(bad)?;
        for part in parts {
            let part: u32 = part.parse().map_err(|_| bad())?;
            big.mul_add(60, part);
        }
        big.to_decimal()
    } else {
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        body.to_string()
    };
    let signed = if negative {
        format!("-{magnitude}")
    } else {
        magnitude
    };
    Integer::from_decimal(&signed).ok_or_else(bad)
}

fn radix_to_decimal(digits: &str, radix: u32) -> Option<String> {
    if digits.is_empty() {
        return None;
    }
    let mut big = BigDecimal::zero();
    for c in digits.chars() {
        big.mul_add(radix, c.to_digit(radix)?);
    }
    Some(big.to_decimal())
}

/// A non-negative integer of any size, in base 10^9 limbs (least significant
/// first): enough arithmetic to turn binary, octal, hex and sexagesimal
/// literals into exact decimal digits.
struct BigDecimal(Vec<u32>);

const LIMB: u64 = 1_000_000_000;

impl BigDecimal {
    fn zero() -> BigDecimal {
        BigDecimal(Vec::new())
    }

    fn from_digits(digits: &str) -> Option<BigDecimal> {
        let mut big = BigDecimal::zero();
        for c in digits.chars() {
            big.mul_add(10, c.to_digit(10)?);
        }
        Some(big)
    }

    /// self = self * m + a
    fn mul_add(&mut self, m: u32, a: u32) {
        let mut carry = a as u64;
        for limb in &mut self.0 {
            let v = *limb as u64 * m as u64 + carry;
            *limb = (v % LIMB) as u32;
            carry = v / LIMB;
        }
        while carry > 0 {
            self.0.push((carry % LIMB) as u32);
            carry /= LIMB;
        }
    }

    fn to_decimal(&self) -> String {
        let mut limbs = self.0.iter().rev().skip_while(|&&l| l == 0);
        let Some(first) = limbs.next() else {
            return "0".into();
        };
        let mut out = first.to_string();
        for limb in limbs {
            out.push_str(&format!("{limb:09}"));
        }
        out
    }
}

/// `construct_yaml_float`: underscores removed, lower-cased, then `.inf`,
/// `.nan`, sexagesimal (summed in f64 in PyYAML's order) or Python `float()`.
/// The result may be NaN or infinite; the caller refuses those.
pub(crate) fn construct_float(text: &str) -> Result<f64, String> {
    let cleaned: String = text
        .chars()
        .filter(|&c| c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    let (sign, body) = match cleaned.as_bytes().first() {
        Some(b'-') => (-1.0, &cleaned[1..]),
        Some(b'+') => (1.0, &cleaned[1..]),
        _ => (1.0, cleaned.as_str()),
    };
    let bad = || format!("{text:?} is not a float");
    if body == ".inf" {
        return Ok(sign * f64::INFINITY);
    }
    if body == ".nan" {
        return Ok(f64::NAN);
    }
    if body.contains(':') {
        let mut value = 0.0f64;
        let mut base = 1.0f64;
        for part in body.rsplit(':') {
            let digit = python_float(part).ok_or_else(bad)?;
            value += digit * base;
            base *= 60.0;
        }
        return Ok(sign * value);
    }
    Ok(sign * python_float(body).ok_or_else(bad)?)
}

/// Python's `float()` on the decimal spellings PyYAML can hand it (digits,
/// an optional dot, an optional exponent); correctly rounded like Python's.
fn python_float(text: &str) -> Option<f64> {
    let mut c = Cur::new(text);
    c.sign();
    let int_digits = c.many(digit);
    let frac_digits = if c.byte(b'.') { c.many(digit) } else { 0 };
    if int_digits + frac_digits == 0 {
        return None;
    }
    if c.eat(|b| b == b'e' || b == b'E') {
        c.sign();
        if c.many(digit) == 0 {
            return None;
        }
    }
    if !c.end() {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bool_and_null_words() {
        for w in [
            "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON",
        ] {
            assert_eq!(resolve_plain(w), Plain::Bool(true), "{w}");
        }
        for w in [
            "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
        ] {
            assert_eq!(resolve_plain(w), Plain::Bool(false), "{w}");
        }
        for w in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(resolve_plain(w), Plain::Null, "{w:?}");
        }
        for w in ["yEs", "y", "n", "nULL", "tRUE", "None", "none"] {
            assert_eq!(resolve_plain(w), Plain::Str, "{w}");
        }
    }

    #[test]
    fn ints() {
        let cases = [
            ("0", "0"),
            ("-0", "0"),
            ("+12", "12"),
            ("1_000", "1000"),
            ("0b1010", "10"),
            ("-0b1_1", "-3"),
            ("0x1F", "31"),
            ("0xff_ff", "65535"),
            ("0755", "493"),
            ("00", "0"),
            ("0_", "0"),
            ("09", ""),
            ("1:30", "90"),
            ("-1:0:0", "-3600"),
            ("190:20:30", "685230"),
            ("18446744073709551557", "18446744073709551557"),
            (
                "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
                "87112285931760246646623899502532662132735",
            ),
            (
                "0b11111111111111111111111111111111111111111111111111111111111111111",
                "36893488147419103231",
            ),
            ("1234567890123456789012345:59", "74074073407407407340740759"),
        ];
        for (text, want) in cases {
            if want.is_empty() {
                assert_ne!(resolve_plain(text), Plain::Int, "{text}");
                continue;
            }
            assert_eq!(resolve_plain(text), Plain::Int, "{text}");
            assert_eq!(construct_int(text).unwrap().as_str(), want, "{text}");
        }
        for s in [
            "1:60", "1:345", "0:30", "1e5", "0b", "0x", "0b2", "0o17", "_1", "1 000", "12a",
        ] {
            let r = resolve_plain(s);
            assert!(
                r == Plain::Str || (r == Plain::Int && construct_int(s).is_err()),
                "{s}: {r:?}"
            );
        }
        // PyYAML's pattern matches these but int() fails on them.
        assert_eq!(resolve_plain("0b_"), Plain::Int);
        assert!(construct_int("0b_").is_err());
        assert!(construct_int("0x__").is_err());
        assert_eq!(construct_int("1__").unwrap().as_str(), "1");
    }

    #[test]
    fn floats() {
        let cases = [
            ("1.0", 1.0),
            ("-1.5", -1.5),
            ("1.", 1.0),
            ("+.5", f64::NAN), // not a float: sign before a bare dot
            (".5", 0.5),
            ("1.0e+5", 100000.0),
            ("1.e-2", 0.01),
            ("1_000.5", 1000.5),
            (".5E+1", 5.0),
            ("1:30.5", 90.5),
            ("-190:20:30.15", -685230.15),
            ("6.8523015e+5", 685230.15),
        ];
        for (text, want) in cases {
            if want.is_nan() {
                assert_eq!(resolve_plain(text), Plain::Str, "{text}");
                continue;
            }
            assert_eq!(resolve_plain(text), Plain::Float, "{text}");
            assert_eq!(construct_float(text).unwrap(), want, "{text}");
        }
        for s in [
            "1e5", "1.0e5", "1.0E5", "1e+5", "-.5", "1.0e+", "e+5", ".", "1..2", "1.2.3", "1:60.0",
            "+.nan", ".NaN0", "inf", "nan", ".iNf",
        ] {
            assert_eq!(resolve_plain(s), Plain::Str, "{s}");
        }
        for s in [".inf", "-.inf", "+.Inf", ".INF"] {
            assert_eq!(resolve_plain(s), Plain::Float, "{s}");
            assert!(construct_float(s).unwrap().is_infinite(), "{s}");
        }
        for s in [".nan", ".NaN", ".NAN"] {
            assert_eq!(resolve_plain(s), Plain::Float, "{s}");
            assert!(construct_float(s).unwrap().is_nan(), "{s}");
        }
        assert!(construct_float("1.0e+400").unwrap().is_infinite());
        // An explicit !!float accepts what Python's float() accepts.
        assert_eq!(construct_float("1e5").unwrap(), 100000.0);
        assert_eq!(construct_float("7").unwrap(), 7.0);
        assert!(construct_float("abc").is_err());
    }

    #[test]
    fn timestamps() {
        for s in [
            "2001-12-14",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10 -5",
            "2001-12-15T02:59:43.1Z",
            "2001-12-15 2:59:43.10",
            "2002-1-1T1:00:00",
            "2001-12-14 21:59:43 +05:30",
            "2001-12-14\t21:59:43Z",
        ] {
            assert_eq!(resolve_plain(s), Plain::Timestamp, "{s}");
        }
        for s in [
            "2001-1-1",
            "2001-12-141",
            "01-12-14",
            "2001-12-14T",
            "2001-12-14 21:59",
            "2001-12-14 21:59:43 ",
            "2001-12-14 21:59:43+5:3",
            "20011-12-14",
        ] {
            assert_eq!(resolve_plain(s), Plain::Str, "{s}");
        }
    }

    #[test]
    fn merge_and_value() {
        assert_eq!(resolve_plain("<<"), Plain::Merge);
        assert_eq!(resolve_plain("="), Plain::ValueKey);
        assert_eq!(resolve_plain("<<<"), Plain::Str);
        assert_eq!(resolve_plain("=="), Plain::Str);
    }
}
