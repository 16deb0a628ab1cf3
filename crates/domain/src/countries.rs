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

/// Names people use where the ISO name is long or formal: the code, the name to show, and
/// other names that mean the same country.
const COMMON_NAMES: &[(&str, &str, &[&str])] = &[
    ("US", "United States", &["USA", "U.S.", "U.S.A.", "America"]),
    ("GB", "United Kingdom", &["UK", "U.K.", "Great Britain", "Britain", "England", "Scotland", "Wales"]),
    ("KR", "South Korea", &["Korea", "Republic of Korea"]),
    ("KP", "North Korea", &[]),
    ("RU", "Russia", &[]),
    ("IR", "Iran", &[]),
    ("VN", "Vietnam", &[]),
    ("BO", "Bolivia", &[]),
    ("VE", "Venezuela", &[]),
    ("TZ", "Tanzania", &[]),
    ("SY", "Syria", &[]),
    ("MD", "Moldova", &[]),
    ("LA", "Laos", &[]),
    ("TW", "Taiwan", &[]),
    ("CD", "DR Congo", &["Democratic Republic of the Congo"]),
    ("CG", "Congo", &["Republic of the Congo"]),
    ("FM", "Micronesia", &[]),
    ("PS", "Palestine", &[]),
    ("VA", "Vatican City", &["Vatican", "Holy See"]),
    ("BN", "Brunei", &[]),
    ("MK", "North Macedonia", &["Macedonia"]),
    ("CI", "Ivory Coast", &["Côte d'Ivoire", "Cote d'Ivoire"]),
    ("CV", "Cape Verde", &["Cabo Verde"]),
    ("SZ", "Eswatini", &["Swaziland"]),
    ("NL", "Netherlands", &["Holland", "The Netherlands"]),
    ("AE", "United Arab Emirates", &["UAE"]),
    ("TR", "Turkey", &["Türkiye"]),
    ("CZ", "Czechia", &["Czech Republic"]),
];

/// The name a country is usually shown by: its common name, else its ISO name.
pub fn common_name(code: &str) -> Option<&'static str> {
    COMMON_NAMES
        .iter()
        .find(|(c, _, _)| c.eq_ignore_ascii_case(code))
        .map(|(_, name, _)| *name)
        .or_else(|| countries().iter().find(|c| c.code.eq_ignore_ascii_case(code)).map(|c| c.name))
}

/// The country a person means by `text`: an ISO code, an ISO name, a common name, or the first
/// words of exactly one ISO name ("Bolivia" for "Bolivia (Plurinational State of)"), ignoring
/// case.
pub fn lookup(text: &str) -> Option<&'static Country> {
    let raw = text.trim();
    if raw.is_empty() {
        return None;
    }
    let all = countries();
    let by_code = |code: &str| all.iter().find(|c| c.code == code);
    if let Some(c) = all.iter().find(|c| c.code.eq_ignore_ascii_case(raw) || c.name.eq_ignore_ascii_case(raw)) {
        return Some(c);
    }
    if let Some((code, _, _)) = COMMON_NAMES
        .iter()
        .find(|(_, name, others)| name.eq_ignore_ascii_case(raw) || others.iter().any(|o| o.eq_ignore_ascii_case(raw)))
    {
        return by_code(code);
    }
    let lower = raw.to_lowercase();
    let mut found = all.iter().filter(|c| {
        let name = c.name.to_lowercase();
        name.strip_prefix(&lower).is_some_and(|rest| rest.starts_with([' ', ',', '(']))
    });
    match (found.next(), found.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
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

    #[test]
    fn common_names_and_lookup() {
        let code = |t: &str| lookup(t).map(|c| c.code);
        assert_eq!(code("United States"), Some("US"));
        assert_eq!(code("united states of america"), Some("US"));
        assert_eq!(code("usa"), Some("US"));
        assert_eq!(code("us"), Some("US"));
        assert_eq!(code("UK"), Some("GB"));
        assert_eq!(code("United Kingdom"), Some("GB"));
        assert_eq!(code("Bolivia"), Some("BO"));
        assert_eq!(code("Ireland"), Some("IE"));
        assert_eq!(code("Atlantis"), None);
        assert_eq!(code(""), None);
        assert_eq!(common_name("US"), Some("United States"));
        assert_eq!(common_name("ie"), Some("Ireland"));
        assert_eq!(common_name("ZZ"), None);
        // Every common name and alias names one country, and no two countries share one.
        for (c, name, others) in COMMON_NAMES {
            for n in std::iter::once(name).chain(others.iter()) {
                assert_eq!(code(n), Some(*c), "{n}");
            }
        }
    }
}
