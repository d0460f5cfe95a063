//! `/api/tasks`: create, read, partial update, delete, filters, subtasks, dependencies, history.

use serde_json::{json, Value};

use crate::common::Server;

fn titles(body: &Value) -> Vec<&str> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_task_is_created_with_defaults_and_read_back() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let r = s
        .post(
            "/api/tasks",
            json!({ "projectId": p, "title": "Implement login", "tags": ["b", "a", "b"] }),
        )
        .await;
    assert_eq!(r.status, 201);
    let task = r.body;
    assert_eq!(task["status"], "pending");
    assert_eq!(task["priority"], "medium");
    assert_eq!(task["description"], "");
    assert_eq!(task["prompt"], "");
    assert_eq!(task["tags"], json!(["a", "b"]));
    assert_eq!(task["subtasks"], json!([]));
    assert_eq!(task["sessionIds"], json!([]));
    assert_eq!(task["sessionCount"], 0);
    assert!(task["completedAt"].is_null());
    let got = s
        .get(&format!("/api/tasks/{}", task["id"].as_str().unwrap()))
        .await;
    assert_eq!(got.body, task);
}

#[tokio::test]
async fn bad_task_input_is_a_400_naming_the_field_and_writes_nothing() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let other = s.project("other").await;
    let foreign = s.task(&other, json!({})).await;
    let cases = [
        (json!({ "title": "x" }), "projectId"),
        (
            json!({ "projectId": "proj_nope", "title": "x" }),
            "projectId",
        ),
        (json!({ "projectId": p, "title": "" }), "title"),
        (json!({ "projectId": p }), "title"),
        (
            json!({ "projectId": p, "title": "x", "status": "done" }),
            "status",
        ),
        (
            json!({ "projectId": p, "title": "x", "priority": "urgent" }),
            "priority",
        ),
        (
            json!({ "projectId": p, "title": "x", "tags": "ui" }),
            "tags",
        ),
        (
            json!({ "projectId": p, "title": "x", "tags": [""] }),
            "tags",
        ),
        (
            json!({ "projectId": p, "title": "x", "dependsOn": ["task_nope"] }),
            "dependsOn",
        ),
        (
            json!({ "projectId": p, "title": "x", "dependsOn": [foreign] }),
            "dependsOn",
        ),
        (
            json!({ "projectId": p, "title": "x", "sessionIds": [] }),
            "sessionIds",
        ),
    ];
    for (body, field) in cases {
        let r = s.post("/api/tasks", body.clone()).await;
        assert_eq!(r.status, 400, "{body} → {:?}", r.body);
        assert_eq!(r.field(), field, "{body} → {:?}", r.body);
    }
    let r = s.get(&format!("/api/tasks?projectId={p}")).await;
    assert_eq!(r.headers["x-total-count"], "0");
}

#[tokio::test]
async fn tasks_are_filtered_searched_sorted_and_paged() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let other = s.project("other").await;
    s.task(
        &p,
        json!({ "title": "Banana login", "priority": "low", "tags": ["ui"] }),
    )
    .await;
    s.task(&p, json!({ "title": "apple API", "priority": "high", "status": "in_progress", "description": "100% done" })).await;
    s.task(&p, json!({ "title": "Cherry", "priority": "medium", "prompt": "fix the LOGIN flow", "tags": ["ui", "auth"] })).await;
    s.task(
        &p,
        json!({ "title": "date", "priority": "high", "status": "blocked" }),
    )
    .await;
    s.task(&other, json!({ "title": "elsewhere" })).await;

    let list = |q: &str| {
        let path = format!("/api/tasks?projectId={p}&{q}");
        let s = &s;
        async move { s.get(&path).await }
    };
    let r = list("").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["x-total-count"], "4");
    assert_eq!(
        titles(&r.body),
        ["Banana login", "apple API", "Cherry", "date"],
        "default: oldest first"
    );
    assert_eq!(
        s.get("/api/tasks").await.headers["x-total-count"],
        "5",
        "no projectId: all projects"
    );

    assert_eq!(
        titles(&list("status=in_progress,blocked").await.body),
        ["apple API", "date"]
    );
    assert_eq!(
        titles(&list("priority=high").await.body),
        ["apple API", "date"]
    );
    assert_eq!(
        titles(&list("tag=ui").await.body),
        ["Banana login", "Cherry"]
    );
    assert_eq!(titles(&list("tag=auth").await.body), ["Cherry"]);
    // Case-insensitive, across title, description and prompt.
    assert_eq!(
        titles(&list("q=login").await.body),
        ["Banana login", "Cherry"]
    );
    // `%` is literal, not a wildcard.
    assert_eq!(titles(&list("q=100%25").await.body), ["apple API"]);
    assert_eq!(titles(&list("q=x%25y").await.body), Vec::<&str>::new());

    assert_eq!(
        titles(&list("sort=title").await.body),
        ["apple API", "Banana login", "Cherry", "date"]
    );
    assert_eq!(
        titles(&list("sort=title&order=desc").await.body),
        ["date", "Cherry", "Banana login", "apple API"]
    );
    let by_priority = list("sort=priority&order=desc").await;
    let priorities: Vec<&str> = by_priority
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["priority"].as_str().unwrap())
        .collect();
    assert_eq!(priorities, ["high", "high", "medium", "low"]);

    let page = list("sort=title&limit=2&offset=1").await;
    assert_eq!(titles(&page.body), ["Banana login", "Cherry"]);
    assert_eq!(
        page.headers["x-total-count"], "4",
        "the total ignores paging"
    );
    let filtered = list("tag=ui&limit=1").await;
    assert_eq!(
        filtered.headers["x-total-count"], "2",
        "the total counts the filtered set"
    );

    for (q, field) in [
        ("status=done", "status"),
        ("priority=urgent", "priority"),
        ("sort=size", "sort"),
        ("order=up", "order"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("offset=-1", "offset"),
        ("colour=red", "colour"),
    ] {
        let r = list(q).await;
        assert_eq!(r.status, 400, "{q} → {:?}", r.body);
        assert_eq!(r.field(), field, "{q} → {:?}", r.body);
    }
}

