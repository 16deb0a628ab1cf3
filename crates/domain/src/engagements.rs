//! Notes, calls and meetings, and what such records are about: a person, an organisation, a
//! lead or a deal (`Subject`).

use chrono::{DateTime, NaiveDate, Utc};
use kith_store::{Field, Filter, ListQuery, Tx, Visibility};

pub use crate::choices::CALL_RESULTS;
use crate::choices::{CALL_OUTCOMES, VISIT_OUTCOMES};
use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::entity::Entity;
use crate::error::{Errors, Result};
use crate::model::{Call, Choice, Company, Contact, Deal, Lead, Meeting, Note, User};

pub const ENGAGEMENT_TEXT_MAX: usize = 7168;
pub const MEETING_PLACE_MAX: usize = 100;
pub const PHONE_NUMBER_MAX: usize = 100;
pub const RECORDING_URL_MAX: usize = 2048;
pub const EXTERNAL_ID_MAX: usize = 255;
pub const CALL_VIAS: &[&str] = &["unknown", "jabber", "talkdesk", "phone"];

/// What a note, call, meeting, task or text message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A person (`Contact`).
    Contact(i64),
    /// An organisation (`Company`).
    Company(i64),
    Lead(i64),
    Deal(i64),
}

/// The kinds of subject, in the order `Links::subject` looks at them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectKind {
    Deal,
    Lead,
    Contact,
    Company,
}

impl SubjectKind {
    const PRECEDENCE: [SubjectKind; 4] =
        [SubjectKind::Deal, SubjectKind::Lead, SubjectKind::Contact, SubjectKind::Company];

    /// The column that names a subject of this kind on a record.
    pub fn field(self) -> &'static str {
        match self {
            SubjectKind::Contact => "contact_id",
            SubjectKind::Company => "company_id",
            SubjectKind::Lead => "lead_id",
            SubjectKind::Deal => "deal_id",
        }
    }
}

impl Subject {
    pub fn id(self) -> i64 {
        match self {
            Subject::Contact(id) | Subject::Company(id) | Subject::Lead(id) | Subject::Deal(id) => id,
        }
    }

    pub fn kind(self) -> SubjectKind {
        match self {
            Subject::Contact(_) => SubjectKind::Contact,
            Subject::Company(_) => SubjectKind::Company,
            Subject::Lead(_) => SubjectKind::Lead,
            Subject::Deal(_) => SubjectKind::Deal,
        }
    }

    /// The column that names the subject on a record; problems with the subject are reported on it.
    pub fn field(self) -> &'static str {
        self.kind().field()
    }
}

/// The subject columns of a record. A record on a deal also names the deal's primary contact and
/// its organisation, and one on a person the person's organisation, so that views centred on
/// people (OnePage) find it with them; `subject` reads back what the record is about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Links {
    pub contact_id: Option<i64>,
    pub company_id: Option<i64>,
    pub lead_id: Option<i64>,
    pub deal_id: Option<i64>,
}

impl Links {
    /// What the record is about: its deal, else its lead, else its person, else its organisation.
    pub fn subject(&self) -> Option<Subject> {
        self.deal_id
            .map(Subject::Deal)
            .or(self.lead_id.map(Subject::Lead))
            .or(self.contact_id.map(Subject::Contact))
            .or(self.company_id.map(Subject::Company))
    }

    /// Whether the record is (still) about `subject`. A person's record stays theirs whatever else
    /// it is linked to (a person's note linked to one of their deals).
    pub fn is_about(&self, subject: Option<Subject>) -> bool {
        match subject {
            Some(Subject::Contact(id)) => self.contact_id == Some(id),
            other => self.subject() == other,
        }
    }
}

/// Rows whose subject, as `Links::subject` reads it, is of `kind` and, when given, is `id`.
/// `has_deal` says whether the rows have a `deal_id` column (without one, nothing is about a deal).
pub fn subject_filter(kind: SubjectKind, id: Option<i64>, has_deal: bool) -> Filter {
    if kind == SubjectKind::Deal && !has_deal {
        return Filter::Any(Vec::new());
    }
    let mut all = Vec::new();
    for k in SubjectKind::PRECEDENCE {
        if k == SubjectKind::Deal && !has_deal {
            continue;
        }
        if k == kind {
            all.push(match id {
                Some(id) => Filter::eq(k.field(), id),
                None => Filter::IsNotNull(Field::col(k.field())),
            });
            break;
        }
        all.push(Filter::IsNull(Field::col(k.field())));
    }
    Filter::All(all)
}

