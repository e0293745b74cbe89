//! The legacy hash scheme `pyyaml-sorted` (docs/FORMATS.md#pyyaml-sorted): the exact text PyYAML 6
//! `yaml.safe_dump(cfg, sort_keys=True)` returns, so rk can verify the
//! `config_hash` the Python tool set stored without running Python.
//!
//! The one idea to keep in mind: this is a port, not a YAML writer. Every
//! branch below mirrors a named function of PyYAML's `representer.py`,
//! `resolver.py` or `emitter.py` (with `default_flow_style=False`,
//! `allow_unicode=False`, `width=80`, `indent=2`, `\n` breaks), including the
//! emitter's column bookkeeping; "nicer" YAML is a wrong hash. Where the bytes
//! cannot be known for certain the answer is [`Unverifiable`], never a guess.
//!
//! Two simplifications follow from the inputs (JSON-like values) and are relied
//! on: the only flow collections are empty ones (`[]`, `{}`), so no scalar is
//! ever written in flow context; and with `allow_unicode=False` every character
//! outside printable ASCII and `\n` forces double quotes, so plain and
//! single-quoted scalars only ever hold printable ASCII and `\n`.
//!
//! Declared unverifiable (PyYAML itself fails or the result depends on the
//! Python process, not on the value):
//! * nesting deeper than [`MAX_DEPTH`] (PyYAML's representer recurses and hits
//!   Python's recursion limit at a depth that depends on the interpreter);
//! * an integer of more than 4300 digits (Python 3.11+ refuses to `str()` it);
//! * a mapping with a duplicate key (no Python dict holds one; the loaders
//!   refuse them, so this only guards against a wrong answer).

use super::{shortest_digits, Value};

/// Why the PyYAML bytes of a value cannot be reproduced with certainty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unverifiable(pub String);

/// Deepest nesting of sequences and mappings reproduced (the loaders refuse
/// deeper configs anyway).
pub const MAX_DEPTH: usize = 128;

/// Python's default limit on the digits `str(int)` prints
/// (`sys.get_int_max_str_digits()`, 3.11+; configurable, hence unverifiable
/// beyond it).
const MAX_INT_DIGITS: usize = 4300;

/// PyYAML's `best_width`.
const WIDTH: usize = 80;
/// PyYAML's `best_indent`.
const INDENT: usize = 2;
/// `check_simple_key` allows `length < 128`, where length counts the key's
/// characters plus its prepared tag: every key event carries the tag
/// `tag:yaml.org,2002:str`, prepared as `!!str` (5 characters), even though the
/// tag is never written. So a simple key has at most 122 characters.
const MAX_SIMPLE_KEY: usize = 128 - "!!str".len();

/// The text of `yaml.safe_dump(value, sort_keys=True)` under PyYAML 6.
pub fn safe_dump_sorted(value: &Value) -> Result<String, Unverifiable> {
    check(value, 0)?;
    let mut emitter = Emitter::default();
    emitter.document(value);
    Ok(emitter.out)
}

fn check(value: &Value, depth: usize) -> Result<(), Unverifiable> {
    match value {
        Value::Int(n) => {
            let digits = n.as_str().trim_start_matches('-').len();
            if digits > MAX_INT_DIGITS {
                return Err(Unverifiable(format!(
                    "an integer of {digits} digits (Python refuses to print more than {MAX_INT_DIGITS})"
                )));
            }
        }
        Value::Array(items) => {
            check_depth(depth)?;
            for item in items {
                check(item, depth + 1)?;
            }
        }
        Value::Object(entries) => {
            check_depth(depth)?;
            let mut keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
            keys.sort_unstable();
            if let Some(pair) = keys.windows(2).find(|pair| pair[0] == pair[1]) {
                // A Python dict cannot hold it; which value would win is the
                // loader's business, not the emitter's.
                return Err(Unverifiable(format!("duplicate key {:?}", pair[0])));
            }
            for (_, item) in entries {
                check(item, depth + 1)?;
            }
        }
        Value::Null | Value::Bool(_) | Value::Float(_) | Value::String(_) => {}
    }
    Ok(())
}

