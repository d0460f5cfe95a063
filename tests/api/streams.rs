//! `GET /api/messages/stream` (Server-Sent Events) and `POST /api/sessions/:id/report`.

use serde_json::{json, Value};

use crate::common::{Server, Sse};

fn bodies(messages: &[Value]) -> Vec<&str> {
    messages
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect()
}

async fn post(s: &Server, project: &str, body: &str, extra: Value) -> String {
    let mut msg = json!({ "projectId": project, "body": body });
    msg.as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    let r = s.post("/api/messages", msg).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.id()
}

#[tokio::test]
async fn the_stream_sends_new_messages_live_narrowed_to_its_filter() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let other = s.project("other").await;
    let t = s.task(&p, json!({})).await;
    post(&s, &p, "before the stream", json!({})).await;

    let mut all = Sse::open(&s, &format!("/api/messages/stream?projectId={p}"), &[]).await;
    let mut task_only = Sse::open(&s, &format!("/api/messages/stream?taskId={t}"), &[]).await;
    post(&s, &other, "another project", json!({})).await;
    post(&s, &p, "one", json!({})).await;
    let q = post(
        &s,
        &p,
        "two, about the task",
        json!({ "taskId": t, "type": "QUESTION" }),
    )
    .await;
    post(&s, &p, "three, an answer", json!({ "parentIds": [q] })).await;

    let seen = all.messages(3).await;
    assert_eq!(
        bodies(&seen),
        ["one", "two, about the task", "three, an answer"]
    );
    assert_eq!(seen[1]["type"], "QUESTION");
    assert_eq!(
        seen[2]["parentIds"],
        json!([q]),
        "threads travel with the message"
    );
    let seen = task_only.messages(1).await;
    assert_eq!(bodies(&seen), ["two, about the task"]);
}

#[tokio::test]
async fn after_and_last_event_id_replay_then_continue_live_without_gaps_or_repeats() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let first = post(&s, &p, "m1", json!({})).await;
    let second = post(&s, &p, "m2", json!({})).await;
    post(&s, &p, "m3", json!({})).await;

    let mut resumed = Sse::open(
        &s,
        &format!("/api/messages/stream?projectId={p}&after={first}"),
        &[],
    )
    .await;
    // A reconnecting EventSource says where it was with Last-Event-ID; it wins over `after`.
    let mut reconnected = Sse::open(
        &s,
        &format!("/api/messages/stream?projectId={p}&after={first}"),
        &[("Last-Event-ID", &second)],
    )
    .await;
    // Posted while the streams replay: each must appear once, after the stored ones.
    for i in 4..=40 {
        post(&s, &p, &format!("m{i}"), json!({})).await;
    }
    let want: Vec<String> = (2..=40).map(|i| format!("m{i}")).collect();
    assert_eq!(bodies(&resumed.messages(want.len()).await), want);
    let want: Vec<String> = (3..=40).map(|i| format!("m{i}")).collect();
    assert_eq!(bodies(&reconnected.messages(want.len()).await), want);

    // Nothing is repeated afterwards: the next event is the next message.
    post(&s, &p, "m41", json!({})).await;
    assert_eq!(bodies(&resumed.messages(1).await), ["m41"]);
}

#[tokio::test]
async fn a_bad_stream_request_gets_a_json_error_naming_the_field() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let r = s
        .get(&format!(
            "/api/messages/stream?projectId={p}&after=msg_nope"
        ))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.field(), "after");
    let r = s.get("/api/messages/stream?projectId=nope").await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert_eq!(r.field(), "projectId");
    let r = s.get("/api/messages/stream?colour=blue").await;
    assert_eq!(r.status, 400);
    let r = s
        .send(
            reqwest::Client::new()
                .get(format!("{}/api/messages/stream", s.url))
                .bearer_auth("wrong"),
        )
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn a_report_updates_the_session_and_posts_a_progress_message_with_both_events() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let t = s.task(&p, json!({})).await;
    let sid = s
        .post("/api/sessions", json!({ "projectId": p, "taskIds": [t] }))
        .await
        .id();
    let mut events = s.events().await;
    let mut stream = Sse::open(&s, &format!("/api/messages/stream?projectId={p}"), &[]).await;

    let r = s
        .post(
            &format!("/api/sessions/{sid}/report"),
            json!({ "text": "tests pass", "progress": 60 }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["session"]["statusText"], "tests pass");
    assert_eq!(r.body["session"]["progress"], 60);
    assert_eq!(r.body["message"]["type"], "PROGRESS");
    assert_eq!(r.body["message"]["body"], "60% — tests pass");
    assert_eq!(
        r.body["message"]["taskId"], t,
        "about the session's one task"
    );
    assert_eq!(r.body["message"]["sessionId"], sid);
    let got = events.expect(&["session:updated", "message:created"]).await;
    assert_eq!(got[0]["data"]["progress"], 60);
    assert_eq!(bodies(&stream.messages(1).await), ["60% — tests pass"]);

    // Progress alone keeps the last status line.
    let r = s
        .post(
            &format!("/api/sessions/{sid}/report"),
            json!({ "progress": 80 }),
        )
        .await;
    assert_eq!(r.status, 201);
    let session = s.get(&format!("/api/sessions/{sid}")).await.body;
    assert_eq!(
        (session["statusText"].as_str(), session["progress"].as_i64()),
        (Some("tests pass"), Some(80))
    );
}

#[tokio::test]
async fn bad_reports_are_refused_and_change_nothing() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let sid = s
        .post("/api/sessions", json!({ "projectId": p }))
        .await
        .id();
    for (body, field) in [
        (json!({}), "text"),
        (json!({ "progress": 101 }), "progress"),
        (json!({ "progress": -1 }), "progress"),
        (json!({ "text": "  " }), "text"),
        (json!({ "text": "a\nb" }), "text"),
    ] {
        let r = s
            .post(&format!("/api/sessions/{sid}/report"), body.clone())
            .await;
        assert_eq!(r.status, 400, "{body}: {:?}", r.body);
        assert_eq!(r.field(), field, "{body}");
    }
    let r = s
        .post("/api/sessions/nope/report", json!({ "progress": 1 }))
        .await;
    assert_eq!(r.status, 404);
    let session = s.get(&format!("/api/sessions/{sid}")).await.body;
    assert_eq!(session["progress"], Value::Null);
    let messages = s.get(&format!("/api/messages?projectId={p}")).await.body;
    assert_eq!(messages, json!([]));
}