/// Rows about nothing at all.
pub fn no_subject_filter(has_deal: bool) -> Filter {
    Filter::All(
        SubjectKind::PRECEDENCE
            .iter()
            .filter(|k| has_deal || **k != SubjectKind::Deal)
            .map(|k| Filter::IsNull(Field::col(k.field())))
            .collect(),
    )
}

async fn find_in<E: Entity>(tx: &mut Tx, id: i64) -> Result<Option<E>> {
    tx.get(E::SPEC, id, Visibility::Live).await?.map(E::from_row).transpose()
}

/// Checks that `subject` is a live record of the caller's account (a problem goes to `e`, on the
/// subject's field) and gives the links a record about it carries.
pub(crate) async fn resolve_subject(tx: &mut Tx, e: &mut Errors, subject: Subject) -> Result<Links> {
    let none = Links::default();
    let links = match subject {
        Subject::Contact(id) => {
            find_in::<Contact>(tx, id).await?.map(|c| Links { contact_id: Some(id), company_id: c.company_id, ..none })
        }
        Subject::Company(id) => find_in::<Company>(tx, id).await?.map(|_| Links { company_id: Some(id), ..none }),
        Subject::Lead(id) => find_in::<Lead>(tx, id).await?.map(|_| Links { lead_id: Some(id), ..none }),
        Subject::Deal(id) => find_in::<Deal>(tx, id).await?.map(|d| Links {
            deal_id: Some(id),
            contact_id: d.contact_id,
            company_id: d.company_id,
            lead_id: None,
        }),
    };
    Ok(links.unwrap_or_else(|| {
        let what = match subject.kind() {
            SubjectKind::Contact => "contact",
            SubjectKind::Company => "company",
            SubjectKind::Lead => "lead",
            SubjectKind::Deal => "deal",
        };
        e.add(subject.field(), format!("no such {what}"));
        none
    }))
}

/// Checks that `user_id` is a live user of the caller's account.
pub(crate) async fn check_user(tx: &mut Tx, e: &mut Errors, field: &str, user_id: i64) -> Result<()> {
    if find_in::<User>(tx, user_id).await?.is_none() {
        e.add(field, "no such user");
    }
    Ok(())
}

/// Checks that every id names a live deal of the caller's account.
pub(crate) async fn check_deals(tx: &mut Tx, e: &mut Errors, field: &str, ids: &[i64]) -> Result<()> {
    for id in ids {
        if find_in::<Deal>(tx, *id).await?.is_none() {
            e.add(field, format!("no such deal: {id}"));
        }
    }
    Ok(())
}

/// Whether `id` is a value of the account's `list` of choices.
async fn is_choice(tx: &mut Tx, list: &str, id: i64) -> Result<bool> {
    Ok(find_in::<Choice>(tx, id).await?.is_some_and(|c| c.list == list))
}

/// Whether `key` is a call result: one every account has, or one of the account's call outcomes.
async fn is_call_result(tx: &mut Tx, key: &str) -> Result<bool> {
    if CALL_RESULTS.iter().any(|(k, _)| *k == key) {
        return Ok(true);
    }
    let q = ListQuery::all().filter(Filter::All(vec![Filter::eq("list", CALL_OUTCOMES), Filter::eq("key", key)]));
    Ok(!tx.list(Choice::SPEC, &q).await?.rows.is_empty())
}

