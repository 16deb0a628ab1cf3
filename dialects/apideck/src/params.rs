//! Query parameters every Apideck request may carry (`raw`, `fields`, `pass_through[...]`) and
//! those of lists: `cursor` and `limit` (1..200, 20 by default), `filter[...]` and
//! `sort[by]`/`sort[direction]` over what each resource documents. Cursors are keyset positions
//! signed by the kit (`kith_http::sign_cursor`) under the account's secret and the list's scope.

use axum::http::HeaderMap;
use kith_domain::Actor;
use kith_domain::query::{Cursor, Dir, ListQuery, Page, Sort};
use kith_http::AppState;
use serde_json::{Map, Value, json};

use crate::wire::{ApiError, ApiResult};

pub const DEFAULT_LIMIT: u64 = 20;
pub const MAX_LIMIT: u64 = 200;

/// What a list documents: its `filter[...]` names and `sort[by]` names.
pub struct ListSpec {
    pub resource: &'static str,
    pub filters: &'static [&'static str],
    pub sorts: &'static [&'static str],
}

/// The parameters of any request: `raw` and `fields`.
pub struct Common {
    pub raw: bool,
    pub fields: Option<Vec<String>>,
}

pub fn common(pairs: &[(String, String)]) -> ApiResult<Common> {
    let get = |k: &str| pairs.iter().rev().find(|(key, _)| key == k).map(|(_, v)| v.trim());
    let raw = match get("raw") {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::field("raw", "must be true or false")),
    };
    let fields = get("fields")
        .filter(|f| !f.is_empty())
        .map(|f| f.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>());
    Ok(Common { raw, fields })
}

/// The parameters of a request for one record.
pub fn one(query: Option<&str>) -> ApiResult<Common> {
    common(&kith_http::query_pairs(query))
}

/// A list request, parsed and checked.
pub struct ListParams {
    pub common: Common,
    pub limit: u64,
    pub cursor_text: Option<String>,
    /// `filter[NAME]` values, in the order given (each name once: the last wins).
    pub filters: Vec<(String, String)>,
    pub sort: Option<(&'static str, Dir)>,
    pairs: Vec<(String, String)>,
}

impl ListParams {
    pub fn parse(query: Option<&str>, spec: &ListSpec) -> ApiResult<ListParams> {
        let pairs = kith_http::query_pairs(query);
        let common = common(&pairs)?;
        let get = |k: &str| pairs.iter().rev().find(|(key, _)| key == k).map(|(_, v)| v.trim().to_owned());
        let limit = match get("limit").filter(|l| !l.is_empty()) {
            None => DEFAULT_LIMIT,
            Some(l) => l
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| ApiError::field("limit", format!("must be an integer from 1 to {MAX_LIMIT}")))?,
        };
        let mut filters: Vec<(String, String)> = Vec::new();
        for (key, value) in &pairs {
            let Some(name) = key.strip_prefix("filter[").and_then(|k| k.strip_suffix(']')) else {
                if key == "filter" || key.starts_with("filter[") {
                    return Err(ApiError::unsupported_filter(key, spec.filters));
                }
                continue;
            };
            if !spec.filters.contains(&name) {
                return Err(ApiError::unsupported_filter(name, spec.filters));
            }
            filters.retain(|(n, _)| n != name);
            filters.push((name.to_owned(), value.trim().to_owned()));
        }
        let dir = match get("sort[direction]").as_deref() {
            None | Some("") | Some("asc") => Dir::Asc,
            Some("desc") => Dir::Desc,
            Some(_) => return Err(ApiError::field("sort[direction]", "must be asc or desc")),
        };
        let sort = match get("sort[by]").filter(|s| !s.is_empty()) {
            None => None,
            Some(by) => match spec.sorts.iter().find(|s| **s == by) {
                Some(s) => Some((*s, dir)),
                None => return Err(ApiError::unsupported_sort(&by, spec.sorts)),
            },
        };
        for (key, _) in &pairs {
            if key.starts_with("sort[") && key != "sort[by]" && key != "sort[direction]" {
                return Err(ApiError::bad_request(format!("{key} is not a sort parameter")));
            }
        }
        let cursor_text = get("cursor").filter(|c| !c.is_empty());
        Ok(ListParams { common, limit, cursor_text, filters, sort, pairs })
    }

