//! Connection limits of `kith serve`: clients that send nothing, send their headers slowly or sit
//! idle are disconnected; a request that takes too long is answered 503; past the connection cap,
//! connections wait until one closes. Over raw loopback sockets, each wait bounded.
//!
//! The bounds are generous on purpose: what is asserted is that the server closes or answers, not
//! how quickly to the millisecond.

use std::time::Duration;

use base64::Engine;
use kith_onepage::wire::hex_id;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{self, App};

/// The longest any test here waits for the server to close or answer.
const BOUND: Duration = Duration::from_secs(20);

fn limits(header_read: u64, idle: u64) -> kith::ServeConfig {
    kith::ServeConfig {
        header_read_timeout: Some(Duration::from_millis(header_read)),
        idle_timeout: Some(Duration::from_millis(idle)),
        ..common::test_config()
    }
}

fn addr(app: &App) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

async fn connect(app: &App) -> TcpStream {
    TcpStream::connect(addr(app)).await.expect("connect")
}

/// A client with no pooled connections: each request on a connection of its own.
fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client")
}

/// Reads until the server closes the connection (end of stream or reset); the bytes it sent
/// meanwhile.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// One HTTP/1.1 response read off a raw connection: status, lower-cased headers, body.
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// Reads one response with a `Content-Length`; `None` if the connection closes first.
async fn read_response(stream: &mut TcpStream) -> Option<RawResponse> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).into_owned();
            let mut lines = head.split("\r\n");
            let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            let length: usize = headers.iter().find(|(n, _)| n == "content-length")?.1.parse().ok()?;
            if got.len() >= end + 4 + length {
                let body = String::from_utf8_lossy(&got[end + 4..end + 4 + length]).into_owned();
                return Some(RawResponse { status, headers, body });
            }
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: kith\r\n\r\n";

