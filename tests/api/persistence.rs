//! `baton serve` itself: the ready line, help, clean shutdown on signals, and data that survives
//! a restart.

use serde_json::json;

use crate::common::Server;

#[tokio::test]
async fn data_survives_a_stop_and_restart() {
    let s = Server::start().await;
    let p = s.project("durable").await;
    let t = s
        .task(
            &p,
            json!({ "title": "t", "tags": ["keep"], "priority": "high" }),
        )
        .await;
    s.post(
        &format!("/api/tasks/{t}/subtasks"),
        json!({ "title": "st" }),
    )
    .await;
    let sid = s
        .post("/api/sessions", json!({ "projectId": p, "taskIds": [t] }))
        .await
        .id();
    s.post(
        "/api/messages",
        json!({ "projectId": p, "body": "remember me" }),
    )
    .await;
    let token = s.token.clone();
    let task = s.get(&format!("/api/tasks/{t}")).await.body;
    let session = s.get(&format!("/api/sessions/{sid}")).await.body;
    let history = s.get(&format!("/api/tasks/{t}/history")).await.body;

    let s = s.restart().await;
    assert_eq!(s.token, token, "the same token after a restart");
    assert_eq!(s.get(&format!("/api/tasks/{t}")).await.body, task);
    let mut session_after = s.get(&format!("/api/sessions/{sid}")).await.body;
    // It was running when the server went away: now it is interrupted, once, with an end time.
    assert_eq!(session_after["status"], "interrupted");
    assert!(session_after["completedAt"].as_i64().is_some());
    for key in ["status", "completedAt", "updatedAt"] {
        session_after[key] = session[key].clone();
    }
    // The rest is identical, but for the URL, which names the port the session was created under.
    session_after["env"]["BATON_API_URL"] = session["env"]["BATON_API_URL"].clone();
    assert_eq!(session_after, session);
    assert_eq!(
        s.get(&format!("/api/tasks/{t}/history")).await.body,
        history
    );
    assert_eq!(
        s.get(&format!("/api/messages?projectId={p}")).await.body[0]["body"],
        "remember me"
    );
}

#[tokio::test]
async fn the_ready_line_is_exact_and_sigterm_stops_cleanly() {
    let mut s = Server::start().await;
    assert_eq!(s.url, format!("http://127.0.0.1:{}", s.port));
    assert_ne!(s.port, 0);
    let _open_event_stream = s.events().await;
    let status = s.stop().await;
    assert!(status.success(), "exit status {status}");
}

#[test]
fn help_explains_the_commands() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let help = run(&["--help"]);
    assert!(help.contains("serve"), "{help}");
    let serve = run(&["serve", "--help"]);
    for needle in [
        "--data-dir",
        "BATON_DATA_DIR",
        "--host",
        "--port",
        "listening on",
    ] {
        assert!(
            serve.contains(needle),
            "serve --help lacks {needle}: {serve}"
        );
    }
}

/// Regression: the ready line used to come before the signal handlers, so a signal sent right
/// after it killed the server instead of stopping it.
#[tokio::test]
async fn sigint_right_after_the_ready_line_stops_cleanly() {
    let mut s = Server::start().await;
    let status = s.signal("INT").await;
    assert!(status.success(), "exit status {status}");
}