    pub fn filter(&self, name: &str) -> Option<&str> {
        self.filters.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// What a cursor is bound to besides its account: the resource, its sort and its filters.
    fn scope(&self, resource: &str) -> String {
        let mut filters = self.filters.clone();
        filters.sort();
        let sort = self.sort.map_or_else(String::new, |(by, dir)| format!("{by}:{dir:?}"));
        let filters: Vec<String> = filters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("apideck|{resource}|{sort}|{}", filters.join("&"))
    }

    /// The position this page starts after, from a signed `cursor` (`None`: the start).
    pub async fn after(&self, st: &AppState, actor: Actor, resource: &str) -> ApiResult<Option<Cursor>> {
        let Some(text) = &self.cursor_text else { return Ok(None) };
        let secret = st.crm.cursor_secret(actor.account_id).await?;
        let cursor = kith_http::verify_cursor(secret.as_bytes(), &self.scope(resource), text)
            .ok_or_else(ApiError::invalid_cursor)?;
        Ok((!is_start(&cursor)).then_some(cursor))
    }

    /// The keyset query of this page: `sorts` (the store appends `id`) after the cursor, if any.
    pub async fn query(&self, st: &AppState, actor: Actor, resource: &str, sorts: Vec<Sort>) -> ApiResult<ListQuery> {
        let after = self.after(st, actor, resource).await?;
        let mut q = ListQuery::new(Page::After { after, limit: self.limit });
        q.sorts = sorts;
        Ok(q)
    }

    /// Where the page before the one `q` asks for starts, when `q` is not the first page: the
    /// rows before this page's cursor, read backwards (one more keyset query).
    pub async fn previous<E: kith_domain::Entity>(
        &self,
        st: &AppState,
        actor: Actor,
        q: &ListQuery,
    ) -> ApiResult<Option<Cursor>> {
        let Some(rq) = reversed(q) else { return Ok(None) };
        let page = st.crm.list::<E>(actor, &rq).await?;
        Ok(Some(page.next.map_or_else(start, forward)))
    }

    /// `meta` and `links` of a page whose store page ended at `next`.
    pub async fn meta_links(
        &self,
        st: &AppState,
        actor: Actor,
        headers: &HeaderMap,
        resource: &str,
        items: usize,
        (next, previous): (Option<Cursor>, Option<Cursor>),
    ) -> ApiResult<(Value, Value)> {
        let secret = if next.is_some() || previous.is_some() {
            Some(st.crm.cursor_secret(actor.account_id).await?)
        } else {
            None
        };
        let sign = |c: Option<Cursor>| match (c, &secret) {
            (Some(c), Some(s)) => Some(kith_http::sign_cursor(s.as_bytes(), &self.scope(resource), &c)),
            _ => None,
        };
        let (next, previous) = (sign(next), sign(previous));
        let base = format!("{}{}/{resource}", origin(headers), crate::MOUNT);
        let link = |cursor: Option<&str>| {
            let mut q = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &self.pairs {
                if k != "cursor" {
                    q.append_pair(k, v);
                }
            }
            if let Some(c) = cursor {
                q.append_pair("cursor", c);
            }
            let q = q.finish();
            if q.is_empty() { base.clone() } else { format!("{base}?{q}") }
        };
        let meta = json!({
            "items_on_page": items,
            "cursors": { "previous": previous, "current": self.cursor_text, "next": next },
        });
        let links = json!({
            "previous": previous.as_deref().map(|c| link(Some(c))),
            "current": link(self.cursor_text.as_deref()),
            "next": next.as_deref().map(|c| link(Some(c))),
        });
        Ok((meta, links))
    }
}

/// The position before every row: what a `previous` cursor to the first page holds (every real
/// position has sort keys and a positive id).
pub fn start() -> Cursor {
    Cursor { keys: Vec::new(), id: 0 }
}

fn is_start(c: &Cursor) -> bool {
    c.keys.is_empty() && c.id == 0
}

/// `q` read backwards from its cursor: every sort reversed and the id (the store's last
/// tiebreak, always ascending) made an explicit descending key, so that the rows come in exactly
/// the reverse order. `None` when `q` starts at the beginning.
pub fn reversed(q: &ListQuery) -> Option<ListQuery> {
    let Page::After { after: Some(after), limit } = &q.page else { return None };
    let mut keys = after.keys.clone();
    keys.push(kith_domain::query::Value::Int(after.id));
    let mut rq = ListQuery::new(Page::After { after: Some(Cursor { keys, id: after.id }), limit: *limit });
    rq.filter = q.filter.clone();
    rq.sorts = q.sorts.iter().map(|s| Sort { field: s.field.clone(), dir: flip(s.dir) }).collect();
    rq.sorts.push(by("id", Dir::Desc));
    Some(rq)
}

/// A position of a backwards query as a position of the forwards one (without the id key).
pub fn forward(mut c: Cursor) -> Cursor {
    c.keys.pop();
    c
}

pub fn flip(d: Dir) -> Dir {
    match d {
        Dir::Asc => Dir::Desc,
        Dir::Desc => Dir::Asc,
    }
}

/// The scheme and host the client called, for absolute links.
fn origin(headers: &HeaderMap) -> String {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let proto = h("x-forwarded-proto").filter(|p| *p == "https" || *p == "http").unwrap_or("http");
    let host = h("x-forwarded-host").or_else(|| h("host")).unwrap_or("localhost");
    // A host header with characters no host has is not echoed into a link.
    let host =
        if host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)) { host } else { "localhost" };
    format!("{proto}://{host}")
}

