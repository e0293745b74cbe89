//! rk's settings read from the environment as whole numbers (`RK_THREADS`,
//! `RK_LOCK_TIMEOUT_MS`): unset or empty means the default; any other value
//! must be a whole number in range, and the CLI refuses one that is not
//! before any command runs (rk(1), ENVIRONMENT).

/// The whole number `name` holds when set and not empty, if `valid` takes
/// it; otherwise the text as it was given, for the error to quote.
pub fn whole_number<T: std::str::FromStr>(
    name: &str,
    valid: impl Fn(&T) -> bool,
) -> Result<Option<T>, String> {
    let Some(value) = std::env::var_os(name).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let text = value.to_string_lossy();
    match text.trim().parse::<T>() {
        Ok(n) if valid(&n) => Ok(Some(n)),
        _ => Err(text.into_owned()),
    }
}
