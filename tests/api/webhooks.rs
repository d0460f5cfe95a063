//! Webhooks against a real HTTP receiver on loopback: signature, order, retries, records.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::mpsc;

use crate::common::{Server, DEADLINE};

/// One request the receiver got.
struct Received {
    headers: HeaderMap,
    body: String,
    answered: u16,
}

/// An HTTP receiver on 127.0.0.1 that answers 500 to its first `failures` requests, then 204.
/// The count left is shared: store 0 in it to heal the receiver at once.
async fn receiver(
    failures: usize,
) -> (String, mpsc::UnboundedReceiver<Received>, Arc<AtomicUsize>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let left = Arc::new(AtomicUsize::new(failures));
    let counter = left.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let tx = tx.clone();
            let failing = counter
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            async move {
                let status = if failing {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                };
                let _ = tx.send(Received {
                    headers,
                    body,
                    answered: status.as_u16(),
                });
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx, left)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(DEADLINE, rx.recv())
        .await
        .expect("no delivery in time")
        .expect("receiver gone")
}

fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

fn hmac_hex(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn deliveries_are_signed_in_order_and_retried_after_the_receiver_fails_twice() {
    let s = Server::start().await;
    let (url, mut got, _) = receiver(2).await;
    let secret = "a-shared-secret-of-some-length";
    let hook = s
        .post(
            "/api/webhooks",
            json!({ "url": url, "secret": secret, "events": ["task:created"] }),
        )
        .await;
    assert_eq!(hook.status, 201, "{:?}", hook.body);
    assert_eq!(hook.body["secret"], secret, "shown once, at creation");
    let hook_id = hook.id();

    let p = s.project("p").await; // project:created is not asked for
    let mut tasks = Vec::new();
    for title in ["first", "second", "third"] {
        tasks.push(s.task(&p, json!({ "title": title })).await);
    }

    // The first event: two failures, then success, always the same delivery id and body.
    let attempts: Vec<Received> = vec![
        next(&mut got).await,
        next(&mut got).await,
        next(&mut got).await,
    ];
    assert_eq!(
        attempts.iter().map(|a| a.answered).collect::<Vec<_>>(),
        [500, 500, 204]
    );
    let delivery_id = header(&attempts[0], "x-baton-delivery").to_owned();
    for a in &attempts {
        assert_eq!(header(a, "x-baton-delivery"), delivery_id);
        assert_eq!(a.body, attempts[0].body);
    }
    // Then the other two, in the order the tasks were made.
    let rest = [next(&mut got).await, next(&mut got).await];
    let delivered: Vec<&Received> = std::iter::once(&attempts[2]).chain(rest.iter()).collect();
    let mut delivered_ids = Vec::new();
    for d in &delivered {
        assert_eq!(header(d, "x-baton-event"), "task:created");
        assert_eq!(header(d, "content-type"), "application/json");
        assert_eq!(
            header(d, "x-baton-signature-256"),
            hmac_hex(secret, &d.body),
            "signature over the exact body"
        );
        let envelope: Value = serde_json::from_str(&d.body).unwrap();
        assert_eq!(envelope["event"], "task:created");
        delivered_ids.push(envelope["data"]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(delivered_ids, tasks, "in order per hook");

    // Recorded, newest first (the record is written once the receiver has answered: wait for it).
    let start = std::time::Instant::now();
    let records = loop {
        let r = s
            .get(&format!("/api/webhooks/{hook_id}/deliveries"))
            .await
            .body;
        if r.as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] == "delivered")
        {
            break r;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "deliveries never all recorded: {r}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 3);
    let oldest = &records[2];
    assert_eq!(oldest["id"], delivery_id.as_str());
    assert_eq!(
        (
            oldest["status"].as_str(),
            oldest["attempts"].as_i64(),
            oldest["responseStatus"].as_i64()
        ),
        (Some("delivered"), Some(3), Some(204))
    );
    assert_eq!(oldest["payload"]["data"]["id"], tasks[0].as_str());
    assert!(records[..2]
        .iter()
        .all(|r| r["attempts"] == 1 && r["status"] == "delivered"));

    // A receiver that never answers 2xx is given up on after the last attempt, without
    // holding up the first hook.
    let (dead_url, mut dead, _) = receiver(usize::MAX).await;
    let dead_hook = s
        .post(
            "/api/webhooks",
            json!({ "url": dead_url, "events": ["message:*"] }),
        )
        .await;
    assert_eq!(dead_hook.status, 201);
    assert!(dead_hook.body["secret"]
        .as_str()
        .unwrap()
        .starts_with("whsec_"));
    s.post("/api/messages", json!({ "projectId": p, "body": "hello" }))
        .await;
    s.task(&p, json!({ "title": "fourth" })).await;
    let fourth = next(&mut got).await;
    assert_eq!(fourth.answered, 204, "the healthy hook is not held up");
    for _ in 0..8 {
        assert_eq!(next(&mut dead).await.answered, 500);
    }
    let failed = loop {
        let r = s
            .get(&format!("/api/webhooks/{}/deliveries", dead_hook.id()))
            .await
            .body;
        if r[0]["status"] == "failed" {
            break r;
        }
        assert!(start.elapsed() < DEADLINE, "never given up: {r}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(failed[0]["attempts"], 8);
    assert_eq!(failed[0]["responseStatus"], 500);

    // Every attempt is counted by outcome (just after it is recorded: wait for the last ones).
    let m = loop {
        let m = crate::observability::Scrape::take(&s).await;
        let outcome = |o: &str| m.value("baton_webhook_deliveries_total", &[("outcome", o)]);
        if outcome("failed") == 1.0 && outcome("delivered") == 4.0 {
            break m;
        }
        assert!(start.elapsed() < DEADLINE, "outcomes never counted");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(
        m.value("baton_webhook_deliveries_total", &[("outcome", "retried")]),
        2.0 + 7.0,
        "two for the first hook, seven before giving up"
    );
}

#[tokio::test]
async fn a_pending_delivery_survives_a_restart_and_is_delivered_after_it() {
    let s = Server::start().await;
    let (url, mut got, failures_left) = receiver(usize::MAX).await;
    let hook = s
        .post(
            "/api/webhooks",
            json!({ "url": url, "events": ["project:created"] }),
        )
        .await
        .id();
    let p = s.project("p").await;
    let first = next(&mut got).await;
    assert_eq!(first.answered, 500);
    let delivery = header(&first, "x-baton-delivery").to_owned();

    let s = s.restart().await;
    failures_left.store(0, Ordering::SeqCst);
    let delivered = loop {
        let r = next(&mut got).await;
        assert_eq!(
            header(&r, "x-baton-delivery"),
            delivery,
            "the same delivery, resumed"
        );
        if r.answered == 204 {
            break r;
        }
    };
    let envelope: Value = serde_json::from_str(&delivered.body).unwrap();
    assert_eq!(envelope["data"]["id"], p.as_str());
    let start = std::time::Instant::now();
    let record = loop {
        let r = s
            .get(&format!("/api/webhooks/{hook}/deliveries"))
            .await
            .body;
        if r[0]["status"] == "delivered" {
            break r;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "never recorded as delivered: {r}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(
        record.as_array().unwrap().len(),
        1,
        "delivered once, recorded once"
    );
    assert!(record[0]["attempts"].as_i64().unwrap() >= 2);
}

#[tokio::test]
async fn hooks_are_listed_without_secrets_validated_and_deleted() {
    let s = Server::start().await;
    let made = s
        .post(
            "/api/webhooks",
            json!({ "url": "http://127.0.0.1:9/x", "events": ["task:*", "session:updated"] }),
        )
        .await;
    assert_eq!(made.status, 201);
    let list = s.get("/api/webhooks").await.body;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["events"], json!(["task:*", "session:updated"]));
    assert!(list[0].get("secret").is_none(), "{list}");

    for (body, field) in [
        (json!({ "url": "ftp://x/y", "events": ["*"] }), "url"),
        (json!({ "url": "http://x/y", "events": [] }), "events"),
        (
            json!({ "url": "http://x/y", "events": ["task:exploded"] }),
            "events",
        ),
        (
            json!({ "url": "http://x/y", "events": ["*"], "secret": "short" }),
            "secret",
        ),
    ] {
        let r = s.post("/api/webhooks", body.clone()).await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.field(), field, "{body}");
    }
    assert_eq!(
        s.get("/api/webhooks").await.body.as_array().unwrap().len(),
        1
    );

    let id = made.id();
    assert_eq!(s.delete(&format!("/api/webhooks/{id}")).await.status, 200);
    assert_eq!(s.delete(&format!("/api/webhooks/{id}")).await.status, 404);
    assert_eq!(
        s.get(&format!("/api/webhooks/{id}/deliveries"))
            .await
            .status,
        404
    );
}
