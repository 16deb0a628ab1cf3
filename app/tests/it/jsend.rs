//! The JSend opportunity API at /api/v1: CSV upserts by multipart upload, the error file, the
//! caller's opportunities, and the JSend envelopes of every failure; records seen through the
//! other dialects (OnePage, Sell and Apideck).

use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::common::apideck::apideck;
use crate::common::sell::sell;
use crate::common::{self, App, Reply};

/// A JSend request with the raw key, as the seed's users send it.
async fn jsend(app: &App, key: &str, method: Method, path: &str) -> Reply {
    let req = app.client.request(method, format!("{}/api/v1{path}", app.base)).header("Authorization", key);
    app.send(req, None).await
}

/// Posts `csv` as the multipart field `file`, as `curl -F "file=@opps.csv"` does.
async fn upload(app: &App, key: &str, path: &str, csv: &str) -> Reply {
    let part = Part::bytes(csv.as_bytes().to_vec()).file_name("upload.csv").mime_str("text/csv").expect("mime");
    let req = app
        .client
        .post(format!("{}/api/v1{path}", app.base))
        .header("Authorization", key)
        .multipart(Form::new().part("file", part));
    app.send(req, None).await
}

fn totals(r: &Reply) -> (i64, i64, i64) {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "success", "{}", r.body);
    assert_eq!(r.body["data"]["total_imported_rows"], r.body["total_imported_rows"], "{}", r.body);
    let n = |k: &str| r.body["data"][k].as_i64().unwrap_or(-1);
    (n("total_original_rows"), n("total_imported_rows"), n("total_error_rows"))
}

fn assert_jsend_error(r: &Reply, status: u16) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.body["status"], "error", "{}", r.body);
    assert!(r.body["message"].is_string(), "{}", r.body);
    assert_eq!(r.body["code"], status, "{}", r.body);
}

fn assert_jsend_fail(r: &Reply, field: &str) {
    assert_eq!(r.status.as_u16(), 400, "{}", r.body);
    assert_eq!(r.body["status"], "fail", "{}", r.body);
    assert!(r.body["data"][field].is_string(), "{field}: {}", r.body);
}

const OPPS: &str = "\u{feff}Opportunity ID*,Opportunity Name*,Amount,Close Date,Stage,Opportunity Owner Email,Account ID,Account Name,Account URL/Website,Opportunity Type\r\n\
334j0HHBF,Phone Install for Southern Railway,80000,2/15/2030,Develop,,333j055555,Southern Railway,http://www.southernrailway.example,New Business\r\n\
,No id at all,10,,,,,,,\r\n\
77A,\"Routers, switches and \"\"more\"\"\",\"1,250.50\",2030-03-01,Qualified,,333j055555,Southern Railway,,Renewal\r\n\
88B,Bad amount,lots,,,,,,,\r\n";

