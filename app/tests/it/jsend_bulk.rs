//! Large JSend opportunity uploads, which the import writes a chunk of rows at a time with
//! multi-row statements: the same rules as small ones (upserts without duplicates, companies and
//! owners matched or made once, bad rows refused alone, an event and a webhook delivery per
//! record), and an import that stops part-way leaves nothing.

use kith_domain::imports::OpportunityRow;
use kith_domain::model::{Company, Deal, User};
use kith_domain::{Actor, Entity};
use kith_store::system::{EVENTS, WEBHOOK_DELIVERIES};
use kith_store::{Filter, ListQuery};
use reqwest::multipart::{Form, Part};

use crate::common::{self, App, Reply};

/// Rows in the large file: more than two of the import's chunks.
const ROWS: usize = 12_001;

async fn upload(app: &App, csv: &str) -> Reply {
    let part = Part::bytes(csv.as_bytes().to_vec()).file_name("opps.csv").mime_str("text/csv").expect("mime");
    let req = app
        .client
        .post(format!("{}/api/v1/admin/opportunities/upload", app.base))
        .header("Authorization", &app.owner.key.secret)
        .multipart(Form::new().part("file", part));
    app.send(req, None).await
}

fn totals(r: &Reply) -> (i64, i64, i64) {
    assert_eq!(r.status, 200, "{}", r.body);
    let n = |k: &str| r.body["data"][k].as_i64().unwrap_or(-1);
    (n("total_original_rows"), n("total_imported_rows"), n("total_error_rows"))
}

/// The file: deal `i` is `OPP-i` (but row 11,000 names `OPP-10` again, in a later chunk), on
/// one of 300 companies (by account id; every third row by its name alone, in another case), owned
/// by one of 7 reps; every 97th row is bad (no name, a bad amount or a bad owner email, in turn).
/// `amount_bump` changes every deal's amount.
fn file(amount_bump: u32) -> (String, usize) {
    let mut csv = String::from(
        "Opportunity ID*,Opportunity Name*,Amount,Close Date,Stage,Opportunity Owner Email,Account ID,Account Name,Account URL/Website\n",
    );
    let mut bad = 0;
    for i in 0..ROWS {
        let ext = if i == 11_000 { "OPP-10".to_owned() } else { format!("OPP-{i}") };
        let c = i % 300;
        let (account_id, account_name) = if i % 3 == 0 && i > 900 {
            (String::new(), format!("COMPANY {c}"))
        } else {
            (format!("ACC-{c}"), format!("Company {c}"))
        };
        let mut name = format!("Deal {i}");
        let mut amount = format!("{}", 1000 + i as u32 + amount_bump);
        let mut email = format!("rep{}@bulk.example", i % 7);
        if i % 97 == 96 {
            bad += 1;
            match (i / 97) % 3 {
                0 => name.clear(),
                1 => amount = "lots".into(),
                _ => email = "nobody".into(),
            }
        }
        let stage = ["Qualified", "Closed Won", "Somewhere Else"][i % 3];
        csv.push_str(&format!(
            "{ext},{name},{amount},2031-01-15,{stage},{email},{account_id},{account_name},https://c{c}.example\n"
        ));
    }
    (csv, bad)
}

fn actor(app: &App) -> Actor {
    Actor { account_id: app.owner.account_id, user_id: app.owner.user_id }
}

async fn count(app: &App, spec: &'static kith_store::EntitySpec, filter: Option<Filter>) -> u64 {
    let mut q = ListQuery::all();
    q.filter = filter;
    app.crm.store().count(app.owner.account_id, spec, &q).await.expect("count")
}

async fn events(app: &App, kind: &str, operation: &str) -> u64 {
    let f = Filter::and(Some(Filter::eq("entity_kind", kind)), Filter::eq("operation", operation));
    count(app, &EVENTS, Some(f)).await
}

