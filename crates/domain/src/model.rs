//! The shared CRM model. Each dialect renders these records in its own wire format.
//!
//! Conventions: ids are 64-bit and unique across the database; money is an integer in the
//! currency's minor unit (`*_minor`) plus an ISO 4217 `currency`; times are UTC; calendar
//! dates without a time are `YYYY-MM-DD` text; strings are trimmed on write.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kith_store::Json;
use serde::{Deserialize, Serialize};

use crate::entity;

/// A typed channel value: an email address, phone number or URL with its kind (`work`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
}

/// Custom-field values keyed by the definition's id (decimal text), typed per definition.
pub type CustomValues = BTreeMap<String, serde_json::Value>;

/// A sales cycle a user closed on a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedSale {
    pub user_id: i64,
    pub closed_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A price in one currency (products carry one per currency they are sold in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub amount_minor: i64,
    pub currency: String,
}

entity! {
    /// A team member of an account.
    User, table = "users", kind = "user", soft_delete = true,
    indexes = [], unique = [&["email"]],
    {
        email: String,
        first_name: Option<String>,
        last_name: Option<String>,
        /// `owner`, `admin` or `user`.
        role: String,
        /// Extra rights beyond the role (e.g. `delete_contacts`).
        rights: Json<Vec<String>>,
        active: bool,
        timezone: Option<String>,
        phone: Option<String>,
        /// The company the user works for, as the user gives it.
        company_name: Option<String>,
    }
}

entity! {
    /// A credential. Only the SHA-256 of the key is stored; the key is shown once.
    ApiKey, table = "api_keys", kind = "api_key", soft_delete = false,
    indexes = [&["user_id"]], unique = [&["hash"]], global_indexes = ["hash"],
    {
        user_id: i64,
        label: String,
        /// The first characters of the key, to tell keys apart in listings.
        prefix: String,
        hash: String,
        last_used_at: Option<DateTime<Utc>>,
        revoked_at: Option<DateTime<Utc>>,
    }
}

entity! {
    /// An organisation: OnePage company, Sell organisation contact, Upsales account, Apideck company.
    Company, table = "companies", kind = "company", soft_delete = true,
    indexes = [&["name"], &["updated_at"],
        // Finding a company by name ignoring case (contacts name their company).
        &["lower(name)", "WHERE deleted_at IS NULL"], &["external_id"]],
    unique = [],
    {
        name: String,
        description: Option<String>,
        phone: Option<String>,
        email: Option<String>,
        url: Option<String>,
        industry: Option<String>,
        employees: Option<i64>,
        annual_revenue_minor: Option<i64>,
        currency: Option<String>,
        address: Json<Option<Address>>,
        owner_id: Option<i64>,
        tags: Json<Vec<String>>,
        custom_fields: Json<CustomValues>,
        /// External synchronisation state (e.g. OnePage `synced_status`).
        sync_status: Option<String>,
        /// The logo's URL.
        photo_url: Option<String> = since 2,
        /// The company's id in the client's system of record (JSend's `external_account_id`).
        external_id: Option<String> = since 4,
    }
}

