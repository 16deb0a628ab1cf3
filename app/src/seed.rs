//! `kith seed`: realistic CRM data, fast. Each account gets users, custom fields, a second
//! pipeline, a tag vocabulary, then contacts in batches, each batch one transaction with its
//! companies, tags, deals, next actions and notes, written with multi-row inserts. Every row
//! gets its `created` event, as if it had been entered through the API.

use std::collections::{BTreeMap, HashSet};

use anyhow::Context;
use chrono::{Duration, Utc};
use fake::Fake;
use fake::faker::address::en::{BuildingNumber, CityName, StateAbbr, StreetName, ZipCode};
use fake::faker::company::en::{Bs, CompanyName, Industry};
use fake::faker::job::en::Title;
use fake::faker::lorem::en::Sentence;
use fake::faker::name::en::{FirstName, LastName};
use fake::faker::phone_number::en::PhoneNumber;
use indicatif::{ProgressBar, ProgressStyle};
use kith_domain::custom_fields::{FieldKind, NewCustomField};
use kith_domain::model::{
    Action, Address, Channel, Company, Contact, CustomFieldDefinition, Deal, LeadSource, Note, Pipeline, Stage, Status,
    Tag, Tagging,
};
use kith_domain::{Actor, Crm, Entity};
use kith_store::{Json, Tx};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Contacts in the main account.
    pub contacts: u64,
    /// Further accounts, each with `other_contacts` contacts, so that every query runs next to
    /// other tenants' rows.
    pub other_accounts: u32,
    pub other_contacts: u64,
    /// Users per account (the owner included).
    pub users: u32,
    /// Contacts per transaction.
    pub batch: usize,
    /// The same seed gives the same data.
    pub rng_seed: u64,
    /// Draw a progress bar on standard error.
    pub progress: bool,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            contacts: 10_000,
            other_accounts: 2,
            other_contacts: 1_000,
            users: 5,
            batch: 2_000,
            rng_seed: 1,
            progress: true,
        }
    }
}

/// One seeded account, with the owner's credentials and handles that benchmarks filter by.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SeededAccount {
    pub account_id: i64,
    pub user_id: String,
    pub api_key: String,
    pub contacts: u64,
    /// The status most contacts have, and a contact custom field with one of its values.
    pub status_id: String,
    pub custom_field_id: String,
    pub custom_field_value: String,
}

const TAGS: &[&str] = &[
    "VIP",
    "Newsletter",
    "Partner",
    "Referral",
    "Trade show",
    "Webinar",
    "Enterprise",
    "SMB",
    "Churn risk",
    "Upsell",
    "Renewal",
    "Decision maker",
    "Influencer",
    "Champion",
    "Cold",
    "Warm",
    "Hot",
    "EMEA",
    "APAC",
    "Americas",
];
const SEGMENTS: &[&str] = &["Enterprise", "Mid-market", "SMB", "Startup", "Public sector"];
const ACTION_TEXTS: &[&str] = &[
    "Call back about pricing",
    "Send proposal",
    "Follow up on demo",
    "Book a meeting",
    "Check contract status",
    "Send case study",
    "Introduce to solutions engineer",
    "Confirm renewal terms",
];
const ACTION_STATUSES: &[(&str, u32)] = &[("date", 60), ("asap", 10), ("waiting", 15), ("queued", 15)];
const DEAL_NAMES: &[&str] = &["Licences", "Consulting", "Support plan", "Onboarding", "Hardware", "Expansion"];

/// Seeds every account; the main one comes first in the result.
pub async fn seed(crm: &Crm, opts: &SeedOptions) -> anyhow::Result<Vec<SeededAccount>> {
    let total = opts.contacts + u64::from(opts.other_accounts) * opts.other_contacts;
    let bar = if opts.progress { ProgressBar::new(total) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg} [{bar:40}] {human_pos}/{human_len} contacts, {per_sec}, eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let mut rng = StdRng::seed_from_u64(opts.rng_seed);
    let mut out = Vec::new();
    let sizes = std::iter::once(opts.contacts).chain((0..opts.other_accounts).map(|_| opts.other_contacts));
    for (n, contacts) in sizes.enumerate() {
        bar.set_message(format!("account {}", n + 1));
        out.push(seed_account(crm, opts, n, contacts, &mut rng, &bar).await?);
    }
    bar.set_message("analyzing");
    crm.store().analyze().await?;
    bar.finish_with_message("done");
    Ok(out)
}