#[tokio::test]
async fn a_large_upload_keeps_the_rules_and_upserts_without_duplicates() {
    for app in common::apps().await {
        let l = app.label;
        let hook = kith_domain::webhooks::NewWebhook {
            name: "bulk".into(),
            url: "http://127.0.0.1:9/hook".into(),
            secret: None,
            events: vec![],
            format: "onepage".into(),
        };
        let hook = app.crm.create_webhook(app.owner.account_id, hook).await.expect("webhook");
        let delivered = || Filter::In {
            field: kith_store::Field::col("entity_kind"),
            values: vec!["deal".into(), "company".into(), "user".into()],
        };
        let earlier = count(&app, &EVENTS, Some(delivered())).await;
        let (csv, bad) = file(0);
        let r = upload(&app, &csv).await;
        let accepted = ROWS - bad;
        assert_eq!(totals(&r), (ROWS as i64, accepted as i64, bad as i64), "{l}");
        // OPP-10 twice: one deal.
        let deals = accepted - 1;
        assert_eq!(count(&app, Deal::SPEC, None).await, deals as u64, "{l}: deals");
        assert_eq!(count(&app, Company::SPEC, None).await, 300, "{l}: each company once");
        // The owner and the seven reps (the bad emails made none).
        assert_eq!(count(&app, User::SPEC, None).await, 8, "{l}: users");
        assert_eq!(events(&app, "deal", "created").await, deals as u64, "{l}: a created event per deal");
        assert_eq!(events(&app, "company", "created").await, 300, "{l}");
        let deliveries = count(&app, &WEBHOOK_DELIVERIES, Some(Filter::eq("webhook_id", hook.id))).await;
        let made = count(&app, &EVENTS, Some(delivered())).await - earlier;
        // OPP-10, made in the first chunk, is updated in the third.
        assert_eq!(events(&app, "deal", "updated").await, 1, "{l}");
        assert_eq!(made, (deals + 1 + 300 + 7) as u64, "{l}: an event per record written");
        assert_eq!(deliveries, made, "{l}: a webhook delivery per event");

        // What the import wrote reads as any deal does: a won one is closed, the company set.
        let won = app.crm.all::<Deal>(actor(&app), Some(Filter::eq("external_id", "OPP-1"))).await.expect("deal");
        assert_eq!(won.len(), 1, "{l}");
        assert_eq!((won[0].status.as_str(), won[0].closed_at.is_some()), ("won", true), "{l}");
        let company = app.crm.get::<Company>(actor(&app), won[0].company_id.expect("company")).await.expect("company");
        assert_eq!((company.name.as_str(), company.external_id.as_deref()), ("Company 1", Some("ACC-1")), "{l}");
        assert_eq!(company.url.as_deref(), Some("https://c1.example"), "{l}");
        let again = app.crm.all::<Deal>(actor(&app), Some(Filter::eq("external_id", "OPP-10"))).await.expect("deal");
        assert_eq!((again.len(), again[0].name.as_str()), (1, "Deal 11000"), "{l}: the later row wins");
        let elsewhere = app.crm.all::<Deal>(actor(&app), Some(Filter::eq("external_id", "OPP-2"))).await.expect("d");
        assert_eq!(elsewhere[0].external_stage.as_deref(), Some("Somewhere Else"), "{l}");
        assert!(elsewhere[0].stage_id.is_some(), "{l}: a new deal is in the default pipeline's first stage");
        // The error file holds every refused row.
        let url = r.body["data"]["error_file"].as_str().expect("error file").to_owned();
        let text = app
            .client
            .get(&url)
            .header("Authorization", &app.owner.key.secret)
            .send()
            .await
            .expect("download")
            .text()
            .await
            .expect("text");
        assert_eq!(text.lines().count(), 1 + bad, "{l}");

        // The same file again: every row matches its deal and changes nothing, but OPP-10's two
        // rows (its first in the first chunk, its last in the third) rename it twice.
        let before = count(&app, &EVENTS, Some(delivered())).await;
        assert_eq!(totals(&upload(&app, &csv).await), (ROWS as i64, accepted as i64, bad as i64), "{l}");
        assert_eq!(count(&app, Deal::SPEC, None).await, deals as u64, "{l}: no duplicates");
        assert_eq!(count(&app, Company::SPEC, None).await, 300, "{l}");
        assert_eq!(count(&app, &EVENTS, Some(delivered())).await, before + 2, "{l}: an unchanged row writes nothing");
        assert_eq!(events(&app, "deal", "updated").await, 3, "{l}");

        // New amounts: every deal updated once, with its event, still no duplicates.
        let (csv, _) = file(5);
        assert_eq!(totals(&upload(&app, &csv).await).1, accepted as i64, "{l}");
        assert_eq!(count(&app, Deal::SPEC, None).await, deals as u64, "{l}");
        assert_eq!(events(&app, "deal", "updated").await, 3 + deals as u64 + 1, "{l}: an updated event per deal");
        let one = app.crm.all::<Deal>(actor(&app), Some(Filter::eq("external_id", "OPP-1"))).await.expect("deal");
        assert_eq!(one[0].value_minor, Some((1000 + 1 + 5) * 100), "{l}");
        app.finish().await;
    }
}

#[tokio::test]
async fn an_import_that_stops_part_way_leaves_nothing() {
    for app in common::apps().await {
        let l = app.label;
        let row = |i: usize| OpportunityRow {
            external_id: format!("X-{i}"),
            name: format!("Deal {i}"),
            owner_email: Some(format!("rep{}@stop.example", i % 3)),
            account_name: Some(format!("Stop Co {}", i % 10)),
            ..Default::default()
        };
        let mut import = app.crm.begin_opportunity_import(actor(&app)).await.expect("begin");
        for chunk in 0..3 {
            let rows: Vec<OpportunityRow> = (chunk * 2_000..(chunk + 1) * 2_000).map(row).collect();
            let out = import.add(&rows).await.expect("chunk");
            assert!(out.iter().all(Option::is_none), "{l}");
        }
        // What an upload does when a later chunk fails: the import is dropped, not committed.
        drop(import);
        assert_eq!(count(&app, Deal::SPEC, None).await, 0, "{l}: no deal");
        assert_eq!(count(&app, Company::SPEC, None).await, 0, "{l}: no company");
        assert_eq!(count(&app, User::SPEC, None).await, 1, "{l}: no owner made");
        assert_eq!(events(&app, "deal", "created").await, 0, "{l}: no event");
        // The next import goes through, as if nothing had happened.
        let rows: Vec<OpportunityRow> = (0..10).map(row).collect();
        assert_eq!(app.crm.import_opportunities(actor(&app), &rows).await.expect("import").len(), 10);
        assert_eq!(count(&app, Deal::SPEC, None).await, 10, "{l}");
        assert_eq!(count(&app, Company::SPEC, None).await, 10, "{l}");
        app.finish().await;
    }
}
