//! Query parameters shared by OnePage's list endpoints: paging, date ranges, sorting, ids, flags.

use axum::body::Body;
use chrono::{DateTime, NaiveDate, Utc};
use kith_domain::query::{Filter, ListQuery, Op, Page, Sort};
use serde_json::{Value, json};

use crate::input::Input;
use crate::wire::{ApiError, ApiResult, parse_id};

pub const DEFAULT_PER_PAGE: u64 = 10;
pub const MAX_PER_PAGE: u64 = 100;

/// A request's query parameters.
pub struct Params(Vec<(String, String)>);

/// One page of a list: its number and size.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: u64,
    pub per_page: u64,
}

impl Paging {
    pub fn offset(&self) -> u64 {
        kith_http::PageNumber { page: self.page, per_page: self.per_page }.offset()
    }

    pub fn query(&self) -> ListQuery {
        ListQuery::new(Page::Offset { offset: self.offset(), limit: self.per_page }).with_total()
    }

    /// `{key: items, total_count, page, per_page, max_page}`.
    pub fn envelope(&self, key: &str, items: Vec<Value>, total: u64) -> Value {
        json!({
            key: items,
            "total_count": total,
            "page": self.page,
            "per_page": self.per_page,
            "max_page": total.div_ceil(self.per_page).max(1),
        })
    }
}

impl Params {
    pub fn parse(raw: Option<&str>) -> Self {
        Params(kith_http::query_pairs(raw))
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// A non-empty value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    pub fn flag(&self, key: &str) -> ApiResult<Option<bool>> {
        self.get(key).map(|raw| parse_flag(key, raw)).transpose()
    }

    pub fn id(&self, key: &str) -> ApiResult<Option<i64>> {
        self.get(key)
            .map(|raw| parse_id(raw).ok_or_else(|| ApiError::bad_request(format!("{key} is not a valid id"))))
            .transpose()
    }

    pub fn paging(&self) -> ApiResult<Paging> {
        paging_of(self.get("page"), self.get("per_page"))
    }

    /// `date_filter` with `since`/`until`, and `modified_since`/`unmodified_since`, as filters.
    /// `columns` maps each accepted `date_filter` value to a column and whether it holds a
    /// calendar date (`YYYY-MM-DD` text) rather than a time. Returns whether a range was given.
    pub fn date_filters(&self, mut q: ListQuery, columns: &[(&str, &str, bool)]) -> ApiResult<(ListQuery, bool)> {
        let mut ranged = false;
        if let Some(df) = self.get("date_filter") {
            let Some((_, column, is_date)) = columns.iter().find(|(name, _, _)| *name == df) else {
                let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
                return Err(ApiError::bad_request(format!("date_filter must be one of: {}", names.join(", "))));
            };
            if self.get("modified_since").is_some() || self.get("unmodified_since").is_some() {
                return Err(ApiError::bad_request(
                    "date_filter cannot be used with modified_since or unmodified_since",
                ));
            }
            for (key, op, end) in [("since", Op::Gte, false), ("until", Op::Lte, true)] {
                if let Some(raw) = self.get(key) {
                    let t = parse_time(key, raw, end)?;
                    q = if *is_date {
                        q.filter(Filter::cmp(column, op, t.date_naive().format("%Y-%m-%d").to_string()))
                    } else {
                        q.filter(Filter::cmp(column, op, t))
                    };
                    ranged = true;
                }
            }
        } else if self.get("since").is_some() || self.get("until").is_some() {
            return Err(ApiError::bad_request("since and until need date_filter"));
        }
        if let Some(t) = self.get("modified_since") {
            q = q.filter(Filter::cmp("updated_at", Op::Gte, parse_time("modified_since", t, false)?));
        }
        if let Some(t) = self.get("unmodified_since") {
            q = q.filter(Filter::cmp("updated_at", Op::Lt, parse_time("unmodified_since", t, false)?));
        }
        Ok((q, ranged))
    }

    /// `sort_by` (one of `columns`, each mapped to a column) and `order`; `None` when not given.
    pub fn sort(&self, columns: &[(&str, &str)]) -> ApiResult<Option<Sort>> {
        let desc = match self.get("order") {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(ApiError::bad_request("order must be asc or desc")),
        };
        let Some(by) = self.get("sort_by") else { return Ok(None) };
        let Some((_, column)) = columns.iter().find(|(name, _)| *name == by) else {
            let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
            return Err(ApiError::bad_request(format!("sort_by must be one of: {}", names.join(", "))));
        };
        Ok(Some(if desc { Sort::desc(column) } else { Sort::asc(column) }))
    }
}

/// `page` and `per_page` as OnePage words their errors.
pub fn paging_of(page: Option<&str>, per_page: Option<&str>) -> ApiResult<Paging> {
    use kith_http::PagingError as E;
    let p = kith_http::page_number(page, per_page, DEFAULT_PER_PAGE, MAX_PER_PAGE).map_err(|e| match e {
        E::Page => ApiError::bad_request("page must be a positive integer"),
        E::PageTooLarge => {
            ApiError::bad_request(format!("page is too large (at most {})", kith_http::paging::MAX_PAGE))
        }
        E::PerPage | E::PerPageTooLarge => {
            ApiError::bad_request(format!("per_page must be between 1 and {MAX_PER_PAGE}"))
        }
    })?;
    Ok(Paging { page: p.page, per_page: p.per_page })
}

/// A boolean query parameter: `true`/`false` in any case (OnePage's Python client sends
/// Python's `True`), or `1`/`0`.
pub fn parse_flag(key: &str, raw: &str) -> ApiResult<bool> {
    if raw == "1" || raw.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if raw == "0" || raw.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(ApiError::bad_request(format!("{key} must be true or false")))
    }
}

/// A date (`YYYY-MM-DD`, start of day UTC) or unix timestamp; `end_of_day` moves a date to
/// its last second, for `until`.
pub fn parse_time(key: &str, raw: &str, end_of_day: bool) -> ApiResult<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(secs) = raw.parse::<i64>() {
        return kith_http::unix_time(secs).ok_or_else(|| ApiError::bad_request(format!("{key} is out of range")));
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| ApiError::bad_request(format!("{key} must be YYYY-MM-DD or a UNIX timestamp")))?;
    let t = if end_of_day { date.and_hms_opt(23, 59, 59) } else { date.and_hms_opt(0, 0, 0) };
    t.map(|t| t.and_utc()).ok_or_else(|| ApiError::bad_request(format!("{key} is out of range")))
}

/// Reads a JSON object body within the configured limit.
pub async fn read_input(st: &kith_http::AppState, body: Body) -> ApiResult<Input> {
    read_input_within(body, st.config.json_body_limit).await
}

/// Reads a JSON object body of at most `limit` bytes.
pub async fn read_input_within(body: Body, limit: usize) -> ApiResult<Input> {
    let obj = kith_http::read_object::<ApiError>(body, limit).await?;
    kith_http::reject_nul::<ApiError>(&obj)?;
    Ok(Input::new(obj))
}

/// A path id; a malformed one cannot name a record, so it is a 404.
pub fn path_id(raw: &str, what: &str) -> ApiResult<i64> {
    parse_id(raw).ok_or_else(|| ApiError::not_found(what))
}