#[tokio::test]
async fn uploads_upsert_and_every_dialect_sees_the_records() {
    for app in common::apps().await {
        let l = app.label;
        let key = app.owner.key.secret.clone();
        let r = upload(&app, &key, "/admin/opportunities/upload", OPPS).await;
        assert_eq!(totals(&r), (4, 2, 2), "{l}");
        // The error file: the refused rows as sent, with why, for the same key.
        let url = r.body["data"]["error_file"].as_str().expect("error file url").to_owned();
        assert!(url.starts_with(&app.base), "{l}: {url}");
        let res = app.client.get(&url).header("Authorization", &key).send().await.expect("download");
        assert_eq!(res.status(), 200, "{l}");
        let text = res.text().await.expect("text");
        let mut lines = text.lines();
        assert!(
            lines.next().is_some_and(|h| h.starts_with("Opportunity ID*,") && h.ends_with(",error")),
            "{l}: {text}"
        );
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), 2, "{l}: {text}");
        assert!(rows[0].starts_with(",No id at all") && rows[0].contains("opportunity_id"), "{l}: {text}");
        assert!(rows[1].starts_with("88B,Bad amount") && rows[1].contains("not a number"), "{l}: {text}");
        let rival = app.other_account().await;
        let res = app.client.get(&url).header("Authorization", &rival.key.secret).send().await.expect("download");
        assert_eq!(res.status(), 404, "{l}: another account's error file");

        // The same ids again, in the vendor uploader's snake headers: updated, not duplicated.
        let again = "account_id,account_name,opp_id,opp_name,amount,close_date,stage,owner,owner_email\n\
                     333j055555,Southern Railway,334j0HHBF,Phone Install (phase 1),90000,2030-02-20,Develop,,\n";
        assert_eq!(totals(&upload(&app, &key, "/admin/opportunities/upload", again).await), (1, 1, 0), "{l}");
        assert_eq!(r.body["data"]["error_file"].as_str().map(str::is_empty), Some(false));

        let mine = jsend(&app, &key, Method::GET, "/opportunities/my").await;
        assert_eq!((mine.status.as_u16(), &mine.body["status"]), (200, &json!("success")), "{l}: {}", mine.body);
        let opps = mine.body["data"].as_array().expect("array");
        assert_eq!(opps.len(), 2, "{l}: {}", mine.body);
        assert_eq!(mine.headers["x-total-count"], "2");
        let phone = opps.iter().find(|o| o["external_opp_id"] == "334j0HHBF").expect("imported");
        assert_eq!(phone["name"], "Phone Install (phase 1)");
        assert_eq!(phone["amount"], 90000.0);
        assert_eq!(phone["active"], "1");
        assert_eq!(phone["account"], "Southern Railway");
        assert_eq!(phone["external_account_id"], "333j055555");
        assert_eq!(phone["website"], "http://www.southernrailway.example");
        assert_eq!(phone["type"], "New Business");
        assert_eq!(phone["stage"], "Develop", "a stage Kith does not have is kept as the client's");
        assert_eq!(phone["close_date"]["date"], "2030-02-20 00:00:00.000000");
        assert!(uuid_like(&phone["id"]), "{}", phone["id"]);
        for k in ["forecast", "stage_system", "forecast_system"] {
            assert!(phone[k].as_str().is_some_and(|s| !s.is_empty()), "{k}: {phone}");
        }
        let routers = opps.iter().find(|o| o["external_opp_id"] == "77A").expect("quoted row");
        assert_eq!(routers["name"], "Routers, switches and \"more\"");
        assert_eq!(routers["amount"], 1250.5);
        assert_eq!(routers["stage"], "Qualified", "one of Kith's stages");
        assert_eq!(routers["stage_system"], "Qualified");

        // People on the opportunity: they raise its relationship index, and show as its contact.
        let people = "Opportunity ID,Email*,Fullname,Title,Company Name,Phone,Mobile Phone\n\
                      334j0HHBF,ada@rail.example,Ada Lovelace,CTO,Southern Railway,+44 20 1234,\n\
                      334j0HHBF,charles@rail.example,Charles Babbage,,Southern Railway,,+44 7700 1\n\
                      NOPE,nobody@rail.example,No Body,,,,\n\
                      334j0HHBF,not-an-email,Bad Mail,,,,\n";
        assert_eq!(totals(&upload(&app, &key, "/admin/contacts/upload", people).await), (4, 2, 2), "{l}");
        assert_eq!(totals(&upload(&app, &key, "/admin/contacts/upload", people).await), (4, 2, 2), "{l}: again");
        let mine = jsend(&app, &key, Method::GET, "/opportunities/my").await;
        let phone =
            mine.body["data"].as_array().and_then(|a| a.iter().find(|o| o["external_opp_id"] == "334j0HHBF").cloned());
        assert_eq!(phone.as_ref().map(|p| p["relationship_index"].clone()), Some(json!(50)), "{l}: two people");

        // The same records over OnePage and Sell.
        let op = app.op(Method::GET, "/contacts?per_page=100", None).await;
        let names: Vec<&str> = op.body["data"]["contacts"]
            .as_array()
            .expect("contacts")
            .iter()
            .filter_map(|c| c["contact"]["last_name"].as_str())
            .collect();
        assert_eq!(names.len(), 2, "{l}: each person once: {names:?}");
        assert!(names.contains(&"Lovelace") && names.contains(&"Babbage"), "{l}: {names:?}");
        let deals = sell(&app, Method::GET, "/deals?per_page=100", None).await;
        let deal_names: Vec<&str> =
            deals.body["items"].as_array().expect("items").iter().filter_map(|d| d["data"]["name"].as_str()).collect();
        assert!(deal_names.contains(&"Phone Install (phase 1)"), "{l}: {deal_names:?}");
        assert_eq!(deal_names.len(), 2, "{l}: {deal_names:?}");
        let opportunities = apideck(&app, Method::GET, "/opportunities?limit=200", None).await;
        let titles: Vec<&str> =
            opportunities.body["data"].as_array().expect("data").iter().filter_map(|o| o["title"].as_str()).collect();
        assert!(titles.contains(&"Phone Install (phase 1)") && titles.len() == 2, "{l}: {titles:?}");

        // Sales targets by rep and month.
        let targets = "Email Address of Salesrep,Month (date),Amount\n\
                       rep@rail.example,2030-02-14,50000\n\
                       rep@rail.example,Feb 2030,60000\n\
                       rep@rail.example,someday,1\n";
        assert_eq!(totals(&upload(&app, &key, "/admin/salestargets/upload", targets).await), (3, 2, 1), "{l}");
        let list = jsend(&app, &key, Method::GET, "/salestargets").await;
        assert_eq!(
            list.body["data"],
            json!([{
                "id": list.body["data"][0]["id"], "email": "rep@rail.example", "month": "2030-02-01",
                "amount": 60000.0, "currency": "USD",
            }]),
            "{l}"
        );
        app.finish().await;
    }
}