/// What contacts of one account draw from.
struct Lookups {
    users: Vec<i64>,
    statuses: Vec<(i64, u32)>,
    lead_sources: Vec<i64>,
    stages: Vec<Stage>,
    tags: Vec<(i64, String)>,
    segment: CustomFieldDefinition,
    employees: CustomFieldDefinition,
    customer_since: CustomFieldDefinition,
    deal_priority: CustomFieldDefinition,
}

async fn seed_account(
    crm: &Crm,
    opts: &SeedOptions,
    n: usize,
    contacts: u64,
    rng: &mut StdRng,
    bar: &ProgressBar,
) -> anyhow::Result<SeededAccount> {
    let domain = format!("seed{}.example", n + 1);
    let acc = crm
        .create_account(&format!("Seeded account {}", n + 1), &format!("owner@{domain}"))
        .await
        .context("creating the account")?;
    let owner = Actor { account_id: acc.account_id, user_id: acc.user_id };
    let mut users = vec![acc.user_id];
    for u in 1..opts.users.max(1) {
        let (user, _) = crm.add_user(acc.account_id, &format!("user{u}@{domain}"), "user").await?;
        users.push(user.id);
    }
    let lk = lookups(crm, owner, users).await?;
    let seeded = SeededAccount {
        account_id: acc.account_id,
        user_id: kith_onepage::wire::hex_id(acc.user_id),
        api_key: acc.key.secret.clone(),
        contacts,
        status_id: kith_onepage::wire::hex_id(lk.statuses[0].0),
        custom_field_id: kith_onepage::wire::hex_id(lk.segment.id),
        custom_field_value: SEGMENTS[0].to_owned(),
    };

    let mut company_names = HashSet::new();
    let mut done = 0u64;
    while done < contacts {
        let size = (contacts - done).min(opts.batch.max(1) as u64) as usize;
        let mut tx = crm.store().begin(acc.account_id, Some(acc.user_id)).await?;
        seed_batch(&mut tx, &lk, &domain, size, &mut company_names, rng).await?;
        tx.commit().await?;
        done += size as u64;
        bar.inc(size as u64);
    }
    Ok(seeded)
}

async fn lookups(crm: &Crm, owner: Actor, users: Vec<i64>) -> anyhow::Result<Lookups> {
    // Lead-heavy, as real lists are: the first status (lead) gets the largest share.
    let statuses: Vec<Status> = crm.all(owner, None).await?;
    let weights = [40, 25, 20, 10, 5];
    let statuses = statuses.iter().enumerate().map(|(i, s)| (s.id, *weights.get(i).unwrap_or(&3))).collect();
    let lead_sources = crm.all::<LeadSource>(owner, None).await?.iter().map(|s| s.id).collect();

    let renewals = crm
        .create(
            owner,
            Pipeline {
                id: 0,
                created_at: Utc::now(),
                updated_at: Utc::now(),
                deleted_at: None,
                name: "Renewals".into(),
                position: 1,
                is_default: false,
            },
        )
        .await?;
    for (i, (name, probability, category)) in
        [("Up for renewal", 50, "open"), ("Negotiating", 75, "open"), ("Renewed", 100, "won"), ("Churned", 0, "lost")]
            .into_iter()
            .enumerate()
    {
        let stage = Stage {
            id: 0,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            deleted_at: None,
            pipeline_id: renewals.id,
            name: name.into(),
            position: i as i64,
            probability,
            category: category.into(),
        };
        crm.create(owner, stage).await?;
    }
    let stages = crm.all::<Stage>(owner, None).await?;

    let field = |entity: &str, name: &str, kind: FieldKind, choices: &[&str]| NewCustomField {
        entity_kind: entity.into(),
        name: name.into(),
        kind,
        choices: choices.iter().map(|c| (*c).to_owned()).collect(),
        position: None,
    };
    let segment = crm.create_custom_field(owner, field("contact", "Segment", FieldKind::Dropdown, SEGMENTS)).await?;
    let employees = crm.create_custom_field(owner, field("contact", "Employees", FieldKind::Number, &[])).await?;
    let customer_since =
        crm.create_custom_field(owner, field("contact", "Customer since", FieldKind::Date, &[])).await?;
    let deal_priority = crm
        .create_custom_field(owner, field("deal", "Priority", FieldKind::Dropdown, &["Low", "Medium", "High"]))
        .await?;

    let mut tx = crm.store().begin(owner.account_id, Some(owner.user_id)).await?;
    let rows = TAGS.iter().map(|t| tag(t).values()).collect();
    let ids = tx.insert_many(Tag::SPEC, rows).await?;
    tx.commit().await?;
    let tags = ids.into_iter().zip(TAGS.iter().map(|t| t.to_string())).collect();

    Ok(Lookups { users, statuses, lead_sources, stages, tags, segment, employees, customer_since, deal_priority })
}

