//! `send_error_email=true`: the error file of an upload is mailed to the uploader over SMTP. The
//! mail server is a small SMTP sink this test starts on loopback; Kith runs as its binary with
//! `--smtp-url` pointing at it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::common::process::{create_account, free_port, spawn_server, stop, wait_until_up};

/// A message the sink accepted: its envelope recipients and its text.
#[derive(Clone, Debug, Default)]
struct Received {
    to: Vec<String>,
    data: String,
}

/// An SMTP server that accepts every message (RFC 5321's minimal dialogue) and keeps it.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let inbox: Arc<Mutex<Vec<Received>>> = Arc::default();
    let kept = inbox.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let inbox = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink.test ESMTP\r\n").await;
                let mut message = Received::default();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink.test\r\n",
                        "MAIL" => b"250 OK\r\n",
                        "RCPT" => {
                            message.to.push(line[8..].trim().trim_matches(|c| c == '<' || c == '>').to_owned());
                            b"250 OK\r\n"
                        }
                        "DATA" => {
                            let _ = write.write_all(b"354 go on\r\n").await;
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                message.data.push_str(&l);
                                message.data.push('\n');
                            }
                            inbox.lock().expect("inbox").push(std::mem::take(&mut message));
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 OK\r\n",
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    (port, inbox)
}

const CSV: &str =
    "Opportunity ID*,Opportunity Name*,Amount\r\nM-1,Good one,100\r\n,No id at all,5\r\nM-2,Bad amount,lots\r\n";

#[tokio::test]
async fn the_error_file_is_mailed_to_the_uploader() {
    let (smtp_port, inbox) = smtp_sink().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (_, key) = create_account(&data, "Mailed");
    let listen = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{listen}");
    let smtp = format!("smtp://127.0.0.1:{smtp_port}");
    let server = spawn_server(
        &data,
        &listen,
        &[
            ("KITH_SMTP_URL", smtp.as_str()),
            ("KITH_SMTP_FROM", "Kith <kith@mailed.test>"),
            ("KITH_NO_WEBHOOKS", "true"),
        ],
    );
    let client = reqwest::Client::new();
    wait_until_up(&client, &format!("{base}/healthz")).await;

    let post = |email: &'static str| {
        let part = Part::bytes(CSV.as_bytes().to_vec()).file_name("opps.csv").mime_str("text/csv").expect("mime");
        client
            .post(format!("{base}/api/v1/admin/opportunities/upload?send_error_email={email}"))
            .header("Authorization", &key)
            .multipart(Form::new().part("file", part))
            .send()
    };
    // Without the flag nothing is mailed.
    let r: Value = post("false").await.expect("upload").json().await.expect("json");
    assert_eq!(r["data"]["total_error_rows"], 2, "{r}");
    let r: Value = post("true").await.expect("upload").json().await.expect("json");
    assert_eq!(r["data"]["total_error_rows"], 2, "{r}");
    let url = r["data"]["error_file"].as_str().expect("error file").to_owned();

    let deadline = Instant::now() + Duration::from_secs(20);
    let message = loop {
        if let Some(m) = inbox.lock().expect("inbox").first().cloned() {
            break m;
        }
        assert!(Instant::now() < deadline, "no mail arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(message.to, vec!["owner@mailed.test".to_owned()]);
    let data = &message.data;
    assert!(data.contains("From: Kith <kith@mailed.test>"), "{data}");
    assert!(data.contains("Subject: 2 of 3 rows of your opportunities upload were not imported"), "{data}");
    // The text part is quoted-printable: long lines are cut with a soft break, `=` is `=3D`.
    let text = data.replace("=\n", "").replace("=3D", "=");
    assert!(text.contains(&url), "the mail links the error file: {data}");
    assert!(data.contains("opportunities-errors.csv"), "the error file is attached: {data}");
    // The attachment holds the refused rows with their reasons (base64 or as it is).
    let attached = attachment_text(data);
    assert!(attached.contains("No id at all") && attached.contains("Bad amount"), "{attached}");
    assert!(!attached.contains("Good one"), "{attached}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(inbox.lock().expect("inbox").len(), 1, "one mail, for the upload that asked for it");
    assert!(stop(server).success());
}

/// The text of the message's `text/csv` part, decoded.
fn attachment_text(data: &str) -> String {
    let Some(start) = data.find("Content-Type: text/csv") else { return String::new() };
    let part = &data[start..];
    let body_start = part.find("\n\n").map_or(part.len(), |i| i + 2);
    let body: String = part[body_start..].lines().take_while(|l| !l.starts_with("--")).collect::<Vec<_>>().join("\n");
    if part[..body_start].to_ascii_lowercase().contains("content-transfer-encoding: base64") {
        let compact: String = body.split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD.decode(compact).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        body
    }
}