entity! {
    /// A person.
    Contact, table = "contacts", kind = "contact", soft_delete = true,
    indexes = [&["last_name"], &["updated_at"], &["company_id"], &["status_id"], &["email"], &["owner_id"],
        // Live contacts in the default order (by name), alone and within a status; they also
        // count live contacts, in all and per status, without reading rows.
        &["last_name IS NULL", "lower(last_name)", "first_name IS NULL", "lower(first_name)", "id",
            "WHERE deleted_at IS NULL"],
        &["status_id", "last_name IS NULL", "lower(last_name)", "first_name IS NULL", "lower(first_name)", "id",
            "WHERE deleted_at IS NULL"],
        // Live contacts by creation (Apideck's default order), walked from a keyset cursor in
        // either direction instead of sorting every contact of the account for each page.
        &["created_at", "id", "WHERE deleted_at IS NULL"]],
    unique = [],
    {
        salutation: Option<String>,
        first_name: Option<String>,
        last_name: Option<String>,
        job_title: Option<String>,
        starred: bool,
        company_id: Option<i64>,
        /// The linked company's name, kept in step with it for sorting and search.
        company_name: Option<String>,
        owner_id: i64,
        status_id: Option<i64>,
        lead_source_id: Option<i64>,
        background: Option<String>,
        emails: Json<Vec<Channel>>,
        phones: Json<Vec<Channel>>,
        urls: Json<Vec<Channel>>,
        addresses: Json<Vec<Address>>,
        /// The first email and phone, kept for filtering and search.
        email: Option<String>,
        phone: Option<String>,
        tags: Json<Vec<String>>,
        custom_fields: Json<CustomValues>,
        closed_sales: Json<Vec<ClosedSale>>,
        photo_url: Option<String>,
        /// Every email address and every URL, lower-cased, between separators (`contacts::SEP`),
        /// so that a filter can match any of them.
        emails_text: Option<String>,
        urls_text: Option<String>,
        /// Users who starred the contact (stars are per user), and the same between separators for
        /// filtering.
        starred_by: Json<Vec<i64>>,
        starred_by_text: Option<String>,
    }
}

entity! {
    /// A prospect not yet qualified into a contact and deal (Sell, Apideck).
    Lead, table = "leads", kind = "lead", soft_delete = true,
    indexes = [&["last_name"], &["updated_at"], &["owner_id"]], unique = [],
    {
        first_name: Option<String>,
        last_name: Option<String>,
        organization_name: Option<String>,
        title: Option<String>,
        description: Option<String>,
        status: Option<String>,
        source_id: Option<i64>,
        owner_id: i64,
        email: Option<String>,
        phone: Option<String>,
        mobile: Option<String>,
        website: Option<String>,
        address: Json<Option<Address>>,
        tags: Json<Vec<String>>,
        custom_fields: Json<CustomValues>,
        converted_at: Option<DateTime<Utc>>,
        converted_contact_id: Option<i64>,
        converted_company_id: Option<i64>,
        converted_deal_id: Option<i64>,
        industry: Option<String> = since 2,
        fax: Option<String> = since 2,
        twitter: Option<String> = since 2,
        facebook: Option<String> = since 2,
        linkedin: Option<String> = since 2,
        skype: Option<String> = since 2,
        /// Why the lead was disqualified (a `Choice` of the `lead_unqualified_reason` list).
        unqualified_reason_id: Option<i64> = since 3,
        /// Who converted the lead (see `converted_at`).
        converted_by: Option<i64> = since 3,
    }
}