fn tag(name: &str) -> Tag {
    let t = Utc::now();
    Tag {
        id: 0,
        created_at: t,
        updated_at: t,
        deleted_at: None,
        name: name.into(),
        resource_type: "contact".into(),
        creator_id: None,
    }
}

/// One transaction's worth: `size` contacts, about one company for every four of them, and
/// their tags, deals, actions and notes.
async fn seed_batch(
    tx: &mut Tx,
    lk: &Lookups,
    domain: &str,
    size: usize,
    company_names: &mut HashSet<String>,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let companies: Vec<Company> = (0..size.div_ceil(4)).map(|_| company(lk, company_names, rng)).collect();
    let company_ids = tx.insert_many(Company::SPEC, companies.iter().map(Entity::values).collect()).await?;

    let mut contacts = Vec::with_capacity(size);
    for _ in 0..size {
        let linked = rng.random_bool(0.8).then(|| rng.random_range(0..companies.len()));
        contacts.push(contact(lk, domain, linked.map(|i| (company_ids[i], &companies[i])), rng));
    }
    let contact_ids = tx.insert_many(Contact::SPEC, contacts.iter().map(Entity::values).collect()).await?;

    let mut taggings = Vec::new();
    let mut deals = Vec::new();
    let mut actions = Vec::new();
    let mut notes = Vec::new();
    for (c, id) in contacts.iter().zip(&contact_ids) {
        for name in &c.tags.0 {
            if let Some((tag_id, _)) = lk.tags.iter().find(|(_, t)| t == name) {
                taggings.push(
                    Tagging {
                        id: 0,
                        created_at: now,
                        updated_at: now,
                        deleted_at: None,
                        tag_id: *tag_id,
                        name: name.to_lowercase(),
                        entity_kind: "contact".into(),
                        entity_id: *id,
                    }
                    .values(),
                );
            }
        }
        if rng.random_bool(0.3) {
            deals.push(deal(lk, *id, c, rng).values());
        }
        if rng.random_bool(0.5) {
            actions.push(action(*id, c.owner_id, rng).values());
        }
        if rng.random_bool(0.4) {
            let text: String = Sentence(6..18).fake_with_rng(rng);
            let t = Utc::now();
            let note = Note {
                id: 0,
                created_at: t,
                updated_at: t,
                deleted_at: None,
                author_id: c.owner_id,
                contact_id: Some(*id),
                company_id: c.company_id,
                deal_id: None,
                lead_id: None,
                text,
                date: Some(day(rng.random_range(-120..0))),
            };
            notes.push(note.values());
        }
    }
    tx.insert_many(Tagging::SPEC, taggings).await?;
    tx.insert_many(Deal::SPEC, deals).await?;
    tx.insert_many(Action::SPEC, actions).await?;
    tx.insert_many(Note::SPEC, notes).await?;
    Ok(())
}