fn check_depth(depth: usize) -> Result<(), Unverifiable> {
    if depth >= MAX_DEPTH {
        Err(Unverifiable(format!(
            "nesting deeper than {MAX_DEPTH} (PyYAML's output then depends on Python's recursion limit)"
        )))
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// representer.py

/// A scalar as the serializer hands it to the emitter: its text and
/// `implicit[0]` (whether the plain form would resolve back to its own tag).
struct Scalar {
    text: Vec<char>,
    plain_implicit: bool,
}

fn represent_scalar(value: &Value) -> Scalar {
    let (text, plain_implicit) = match value {
        Value::Null => ("null".to_string(), true),
        Value::Bool(true) => ("true".to_string(), true),
        Value::Bool(false) => ("false".to_string(), true),
        Value::Int(n) => (n.as_str().to_string(), true),
        Value::Float(x) => (represent_float(*x), true),
        Value::String(s) => (s.clone(), !resolves_to_other_tag(s)),
        Value::Array(_) | Value::Object(_) => unreachable!("collections are not scalars"),
    };
    Scalar {
        text: text.chars().collect(),
        plain_implicit,
    }
}

/// `SafeRepresenter.represent_float` for a finite float: `repr(x).lower()`,
/// with `.0` put before a bare exponent (`1e-05` → `1.0e-05`).
fn represent_float(x: f64) -> String {
    let repr = python_float_repr(x);
    if !repr.contains('.') && repr.contains('e') {
        repr.replacen('e', ".0e", 1)
    } else {
        repr
    }
}

/// Python's `repr(float)` for a finite float: the shortest round-trip digits,
/// scientific when the decimal exponent is below -4 or at least 16, with at
/// least two exponent digits; fixed notation always has a `.`.
fn python_float_repr(x: f64) -> String {
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x == 0.0 {
        return format!("{sign}0.0");
    }
    // x = 0.DIGITS × 10^point
    let (digits, point) = shortest_digits(x.abs());
    let n = digits.len() as i32;
    if point <= -4 || point > 16 {
        let exponent = point - 1;
        let mantissa = if n == 1 {
            digits.clone()
        } else {
            format!("{}.{}", &digits[..1], &digits[1..])
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exponent.abs())
    } else if point <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
    } else if point >= n {
        format!("{sign}{digits}{}.0", "0".repeat((point - n) as usize))
    } else {
        let (int, frac) = digits.split_at(point as usize);
        format!("{sign}{int}.{frac}")
    }
}

// ---------------------------------------------------------------------------
// resolver.py (YAML 1.1 implicit resolvers)

/// Whether the plain scalar `value` would be read back as something other than
/// a string (bool, int, float, null, timestamp, merge, value, yaml), i.e.
/// `resolve(ScalarNode, value, (True, False)) != str`.
fn resolves_to_other_tag(value: &str) -> bool {
    // Resolvers are picked by the first character (`''` only for the empty
    // string); Python's `$` also matches before one final newline.
    let first = match value.chars().next() {
        None => return true, // the null resolver's empty alternative
        Some(c) => c,
    };
    let bytes = value.as_bytes();
    let matches =
        |full: fn(&[u8]) -> bool| full(bytes) || bytes.strip_suffix(b"\n").is_some_and(full);
    ("yYnNtTfFoO".contains(first) && matches(is_bool))
        || ("-+0123456789.".contains(first) && matches(is_float))
        || ("-+0123456789".contains(first) && matches(is_int))
        || (first == '<' && matches(|s| s == b"<<"))
        || ("~nN".contains(first) && matches(is_null))
        || (first.is_ascii_digit() && matches(is_timestamp))
        || (first == '=' && matches(|s| s == b"="))
        || ("!&*".contains(first) && matches(|s| matches!(s, b"!" | b"&" | b"*")))
}

fn is_bool(s: &[u8]) -> bool {
    const WORDS: [&[u8]; 18] = [
        b"yes", b"Yes", b"YES", b"no", b"No", b"NO", b"true", b"True", b"TRUE", b"false", b"False",
        b"FALSE", b"on", b"On", b"ON", b"off", b"Off", b"OFF",
    ];
    WORDS.contains(&s)
}

fn is_null(s: &[u8]) -> bool {
    matches!(s, b"~" | b"null" | b"Null" | b"NULL" | b"")
}

/// A cursor for the resolver patterns. Every pattern is matched greedily,
/// which is exact for these regexes: no quantifier can give back a character
/// that the rest of its pattern could use.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a [u8]) -> Self {
        Cursor { s, i: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Consume one byte matching `class`.
    fn one(&mut self, class: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(b) if class(b) => {
                self.i += 1;
                true
            }
            _ => false,
        }
    }

    /// Consume bytes matching `class`; how many.
    fn many(&mut self, class: impl Fn(u8) -> bool) -> usize {
        let start = self.i;
        while self.one(&class) {}
        self.i - start
    }

    fn lit(&mut self, text: &[u8]) -> bool {
        if self.s[self.i..].starts_with(text) {
            self.i += text.len();
            true
        } else {
            false
        }
    }

    fn sign(&mut self) {
        self.one(|b| b == b'+' || b == b'-');
    }

    fn done(&self) -> bool {
        self.i == self.s.len()
    }

    /// `(?::[0-5]?[0-9])+`
    fn sexagesimal(&mut self) -> bool {
        let mut count = 0;
        while self.peek() == Some(b':') {
            let rest = &self.s[self.i + 1..];
            let len = match rest {
                [a, b, ..] if (b'0'..=b'5').contains(a) && b.is_ascii_digit() => 2,
                [a, ..] if a.is_ascii_digit() => 1,
                _ => break,
            };
            self.i += 1 + len;
            count += 1;
        }
        count > 0
    }

    /// `(?:[eE][-+][0-9]+)?`
    fn optional_exponent(&mut self) {
        let save = self.i;
        if !(self.one(|b| b == b'e' || b == b'E')
            && self.one(|b| b == b'+' || b == b'-')
            && self.many(digit) > 0)
        {
            self.i = save;
        }
    }
}