entity! {
    /// An opportunity: OnePage deal, Sell deal, Upsales order, Apideck opportunity.
    Deal, table = "deals", kind = "deal", soft_delete = true,
    indexes = [&["contact_id"], &["company_id"], &["stage_id"], &["updated_at"], &["external_id"], &["owner_id", "status"]],
    unique = [],
    {
        name: String,
        contact_id: Option<i64>,
        company_id: Option<i64>,
        owner_id: i64,
        pipeline_id: Option<i64>,
        stage_id: Option<i64>,
        /// `pending`, `won` or `lost`.
        status: String,
        value_minor: Option<i64>,
        currency: String,
        probability: Option<i64>,
        expected_close_date: Option<String>,
        closed_at: Option<DateTime<Utc>>,
        loss_reason_id: Option<i64>,
        source_id: Option<i64>,
        description: Option<String>,
        tags: Json<Vec<String>>,
        custom_fields: Json<CustomValues>,
        /// Months the deal is paid over; `value_minor` is the total (per-month amount × months).
        months: i64,
        /// Total cost, in minor units of `currency`.
        cost_minor: Option<i64>,
        /// The deal's own date (`YYYY-MM-DD`) and the date it closed as won or lost.
        date: Option<String>,
        close_date: Option<String>,
        /// `amount` or `margin`; `none`, `percentage` or `absolute`.
        commission_base: Option<String>,
        commission_type: Option<String>,
        commission_minor: Option<i64>,
        commission_percentage: Option<f64>,
        author_id: Option<i64>,
        /// Marked as likely to close soon (Sell's `hot`).
        hot: bool = since 3,
        /// When and by whom the deal last moved to another stage.
        last_stage_change_at: Option<DateTime<Utc>> = since 3,
        last_stage_change_by_id: Option<i64> = since 3,
        /// Why the deal was disqualified (a `Choice` of the `deal_unqualified_reason` list).
        unqualified_reason_id: Option<i64> = since 3,
        /// A user's own estimate of the chance to win, 0 to 100 (the stage has its own).
        win_likelihood: Option<i64> = since 3,
        /// When the deal was added, when a client says so (otherwise `created_at`).
        added_at: Option<DateTime<Utc>> = since 3,
        /// The deal's id in the client's system of record (JSend's `external_opp_id`): what
        /// imports match deals by.
        external_id: Option<String> = since 4,
        /// The stage as the client's system names it, when it is not one of Kith's stages.
        external_stage: Option<String> = since 4,
        /// The rep's forecast category (`commit`, `upside`, …).
        forecast: Option<String> = since 4,
        /// The kind of business (`New Business`, `Renewal`, …).
        deal_type: Option<String> = since 4,
        next_step: Option<String> = since 4,
    }
}

entity! {
    /// A product line on a deal.
    DealItem, table = "deal_items", kind = "deal_item", soft_delete = false,
    indexes = [&["deal_id"]], unique = [],
    {
        deal_id: i64,
        predefined_item_id: Option<i64>,
        name: String,
        description: Option<String>,
        quantity: f64,
        unit_price_minor: i64,
        cost_minor: Option<i64>,
        amount_minor: i64,
        position: i64,
        /// The product's list price per unit, copied when the line was made from a product;
        /// `unit_price_minor` is that price after `variation` (a markup, or a discount when negative, in percent).
        list_price_minor: Option<i64> = since 3,
        variation: Option<f64> = since 3,
        currency: Option<String> = since 3,
        sku: Option<String> = since 3,
    }
}

entity! {
    Pipeline, table = "pipelines", kind = "pipeline", soft_delete = true,
    indexes = [], unique = [],
    {
        name: String,
        position: i64,
        is_default: bool,
    }
}

entity! {
    Stage, table = "stages", kind = "stage", soft_delete = true,
    indexes = [&["pipeline_id"]], unique = [],
    {
        pipeline_id: i64,
        name: String,
        position: i64,
        probability: i64,
        /// `open`, `won` or `lost`.
        category: String,
    }
}

entity! {
    /// A contact status (Lead, Prospect, Customer, …).
    Status, table = "statuses", kind = "status", soft_delete = true,
    indexes = [], unique = [&["key"]],
    {
        key: String,
        name: String,
        color: Option<String>,
        description: Option<String>,
        position: i64,
    }
}

entity! {
    LeadSource, table = "lead_sources", kind = "lead_source", soft_delete = true,
    indexes = [], unique = [&["key"]],
    {
        key: String,
        name: String,
        position: i64,
        /// What the source is for: `lead` (leads and contacts; also when none) or `deal`.
        resource_type: Option<String> = since 3,
        creator_id: Option<i64> = since 3,
    }
}

entity! {
    LossReason, table = "loss_reasons", kind = "loss_reason", soft_delete = true,
    indexes = [], unique = [],
    {
        name: String,
    }
}

