//! Rate limits per token: an agent that calls in a loop gets 429 with `Retry-After`, while the
//! person's token, other agents and every stream go on.

use serde_json::json;

use crate::common::{Events, Server};

#[tokio::test]
async fn an_agent_over_its_rate_gets_429_and_nothing_else_is_held_up() {
    // One request a second, bursts of five, for agents.
    let s = Server::start_with_env(&[("BATON_AGENT_RATE_LIMIT", "1")]).await;
    let (p, folder) = s.project_with_folder().await;
    let (sid, token) = s.agent_token(&p, folder.path()).await;
    let (_, other_token) = s.agent_token(&p, folder.path()).await;
    let http = reqwest::Client::new();
    let get = |token: &str| {
        http.get(format!("{}/api/sessions/{sid}", s.url))
            .bearer_auth(token)
            .send()
    };

    let mut statuses = Vec::new();
    let limited = loop {
        let r = get(&token).await.unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            break r;
        }
        assert!(statuses.len() <= 6, "no 429 after {statuses:?}");
    };
    assert!(
        statuses[..statuses.len() - 1].iter().all(|s| *s == 200),
        "{statuses:?}"
    );
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=2).contains(&wait), "{wait}");
    let body: serde_json::Value = limited.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(body["details"]["retryAfterSecs"], wait);

    // The person, and another agent, are not held up.
    assert_eq!(s.get(&format!("/api/sessions/{sid}")).await.status, 200);
    assert_eq!(get(&other_token).await.unwrap().status(), 200);
    // Streams are not throttled: the limited agent still opens its events and its terminal.
    let mut request = s.ws_request("/ws");
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let mut events = Events::open(request).await;
    s.task(&p, json!({ "title": "seen" })).await;
    assert_eq!(events.next().await["event"], "task:created");
    let mut request = s.ws_request(&format!("/api/sessions/{sid}/terminal"));
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (_terminal, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status().as_u16(), 101);

    let metrics = s.metrics_text().await;
    assert!(
        metrics.contains("baton_rate_limited_total{caller=\"agent\"} 1"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("rate_limited"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
