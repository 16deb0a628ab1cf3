//! Crash safety: clients write through the API while the server is killed with SIGKILL at
//! random moments and started again. Every acknowledged write must be there afterwards, and a
//! write that was never acknowledged is either all there or not there at all.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::common::process::{all_contacts, create_account_with, free_port, spawn_server_with, stop, wait_until_up};

const ROUNDS: u32 = 3;
const WRITERS: u32 = 4;

/// What one client knows after a round: the value of each contact it was told it wrote, and the
/// request that was under way when the server died (its outcome unknown).
#[derive(Default)]
struct Known {
    acked: HashMap<String, String>,
    in_flight: Option<Unanswered>,
}

enum Unanswered {
    Create(String),
    Update(String, String),
}

/// One client: creates contacts and renames its own (first and last name together) until the
/// server stops answering or `stopping` is set.
async fn write_until_killed(
    base: String,
    user: String,
    key: String,
    tag: String,
    seed: u64,
    stopping: Arc<AtomicBool>,
) -> Known {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    let mut dice = StdRng::seed_from_u64(seed);
    let mut known = Known::default();
    let mut mine: Vec<String> = Vec::new();
    for n in 0.. {
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        let name = format!("{tag}n{n}");
        let body = json!({ "first_name": name, "last_name": format!("{name}-last") });
        let update =
            (!mine.is_empty() && dice.random_bool(0.4)).then(|| mine[dice.random_range(0..mine.len())].clone());
        let request = match &update {
            Some(id) => client.put(format!("{base}/api/v3/contacts/{id}")),
            None => client.post(format!("{base}/api/v3/contacts")),
        };
        known.in_flight = Some(match &update {
            Some(id) => Unanswered::Update(id.clone(), name.clone()),
            None => Unanswered::Create(name.clone()),
        });
        let Ok(res) = request.basic_auth(&user, Some(&key)).json(&body).send().await else {
            break;
        };
        let status = res.status().as_u16();
        let Ok(answer) = res.json::<Value>().await else {
            break;
        };
        assert!(status == 200 || status == 201, "{status}: {answer}");
        let id = answer["data"]["contact"]["id"].as_str().expect("id").to_owned();
        if update.is_none() {
            mine.push(id.clone());
        }
        known.acked.insert(id, name);
        known.in_flight = None;
    }
    known
}

async fn crash_rounds(database: &[&str], label: &str) {
    let (user, key) = create_account_with(database, "Crash");
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(7, |d| d.as_nanos() as u64);
    eprintln!("{label}: crash rounds with seed {seed}");
    let mut dice = StdRng::seed_from_u64(seed);
    let client = reqwest::Client::new();
    // What the clients were told, over every round: contact id → its last acknowledged name.
    let mut acked: HashMap<String, String> = HashMap::new();
    let mut unanswered: Vec<Unanswered> = Vec::new();
    let mut survived = 0;
    for round in 0..=ROUNDS {
        let listen = format!("127.0.0.1:{}", free_port());
        let base = format!("http://{listen}");
        let mut server = spawn_server_with(database, &listen, &[("KITH_NO_WEBHOOKS", "true")]);
        wait_until_up(&client, &format!("{base}/healthz")).await;

        // Everything acknowledged so far is there, and whole; nothing else is, but for the
        // requests whose answers the crash cut off.
        let stored = all_contacts(&client, &base, &user, &key).await;
        // A request the crash cut off may or may not have committed: what is stored of it is,
        // from now on, what the client knows (and must itself be whole, checked below).
        for cut in unanswered.drain(..) {
            let (id, name) = match cut {
                Unanswered::Create(name) => match stored.iter().find(|(_, (first, _))| *first == name) {
                    Some((id, _)) => (id.clone(), name),
                    None => continue,
                },
                Unanswered::Update(id, name) => (id, name),
            };
            if stored.get(&id).is_some_and(|(first, _)| *first == name) {
                acked.insert(id, name);
            }
        }
        for (id, name) in &acked {
            let (first, last) = stored
                .get(id)
                .unwrap_or_else(|| panic!("{label} round {round}: acknowledged contact {id} ({name}) is lost"));
            assert_eq!(last, &format!("{first}-last"), "{label}: contact {id} is half written");
            assert_eq!(first, name, "{label} round {round}: contact {id} lost its acknowledged update");
        }
        for (id, (first, last)) in &stored {
            assert_eq!(last, &format!("{first}-last"), "{label}: contact {id} is half written");
            assert!(acked.contains_key(id), "{label} round {round}: contact {id} ({first}) was never acknowledged");
        }
        if round == ROUNDS {
            assert!(stop(server).success());
            break;
        }

        let stopping = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let tag = format!("r{round}w{w}");
                let seed = dice.random::<u64>();
                tokio::spawn(write_until_killed(base.clone(), user.clone(), key.clone(), tag, seed, stopping.clone()))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(dice.random_range(150..750))).await;
        server.kill().expect("kill -9");
        let _ = server.wait();
        survived += 1;
        stopping.store(true, Ordering::SeqCst);
        for w in writers {
            let known = w.await.expect("writer");
            acked.extend(known.acked);
            unanswered.extend(known.in_flight);
        }
    }
    assert_eq!(survived, ROUNDS);
    eprintln!("{label}: {survived} kill -9s survived, {} acknowledged contacts all found whole", acked.len());
    assert!(acked.len() > WRITERS as usize, "{label}: the clients wrote almost nothing ({})", acked.len());
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    crash_rounds(&["--data-dir", data.to_str().expect("utf-8 path")], "sqlite").await;
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9_on_postgres() {
    let Some(admin) = kith_store::testing::pg_url() else {
        eprintln!("note: KITH_TEST_DATABASE_URL is not set; skipping");
        return;
    };
    let db = kith_store::testing::PgTestDatabase::create(&admin).await;
    crash_rounds(&["--database", &db.url], "postgres").await;
}