entity! {
    /// A tag of the account's tag list; created on first use.
    Tag, table = "tags", kind = "tag", soft_delete = false,
    // Until schema version 3 names were unique across types (`ux_tags_0` on `name`); version 3
    // replaces that index with this one.
    indexes = [], unique = [&["resource_type", "name"]],
    {
        name: String,
        /// What the tag labels: `contact` (persons and organisations), `lead` or `deal`. Names are
        /// unique per type.
        resource_type: String = since 3,
        creator_id: Option<i64> = since 3,
    }
}

entity! {
    /// A tag on one record, for filtering by tag.
    Tagging, table = "taggings", kind = "tagging", soft_delete = false,
    indexes = [&["entity_kind", "name"]], unique = [&["entity_kind", "entity_id", "tag_id"]],
    {
        tag_id: i64,
        /// Lower-cased tag name, so tag filters ignore case.
        name: String,
        entity_kind: String,
        entity_id: i64,
    }
}

entity! {
    /// A typed custom field of contacts, companies, deals or leads.
    CustomFieldDefinition, table = "custom_field_definitions", kind = "custom_field", soft_delete = true,
    indexes = [&["entity_kind"]], unique = [],
    {
        entity_kind: String,
        name: String,
        /// One of `FieldKind`'s names.
        field_type: String,
        choices: Json<Vec<String>>,
        position: i64,
        filterable: bool,
    }
}

entity! {
    /// A next action / task.
    Action, table = "actions", kind = "action", soft_delete = true,
    derive = derive_action,
    indexes = [&["contact_id"], &["assignee_id", "status"], &["contact_id", "stream_key"], &["assignee_id", "stream_key"],
        // A user's live actions in stream order, as lists sort it (text keys lowered): the
        // action stream walks it until its page is full.
        &["assignee_id", "lower(stream_key)", "created_at", "id", "WHERE deleted_at IS NULL"]],
    unique = [],
    {
        contact_id: Option<i64>,
        deal_id: Option<i64>,
        lead_id: Option<i64>,
        assignee_id: i64,
        text: String,
        /// `asap`, `date`, `date_time`, `waiting`, `queued`, `queued_with_date` or `done`.
        status: String,
        date: Option<String>,
        exact_time: Option<DateTime<Utc>>,
        done_at: Option<DateTime<Utc>>,
        position: i64,
        /// The status an action had before it was completed, so completion can be undone.
        status_before_done: Option<String>,
        /// The organisation the action is about, when it is not about a person.
        company_id: Option<i64> = since 3,
        remind_at: Option<DateTime<Utc>> = since 3,
        creator_id: Option<i64> = since 3,
        /// The action's place in stream order as text that sorts bytewise (`stream_key`), so
        /// the database orders, pages and counts streams; derived before every write.
        stream_key: String = since 4,
    }
}

impl Action {
    /// The stream group: ASAP, dated, waiting, queued, done.
    pub fn group(&self) -> u8 {
        match self.status.as_str() {
            "asap" => 0,
            "date" | "date_time" => 1,
            "waiting" => 2,
            "queued" | "queued_with_date" => 3,
            _ => 4,
        }
    }

    /// An action's place in stream order, as ASCII text that sorts bytewise (the store compares
    /// text columns in the "C" collation): the group digit (ASAP, dated, waiting, queued, done),
    /// then within the group: dated by day and then time (a day without a time first), queued by
    /// position and then day (undated first), done by completion time, latest first. Ties are
    /// broken by creation time and id, outside the key. Every part has a fixed width.
    pub fn stream_key(&self) -> String {
        let a = self;
        match a.group() {
            1 => {
                let day = a.date.as_deref().unwrap_or("0000-00-00");
                match a.exact_time {
                    None => format!("1{day}0"),
                    Some(t) => format!("1{day}1{:017}", micros_key(t)),
                }
            }
            3 => {
                // Positions offset by 2^63 so that negative ones sort before positive ones.
                let position = (i128::from(a.position) - i128::from(i64::MIN)) as u128;
                match a.date.as_deref() {
                    None => format!("3{position:020}0"),
                    Some(day) => format!("3{position:020}1{day}"),
                }
            }
            4 => match a.done_at {
                Some(t) => format!("40{:017}", MICROS_MAX - micros_key(t)),
                None => "41".into(),
            },
            group => group.to_string(),
        }
    }
}

