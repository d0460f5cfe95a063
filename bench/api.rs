//! Benchmarks of the loopback API, each against a baseline measured in the same run, in
//! interleaved rounds (this machine is noisy):
//!
//! - `list`: `GET /api/tasks` on a project of 10,000 tasks — the default page (1000 tasks) and a
//!   filtered search (`q` + `status`) — p50 and p99, against a bare axum handler on the same
//!   machine answering the very same bytes (what HTTP alone costs), asked again with nothing
//!   changed (answered from the list cache) and asked after a change (computed afresh).
//!   Target: p99 ≤ 3× bare.
//! - `fanout`: one event published on the bus reaches 100 `/ws` subscribers: p99 from publish
//!   to the last receipt. Target: < 5 ms.
//!
//! Both run on SQLite, then on PostgreSQL: `BATON_TEST_DATABASE_URL` names a server, or a
//! throw-away cluster is started with `scripts/postgres.sh` (skipped if that cannot be done).
//!
//! Run: `cargo bench --bench api` (or `-- list`, `-- fanout`; `BENCH_SAMPLES`, default 200).

use std::time::{Duration, Instant};

use axum::routing::get;
use futures_util::StreamExt;
use sea_orm::{ActiveModelTrait, Set, TransactionTrait};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use baton::config::Config;
use baton::events::Event;
use baton::store::entity::task;

const TASKS: usize = 10_000;
const SUBSCRIBERS: usize = 100;

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// A Baton server in this process, on its own data folder and database.
async fn baton(database_url: Option<String>) -> (baton::server::Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path().join("data"));
    config.port = 0;
    config.database_url = database_url;
    config.rates = baton::api::rate_limit::Rates {
        person_per_sec: 0,
        agent_per_sec: 0,
    };
    (
        baton::server::start(&config).await.expect("start baton"),
        dir,
    )
}

/// A project of [`TASKS`] tasks, written straight into the store (seeding is not measured).
async fn seed(server: &baton::server::Server) -> String {
    let project = server
        .service()
        .create_project(
            baton::model::NewProject {
                name: "bench".into(),
                base_path: None,
                settings: None,
            },
            &baton::service::Actor::User,
        )
        .await
        .unwrap()
        .id;
    let db = server.service().db();
    let txn = db.begin().await.unwrap();
    let now = baton::clock::now_ms();
    for i in 0..TASKS {
        let needle = if i % 100 == 0 { " needle" } else { "" };
        task::ActiveModel {
            id: Set(format!("task_bench_{i:05}")),
            project_id: Set(project.clone()),
            title: Set(format!("task number {i}{needle}")),
            description: Set("a description of the work, as long as a sentence or two".into()),
            prompt: Set("write the code, run the tests, report".into()),
            status: Set(if i % 3 == 0 { "completed" } else { "pending" }.into()),
            priority: Set((i % 3) as i16),
            completed_at: Set(None),
            thread_message_id: Set(None),
            created_at: Set(now + i as i64),
            updated_at: Set(now + i as i64),
        }
        .insert(&txn)
        .await
        .unwrap();
    }
    txn.commit().await.unwrap();
    project
}

/// A change in the store that no listed task sees: a project created (and its event published).
async fn touch(server: &baton::server::Server) {
    server
        .service()
        .create_project(
            baton::model::NewProject {
                name: "elsewhere".into(),
                base_path: None,
                settings: None,
            },
            &baton::service::Actor::User,
        )
        .await
        .unwrap();
}