#[derive(Debug, Clone, PartialEq)]
pub struct NoteDraft {
    pub subject: Subject,
    pub text: String,
    pub date: Option<String>,
    /// A deal the note is linked to besides its subject: one of the person's deals, for a note
    /// on a person. A note on a deal is linked to that deal already.
    pub deal_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CallDraft {
    /// What the call was about; none for a call not yet matched to anyone.
    pub subject: Option<Subject>,
    /// Who made or took the call.
    pub author_id: i64,
    pub text: Option<String>,
    pub call_result: Option<String>,
    pub called_at: Option<DateTime<Utc>>,
    pub via: Option<String>,
    pub phone_number: Option<String>,
    pub recording_url: Option<String>,
    pub incoming: bool,
    pub missed: bool,
    pub duration_seconds: Option<i64>,
    pub external_id: Option<String>,
    pub associated_deal_ids: Vec<i64>,
}

impl CallDraft {
    /// An outgoing call about `subject` by `author_id`, with nothing else said about it.
    pub fn about(subject: Option<Subject>, author_id: i64) -> Self {
        CallDraft {
            subject,
            author_id,
            text: None,
            call_result: None,
            called_at: None,
            via: None,
            phone_number: None,
            recording_url: None,
            incoming: false,
            missed: false,
            duration_seconds: None,
            external_id: None,
            associated_deal_ids: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MeetingDraft {
    pub subject: Subject,
    pub text: Option<String>,
    pub place: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    /// The outcome, a `Choice` of the visit outcome list.
    pub outcome_id: Option<i64>,
}

impl MeetingDraft {
    /// A meeting about `subject`, now, with nothing else said about it.
    pub fn about(subject: Subject) -> Self {
        MeetingDraft { subject, text: None, place: None, starts_at: None, outcome_id: None }
    }
}

impl Note {
    pub fn links(&self) -> Links {
        Links { contact_id: self.contact_id, company_id: self.company_id, lead_id: self.lead_id, deal_id: self.deal_id }
    }
}

impl Call {
    pub fn links(&self) -> Links {
        Links { contact_id: self.contact_id, company_id: self.company_id, lead_id: self.lead_id, deal_id: self.deal_id }
    }

    /// The call as a draft: what saving it unchanged would send.
    pub fn draft(&self) -> CallDraft {
        CallDraft {
            subject: self.links().subject(),
            author_id: self.author_id,
            text: self.text.clone(),
            call_result: self.call_result.clone(),
            called_at: Some(self.called_at),
            via: self.via.clone(),
            phone_number: self.phone_number.clone(),
            recording_url: self.recording_url.clone(),
            incoming: self.incoming,
            missed: self.missed,
            duration_seconds: self.duration_seconds,
            external_id: self.external_id.clone(),
            associated_deal_ids: self.associated_deal_ids.0.clone(),
        }
    }
}

impl Meeting {
    pub fn links(&self) -> Links {
        Links { contact_id: self.contact_id, company_id: self.company_id, lead_id: self.lead_id, deal_id: self.deal_id }
    }
}

impl Crm {
    /// Checks a note and gives the links it carries.
    async fn check_note(tx: &mut Tx, d: &mut NoteDraft) -> Result<Links> {
        let mut e = Errors::default();
        d.text = d.text.trim().to_owned();
        if d.text.is_empty() {
            e.add("text", "is required");
        }
        e.max_len("text", Some(&d.text), ENGAGEMENT_TEXT_MAX);
        if let Some(date) = &d.date
            && NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err()
        {
            e.add("date", "must be a date (YYYY-MM-DD)");
        }
        let mut links = resolve_subject(tx, &mut e, d.subject).await?;
        if let Some(deal_id) = d.deal_id {
            match d.subject {
                Subject::Contact(contact_id) => match find_in::<Deal>(tx, deal_id).await? {
                    Some(deal) if deal.contact_id == Some(contact_id) => links.deal_id = Some(deal_id),
                    Some(_) => e.add("linked_deal_id", "the deal belongs to another contact"),
                    None => e.add("linked_deal_id", "no such deal"),
                },
                Subject::Deal(id) if id == deal_id => {}
                _ => e.add("linked_deal_id", "only a note on a person can be linked to a deal"),
            }
        }
        e.finish()?;
        d.date.get_or_insert_with(|| Utc::now().date_naive().format("%Y-%m-%d").to_string());
        Ok(links)
    }

    pub async fn create_note(&self, actor: Actor, mut d: NoteDraft) -> Result<Note> {
        let mut tx = self.begin(actor).await?;
        let links = Self::check_note(&mut tx, &mut d).await?;
        let now = Utc::now();
        let note = Note {
            id: 0,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            author_id: actor.user_id,
            contact_id: links.contact_id,
            company_id: links.company_id,
            deal_id: links.deal_id,
            lead_id: links.lead_id,
            text: d.text,
            date: d.date,
        };
        let note = insert_in(&mut tx, note).await?;
        tx.commit().await?;
        Ok(note)
    }

    /// Replaces a note's text, date and (on a person's note) linked deal; what the note is about
    /// cannot change.
    pub async fn update_note(&self, actor: Actor, id: i64, mut d: NoteDraft) -> Result<Note> {
        let mut tx = self.begin(actor).await?;
        let mut note: Note = get_in(&mut tx, id).await?;
        if !note.links().is_about(Some(d.subject)) {
            return Err(crate::DomainError::invalid(d.subject.field(), "cannot be changed"));
        }
        let links = Self::check_note(&mut tx, &mut d).await?;
        note.text = d.text;
        note.date = d.date;
        if let Subject::Contact(_) = d.subject {
            note.deal_id = links.deal_id;
        }
        let note = save_in(&mut tx, &note).await?;
        tx.commit().await?;
        Ok(note)
    }

    /// Checks a call and gives the links it carries.
    async fn check_call(tx: &mut Tx, d: &CallDraft) -> Result<Links> {
        let mut e = Errors::default();
        e.max_len("text", d.text.as_deref(), ENGAGEMENT_TEXT_MAX);
        e.max_len("phone_number", d.phone_number.as_deref(), PHONE_NUMBER_MAX);
        e.max_len("recording_link", d.recording_url.as_deref(), RECORDING_URL_MAX);
        e.max_len("external_id", d.external_id.as_deref(), EXTERNAL_ID_MAX);
        if let Some(r) = &d.call_result
            && !is_call_result(tx, r).await?
        {
            let keys: Vec<&str> = CALL_RESULTS.iter().map(|(k, _)| *k).collect();
            e.add("call_result", format!("must be one of: {}", keys.join(", ")));
        }
        if let Some(v) = &d.via
            && !CALL_VIAS.contains(&v.as_str())
        {
            e.add("via", format!("must be one of: {}", CALL_VIAS.join(", ")));
        }
        if d.duration_seconds.is_some_and(|s| s < 0) {
            e.add("duration", "must not be negative");
        }
        check_user(tx, &mut e, "author_id", d.author_id).await?;
        check_deals(tx, &mut e, "associated_deal_ids", &d.associated_deal_ids).await?;
        let links = match d.subject {
            Some(s) => resolve_subject(tx, &mut e, s).await?,
            None => Links::default(),
        };
        e.finish()?;
        Ok(links)
    }

    pub async fn create_call(&self, actor: Actor, d: CallDraft) -> Result<Call> {
        let mut tx = self.begin(actor).await?;
        let links = Self::check_call(&mut tx, &d).await?;
        let now = Utc::now();
        let call = Call {
            id: 0,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            author_id: d.author_id,
            contact_id: links.contact_id,
            deal_id: links.deal_id,
            lead_id: links.lead_id,
            text: d.text,
            call_result: d.call_result,
            phone_number: d.phone_number,
            incoming: d.incoming,
            duration_seconds: d.duration_seconds,
            called_at: d.called_at.unwrap_or(now),
            recording_url: d.recording_url,
            via: Some(d.via.unwrap_or_else(|| "unknown".into())),
            company_id: links.company_id,
            missed: d.missed,
            external_id: d.external_id,
            associated_deal_ids: kith_store::Json(d.associated_deal_ids),
        };
        let call = insert_in(&mut tx, call).await?;
        tx.commit().await?;
        Ok(call)
    }

    /// Replaces a call's writable fields; what the call is about cannot change.
    pub async fn update_call(&self, actor: Actor, id: i64, d: CallDraft) -> Result<Call> {
        self.save_call(actor, id, d, false).await
    }

    /// Replaces a call's writable fields, what it is about included: a call logged before its
    /// person was known can be attached to them, or moved to another.
    pub async fn reattach_call(&self, actor: Actor, id: i64, d: CallDraft) -> Result<Call> {
        self.save_call(actor, id, d, true).await
    }

    async fn save_call(&self, actor: Actor, id: i64, d: CallDraft, may_move: bool) -> Result<Call> {
        let mut tx = self.begin(actor).await?;
        let mut call: Call = get_in(&mut tx, id).await?;
        let moving = !call.links().is_about(d.subject);
        if moving && !may_move {
            let field = d.subject.map_or("contact_id", Subject::field);
            return Err(crate::DomainError::invalid(field, "cannot be changed"));
        }
        let links = Self::check_call(&mut tx, &d).await?;
        if moving {
            call.contact_id = links.contact_id;
            call.company_id = links.company_id;
            call.lead_id = links.lead_id;
            call.deal_id = links.deal_id;
        }
        call.author_id = d.author_id;
        call.text = d.text;
        call.call_result = d.call_result;
        call.phone_number = d.phone_number;
        call.called_at = d.called_at.unwrap_or(call.called_at);
        call.recording_url = d.recording_url;
        call.via = Some(d.via.unwrap_or_else(|| "unknown".into()));
        call.incoming = d.incoming;
        call.missed = d.missed;
        call.duration_seconds = d.duration_seconds;
        call.external_id = d.external_id;
        call.associated_deal_ids = kith_store::Json(d.associated_deal_ids);
        let call = save_in(&mut tx, &call).await?;
        tx.commit().await?;
        Ok(call)
    }

    /// Checks a meeting and gives the links it carries.
    pub(crate) async fn check_meeting(tx: &mut Tx, d: &MeetingDraft) -> Result<Links> {
        let mut e = Errors::default();
        e.max_len("text", d.text.as_deref(), ENGAGEMENT_TEXT_MAX);
        e.max_len("place", d.place.as_deref(), MEETING_PLACE_MAX);
        if let Some(id) = d.outcome_id
            && !is_choice(tx, VISIT_OUTCOMES, id).await?
        {
            e.add("outcome_id", "no such visit outcome");
        }
        let links = resolve_subject(tx, &mut e, d.subject).await?;
        e.finish()?;
        Ok(links)
    }

    pub async fn create_meeting(&self, actor: Actor, d: MeetingDraft) -> Result<Meeting> {
        let mut tx = self.begin(actor).await?;
        let links = Self::check_meeting(&mut tx, &d).await?;
        let now = Utc::now();
        let meeting = Meeting {
            id: 0,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            author_id: actor.user_id,
            contact_id: links.contact_id,
            deal_id: links.deal_id,
            lead_id: links.lead_id,
            text: d.text,
            place: d.place,
            starts_at: d.starts_at.unwrap_or(now),
            ends_at: None,
            outcome: None,
            company_id: links.company_id,
            outcome_id: d.outcome_id,
        };
        let meeting = insert_in(&mut tx, meeting).await?;
        tx.commit().await?;
        Ok(meeting)
    }

    /// Replaces a meeting's writable fields; what it is about cannot change.
    pub async fn update_meeting(&self, actor: Actor, id: i64, d: MeetingDraft) -> Result<Meeting> {
        let mut tx = self.begin(actor).await?;
        let mut meeting: Meeting = get_in(&mut tx, id).await?;
        if !meeting.links().is_about(Some(d.subject)) {
            return Err(crate::DomainError::invalid(d.subject.field(), "cannot be changed"));
        }
        Self::check_meeting(&mut tx, &d).await?;
        meeting.text = d.text;
        meeting.place = d.place;
        meeting.starts_at = d.starts_at.unwrap_or(meeting.starts_at);
        meeting.outcome_id = d.outcome_id;
        let meeting = save_in(&mut tx, &meeting).await?;
        tx.commit().await?;
        Ok(meeting)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_link_is_the_subject() {
        let person = Links { contact_id: Some(1), company_id: Some(2), ..Default::default() };
        assert_eq!(person.subject(), Some(Subject::Contact(1)));
        let on_deal = Links { deal_id: Some(3), ..person };
        assert_eq!(on_deal.subject(), Some(Subject::Deal(3)));
        assert_eq!(Links { lead_id: Some(4), ..Default::default() }.subject(), Some(Subject::Lead(4)));
        assert_eq!(Links { company_id: Some(2), ..Default::default() }.subject(), Some(Subject::Company(2)));
        assert_eq!(Links::default().subject(), None);
        // A person's record linked to their deal is still theirs; only the deal names it exactly.
        assert!(on_deal.is_about(Some(Subject::Contact(1))));
        assert!(on_deal.is_about(Some(Subject::Deal(3))));
        assert!(!on_deal.is_about(Some(Subject::Company(2))));
        assert!(Links::default().is_about(None));
    }

    #[test]
    fn subject_filters_follow_the_same_order() {
        let f = subject_filter(SubjectKind::Company, Some(2), true);
        let Filter::All(parts) = f else { panic!("{f:?}") };
        let nulls: Vec<&Filter> = parts.iter().filter(|p| matches!(p, Filter::IsNull(_))).collect();
        assert_eq!(nulls.len(), 3, "no deal, lead or person: {parts:?}");
        assert!(matches!(subject_filter(SubjectKind::Deal, None, false), Filter::Any(v) if v.is_empty()));
        let Filter::All(parts) = subject_filter(SubjectKind::Lead, None, false) else { panic!() };
        assert_eq!(parts.len(), 1, "without a deal column only the lead is looked at");
    }
}
