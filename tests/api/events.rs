//! `/ws`: the exact events each mutation publishes, in order, as a WebSocket client sees them;
//! subscriptions, ping/pong, and a slow client that holds nobody up.

use serde_json::json;

use crate::common::{Events, Server, DEADLINE};

#[tokio::test]
async fn each_mutation_publishes_exactly_its_events_in_order() {
    let s = Server::start().await;
    let mut ev = s.events().await;

    // Projects.
    let p = s.project("p").await;
    let e = ev.expect(&["project:created"]).await;
    assert_eq!(e[0]["data"]["id"], p.as_str());
    s.patch(&format!("/api/projects/{p}"), json!({ "name": "p2" }))
        .await;
    assert_eq!(
        ev.expect(&["project:updated"]).await[0]["data"]["name"],
        "p2"
    );

    // Tasks.
    let t1 = s.task(&p, json!({ "title": "one" })).await;
    let e = ev.expect(&["task:created"]).await;
    assert_eq!(
        (e[0]["data"]["id"].as_str(), e[0]["data"]["title"].as_str()),
        (Some(t1.as_str()), Some("one"))
    );
    let t2 = s.task(&p, json!({ "title": "two" })).await;
    ev.expect(&["task:created"]).await;
    s.patch(
        &format!("/api/tasks/{t1}"),
        json!({ "status": "completed" }),
    )
    .await;
    let e = ev.expect(&["task:updated"]).await;
    assert_eq!(e[0]["data"]["status"], "completed");
    assert!(e[0]["data"]["completedAt"].as_i64().is_some());

    // Subtasks and dependencies update their task.
    let sub = s
        .post(
            &format!("/api/tasks/{t1}/subtasks"),
            json!({ "title": "st" }),
        )
        .await
        .id();
    assert_eq!(
        ev.expect(&["task:updated"]).await[0]["data"]["subtasks"][0]["id"],
        sub.as_str()
    );
    s.patch(
        &format!("/api/tasks/{t1}/subtasks/{sub}"),
        json!({ "status": "completed" }),
    )
    .await;
    ev.expect(&["task:updated"]).await;
    s.put(
        &format!("/api/tasks/{t2}/dependencies"),
        json!({ "dependsOn": [t1] }),
    )
    .await;
    assert_eq!(
        ev.expect(&["task:updated"]).await[0]["data"]["dependsOn"],
        json!([t1])
    );
    s.delete(&format!("/api/tasks/{t1}/subtasks/{sub}")).await;
    ev.expect(&["task:updated"]).await;

    // Creating a session with two tasks.
    s.post(
        "/api/sessions",
        json!({ "id": "s1", "projectId": p, "taskIds": [t1, t2] }),
    )
    .await;
    let e = ev
        .expect(&[
            "session:created",
            "task:updated",
            "session:task_added",
            "task:session_added",
            "task:updated",
            "session:task_added",
            "task:session_added",
        ])
        .await;
    assert_eq!(e[0]["data"]["taskIds"], json!([t1, t2]));
    assert_eq!(e[1]["data"]["id"], t1.as_str());
    assert_eq!(e[1]["data"]["sessionIds"], json!(["s1"]));
    assert_eq!(e[1]["data"]["sessionCount"], 1);
    assert_eq!(e[2]["data"], json!({ "sessionId": "s1", "taskId": t1 }));
    assert_eq!(e[3]["data"], json!({ "sessionId": "s1", "taskId": t1 }));
    assert_eq!(e[4]["data"]["id"], t2.as_str());

    // Session update.
    s.patch("/api/sessions/s1", json!({ "status": "waiting" }))
        .await;
    assert_eq!(
        ev.expect(&["session:updated"]).await[0]["data"]["status"],
        "waiting"
    );

    // Unlink and link one task.
    s.delete(&format!("/api/sessions/s1/tasks/{t2}")).await;
    let e = ev
        .expect(&[
            "session:updated",
            "task:updated",
            "session:task_removed",
            "task:session_removed",
        ])
        .await;
    assert_eq!(e[0]["data"]["taskIds"], json!([t1]));
    assert_eq!(e[1]["data"]["sessionIds"], json!([]));
    assert_eq!(e[3]["data"], json!({ "sessionId": "s1", "taskId": t2 }));
    s.post_empty(&format!("/api/sessions/s1/tasks/{t2}")).await;
    let e = ev
        .expect(&[
            "session:updated",
            "task:updated",
            "session:task_added",
            "task:session_added",
        ])
        .await;
    assert_eq!(e[0]["data"]["taskIds"], json!([t1, t2]));

    // Messages.
    s.post("/api/messages", json!({ "projectId": p, "body": "hi" }))
        .await;
    assert_eq!(
        ev.expect(&["message:created"]).await[0]["data"]["body"],
        "hi"
    );

    // Deleting a task: the task, then each session that had it, then each task that depended on it.
    s.delete(&format!("/api/tasks/{t1}")).await;
    let e = ev
        .expect(&["task:deleted", "session:updated", "task:updated"])
        .await;
    assert_eq!(e[0]["data"]["id"], t1.as_str());
    assert_eq!(e[1]["data"]["taskIds"], json!([t2]));
    assert_eq!(
        (
            e[2]["data"]["id"].as_str(),
            e[2]["data"]["dependsOn"].clone()
        ),
        (Some(t2.as_str()), json!([]))
    );

    // Deleting a session.
    s.delete("/api/sessions/s1").await;
    let e = ev
        .expect(&[
            "session:deleted",
            "task:updated",
            "session:task_removed",
            "task:session_removed",
        ])
        .await;
    assert_eq!(e[0]["data"]["id"], "s1");
    assert_eq!(e[1]["data"]["sessionCount"], 0);

    s.delete(&format!("/api/projects/{p}")).await;
    assert_eq!(
        ev.expect(&["project:deleted"]).await[0]["data"],
        json!({ "id": p })
    );
    ev.expect_quiet().await;
}

