//! `/api/projects`: create, list, get, update, delete and their errors.

use serde_json::json;

use crate::common::Server;

#[tokio::test]
async fn a_project_is_created_listed_updated_and_deleted() {
    let s = Server::start().await;
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().to_str().unwrap();

    let r = s
        .post(
            "/api/projects",
            json!({ "name": "  web app ", "basePath": path, "settings": {"k": 1} }),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["name"], "web app");
    assert_eq!(r.body["basePath"], path);
    assert_eq!(r.body["settings"], json!({"k": 1}));
    assert!(
        r.body["createdAt"].as_i64().unwrap() > 1_600_000_000_000,
        "times are Unix ms"
    );
    let id = r.id();

    let list = s.get("/api/projects").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(
        s.get(&format!("/api/projects/{id}")).await.body["name"],
        "web app"
    );

    let r = s
        .patch(
            &format!("/api/projects/{id}"),
            json!({ "name": "api", "basePath": null }),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["name"], "api");
    assert!(r.body["basePath"].is_null());
    assert_eq!(
        r.body["settings"],
        json!({"k": 1}),
        "fields not in the patch stay"
    );

    let r = s.delete(&format!("/api/projects/{id}")).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (200, json!({ "success": true }))
    );
    assert_eq!(s.get(&format!("/api/projects/{id}")).await.status, 404);
}

#[tokio::test]
async fn bad_project_input_is_a_400_naming_the_field_and_writes_nothing() {
    let s = Server::start().await;
    let cases = [
        (json!({}), "name"),
        (json!({ "name": "   " }), "name"),
        (json!({ "name": 7 }), "name"),
        (
            json!({ "name": "x", "basePath": "relative/dir" }),
            "basePath",
        ),
        (
            json!({ "name": "x", "basePath": "/no/such/folder/baton-test" }),
            "basePath",
        ),
        (json!({ "name": "x", "colour": "red" }), "colour"),
        (json!({ "name": "x", "settings": [1] }), "settings"),
    ];
    for (body, field) in cases {
        let r = s.post("/api/projects", body.clone()).await;
        assert_eq!(r.status, 400, "{body} → {:?}", r.body);
        assert_eq!(r.field(), field, "{body} → {:?}", r.body);
        assert_eq!(r.body["code"], "invalid_field");
        assert!(r.body["error"].as_str().unwrap().contains(field));
    }
    let r = s
        .send(
            s.request(reqwest::Method::POST, "/api/projects")
                .header("content-type", "application/json")
                .body("{\"name\":"),
        )
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("malformed_body"))
    );
    assert_eq!(s.get("/api/projects").await.body, json!([]));
}

#[tokio::test]
async fn unknown_projects_are_404() {
    let s = Server::start().await;
    for r in [
        s.get("/api/projects/proj_nope").await,
        s.patch("/api/projects/proj_nope", json!({ "name": "x" }))
            .await,
        s.delete("/api/projects/proj_nope").await,
    ] {
        assert_eq!(r.status, 404, "{:?}", r.body);
        assert_eq!(r.body["code"], "not_found");
    }
}

#[tokio::test]
async fn a_project_with_running_sessions_cannot_be_deleted() {
    let s = Server::start().await;
    let p = s.project("busy").await;
    let t = s.task(&p, json!({})).await;
    let sid = s
        .post("/api/sessions", json!({ "projectId": p, "taskIds": [t] }))
        .await
        .id();

    let r = s.delete(&format!("/api/projects/{p}")).await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert_eq!(r.body["code"], "project_busy");
    assert_eq!(r.body["details"]["sessionIds"], json!([sid]));
    assert_eq!(
        s.get(&format!("/api/tasks/{t}")).await.status,
        200,
        "nothing was deleted"
    );

    s.patch(
        &format!("/api/sessions/{sid}"),
        json!({ "status": "completed" }),
    )
    .await;
    assert_eq!(s.delete(&format!("/api/projects/{p}")).await.status, 200);
    assert_eq!(
        s.get(&format!("/api/tasks/{t}")).await.status,
        404,
        "tasks go with the project"
    );
    assert_eq!(s.get(&format!("/api/sessions/{sid}")).await.status, 404);
}
