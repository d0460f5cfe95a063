//! No process runs unsupervised, and no token outlives its process: a start whose recording
//! fails — after the process was already spawned — kills the process and revokes its token.
//! The failures are injected for real: a folder where the session's secrets file must go, and a
//! database trigger that refuses the restart's update.

use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::common::{agent_bin, on_postgres, Server, DEADLINE};

/// Whether a process whose command line contains `marker` is alive (zombies count as gone).
fn alive_with(marker: &str) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let state = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = state
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'));
        !zombie && String::from_utf8_lossy(&cmdline).contains(marker)
    })
}

async fn gone(marker: &str) {
    let start = Instant::now();
    while alive_with(marker) {
        assert!(
            start.elapsed() < DEADLINE,
            "the process {marker} is still alive"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn marker(name: &str) -> String {
    format!("leak-{name}-{}", std::process::id())
}

#[tokio::test]
async fn a_create_that_fails_after_the_spawn_leaves_no_process() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    let mark = marker("create");
    // The session's secrets must be written after its process started: make that fail.
    std::fs::create_dir_all(s.data_dir.join("sessions/leaky/secrets.json")).unwrap();
    let r = s
        .post(
            "/api/sessions",
            json!({ "id": "leaky", "projectId": p, "command": [agent_bin(), &mark],
                    "env": { "SERVICE_TOKEN": "s3cr3t-value-123" } }),
        )
        .await;
    assert!(r.status >= 500, "{}: {}", r.status, r.body);
    gone(&mark).await;
    assert_eq!(s.get("/api/sessions/leaky").await.status, 404, "no row");
    // The same session made where nothing fails: it runs (the marker test sees real processes).
    std::fs::remove_dir_all(s.data_dir.join("sessions/leaky/secrets.json")).unwrap();
    let r = s
        .post(
            "/api/sessions",
            json!({ "id": "leaky", "projectId": p, "command": [agent_bin(), &mark] }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(alive_with(&mark));
    s.post("/api/sessions/leaky/stop", json!({})).await;
    gone(&mark).await;
}

#[tokio::test]
async fn a_restart_that_fails_after_the_spawn_leaves_no_process_and_no_live_token() {
    let s = Server::start().await;
    let (p, folder) = s.project_with_folder().await;
    let mark = marker("restart");
    let sid = s
        .post(
            "/api/sessions",
            json!({ "projectId": p, "command": [agent_bin(), &mark] }),
        )
        .await
        .id();
    let mut term = s.terminal(&sid, "").await;
    term.until("agent> ").await;
    let file = folder.path().join("token");
    term.type_line(&format!("token-to {}", file.display()))
        .await;
    term.until("token written true").await;
    let token = std::fs::read_to_string(&file).unwrap();
    s.post(&format!("/api/sessions/{sid}/stop"), json!({}))
        .await;
    gone(&mark).await;

    // The restart's update of the session (with the new pid) is refused by the database.
    let db = baton::store::connect(&s.database_url).await.unwrap();
    if on_postgres() {
        db.execute_unprepared(
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected'; END $$ LANGUAGE plpgsql",
        )
        .await
        .unwrap();
        db.execute_unprepared(
            "CREATE TRIGGER refuse_pid BEFORE UPDATE OF pid ON session FOR EACH ROW WHEN (NEW.pid IS NOT NULL) EXECUTE FUNCTION refuse()",
        )
        .await
        .unwrap();
    } else {
        db.execute_unprepared(
            "CREATE TRIGGER refuse_pid BEFORE UPDATE OF pid ON session WHEN NEW.pid IS NOT NULL BEGIN SELECT RAISE(ABORT, 'injected'); END",
        )
        .await
        .unwrap();
    }
    let r = s.post_empty(&format!("/api/sessions/{sid}/restart")).await;
    assert!(r.status >= 500, "{}: {}", r.status, r.body);
    gone(&mark).await;
    let session = s.get(&format!("/api/sessions/{sid}")).await.body;
    assert_eq!(session["status"], "stopped", "{session}");
    let runs = s.get(&format!("/api/sessions/{sid}/runs")).await.body;
    assert_eq!(
        runs.as_array().unwrap().len(),
        1,
        "the failed run's row was rolled back"
    );
    // The token the new process would have had is not live either (a session's tokens are
    // revoked together): an API call with the old one is refused.
    let refused = reqwest::Client::new()
        .get(format!("{}/api/tasks", s.url))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    db.execute_unprepared("DROP TRIGGER refuse_pid ON session")
        .await
        .ok();
    db.execute_unprepared("DROP TRIGGER refuse_pid").await.ok();
    let r = s.post_empty(&format!("/api/sessions/{sid}/restart")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(alive_with(&mark));
    s.post(&format!("/api/sessions/{sid}/stop"), json!({}))
        .await;
}