#[tokio::test]
async fn refused_requests_and_changes_of_nothing_publish_nothing() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let t = s.task(&p, json!({ "title": "same" })).await;
    let mut ev = s.events().await;
    s.post("/api/tasks", json!({ "projectId": p, "title": "" }))
        .await;
    s.patch(&format!("/api/tasks/{t}"), json!({ "title": "same" }))
        .await;
    s.patch(&format!("/api/tasks/{t}"), json!({ "status": "bogus" }))
        .await;
    s.put(
        &format!("/api/tasks/{t}/dependencies"),
        json!({ "dependsOn": [t] }),
    )
    .await;
    s.post(
        "/api/sessions",
        json!({ "projectId": p, "taskIds": ["task_nope"] }),
    )
    .await;
    s.delete("/api/tasks/task_nope").await;
    ev.expect_quiet().await;
}

#[tokio::test]
async fn subscribers_narrow_by_event_and_project_and_pings_are_answered() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let q = s.project("q").await;
    let mut only_p_tasks = s.events().await;
    only_p_tasks
        .send(json!({ "type": "subscribe", "events": ["task:*"], "projectId": p }))
        .await;
    let ack = only_p_tasks.next().await;
    assert_eq!(
        (ack["type"].as_str(), ack["projectId"].as_str()),
        (Some("subscribed"), Some(p.as_str()))
    );
    let mut only_messages = s.events().await;
    only_messages
        .send(json!({ "type": "subscribe", "events": ["message:created"] }))
        .await;
    assert_eq!(only_messages.next().await["type"], "subscribed");

    s.task(&q, json!({ "title": "in q" })).await;
    s.post("/api/messages", json!({ "projectId": q, "body": "note" }))
        .await;
    let t = s.task(&p, json!({ "title": "in p" })).await;
    s.patch(&format!("/api/projects/{p}"), json!({ "name": "renamed" }))
        .await;
    s.patch(&format!("/api/tasks/{t}"), json!({ "priority": "high" }))
        .await;

    let e = only_p_tasks.expect(&["task:created", "task:updated"]).await;
    assert_eq!(e[0]["data"]["title"], "in p");
    only_p_tasks.expect_quiet().await;
    assert_eq!(
        only_messages.expect(&["message:created"]).await[0]["data"]["body"],
        "note"
    );
    only_messages.expect_quiet().await;

    let before = serde_json::Value::from(baton_now());
    only_messages.send(json!({ "type": "ping" })).await;
    let pong = only_messages.next().await;
    assert_eq!(pong["type"], "pong");
    assert!(pong["timestamp"].as_i64().unwrap() >= before.as_i64().unwrap());
    only_messages.send(json!({ "type": "dance" })).await;
    assert_eq!(only_messages.next().await["type"], "error");
}

fn baton_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A client that never reads must not hold up the API or the other clients: the events are big
/// enough (about 900 KB each) that its socket buffers fill after a few of them.
#[tokio::test]
async fn a_client_that_never_reads_blocks_neither_the_api_nor_other_clients() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let _stuck: Events = s.events().await; // never read from
    let mut reader = s.events().await;
    let body = "x".repeat(900 * 1024);
    let rounds = 24;
    let started = std::time::Instant::now();
    for i in 0..rounds {
        let r = s
            .post(
                "/api/messages",
                json!({ "projectId": p, "body": format!("{i}{body}") }),
            )
            .await;
        assert_eq!(r.status, 201);
        let e = reader.next().await;
        assert_eq!(e["event"], "message:created");
        assert!(e["data"]["body"]
            .as_str()
            .unwrap()
            .starts_with(&i.to_string()));
    }
    // 24 × 900 KB is far more than the stuck client's socket buffers hold; had the bus waited
    // for it, the posts above would have hung past the deadline.
    assert!(started.elapsed() < DEADLINE);
    assert_eq!(s.get("/api/health").await.status, 200);
}