/// Time in whole microseconds as fixed-width digits (times before 1970 or after 5138 clamp).
fn micros_key(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros().clamp(0, MICROS_MAX)
}
const MICROS_MAX: i64 = 99_999_999_999_999_999;

/// Fills an action's derived columns.
pub(crate) fn derive_action(a: &mut Action) {
    a.stream_key = a.stream_key();
}

entity! {
    Note, table = "notes", kind = "note", soft_delete = true,
    indexes = [&["contact_id"], &["deal_id"]], unique = [],
    {
        author_id: i64,
        contact_id: Option<i64>,
        company_id: Option<i64>,
        deal_id: Option<i64>,
        lead_id: Option<i64>,
        text: String,
        date: Option<String>,
    }
}

entity! {
    Call, table = "calls", kind = "call", soft_delete = true,
    indexes = [&["contact_id"]], unique = [],
    {
        author_id: i64,
        contact_id: Option<i64>,
        deal_id: Option<i64>,
        lead_id: Option<i64>,
        text: Option<String>,
        call_result: Option<String>,
        phone_number: Option<String>,
        incoming: bool,
        duration_seconds: Option<i64>,
        called_at: DateTime<Utc>,
        recording_url: Option<String>,
        /// The application the call went through (`phone`, `talkdesk`, …).
        via: Option<String>,
        /// The organisation called, when the call is not with a person.
        company_id: Option<i64> = since 3,
        missed: bool = since 3,
        /// The call's id in the telephony system it came from.
        external_id: Option<String> = since 3,
        /// Deals the call was about, beyond `deal_id`.
        associated_deal_ids: Json<Vec<i64>> = since 3,
    }
}

entity! {
    Meeting, table = "meetings", kind = "meeting", soft_delete = true,
    indexes = [&["contact_id"]], unique = [],
    {
        author_id: i64,
        contact_id: Option<i64>,
        deal_id: Option<i64>,
        lead_id: Option<i64>,
        text: Option<String>,
        place: Option<String>,
        starts_at: DateTime<Utc>,
        ends_at: Option<DateTime<Utc>>,
        outcome: Option<String>,
        /// The organisation met, when the meeting is not with a person.
        company_id: Option<i64> = since 3,
        /// The outcome as a `Choice` of the `visit_outcome` list.
        outcome_id: Option<i64> = since 3,
    }
}

entity! {
    /// A file (bytes on local disk under `storage_key`) or an external link.
    Attachment, table = "attachments", kind = "attachment", soft_delete = true,
    indexes = [&["reference_kind", "reference_id"], &["contact_id"]], unique = [],
    {
        author_id: i64,
        reference_kind: String,
        reference_id: i64,
        contact_id: Option<i64>,
        filename: String,
        content_type: Option<String>,
        size_bytes: i64,
        storage_key: Option<String>,
        external_url: Option<String>,
        provider: Option<String>,
        pinned: bool,
        /// The name shown instead of `filename` once set.
        custom_filename: Option<String> = since 2,
        pinned_at: Option<DateTime<Utc>> = since 2,
        /// For links to files kept elsewhere: `dropbox`, `google_drive` or `evernote`.
        link_type: Option<String> = since 2,
        /// The stored bytes (`StoredFile`), for uploaded files.
        file_id: Option<i64> = since 2,
    }
}

