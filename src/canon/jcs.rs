//! Canonical bytes, scheme `rk-c14n-v1` (docs/FORMATS.md#rk-c14n-v1): RFC 8785 (JCS).
//!
//! Object keys sorted by UTF-16 code units, no whitespace, strings escaped as
//! ECMAScript's `JSON.stringify` does, floats as `Number.prototype.toString`.
//! The one deliberate difference from RFC 8785: an integer keeps its exact
//! decimal digits (identical to JCS inside ±2^53, exact beyond it).

use super::Value;
use std::cmp::Ordering;
use std::fmt::Write as _;

/// The canonical bytes of `value`.
pub fn canonical_bytes(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out);
    out
}

/// Compare two keys by their UTF-16 code units, as RFC 8785 §3.2.3 sorts them.
pub fn utf16_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.as_bytes().cmp(b.as_bytes());
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

/// The entries of an object, sorted as canonical output writes them.
pub fn sorted_entries(entries: &[(String, Value)]) -> Vec<&(String, Value)> {
    let mut sorted: Vec<&(String, Value)> = entries.iter().collect();
    sorted.sort_by(|a, b| utf16_cmp(&a.0, &b.0));
    sorted
}

fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Int(i) => out.extend_from_slice(i.as_str().as_bytes()),
        Value::Float(f) => write_number(*f, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out);
            }
            out.push(b']');
        }
        Value::Object(entries) => {
            out.push(b'{');
            for (i, (key, item)) in sorted_entries(entries).into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_value(item, out);
            }
            out.push(b'}');
        }
    }
}

/// A JSON string literal escaped as RFC 8785 §3.2.2.2 says.
pub fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    // Most strings need no escape at all: copy them whole.
    if !bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\') {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// `Number.prototype.toString(x)` for a finite `x` (ECMA-262 §6.1.6.1.20),
/// with the shortest digits that round-trip.
pub fn ecmascript_number(x: f64) -> String {
    let mut out = Vec::with_capacity(26);
    write_number(x, &mut out);
    String::from_utf8(out).expect("a number is ASCII")
}

/// [`ecmascript_number`] appended to `out`.
fn write_number(x: f64, out: &mut Vec<u8>) {
    if x == 0.0 {
        out.push(b'0');
        return;
    }
    let shortest = Shortest::of(x.abs());
    let (digits, n) = (shortest.digits(), shortest.point);
    let k = digits.len() as i32;
    if x < 0.0 {
        out.push(b'-');
    }
    if k <= n && n <= 21 {
        out.extend_from_slice(digits);
        out.extend(std::iter::repeat_n(b'0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.extend_from_slice(&digits[..n as usize]);
        out.push(b'.');
        out.extend_from_slice(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-n) as usize));
        out.extend_from_slice(digits);
    } else {
        out.push(digits[0]);
        if k > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        let e = n - 1;
        out.push(b'e');
        out.push(if e < 0 { b'-' } else { b'+' });
        out.extend_from_slice(e.unsigned_abs().to_string().as_bytes());
    }
}

/// The shortest round-trip decimal digits of a positive finite `x` and the
/// exponent `n` such that `x = 0.d1d2… × 10^n`, chosen as ECMA-262
/// `Number::toString` and Python's `repr` both choose them: when two
/// candidates of that length are exactly as close to `x`, the one whose last
/// digit is even. Rust's formatter picks the upper one there
/// (`1847955633273349.25` prints `…349.3` in Rust, `…349.2` in JavaScript and
/// Python), so an exact tie is detected from the exact decimal expansion of `x`
/// and flipped.
pub fn shortest_digits(x: f64) -> (String, i32) {
    let shortest = Shortest::of(x);
    let digits = std::str::from_utf8(shortest.digits()).expect("digits are ASCII");
    (digits.to_string(), shortest.point)
}

/// The digits [`shortest_digits`] describes, kept on the stack: a float's
/// shortest round-trip form has at most 17 significant digits.
struct Shortest {
    bytes: [u8; 17],
    len: usize,
    point: i32,
}

impl Shortest {
    fn of(x: f64) -> Shortest {
        let shortest = Shortest::rust(x);
        if may_be_a_tie(x) {
            shortest.break_tie(x)
        } else {
            shortest
        }
    }

