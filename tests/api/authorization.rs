//! Authorization, as callers see it: every operation of `/api/openapi.json` called as the admin,
//! as an agent of the project it targets and as an agent of another project, against the
//! documented outcome in [`EXPECTED`]. An operation the document lists and the table does not
//! fails the test: a route added later must come with its authorization decision. And the event
//! streams: an agent's token sees its own project's events only.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{Server, DEADLINE};

/// What a caller gets: allowed (any answer but 401, 403 or a 5xx) or refused with 403.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    Allow,
    Deny,
}
use Outcome::{Allow, Deny};

/// Every operation: (method, path template, body, an agent of the owning project, an agent of
/// another project). The admin is allowed everything. `{id}`s are filled per path from fresh
/// fixtures in the owning project; `{sid}` under `/api/sessions` is a session, under
/// `/api/tasks` a subtask. Session ids are a sibling's, not the calling agent's own.
const EXPECTED: &[(&str, &str, &str, Outcome, Outcome)] = &[
    ("GET", "/api/health", "", Allow, Allow),
    ("GET", "/api/version", "", Allow, Allow),
    ("POST", "/api/token/regenerate", "", Deny, Deny),
    ("GET", "/api/system/status", "", Deny, Deny),
    (
        "POST",
        "/api/commands/validate",
        r#"{"command":"ls","projectId":"{project}"}"#,
        Allow,
        Deny,
    ),
    ("GET", "/metrics", "", Deny, Deny),
    ("GET", "/api/audit", "", Deny, Deny),
    // Projects: an agent reads its own; lists are narrowed to it.
    ("GET", "/api/projects", "", Allow, Allow),
    ("POST", "/api/projects", r#"{"name":"x"}"#, Deny, Deny),
    ("GET", "/api/projects/{id}", "", Allow, Deny),
    ("PATCH", "/api/projects/{id}", r#"{"name":"y"}"#, Deny, Deny),
    ("DELETE", "/api/projects/{id}", "", Deny, Deny),
    // Agent profiles: shared, read by all, managed by the person.
    ("GET", "/api/agents", "", Allow, Allow),
    (
        "POST",
        "/api/agents",
        r#"{"name":"x","program":"sh"}"#,
        Deny,
        Deny,
    ),
    ("GET", "/api/agents/{id}", "", Allow, Allow),
    ("PATCH", "/api/agents/{id}", r#"{"name":"y"}"#, Deny, Deny),
    ("DELETE", "/api/agents/{id}", "", Deny, Deny),
    // Tasks and subtasks.
    ("GET", "/api/tasks?projectId={project}", "", Allow, Deny),
    (
        "POST",
        "/api/tasks",
        r#"{"projectId":"{project}","title":"x"}"#,
        Allow,
        Deny,
    ),
    ("GET", "/api/tasks/{id}", "", Allow, Deny),
    ("PATCH", "/api/tasks/{id}", r#"{"title":"y"}"#, Allow, Deny),
    ("DELETE", "/api/tasks/{id}", "", Allow, Deny),
    (
        "PUT",
        "/api/tasks/{id}/dependencies",
        r#"{"dependsOn":[]}"#,
        Allow,
        Deny,
    ),
    ("GET", "/api/tasks/{id}/history", "", Allow, Deny),
    ("GET", "/api/tasks/{id}/workspace", "", Allow, Deny),
    ("GET", "/api/tasks/{id}/diff", "", Allow, Deny),
    ("GET", "/api/tasks/{id}/conflicts", "", Allow, Deny),
    ("DELETE", "/api/tasks/{id}/workspace", "", Allow, Deny),
    ("POST", "/api/tasks/{id}/archive", "", Allow, Deny),
    (
        "POST",
        "/api/tasks/{id}/review",
        r#"{"comments":[{"path":"a","line":1,"body":"b"}]}"#,
        Allow,
        Deny,
    ),
    ("POST", "/api/tasks/{id}/workspace/run", "", Allow, Deny),
    ("GET", "/api/tasks/{id}/files", "", Allow, Deny),
    (
        "GET",
        "/api/tasks/{id}/files/content?path=x",
        "",
        Allow,
        Deny,
    ),
    (
        "POST",
        "/api/tasks/{id}/files/run",
        r#"{"path":"x"}"#,
        Allow,
        Deny,
    ),
    ("GET", "/api/archives", "", Allow, Allow),
    // No archive among the fixtures: these answer 404 to everyone (the project check is
    // covered by the archive test's agent calls).
    ("GET", "/api/archives/{id}/files", "", Allow, Allow),
    ("POST", "/api/archives/{id}/restore", "", Allow, Allow),
    (
        "POST",
        "/api/tasks/{id}/commit",
        r#"{"message":"m"}"#,
        Allow,
        Deny,
    ),
    ("POST", "/api/tasks/{id}/merge", "", Allow, Deny),
    ("POST", "/api/tasks/{id}/rebase", "", Allow, Deny),
    ("POST", "/api/tasks/{id}/pull-request", "", Allow, Deny),
    (
        "POST",
        "/api/tasks/{id}/subtasks",
        r#"{"title":"s"}"#,
        Allow,
        Deny,
    ),
    (
        "PATCH",
        "/api/tasks/{id}/subtasks/{sid}",
        r#"{"status":"completed"}"#,
        Allow,
        Deny,
    ),
    ("DELETE", "/api/tasks/{id}/subtasks/{sid}", "", Allow, Deny),
    // Sessions: records of the project; acting as one (report, input, its terminal) is for
    // that session itself.
    ("GET", "/api/sessions?projectId={project}", "", Allow, Deny),
    (
        "POST",
        "/api/sessions",
        r#"{"projectId":"{project}","name":"rec"}"#,
        Allow,
        Deny,
    ),
    ("GET", "/api/sessions/{id}", "", Allow, Deny),
    (
        "PATCH",
        "/api/sessions/{id}",
        r#"{"name":"z"}"#,
        Allow,
        Deny,
    ),
    ("DELETE", "/api/sessions/{id}", "", Allow, Deny),
    ("POST", "/api/sessions/{id}/stop", "", Allow, Deny),
    ("POST", "/api/sessions/{id}/restart", "", Allow, Deny),
    ("GET", "/api/sessions/{id}/output", "", Allow, Deny),
    (
        "POST",
        "/api/sessions/{id}/report",
        r#"{"text":"half"}"#,
        Deny,
        Deny,
    ),
    (
        "POST",
        "/api/sessions/{id}/input",
        r#"{"text":"y"}"#,
        Deny,
        Deny,
    ),
    ("GET", "/api/sessions/{id}/terminal", "", Deny, Deny),
    // Signals: only a session posts its own hook events; only the person decides.
    (
        "POST",
        "/api/sessions/{id}/hooks",
        r#"{"event":"Stop"}"#,
        Deny,
        Deny,
    ),
    ("GET", "/api/sessions/{id}/actions", "", Allow, Deny),
    (
        "POST",
        "/api/sessions/{id}/actions/{actionId}",
        r#"{"decision":"allow"}"#,
        Deny,
        Deny,
    ),
    ("POST", "/api/sessions/{id}/resume", "", Allow, Deny),
    ("GET", "/api/sessions/{id}/usage", "", Allow, Deny),
    ("GET", "/api/tasks/{id}/usage", "", Allow, Deny),
    ("GET", "/api/projects/{id}/usage", "", Allow, Deny),
    // The price table: read by all, changed by the person only.
    ("GET", "/api/prices", "", Allow, Allow),
    (
        "PUT",
        "/api/prices",
        r#"{"prices":{"m":{"input":1,"output":2,"cacheRead":0,"cacheWrite":0}}}"#,
        Deny,
        Deny,
    ),
    ("DELETE", "/api/prices", "", Deny, Deny),
    ("POST", "/api/sessions/{sid}/tasks/{tid}", "", Allow, Deny),
    ("DELETE", "/api/sessions/{sid}/tasks/{tid}", "", Allow, Deny),
    // Messages.
    ("GET", "/api/messages?projectId={project}", "", Allow, Deny),
    (
        "POST",
        "/api/messages",
        r#"{"projectId":"{project}","type":"FACT","body":"b"}"#,
        Allow,
        Deny,
    ),
    (
        "GET",
        "/api/messages/stream?projectId={project}",
        "",
        Allow,
        Deny,
    ),
    // Webhooks: the person's.
    ("GET", "/api/webhooks", "", Deny, Deny),
    (
        "POST",
        "/api/webhooks",
        r#"{"url":"http://127.0.0.1:9/h","events":["*"]}"#,
        Deny,
        Deny,
    ),
    ("DELETE", "/api/webhooks/{id}", "", Deny, Deny),
    ("GET", "/api/webhooks/{id}/deliveries", "", Deny, Deny),
    // Runs: read by the project's agents.
    ("GET", "/api/sessions/{id}/runs", "", Allow, Deny),
    ("GET", "/api/tasks/{id}/runs", "", Allow, Deny),
    ("GET", "/api/runs/{id}", "", Allow, Deny),
    ("GET", "/api/runs/{id}/output", "", Allow, Deny),
    // Executing tasks: a project's agents may run its tasks (a 409 is a decision taken).
    (
        "POST",
        "/api/tasks/{id}/execute",
        r#"{"agentId":"{profile}"}"#,
        Allow,
        Deny,
    ),
    ("POST", "/api/tasks/{id}/cancel", "", Allow, Deny),
    ("POST", "/api/tasks/{id}/retry", "", Allow, Deny),
    ("POST", "/api/tasks/{id}/resume", "", Allow, Deny),
    (
        "POST",
        "/api/queue/priority",
        r#"{"taskIds":["{tid}"],"priority":"high"}"#,
        Allow,
        Deny,
    ),
    (
        "POST",
        "/api/tasks/bulk",
        r#"{"operation":"set_priority","taskIds":["{tid}"],"data":{"priority":"low"}}"#,
        Allow,
        Allow,
    ),
    ("GET", "/api/projects/{id}/stats", "", Allow, Deny),
    // The queue itself spans every project: the person's.
    ("GET", "/api/queue", "", Deny, Deny),
    ("PATCH", "/api/queue", r#"{"maxConcurrent":4}"#, Deny, Deny),
    ("DELETE", "/api/queue", r#"{"confirm":true}"#, Deny, Deny),
    ("POST", "/api/queue/pause", "", Deny, Deny),
    ("POST", "/api/queue/resume", "", Deny, Deny),
    // The event stream: everyone may open it; what each sees is filtered (tested below).
    ("GET", "/ws", "", Allow, Allow),
];

/// Fresh records for one call, in the owning project.
struct Fixtures {
    project: String,
    task: String,
    subtask: String,
    session: String,
    profile: String,
    webhook: String,
    run: String,
}

impl Fixtures {
    async fn make(s: &Server, project: &str) -> Self {
        let task = s.task(project, json!({})).await;
        let subtask = s
            .post(
                &format!("/api/tasks/{task}/subtasks"),
                json!({ "title": "sub" }),
            )
            .await
            .id();
        let session = s
            .post(
                "/api/sessions",
                json!({ "projectId": project, "name": "sibling" }),
            )
            .await
            .id();
        let profile = s
            .post("/api/agents", json!({ "name": "profile", "program": "sh" }))
            .await
            .id();
        let webhook = s
            .post(
                "/api/webhooks",
                json!({ "url": "http://127.0.0.1:9/h", "events": ["task:created"] }),
            )
            .await
            .id();
        let ran = s
            .post(
                "/api/sessions",
                json!({ "projectId": project, "command": ["sh", "-c", "exit 0"] }),
            )
            .await
            .id();
        let run = s.get(&format!("/api/sessions/{ran}/runs")).await.body[0]["id"]
            .as_str()
            .expect("a session with a command has a run")
            .to_owned();
        Self {
            project: project.to_owned(),
            task,
            subtask,
            session,
            profile,
            webhook,
            run,
        }
    }

    /// `template` with its placeholders filled.
    fn fill(&self, template: &str) -> String {
        let id = if template.starts_with("/api/projects/") {
            &self.project
        } else if template.starts_with("/api/tasks/") {
            &self.task
        } else if template.starts_with("/api/agents/") {
            &self.profile
        } else if template.starts_with("/api/webhooks/") {
            &self.webhook
        } else if template.starts_with("/api/runs/") {
            &self.run
        } else {
            &self.session
        };
        let sid = if template.starts_with("/api/tasks/") {
            &self.subtask
        } else {
            &self.session
        };
        template
            .replace("{project}", &self.project)
            .replace("{id}", id)
            .replace("{sid}", sid)
            .replace("{tid}", &self.task)
            .replace("{profile}", &self.profile)
    }
}

/// Calls one operation with `token`; the status (101 for an accepted WebSocket).
async fn call(s: &Server, token: &str, method: &str, path: &str, body: &str) -> u16 {
    if path == "/ws" || path.ends_with("/terminal") {
        let mut request = s.ws_request(path);
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        return match tokio::time::timeout(DEADLINE, tokio_tungstenite::connect_async(request))
            .await
            .expect("handshake in time")
        {
            Ok((_, response)) => response.status().as_u16(),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                response.status().as_u16()
            }
            Err(err) => panic!("{method} {path}: {err}"),
        };
    }
    let mut request = reqwest::Client::new()
        .request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", s.url),
        )
        .bearer_auth(token);
    if ["POST", "PUT", "PATCH"].contains(&method) || !body.is_empty() {
        request = request.header("content-type", "application/json");
    }
    if !body.is_empty() {
        request = request.body(body.to_owned());
    }
    // Only the status: the message stream's body never ends.
    let response = tokio::time::timeout(DEADLINE, request.send())
        .await
        .expect("an answer in time")
        .expect("a response");
    response.status().as_u16()
}

fn agrees(expected: Outcome, status: u16) -> bool {
    match expected {
        Allow => !matches!(status, 401 | 403 | 500..),
        Deny => status == 403,
    }
}

#[tokio::test]
async fn every_operation_is_decided_for_the_admin_and_for_agents_in_and_out_of_the_project() {
    let mut s = Server::start().await;
    let (own, folder) = s.project_with_folder().await;
    let (other, _other_folder) = s.project_with_folder().await;
    let (_, own_token) = s.agent_token(&own, folder.path()).await;
    let (_, other_token) = s.agent_token(&other, folder.path()).await;

    // The table covers the document exactly.
    let doc = s.get("/api/openapi.json").await.body;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                documented.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let tabled: BTreeSet<String> = EXPECTED
        .iter()
        .map(|(method, path, ..)| format!("{method} {}", path.split('?').next().unwrap()))
        .collect();
    assert_eq!(
        documented, tabled,
        "every documented operation needs its authorization decision in EXPECTED"
    );

    let mut wrong = Vec::new();
    for &(method, template, body, own_agent, other_agent) in EXPECTED {
        // The token's replacement changes the admin token: last.
        let admin_last = template == "/api/token/regenerate";
        let admin_token = s.token.clone();
        for (caller, token, expected) in [
            ("agent of the project", &own_token, own_agent),
            ("agent of another project", &other_token, other_agent),
            ("admin", &admin_token, Allow),
        ] {
            if admin_last && caller == "admin" {
                continue;
            }
            let fixtures = Fixtures::make(&s, &own).await;
            let path = fixtures.fill(template);
            let status = call(&s, token, method, &path, &fixtures.fill(body)).await;
            if !agrees(expected, status) {
                wrong.push(format!(
                    "{caller}: {method} {path} -> {status}, expected {expected:?}"
                ));
            }
        }
    }
    let regenerated = s.post_empty("/api/token/regenerate").await;
    assert_eq!(regenerated.status, 200, "the admin replaces the token");
    s.token = regenerated.body["token"].as_str().unwrap().to_owned();
    assert!(
        wrong.is_empty(),
        "{} wrong outcomes:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[tokio::test]
async fn an_agent_token_streams_its_own_projects_events_only() {
    let s = Server::start().await;
    let (own, folder) = s.project_with_folder().await;
    let (other, _other_folder) = s.project_with_folder().await;
    let (_, token) = s.agent_token(&own, folder.path()).await;

    let mut request = s.ws_request("/ws");
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let mut agent_events = crate::common::Events::open(request).await;
    let mut admin_events = s.events().await;
    let secret_title = "a title of another project";
    s.task(&other, json!({ "title": secret_title })).await;
    s.task(&own, json!({ "title": "ours" })).await;
    s.post(
        "/api/messages",
        json!({ "projectId": other, "type": "FACT", "body": "not for that agent" }),
    )
    .await;

    // The admin sees both projects…
    let seen = admin_events
        .expect(&["task:created", "task:created", "message:created"])
        .await;
    assert_eq!(seen[0]["data"]["title"], secret_title);
    // …the agent its own only: the next thing it receives is its own project's task.
    let first = agent_events.next().await;
    assert_eq!(first["event"], "task:created");
    assert_eq!(first["data"]["projectId"], own);
    agent_events.expect_quiet().await;

    // Asking for another project's events does not widen the stream.
    agent_events
        .send(json!({ "type": "subscribe", "projectId": other }))
        .await;
    assert_eq!(agent_events.next().await["type"], "subscribed");
    s.task(&other, json!({ "title": secret_title })).await;
    agent_events.expect_quiet().await;

    // The SSE message stream without a project is narrowed the same way.
    let mut stream = crate::common::Sse::open_as(&s, "/api/messages/stream", &token).await;
    s.post(
        "/api/messages",
        json!({ "projectId": other, "type": "FACT", "body": "still not for it" }),
    )
    .await;
    s.post(
        "/api/messages",
        json!({ "projectId": own, "type": "FACT", "body": "for it" }),
    )
    .await;
    let got: Vec<Value> = stream.messages(1).await;
    assert_eq!(got[0]["body"], "for it");
}