/// Sends `GET /healthz` on the connection and expects `200`.
async fn healthz_on(stream: &mut TcpStream) {
    stream.write_all(HEALTHZ).await.expect("send request");
    let r = tokio::time::timeout(BOUND, read_response(stream)).await.expect("an answer in time").expect("a response");
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn silent_slow_and_idle_connections_are_closed_while_requests_are_served() {
    for app in common::apps_with(limits(1_000, 1_000)).await {
        let mut waits = tokio::task::JoinSet::new();
        // 50 connections that never send a byte.
        for _ in 0..50 {
            let mut s = connect(&app).await;
            waits.spawn(async move {
                let sent = tokio::time::timeout(BOUND, until_closed(&mut s)).await.map_err(|_| "silent")?;
                // No request was complete: the server closes without a word.
                if sent.is_empty() { Ok(()) } else { Err("silent connection got an answer") }
            });
        }
        // 20 that send a request line, then another header line every 300 ms, forever.
        for _ in 0..20 {
            let mut s = connect(&app).await;
            waits.spawn(async move {
                let trickle = async {
                    if s.write_all(b"GET /healthz HTTP/1.1\r\n").await.is_err() {
                        return;
                    }
                    let mut buf = [0u8; 256];
                    for i in 0u64.. {
                        tokio::select! {
                            read = s.read(&mut buf) => {
                                if matches!(read, Ok(0) | Err(_)) {
                                    return;
                                }
                            }
                            () = tokio::time::sleep(Duration::from_millis(300)) => {
                                if s.write_all(format!("X-Slow-{i}: {i}\r\n").as_bytes()).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                };
                tokio::time::timeout(BOUND, trickle).await.map_err(|_| "slow headers")
            });
        }
        // One that is served, then left idle.
        let mut idle = connect(&app).await;
        healthz_on(&mut idle).await;
        waits.spawn(async move {
            tokio::time::timeout(BOUND, until_closed(&mut idle)).await.map(drop).map_err(|_| "idle keep-alive")
        });

        // Meanwhile an ordinary client is served.
        let (user, key) = (hex_id(app.owner.user_id), app.owner.key.secret.clone());
        let url = format!("{}/api/v3/contacts", app.base);
        let res = fresh_client().get(&url).basic_auth(&user, Some(&key)).send().await.expect("request");
        assert_eq!(res.status(), 200, "{}", app.label);

        let mut closed = 0;
        while let Some(outcome) = waits.join_next().await {
            match outcome.expect("task") {
                Ok(()) => closed += 1,
                Err(which) => panic!("{}: a {which} connection was still open after {BOUND:?}", app.label),
            }
        }
        assert_eq!(closed, 71, "{}", app.label);
        // And served still, once they are gone.
        let res = fresh_client().get(&url).basic_auth(&user, Some(&key)).send().await.expect("request");
        assert_eq!(res.status(), 200, "{}", app.label);
        app.finish().await;
    }
}

#[tokio::test]
async fn a_kept_alive_connection_gets_the_idle_timeout_not_the_header_timeout() {
    // Heads must come within 1 s; an idle connection may wait 30 s.
    for app in common::apps_with(limits(1_000, 30_000)).await {
        let mut kept = connect(&app).await;
        healthz_on(&mut kept).await;
        let mut silent = connect(&app).await;
        // The silent connection is closed by the header timeout …
        let sent = tokio::time::timeout(BOUND, until_closed(&mut silent)).await.expect("silent connection closed");
        assert!(sent.is_empty(), "{}", app.label);
        // … which has passed, and well over, for the kept-alive one too: it still serves.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        healthz_on(&mut kept).await;
        drop(kept);
        app.finish().await;
    }
}

#[tokio::test]
async fn past_the_connection_cap_a_connection_waits_until_one_closes() {
    let config = kith::ServeConfig { max_connections: 4, ..limits(60_000, 60_000) };
    for app in common::apps_with(config).await {
        // Four connections, each answered once: they hold the four slots (idle, for a minute).
        let mut held = Vec::new();
        for _ in 0..4 {
            let mut s = connect(&app).await;
            healthz_on(&mut s).await;
            held.push(s);
        }
        // A fifth connects (the listen queue takes it) but is not served …
        let mut fifth = connect(&app).await;
        fifth.write_all(HEALTHZ).await.expect("send request");
        let early = tokio::time::timeout(Duration::from_secs(1), read_response(&mut fifth)).await;
        assert!(early.is_err(), "{}: a fifth connection was served with four open and a cap of 4", app.label);
        // … until one of the four closes: then it is, its request as it sent it.
        drop(held.pop());
        let r = tokio::time::timeout(BOUND, read_response(&mut fifth))
            .await
            .expect("served once a slot is free")
            .expect("a response");
        assert_eq!(r.status, 200, "{}", app.label);
        drop(held);
        drop(fifth);
        app.finish().await;
    }
}

/// Sends a request head announcing a 100-byte body, and 10 bytes of it.
async fn stalled_post(app: &App, path: &str, auth: &str) -> RawResponse {
    let mut s = connect(app).await;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: kith\r\nAuthorization: {auth}\r\nUser-Agent: kith-tests/1.0\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"first_na"
    );
    s.write_all(head.as_bytes()).await.expect("send request");
    tokio::time::timeout(BOUND, read_response(&mut s)).await.expect("an answer in time").expect("a response")
}

#[tokio::test]
async fn a_request_over_the_time_limit_is_answered_503_in_its_dialect_shape() {
    let mut config = limits(10_000, 10_000);
    config.http.request_timeout = Some(Duration::from_millis(1_000));
    for app in common::apps_with(config).await {
        let key = &app.owner.key.secret;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{key}", hex_id(app.owner.user_id)));

        let r = stalled_post(&app, "/api/v3/contacts", &format!("Basic {basic}")).await;
        assert_eq!(r.status, 503, "{}: {}", app.label, r.body);
        let body = r.json();
        assert_eq!(body["status"], 503, "{body}");
        assert_eq!(body["error_name"], "request_timeout", "{body}");
        assert!(body["error_message"].is_string(), "{body}");
        assert!(r.header("request-id").is_some_and(|id| !id.is_empty()));

        let r = stalled_post(&app, "/v2/contacts", &format!("Bearer {key}")).await;
        assert_eq!(r.status, 503, "{}: {}", app.label, r.body);
        let body = r.json();
        assert_eq!(body["errors"][0]["error"]["code"], "request_timeout", "{body}");
        assert_eq!(body["meta"]["http_status"], "503 Service Unavailable", "{body}");
        // The error names the request as its `Request-Id` header does.
        assert_eq!(body["meta"]["logref"].as_str(), r.header("request-id"), "{body}");
        app.finish().await;
    }
}
