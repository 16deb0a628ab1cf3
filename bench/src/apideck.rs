//! Apideck scenarios (`/crm`): a sorted list page, and a page deep in the list reached by its
//! signed keyset cursor, which should cost what the first page costs.

use anyhow::Context;
use serde_json::Value;

use crate::Scenario;
use crate::wrk::Load;

/// Walks the contacts list 200 rows at a time to about its middle (at most 2,500 pages) and
/// returns the cursor found there, with the number of rows before it.
async fn deep_cursor(base: &str, headers: &[(String, String)], rows: u64) -> anyhow::Result<(String, u64)> {
    let client = reqwest::Client::new();
    let steps = (rows / 2 / 200).clamp(1, 2_500);
    let mut cursor: Option<String> = None;
    let mut skipped = 0;
    for _ in 0..steps {
        let mut url = format!("{base}/crm/contacts?limit=200");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let mut req = client.get(url);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let body: Value = req.send().await?.error_for_status()?.json().await?;
        match body["meta"]["cursors"]["next"].as_str() {
            Some(next) => {
                cursor = Some(next.to_owned());
                skipped += 200;
            }
            None => break,
        }
    }
    Ok((cursor.context("the Apideck contacts list has a single page")?, skipped))
}

pub async fn scenarios(base: &str, key: &str, rows: u64) -> anyhow::Result<Vec<Scenario>> {
    let headers = vec![
        ("Authorization".to_owned(), format!("Bearer {key}")),
        ("x-apideck-consumer-id".to_owned(), "bench".to_owned()),
        ("x-apideck-app-id".to_owned(), "kith-bench".to_owned()),
    ];
    let get = |paths: Vec<String>| Load { method: "GET", paths, body: None, headers: headers.clone() };
    let (cursor, skipped) = deep_cursor(base, &headers, rows).await?;
    Ok(vec![
        Scenario {
            name: "apideck_list_sorted",
            description: "GET /crm/contacts (Apideck): first page of 100 sorted by last name".into(),
            load: get(vec!["/crm/contacts?limit=100&sort[by]=last_name".into()]),
            paced: true,
        },
        Scenario {
            name: "apideck_deep_cursor",
            description: format!("GET /crm/contacts (Apideck): 100 contacts after a cursor {skipped} rows in"),
            load: get(vec![format!("/crm/contacts?limit=100&cursor={cursor}")]),
            paced: true,
        },
    ])
}