fn digit(b: u8) -> bool {
    b.is_ascii_digit()
}

fn digit_(b: u8) -> bool {
    b.is_ascii_digit() || b == b'_'
}

fn is_float(s: &[u8]) -> bool {
    let alternatives: [fn(&mut Cursor) -> bool; 5] = [
        // [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
        |c| {
            c.sign();
            c.one(digit)
                && {
                    c.many(digit_);
                    c.lit(b".")
                }
                && {
                    c.many(digit_);
                    c.optional_exponent();
                    true
                }
        },
        // \.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        |c| {
            c.lit(b".") && c.one(digit) && {
                c.many(digit_);
                c.optional_exponent();
                true
            }
        },
        // [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
        |c| {
            c.sign();
            c.one(digit)
                && {
                    c.many(digit_);
                    c.sexagesimal()
                }
                && c.lit(b".")
                && {
                    c.many(digit_);
                    true
                }
        },
        // [-+]?\.(?:inf|Inf|INF)
        |c| {
            c.sign();
            c.lit(b".") && (c.lit(b"inf") || c.lit(b"Inf") || c.lit(b"INF"))
        },
        // \.(?:nan|NaN|NAN)
        |c| c.lit(b".") && (c.lit(b"nan") || c.lit(b"NaN") || c.lit(b"NAN")),
    ];
    alternatives.iter().any(|alt| {
        let mut c = Cursor::new(s);
        alt(&mut c) && c.done()
    })
}

fn is_int(s: &[u8]) -> bool {
    let alternatives: [fn(&mut Cursor) -> bool; 5] = [
        // [-+]?0b[0-1_]+
        |c| {
            c.sign();
            c.lit(b"0b") && c.many(|b| matches!(b, b'0' | b'1' | b'_')) > 0
        },
        // [-+]?0[0-7_]+
        |c| {
            c.sign();
            c.lit(b"0") && c.many(|b| matches!(b, b'0'..=b'7' | b'_')) > 0
        },
        // [-+]?(?:0|[1-9][0-9_]*)
        |c| {
            c.sign();
            c.lit(b"0")
                || (c.one(|b| matches!(b, b'1'..=b'9')) && {
                    c.many(digit_);
                    true
                })
        },
        // [-+]?0x[0-9a-fA-F_]+
        |c| {
            c.sign();
            c.lit(b"0x") && c.many(|b| b.is_ascii_hexdigit() || b == b'_') > 0
        },
        // [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
        |c| {
            c.sign();
            c.one(|b| matches!(b, b'1'..=b'9')) && {
                c.many(digit_);
                c.sexagesimal()
            }
        },
    ];
    alternatives.iter().any(|alt| {
        let mut c = Cursor::new(s);
        alt(&mut c) && c.done()
    })
}

