//! Sell's list parameters (`page`, `per_page`, `sort_by`, `ids`) and request bodies (`{data}`).

use axum::body::Body;
use kith_domain::query::{Dir, Field, Filter, ListQuery, Page, Sort, Value as SV};
use kith_http::AppState;
use serde_json::{Map, Value, json};

use crate::wire::ApiError;

pub const DEFAULT_PER_PAGE: u64 = 25;
pub const MAX_PER_PAGE: u64 = 100;

/// The sorts of lists of named records.
pub const NAMED_SORTS: &[(&str, &str)] =
    &[("id", "id"), ("name", "name"), ("created_at", "created_at"), ("updated_at", "updated_at")];

/// What every list takes besides its own filters.
const LIST_PARAMS: &[&str] = &["page", "per_page", "sort_by", "ids", "includes"];

/// Query parameters, in order.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(raw: Option<&str>) -> Self {
        Params(kith_http::query_pairs(raw))
    }

    /// A list's parameters: paging, `sort_by`, `ids`, `includes` and its own `filters`
    /// (`"custom_fields[]"` admits every `custom_fields[NAME]`). Sell answers any other
    /// parameter with a 400, and so does Kith: a misspelt filter must not list everything.
    pub fn list(raw: Option<&str>, filters: &[&str]) -> Result<Self, ApiError> {
        let params = Self::parse(raw);
        params.only(LIST_PARAMS.iter().chain(filters))?;
        Ok(params)
    }

    /// Fails on the first parameter not `allowed`.
    fn only<'a>(&self, allowed: impl Iterator<Item = &'a &'a str> + Clone) -> Result<(), ApiError> {
        for (key, _) in &self.0 {
            let custom = key.starts_with("custom_fields[") && key.ends_with(']');
            let known = allowed.clone().any(|a| *a == key || (custom && *a == "custom_fields[]"));
            if !known {
                return Err(ApiError::bad_request(format!("{key} is not a parameter of this request")));
            }
        }
        Ok(())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.trim())
    }

    /// `page` (1-based) and `per_page` (25 by default, at most 100).
    pub fn paging(&self) -> Result<Paging, ApiError> {
        use kith_http::PagingError as E;
        let p = kith_http::page_number(self.get("page"), self.get("per_page"), DEFAULT_PER_PAGE, MAX_PER_PAGE)
            .map_err(|e| {
                ApiError::bad_request(match e {
                    E::Page => "page must be a positive integer".to_owned(),
                    E::PageTooLarge => format!("page must be at most {}", kith_http::paging::MAX_PAGE),
                    E::PerPage => "per_page must be a positive integer".to_owned(),
                    E::PerPageTooLarge => format!("per_page must be at most {MAX_PER_PAGE}"),
                })
            })?;
        Ok(Paging { page: p.page, per_page: p.per_page })
    }

    /// `sort_by=field[:asc|:desc]` over `allowed` (API name, column); `custom_fields:NAME[:dir]`
    /// is resolved by `custom`.
    pub fn sort(
        &self,
        allowed: &[(&str, &str)],
        custom: impl Fn(&str) -> Option<Field>,
    ) -> Result<Option<Sort>, ApiError> {
        let Some(raw) = self.get("sort_by").filter(|s| !s.is_empty()) else { return Ok(None) };
        let (name, dir) = match raw.rsplit_once(':') {
            Some((n, "asc")) => (n, Dir::Asc),
            Some((n, "desc")) => (n, Dir::Desc),
            _ => (raw, Dir::Asc),
        };
        let field = if let Some(cf) = name.strip_prefix("custom_fields:") {
            custom(cf).ok_or_else(|| ApiError::bad_request(format!("sort_by: no custom field named {cf:?}")))?
        } else {
            let column = allowed.iter().find(|(api, _)| *api == name).map(|(_, col)| *col).ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|(a, _)| *a).collect();
                ApiError::bad_request(format!("sort_by must be one of {}", names.join(", ")))
            })?;
            Field::col(column)
        };
        Ok(Some(Sort { field, dir }))
    }

    /// `ids=1,2,3` as a filter on `id`.
    pub fn ids(&self) -> Result<Option<Filter>, ApiError> {
        let Some(raw) = self.get("ids").filter(|s| !s.is_empty()) else { return Ok(None) };
        let ids = raw
            .split(',')
            .map(|s| s.trim().parse::<i64>().map(SV::Int))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| ApiError::bad_request("ids must be a comma-separated list of integers"))?;
        Ok(Some(Filter::In { field: Field::col("id"), values: ids }))
    }

    /// `custom_fields[NAME]=value` filters, by name. `Ok(None)` when one names no field of
    /// `defs` (no record of this kind can match); a value the field cannot hold is a 400.
    pub fn custom_filters(
        &self,
        defs: &[kith_domain::model::CustomFieldDefinition],
    ) -> Result<Option<Vec<Filter>>, ApiError> {
        let mut out = Vec::new();
        for (key, value) in &self.0 {
            let Some(name) = key.strip_prefix("custom_fields[").and_then(|k| k.strip_suffix(']')) else { continue };
            let Some(def) = defs.iter().find(|d| d.name == name) else { return Ok(None) };
            let f = kith_domain::custom_fields::custom_filter(
                def,
                kith_domain::query::Op::Eq,
                &Value::String(value.clone()),
            )
            .map_err(|_| {
                ApiError::bad_request(format!("custom_fields[{name}]: {value:?} is not a value of this field"))
            })?;
            out.push(f);
        }
        Ok(Some(out))
    }

    /// `q` with the `custom_fields[NAME]` filters over one kind's definitions (`what` names the
    /// kind in the error: a name no field has is a 400).
    pub fn with_custom_filters(
        &self,
        mut q: ListQuery,
        defs: &[kith_domain::model::CustomFieldDefinition],
        what: &str,
    ) -> Result<ListQuery, ApiError> {
        let Some(filters) = self.custom_filters(defs)? else {
            let names = self.custom_filter_names().join(", ");
            return Err(ApiError::bad_request(format!("custom_fields: no {what} custom field named {names}")));
        };
        for f in filters {
            q = q.filter(f);
        }
        Ok(q)
    }

    /// The page of a list of named records (pipelines, sources, reasons): `ids`, an exact `name`,
    /// and `sort_by` over `sorts`, by `id` unless asked otherwise.
    pub fn named_list_query(&self, paging: &Paging, sorts: &[(&str, &str)]) -> Result<ListQuery, ApiError> {
        let mut q = paging.query();
        if let Some(f) = self.ids()? {
            q = q.filter(f);
        }
        if let Some(name) = self.get("name").filter(|s| !s.is_empty()) {
            q = q.filter(Filter::eq("name", name));
        }
        let sort = self.sort(sorts, |_| None)?;
        Ok(q.sort(sort.unwrap_or_else(|| Sort::asc("id"))))
    }

    /// The custom-field names `custom_fields[NAME]` filters use.
    pub fn custom_filter_names(&self) -> Vec<&str> {
        self.0.iter().filter_map(|(k, _)| k.strip_prefix("custom_fields[").and_then(|k| k.strip_suffix(']'))).collect()
    }

    /// An integer filter parameter.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| ApiError::bad_request(format!("{key} must be an integer"))),
        }
    }

    /// A boolean filter parameter.
    pub fn flag(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::bad_request(format!("{key} must be true or false"))),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: u64,
    pub per_page: u64,
}

