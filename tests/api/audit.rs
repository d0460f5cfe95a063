//! The audit log: every change through every door (HTTP, the CLI, `baton mcp`, an agent's own
//! token) is one record — actor, door, operation, target ids, outcome — read back with filters
//! and paging by the admin only; old records go after the retention; a record that cannot be
//! written never fails the request.

use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde_json::{json, Value};

use crate::cli::ok;
use crate::common::{Server, DEADLINE};
use crate::mcp::Mcp;

fn records(body: &Value) -> &Vec<Value> {
    body.as_array().expect("a list of records")
}

fn find(all: &[Value], check: impl Fn(&Value) -> bool) -> &Value {
    all.iter()
        .find(|r| check(r))
        .unwrap_or_else(|| panic!("no such record in {all:#?}"))
}

#[tokio::test]
async fn every_change_through_every_door_is_recorded_and_read_back_by_the_admin_only() {
    let s = Server::start().await;
    let (p, folder) = s.project_with_folder().await;
    let t = s.task(&p, json!({ "title": "over http" })).await;
    ok(&s, &["task", "create", "from the cli"]).await;
    let mut mcp = Mcp::initialized(&[
        ("BATON_API_URL", &s.url),
        ("BATON_TOKEN", &s.token),
        ("BATON_PROJECT_ID", &p),
    ])
    .await;
    let (err, text) = mcp
        .call("create_task", json!({ "title": "from mcp" }))
        .await;
    assert!(!err, "{text}");
    let (sid, token) = s.agent_token(&p, folder.path()).await;
    let agent = reqwest::Client::new();
    let made = agent
        .post(format!("{}/api/tasks", s.url))
        .bearer_auth(&token)
        .json(&json!({ "projectId": p, "title": "by the agent" }))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let refused = agent
        .post(format!("{}/api/projects", s.url))
        .bearer_auth(&token)
        .json(&json!({ "name": "not yours" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    s.get("/api/tasks").await;
    let typed = s
        .post(
            &format!("/api/sessions/{sid}/input"),
            json!({ "text": "hunter2\r" }),
        )
        .await;
    assert_eq!(typed.status, 204, "{:?}", typed.body);

    let all = s.get("/api/audit?limit=1000").await;
    assert!(
        !all.body.to_string().contains("hunter2"),
        "what was typed is not kept"
    );
    assert_eq!(all.status, 200, "{:?}", all.body);
    let all = records(&all.body).clone();
    let seqs: Vec<i64> = all.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );
    assert!(
        all.iter()
            .all(|r| r["operation"].as_str().unwrap().split(' ').next() != Some("GET")),
        "reads are not changes"
    );
    let project = find(&all, |r| {
        r["operation"] == "POST /api/projects" && r["status"] == 201
    });
    assert_eq!(
        (project["actor"].as_str(), project["door"].as_str()),
        (Some("user"), Some("http"))
    );
    assert_eq!(project["targets"], json!([p]), "what it created");
    let http = find(&all, |r| r["body"]["title"] == "over http");
    assert_eq!(http["targets"], json!([p, t]));
    let cli = find(&all, |r| r["body"]["title"] == "from the cli");
    assert_eq!(
        (cli["door"].as_str(), cli["status"].as_u64()),
        (Some("cli"), Some(201))
    );
    let by_mcp = find(&all, |r| r["body"]["title"] == "from mcp");
    assert_eq!(by_mcp["door"], "mcp");
    let actor = format!("session:{sid}");
    let by_agent = find(&all, |r| r["body"]["title"] == "by the agent");
    assert_eq!(by_agent["actor"], actor.as_str());
    let input = find(&all, |r| r["operation"] == "POST /api/sessions/{id}/input");
    assert_eq!(
        (input["body"].clone(), input["targets"].clone()),
        (Value::Null, json!([sid]))
    );
    let denied = find(&all, |r| r["actor"] == actor.as_str() && r["status"] == 403);
    assert_eq!(denied["operation"], "POST /api/projects");

    // Filters.
    let mine = s.get(&format!("/api/audit?actor={actor}")).await.body;
    assert_eq!(records(&mine).len(), 2, "{mine:#?}");
    let about_t = s.get(&format!("/api/audit?target={t}")).await.body;
    assert_eq!(records(&about_t).len(), 1);
    assert_eq!(records(&about_t)[0]["body"]["title"], "over http");
    let projects = s.get("/api/audit?operation=/api/projects").await.body;
    assert!(records(&projects)
        .iter()
        .all(|r| r["operation"].as_str().unwrap().contains("/api/projects")));
    assert_eq!(records(&projects).len(), 2, "one created, one refused");
    let at = project["at"].as_i64().unwrap();
    let later = s
        .get(&format!("/api/audit?since={}", at + 3_600_000))
        .await
        .body;
    assert!(records(&later).is_empty());
    let earlier = s.get(&format!("/api/audit?until={at}")).await.body;
    assert!(
        records(&earlier).is_empty(),
        "the first record is the project"
    );

    // Paging: pages of two follow each other without gaps or repeats.
    let mut seen = Vec::new();
    let mut path = "/api/audit?limit=2".to_owned();
    loop {
        let page = s.get(&path).await.body;
        let page = records(&page).clone();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|r| r["seq"].as_i64().unwrap()));
        path = format!("/api/audit?limit=2&before={}", seen.last().unwrap());
    }
    assert_eq!(seen, seqs);

    // Bad filters are named; an agent may not read the log.
    let bad = s.get("/api/audit?limit=0").await;
    assert_eq!((bad.status, bad.field()), (400, "limit"));
    let bad = s.get("/api/audit?since=yesterday").await;
    assert_eq!((bad.status, bad.field()), (400, "since"));
    let as_agent = agent
        .get(format!("{}/api/audit", s.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(as_agent.status(), 403);
}

#[tokio::test]
async fn records_past_the_retention_are_deleted_and_a_lost_record_never_fails_a_request() {
    let s = Server::start().await;
    let p = s.project("kept").await;
    let url = s.database_url.clone();
    let db = baton::store::connect(&url).await.unwrap();
    let day = 24 * 3600 * 1000;
    let now = baton::clock::now_ms();
    for (operation, at) in [
        ("POST /old", now - 91 * day),
        ("POST /recent", now - 89 * day),
    ] {
        baton::store::entity::audit_log::ActiveModel {
            at: Set(at),
            actor: Set("user".into()),
            door: Set("http".into()),
            operation: Set(operation.into()),
            targets: Set("[]".into()),
            status: Set(200),
            body: Set(None),
            ..Default::default()
        }
        .insert(&db)
        .await
        .unwrap();
    }
    drop(db);

    // At start, the server deletes what is past 90 days.
    let s = s.restart().await;
    let start = std::time::Instant::now();
    loop {
        let ops: Vec<String> = records(&s.get("/api/audit?operation=POST /").await.body)
            .iter()
            .map(|r| r["operation"].as_str().unwrap().to_owned())
            .collect();
        if !ops.contains(&"POST /old".to_owned()) {
            assert!(ops.contains(&"POST /recent".to_owned()), "{ops:?}");
            assert!(ops.contains(&"POST /api/projects".to_owned()), "{ops:?}");
            break;
        }
        assert!(start.elapsed() < DEADLINE, "the old record is still there");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // The log's table gone: changes still go through; the loss is counted.
    let db = baton::store::connect(&url).await.unwrap();
    db.execute_unprepared("DROP TABLE audit_log").await.unwrap();
    drop(db);
    let task = s
        .post(
            "/api/tasks",
            json!({ "projectId": p, "title": "still works" }),
        )
        .await;
    assert_eq!(task.status, 201, "{:?}", task.body);
    let metrics = s.metrics_text().await;
    let failed = metrics
        .lines()
        .find(|l| l.starts_with("baton_audit_records_total{outcome=\"failed\"}"))
        .unwrap_or_else(|| panic!("no failed-record counter in\n{metrics}"));
    let count: f64 = failed.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 1.0, "{failed}");
}