fn is_timestamp(s: &[u8]) -> bool {
    // [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    let date_only = s.len() == 10
        && s.iter().enumerate().all(|(i, &b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    date_only || is_datetime(s)
}

/// `[0-9]{4}-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9]`
/// `(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?`
fn is_datetime(s: &[u8]) -> bool {
    let c = &mut Cursor::new(s);
    let blank = |b: u8| b == b' ' || b == b'\t';
    let one_or_two = |c: &mut Cursor| {
        let n = c.many(digit);
        // `[0-9][0-9]?` greedily: give back nothing, a third digit fails later.
        if n > 2 {
            c.i -= n - 2;
        }
        n > 0
    };
    let two = |c: &mut Cursor| c.one(digit) && c.one(digit);
    let head = c.many(digit) == 4
        && c.lit(b"-")
        && one_or_two(c)
        && c.lit(b"-")
        && one_or_two(c)
        && (c.one(|b| b == b'T' || b == b't') || c.many(blank) > 0)
        && one_or_two(c)
        && c.lit(b":")
        && two(c)
        && c.lit(b":")
        && two(c);
    if !head {
        return false;
    }
    if c.lit(b".") {
        c.many(digit);
    }
    let save = c.i;
    c.many(blank);
    let zone = c.lit(b"Z")
        || (c.one(|b| b == b'+' || b == b'-') && one_or_two(c) && {
            let before_minutes = c.i;
            if !(c.lit(b":") && two(c)) {
                c.i = before_minutes;
            }
            true
        });
    if !zone {
        c.i = save;
    }
    c.done()
}

// ---------------------------------------------------------------------------
// emitter.py

/// `ScalarAnalysis`, with the fields a block-context, `allow_unicode=False`
/// emitter reads.
struct Analysis {
    empty: bool,
    multiline: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// The characters `analyze_scalar` counts as whitespace around indicators.
fn is_blank_or_break(c: char) -> bool {
    matches!(c, '\0' | ' ' | '\t' | '\r') || is_break(c)
}

/// `Emitter.analyze_scalar` with `allow_unicode=False`.
fn analyze_scalar(scalar: &[char]) -> Analysis {
    if scalar.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            allow_block_plain: true,
            allow_single_quoted: true,
        };
    }
    let mut block_indicators = false;
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;

    let starts_with = |p: &str| scalar.iter().copied().take(3).eq(p.chars());
    if starts_with("---") || starts_with("...") {
        block_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    let mut followed_by_whitespace = scalar.len() == 1 || is_blank_or_break(scalar[1]);
    let mut previous_space = false;
    let mut previous_break = false;
    let last = scalar.len() - 1;

    for (index, &ch) in scalar.iter().enumerate() {
        if index == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(ch) {
                block_indicators = true;
            }
            if (ch == '?' || ch == ':') && followed_by_whitespace {
                block_indicators = true;
            }
            if ch == '-' && followed_by_whitespace {
                block_indicators = true;
            }
        } else {
            if ch == ':' && followed_by_whitespace {
                block_indicators = true;
            }
            if ch == '#' && preceded_by_whitespace {
                block_indicators = true;
            }
        }

        if is_break(ch) {
            line_breaks = true;
        }
        if !(ch == '\n' || (' '..='~').contains(&ch)) {
            // Unicode or not, with allow_unicode=False it is special.
            special_characters = true;
        }

        if ch == ' ' {
            if index == 0 {
                leading_space = true;
            }
            if index == last {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(ch) {
            if index == 0 {
                leading_break = true;
            }
            if index == last {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }

        preceded_by_whitespace = is_blank_or_break(ch);
        followed_by_whitespace = index + 2 >= scalar.len() || is_blank_or_break(scalar[index + 2]);
    }

    let mut allow_block_plain = true;
    let mut allow_single_quoted = true;
    if leading_space || leading_break || trailing_space || trailing_break {
        allow_block_plain = false;
    }
    if break_space {
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if space_break || special_characters {
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if line_breaks || block_indicators {
        allow_block_plain = false;
    }
    Analysis {
        empty: false,
        multiline: line_breaks,
        allow_block_plain,
        allow_single_quoted,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
}

/// Which node `expect_node` is emitting (its `root`/`sequence`/`mapping`/
/// `simple_key` flags).
#[derive(Clone, Copy, Default)]
struct Context {
    root: bool,
    mapping: bool,
    simple_key: bool,
}

/// The emitter's state, named as in `emitter.py`. `column` counts characters;
/// the output is ASCII, so that is also bytes.
struct Emitter {
    out: String,
    indents: Vec<Option<usize>>,
    indent: Option<usize>,
    context: Context,
    column: usize,
    whitespace: bool,
    indention: bool,
    open_ended: bool,
}

impl Default for Emitter {
    fn default() -> Self {
        Emitter {
            out: String::new(),
            indents: Vec::new(),
            indent: None,
            context: Context::default(),
            column: 0,
            whitespace: true,
            indention: true,
            open_ended: false,
        }
    }
}

impl Emitter {
    /// One implicit document (never `---`: `check_empty_document` is false for
    /// every tagged scalar), then `...` if the root was a plain scalar.
    fn document(&mut self, value: &Value) {
        self.expect_node(
            value,
            Context {
                root: true,
                ..Context::default()
            },
        );
        // expect_document_end
        self.write_indent();
        // expect_document_start at StreamEndEvent
        if self.open_ended {
            self.write_indicator("...", true, false, false);
            self.write_indent();
        }
    }

    fn expect_node(&mut self, value: &Value, context: Context) {
        self.context = context;
        match value {
            // Empty collections are flow: `[]`, `{}`.
            Value::Array(items) if items.is_empty() => self.expect_empty_flow("[", "]"),
            Value::Object(entries) if entries.is_empty() => self.expect_empty_flow("{", "}"),
            Value::Array(items) => self.expect_block_sequence(items),
            Value::Object(entries) => self.expect_block_mapping(entries),
            scalar => self.expect_scalar(&represent_scalar(scalar)),
        }
    }

    fn expect_scalar(&mut self, scalar: &Scalar) {
        self.increase_indent(true, false);
        self.process_scalar(scalar);
        self.indent = self.indents.pop().expect("pushed above");
    }

    fn expect_empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.increase_indent(true, false);
        self.indent = self.indents.pop().expect("pushed above");
        self.write_indicator(close, false, false, false);
    }

    fn expect_block_sequence(&mut self, items: &[Value]) {
        let indentless = self.context.mapping && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.expect_node(item, Context::default());
        }
        self.indent = self.indents.pop().expect("pushed above");
    }

    fn expect_block_mapping(&mut self, entries: &[(String, Value)]) {
        self.increase_indent(false, false);
        let mut sorted: Vec<&(String, Value)> = entries.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let in_mapping = Context {
            mapping: true,
            ..Context::default()
        };
        for (key, value) in sorted {
            let key = represent_scalar(&Value::String(key.clone()));
            self.write_indent();
            if check_simple_key(&key) {
                self.context = Context {
                    simple_key: true,
                    ..in_mapping
                };
                self.expect_scalar(&key);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.context = in_mapping;
                self.expect_scalar(&key);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.expect_node(value, in_mapping);
        }
        self.indent = self.indents.pop().expect("pushed above");
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        match self.indent {
            None => self.indent = Some(if flow { INDENT } else { 0 }),
            Some(n) if !indentless => self.indent = Some(n + INDENT),
            Some(_) => {}
        }
    }

    /// `choose_scalar_style` for an event with no requested style, outside
    /// flow context.
    fn choose_scalar_style(&self, scalar: &Scalar, analysis: &Analysis) -> Style {
        let simple_key = self.context.simple_key;
        if scalar.plain_implicit
            && !(simple_key && (analysis.empty || analysis.multiline))
            && analysis.allow_block_plain
        {
            return Style::Plain;
        }
        if analysis.allow_single_quoted && !(simple_key && analysis.multiline) {
            return Style::SingleQuoted;
        }
        Style::DoubleQuoted
    }

    fn process_scalar(&mut self, scalar: &Scalar) {
        let analysis = analyze_scalar(&scalar.text);
        let split = !self.context.simple_key;
        match self.choose_scalar_style(scalar, &analysis) {
            Style::Plain => self.write_plain(&scalar.text, split),
            Style::SingleQuoted => self.write_single_quoted(&scalar.text, split),
            Style::DoubleQuoted => self.write_double_quoted(&scalar.text, split),
        }
    }

    // Writers.

    fn write(&mut self, data: &str) {
        self.column += data.chars().count();
        self.out.push_str(data);
    }

    fn write_chars(&mut self, data: &[char]) {
        self.column += data.len();
        self.out.extend(data);
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        whitespace: bool,
        indention: bool,
    ) {
        if !self.whitespace && need_whitespace {
            self.write(" ");
        }
        self.write(indicator);
        self.whitespace = whitespace;
        self.indention = self.indention && indention;
        self.open_ended = false;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.write_line_break();
        }
        if self.column < indent {
            self.whitespace = true;
            let pad = " ".repeat(indent - self.column);
            self.write(&pad);
        }
    }

    /// Always `\n`: other break characters never reach a plain or
    /// single-quoted scalar (they are not printable ASCII).
    fn write_line_break(&mut self) {
        self.whitespace = true;
        self.indention = true;
        self.column = 0;
        self.out.push('\n');
    }

    fn write_plain(&mut self, text: &[char], split: bool) {
        if self.context.root {
            self.open_ended = true;
        }
        if text.is_empty() {
            return;
        }
        if !self.whitespace {
            self.write(" ");
        }
        self.whitespace = false;
        self.indention = false;
        // Plain scalars never hold line breaks (`analyze_scalar` forbids it),
        // so only the `spaces` branch of PyYAML's loop is live.
        let mut spaces = false;
        let mut start = 0;
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            debug_assert!(!ch.is_some_and(is_break));
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > WIDTH && split {
                        self.write_indent();
                        self.whitespace = false;
                        self.indention = false;
                    } else {
                        self.write_chars(&text[start..end]);
                    }
                    start = end;
                }
            } else if ch.is_none() || ch == Some(' ') {
                self.write_chars(&text[start..end]);
                start = end;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
            }
        }
    }

    fn write_single_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("'", true, false, false);
        let mut spaces = false;
        let mut breaks = false;
        let mut start = 0;
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end
                        && self.column > WIDTH
                        && split
                        && start != 0
                        && end != text.len()
                    {
                        self.write_indent();
                    } else {
                        self.write_chars(&text[start..end]);
                    }
                    start = end;
                }
            } else if breaks {
                if !ch.is_some_and(is_break) {
                    if text[start] == '\n' {
                        self.write_line_break();
                    }
                    for _ in start..end {
                        self.write_line_break();
                    }
                    self.write_indent();
                    start = end;
                }
            } else if (ch.is_none() || ch.is_some_and(|c| c == ' ' || c == '\'' || is_break(c)))
                && start < end
            {
                self.write_chars(&text[start..end]);
                start = end;
            }
            if ch == Some('\'') {
                self.write("''");
                start = end + 1;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
        }
        self.write_indicator("'", false, false, false);
    }

    fn write_double_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("\"", true, false, false);
        let mut start = 0;
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            if ch.is_none_or(needs_escape) {
                if start < end {
                    self.write_chars(&text[start..end]);
                    start = end;
                }
                if let Some(c) = ch {
                    self.write(&escape(c));
                    start = end + 1;
                }
            }
            if 0 < end
                && end + 1 < text.len()
                && (ch == Some(' ') || start >= end)
                // Right after an escape `start` is `end + 1`, so this is
                // `column - 1`: PyYAML's arithmetic, kept as is.
                && (self.column + end) as isize - start as isize > WIDTH as isize
                && split
            {
                if start < end {
                    self.write_chars(&text[start..end]);
                    start = end;
                }
                self.write("\\");
                self.write_indent();
                self.whitespace = false;
                self.indention = false;
                if text[start] == ' ' {
                    self.write("\\");
                }
            }
        }
        self.write_indicator("\"", false, false, false);
    }
}

