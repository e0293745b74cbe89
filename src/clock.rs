//! Time as rk writes it: UTC, RFC 3339, microseconds, `Z` suffix (docs/FORMATS.md#run-state).
//!
//! `RK_NOW` (RFC 3339) overrides the clock so tests and demos give
//! reproducible output. No calendar crate: the civil-date arithmetic is the
//! small, well-known days-from-civil algorithm.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC instant with microsecond precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Microseconds since the Unix epoch.
    pub micros: i64,
}

impl Timestamp {
    pub fn from_unix_micros(micros: i64) -> Timestamp {
        Timestamp { micros }
    }

    pub fn unix_ms(self) -> i64 {
        self.micros.div_euclid(1000)
    }

    /// Parse RFC 3339 (`2025-09-02T21:46:43.120001Z`, `…+02:00`, fraction optional).
    pub fn parse(text: &str) -> Option<Timestamp> {
        let b = text.trim().as_bytes();
        if b.len() < 20 {
            return None;
        }
        let num = |s: &[u8]| -> Option<i64> {
            if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(s).ok()?.parse().ok()
        };
        let (year, month, day) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
        if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        let (hour, minute, second) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        if !(1..=12).contains(&month)
            || !(1..=days_in_month(year, month)).contains(&day)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let mut rest = &b[19..];
        let mut micros = 0i64;
        if rest.first() == Some(&b'.') {
            let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            for i in 0..6 {
                micros = micros * 10
                    + if i < digits {
                        (rest[1 + i] - b'0') as i64
                    } else {
                        0
                    };
            }
            rest = &rest[1 + digits..];
        }
        let offset_secs = match rest {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let h = num(&[*h1, *h2])?;
                let m = num(&[*m1, *m2])?;
                if h > 23 || m > 59 {
                    return None;
                }
                let s = (h * 60 + m) * 60;
                if *sign == b'+' {
                    s
                } else {
                    -s
                }
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
        Some(Timestamp {
            micros: secs * 1_000_000 + micros,
        })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.micros.div_euclid(1_000_000);
        let micros = self.micros.rem_euclid(1_000_000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        if !(0..=9999).contains(&y) {
            return write!(
                f,
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
                sod / 3600,
                sod / 60 % 60,
                sod % 60
            );
        }
        // The common case without the formatting machinery: listings print
        // thousands of these.
        let mut out = *b"0000-00-00T00:00:00.000000Z";
        let mut put = |at: usize, width: usize, mut n: i64| {
            for i in (at..at + width).rev() {
                out[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        put(0, 4, y);
        put(5, 2, m);
        put(8, 2, d);
        put(11, 2, sod / 3600);
        put(14, 2, sod / 60 % 60);
        put(17, 2, sod % 60);
        put(20, 6, micros);
        f.write_str(std::str::from_utf8(&out).expect("ASCII digits"))
    }
}

/// The last instant rk writes: 9999-12-31T23:59:59.999999Z. Timestamps are
/// four-digit years; a later one could not be read back.
pub const MAX: Timestamp = Timestamp {
    micros: 253_402_300_799_999_999,
};

/// Check the clock once, before a command runs: `RK_NOW`, when set, must be
/// an RFC 3339 time, and the time must not be past [`MAX`] (a clock set to
/// year 10000 would write timestamps rk cannot read back). The error says
/// which, naming `RK_NOW` when it is the cause.
pub fn check() -> Result<(), String> {
    if let Some(v) = std::env::var_os("RK_NOW") {
        let text = v.to_string_lossy();
        if Timestamp::parse(&text).is_none() {
            return Err(format!(
                "RK_NOW={text:?} is not an RFC 3339 time (like 2025-09-03T10:00:00Z)"
            ));
        }
    }
    let t = now();
    if t > MAX || t.micros < 0 {
        let source = match std::env::var_os("RK_NOW") {
            Some(v) => format!("RK_NOW={:?} is", v.to_string_lossy()),
            None => "the system clock reads".into(),
        };
        return Err(format!(
            "{source} {t}, outside the years 1970 to 9999 that rk's timestamps hold"
        ));
    }
    Ok(())
}

/// The current time, or `RK_NOW` when it is set and valid ([`check`] refuses
/// an invalid one before any command runs).
pub fn now() -> Timestamp {
    if let Some(t) = std::env::var("RK_NOW")
        .ok()
        .and_then(|v| Timestamp::parse(&v))
    {
        return t;
    }
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        micros: d.as_micros() as i64,
    }
}

/// A compact form for file names (`20250902T214643Z`), used for backups
/// such as `run_state.json.corrupt.<ts>`.
pub fn file_stamp(t: Timestamp) -> String {
    let s = t.to_string();
    format!(
        "{}{}{}T{}{}{}Z",
        &s[0..4],
        &s[5..7],
        &s[8..10],
        &s[11..13],
        &s[14..16],
        &s[17..19]
    )
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rfc3339() {
        let t = Timestamp::parse("2025-09-02T21:46:43.120001Z").unwrap();
        assert_eq!(t.to_string(), "2025-09-02T21:46:43.120001Z");
        let t = Timestamp::parse("2024-02-29T23:00:00+01:00").unwrap();
        assert_eq!(t.to_string(), "2024-02-29T22:00:00.000000Z");
        assert_eq!(file_stamp(t), "20240229T220000Z");
        assert_eq!(
            Timestamp::from_unix_micros(0).to_string(),
            "1970-01-01T00:00:00.000000Z"
        );
    }

    #[test]
    fn leap_days_and_the_last_instant() {
        assert!(Timestamp::parse("2024-02-29T00:00:00Z").is_some());
        assert!(Timestamp::parse("2000-02-29T00:00:00Z").is_some());
        assert_eq!(Timestamp::parse("1900-02-29T00:00:00Z"), None);
        let last = Timestamp::parse("9999-12-31T23:59:59.999999Z").unwrap();
        assert_eq!(last, MAX);
        assert_eq!(Timestamp::parse(&last.to_string()), Some(last));
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            "2025-13-01T00:00:00Z",
            "2025-01-01",
            "2025-01-01T00:00:00",
            "x025-01-01T00:00:00Z",
            "2025-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2025-04-31T00:00:00Z",
            "2025-01-01T00:00:00.Z",
            "2025-01-01T00:00:00+1:00",
            "2025-01-01T00:00:00+99:00",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }
}
