//! `GET /metrics` (parsed as Prometheus text) and `GET /api/system/status`.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{agent_bin, Server, DEADLINE};

/// One scrape, parsed by a Prometheus text parser.
pub struct Scrape(prometheus_parse::Scrape);

impl Scrape {
    pub async fn take(s: &Server) -> Self {
        let r = s.send(s.request(reqwest::Method::GET, "/metrics")).await;
        assert_eq!(r.status, 200);
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4"),
            "{:?}",
            r.headers
        );
        let text = r.body.as_str().expect("text").to_owned();
        let lines = text.lines().map(|l| Ok(l.to_owned()));
        Self(prometheus_parse::Scrape::parse(lines).expect("valid exposition"))
    }

    /// The value of `name` with exactly these labels (0 when the series does not exist yet).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .samples
            .iter()
            .find(|s| {
                s.metric == name
                    && labels.len() == s.labels.len()
                    && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
            })
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => panic!("{name} is not a plain value"),
            })
            .unwrap_or(0.0)
    }
}

/// Scrapes until `check` holds (with the deadline).
async fn scrape_until(s: &Server, what: &str, check: impl Fn(&Scrape) -> bool) -> Scrape {
    let start = Instant::now();
    loop {
        let scrape = Scrape::take(s).await;
        if check(&scrape) {
            return scrape;
        }
        assert!(start.elapsed() < DEADLINE, "metrics never showed {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn metrics_need_the_token_and_their_counters_move_with_what_happens() {
    let s = Server::start().await;
    let anonymous = reqwest::get(format!("{}/metrics", s.url)).await.unwrap();
    assert_eq!(anonymous.status(), 401);

    let p = s.project("p").await;
    let before = Scrape::take(&s).await;
    let route = [("route", "GET /api/projects/:id"), ("status", "200")];
    let missing = [("route", "GET /api/projects/:id"), ("status", "404")];
    for _ in 0..3 {
        assert_eq!(s.get(&format!("/api/projects/{p}")).await.status, 200);
    }
    assert_eq!(s.get("/api/projects/nope").await.status, 404);
    for body in ["one", "two"] {
        s.post("/api/messages", json!({ "projectId": p, "body": body }))
            .await;
    }
    let after = Scrape::take(&s).await;
    assert_eq!(
        after.value("baton_api_requests_total", &route)
            - before.value("baton_api_requests_total", &route),
        3.0,
        "counted by route template, not by raw path"
    );
    assert_eq!(after.value("baton_api_requests_total", &missing), 1.0);
    assert_eq!(
        after.value("baton_messages_appended_total", &[])
            - before.value("baton_messages_appended_total", &[]),
        2.0
    );
    assert_eq!(after.value("baton_sessions_running", &[]), 0.0);

    // An agent: running, printing, then stopped.
    let session = s
        .post(
            "/api/sessions",
            json!({ "projectId": p, "command": [agent_bin()] }),
        )
        .await;
    assert_eq!(session.status, 201, "{:?}", session.body);
    let sid = session.id();
    let events = s.events().await;
    let running = scrape_until(&s, "a running agent that printed", |m| {
        m.value("baton_sessions_running", &[]) == 1.0
            && m.value("baton_output_bytes_total", &[]) > 0.0
            && m.value("baton_websocket_clients", &[("kind", "events")]) == 1.0
    })
    .await;
    assert_eq!(
        running.value("baton_sessions", &[("status", "running")]),
        1.0
    );
    drop(events);
    let stopped = s
        .post(&format!("/api/sessions/{sid}/stop"), json!({}))
        .await;
    assert_eq!(stopped.status, 200, "{:?}", stopped.body);
    let ended = scrape_until(&s, "the agent ended and the client left", |m| {
        m.value("baton_sessions_running", &[]) == 0.0
            && m.value("baton_websocket_clients", &[("kind", "events")]) == 0.0
    })
    .await;
    assert_eq!(
        ended.value("baton_sessions_ended_total", &[("state", "stopped")]),
        1.0
    );
    assert_eq!(ended.value("baton_sessions", &[("status", "stopped")]), 1.0);
    assert!(
        ended.value("baton_output_bytes_total", &[])
            >= running.value("baton_output_bytes_total", &[]),
        "output bytes never go down when a run ends"
    );
    assert!(
        ended.value(
            "baton_events_published_total",
            &[("event", "session:updated")]
        ) >= 1.0
    );
}

#[tokio::test]
async fn system_status_reports_uptime_sessions_queues_and_database_size() {
    let s = Server::start().await;
    assert_eq!(
        reqwest::get(format!("{}/api/system/status", s.url))
            .await
            .unwrap()
            .status(),
        401
    );
    let p = s.project("p").await;
    s.post("/api/sessions", json!({ "projectId": p })).await;
    let status = s.get("/api/system/status").await;
    assert_eq!(status.status, 200);
    let b = &status.body;
    assert_eq!(b["version"], env!("CARGO_PKG_VERSION"));
    assert!(b["uptimeMs"].as_u64().is_some());
    assert_eq!(b["sessions"]["running"], 1, "a record-only session: {b}");
    assert_eq!(b["sessions"]["failed"], 0, "every status is listed");
    assert_eq!(b["runningProcesses"], 0);
    assert_eq!(b["queues"]["webhookDeliveries"], 0);
    let backend = if crate::common::on_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(b["database"]["backend"], backend);
    assert!(b["database"]["sizeBytes"].as_u64().unwrap() > 0, "{b}");
}
