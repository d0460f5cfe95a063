//! `/api/messages`: posting, threads, filters and resuming with `after`.

use serde_json::{json, Value};

use crate::common::Server;

fn bodies(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn messages_are_posted_threaded_and_read_back_in_order() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let t = s.task(&p, json!({})).await;
    let sid = s
        .post("/api/sessions", json!({ "projectId": p }))
        .await
        .id();

    let q = s.post("/api/messages", json!({ "projectId": p, "taskId": t, "sessionId": sid, "type": "QUESTION", "body": "which DB?" })).await;
    assert_eq!(q.status, 201, "{:?}", q.body);
    assert_eq!(
        (q.body["type"].as_str(), q.body["author"].as_str()),
        (Some("QUESTION"), Some("user"))
    );
    let answer = s
        .post(
            "/api/messages",
            json!({ "projectId": p, "body": "SQLite", "parentIds": [q.id()] }),
        )
        .await;
    assert_eq!(answer.status, 201);
    assert_eq!(answer.body["type"], "USER", "the default type");
    assert_eq!(answer.body["parentIds"], json!([q.id()]));

    let all = s.get(&format!("/api/messages?projectId={p}")).await;
    assert_eq!(bodies(&all.body), ["which DB?", "SQLite"]);
    assert_eq!(
        bodies(&s.get(&format!("/api/messages?taskId={t}")).await.body),
        ["which DB?"]
    );
    assert_eq!(
        bodies(&s.get(&format!("/api/messages?sessionId={sid}")).await.body),
        ["which DB?"]
    );
}

#[tokio::test]
async fn after_resumes_without_gaps_and_limit_pages() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            s.post(
                "/api/messages",
                json!({ "projectId": p, "type": "PROGRESS", "body": format!("m{i}") }),
            )
            .await
            .id(),
        );
    }
    let newest = s.get(&format!("/api/messages?projectId={p}&limit=2")).await;
    assert_eq!(
        bodies(&newest.body),
        ["m3", "m4"],
        "without after: the newest, oldest first"
    );
    let next = s
        .get(&format!(
            "/api/messages?projectId={p}&after={}&limit=2",
            ids[0]
        ))
        .await;
    assert_eq!(bodies(&next.body), ["m1", "m2"]);
    let rest = s
        .get(&format!("/api/messages?projectId={p}&after={}", ids[2]))
        .await;
    assert_eq!(bodies(&rest.body), ["m3", "m4"]);
    let none = s
        .get(&format!("/api/messages?projectId={p}&after={}", ids[4]))
        .await;
    assert_eq!(none.body, json!([]));

    for (q, field) in [
        ("after=msg_nope", "after"),
        ("limit=0", "limit"),
        ("limit=x", "limit"),
    ] {
        let r = s.get(&format!("/api/messages?{q}")).await;
        assert_eq!((r.status, r.field()), (400, field), "{q}");
    }
}

#[tokio::test]
async fn bad_messages_are_refused_and_nothing_is_posted() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let other = s.project("o").await;
    let foreign_task = s.task(&other, json!({})).await;
    let foreign_msg = s
        .post("/api/messages", json!({ "projectId": other, "body": "x" }))
        .await
        .id();
    let cases = [
        (json!({ "body": "x" }), "projectId"),
        (
            json!({ "projectId": "proj_nope", "body": "x" }),
            "projectId",
        ),
        (json!({ "projectId": p }), "body"),
        (json!({ "projectId": p, "body": "  " }), "body"),
        (
            json!({ "projectId": p, "body": "x", "type": "progress" }),
            "type",
        ),
        (
            json!({ "projectId": p, "body": "x", "taskId": foreign_task }),
            "taskId",
        ),
        (
            json!({ "projectId": p, "body": "x", "sessionId": "sess_nope" }),
            "sessionId",
        ),
        (
            json!({ "projectId": p, "body": "x", "parentIds": ["msg_nope"] }),
            "parentIds",
        ),
        (
            json!({ "projectId": p, "body": "x", "parentIds": [foreign_msg] }),
            "parentIds",
        ),
    ];
    for (body, field) in cases {
        let r = s.post("/api/messages", body.clone()).await;
        assert_eq!((r.status, r.field()), (400, field), "{body} → {:?}", r.body);
    }
    assert_eq!(
        s.get(&format!("/api/messages?projectId={p}")).await.body,
        json!([])
    );
}
