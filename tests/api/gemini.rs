//! The real Gemini CLI in a Baton session, against a scripted Gemini API on loopback
//! (`model_server::ModelServer::gemini`): its hooks (installed in the per-session settings file named
//! by `GEMINI_CLI_SYSTEM_SETTINGS_PATH`, beside Baton's MCP server) report its activity and
//! its permission dialog, its usage is read from its chat file and priced, and its conversation
//! (an id Baton chose) is resumed. Gemini cannot take an answer to its dialog from a hook: it is
//! answered in its terminal. The CLI is installed by `scripts/setup.sh` (npm
//! `@google/gemini-cli`) into `target/agents`; `BATON_TEST_GEMINI` may name another one.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::claude::activities_until;
use crate::common::{files_under, installed_agent, Server, DEADLINE};
use crate::model_server::{function_responses, ModelServer, ASK_TOOL};

const MODEL: &str = "scripted-gemini-1";

fn gemini_bin() -> PathBuf {
    installed_agent("gemini", "BATON_TEST_GEMINI")
}

/// A Gemini profile that talks to `model` from a throw-away home that chose API-key sign-in.
async fn gemini_agent(s: &Server, model: &ModelServer) -> (tempfile::TempDir, String) {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".gemini")).unwrap();
    std::fs::write(
        home.path().join(".gemini/settings.json"),
        // No update check, update or usage statistics: nothing but the scripted model on the network.
        json!({
            "security": {"auth": {"selectedType": "gemini-api-key"}},
            "general": {"enableAutoUpdate": false, "enableAutoUpdateNotification": false},
            "privacy": {"usageStatisticsEnabled": false},
        })
        .to_string(),
    )
    .unwrap();
    let r = s
        .post(
            "/api/agents",
            json!({
                "id": "gemini-test", "name": "Gemini (scripted model)",
                "program": gemini_bin(), "args": ["-m", MODEL],
                "promptMode": "type", "waitPattern": "Type your message",
                "signals": "gemini", "mcp": "gemini",
                "env": {
                    "HOME": home.path(),
                    "GEMINI_API_KEY": "scripted-key",
                    "GOOGLE_GEMINI_BASE_URL": model.url,
                    "GEMINI_CLI_TRUST_WORKSPACE": "true",
                },
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (home, "gemini-test".to_owned())
}

#[tokio::test]
async fn gemini_reports_through_its_hooks_its_usage_is_counted_and_its_conversation_resumed() {
    let user_settings =
        std::env::var_os("HOME").map(|h| Path::new(&h).join(".gemini/settings.json"));
    let user_before = user_settings.as_ref().map(std::fs::read);
    // Gemini reads a system settings file only where no one else may write: not under /tmp.
    let s = Server::start_private().await;
    let (p, folder) = s.project_with_folder().await;
    let marker = folder.path().join("ran.txt");
    let model = ModelServer::gemini(&format!("echo allowed > {}", marker.display())).await;
    let (home, profile) = gemini_agent(&s, &model).await;
    std::fs::write(
        s.data_dir.join("prices.json"),
        json!({"scripted-gemini": {"input": 1.25, "output": 10.0, "cacheRead": 0.31, "cacheWrite": 0.0}})
            .to_string(),
    )
    .unwrap();
    let mut events = s.events().await;
    let task = s
        .task(&p, json!({"title": "use a tool", "prompt": ASK_TOOL}))
        .await;
    let r = s
        .post(
            "/api/sessions",
            json!({"projectId": p, "agentId": profile, "taskIds": [task]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let sid = r.id();
    let conversation = r.body["conversationId"].as_str().unwrap().to_owned();

    // Its hooks report until it asks, in its terminal, to run the shell command.
    let before_ask = activities_until(&s, &mut events, &sid, |d| {
        d["activity"] == "waiting_permission"
    })
    .await;
    assert!(
        before_ask.ends_with(&[
            ("working".into(), "hook".into()),
            ("waiting_permission".into(), "hook".into())
        ]),
        "{before_ask:?}"
    );
    let session = s.get(&format!("/api/sessions/{sid}")).await.body;
    assert_eq!(session["status"], "waiting");
    assert_eq!(session["permission"]["tool"], "Shell", "{session}");
    assert!(
        session["permission"]["summary"]
            .as_str()
            .unwrap()
            .contains("echo allowed"),
        "{session}"
    );
    assert!(
        session["permission"]["actionId"].is_null(),
        "nothing Baton could decide: {session}"
    );
    assert!(!marker.exists(), "the tool ran before it was allowed");

    // Answered in its terminal (its first choice: allow once) once its dialog takes keys (it
    // shows a moment after its hook reported it): the tool runs, the turn ends.
    let start = Instant::now();
    while !marker.exists() {
        assert!(
            start.elapsed() < DEADLINE * 2,
            "Enter never reached the dialog"
        );
        let r = s
            .post(&format!("/api/sessions/{sid}/input"), json!({"text": "\r"}))
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
        let sent = Instant::now();
        while !marker.exists() && sent.elapsed() < Duration::from_secs(2) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let after = activities_until(&s, &mut events, &sid, |d| d["activity"] == "idle").await;
    assert!(
        after.ends_with(&[
            ("working".into(), "hook".into()),
            ("idle".into(), "hook".into())
        ]),
        "{after:?}"
    );
    model
        .wait_request("the tool's response", |b| !function_responses(b).is_empty())
        .await;
    assert_eq!(std::fs::read_to_string(&marker).unwrap().trim(), "allowed");

    // Usage: what the server told Gemini for each streamed answer, from its chat file.
    let sent: Vec<_> = model.requests().into_iter().map(|(.., u)| u).collect();
    assert!(sent.len() >= 2, "{sent:?}");
    let want = |f: fn(&crate::model_server::Sent) -> i64| sent.iter().map(f).sum::<i64>();
    let usage = s.wait_usage(&sid, want(|u| u.output)).await;
    assert_eq!(usage["inputTokens"], want(|u| u.input), "{usage}");
    assert_eq!(usage["cacheReadTokens"], want(|u| u.cache_read), "{usage}");
    assert_eq!(usage["models"][0]["model"], MODEL);
    let cost = (want(|u| u.input) as f64 * 1.25
        + want(|u| u.output) as f64 * 10.0
        + want(|u| u.cache_read) as f64 * 0.31)
        / 1e6;
    assert!(
        (usage["costUsd"].as_f64().unwrap() - cost).abs() < 1e-9,
        "{usage}"
    );

    // The conversation id is Baton's and Gemini used it; the settings hold the hooks beside
    // Baton's MCP server, and no token; the user's own settings are untouched.
    let session = s.get(&format!("/api/sessions/{sid}")).await.body;
    assert_eq!(session["conversationId"], conversation);
    let chats = files_under(&home.path().join(".gemini/tmp"));
    let short = &conversation[..8];
    assert!(
        chats
            .iter()
            .any(|c| c.display().to_string().contains(short)),
        "{chats:?}"
    );
    let settings = std::fs::read_to_string(
        s.data_dir
            .join(format!("sessions/{sid}/gemini-settings.json")),
    )
    .unwrap();
    assert!(settings.contains(" hook BeforeTool"), "{settings}");
    assert!(settings.contains("mcpServers"), "{settings}");
    assert!(!settings.to_lowercase().contains("bst_"), "{settings}");
    assert_eq!(
        user_settings.as_ref().map(std::fs::read).map(|r| r.ok()),
        user_before.map(|r| r.ok())
    );

    // Stopped, then resumed: the same conversation goes on (the earlier turns are sent again).
    let r = s
        .post(&format!("/api/sessions/{sid}/stop"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.post_empty(&format!("/api/sessions/{sid}/resume")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let command = r.body["command"].to_string();
    assert!(
        command.contains(&format!("\"--resume\",\"{conversation}\"")),
        "{command}"
    );
    let asked = s
        .ask_until_sent(
            &sid,
            "a second question",
            || model.requests().into_iter().map(|(b, ..)| b).collect(),
            |b| b["contents"].to_string().contains("a second question"),
        )
        .await;
    assert!(
        asked["contents"].to_string().contains(ASK_TOOL),
        "the resumed conversation lacks the first turn: {}",
        asked["contents"]
    );
    s.post(&format!("/api/sessions/{sid}/stop"), json!({}))
        .await;
}