/// `fields=a,b.c`: only the listed fields (dot paths reach into objects and arrays of objects);
/// `id` is always kept.
pub fn sparse(value: Value, fields: Option<&[String]>) -> Value {
    let Some(fields) = fields else { return value };
    let mut paths: Vec<Vec<&str>> = fields.iter().map(|f| f.split('.').collect()).collect();
    paths.push(vec!["id"]);
    pick(value, &paths)
}

fn pick(value: Value, paths: &[Vec<&str>]) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let rest: Vec<Vec<&str>> =
                    paths.iter().filter(|p| p.first() == Some(&k.as_str())).map(|p| p[1..].to_vec()).collect();
                if rest.is_empty() {
                    continue;
                }
                if rest.iter().any(Vec::is_empty) {
                    out.insert(k, v);
                } else {
                    out.insert(k, pick(v, &rest));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(|i| pick(i, paths)).collect()),
        other => other,
    }
}

/// A `*_since` filter's time.
pub fn since(name: &str, value: &str) -> ApiResult<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&chrono::Utc))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        })
        .map_err(|_| ApiError::field(&format!("filter[{name}]"), "must be an ISO 8601 date-time"))
}

/// An id filter's value.
pub fn filter_id(name: &str, value: &str) -> ApiResult<i64> {
    value.parse::<i64>().map_err(|_| ApiError::field(&format!("filter[{name}]"), "must be an id"))
}

/// The answer to a list request: each rendered row (cut to `fields=`) with `meta` and `links`
/// (the next and previous pages' positions).
pub async fn answer(
    st: &AppState,
    actor: Actor,
    headers: &HeaderMap,
    p: &ListParams,
    resource: &str,
    rows: Vec<Value>,
    cursors: (Option<Cursor>, Option<Cursor>),
) -> ApiResult<axum::response::Response> {
    answer_at(st, actor, headers, p, (resource, resource), rows, cursors).await
}

/// `answer` for a list whose path below the mount (what its links and cursors name) is not its
/// resource name: `(resource, path)`, e.g. `("list-members", "lists/7/members")`.
pub async fn answer_at(
    st: &AppState,
    actor: Actor,
    headers: &HeaderMap,
    p: &ListParams,
    (resource, path): (&str, &str),
    rows: Vec<Value>,
    (next, previous): (Option<Cursor>, Option<Cursor>),
) -> ApiResult<axum::response::Response> {
    let rows: Vec<Value> = rows.into_iter().map(|r| sparse(r, p.common.fields.as_deref())).collect();
    let (meta, links) = p.meta_links(st, actor, headers, path, rows.len(), (next, previous)).await?;
    Ok(crate::wire::page(resource, rows, meta, links, p.common.raw))
}

/// A sort on one column.
pub fn by(column: &str, dir: Dir) -> Sort {
    Sort { field: kith_domain::query::Field::col(column), dir }
}

/// A create run once per idempotency key (`X-Unique-Transaction-ID` or `Idempotency-Key`): a
/// retry gets the first answer; the key reused for another body is a 422 `InvalidStateError`,
/// a retry while the first request runs a 409.
pub async fn idempotent_create(
    st: &AppState,
    actor: Actor,
    headers: &HeaderMap,
    resource: &str,
    body: axum::body::Body,
    run: impl AsyncFnOnce(axum::body::Body) -> ApiResult,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let scope = format!("apideck POST {}/{resource}", crate::MOUNT);
    kith_http::idempotent::<ApiError, _>(st, actor, headers, &scope, body, ApiError::in_progress, async |body| {
        run(body).await.into_response()
    })
    .await
}
