//! `/api/sessions`: records, filters, status rules and task links.

use serde_json::json;

use crate::common::Server;

#[tokio::test]
async fn a_session_is_created_with_its_tasks_and_agent_environment() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let t1 = s.task(&p, json!({})).await;
    let t2 = s.task(&p, json!({})).await;
    let r = s
        .post("/api/sessions", json!({ "id": "sess_login-1", "projectId": p, "taskIds": [t1, t2, t1], "name": "Login" }))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let session = r.body;
    assert_eq!(session["id"], "sess_login-1");
    assert_eq!(
        session["taskIds"],
        json!([t1, t2]),
        "duplicates dropped, order kept"
    );
    assert_eq!(session["name"], "Login");
    assert!(session["agentId"].is_null());
    assert_eq!(session["command"], json!([]), "a record only: no process");
    assert_eq!(session["status"], "running");
    assert!(session["startedAt"].as_i64().is_some());
    assert!(session["completedAt"].is_null());
    let env = &session["env"];
    assert_eq!(env["BATON_PROJECT_ID"], p.as_str());
    assert_eq!(env["BATON_SESSION_ID"], "sess_login-1");
    assert_eq!(env["BATON_TASK_IDS"], format!("{t1},{t2}"));
    assert_eq!(env["BATON_API_URL"], s.url.as_str());
    assert!(env.get("BATON_TOKEN").is_none(), "the token is never shown");
    assert!(!session.to_string().contains(&s.token));

    let task = s.get(&format!("/api/tasks/{t1}")).await.body;
    assert_eq!(
        (task["sessionIds"].clone(), task["sessionCount"].clone()),
        (json!(["sess_login-1"]), json!(1))
    );
    assert_eq!(s.get("/api/sessions/sess_login-1").await.body, session);

    let generated = s.post("/api/sessions", json!({ "projectId": p })).await;
    assert_eq!(generated.status, 201);
    assert!(generated.id().starts_with("sess_"));
    assert_eq!(generated.body["name"], "session");
}

#[tokio::test]
async fn bad_session_input_is_refused_and_leaves_no_row() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let other = s.project("o").await;
    let foreign = s.task(&other, json!({})).await;
    let cases = [
        (json!({ "id": "s1" }), "projectId"),
        (json!({ "id": "s1", "projectId": "proj_nope" }), "projectId"),
        (
            json!({ "id": "s1", "projectId": p, "taskIds": ["task_nope"] }),
            "taskIds",
        ),
        (
            json!({ "id": "s1", "projectId": p, "taskIds": [foreign] }),
            "taskIds",
        ),
        (json!({ "id": "bad/id", "projectId": p }), "id"),
        (json!({ "id": "s1", "projectId": p, "name": "" }), "name"),
        (
            json!({ "id": "s1", "projectId": p, "command": "rm -rf /" }),
            "command",
        ),
    ];
    for (body, field) in cases {
        let r = s.post("/api/sessions", body.clone()).await;
        assert_eq!((r.status, r.field()), (400, field), "{body} → {:?}", r.body);
    }
    assert_eq!(
        s.get("/api/sessions/s1").await.status,
        404,
        "no half-written session"
    );
    assert_eq!(s.get("/api/sessions").await.body, json!([]));

    assert_eq!(
        s.post("/api/sessions", json!({ "id": "dup", "projectId": p }))
            .await
            .status,
        201
    );
    let r = s
        .post("/api/sessions", json!({ "id": "dup", "projectId": p }))
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (409, Some("already_exists"))
    );
}

#[tokio::test]
async fn sessions_are_listed_by_task_project_and_status() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let q = s.project("q").await;
    let t = s.task(&p, json!({})).await;
    let a = s
        .post(
            "/api/sessions",
            json!({ "id": "a", "projectId": p, "taskIds": [t] }),
        )
        .await
        .id();
    let b = s
        .post("/api/sessions", json!({ "id": "b", "projectId": p }))
        .await
        .id();
    let c = s
        .post("/api/sessions", json!({ "id": "c", "projectId": q }))
        .await
        .id();
    s.patch(&format!("/api/sessions/{b}"), json!({ "status": "failed" }))
        .await;

    let ids = |r: crate::common::Resp| -> Vec<String> {
        r.body
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(s.get("/api/sessions").await),
        [a.clone(), b.clone(), c.clone()]
    );
    assert_eq!(
        ids(s.get(&format!("/api/sessions?taskId={t}")).await),
        vec![a.clone()]
    );
    assert_eq!(
        ids(s.get(&format!("/api/sessions?projectId={p}")).await),
        [a.clone(), b.clone()]
    );
    assert_eq!(
        ids(s.get("/api/sessions?status=running").await),
        [a.clone(), c.clone()]
    );
    assert_eq!(
        ids(s
            .get(&format!(
                "/api/sessions?projectId={p}&status=failed,stopped"
            ))
            .await),
        vec![b.clone()]
    );
    let r = s.get("/api/sessions?status=sleeping").await;
    assert_eq!((r.status, r.field()), (400, "status"));
}

