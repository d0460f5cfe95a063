//! Concurrent writers, on whichever backend the suite runs (SQLite, or PostgreSQL with
//! `BATON_TEST_DATABASE_URL`): eight clients creating, changing and posting at once lose no
//! acknowledged write and never get a 500.

use serde_json::{json, Value};

use crate::common::Server;

const WRITERS: usize = 8;
const ROUNDS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_writers_lose_no_acknowledged_write() {
    let s = std::sync::Arc::new(Server::start().await);
    let p = s.project("busy").await;
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let s = std::sync::Arc::clone(&s);
        let p = p.clone();
        writers.push(tokio::spawn(async move {
            // Each writer owns one task it keeps changing, and creates tasks and messages.
            let own = s.task(&p, json!({ "title": format!("writer {w}") })).await;
            let (mut created, mut posted, mut last_title) = (Vec::new(), Vec::new(), None);
            for round in 0..ROUNDS {
                let r = s
                    .post(
                        "/api/tasks",
                        json!({ "projectId": p, "title": format!("w{w} r{round}") }),
                    )
                    .await;
                assert!(r.status < 500, "{r:?}");
                if r.status == 201 {
                    created.push(r.id());
                }
                let title = format!("writer {w} round {round}");
                let r = s
                    .patch(&format!("/api/tasks/{own}"), json!({ "title": title }))
                    .await;
                assert!(r.status < 500, "{r:?}");
                if r.status == 200 {
                    last_title = Some(title);
                }
                let r = s
                    .post(
                        "/api/messages",
                        json!({ "projectId": p, "taskId": own, "body": format!("w{w} m{round}") }),
                    )
                    .await;
                assert!(r.status < 500, "{r:?}");
                if r.status == 201 {
                    posted.push(r.id());
                }
            }
            (own, created, posted, last_title)
        }));
    }
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.push(writer.await.expect("a writer panicked"));
    }

    let tasks = s.get(&format!("/api/tasks?projectId={p}")).await.body;
    let by_id: std::collections::HashMap<&str, &Value> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap(), t))
        .collect();
    let messages = s
        .get(&format!("/api/messages?projectId={p}&limit=1000"))
        .await
        .body;
    let message_ids: std::collections::HashSet<&str> = messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    for (own, created, posted, last_title) in &acknowledged {
        assert_eq!(created.len(), ROUNDS, "every create was acknowledged");
        assert_eq!(posted.len(), ROUNDS, "every message was acknowledged");
        for id in created {
            assert!(by_id.contains_key(id.as_str()), "task {id} was lost");
        }
        for id in posted {
            assert!(message_ids.contains(id.as_str()), "message {id} was lost");
        }
        assert_eq!(
            by_id[own.as_str()]["title"].as_str(),
            last_title.as_deref(),
            "the last acknowledged change is the one kept"
        );
    }
    assert_eq!(by_id.len(), WRITERS * (ROUNDS + 1));
    assert_eq!(message_ids.len(), WRITERS * ROUNDS);
}