entity! {
    /// Bytes Kith keeps in its file storage: uploads, attachments, photos and logos. The bytes
    /// live under `storage_key` in the blob store; this row is written only once they are there.
    StoredFile, table = "stored_files", kind = "file", soft_delete = false, since = 2,
    indexes = [&["upload_key"]], unique = [],
    {
        storage_key: String,
        filename: String,
        content_type: String,
        size_bytes: i64,
        sha256: String,
        /// `upload` (through the upload form, waiting to be attached), `attachment`, `photo`
        /// or `logo`.
        purpose: String,
        /// The key a client named an upload with (`{contact_id}/{timestamp}/{filename}`).
        upload_key: Option<String>,
        contact_id: Option<i64>,
        uploaded_by: Option<i64>,
    }
}

entity! {
    RelationshipType, table = "relationship_types", kind = "relationship_type", soft_delete = true,
    indexes = [], unique = [],
    {
        name: String,
        inverse_name: Option<String>,
        position: i64,
        /// Ids of the type's variants: one for a symmetrical type (`name`), two for a directional
        /// one (`name`, then `inverse_name`).
        variant_ids: Json<Vec<i64>>,
    }
}

entity! {
    Relationship, table = "relationships", kind = "relationship", soft_delete = true,
    indexes = [&["contact_id"]], unique = [],
    {
        contact_id: i64,
        relationship_type_id: i64,
        related_contact_id: Option<i64>,
        related_company_id: Option<i64>,
        note: Option<String>,
        /// The variant (label) of each end: `contact_id`'s and `related_contact_id`'s.
        variant_id: Option<i64>,
        related_variant_id: Option<i64>,
    }
}

entity! {
    PredefinedAction, table = "predefined_actions", kind = "predefined_action", soft_delete = true,
    indexes = [], unique = [],
    {
        text: String,
        /// Days from today the action is due; none for ASAP.
        days: Option<i64>,
        position: i64,
        action_group_id: Option<i64>,
    }
}

entity! {
    /// A product.
    PredefinedItem, table = "predefined_items", kind = "predefined_item", soft_delete = true,
    indexes = [], unique = [],
    {
        name: String,
        description: Option<String>,
        sku: Option<String>,
        price_minor: i64,
        cost_minor: Option<i64>,
        currency: String,
        item_group_id: Option<i64>,
        active: bool,
        position: i64,
        /// Every price the product has, one per currency (`price_minor`/`currency` is the first).
        prices: Json<Vec<Price>> = since 3,
        /// The largest discount and markup, in percent, a deal line may apply to the price.
        max_discount: Option<i64> = since 3,
        max_markup: Option<i64> = since 3,
        cost_currency: Option<String> = since 3,
    }
}

entity! {
    PredefinedItemGroup, table = "predefined_item_groups", kind = "predefined_item_group", soft_delete = true,
    indexes = [], unique = [],
    {
        name: String,
        position: i64,
        /// The predefined items the group bundles, in order.
        item_ids: Json<Vec<i64>>,
    }
}

entity! {
    /// A quota for a user (or the whole account) over a period.
    SalesTarget, table = "sales_targets", kind = "sales_target", soft_delete = true,
    indexes = [], unique = [],
    {
        user_id: Option<i64>,
        period_start: String,
        period_end: String,
        amount_minor: i64,
        currency: String,
    }
}

entity! {
    /// A stored query over one entity kind.
    SavedFilter, table = "saved_filters", kind = "filter", soft_delete = true,
    indexes = [], unique = [],
    {
        name: String,
        entity_kind: String,
        owner_id: Option<i64>,
        /// The filter tree, as `filter::SavedCondition`s.
        definition: Json<serde_json::Value>,
    }
}

entity! {
    Notification, table = "notifications", kind = "notification", soft_delete = false,
    indexes = [&["user_id"]], unique = [],
    {
        user_id: i64,
        kind: String,
        text: String,
        entity_kind: Option<String>,
        entity_id: Option<i64>,
        read_at: Option<DateTime<Utc>>,
        /// The user whose change caused the notification.
        actor_id: Option<i64>,
    }
}

