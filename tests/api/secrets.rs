//! Secrets given to Baton stay secret: a session's secret environment is never shown by any
//! door nor stored in a database row, yet the agent gets it, on every run.

use serde_json::json;

use crate::common::{agent_bin, Server};

const KEY: &str = "sk-ant-api03-canary0123456789abcdef";

/// Every byte of the database files, WAL included.
fn database_bytes(s: &Server) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(&s.data_dir).unwrap().flatten() {
        if entry.file_name().to_string_lossy().starts_with("baton.db") {
            all.extend(std::fs::read(entry.path()).unwrap());
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn a_sessions_secret_environment_reaches_the_agent_but_no_door_and_no_row() {
    let s = Server::start().await;
    let (p, folder) = s.project_with_folder().await;
    let created = s
        .post(
            "/api/sessions",
            json!({
                "projectId": p,
                "command": [agent_bin()],
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

    let mut term = s.terminal(&sid, "").await;
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
        !contains(&database_bytes(&s), KEY),
        "the key is in the database"
    );
    let kept = s
        .data_dir
        .join("sessions")
        .join(&sid)
        .join("secret-env.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A restart gives the agent the real value again.
    term.type_line("exit 0").await;
    term.until_exit().await;
    s.wait_session(&sid, |v| v["status"] == "completed").await;
    let r = s.post_empty(&format!("/api/sessions/{sid}/restart")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["env"]["ANTHROPIC_API_KEY"], "[redacted]");
    let mut term = s.terminal(&sid, "").await;
    term.until("agent> ").await;
    term.type_line(&format!("env-is ANTHROPIC_API_KEY {KEY}"))
        .await;
    term.until("env-is true").await;
    assert!(
        !contains(&database_bytes(&s), KEY),
        "the key is in the database after restart"
    );
}

#[tokio::test]
async fn an_agent_profiles_secrets_are_shown_redacted_and_kept_when_sent_back() {
    let s = Server::start().await;
    let created = s
        .post(
            "/api/agents",
            json!({ "name": "keyed", "program": agent_bin(), "env": { "OPENAI_API_KEY": KEY, "MODE": "a" } }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["env"]["OPENAI_API_KEY"], "[redacted]");
    // The UI sends back what it was shown, with one change.
    let mut env = created.body["env"].clone();
    env["MODE"] = json!("b");
    let id = created.id();
    let r = s
        .patch(&format!("/api/agents/{id}"), json!({ "env": env }))
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
    let mut term = s.terminal(&session.id(), "").await;
    term.until("agent> ").await;
    term.type_line(&format!("env-is OPENAI_API_KEY {KEY}"))
        .await;
    term.until("env-is true").await;
    term.type_line("env-is MODE b").await;
    term.until("env-is true").await;
}