#[tokio::test]
async fn updates_are_partial_and_completion_sets_and_clears_completed_at() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let t = s
        .task(
            &p,
            json!({ "title": "t", "description": "keep me", "tags": ["x"] }),
        )
        .await;
    let path = format!("/api/tasks/{t}");

    let r = s.patch(&path, json!({ "status": "completed" })).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "completed");
    assert_eq!(r.body["description"], "keep me");
    assert_eq!(r.body["tags"], json!(["x"]));
    let completed_at = r.body["completedAt"].as_i64().expect("completedAt set");
    assert!(r.body["updatedAt"].as_i64().unwrap() >= completed_at);

    let r = s.patch(&path, json!({ "title": "renamed" })).await;
    assert_eq!(
        r.body["completedAt"].as_i64(),
        Some(completed_at),
        "still completed: unchanged"
    );

    let r = s.patch(&path, json!({ "status": "in_progress" })).await;
    assert!(
        r.body["completedAt"].is_null(),
        "reopening clears completedAt"
    );

    let r = s
        .patch(&path, json!({ "status": "completed", "completedAt": 1234 }))
        .await;
    assert_eq!(
        r.body["completedAt"], 1234,
        "a client may give the completion time"
    );

    let r = s
        .patch(&path, json!({ "status": "pending", "completedAt": 99 }))
        .await;
    assert_eq!((r.status, r.field()), (400, "completedAt"));
    for (body, field) in [
        (json!({ "status": "nope" }), "status"),
        (json!({ "title": "" }), "title"),
        (json!({ "priority": 3 }), "priority"),
        (json!({ "projectId": "proj_x" }), "projectId"),
    ] {
        let r = s.patch(&path, body.clone()).await;
        assert_eq!((r.status, r.field()), (400, field), "{body} → {:?}", r.body);
    }
    let after = s.get(&path).await.body;
    assert_eq!(
        (after["status"].as_str(), after["title"].as_str()),
        (Some("completed"), Some("renamed"))
    );
    assert_eq!(
        s.patch("/api/tasks/task_nope", json!({ "title": "x" }))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn subtasks_are_added_checked_off_and_removed_inside_their_task() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let t = s.task(&p, json!({})).await;
    let a = s
        .post(
            &format!("/api/tasks/{t}/subtasks"),
            json!({ "title": "write tests" }),
        )
        .await;
    assert_eq!(a.status, 201);
    assert_eq!(
        (a.body["status"].as_str(), a.body["taskId"].as_str()),
        (Some("pending"), Some(t.as_str()))
    );
    let b = s
        .post(
            &format!("/api/tasks/{t}/subtasks"),
            json!({ "title": "docs" }),
        )
        .await
        .id();
    let a = a.id();

    let r = s
        .patch(
            &format!("/api/tasks/{t}/subtasks/{a}"),
            json!({ "status": "completed" }),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body["completedAt"].as_i64().is_some());
    let task = s.get(&format!("/api/tasks/{t}")).await.body;
    let subtasks = task["subtasks"].as_array().unwrap();
    assert_eq!(subtasks.len(), 2);
    assert_eq!(
        (subtasks[0]["id"].as_str(), subtasks[0]["status"].as_str()),
        (Some(a.as_str()), Some("completed"))
    );
    assert_eq!(subtasks[1]["title"], "docs", "in the order they were added");
    // Every field as written (times included): the task's view reads its subtasks itself.
    assert_eq!(
        subtasks[0], r.body,
        "the task shows the subtask as it was written"
    );
    assert!(subtasks[1]["completedAt"].is_null(), "{}", subtasks[1]);
    assert!(subtasks[1]["createdAt"].as_i64() >= r.body["createdAt"].as_i64());

    assert_eq!(
        s.delete(&format!("/api/tasks/{t}/subtasks/{b}"))
            .await
            .status,
        200
    );
    assert_eq!(
        s.get(&format!("/api/tasks/{t}")).await.body["subtasks"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    assert_eq!(
        s.patch(
            &format!("/api/tasks/{t}/subtasks/{b}"),
            json!({ "title": "x" })
        )
        .await
        .status,
        404
    );
    assert_eq!(
        s.post("/api/tasks/task_nope/subtasks", json!({ "title": "x" }))
            .await
            .status,
        404
    );
    let r = s
        .post(&format!("/api/tasks/{t}/subtasks"), json!({ "title": "" }))
        .await;
    assert_eq!((r.status, r.field()), (400, "title"));
    let r = s
        .patch(
            &format!("/api/tasks/{t}/subtasks/{a}"),
            json!({ "status": "done" }),
        )
        .await;
    assert_eq!((r.status, r.field()), (400, "status"));
    // A subtask is addressed through its own task only.
    let other = s.task(&p, json!({})).await;
    assert_eq!(
        s.delete(&format!("/api/tasks/{other}/subtasks/{a}"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn dependencies_are_set_and_a_cycle_is_refused_with_its_path() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let a = s.task(&p, json!({ "title": "a" })).await;
    let b = s.task(&p, json!({ "title": "b" })).await;
    let c = s.task(&p, json!({ "title": "c" })).await;

    let r = s
        .put(
            &format!("/api/tasks/{a}/dependencies"),
            json!({ "dependsOn": [b] }),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["dependsOn"], json!([b]));
    assert_eq!(
        s.put(
            &format!("/api/tasks/{b}/dependencies"),
            json!({ "dependsOn": [c] })
        )
        .await
        .status,
        200
    );

    let r = s
        .put(
            &format!("/api/tasks/{c}/dependencies"),
            json!({ "dependsOn": [a] }),
        )
        .await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert_eq!(r.body["code"], "dependency_cycle");
    assert_eq!(r.body["details"]["cycle"], json!([c, a, b, c]));
    assert_eq!(
        s.get(&format!("/api/tasks/{c}")).await.body["dependsOn"],
        json!([]),
        "nothing written"
    );

    let r = s
        .put(
            &format!("/api/tasks/{a}/dependencies"),
            json!({ "dependsOn": [a] }),
        )
        .await;
    assert_eq!(r.status, 409, "a task cannot depend on itself");

    let other = s.project("other").await;
    let foreign = s.task(&other, json!({})).await;
    for deps in [json!([foreign]), json!(["task_nope"]), json!("b")] {
        let r = s
            .put(
                &format!("/api/tasks/{a}/dependencies"),
                json!({ "dependsOn": deps }),
            )
            .await;
        assert_eq!(
            (r.status, r.field()),
            (400, "dependsOn"),
            "{deps} → {:?}",
            r.body
        );
    }
    assert_eq!(
        s.put(
            "/api/tasks/task_nope/dependencies",
            json!({ "dependsOn": [] })
        )
        .await
        .status,
        404
    );

    // Deleting a task removes it from the tasks that depended on it.
    assert_eq!(s.delete(&format!("/api/tasks/{b}")).await.status, 200);
    assert_eq!(
        s.get(&format!("/api/tasks/{a}")).await.body["dependsOn"],
        json!([])
    );
}

#[tokio::test]
async fn every_change_is_recorded_in_the_history() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let dep = s.task(&p, json!({})).await;
    let t = s.task(&p, json!({ "title": "first" })).await;
    s.patch(
        &format!("/api/tasks/{t}"),
        json!({ "status": "in_progress", "title": "second" }),
    )
    .await;
    let sub = s
        .post(
            &format!("/api/tasks/{t}/subtasks"),
            json!({ "title": "st" }),
        )
        .await
        .id();
    s.patch(
        &format!("/api/tasks/{t}/subtasks/{sub}"),
        json!({ "status": "completed" }),
    )
    .await;
    s.put(
        &format!("/api/tasks/{t}/dependencies"),
        json!({ "dependsOn": [dep] }),
    )
    .await;
    let sid = s
        .post("/api/sessions", json!({ "projectId": p, "taskIds": [t] }))
        .await
        .id();

    let r = s.get(&format!("/api/tasks/{t}/history")).await;
    assert_eq!(r.status, 200);
    let entries = r.body.as_array().unwrap();
    let summary: Vec<(String, String, Value, Value)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["field"].as_str().unwrap_or("").to_owned(),
                e["oldValue"].clone(),
                e["newValue"].clone(),
            )
        })
        .collect();
    let expected = vec![
        ("created".into(), "".into(), Value::Null, json!("first")),
        (
            "updated".into(),
            "title".into(),
            json!("first"),
            json!("second"),
        ),
        (
            "updated".into(),
            "status".into(),
            json!("pending"),
            json!("in_progress"),
        ),
        (
            "subtask_added".into(),
            "subtasks".into(),
            Value::Null,
            json!({ "id": sub, "title": "st", "status": "pending" }),
        ),
        (
            "subtask_updated".into(),
            format!("subtasks.{sub}.status"),
            json!("pending"),
            json!("completed"),
        ),
        (
            "dependencies_changed".into(),
            "dependsOn".into(),
            json!([]),
            json!([dep]),
        ),
        (
            "session_linked".into(),
            "sessionIds".into(),
            Value::Null,
            json!(sid),
        ),
    ];
    assert_eq!(summary, expected);
    assert!(entries
        .iter()
        .all(|e| e["actor"] == "user" && e["createdAt"].as_i64().is_some()));
    assert_eq!(s.get("/api/tasks/task_nope/history").await.status, 404);
}

#[tokio::test]
async fn a_patch_that_changes_nothing_records_nothing() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let t = s.task(&p, json!({ "title": "same" })).await;
    let before = s.get(&format!("/api/tasks/{t}")).await.body;
    let r = s
        .patch(
            &format!("/api/tasks/{t}"),
            json!({ "title": "same", "status": "pending" }),
        )
        .await;
    assert_eq!(r.body, before);
    assert_eq!(
        s.get(&format!("/api/tasks/{t}/history"))
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn deleting_a_task_removes_it_and_its_session_links() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let t = s.task(&p, json!({})).await;
    let keep = s.task(&p, json!({})).await;
    let sid = s
        .post(
            "/api/sessions",
            json!({ "projectId": p, "taskIds": [t, keep] }),
        )
        .await
        .id();
    let r = s.delete(&format!("/api/tasks/{t}")).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (200, json!({ "success": true }))
    );
    assert_eq!(s.get(&format!("/api/tasks/{t}")).await.status, 404);
    assert_eq!(
        s.get(&format!("/api/sessions/{sid}")).await.body["taskIds"],
        json!([keep])
    );
    assert_eq!(s.delete(&format!("/api/tasks/{t}")).await.status, 404);
}