#[tokio::test]
async fn ending_a_session_records_when_and_it_cannot_become_active_again() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let id = s
        .post("/api/sessions", json!({ "projectId": p }))
        .await
        .id();
    let path = format!("/api/sessions/{id}");
    let r = s
        .patch(&path, json!({ "name": "renamed", "status": "waiting" }))
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str(), r.body["name"].as_str()),
        (200, Some("waiting"), Some("renamed"))
    );
    let r = s
        .patch(&path, json!({ "status": "completed", "completedAt": 1234 }))
        .await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["completedAt"].as_i64()),
        (Some("completed"), Some(1234))
    );

    let r = s.patch(&path, json!({ "status": "running" })).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (409, Some("invalid_transition"))
    );
    assert_eq!(s.get(&path).await.body["status"], "completed", "unchanged");
    for (body, field) in [
        (json!({ "status": "asleep" }), "status"),
        (json!({ "pid": 1 }), "pid"),
    ] {
        let r = s.patch(&path, body).await;
        assert_eq!((r.status, r.field()), (400, field));
    }
    assert_eq!(
        s.patch("/api/sessions/nope", json!({ "name": "x" }))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn tasks_are_linked_and_unlinked() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let t = s.task(&p, json!({})).await;
    let sid = s
        .post("/api/sessions", json!({ "projectId": p }))
        .await
        .id();
    let link = format!("/api/sessions/{sid}/tasks/{t}");

    let r = s.post_empty(&link).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["taskIds"], json!([t]));
    assert_eq!(
        s.get(&format!("/api/tasks/{t}")).await.body["sessionCount"],
        1
    );

    let r = s.post_empty(&link).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (409, Some("already_linked"))
    );

    let r = s.delete(&link).await;
    assert_eq!((r.status, r.body["taskIds"].clone()), (200, json!([])));
    assert_eq!(
        s.get(&format!("/api/tasks/{t}")).await.body["sessionIds"],
        json!([])
    );
    assert_eq!(s.delete(&link).await.status, 404, "not linked any more");

    assert_eq!(
        s.post_empty(&format!("/api/sessions/nope/tasks/{t}"))
            .await
            .status,
        404
    );
    assert_eq!(
        s.post_empty(&format!("/api/sessions/{sid}/tasks/task_nope"))
            .await
            .status,
        404
    );
    let q = s.project("q").await;
    let foreign = s.task(&q, json!({})).await;
    assert_eq!(
        s.post_empty(&format!("/api/sessions/{sid}/tasks/{foreign}"))
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn deleting_a_session_removes_its_links() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let t = s.task(&p, json!({})).await;
    let sid = s
        .post("/api/sessions", json!({ "projectId": p, "taskIds": [t] }))
        .await
        .id();
    let r = s.delete(&format!("/api/sessions/{sid}")).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (200, json!({ "success": true }))
    );
    let task = s.get(&format!("/api/tasks/{t}")).await.body;
    assert_eq!(
        (task["sessionIds"].clone(), task["sessionCount"].clone()),
        (json!([]), json!(0))
    );
    assert_eq!(s.delete(&format!("/api/sessions/{sid}")).await.status, 404);
}

#[tokio::test]
async fn an_agent_has_a_terminal_even_when_baton_was_started_by_ci() {
    // Started with `CI=true` (as CI starts it), Baton must not tell its agents they run
    // unattended: Gemini CLI, for one, then reads its prompt from stdin and quits.
    let s = Server::start_with_env(&[("CI", "true"), ("GITHUB_ACTIONS", "true")]).await;
    let p = s.project("p").await;
    let r = s
        .post(
            "/api/sessions",
            json!({
                "projectId": p,
                "command": ["sh", "-c", "echo \"ci=${CI-unset} gha=${GITHUB_ACTIONS-unset} own=$OWN\""],
                "env": {"OWN": "kept"},
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut term = s.terminal(&r.id(), "").await;
    term.until("ci=unset gha=unset own=kept").await;
}