    fn digits(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Rust's shortest round-trip digits: `{:e}` prints them (`1.2345e-7`).
    fn rust(x: f64) -> Shortest {
        let mut text = StackText::default();
        write!(text, "{x:e}").expect("{:e} of an f64 fits in a StackText");
        let text = text.as_str();
        let (mantissa, exponent) = text.split_once('e').expect("{:e} always has an exponent");
        let mut shortest = Shortest {
            bytes: [0; 17],
            len: 0,
            point: exponent
                .parse::<i32>()
                .expect("{:e} exponent is an integer")
                + 1,
        };
        for digit in mantissa.bytes().filter(|&b| b != b'.') {
            shortest.bytes[shortest.len] = digit;
            shortest.len += 1;
        }
        shortest
    }

    /// When `x` lies exactly half-way between two candidates of this length
    /// and these digits are the odd one: the even one, if it round-trips.
    fn break_tie(mut self, x: f64) -> Shortest {
        let (n, point) = (self.len, self.point);
        let bytes = &self.bytes[..n];
        let last = bytes[n - 1];
        if (last - b'0').is_multiple_of(2) {
            return self;
        }
        let (exact, exact_point) = exact_decimal(x);
        let exact = exact.as_bytes();
        if exact_point != point || exact.len() != n + 1 || exact[n] != b'5' {
            return self;
        }
        if exact[..n - 1] != bytes[..n - 1] {
            return self;
        }
        // x lies exactly half-way between two n-digit candidates; ours is one
        // of them, with an odd last digit. The other one has an even last digit.
        let tie_low = exact[n - 1];
        let other = if tie_low == last - 1 {
            last - 1 // ours is the upper candidate
        } else if tie_low == last && last != b'9' {
            last + 1 // ours is the lower candidate
        } else {
            return self;
        };
        let mut alternative = bytes.to_vec();
        alternative[n - 1] = other;
        let alternative = String::from_utf8(alternative).expect("digits are ASCII");
        let round_trips = format!("0.{alternative}e{point}").parse::<f64>() == Ok(x);
        if round_trips && other != b'0' {
            self.bytes[n - 1] = other;
        }
        self
    }
}

/// Whether a positive finite `x` can lie exactly half-way between two
/// decimals of at most 17 significant digits, which takes an exact decimal
/// expansion of at most 18. That rules out almost every float cheaply: with
/// `x = m × 2^e` and `m` odd, for `e < -27` the expansion's digits are those
/// of the odd number `m × 5^-e ≥ 5^28`, twenty or more; and an integer below
/// 2^53 is its own shortest form, with no tie to break.
fn may_be_a_tie(x: f64) -> bool {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (mantissa, exponent) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    let odd_exponent = exponent + mantissa.trailing_zeros() as i32;
    let small_integer = x.fract() == 0.0 && x < 9_007_199_254_740_992.0;
    odd_exponent >= -27 && !small_integer
}

/// Formatted text on the stack: `{:e}` of an f64 is at most 24 bytes.
#[derive(Default)]
struct StackText {
    bytes: [u8; 32],
    len: usize,
}

impl StackText {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).expect("only whole strs are written")
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The exact decimal expansion of a positive finite `x`: digits without
/// trailing zeros and the point, `x = 0.DIGITS × 10^point`.
fn exact_decimal(x: f64) -> (String, i32) {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (mut mantissa, mut exponent) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    while mantissa.is_multiple_of(2) && exponent < 0 {
        mantissa /= 2;
        exponent += 1;
    }
    // Little-endian base-10^9 limbs.
    let mut limbs: Vec<u64> = vec![mantissa % 1_000_000_000, mantissa / 1_000_000_000];
    let multiply = |limbs: &mut Vec<u64>, factor: u64| {
        let mut carry = 0;
        for limb in limbs.iter_mut() {
            let product = *limb * factor + carry;
            *limb = product % 1_000_000_000;
            carry = product / 1_000_000_000;
        }
        while carry > 0 {
            limbs.push(carry % 1_000_000_000);
            carry /= 1_000_000_000;
        }
    };
    // x = mantissa × 2^exponent = mantissa × 5^-exponent / 10^-exponent.
    let (base, mut count): (u64, u32) = if exponent >= 0 {
        (2, exponent as u32)
    } else {
        (5, (-exponent) as u32)
    };
    while count > 0 {
        let step = count.min(13);
        multiply(&mut limbs, base.pow(step));
        count -= step;
    }
    while limbs.len() > 1 && limbs.last() == Some(&0) {
        limbs.pop();
    }
    let mut text = limbs.last().expect("one limb").to_string();
    for limb in limbs.iter().rev().skip(1) {
        text.push_str(&format!("{limb:09}"));
    }
    let mut point = text.len() as i32;
    if exponent < 0 {
        point += exponent;
    }
    let digits = text.trim_end_matches('0').to_string();
    (digits, point)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::excessive_precision)] // the RFC 8785 example literal, on purpose
    fn numbers_follow_ecmascript() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (-0.0, "0"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123456789012345680000.0, "123456789012345680000"),
            (1e-7, "1e-7"),
            (1e-6, "0.000001"),
            (0.1, "0.1"),
            (-1.5, "-1.5"),
            (4.5, "4.5"),
            (0.002, "0.002"),
            (1.2345e-7, "1.2345e-7"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (333_333_333.333_333_3, "333333333.3333333"),
            (1847955633273349.25, "1847955633273349.2"),
            (9007199254740992.0, "9007199254740992"),
            (9007199254740994.0, "9007199254740994"),
            (295147905179352830000.0, "295147905179352830000"),
        ];
        for (x, want) in cases {
            assert_eq!(ecmascript_number(*x), *want, "{x:e}");
        }
    }

    #[test]
    fn strings_escape_as_jcs() {
        let mut out = Vec::new();
        write_string("€$\u{000F}\nA'B\"\\\\\"/\u{7f}\u{2028}", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\u{7f}\u{2028}\""
        );
    }

    #[test]
    fn keys_sort_by_utf16_code_units() {
        // RFC 8785 §3.2.3: "\r" < "1" < "\u0080" < "ö" < "€" < "😀" < "ﬂ"
        let mut keys = vec!["\u{fb33}", "😀", "€", "ö", "\u{80}", "1", "\r"];
        keys.sort_by(|a, b| utf16_cmp(a, b));
        assert_eq!(keys, vec!["\r", "1", "\u{80}", "ö", "€", "😀", "\u{fb33}"]);
    }

    /// Every tie [`may_be_a_tie`] lets through unbroken would be a wrong
    /// number: compare with breaking ties for every float.
    fn tie_gate_is_sound(x: f64) -> Result<(), proptest::test_runner::TestCaseError> {
        let gated = Shortest::of(x);
        let always = Shortest::rust(x).break_tie(x);
        proptest::prop_assert_eq!(
            (gated.digits(), gated.point),
            (always.digits(), always.point),
            "{:e}",
            x
        );
        Ok(())
    }

    #[test]
    fn ties_break_to_even() {
        for (x, want) in [
            (1_847_955_633_273_349.0 + 0.25, "1847955633273349.2"),
            (0.125, "0.125"),
            (2.5, "2.5"),
            (2f64.powi(53) + 2.0, "9007199254740994"),
            (1e23, "1e+23"),
        ] {
            assert_eq!(ecmascript_number(x), want);
            tie_gate_is_sound(x).unwrap();
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(20_000))]

        #[test]
        fn tie_gate_on_any_float(bits in 1u64..0x7ff0_0000_0000_0000) {
            tie_gate_is_sound(f64::from_bits(bits))?;
        }

        /// Floats with a short exact expansion, where ties live.
        #[test]
        fn tie_gate_on_dyadic_floats(m in 1u64..(1 << 53), shift in -60i32..60) {
            tie_gate_is_sound(m as f64 * 2f64.powi(shift))?;
        }
    }

    #[test]
    fn exact_decimal_expansion() {
        assert_eq!(exact_decimal(0.5), ("5".into(), 0));
        assert_eq!(
            exact_decimal(1_847_955_633_273_349.0 + 0.25),
            ("184795563327334925".into(), 16)
        );
        assert_eq!(exact_decimal(1e22), ("1".into(), 23));
        assert_eq!(exact_decimal(0.1).0.len(), 55);
        assert_eq!(exact_decimal(5e-324).1, -323);
    }
}
