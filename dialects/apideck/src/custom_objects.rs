//! `/crm/custom-object-schemas` and `/crm/custom-objects/{object_id}`: record types the account
//! defines (`kith_domain::custom_objects` holds the rules) and their records. `object_id` is the
//! schema's id. Values go on the wire as text, as Apideck types them.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use kith_domain::Actor;
use kith_domain::custom_objects::{
    CustomObject, CustomObjectSchema, FieldInput, FieldOption, ObjectChanges, SCHEMA_FIELDS_MAX, SchemaChanges,
};
use kith_domain::query::{Dir, Filter};
use kith_http::{AppState, Routes};
use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::params::{self, ListParams, ListSpec, by};
use crate::shapes::{self, Body_};
use crate::wire::{ApiResult, envelope, id, path_id, time};
use crate::writes;

const SCHEMAS: ListSpec =
    ListSpec { resource: "custom-object-schemas", filters: &[], sorts: &["created_at", "updated_at", "name"] };
const OBJECTS: ListSpec =
    ListSpec { resource: "custom-objects", filters: &[], sorts: &["created_at", "updated_at", "name"] };

pub fn routes() -> Routes {
    Routes::new()
        .route("/custom-object-schemas", get(schemas).post(add_schema))
        .route("/custom-object-schemas/{id}", get(schema).patch(update_schema).delete(delete_schema))
        .route("/custom-objects/{object_id}", get(objects).post(add_object))
        .route("/custom-objects/{object_id}/{id}", get(object).patch(update_object).delete(delete_object))
}

fn opt_user(v: Option<i64>) -> Value {
    crate::wire::opt_id(v)
}

fn render_schema(s: &CustomObjectSchema) -> Value {
    json!({
        "id": id(s.id),
        "name": s.name,
        "description": s.description,
        "fields": s.fields.0.iter().map(|f| json!({
            "id": f.id,
            "name": f.name,
            "description": f.description,
            "type": f.field_type,
            "required": f.required,
            "options": f.options.as_ref().map(|list| list.iter().map(|o| json!({
                "value": o.value,
                "label": o.label.clone().unwrap_or_else(|| o.value.clone()),
            })).collect::<Vec<_>>()),
            "default_value": f.default_value,
        })).collect::<Vec<_>>(),
        "visible": s.visible,
        "active": s.active,
        "created_by": opt_user(s.created_by),
        "updated_by": opt_user(s.updated_by),
        "updated_at": time(s.updated_at),
        "created_at": time(s.created_at),
    })
}

/// An object: its values in the schema's field order; the user ids only when known (Apideck
/// types them as non-null strings).
fn render_object(o: &CustomObject, schema: &CustomObjectSchema) -> Value {
    let fields: Vec<Value> = schema
        .fields
        .0
        .iter()
        .filter_map(|f| Some(json!({ "name": f.name, "value": o.field_values.0.get(&f.name)? })))
        .collect();
    let mut v = json!({
        "id": id(o.id),
        "name": if o.name.is_empty() { Value::Null } else { Value::String(o.name.clone()) },
        "fields": fields,
        "updated_at": time(o.updated_at),
        "created_at": time(o.created_at),
    });
    for (key, user) in [("owner_id", o.owner_id), ("created_by", o.created_by), ("updated_by", o.updated_by)] {
        if let Some(u) = user {
            v[key] = id(u);
        }
    }
    v
}

fn sort(p: &ListParams) -> Vec<kith_domain::query::Sort> {
    let (column, dir) = p.sort.unwrap_or(("created_at", Dir::Asc));
    vec![by(column, dir)]
}

async fn schemas(
    State(st): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = ListParams::parse(q.as_deref(), &SCHEMAS)?;
    let query = p.query(&st, actor, SCHEMAS.resource, sort(&p)).await?;
    let page = st.crm.list::<CustomObjectSchema>(actor, &query).await?;
    let previous = p.previous::<CustomObjectSchema>(&st, actor, &query).await?;
    let rows = page.rows.iter().map(render_schema).collect();
    params::answer(&st, actor, &headers, &p, SCHEMAS.resource, rows, (page.next, previous)).await
}

