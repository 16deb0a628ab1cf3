//! Money is stored as an integer count of the currency's minor unit; dialects that speak in
//! major units convert with the ISO 4217 exponent.

/// Currencies whose minor unit is not 1/100 (ISO 4217).
const ZERO_DECIMALS: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF",
    "XPF",
];
const THREE_DECIMALS: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

/// Digits after the decimal point for a currency (2 when the code is unknown).
pub fn exponent(currency: &str) -> u32 {
    let code = currency.to_ascii_uppercase();
    if ZERO_DECIMALS.contains(&code.as_str()) {
        0
    } else if THREE_DECIMALS.contains(&code.as_str()) {
        3
    } else {
        2
    }
}

pub fn to_major(minor: i64, currency: &str) -> f64 {
    minor as f64 / 10f64.powi(exponent(currency) as i32)
}

/// Converts a major-unit amount, rounding to the nearest minor unit. `None` when it does not fit.
pub fn from_major(major: f64, currency: &str) -> Option<i64> {
    let scaled = (major * 10f64.powi(exponent(currency) as i32)).round();
    (scaled.is_finite() && scaled.abs() < 9.0e15).then_some(scaled as i64)
}

/// A well-formed ISO 4217 code: three ASCII letters.
pub fn valid_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic())
}

/// An amount as a decimal string in major units with the currency's digits (`"1599.99"`,
/// `"-0.50"`, `"1000"` for JPY): exact, with no binary floating point in between.
pub fn to_decimal(minor: i64, currency: &str) -> String {
    let exp = exponent(currency);
    if exp == 0 {
        return minor.to_string();
    }
    let unit = 10u64.pow(exp);
    let abs = minor.unsigned_abs();
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}.{:0width$}", abs / unit, abs % unit, width = exp as usize)
}

/// Reads a decimal amount in major units (`"1599.99"`, `"12"`, `"-3.5"`, `"1e3"` is refused)
/// into minor units of the currency, rounding half away from zero past the currency's digits.
/// `None` when the text is not a plain decimal number or does not fit.
pub fn parse_decimal(text: &str, currency: &str) -> Option<i64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if (whole.is_empty() && fraction.is_empty())
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let exp = exponent(currency) as usize;
    let mut minor: i128 = 0;
    for b in whole.bytes().chain(fraction.bytes().chain(std::iter::repeat(b'0')).take(exp)) {
        minor = minor.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
        if minor > i128::from(i64::MAX) {
            return None;
        }
    }
    if fraction.as_bytes().get(exp).is_some_and(|d| *d >= b'5') {
        minor += 1;
    }
    let minor = i64::try_from(minor).ok()?;
    Some(if negative { -minor } else { minor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_round_trip_exactly() {
        assert_eq!(to_decimal(159_999, "USD"), "1599.99");
        assert_eq!(to_decimal(-50, "EUR"), "-0.50");
        assert_eq!(to_decimal(1000, "JPY"), "1000");
        assert_eq!(to_decimal(1_234, "KWD"), "1.234");
        assert_eq!(parse_decimal("1599.99", "USD"), Some(159_999));
        assert_eq!(parse_decimal("11.12", "EUR"), Some(1112));
        assert_eq!(parse_decimal("1000", "USD"), Some(100_000));
        assert_eq!(parse_decimal("0.30000000000000004", "USD"), Some(30));
        assert_eq!(parse_decimal("2.675", "USD"), Some(268));
        assert_eq!(parse_decimal("-3.5", "USD"), Some(-350));
        assert_eq!(parse_decimal(".5", "USD"), Some(50));
        assert_eq!(parse_decimal("12", "JPY"), Some(12));
        for bad in ["", ".", "1e3", "1,5", "abc", "1.2.3", "--1", "99999999999999999999"] {
            assert_eq!(parse_decimal(bad, "USD"), None, "{bad}");
        }
    }

    #[test]
    fn converts_by_exponent() {
        assert_eq!(from_major(12.34, "EUR"), Some(1234));
        assert_eq!(from_major(1234.0, "JPY"), Some(1234));
        assert_eq!(from_major(1.2345, "KWD"), Some(1235));
        assert_eq!(to_major(1234, "usd"), 12.34);
        assert_eq!(from_major(f64::NAN, "EUR"), None);
    }
}
