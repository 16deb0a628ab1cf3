//! OnePage's contact-list parameters turned into a domain query, and the scopes lists of contacts share (saved filters, a company's contacts).

use kith_domain::actions::{StreamOf, stream_members};
use kith_domain::custom_fields::custom_filter;
use kith_domain::model::SavedFilter;
use kith_domain::query::{Field, Filter, ListQuery, Op, Page, Sort, Value as SV};
use kith_domain::{Actor, Crm, Lookups};
use serde_json::Value;

use crate::params::{Params, parse_time};
use crate::wire::{ApiError, ApiResult, parse_id};

pub(crate) fn parse_bool(key: &str, raw: &str) -> ApiResult<bool> {
    crate::params::parse_flag(key, raw)
}

/// A boolean query flag, false when absent.
pub(crate) fn flag(params: &[(String, String)], key: &str) -> ApiResult<bool> {
    params.iter().find(|(k, _)| k == key).map_or(Ok(false), |(_, v)| parse_bool(key, v))
}

pub(crate) fn query_id(key: &str, raw: &str) -> ApiResult<i64> {
    parse_id(raw.trim()).ok_or_else(|| ApiError::bad_request(format!("{key} is not a valid id")))
}

/// Builds the list query from OnePage's documented parameters.
pub(crate) fn list_query(params: &[(String, String)], lk: &Lookups, viewer: i64) -> ApiResult<(ListQuery, u64, u64)> {
    let get = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let paging = crate::params::paging_of(get("page"), get("per_page"))?;
    let (page, per_page, offset) = (paging.page, paging.per_page, paging.offset());
    let mut q = ListQuery::new(Page::Offset { offset, limit: per_page }).with_total();

    if let Some(search) = get("search").map(str::trim).filter(|s| !s.is_empty()) {
        // Every word must appear in a name, the company name, an email or a phone.
        let words = search.split_whitespace().map(|w| {
            let fields = ["first_name", "last_name", "company_name", "email", "phone"];
            Filter::Any(fields.iter().map(|f| Filter::cmp(f, Op::Contains, w)).collect())
        });
        q = q.filter(Filter::All(words.collect()));
    }
    if let Some(email) = get("email").map(str::trim).filter(|s| !s.is_empty()) {
        q = q.filter(kith_domain::contacts::any_email_filter(email));
    }
    if let Some(url) = get("url").map(str::trim).filter(|s| !s.is_empty()) {
        q = q.filter(kith_domain::contacts::any_url_filter(url));
    }
    if let Some(phone) = get("phone").map(str::trim).filter(|s| !s.is_empty()) {
        q = q.filter(Filter::cmp("phone", Op::Contains, phone));
    }
    for (param, column) in [("status_id", "status_id"), ("owner_id", "owner_id"), ("company_id", "company_id")] {
        if let Some(raw) = get(param).filter(|s| !s.is_empty()) {
            q = q.filter(Filter::eq(column, query_id(param, raw)?));
        }
    }
    if let Some(tag) = get("tag").map(str::trim).filter(|s| !s.is_empty()) {
        q = q.filter(Crm::tag_filter("contact", tag));
    }
    if let Some(raw) = get("starred").filter(|s| !s.is_empty()) {
        q = q.filter(kith_domain::contacts::starred_filter(viewer, parse_bool("starred", raw)?));
    }
    if let Some(key) = get("lead_source_id").or(get("lead_source")).map(str::trim).filter(|s| !s.is_empty()) {
        let ids: Vec<SV> = lk.lead_sources.values().filter(|s| s.key == key).map(|s| SV::Int(s.id)).collect();
        q = q.filter(Filter::In { field: Field::col("lead_source_id"), values: ids });
    }
    if let Some(letter) = get("letter").map(str::trim).filter(|s| !s.is_empty()) {
        q = q.filter(Filter::Any(vec![
            Filter::cmp("last_name", Op::Prefix, letter),
            Filter::All(vec![Filter::IsNull(Field::col("last_name")), Filter::cmp("company_name", Op::Prefix, letter)]),
        ]));
    }
    match (get("custom_field_id").filter(|s| !s.is_empty()), get("custom_field_value")) {
        (Some(raw), value) => {
            let id = query_id("custom_field_id", raw)?;
            let def = lk
                .custom_fields
                .iter()
                .find(|d| d.id == id)
                .ok_or_else(|| ApiError::bad_request("custom_field_id is not a contact custom field"))?;
            let value = Value::String(value.unwrap_or_default().to_owned());
            q = q.filter(custom_filter(def, Op::Eq, &value)?);
        }
        (None, Some(_)) => return Err(ApiError::bad_request("custom_field_value needs custom_field_id")),
        (None, None) => {}
    }
    let date_filter = get("date_filter").filter(|s| !s.is_empty());
    let mut date_range = false;
    if let Some(df) = date_filter {
        let column = match df {
            "created_at" => "created_at",
            "modified_at" | "updated_at" => "updated_at",
            _ => return Err(ApiError::bad_request("date_filter must be created_at, modified_at or updated_at")),
        };
        if get("modified_since").is_some() || get("unmodified_since").is_some() {
            return Err(ApiError::bad_request("date_filter cannot be used with modified_since or unmodified_since"));
        }
        if let Some(since) = get("since").filter(|s| !s.is_empty()) {
            q = q.filter(Filter::cmp(column, Op::Gte, parse_time("since", since, false)?));
            date_range = true;
        }
        if let Some(until) = get("until").filter(|s| !s.is_empty()) {
            q = q.filter(Filter::cmp(column, Op::Lte, parse_time("until", until, true)?));
            date_range = true;
        }
    } else if get("since").is_some() || get("until").is_some() {
        return Err(ApiError::bad_request("since and until need date_filter"));
    }
    if let Some(t) = get("modified_since").filter(|s| !s.is_empty()) {
        q = q.filter(Filter::cmp("updated_at", Op::Gte, parse_time("modified_since", t, false)?));
    }
    if let Some(t) = get("unmodified_since").filter(|s| !s.is_empty()) {
        q = q.filter(Filter::cmp("updated_at", Op::Lt, parse_time("unmodified_since", t, false)?));
    }

    let desc = match get("order").filter(|s| !s.is_empty()) {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(ApiError::bad_request("order must be asc or desc")),
    };
    let sort = |c: &str| if desc { Sort::desc(c) } else { Sort::asc(c) };
    match get("sort_by").filter(|s| !s.is_empty()) {
        Some("created_at") => q = q.sort(sort("created_at")),
        Some("modified_at") => q = q.sort(sort("updated_at")),
        Some("first_name") => q = q.sort(sort("first_name")),
        Some("last_name") => q = q.sort(sort("last_name")),
        Some("company_name") => q = q.sort(sort("company_name")),
        Some("name") => q = q.sort(sort("last_name")).sort(sort("first_name")),
        None if date_range => q = q.sort(Sort::desc("created_at")),
        None => q = q.sort(sort("last_name")).sort(sort("first_name")),
        Some(_) => {
            return Err(ApiError::bad_request(
                "sort_by must be one of created_at, modified_at, first_name, last_name, company_name, name",
            ));
        }
    }
    Ok((q, page, per_page))
}

