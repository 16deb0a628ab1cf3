//! Paging parameters every dialect parses: page numbers, limit/offset. Every number a client
//! sends is bounded here, where it is parsed, so no offset a store binds can overflow.

/// The deepest page number any dialect accepts: with at most a few thousand rows a page, the
/// offset stays far inside the range of every database's integers.
pub const MAX_PAGE: u64 = 1_000_000_000;

/// The largest offset a limit/offset dialect accepts.
pub const MAX_OFFSET: u64 = 1_000_000_000_000;

/// A 1-based page of `per_page` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageNumber {
    pub page: u64,
    pub per_page: u64,
}

impl PageNumber {
    /// Rows before this page. Bounded: `page ≤ MAX_PAGE` and `per_page` is a dialect's maximum.
    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

/// What is wrong with a page request; each dialect words it its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagingError {
    /// `page` is not a positive integer.
    Page,
    /// `page` is a positive integer beyond `MAX_PAGE`.
    PageTooLarge,
    /// `per_page` is not a positive integer.
    PerPage,
    /// `per_page` is more than the dialect's maximum.
    PerPageTooLarge,
}

/// Reads `page` and `per_page` (absent or blank: 1 and `default_per_page`).
pub fn page_number(
    page: Option<&str>,
    per_page: Option<&str>,
    default_per_page: u64,
    max_per_page: u64,
) -> Result<PageNumber, PagingError> {
    let page = match page.map(str::trim).filter(|p| !p.is_empty()) {
        None => 1,
        Some(p) => match positive(p) {
            Some(n) if n > MAX_PAGE => return Err(PagingError::PageTooLarge),
            Some(n) => n,
            None if is_digits(p) => return Err(PagingError::PageTooLarge),
            None => return Err(PagingError::Page),
        },
    };
    let per_page = match per_page.map(str::trim).filter(|p| !p.is_empty()) {
        None => default_per_page,
        Some(p) => match positive(p) {
            Some(n) if n > max_per_page => return Err(PagingError::PerPageTooLarge),
            Some(n) => n,
            None if is_digits(p) && p.trim_start_matches('0').len() > 1 => return Err(PagingError::PerPageTooLarge),
            None => return Err(PagingError::PerPage),
        },
    };
    Ok(PageNumber { page, per_page })
}

/// A `limit`/`offset` pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitOffset {
    pub limit: u64,
    pub offset: u64,
}

/// What is wrong with a limit/offset request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitOffsetError {
    /// `limit` is not an integer from 1 to the dialect's maximum.
    Limit,
    /// `offset` is not an integer from 0 to `MAX_OFFSET`.
    Offset,
}

/// Reads `limit` (1..=`max_limit`, `default_limit` when absent) and `offset` (0..=`MAX_OFFSET`).
pub fn limit_offset(
    limit: Option<&str>,
    offset: Option<&str>,
    default_limit: u64,
    max_limit: u64,
) -> Result<LimitOffset, LimitOffsetError> {
    let limit = match limit.map(str::trim).filter(|p| !p.is_empty()) {
        None => default_limit,
        Some(l) => positive(l).filter(|n| *n <= max_limit).ok_or(LimitOffsetError::Limit)?,
    };
    let offset = match offset.map(str::trim).filter(|p| !p.is_empty()) {
        None => 0,
        Some(o) => o.parse::<u64>().ok().filter(|n| *n <= MAX_OFFSET).ok_or(LimitOffsetError::Offset)?,
    };
    Ok(LimitOffset { limit, offset })
}

fn positive(s: &str) -> Option<u64> {
    s.parse::<u64>().ok().filter(|n| *n >= 1)
}

/// A run of digits too long for `u64` is a number that is too large, not a malformed one.
fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.bytes().any(|b| b != b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_bounded_where_they_are_parsed() {
        assert_eq!(page_number(None, None, 25, 100), Ok(PageNumber { page: 1, per_page: 25 }));
        assert_eq!(page_number(Some(" 3 "), Some("100"), 25, 100), Ok(PageNumber { page: 3, per_page: 100 }));
        assert_eq!(page_number(Some(""), Some(""), 10, 100), Ok(PageNumber { page: 1, per_page: 10 }));
        for huge in ["1000000001", "9223372036854775808", "18446744073709551615", "99999999999999999999999"] {
            assert_eq!(page_number(Some(huge), None, 25, 100), Err(PagingError::PageTooLarge), "{huge}");
        }
        for bad in ["0", "-1", "1.5", "abc", "1e3", "+"] {
            assert_eq!(page_number(Some(bad), None, 25, 100), Err(PagingError::Page), "{bad}");
        }
        assert_eq!(page_number(None, Some("101"), 25, 100), Err(PagingError::PerPageTooLarge));
        assert_eq!(page_number(None, Some("18446744073709551616"), 25, 100), Err(PagingError::PerPageTooLarge));
        assert_eq!(page_number(None, Some("0"), 25, 100), Err(PagingError::PerPage));
        assert_eq!(page_number(None, Some("x"), 25, 100), Err(PagingError::PerPage));
        let deepest = page_number(Some(&MAX_PAGE.to_string()), Some("100"), 25, 100).unwrap();
        assert!(i64::try_from(deepest.offset()).is_ok());
    }

    #[test]
    fn limits_and_offsets_are_bounded() {
        assert_eq!(limit_offset(None, None, 1000, 2000), Ok(LimitOffset { limit: 1000, offset: 0 }));
        assert_eq!(limit_offset(Some("2000"), Some("5"), 1000, 2000), Ok(LimitOffset { limit: 2000, offset: 5 }));
        assert_eq!(limit_offset(Some("2001"), None, 1000, 2000), Err(LimitOffsetError::Limit));
        assert_eq!(limit_offset(Some("0"), None, 1000, 2000), Err(LimitOffsetError::Limit));
        assert_eq!(limit_offset(None, Some("9223372036854775808"), 1000, 2000), Err(LimitOffsetError::Offset));
        assert_eq!(limit_offset(None, Some("-1"), 1000, 2000), Err(LimitOffsetError::Offset));
    }
}