fn day(offset: i64) -> String {
    (Utc::now() + Duration::days(offset)).date_naive().format("%Y-%m-%d").to_string()
}

fn weighted<'a, T>(rng: &mut StdRng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total.max(1));
    for (item, w) in items {
        if pick < *w {
            return item;
        }
        pick -= w;
    }
    &items[0].0
}

fn company(lk: &Lookups, used: &mut HashSet<String>, rng: &mut StdRng) -> Company {
    let base: String = CompanyName().fake_with_rng(rng);
    let mut name = base.clone();
    let mut n = 2;
    while !used.insert(name.to_lowercase()) {
        name = format!("{base} {n}");
        n += 1;
    }
    let slug: String = name.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_lowercase();
    let t = Utc::now();
    Company {
        id: 0,
        created_at: t,
        updated_at: t,
        deleted_at: None,
        description: Some(Bs().fake_with_rng(rng)),
        phone: Some(PhoneNumber().fake_with_rng(rng)),
        email: Some(format!("info@{slug}.example")),
        url: Some(format!("https://{slug}.example")),
        industry: Some(Industry().fake_with_rng(rng)),
        employees: Some(rng.random_range(2..5_000)),
        annual_revenue_minor: None,
        currency: None,
        address: Json(None),
        owner_id: lk.users.choose(rng).copied(),
        tags: Json(Vec::new()),
        custom_fields: Json(BTreeMap::new()),
        sync_status: None,
        photo_url: None,
        external_id: None,
        name,
    }
}

fn contact(lk: &Lookups, domain: &str, company: Option<(i64, &Company)>, rng: &mut StdRng) -> Contact {
    let first: String = FirstName().fake_with_rng(rng);
    let last: String = LastName().fake_with_rng(rng);
    let mail_domain = company
        .and_then(|(_, c)| c.url.as_deref())
        .and_then(|u| u.strip_prefix("https://"))
        .unwrap_or(domain)
        .to_owned();
    let local: String = format!("{}.{}{}", first, last, rng.random_range(1..1000))
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect::<String>()
        .to_lowercase();
    let mut emails = vec![Channel { kind: "work".into(), value: format!("{local}@{mail_domain}") }];
    if rng.random_bool(0.2) {
        emails.push(Channel { kind: "home".into(), value: format!("{local}@mail.example") });
    }
    let phones = vec![Channel { kind: "work".into(), value: PhoneNumber().fake_with_rng(rng) }];
    let addresses = if rng.random_bool(0.3) {
        vec![Address {
            kind: Some("work".into()),
            address: Some(format!(
                "{} {}",
                BuildingNumber().fake_with_rng::<String, _>(rng),
                StreetName().fake_with_rng::<String, _>(rng)
            )),
            city: Some(CityName().fake_with_rng(rng)),
            state: Some(StateAbbr().fake_with_rng(rng)),
            zip_code: Some(ZipCode().fake_with_rng(rng)),
            country_code: Some("US".into()),
        }]
    } else {
        Vec::new()
    };
    let tag_count = rng.random_range(0..=3);
    let tags: Vec<String> = lk.tags.choose_multiple(rng, tag_count).map(|(_, t)| t.clone()).collect();
    let mut custom = BTreeMap::new();
    custom.insert(lk.segment.id.to_string(), serde_json::json!(SEGMENTS.choose(rng).copied().unwrap_or("SMB")));
    if rng.random_bool(0.6) {
        custom.insert(lk.employees.id.to_string(), serde_json::json!(rng.random_range(1..20_000)));
    }
    if rng.random_bool(0.3) {
        custom.insert(lk.customer_since.id.to_string(), serde_json::json!(day(-rng.random_range(30..3_000))));
    }
    let owner_id = lk.users.choose(rng).copied().unwrap_or_default();
    let starred_by = if rng.random_bool(0.05) { vec![owner_id] } else { Vec::new() };
    let t = Utc::now();
    let mut c = Contact {
        id: 0,
        created_at: t,
        updated_at: t,
        deleted_at: None,
        salutation: None,
        first_name: Some(first),
        last_name: Some(last),
        job_title: Some(Title().fake_with_rng(rng)),
        starred: false,
        company_id: company.map(|(id, _)| id),
        company_name: company.map(|(_, c)| c.name.clone()),
        owner_id,
        status_id: Some(*weighted(rng, &lk.statuses)),
        lead_source_id: lk.lead_sources.choose(rng).copied(),
        background: None,
        emails: Json(emails),
        phones: Json(phones),
        urls: Json(Vec::new()),
        addresses: Json(addresses),
        email: None,
        phone: None,
        tags: Json(tags),
        custom_fields: Json(custom),
        closed_sales: Json(Vec::new()),
        photo_url: None,
        emails_text: None,
        urls_text: None,
        starred_by: Json(starred_by),
        starred_by_text: None,
    };
    c.refresh_search_columns();
    c
}