/// Contact narrowing that needs the database: `filter_id`, `action_stream`, `has_actions_today`
/// and `not_linked_with` (shared by `/contacts`, the streams and, through the contacts, `/deals`).
pub async fn contact_scope(crm: &Crm, actor: Actor, params: &Params) -> ApiResult<Vec<Filter>> {
    let mut out = Vec::new();
    if let Some(id) = params.id("filter_id")? {
        let saved = crm.get::<SavedFilter>(actor, id).await?;
        out.push(crm.saved_filter_query(actor, &saved).await?);
    }
    if params.flag("action_stream")?.unwrap_or(false) {
        out.push(stream_members(StreamOf::User(actor.user_id)));
    }
    if params.flag("has_actions_today")?.unwrap_or(false) {
        // Due today or earlier (overdue), or ASAP: what the caller has to do today.
        let today = chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string();
        let f = Filter::All(vec![
            Filter::eq("assignee_id", actor.user_id),
            Filter::Any(vec![
                Filter::eq("status", "asap"),
                Filter::All(vec![
                    Filter::In { field: Field::col("status"), values: vec!["date".into(), "date_time".into()] },
                    Filter::cmp("date", kith_domain::query::Op::Lte, today),
                ]),
            ]),
        ]);
        out.push(kith_domain::contacts::with_action(f));
        out.push(Filter::eq("owner_id", actor.user_id));
    }
    if let Some(company) = params.id("not_linked_with")? {
        if params.get("company_id").is_some() {
            return Err(ApiError::bad_request("not_linked_with cannot be used with company_id"));
        }
        out.push(Filter::Not(Box::new(crm.linked_contacts_filter(actor, company).await?)));
    }
    Ok(out)
}