async fn find_schema(st: &AppState, actor: Actor, raw: &str) -> ApiResult<CustomObjectSchema> {
    let schema_id = path_id(raw, "custom object schema")?;
    Ok(st.crm.get::<CustomObjectSchema>(actor, schema_id).await?)
}

async fn schema(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let s = find_schema(&st, actor, &raw).await?;
    Ok(envelope(StatusCode::OK, SCHEMAS.resource, "one", params::sparse(render_schema(&s), c.fields.as_deref()), c.raw))
}

/// The text of `key` in a sub-object (`None` when absent or null).
fn sub_text(b: &mut Body_, at: &str, m: &Map<String, Value>, key: &str, max: usize) -> Option<String> {
    shapes::text_in(b, at.to_owned(), m, key, max)
}

fn sub_bool(b: &mut Body_, at: &str, m: &Map<String, Value>, key: &str) -> Option<bool> {
    match m.get(key)? {
        Value::Null => None,
        Value::Bool(v) => Some(*v),
        _ => {
            b.error(format!("{at}.{key}"), "must be true or false");
            None
        }
    }
}

/// A schema body: `name`, `description`, `visible`, `active` and `fields` (given whole).
fn schema_changes(b: &mut Body_) -> SchemaChanges {
    let mut c = SchemaChanges::default();
    if let Some(name) = b.text("name", kith_domain::custom_objects::SCHEMA_NAME_MAX) {
        c.name = Some(name.unwrap_or_default());
    }
    c.description = b.text("description", kith_domain::custom_objects::SCHEMA_DESCRIPTION_MAX);
    for key in ["visible", "active"] {
        if b.raw(key).is_some_and(|v| !v.is_null()) {
            let v = b.boolean(key);
            if key == "visible" {
                c.visible = v;
            } else {
                c.active = v;
            }
        }
    }
    if let Some(items) = b.objects("fields", SCHEMA_FIELDS_MAX) {
        let mut fields = Vec::new();
        for (i, m) in items.iter().enumerate() {
            let at = format!("fields[{i}]");
            let max = kith_domain::custom_objects::FIELD_NAME_MAX;
            let options = match m.get("options") {
                None | Some(Value::Null) => None,
                Some(Value::Array(list)) => {
                    let mut out = Vec::new();
                    for (j, o) in list.iter().enumerate() {
                        let at = format!("{at}.options[{j}]");
                        match o {
                            Value::Object(o) => out.push(FieldOption {
                                value: sub_text(b, &at, o, "value", 255).unwrap_or_default(),
                                label: sub_text(b, &at, o, "label", 255),
                            }),
                            Value::String(s) => out.push(FieldOption { value: s.clone(), label: None }),
                            _ => b.error(at, "must be an object"),
                        }
                    }
                    Some(out)
                }
                Some(_) => {
                    b.error(format!("{at}.options"), "must be an array");
                    None
                }
            };
            fields.push(FieldInput {
                id: sub_text(b, &at, m, "id", max),
                name: sub_text(b, &at, m, "name", max).unwrap_or_default(),
                description: sub_text(b, &at, m, "description", 1000),
                field_type: sub_text(b, &at, m, "type", 50).unwrap_or_else(|| "string".to_owned()),
                required: sub_bool(b, &at, m, "required").unwrap_or(false),
                options,
                default_value: match m.get("default_value") {
                    Some(Value::Number(n)) => Some(n.to_string()),
                    Some(Value::Bool(v)) => Some(v.to_string()),
                    _ => sub_text(b, &at, m, "default_value", kith_domain::custom_objects::VALUE_MAX),
                },
            });
        }
        c.fields = Some(fields);
    }
    c
}

async fn add_schema(
    State(st): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Body,
) -> Response {
    let names = (SCHEMAS.resource, SCHEMAS.resource);
    writes::create(&st, actor, &headers, q, body, names, schema_changes, async |c| {
        Ok(st.crm.create_object_schema(actor, c).await?.id)
    })
    .await
}

