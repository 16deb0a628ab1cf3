//! Countries as the CRM offers them: ISO 3166-1 alpha-2 code, English name and international
//! calling prefix (from libphonenumber's metadata).

use std::sync::LazyLock;

/// One country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country {
    pub code: &'static str,
    pub name: &'static str,
    /// `+353`; empty for territories without a calling code of their own.
    pub phone_prefix: String,
}

static COUNTRIES: LazyLock<Vec<Country>> = LazyLock::new(|| {
    let mut all: Vec<Country> = isocountry::CountryCode::iter()
        .map(|c| Country {
            code: c.alpha2(),
            name: c.name(),
            phone_prefix: phonenumber::metadata::DATABASE
                .by_id(c.alpha2())
                .map(|m| format!("+{}", m.country_code()))
                .unwrap_or_default(),
        })
        .collect();
    all.sort_by_key(|c| c.code);
    all
});

/// Every country, sorted by code.
pub fn countries() -> &'static [Country] {
    &COUNTRIES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_names_and_prefixes() {
        let all = countries();
        assert!(all.len() >= 240, "{}", all.len());
        assert!(all.windows(2).all(|w| w[0].code < w[1].code), "sorted by code");
        let ie = all.iter().find(|c| c.code == "IE").expect("Ireland");
        assert_eq!(ie.name, "Ireland");
        assert_eq!(ie.phone_prefix, "+353");
        assert_eq!(all.iter().find(|c| c.code == "AU").map(|c| c.phone_prefix.as_str()), Some("+61"));
    }
}
