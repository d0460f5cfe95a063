//! Secrets given to Baton stay secret: a session's secret environment is never shown by any
//! door nor stored in a database row, yet the agent gets it, on every run.

use serde_json::json;

use crate::common::{agent_bin, Server};

const KEY: &str = "sk-ant-api03-canary0123456789abcdef";
/// A secret that only its option's name gives away.
const ARG_SECRET: &str = "plainlooking0123";

/// Everything the database holds: the SQLite files' bytes (WAL included), or on PostgreSQL
/// every row of every table as text.
async fn database_bytes(s: &Server) -> Vec<u8> {
    use sea_orm::ConnectionTrait;
    if !crate::common::on_postgres() {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(&s.data_dir).unwrap().flatten() {
            if entry.file_name().to_string_lossy().starts_with("baton.db") {
                all.extend(std::fs::read(entry.path()).unwrap());
            }
        }
        return all;
    }
    let db = sea_orm::Database::connect(&s.database_url).await.unwrap();
    let tables = db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
        ))
        .await
        .unwrap();
    let mut all = Vec::new();
    for table in tables {
        let table: String = table.try_get_by_index(0).unwrap();
        let rows = db
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                format!("SELECT t::text FROM \"{table}\" t"),
            ))
            .await
            .unwrap();
        for row in rows {
            let text: String = row.try_get_by_index(0).unwrap();
            all.extend(text.into_bytes());
        }
    }
    assert!(!all.is_empty(), "the database holds rows");
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn a_sessions_secrets_reach_the_agent_but_no_door_and_no_row() {
    let s = Server::start().await;
    let (p, folder) = s.project_with_folder().await;
    let created = s
        .post(
            "/api/sessions",
            json!({
                "projectId": p,
                "command": [agent_bin(), "--api-key", ARG_SECRET, "--fast"],
                "env": { "ANTHROPIC_API_KEY": KEY, "SERVICE_URL": "http://x", "EXTRA": "ghp_0123456789abcdefABCDEF" },
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let sid = created.id();
    assert_eq!(created.body["env"]["ANTHROPIC_API_KEY"], "[redacted]");
    assert_eq!(
        created.body["env"]["EXTRA"], "[redacted]",
        "by the value's shape"
    );
    assert_eq!(created.body["env"]["SERVICE_URL"], "http://x");
    assert_eq!(
        created.body["command"],
        json!([agent_bin(), "--api-key", "[redacted]", "--fast"]),
        "an option's secret value in the command"
    );

    let mut term = s.terminal(&sid, "?offset=0").await;
    term.until(&format!("args: --api-key|{ARG_SECRET}|--fast"))
        .await;
    term.until("agent> ").await;
    term.type_line(&format!("env-is ANTHROPIC_API_KEY {KEY}"))
        .await;
    term.until("env-is true").await;

    // Not through the admin's door, nor the agent's own.
    let shown = s.get(&format!("/api/sessions/{sid}")).await.body;
    assert_eq!(shown["env"]["ANTHROPIC_API_KEY"], "[redacted]");
    let (_, token) = s.agent_token(&p, folder.path()).await;
    let as_agent = reqwest::Client::new()
        .get(format!("{}/api/sessions/{sid}", s.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !as_agent.contains(KEY) && as_agent.contains("[redacted]"),
        "{as_agent}"
    );
    let listed = s.request(
        reqwest::Method::GET,
        &format!("/api/sessions?projectId={p}"),
    );
    let listed = listed.send().await.unwrap().text().await.unwrap();
    assert!(!listed.contains(KEY));

    // Not in the database; in an owner-only file of the session's folder.
    assert!(
        !contains(&database_bytes(&s).await, KEY),
        "the key is in the database"
    );
    let kept = s.data_dir.join("sessions").join(&sid).join("secrets.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A restart gives the agent the real value again.
    term.type_line("exit 0").await;
    term.until_exit().await;
    s.wait_session(&sid, |v| v["status"] == "completed").await;
    let log = s.data_dir.join("sessions").join(&sid).join("output.log");
    let before = std::fs::metadata(&log).unwrap().len();
    let r = s.post_empty(&format!("/api/sessions/{sid}/restart")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["env"]["ANTHROPIC_API_KEY"], "[redacted]");
    let mut term = s.terminal(&sid, &format!("?offset={before}")).await;
    term.until(&format!("args: --api-key|{ARG_SECRET}|--fast"))
        .await;
    term.until("agent> ").await;
    term.type_line(&format!("env-is ANTHROPIC_API_KEY {KEY}"))
        .await;
    term.until("env-is true").await;
    assert!(
        !contains(&database_bytes(&s).await, KEY),
        "the key is in the database after restart"
    );
    assert!(!contains(&database_bytes(&s).await, ARG_SECRET));
    let shown = s.get(&format!("/api/sessions/{sid}")).await.body;
    assert_eq!(shown["command"][2], "[redacted]");
}

#[tokio::test]
async fn an_agent_profiles_secrets_are_shown_redacted_and_kept_when_sent_back() {
    let s = Server::start().await;
    let created = s
        .post(
            "/api/agents",
            json!({
                "name": "keyed",
                "program": agent_bin(),
                "args": ["--token", ARG_SECRET],
                "env": { "OPENAI_API_KEY": KEY, "MODE": "a" },
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["env"]["OPENAI_API_KEY"], "[redacted]");
    assert_eq!(created.body["args"], json!(["--token", "[redacted]"]));
    // The UI sends back what it was shown, with one change.
    let mut env = created.body["env"].clone();
    env["MODE"] = json!("b");
    let id = created.id();
    let args = created.body["args"].clone();
    let r = s
        .patch(
            &format!("/api/agents/{id}"),
            json!({ "env": env, "args": args }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["env"]["MODE"], "b");
    // The stored key is still the real one: a session of this profile gets it.
    let (p, _folder) = s.project_with_folder().await;
    let session = s
        .post("/api/sessions", json!({ "projectId": p, "agentId": id }))
        .await;
    assert_eq!(session.status, 201, "{:?}", session.body);
    assert_eq!(session.body["env"]["OPENAI_API_KEY"], "[redacted]");
    assert_eq!(session.body["command"][2], "[redacted]");
    let mut term = s.terminal(&session.id(), "?offset=0").await;
    term.until(&format!("args: --token|{ARG_SECRET}")).await;
    term.until("agent> ").await;
    term.type_line(&format!("env-is OPENAI_API_KEY {KEY}"))
        .await;
    term.until("env-is true").await;
    term.type_line("env-is MODE b").await;
    term.until("env-is true").await;
}

/// A credential-shaped canary, sent through every door.
const CANARY: &str = "sk-canary-0123456789abcdef";

#[tokio::test]
async fn a_canary_secret_sent_through_every_door_appears_in_no_audit_record_log_error_or_metric() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let s = Server::start_logged(log.path()).await;
    let (p, _folder) = s.project_with_folder().await;
    let mut errors = Vec::new();

    // HTTP: in fields, a session's environment, a webhook's secret, typed input.
    let t = s
        .task(
            &p,
            json!({ "title": format!("deploy with {CANARY}"), "prompt": format!("key: {CANARY}") }),
        )
        .await;
    s.post(
        "/api/messages",
        json!({ "projectId": p, "type": "FACT", "body": format!("the key is {CANARY}") }),
    )
    .await;
    let session = s
        .post(
            "/api/sessions",
            json!({ "projectId": p, "command": [agent_bin()], "env": { "SOME_VALUE": CANARY } }),
        )
        .await;
    assert_eq!(session.status, 201, "{:?}", session.body);
    let hook = s
        .post(
            "/api/webhooks",
            json!({ "url": "http://127.0.0.1:9/h", "secret": CANARY, "events": ["task:created"] }),
        )
        .await;
    assert_eq!(hook.status, 201, "{:?}", hook.body);
    let typed = s
        .post(
            &format!("/api/sessions/{}/input", session.id()),
            json!({ "text": CANARY }),
        )
        .await;
    assert_eq!(typed.status, 204, "{:?}", typed.body);
    // …and in requests that fail: as an id, in a path, in a malformed body.
    errors.push(
        s.post("/api/tasks", json!({ "projectId": CANARY, "title": "x" }))
            .await,
    );
    errors.push(s.get(&format!("/api/tasks/{CANARY}")).await);
    errors.push(
        s.patch(&format!("/api/tasks/{t}"), json!({ "priority": CANARY }))
            .await,
    );
    errors.push(
        s.post(
            "/api/tasks",
            json!({ "projectId": p, "title": 5, "note": CANARY }),
        )
        .await,
    );
    for error in &errors {
        assert!(error.status >= 400, "{error:?}");
        assert!(
            !error.body.to_string().contains(CANARY),
            "an error body repeats it: {:?}",
            error.body
        );
    }

    // The CLI and MCP doors.
    let title = format!("cli {CANARY}");
    crate::cli::ok(&s, &["task", "create", &title]).await;
    let failed = crate::cli::baton(&s, &["task", "show", CANARY]).await;
    assert_ne!(failed.code, 0);
    assert!(!failed.stderr.contains(CANARY), "{}", failed.stderr);
    let mut mcp = crate::mcp::Mcp::initialized(&[
        ("BATON_API_URL", &s.url),
        ("BATON_TOKEN", &s.token),
        ("BATON_PROJECT_ID", &p),
    ])
    .await;
    let (err, text) = mcp
        .call(
            "create_task",
            json!({ "title": "by mcp", "description": CANARY }),
        )
        .await;
    assert!(!err, "{text}");

    // Nowhere: the audit log (which did record all of it), the log, the metrics.
    let audit = s.get("/api/audit?limit=1000").await.body.to_string();
    assert!(!audit.contains(CANARY), "in the audit log");
    for door in ["\"http\"", "\"cli\"", "\"mcp\""] {
        assert!(audit.contains(door), "no {door} record");
    }
    assert!(audit.contains("[redacted]"));
    let metrics = s.metrics_text().await;
    assert!(!metrics.contains(CANARY), "in the metrics");
    let logged = std::fs::read_to_string(log.path()).unwrap();
    assert!(logged.contains("DEBUG"), "the server logged at debug level");
    assert!(
        !logged.contains(CANARY),
        "in the log: {}",
        logged
            .lines()
            .find(|l| l.contains(CANARY))
            .unwrap_or_default()
    );
}
