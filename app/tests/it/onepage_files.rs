//! OnePage files on both backends: the upload form and `/attachments`, direct multipart
//! uploads, links, renaming, pinning, deletion, contact photos and company logos, downloads
//! limited to the owning account, and size limits that leave nothing behind.

use crate::common;

use std::io::Cursor;

use base64::Engine;
use common::{App, Reply, apps, assert_error};
use kith_domain::NewAccount;
use kith_onepage::wire::hex_id;
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

/// A request to a path the OnePage document does not describe (uploads, downloads).
async fn raw(app: &App, who: Option<&NewAccount>, method: Method, url: &str) -> reqwest::Response {
    let mut req = app.client.request(method, url);
    if let Some(who) = who {
        req = req.basic_auth(hex_id(who.user_id), Some(&who.key.secret));
    }
    req.send().await.expect("request")
}

async fn multipart(app: &App, who: &NewAccount, path: &str, form: Form) -> Reply {
    let req = app
        .client
        .post(format!("{}/api/v3{path}", app.base))
        .basic_auth(hex_id(who.user_id), Some(&who.key.secret))
        .multipart(form);
    app.send(req, None).await
}

fn file_part(name: &str, bytes: Vec<u8>) -> Part {
    Part::bytes(bytes).file_name(name.to_owned()).mime_str("text/plain").expect("mime")
}