/// A bare axum server answering `body` to every GET.
async fn bare(body: bytes::Bytes) -> String {
    let app = axum::Router::new().fallback(get(move || {
        let body = body.clone();
        async move { ([("content-type", "application/json")], body) }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn timed_get(client: &reqwest::Client, url: &str, token: &str) -> (f64, bytes::Bytes) {
    let start = Instant::now();
    let response = client.get(url).bearer_auth(token).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    let body = response.bytes().await.unwrap();
    (start.elapsed().as_secs_f64() * 1000.0, body)
}

async fn list(backend: &str, database_url: Option<String>, samples: usize) {
    let (server, _dir) = baton(database_url).await;
    let project = seed(&server).await;
    let token = server.service().runtime().admin.expose().to_string();
    let client = reqwest::Client::new();
    for (case, query) in [
        ("default page", format!("projectId={project}")),
        (
            "filtered search",
            format!("projectId={project}&q=needle&status=pending"),
        ),
    ] {
        let url = format!("{}/api/tasks?{query}", server.url());
        let (_, body) = timed_get(&client, &url, &token).await;
        let count = serde_json::from_slice::<serde_json::Value>(&body)
            .unwrap()
            .as_array()
            .unwrap()
            .len();
        let bare_url = bare(body.clone()).await;
        // Warm both.
        for _ in 0..10 {
            timed_get(&client, &url, &token).await;
            timed_get(&client, &bare_url, &token).await;
        }
        // Where the time goes when the data just changed: the service call alone (queries
        // and views), and turning its answer into JSON.
        let list_query: baton::model::ListTasks = serde_urlencoded::from_str(&query).unwrap();
        let (mut service, mut json) = (Vec::new(), Vec::new());
        for _ in 0..samples.min(50) {
            touch(&server).await;
            let start = Instant::now();
            let page = server
                .service()
                .list_tasks(&list_query, &baton::service::Actor::User)
                .await
                .unwrap();
            service.push(start.elapsed().as_secs_f64() * 1000.0);
            let start = Instant::now();
            std::hint::black_box(page.json());
            json.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        // Asked again with nothing changed (the board, an agent's `baton task list` loop), and
        // asked after a change elsewhere in the store (every answer computed afresh).
        for (when, change) in [("unchanged", false), ("after a change", true)] {
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for _ in 0..samples {
                if change {
                    touch(&server).await;
                }
                ours.push(timed_get(&client, &url, &token).await.0);
                theirs.push(timed_get(&client, &bare_url, &token).await.0);
            }
            let (p50, p99) = (percentile(&mut ours, 0.5), percentile(&mut ours, 0.99));
            let (b50, b99) = (percentile(&mut theirs, 0.5), percentile(&mut theirs, 0.99));
            println!(
                "list [{backend}] {case}, {when} ({count} of {TASKS} tasks, {} KB): p50 {p50:.2} ms, p99 {p99:.2} ms; bare axum, same bytes: p50 {b50:.2} ms, p99 {b99:.2} ms; ratio p50 {:.2}x, p99 {:.2}x (target p99 <= 3x)",
                body.len() / 1024,
                p50 / b50,
                p99 / b99,
            );
        }
        println!(
            "  after a change, of which: the service call p50 {:.2} ms, its JSON p50 {:.2} ms",
            percentile(&mut service, 0.5),
            percentile(&mut json, 0.5)
        );
    }
    server.stop().await.unwrap();
}

async fn fanout(backend: &str, database_url: Option<String>, samples: usize) {
    let (server, _dir) = baton(database_url).await;
    let token = server.service().runtime().admin.expose().to_string();
    let ws_url = format!("{}/ws", server.url().replacen("http", "ws", 1));
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let mut ready = Vec::new();
    for _ in 0..SUBSCRIBERS {
        let mut request = ws_url.as_str().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let done = done_tx.clone();
        ready.push(tokio::spawn(async move {
            while let Some(Ok(frame)) = socket.next().await {
                let at = Instant::now();
                if let Ok(text) = frame.into_text() {
                    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                    if let Some(n) = value["data"]["body"].as_str().and_then(|b| b.parse().ok()) {
                        let _ = done.send((n, at));
                    }
                }
            }
        }));
    }
    while server.service().bus().subscribers() < SUBSCRIBERS {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut latencies = Vec::new();
    for n in 0..samples {
        let message = baton::model::Message {
            id: format!("msg_{n}"),
            project_id: "proj_bench".into(),
            task_id: None,
            session_id: None,
            r#type: "FACT".into(),
            body: n.to_string(),
            parent_ids: Vec::new(),
            author: "user".into(),
            created_at: baton::clock::now_ms(),
        };
        let published = Instant::now();
        server
            .service()
            .bus()
            .publish(Event::MessageCreated(message));
        let mut last = published;
        let mut received = 0;
        while received < SUBSCRIBERS {
            let (m, at) = tokio::time::timeout(Duration::from_secs(10), done_rx.recv())
                .await
                .expect("every subscriber receives the event")
                .unwrap();
            assert_eq!(m, n);
            received += 1;
            last = last.max(at);
        }
        latencies.push((last - published).as_secs_f64() * 1000.0);
    }
    let (p50, p99) = (
        percentile(&mut latencies, 0.5),
        percentile(&mut latencies, 0.99),
    );
    println!(
        "fanout [{backend}] one event to {SUBSCRIBERS} /ws subscribers, publish to last receipt: p50 {p50:.2} ms, p99 {p99:.2} ms (target p99 < 5 ms)"
    );
    for task in ready {
        task.abort();
    }
    server.stop().await.unwrap();
}

/// A PostgreSQL server for the second pass: the caller's, or a throw-away cluster (stopped on
/// drop).
struct Postgres {
    base: String,
    cluster: Option<String>,
}

impl Postgres {
    fn get() -> Option<Self> {
        if let Ok(base) = std::env::var("BATON_TEST_DATABASE_URL") {
            return Some(Self {
                base,
                cluster: None,
            });
        }
        let out = std::process::Command::new("bash")
            .args(["scripts/postgres.sh", "start"])
            .output()
            .ok()
            .filter(|o| o.status.success())?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let value = |key: &str| {
            text.split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{key}=")).map(str::to_owned))
        };
        Some(Self {
            base: value("BATON_TEST_DATABASE_URL")?,
            cluster: value("BATON_PG_DIR"),
        })
    }

    /// A new empty database.
    async fn database(&self, name: &str) -> String {
        use sea_orm::ConnectionTrait;
        let admin = sea_orm::Database::connect(format!("{}/postgres", self.base))
            .await
            .unwrap();
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
            .await;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        format!("{}/{name}", self.base)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(dir) = &self.cluster {
            let _ = std::process::Command::new("bash")
                .args(["scripts/postgres.sh", "stop", dir])
                .status();
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    let samples: usize = std::env::var("BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let postgres = Postgres::get();
    if postgres.is_none() {
        println!(
            "(no PostgreSQL: set BATON_TEST_DATABASE_URL, or install postgresql; SQLite only)"
        );
    }
    if wanted("list") {
        list("sqlite", None, samples).await;
        if let Some(pg) = &postgres {
            list("postgres", Some(pg.database("bench_list").await), samples).await;
        }
    }
    if wanted("fanout") {
        fanout("sqlite", None, samples).await;
        if let Some(pg) = &postgres {
            fanout("postgres", Some(pg.database("bench_fanout").await), samples).await;
        }
    }
}