/// `check_simple_key` for a scalar key.
fn check_simple_key(key: &Scalar) -> bool {
    let analysis = analyze_scalar(&key.text);
    key.text.len() < MAX_SIMPLE_KEY && !analysis.empty && !analysis.multiline
}

/// What `write_double_quoted` escapes with `allow_unicode=False`.
fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '"' | '\\' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}'
    ) || !(' '..='~').contains(&c)
}

/// `ESCAPE_REPLACEMENTS`, else `\xXX`, `\uXXXX` or `\UXXXXXXXX` (uppercase).
fn escape(c: char) -> String {
    let short = match c {
        '\0' => '0',
        '\u{07}' => 'a',
        '\u{08}' => 'b',
        '\t' => 't',
        '\n' => 'n',
        '\u{0B}' => 'v',
        '\u{0C}' => 'f',
        '\r' => 'r',
        '\u{1B}' => 'e',
        '"' => '"',
        '\\' => '\\',
        '\u{85}' => 'N',
        '\u{A0}' => '_',
        '\u{2028}' => 'L',
        '\u{2029}' => 'P',
        _ => {
            let n = c as u32;
            return if n <= 0xFF {
                format!("\\x{n:02X}")
            } else if n <= 0xFFFF {
                format!("\\u{n:04X}")
            } else {
                format!("\\U{n:08X}")
            };
        }
    };
    format!("\\{short}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canon::Integer;

    fn s(text: &str) -> Value {
        Value::String(text.into())
    }

    fn dump(value: Value) -> String {
        safe_dump_sorted(&value).unwrap()
    }

    fn map(entries: &[(&str, Value)]) -> Value {
        Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn legacy_strings_that_resolve_to_other_types_are_single_quoted() {
        for text in [
            "yes",
            "No",
            "ON",
            "true",
            "1.0",
            "0755",
            "1_000",
            ".inf",
            "-.inf",
            ".nan",
            "",
            "null",
            "~",
            "2025-01-01",
            "<<",
            "=",
            "0x1F",
            "0b101",
            "1:30",
            "1:30.5",
            "2001-12-14t21:59:43.10-05:00",
            "+1",
            "-0",
        ] {
            let text_quoted = text.replace('\'', "''");
            assert_eq!(
                dump(map(&[("k", s(text))])),
                format!("k: '{text_quoted}'\n"),
                "{text:?}"
            );
        }
    }

    #[test]
    fn legacy_strings_that_stay_strings_are_plain() {
        for text in [
            "y",
            "n",
            "1e5",
            "08",
            "1.0.0",
            "a:b",
            "x#y",
            "-a",
            "a-b",
            "hello world",
            "2025-1-1",
            "1e-05",
            "path/to/file.txt",
            "https://example.com/a?b=c",
            "NaN",
            "inf",
        ] {
            assert_eq!(
                dump(map(&[("k", s(text))])),
                format!("k: {text}\n"),
                "{text:?}"
            );
        }
    }

    #[test]
    fn legacy_indicators_and_whitespace_force_quotes() {
        let cases = [
            ("- a", "'- a'"),
            ("? a", "'? a'"),
            (": a", "': a'"),
            ("a: b: ", "'a: b: '"),
            ("a #b", "'a #b'"),
            ("[a]", "'[a]'"),
            ("{a}", "'{a}'"),
            ("!tag", "'!tag'"),
            ("&a", "'&a'"),
            ("*a", "'*a'"),
            ("|", "'|'"),
            (">", "'>'"),
            ("'q'", "'''q'''"),
            ("\"q\"", "'\"q\"'"),
            ("%x", "'%x'"),
            ("@x", "'@x'"),
            ("`x", "'`x'"),
            ("---", "'---'"),
            (" lead", "' lead'"),
            ("trail ", "'trail '"),
            ("tab\there", "\"tab\\there\""),
            ("café", "\"caf\\xE9\""),
            ("日本", "\"\\u65E5\\u672C\""),
            ("😀", "\"\\U0001F600\""),
            (
                "\u{1b}\u{85}\u{a0}\u{2028}\u{2029}\0",
                "\"\\e\\N\\_\\L\\P\\0\"",
            ),
            ("\u{feff}", "\"\\uFEFF\""),
        ];
        for (text, expected) in cases {
            assert_eq!(
                dump(map(&[("k", s(text))])),
                format!("k: {expected}\n"),
                "{text:?}"
            );
        }
    }

    #[test]
    fn legacy_numbers_follow_python_repr() {
        let cases: &[(f64, &str)] = &[
            (1e-5, "1.0e-05"),
            (1.5e-5, "1.5e-05"),
            (1e16, "1.0e+16"),
            (1e15, "1000000000000000.0"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (1e300, "1.0e+300"),
            (-0.0, "-0.0"),
            (5e-324, "5.0e-324"),
            (3.0, "3.0"),
            (-2.5, "-2.5"),
            (123456789.125, "123456789.125"),
            // An exact tie between two shortest candidates: Python picks the
            // even last digit, Rust's `{:e}` the upper one.
            (-(1_847_955_633_273_349.0 + 0.25), "-1847955633273349.2"),
        ];
        for (x, expected) in cases {
            assert_eq!(dump(Value::Float(*x)), format!("{expected}\n...\n"));
        }
        let big = Integer::from_decimal("18446744073709551557").unwrap();
        assert_eq!(dump(Value::Int(big)), "18446744073709551557\n...\n");
    }

    #[test]
    fn legacy_collections_are_laid_out_like_pyyaml() {
        let value = map(&[
            (
                "seeds",
                Value::Array(vec![Value::Int(1i64.into()), Value::Int(2i64.into())]),
            ),
            ("empty_list", Value::Array(vec![])),
            ("empty_map", Value::Object(vec![])),
            (
                "runs",
                Value::Array(vec![
                    map(&[("b", Value::Bool(true)), ("a", Value::Null)]),
                    Value::Array(vec![s(""), Value::Array(vec![])]),
                ]),
            ),
            ("nested", map(&[("x", map(&[("y", s("z"))]))])),
        ]);
        assert_eq!(
            dump(value),
            "empty_list: []\nempty_map: {}\nnested:\n  x:\n    y: z\nruns:\n- a: null\n  b: true\n- - ''\n  - []\nseeds:\n- 1\n- 2\n"
        );
    }

    #[test]
    fn legacy_multiline_and_long_strings_fold() {
        assert_eq!(
            dump(map(&[("p", s("line one\nline two\n"))])),
            "p: 'line one\n\n  line two\n\n  '\n"
        );
        assert_eq!(dump(map(&[("p", s("a \nb"))])), "p: \"a \\nb\"\n");
        let long = ["word"; 30].join(" ");
        assert_eq!(
            dump(map(&[("k", s(&long))])),
            format!(
                "k: {}\n  {}\n",
                ["word"; 16].join(" "),
                ["word"; 14].join(" ")
            )
        );
    }

    #[test]
    fn legacy_odd_keys() {
        assert_eq!(dump(map(&[("", s("v"))])), "? ''\n: v\n");
        assert_eq!(dump(map(&[("yes", s("v"))])), "'yes': v\n");
        assert_eq!(dump(map(&[("a\nb", s("v"))])), "? 'a\n\n  b'\n: v\n");
        let long = "k".repeat(123);
        assert_eq!(dump(map(&[(&long, s("v"))])), format!("? {long}\n: v\n"));
        let short = "k".repeat(122);
        assert_eq!(dump(map(&[(&short, s("v"))])), format!("{short}: v\n"));
    }

    #[test]
    fn legacy_root_scalars_end_the_document() {
        assert_eq!(dump(s("a")), "a\n...\n");
        assert_eq!(dump(s("yes")), "'yes'\n");
        assert_eq!(dump(Value::Null), "null\n...\n");
        assert_eq!(dump(Value::Array(vec![])), "[]\n");
    }

    #[test]
    fn legacy_declares_unverifiable() {
        let mut deep = Value::Null;
        for _ in 0..=MAX_DEPTH {
            deep = Value::Array(vec![deep]);
        }
        assert!(safe_dump_sorted(&deep).is_err());
        let huge = Integer::from_decimal(&"9".repeat(4301)).unwrap();
        assert!(safe_dump_sorted(&Value::Int(huge)).is_err());
        let ok = Integer::from_decimal(&"9".repeat(4300)).unwrap();
        assert!(safe_dump_sorted(&Value::Int(ok)).is_ok());
        let twice = map(&[("a", Value::Null), ("a", Value::Null)]);
        assert!(safe_dump_sorted(&twice).is_err());
    }
}