async fn listed(s: &Server) -> String {
    titles(&s.get("/api/tasks?sort=title").await.body).join(",")
}

/// The task list answers repeated questions from a cache: every door's change must show in the
/// very next answer, and an agent must never get the answer computed for someone else.
#[tokio::test]
async fn a_repeated_list_shows_every_change_at_once_and_is_never_shared_across_callers() {
    let s = Server::start().await;
    let (p, folder) = s.project_with_folder().await;
    let other = s.project("other").await;
    let id = s.task(&p, json!({ "title": "first" })).await;
    s.task(&other, json!({ "title": "elsewhere" })).await;

    let mut all = listed(&s).await;
    assert_eq!(all, "elsewhere,first");
    assert_eq!(listed(&s).await, all);
    s.patch(&format!("/api/tasks/{id}"), json!({ "title": "renamed" }))
        .await;
    all = listed(&s).await;
    assert_eq!(
        all, "elsewhere,renamed",
        "a change shows in the next answer"
    );
    s.post(
        &format!("/api/tasks/{id}/subtasks"),
        json!({ "title": "step" }),
    )
    .await;
    let tasks = s.get("/api/tasks?sort=title").await.body;
    assert_eq!(tasks[1]["subtasks"][0]["title"], "step");
    s.delete(&format!("/api/tasks/{id}")).await;
    assert_eq!(listed(&s).await, "elsewhere");

    // The same query from an agent of `p`: its own project only, not the admin's answer.
    s.task(&p, json!({ "title": "mine" })).await;
    assert_eq!(listed(&s).await, "elsewhere,mine");
    let (_session, token) = s.agent_token(&p, folder.path()).await;
    // Asked by the admin just before, at the same version of the data:
    assert_eq!(listed(&s).await, "elsewhere,mine");
    let mine: Value = reqwest::Client::new()
        .get(format!("{}/api/tasks?sort=title", s.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(titles(&mine), ["mine"]);
}