fn uuid_like(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4)
}

#[tokio::test]
async fn failures_are_jsend_in_the_seeds_status_codes() {
    for app in common::apps().await {
        let l = app.label;
        let key = app.owner.key.secret.clone();
        let req = app.client.get(format!("{}/api/v1/opportunities/my", app.base));
        assert_jsend_error(&app.send(req, None).await, 401);
        assert_jsend_error(&jsend(&app, "wrong", Method::GET, "/opportunities/my").await, 401);
        let bearer = jsend(&app, &format!("Bearer {key}"), Method::GET, "/opportunities/my").await;
        assert_eq!((bearer.status.as_u16(), &bearer.body), (200, &json!({ "status": "success", "data": [] })), "{l}");
        assert_jsend_error(&jsend(&app, &key, Method::GET, "/nothing/here").await, 404);
        assert_jsend_fail(&jsend(&app, &key, Method::GET, "/opportunities/my?per_page=0").await, "per_page");

        // Uploads need an admin or owner key.
        let (_, rep) = app.crm.add_user(app.owner.account_id, "rep@acme.test", "user").await.expect("user");
        assert_jsend_error(&upload(&app, &rep.secret, "/admin/opportunities/upload", OPPS).await, 403);
        // Files that cannot be imported at all.
        assert_jsend_fail(&upload(&app, &key, "/admin/opportunities/upload", "Name,Amount\nx,1\n").await, "file");
        assert_jsend_fail(&upload(&app, &key, "/admin/salestargets/upload", "email,amount\n").await, "file");
        let req = app
            .client
            .post(format!("{}/api/v1/admin/contacts/upload", app.base))
            .header("Authorization", &key)
            .multipart(Form::new().text("note", "no file"));
        assert_jsend_fail(&app.send(req, None).await, "file");
        let r = upload(&app, &key, "/admin/opportunities/upload?send_error_email=maybe", "opp_id,opp_name\n").await;
        assert_jsend_fail(&r, "send_error_email");
        // Over 20 MB: refused, and nothing of it imported.
        let mut big = String::from("opp_id,opp_name\n");
        let mut i = 0;
        while big.len() <= 20 * 1024 * 1024 {
            big.push_str(&format!("big{i},A row that makes the file large enough to refuse\n"));
            i += 1;
        }
        let r = upload(&app, &key, "/admin/opportunities/upload", &big).await;
        assert_jsend_error(&r, 413);
        let mine = jsend(&app, &key, Method::GET, "/opportunities/my").await;
        assert_eq!(mine.body["data"], json!([]), "{l}");
        // Nor a body that is not a multipart form.
        let req =
            app.client.post(format!("{}/api/v1/admin/opportunities/upload", app.base)).header("Authorization", &key);
        assert_jsend_fail(&app.send(req, Some(json!({ "file": "x" }))).await, "file");
        app.finish().await;
    }
}
