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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_by_exponent() {
        assert_eq!(from_major(12.34, "EUR"), Some(1234));
        assert_eq!(from_major(1234.0, "JPY"), Some(1234));
        assert_eq!(from_major(1.2345, "KWD"), Some(1235));
        assert_eq!(to_major(1234, "usd"), 12.34);
        assert_eq!(from_major(f64::NAN, "EUR"), None);
    }
}