async fn update_schema(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
    body: Body,
) -> ApiResult {
    let schema_id = path_id(&raw, "custom object schema")?;
    writes::update(&st, q, body, SCHEMAS.resource, schema_changes, async |c| {
        Ok(st.crm.change_object_schema(actor, schema_id, c).await?.id)
    })
    .await
}

async fn delete_schema(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let schema_id = path_id(&raw, "custom object schema")?;
    writes::delete(q, SCHEMAS.resource, schema_id, async || Ok(st.crm.delete_object_schema(actor, schema_id).await?))
        .await
}

async fn objects(
    State(st): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = ListParams::parse(q.as_deref(), &OBJECTS)?;
    let s = find_schema(&st, actor, &raw).await?;
    // The cursor and links name this schema's objects.
    let path = format!("{}/{}", OBJECTS.resource, s.id);
    let mut query = p.query(&st, actor, &path, sort(&p)).await?;
    query.filter = Some(Filter::eq("schema_id", s.id));
    let page = st.crm.list::<CustomObject>(actor, &query).await?;
    let previous = p.previous::<CustomObject>(&st, actor, &query).await?;
    let rows = page.rows.iter().map(|o| render_object(o, &s)).collect();
    params::answer_at(&st, actor, &headers, &p, (OBJECTS.resource, &path), rows, (page.next, previous)).await
}

fn object_ids(object_id: &str, raw: &str) -> ApiResult<(i64, i64)> {
    Ok((path_id(object_id, "custom object schema")?, path_id(raw, "custom object")?))
}

async fn object(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path((object_id, raw)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let (schema_id, object_id) = object_ids(&object_id, &raw)?;
    let s = st.crm.get::<CustomObjectSchema>(actor, schema_id).await?;
    let o = st.crm.custom_object(actor, schema_id, object_id).await?;
    let data = params::sparse(render_object(&o, &s), c.fields.as_deref());
    Ok(envelope(StatusCode::OK, OBJECTS.resource, "one", data, c.raw))
}

/// An object body: `name` and `fields: [{name, value}]` (a field named by its name or id; a
/// null value clears it). `owner_id` is read only.
fn object_changes(b: &mut Body_) -> ObjectChanges {
    let mut c = ObjectChanges::default();
    if let Some(name) = b.text("name", kith_domain::custom_objects::OBJECT_NAME_MAX) {
        c.name = Some(name.unwrap_or_default());
    }
    if let Some(items) = b.objects("fields", SCHEMA_FIELDS_MAX) {
        for (i, m) in items.iter().enumerate() {
            let at = format!("fields[{i}]");
            let name = sub_text(b, &at, m, "name", 255).or_else(|| sub_text(b, &at, m, "id", 255));
            match name {
                Some(name) => c.values.push((name, m.get("value").cloned())),
                None => b.error(format!("{at}.name"), "is required"),
            }
        }
    }
    c
}

async fn add_object(
    State(st): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    Path(object_id): Path<String>,
    RawQuery(q): RawQuery,
    body: Body,
) -> Response {
    // One idempotency scope per schema: a key reused on another schema is another request.
    let scope = format!("{}/{}", OBJECTS.resource, object_id.trim());
    writes::create(&st, actor, &headers, q, body, (OBJECTS.resource, &scope), object_changes, async |c| {
        let schema_id = path_id(&object_id, "custom object schema")?;
        Ok(st.crm.create_custom_object(actor, schema_id, c).await?.id)
    })
    .await
}

async fn update_object(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path((object_id, raw)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Body,
) -> ApiResult {
    let (schema_id, object_id) = object_ids(&object_id, &raw)?;
    writes::update(&st, q, body, OBJECTS.resource, object_changes, async |c| {
        Ok(st.crm.change_custom_object(actor, schema_id, object_id, c).await?.id)
    })
    .await
}

async fn delete_object(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path((object_id, raw)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let (schema_id, object_id) = object_ids(&object_id, &raw)?;
    writes::delete(q, OBJECTS.resource, object_id, async || {
        Ok(st.crm.delete_custom_object(actor, schema_id, object_id).await?)
    })
    .await
}
