//! What Sell's notes, tasks, calls, text messages and visits are attached to: `resource_type`
//! (`contact`, `lead` or `deal`) and `resource_id`. A Sell contact is a person or an organisation
//! (one id space), so `contact` names either. Also the attribute readers these resources share.

use chrono::{DateTime, NaiveDate, Utc};
use kith_domain::engagements::{Links, Subject, SubjectKind, subject_filter};
use kith_domain::model::{Company, Contact, Deal, Lead};
use kith_domain::query::{Dir, Filter, ListQuery};
use kith_domain::{Actor, Crm, DomainError, Entity, FieldError};
use serde_json::{Value, json};

use crate::input::Data;
use crate::params::{Paging, Params};
use crate::wire::{ApiError, ApiResult};

pub(crate) const CONTACT: &str = "contact";
pub(crate) const LEAD: &str = "lead";
pub(crate) const DEAL: &str = "deal";

/// The resource type Sell names a subject by.
pub(crate) fn type_of(s: Subject) -> &'static str {
    match s {
        Subject::Contact(_) | Subject::Company(_) => CONTACT,
        Subject::Lead(_) => LEAD,
        Subject::Deal(_) => DEAL,
    }
}

/// Sets `resource_type` and `resource_id` of a rendered record (both null when it is about nothing).
pub(crate) fn put(v: &mut Value, links: Links) {
    let subject = links.subject();
    v["resource_type"] = json!(subject.map(type_of));
    v["resource_id"] = json!(subject.map(Subject::id));
}

/// The subject a Sell resource names, if it is a live record of the caller's account.
async fn lookup(crm: &Crm, actor: Actor, resource_type: &str, id: i64) -> ApiResult<Option<Subject>> {
    Ok(match resource_type {
        CONTACT => {
            if crm.find::<Contact>(actor, id).await?.is_some() {
                Some(Subject::Contact(id))
            } else {
                crm.find::<Company>(actor, id).await?.map(|_| Subject::Company(id))
            }
        }
        LEAD => crm.find::<Lead>(actor, id).await?.map(|_| Subject::Lead(id)),
        DEAL => crm.find::<Deal>(actor, id).await?.map(|_| Subject::Deal(id)),
        _ => None,
    })
}

/// Reads `resource_type` and `resource_id`: `None` when neither is sent, `Some(None)` when both
/// are null (about nothing). One sent without the other keeps the other from `current`.
/// `accepted`: the resource types this kind of record can be attached to. Problems go to `data`.
pub(crate) async fn read(
    crm: &Crm,
    actor: Actor,
    data: &mut Data,
    accepted: &[&str],
    current: Option<Subject>,
) -> ApiResult<Option<Option<Subject>>> {
    if !data.has("resource_type") && !data.has("resource_id") {
        return Ok(None);
    }
    let one_of = format!("must be one of: {}", accepted.join(", "));
    let sent_type = match data.raw("resource_type") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) if accepted.contains(&s.trim()) => Some(Some(s.trim().to_owned())),
        Some(_) => {
            data.error("resource_type", one_of);
            return Ok(None);
        }
    };
    let sent_id = if data.has("resource_id") {
        match data.id("resource_id") {
            Some(id) => Some(id),
            None => return Ok(None),
        }
    } else {
        None
    };
    let resource_type = sent_type.unwrap_or_else(|| current.map(|s| type_of(s).to_owned()));
    let resource_id = sent_id.unwrap_or_else(|| current.map(Subject::id));
    match (resource_type, resource_id) {
        (None, None) => Ok(Some(None)),
        (Some(_), None) => {
            data.error("resource_id", "can't be blank");
            Ok(None)
        }
        (None, Some(_)) => {
            data.error("resource_type", "can't be blank");
            Ok(None)
        }
        (Some(t), Some(id)) => {
            if let Some(c) = current
                && type_of(c) == t
                && c.id() == id
            {
                return Ok(Some(Some(c)));
            }
            match lookup(crm, actor, &t, id).await? {
                Some(s) => Ok(Some(Some(s))),
                None => {
                    data.error("resource_id", format!("is not a {t} of this account"));
                    Ok(None)
                }
            }
        }
    }
}

/// The `resource_type` and `resource_id` list filters. `paired`: each needs the other.
/// `has_deal`: whether the records have a deal column.
pub(crate) fn filter(params: &Params, accepted: &[&str], paired: bool, has_deal: bool) -> ApiResult<Option<Filter>> {
    let resource_type = params.get("resource_type").filter(|s| !s.is_empty());
    if let Some(t) = resource_type
        && !accepted.contains(&t)
    {
        return Err(ApiError::bad_request(format!("resource_type must be one of {}", accepted.join(", "))));
    }
    let id = params.int("resource_id")?;
    if paired && resource_type.is_some() != id.is_some() {
        return Err(ApiError::bad_request("resource_type and resource_id must be given together"));
    }
    if resource_type.is_none() && id.is_none() {
        return Ok(None);
    }
    let kinds: Vec<SubjectKind> = match resource_type {
        Some(CONTACT) => vec![SubjectKind::Contact, SubjectKind::Company],
        Some(LEAD) => vec![SubjectKind::Lead],
        Some(_) => vec![SubjectKind::Deal],
        None => accepted
            .iter()
            .flat_map(|t| match *t {
                CONTACT => vec![SubjectKind::Contact, SubjectKind::Company],
                LEAD => vec![SubjectKind::Lead],
                _ => vec![SubjectKind::Deal],
            })
            .collect(),
    };
    Ok(Some(Filter::Any(kinds.into_iter().map(|k| subject_filter(k, id, has_deal)).collect())))
}