entity! {
    /// A contact of another company linked to a company (OnePage "linked contacts").
    CompanyContactLink, table = "company_contact_links", kind = "company_contact_link", soft_delete = false,
    indexes = [&["company_id"]], unique = [&["company_id", "contact_id"]],
    {
        company_id: i64,
        contact_id: i64,
    }
}

entity! {
    /// A value of a short, account-defined list: call outcomes, visit outcomes, and the reasons
    /// leads and deals are disqualified (`list`). `key` is stable (`interested`) or, for lists
    /// users edit, the lower-cased name.
    Choice, table = "choices", kind = "choice", soft_delete = false, since = 3,
    indexes = [], unique = [&["list", "key"]],
    {
        list: String,
        key: String,
        name: String,
        position: i64,
        creator_id: Option<i64>,
    }
}

entity! {
    /// A deal's order: the products sold (its deal's items) and a discount on all of them.
    /// A deal has at most one.
    Order, table = "orders", kind = "order", soft_delete = false, since = 3,
    indexes = [], unique = [&["deal_id"]],
    {
        deal_id: i64,
        /// Percent off the sum of the lines.
        discount: i64,
    }
}

entity! {
    /// A person or organisation involved in a deal besides its primary contact.
    DealContact, table = "deal_contacts", kind = "deal_contact", soft_delete = false, since = 3,
    indexes = [&["contact_id"]], unique = [&["deal_id", "contact_id"]],
    {
        deal_id: i64,
        /// A `Contact` or a `Company` id.
        contact_id: i64,
        role: String,
    }
}

entity! {
    /// A text message (SMS) a user sent to or received from a person, organisation or lead.
    TextMessage, table = "text_messages", kind = "text_message", soft_delete = true, since = 3,
    indexes = [&["contact_id"]], unique = [],
    {
        user_id: i64,
        contact_id: Option<i64>,
        company_id: Option<i64>,
        lead_id: Option<i64>,
        content: String,
        incoming: bool,
        resource_phone_number: Option<String>,
        user_phone_number: Option<String>,
        sent_at: DateTime<Utc>,
        deal_ids: Json<Vec<i64>>,
    }
}

entity! {
    /// An API key's request counter for the rate limit (`rate_limits`): its id is the key's
    /// counter number, and it holds the start of its current window and the hits counted in it.
    /// Written by `Store::hit_counter` alone, without events.
    RateCounter, table = "rate_counters", kind = "rate_counter", soft_delete = false, since = 5,
    indexes = [], unique = [],
    {
        window_start: i64,
        hits: i64,
    }
}

use crate::entity::Entity;

/// Every entity table, for migrations.
pub fn specs() -> Vec<&'static kith_store::EntitySpec> {
    vec![
        User::SPEC,
        ApiKey::SPEC,
        Company::SPEC,
        Contact::SPEC,
        Lead::SPEC,
        Deal::SPEC,
        DealItem::SPEC,
        Pipeline::SPEC,
        Stage::SPEC,
        Status::SPEC,
        LeadSource::SPEC,
        LossReason::SPEC,
        Tag::SPEC,
        Tagging::SPEC,
        CustomFieldDefinition::SPEC,
        Action::SPEC,
        Note::SPEC,
        Call::SPEC,
        Meeting::SPEC,
        Attachment::SPEC,
        StoredFile::SPEC,
        RelationshipType::SPEC,
        Relationship::SPEC,
        PredefinedAction::SPEC,
        PredefinedItem::SPEC,
        PredefinedItemGroup::SPEC,
        SalesTarget::SPEC,
        SavedFilter::SPEC,
        Notification::SPEC,
        CompanyContactLink::SPEC,
        Choice::SPEC,
        Order::SPEC,
        DealContact::SPEC,
        TextMessage::SPEC,
        RateCounter::SPEC,
        crate::campaigns::Campaign::SPEC,
        crate::links::Link::SPEC,
        crate::custom_objects::CustomObjectSchema::SPEC,
        crate::custom_objects::CustomObject::SPEC,
    ]
}