fn deal(lk: &Lookups, contact_id: i64, c: &Contact, rng: &mut StdRng) -> Deal {
    let stage = lk.stages.choose(rng).cloned();
    let status = stage.as_ref().map_or("pending", |s| kith_domain::deals::status_of_category(&s.category));
    let closed = status != "pending";
    let months = if rng.random_bool(0.2) { 12 } else { 1 };
    let amount_minor = rng.random_range(50..5_000) * 10_000;
    let mut custom = BTreeMap::new();
    custom
        .insert(lk.deal_priority.id.to_string(), serde_json::json!(["Low", "Medium", "High"][rng.random_range(0..3)]));
    let t = Utc::now();
    Deal {
        id: 0,
        created_at: t,
        updated_at: t,
        deleted_at: None,
        name: format!(
            "{} for {}",
            DEAL_NAMES.choose(rng).copied().unwrap_or("Deal"),
            c.company_name.as_deref().unwrap_or("direct")
        ),
        contact_id: Some(contact_id),
        company_id: c.company_id,
        owner_id: c.owner_id,
        pipeline_id: stage.as_ref().map(|s| s.pipeline_id),
        stage_id: stage.as_ref().map(|s| s.id),
        status: status.into(),
        value_minor: Some(amount_minor * months),
        currency: kith_domain::deals::DEFAULT_CURRENCY.into(),
        probability: stage.as_ref().map(|s| s.probability),
        expected_close_date: Some(day(rng.random_range(0..180))),
        closed_at: closed.then_some(t),
        loss_reason_id: None,
        source_id: None,
        description: None,
        tags: Json(Vec::new()),
        custom_fields: Json(custom),
        months,
        cost_minor: None,
        date: Some(day(rng.random_range(-365..0))),
        close_date: closed.then(|| day(-rng.random_range(0..60))),
        commission_base: None,
        commission_type: None,
        commission_minor: None,
        commission_percentage: None,
        author_id: Some(c.owner_id),
        hot: rng.random_bool(0.1),
        last_stage_change_at: None,
        last_stage_change_by_id: None,
        unqualified_reason_id: None,
        win_likelihood: None,
        added_at: None,
        external_id: None,
        external_stage: None,
        forecast: None,
        deal_type: None,
        next_step: None,
    }
}

fn action(contact_id: i64, assignee_id: i64, rng: &mut StdRng) -> Action {
    let status = *weighted(rng, ACTION_STATUSES);
    let t = Utc::now();
    let mut action = Action {
        id: 0,
        created_at: t,
        updated_at: t,
        deleted_at: None,
        contact_id: Some(contact_id),
        deal_id: None,
        lead_id: None,
        assignee_id,
        text: ACTION_TEXTS.choose(rng).copied().unwrap_or("Follow up").into(),
        status: status.into(),
        date: (status == "date").then(|| day(rng.random_range(-10..30))),
        exact_time: None,
        done_at: None,
        position: 0,
        status_before_done: None,
        company_id: None,
        remind_at: None,
        creator_id: Some(assignee_id),
        stream_key: String::new(),
    };
    action.derive();
    action
}
