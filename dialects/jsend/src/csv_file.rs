//! Reading an uploaded CSV file: RFC 4180 quoting, UTF-8 with or without a byte-order mark, a
//! header line whose column names match in their label form (`Opportunity ID*`) or snake form
//! (`opp_id`), ignoring case, spaces and punctuation; amounts and dates in the common forms.

use chrono::{NaiveDate, NaiveDateTime};

/// A column name with case, spaces, punctuation and the required-field star taken away:
/// `Opportunity ID*` and `opportunity_id` are both `opportunityid`.
pub fn normalize_header(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// The columns of a file: for each field an import knows, the index of its column.
pub struct Columns {
    found: Vec<(&'static str, usize)>,
}

impl Columns {
    /// Matches a header line against `fields` (each field's accepted names, normalised).
    pub fn match_header(header: &csv::StringRecord, fields: &[(&'static str, &[&str])]) -> Columns {
        let names: Vec<String> = header.iter().map(normalize_header).collect();
        let found = fields
            .iter()
            .filter_map(|(field, aliases)| {
                names.iter().position(|n| aliases.contains(&n.as_str())).map(|i| (*field, i))
            })
            .collect();
        Columns { found }
    }

    pub fn has(&self, field: &str) -> bool {
        self.found.iter().any(|(f, _)| *f == field)
    }

    /// The trimmed value of `field` in `record`; `None` when the column is missing or blank.
    pub fn get(&self, record: &csv::StringRecord, field: &str) -> Option<String> {
        let (_, i) = self.found.iter().find(|(f, _)| *f == field)?;
        record.get(*i).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
    }
}

/// A reader over a file's bytes, a byte-order mark skipped, rows of any length accepted (a short
/// row's missing columns are blank).
pub fn reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(bytes)
}

/// An amount as exports write it (`80000`, `80,000.50`, `$ 1,200`), in minor units (cents).
pub fn parse_amount(raw: &str) -> Result<i64, String> {
    let cleaned: String = raw.chars().filter(|c| !matches!(c, ',' | '$' | '€' | '£' | ' ' | '\u{a0}')).collect();
    let value: f64 = cleaned.parse().map_err(|_| format!("amount {raw:?} is not a number"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("amount {raw:?} must be a number not below zero"));
    }
    kith_domain::money::from_major(value, "USD").ok_or_else(|| format!("amount {raw:?} is too large"))
}

/// A date as exports write it: `2017-02-15`, `2017/02/15`, `2/15/2017` (month first),
/// `2017-02-15 00:00:00`, `2017-02-15T00:00:00Z`.
pub fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    let raw = raw.trim();
    for format in ["%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%m-%d-%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(raw, format) {
            return Ok(d);
        }
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, format) {
            return Ok(t.date());
        }
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Ok(t.date_naive());
    }
    Err(format!("{raw:?} is not a date (YYYY-MM-DD or M/D/YYYY)"))
}

/// A month: any date in it, or `2017-02`, `02/2017`, `Feb 2017`, `February 2017`.
pub fn parse_month(raw: &str) -> Result<NaiveDate, String> {
    let raw = raw.trim();
    if let Ok(d) = parse_date(raw) {
        return Ok(d);
    }
    let first = |s: String, format: &str| NaiveDate::parse_from_str(&s, format).ok();
    first(format!("{raw}-01"), "%Y-%m-%d")
        .or_else(|| first(format!("01/{raw}"), "%d/%m/%Y"))
        .or_else(|| first(format!("1 {raw}"), "%d %b %Y"))
        .or_else(|| first(format!("1 {raw}"), "%d %B %Y"))
        .ok_or_else(|| format!("{raw:?} is not a month (YYYY-MM or a date)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_in_either_form() {
        assert_eq!(normalize_header("Opportunity ID*"), "opportunityid");
        assert_eq!(normalize_header(" opp_id "), "oppid");
        assert_eq!(normalize_header("Account URL/Website"), "accounturlwebsite");
    }

    #[test]
    fn amounts_and_dates_in_the_common_forms() {
        assert_eq!(parse_amount("80000"), Ok(8_000_000));
        assert_eq!(parse_amount("$80,000.50"), Ok(8_000_050));
        assert!(parse_amount("-1").is_err());
        assert!(parse_amount("lots").is_err());
        let d = NaiveDate::from_ymd_opt(2017, 2, 15);
        for raw in
            ["2017-02-15", "2017/02/15", "2/15/2017", "02/15/2017", "2017-02-15 00:00:00", "2017-02-15T08:00:00Z"]
        {
            assert_eq!(parse_date(raw).ok(), d, "{raw}");
        }
        assert!(parse_date("15.02.2017x").is_err());
        let feb = NaiveDate::from_ymd_opt(2017, 2, 1);
        for raw in ["2017-02", "02/2017", "Feb 2017", "February 2017", "2017-02-01"] {
            assert_eq!(parse_month(raw).ok(), feb, "{raw}");
        }
    }
}