impl Paging {
    /// One more row than a page, to tell whether a next page exists.
    pub fn query(&self) -> ListQuery {
        let offset = kith_http::PageNumber { page: self.page, per_page: self.per_page }.offset();
        ListQuery::new(Page::Offset { offset, limit: self.per_page + 1 })
    }

    /// `links` for a page whose query fetched `fetched` rows; trims the extra row.
    pub fn links<T>(&self, path: &str, rows: &mut Vec<T>) -> Value {
        let more = rows.len() as u64 > self.per_page;
        rows.truncate(self.per_page as usize);
        let link = |page: u64| format!("{path}?page={page}&per_page={}", self.per_page);
        let mut links = json!({ "self": link(self.page) });
        if self.page > 1 {
            links["prev_page"] = json!(link(self.page - 1));
        }
        if more {
            links["next_page"] = json!(link(self.page + 1));
        }
        links
    }
}

/// The `data` object of a request body (`{"data": {…}, "meta": {…}}`).
pub async fn read_data(st: &AppState, body: Body) -> Result<Map<String, Value>, ApiError> {
    let mut obj = kith_http::read_object::<ApiError>(body, st.config.json_body_limit).await?;
    match obj.remove("data") {
        Some(Value::Object(data)) => {
            kith_http::reject_nul::<ApiError>(&data)?;
            Ok(data)
        }
        _ => Err(ApiError::bad_request("the body must be an envelope {\"data\": {…}} with an object in data")),
    }
}

/// A path id: Sell ids are integers; anything else names no record.
pub fn path_id(raw: &str, what: &str) -> Result<i64, ApiError> {
    raw.trim().parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(|| ApiError::not_found(what))
}

/// The query of a request about one record (or about none, like `/users/self`): Sell takes only
/// `includes` there and answers anything else with a 400.
pub struct RecordQuery;

impl axum::extract::FromRequestParts<AppState> for RecordQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &AppState) -> Result<Self, ApiError> {
        let params = Params::parse(parts.uri.query());
        params.only(["includes"].iter())?;
        Ok(RecordQuery)
    }
}

/// What `sort_by=custom_fields:NAME` sorts on among one kind's definitions.
pub fn custom_sort(defs: &[kith_domain::model::CustomFieldDefinition]) -> impl Fn(&str) -> Option<Field> + '_ {
    |name| defs.iter().find(|d| d.name == name).map(|d| d.store_field())
}