/// Files in the blob store (the directory of partial writes aside).
fn stored_files(app: &App) -> usize {
    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| {
                        let p = e.path();
                        if p.is_dir() {
                            if p.file_name().is_some_and(|n| n == ".partial") { 0 } else { walk(&p) }
                        } else {
                            1
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(&app.files_dir.path().join("files"))
}

struct Records {
    contact: String,
    note: String,
    deal: String,
    call: String,
    company: String,
}

async fn records(app: &App) -> Records {
    let r =
        app.op(Method::POST, "/contacts", Some(json!({ "last_name": "Curie", "company_name": "Radium Ltd" }))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let contact = r.body["data"]["contact"]["id"].as_str().expect("contact").to_owned();
    let company = r.body["data"]["contact"]["company_id"].as_str().expect("company").to_owned();
    let r = app.op(Method::POST, "/notes", Some(json!({ "contact_id": contact, "text": "Samples" }))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let note = r.body["data"]["note"]["id"].as_str().expect("note").to_owned();
    let r =
        app.op(Method::POST, "/deals", Some(json!({ "contact_id": contact, "name": "Isotopes", "amount": 5 }))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let deal = r.body["data"]["deal"]["id"].as_str().expect("deal").to_owned();
    let r = app
        .op(
            Method::POST,
            "/calls",
            Some(json!({ "contact_id": contact, "text": "Called", "call_result": "interested" })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let call = r.body["data"]["call"]["id"].as_str().expect("call").to_owned();
    Records { contact, note, deal, call, company }
}

#[tokio::test]
async fn upload_form_then_attach_then_download_only_within_the_account() {
    for app in apps().await {
        let rec = records(&app).await;
        let rival = app.other_account().await;

        // The pre-signed form, then an S3-style upload to the URL it names.
        let r = app.op(Method::GET, &format!("/attachments/s3_form?contact_id={}", rec.contact), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let form = &r.body["data"];
        let url = form["url"].as_str().expect("url").to_owned();
        assert!(url.starts_with(&app.base), "{url}");
        let mut upload = Form::new();
        for (k, v) in form["fields"].as_object().expect("fields") {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            upload = upload.text(k.clone(), v);
        }
        let key = format!("{}/1700000000000/${{filename}}", rec.contact);
        let bytes = b"polonium and radium".to_vec();
        let sent = upload.text("key", key).part("file", file_part("notes.txt", bytes.clone()));
        let res = app.client.post(&url).multipart(sent).send().await.expect("upload");
        assert_eq!(res.status(), 201);
        let xml = res.text().await.expect("xml");
        let stored_key = format!("{}/1700000000000/notes.txt", rec.contact);
        assert!(xml.contains(&format!("<Key>{stored_key}</Key>")), "{xml}");

        // Attach the uploaded key to the note.
        let body =
            json!({ "reference_type": "note", "reference_id": rec.note, "key": stored_key, "name": "notes.txt" });
        let r = app.op(Method::POST, "/attachments", Some(body)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let a = &r.body["data"]["attachment"];
        assert_eq!(a["filename"], "notes.txt");
        assert_eq!(a["size"], bytes.len());
        assert_eq!(a["storage_provider"], "amazon");
        assert_eq!(a["pinned"], false);
        let attachment = a["id"].as_str().expect("id").to_owned();
        let file_url = a["url"].as_str().expect("url").to_owned();
        let r = app.op(Method::GET, &format!("/notes/{}", rec.note), None).await;
        assert_eq!(r.body["data"]["note"]["attachments"][0]["id"], attachment.as_str());

        // The bytes, to the owner only.
        let res = raw(&app, Some(&app.owner), Method::GET, &file_url).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.bytes().await.expect("bytes").to_vec(), bytes);
        let res = raw(&app, Some(&rival), Method::GET, &file_url).await;
        assert_eq!(res.status(), 404);
        let res = raw(&app, None, Method::GET, &file_url).await;
        assert_eq!(res.status(), 401);

        // A form whose signature was tampered with, or a key for another contact, is refused.
        let r = app.op(Method::GET, &format!("/attachments/s3_form?contact_id={}", rec.contact), None).await;
        let fields = r.body["data"]["fields"].clone();
        let policy = fields["policy"].as_str().expect("policy").to_owned();
        let forged = Form::new()
            .text("policy", policy.clone())
            .text("x-amz-signature", "00".repeat(32))
            .text("key", format!("{}/1/x.txt", rec.contact))
            .part("file", file_part("x.txt", b"x".to_vec()));
        let res = app.client.post(&url).multipart(forged).send().await.expect("upload");
        assert_eq!(res.status(), 403);
        let elsewhere = Form::new()
            .text("policy", policy)
            .text("x-amz-signature", fields["x-amz-signature"].as_str().expect("sig").to_owned())
            .text("key", format!("{}/1/x.txt", hex_id(1)))
            .part("file", file_part("x.txt", b"x".to_vec()));
        let res = app.client.post(&url).multipart(elsewhere).send().await.expect("upload");
        assert_eq!(res.status(), 400);

        // Another account can neither attach to the note nor touch the attachment.
        let body = json!({ "reference_type": "note", "reference_id": rec.note, "key": "whatever" });
        assert_error(&app.op_as(&rival, Method::POST, "/attachments", Some(body)).await, 404, "resource_not_found");
        let pin = format!("/attachments/{attachment}/pin");
        assert_error(&app.op_as(&rival, Method::PUT, &pin, None).await, 404, "resource_not_found");
        let del = format!("/attachments/{attachment}");
        assert_error(&app.op_as(&rival, Method::DELETE, &del, None).await, 404, "resource_not_found");

        // Bad requests: an unknown key, a missing reference, an unknown kind.
        let body = json!({ "reference_type": "note", "reference_id": rec.note, "key": "no/such/key" });
        assert_error(&app.op(Method::POST, "/attachments", Some(body)).await, 400, "invalid_request_data");
        let body = json!({ "key": "no/such/key" });
        assert_error(&app.op(Method::POST, "/attachments", Some(body)).await, 400, "invalid_request_data");
        let body = json!({ "reference_type": "contact", "reference_id": rec.contact, "key": "k" });
        assert_error(&app.op(Method::POST, "/attachments", Some(body)).await, 400, "invalid_request_data");
        assert_error(&app.op(Method::GET, "/attachments/s3_form", None).await, 400, "invalid_request_data");

        // Deleting removes the row and the bytes.
        let before = stored_files(&app);
        let r = app.op(Method::DELETE, &del, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(stored_files(&app), before - 1);
        assert_eq!(raw(&app, Some(&app.owner), Method::GET, &file_url).await.status(), 404);
        let r = app.op(Method::GET, &format!("/notes/{}", rec.note), None).await;
        assert_eq!(r.body["data"]["note"]["attachments"], json!([]));
        app.finish().await;
    }
}

#[tokio::test]
async fn multipart_uploads_links_renames_pins_and_limits() {
    for app in apps().await {
        let rec = records(&app).await;

        // A file sent with the request, straight onto the deal.
        let form = Form::new().part("file", file_part("offer.txt", b"an offer".to_vec()));
        let r = multipart(&app, &app.owner, &format!("/deals/{}/attachments", rec.deal), form).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let on_deal = r.body["data"]["attachment"]["id"].as_str().expect("id").to_owned();
        let r = app.op(Method::GET, &format!("/deals/{}", rec.deal), None).await;
        assert_eq!(r.body["data"]["deal"]["attachments"][0]["filename"], "offer.txt");
        // And onto a note through `/attachments`, naming the reference in fields.
        let form = Form::new()
            .text("reference_type", "note")
            .text("reference_id", rec.note.clone())
            .part("file", file_part("lab.txt", b"lab results".to_vec()));
        let r = multipart(&app, &app.owner, "/attachments", form).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let on_note = r.body["data"]["attachment"]["id"].as_str().expect("id").to_owned();

        // A link to a file kept elsewhere.
        let body = json!({
            "name": "Budget.xlsx", "external_url": "https://www.dropbox.com/s/abc/Budget.xlsx",
            "link_type": "dropbox", "size": 1234,
        });
        let r = app.op(Method::POST, &format!("/calls/{}/attachments", rec.call), Some(body)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let link = &r.body["data"]["attachment"];
        assert_eq!(link["storage_provider"], "dropbox");
        assert_eq!(link["url"], "https://www.dropbox.com/s/abc/Budget.xlsx");
        let body = json!({ "name": "x", "external_url": "ftp://example.com/x", "link_type": "dropbox" });
        let r = app.op(Method::POST, &format!("/calls/{}/attachments", rec.call), Some(body)).await;
        assert_error(&r, 400, "invalid_request_data");
        let body = json!({ "name": "x", "external_url": "https://example.com/x", "link_type": "ftp" });
        let r = app.op(Method::POST, &format!("/calls/{}/attachments", rec.call), Some(body)).await;
        assert_error(&r, 400, "invalid_request_data");

        // Renaming; the name cannot be unset.
        let path = format!("/attachments/{on_deal}");
        let r =
            app.op(Method::PATCH, &path, Some(json!({ "attachment": { "custom_filename": "Offer v2.txt" } }))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["custom_filename"], "Offer v2.txt");
        assert_eq!(r.body["data"]["filename"], "offer.txt");
        let r = app.op(Method::PATCH, &path, Some(json!({ "attachment": { "custom_filename": "  " } }))).await;
        assert_error(&r, 400, "invalid_request_data");

        // Pinning: the contact's pinned attachments, most recently pinned first, and the company's.
        for id in [&on_deal, &on_note] {
            let r = app.op(Method::PATCH, &format!("/attachments/{id}/pin"), None).await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["data"]["pinned"], true);
            assert!(r.body["data"]["pinned_at"].is_string(), "{}", r.body);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let r = app.op(Method::GET, &format!("/contacts/{}/pinned_attachments", rec.contact), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["total_count"], 2);
        assert_eq!(r.body["data"]["pinned_attachments"][0]["id"], on_note.as_str());
        assert_eq!(r.body["data"]["pinned_attachments"][1]["id"], on_deal.as_str());
        let r = app.op(Method::GET, &format!("/companies/{}/pinned_attachments", rec.company), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["total_count"], 2);
        let r = app.op(Method::GET, "/contacts?fields=pinned_attachments(all)&per_page=5", None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["contacts"][0]["pinned_attachments"].as_array().map(Vec::len), Some(2));
        let r = app.op(Method::PATCH, &format!("/attachments/{on_note}/unpin"), None).await;
        assert_eq!(r.body["data"]["pinned"], false);
        let r = app.op(Method::GET, &format!("/contacts/{}/pinned_attachments", rec.contact), None).await;
        assert_eq!(r.body["data"]["total_count"], 1);

        // Over the 10 MB limit: 413, and nothing stored.
        let files_before = stored_files(&app);
        let big = vec![b'x'; kith_domain::files::MAX_FILE_BYTES + 1];
        let form = Form::new().part("file", file_part("big.bin", big));
        let r = multipart(&app, &app.owner, &format!("/deals/{}/attachments", rec.deal), form).await;
        assert_error(&r, 413, "request_entity_too_large");
        assert_eq!(stored_files(&app), files_before);
        let r = app.op(Method::GET, &format!("/deals/{}", rec.deal), None).await;
        assert_eq!(r.body["data"]["deal"]["attachments"].as_array().map(Vec::len), Some(1));
        // A multipart body without a file, and one with no reference.
        let r =
            multipart(&app, &app.owner, &format!("/deals/{}/attachments", rec.deal), Form::new().text("a", "b")).await;
        assert_error(&r, 400, "invalid_request_data");
        let form = Form::new().part("file", file_part("a.txt", b"a".to_vec()));
        let r = multipart(&app, &app.owner, "/attachments", form).await;
        assert_error(&r, 400, "invalid_request_data");
        app.finish().await;
    }
}

fn png(w: u32, h: u32) -> String {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img).write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).expect("png");
    base64::engine::general_purpose::STANDARD.encode(out)
}

#[tokio::test]
async fn contact_photos_and_company_logos_are_square_and_private() {
    for app in apps().await {
        let rec = records(&app).await;
        let rival = app.other_account().await;
        let path = format!("/contacts/{}/contact_photo", rec.contact);
        let r = app.op(Method::POST, &path, Some(json!({ "image": png(300, 100) }))).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let url = r.body["data"]["contact"]["photo_url"].as_str().expect("photo_url").to_owned();
        assert!(url.starts_with(&app.base), "{url}");
        let res = raw(&app, Some(&app.owner), Method::GET, &url).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "image/png");
        let img = image::load_from_memory(&res.bytes().await.expect("bytes")).expect("an image");
        assert_eq!((img.width(), img.height()), (200, 200));
        assert_eq!(raw(&app, Some(&rival), Method::GET, &url).await.status(), 404);
        let r = app.op(Method::GET, &format!("/contacts/{}", rec.contact), None).await;
        assert_eq!(r.body["data"]["contact"]["photo_url"], url.as_str());

        // A new photo replaces the old one, whose file is gone.
        let r = app
            .op(Method::PUT, &path, Some(json!({ "image": format!("data:image/png;base64,{}", png(50, 80)) })))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let second = r.body["data"]["contact"]["photo_url"].as_str().expect("photo_url").to_owned();
        assert_ne!(second, url);
        assert_eq!(raw(&app, Some(&app.owner), Method::GET, &url).await.status(), 404);
        let r = app.op(Method::DELETE, &path, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["contact"]["photo_url"], "");
        assert_eq!(raw(&app, Some(&app.owner), Method::GET, &second).await.status(), 404);

        // Bad images.
        assert_error(&app.op(Method::POST, &path, Some(json!({ "image": "%%%" }))).await, 400, "invalid_request_data");
        let text = base64::engine::general_purpose::STANDARD.encode("not an image at all");
        assert_error(&app.op(Method::POST, &path, Some(json!({ "image": text }))).await, 415, "unsupported_media_type");
        assert_error(&app.op(Method::POST, &path, Some(json!({}))).await, 400, "invalid_request_data");
        assert_error(
            &app.op_as(&rival, Method::POST, &path, Some(json!({ "image": png(10, 10) }))).await,
            404,
            "resource_not_found",
        );

        // Company logos.
        let logo = format!("/companies/{}/logo", rec.company);
        let r = app.op(Method::PATCH, &logo, Some(json!({ "image": png(64, 64) }))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let logo_url = r.body["data"]["company"]["photo_url"].as_str().expect("photo_url").to_owned();
        assert_eq!(raw(&app, Some(&app.owner), Method::GET, &logo_url).await.status(), 200);
        let r = app.op(Method::DELETE, &logo, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body["data"]["company"].get("photo_url").is_none(), "{}", r.body);
        assert_eq!(raw(&app, Some(&app.owner), Method::GET, &logo_url).await.status(), 404);
        app.finish().await;
    }
}