/// Whether `sort_by` asks for the resource type, and in which direction.
pub(crate) fn type_sort(params: &Params) -> Option<Dir> {
    match params.get("sort_by")? {
        "resource_type" | "resource_type:asc" => Some(Dir::Asc),
        "resource_type:desc" => Some(Dir::Desc),
        _ => None,
    }
}

/// A page of records sorted by resource type (`contact`, `deal`, `lead`, then records about
/// nothing, as nulls sort ascending), ties by id; with one more row, for `Paging::links`.
pub(crate) async fn page_by_type<E: Entity>(
    crm: &Crm,
    actor: Actor,
    q: &ListQuery,
    paging: Paging,
    dir: Dir,
) -> ApiResult<Vec<E>> {
    let has_deal = E::SPEC.column("deal_id").is_some();
    let of = |kind| subject_filter(kind, None, has_deal);
    let contact = Filter::Any(vec![of(SubjectKind::Contact), of(SubjectKind::Company)]);
    let (deal, lead) = (of(SubjectKind::Deal), of(SubjectKind::Lead));
    let nothing = Filter::Not(Box::new(Filter::Any(vec![contact.clone(), deal.clone(), lead.clone()])));
    let mut groups = vec![contact, deal, lead, nothing];
    if dir == Dir::Desc {
        groups.reverse();
    }
    let offset = (paging.page - 1) * paging.per_page;
    Ok(crm.list_in_groups::<E>(actor, q.filter.clone(), groups, offset, paging.per_page + 1).await?)
}

/// A time attribute: ISO 8601 with an offset, or a date (the start of its day, UTC). `None`
/// when absent, `Some(None)` when null.
pub(crate) fn read_time(data: &mut Data, key: &str) -> Option<Option<DateTime<Utc>>> {
    let parsed = match data.raw(key)? {
        Value::Null => return Some(None),
        Value::String(s) => DateTime::parse_from_rfc3339(s.trim()).map(|t| t.with_timezone(&Utc)).ok().or_else(|| {
            let day = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
            Some(day.and_hms_opt(0, 0, 0)?.and_utc())
        }),
        _ => None,
    };
    match parsed {
        Some(t) => Some(Some(t)),
        None => {
            data.error(key, "must be a date and time in ISO 8601 format");
            None
        }
    }
}

/// A sent time that names the same second as `current` keeps `current` (Sell renders whole
/// seconds, so a record sent back as it was rendered changes nothing).
pub(crate) fn same_second(sent: DateTime<Utc>, current: DateTime<Utc>) -> DateTime<Utc> {
    if sent.timestamp() == current.timestamp() { current } else { sent }
}

/// A count attribute (a whole number, 0 or more); `Some(None)` when null.
pub(crate) fn read_count(data: &mut Data, key: &str) -> Option<Option<i64>> {
    match data.raw(key)? {
        Value::Null => Some(None),
        Value::Number(n) if n.as_i64().is_some_and(|i| i >= 0) => Some(n.as_i64()),
        _ => {
            data.error(key, "must be a whole number, 0 or more");
            None
        }
    }
}

/// A list of ids (null is none).
pub(crate) fn read_ids(data: &mut Data, key: &str) -> Option<Vec<i64>> {
    let ids = match data.raw(key)? {
        Value::Null => Some(Vec::new()),
        Value::Array(items) => items.iter().try_fold(Vec::new(), |mut ids, i| {
            let id = i.as_i64().filter(|id| *id > 0)?;
            if !ids.contains(&id) {
                ids.push(id);
            }
            Some(ids)
        }),
        _ => None,
    };
    if ids.is_none() {
        data.error(key, "must be an array of ids");
    }
    ids
}

/// A domain error in Sell's terms: a problem with what the record is about is one with its
/// `resource_id`, and `renames` maps other model field names to Sell's attribute names.
pub(crate) fn sell_error(e: DomainError, renames: &[(&str, &str)]) -> ApiError {
    match e {
        DomainError::Invalid(fields) => ApiError::invalid(
            fields
                .into_iter()
                .map(|f| {
                    let field = match f.field.as_str() {
                        "contact_id" | "company_id" | "lead_id" | "deal_id" | "linked_deal_id" => "resource_id",
                        other => renames.iter().find(|(from, _)| *from == other).map_or(other, |(_, to)| to),
                    };
                    FieldError::new(field, f.message)
                })
                .collect(),
        ),
        other => other.into(),
    }
}
