//! The real Claude Code CLI in a Baton session, against a scripted model server on loopback
//! (`model_server.rs`): its hooks report to Baton, its permission request is allowed or denied
//! from the API, its usage is read from its transcript and priced, and its conversation is
//! resumed by id. The CLI is installed by `scripts/setup.sh` (npm `@anthropic-ai/claude-code`)
//! into `target/agents`; `BATON_TEST_CLAUDE` may name another one.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{files_under, installed_agent, Server, DEADLINE};
use crate::model_server::{tool_results, ModelServer, ASK_TOOL, MODEL};

const API_KEY: &str = "sk-ant-scripted-0123456789abcdefghijklmnop";

fn claude_bin() -> PathBuf {
    installed_agent("claude", "BATON_TEST_CLAUDE")
}

/// A Claude profile that talks to `model` from a throw-away home, with its own first-run
/// answers written for `folder`.
struct Agent {
    home: tempfile::TempDir,
    profile: String,
}

async fn claude_agent(s: &Server, model: &ModelServer, folder: &Path, wait_ms: u32) -> Agent {
    let home = tempfile::tempdir().unwrap();
    let key_tail = &API_KEY[API_KEY.len() - 20..];
    let folder = folder.canonicalize().unwrap();
    std::fs::write(
        home.path().join(".claude.json"),
        json!({
            "hasCompletedOnboarding": true,
            "lastOnboardingVersion": "2.1.197",
            "customApiKeyResponses": {"approved": [key_tail], "rejected": []},
            "projects": {folder.display().to_string(): {
                "hasTrustDialogAccepted": true, "hasCompletedProjectOnboarding": true}},
        })
        .to_string(),
    )
    .unwrap();
    let profile = format!("claude-test-{}", wait_ms);
    let r = s
        .post(
            "/api/agents",
            json!({
                "id": profile, "name": "Claude (scripted model)",
                "program": claude_bin(), "promptMode": "argument",
                "signals": "claude", "approvalWaitMs": wait_ms, "mcp": "none",
                "env": {
                    "HOME": home.path(),
                    "ANTHROPIC_BASE_URL": model.url,
                    "ANTHROPIC_API_KEY": API_KEY,
                    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                },
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    Agent { home, profile }
}

/// The activities a session went through, from its `session:updated` events, until `until`
/// holds for the session; consecutive repeats folded.
pub(crate) async fn activities_until(
    s: &Server,
    events: &mut crate::common::Events,
    sid: &str,
    until: impl Fn(&Value) -> bool,
) -> Vec<(String, String)> {
    let mut seen: Vec<(String, String)> = Vec::new();
    // A real agent may be silent for a long while on a loaded machine (starting, thinking): the
    // whole wait has the deadline, not each event.
    let deadline = Instant::now() + DEADLINE * 3;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(e) = events.next_within(left).await else {
            panic!(
                "activities so far: {seen:?}\n{}",
                s.describe_session(sid).await
            );
        };
        if e["event"] != "session:updated" {
            continue;
        }
        let data = &e["data"];
        if data["id"] != sid {
            continue;
        }
        let pair = (
            data["activity"].as_str().unwrap_or("-").to_owned(),
            data["activitySource"].as_str().unwrap_or("-").to_owned(),
        );
        if seen.last() != Some(&pair) {
            seen.push(pair);
        }
        if until(data) {
            return seen;
        }
    }
}

async fn pending_action(s: &Server, sid: &str) -> Value {
    let start = Instant::now();
    loop {
        let actions = s.get(&format!("/api/sessions/{sid}/actions")).await.body;
        if let Some(a) = actions
            .as_array()
            .and_then(|a| a.iter().find(|a| a["status"] == "pending"))
        {
            return a.clone();
        }
        assert!(
            start.elapsed() < DEADLINE * 3,
            "no pending action: {actions}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn claude_reports_through_its_hooks_asks_permission_in_baton_and_its_usage_is_counted() {
    let user_settings =
        std::env::var_os("HOME").map(|h| Path::new(&h).join(".claude/settings.json"));
    let user_before = user_settings.as_ref().map(std::fs::read);
    let s = Server::start().await;
    let (p, folder) = s.project_with_folder().await;
    let marker = folder.path().join("ran.txt");
    let model = ModelServer::anthropic(&format!("echo allowed > {}", marker.display())).await;
    let agent = claude_agent(&s, &model, folder.path(), 60_000).await;
    std::fs::write(
        s.data_dir.join("prices.json"),
        json!({"scripted-model": {"input": 3.0, "output": 15.0, "cacheRead": 0.3, "cacheWrite": 3.75}})
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
            json!({"projectId": p, "agentId": agent.profile, "taskIds": [task]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let sid = r.id();
    let conversation = r.body["conversationId"].as_str().unwrap().to_owned();

    // The hooks report until Claude asks to run its tool.
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
    assert_eq!(session["permission"]["tool"], "Bash");
    assert!(session["permission"]["summary"]
        .as_str()
        .unwrap()
        .contains("echo allowed"));
    let action = pending_action(&s, &sid).await;
    assert_eq!(session["permission"]["actionId"], action["id"]);

    // An agent's token may not decide, not even for another session of its project.
    let (_, token) = s.agent_token(&p, folder.path()).await;
    let as_agent = |path: String, body: Value| {
        let url = format!("{}{path}", s.url);
        let token = token.trim().to_owned();
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let action_path = format!(
        "/api/sessions/{sid}/actions/{}",
        action["id"].as_str().unwrap()
    );
    let refused = as_agent(action_path.clone(), json!({"decision": "allow"})).await;
    assert_eq!(refused.0, 403, "{refused:?}");
    // Nor post another session's hook events.
    let refused = as_agent(
        format!("/api/sessions/{sid}/hooks"),
        json!({"event": "Stop", "payload": {}}),
    )
    .await;
    assert_eq!(refused.0, 403, "{refused:?}");
    assert!(!marker.exists(), "the tool ran before it was allowed");

    let r = s
        .post(
            &format!(
                "/api/sessions/{sid}/actions/{}",
                action["id"].as_str().unwrap()
            ),
            json!({"decision": "allow"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "allowed");
    let after = activities_until(&s, &mut events, &sid, |d| d["activity"] == "idle").await;
    assert!(
        after.ends_with(&[
            ("working".into(), "hook".into()),
            ("idle".into(), "hook".into())
        ]),
        "{after:?}"
    );
    let with_result = model
        .wait_request("the tool's result", |b| !tool_results(b).is_empty())
        .await;
    let result = &tool_results(&with_result)[0];
    assert_ne!(result["is_error"], true, "{result}");
    assert_eq!(std::fs::read_to_string(&marker).unwrap().trim(), "allowed");
    // Deciding twice is refused.
    let again = s
        .post(
            &format!(
                "/api/sessions/{sid}/actions/{}",
                action["id"].as_str().unwrap()
            ),
            json!({"decision": "deny"}),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);

    // Usage: what the server told Claude for the main conversation's messages (those that
    // offered tools; the title Claude asks for on the side is not in the transcript).
    let main: Vec<_> = model
        .requests()
        .into_iter()
        .filter(|(b, ..)| b["tools"].as_array().is_some_and(|t| !t.is_empty()))
        .map(|(_, _, sent)| sent)
        .collect();
    assert!(main.len() >= 2, "{main:?}");
    let want = |f: fn(&crate::model_server::Sent) -> i64| main.iter().map(f).sum::<i64>();
    let usage = s.wait_usage(&sid, want(|u| u.output)).await;
    assert_eq!(usage["inputTokens"], want(|u| u.input));
    assert_eq!(usage["cacheReadTokens"], want(|u| u.cache_read));
    assert_eq!(usage["cacheWriteTokens"], want(|u| u.cache_write));
    assert_eq!(usage["models"][0]["model"], MODEL);
    assert_eq!(usage["models"][0]["messages"], main.len());
    let cost = (want(|u| u.input) as f64 * 3.0
        + want(|u| u.output) as f64 * 15.0
        + want(|u| u.cache_read) as f64 * 0.3
        + want(|u| u.cache_write) as f64 * 3.75)
        / 1e6;
    assert!(
        (usage["costUsd"].as_f64().unwrap() - cost).abs() < 1e-9,
        "{usage}"
    );
    let task_usage = s.get(&format!("/api/tasks/{task}/usage")).await.body;
    assert_eq!(
        task_usage["outputTokens"],
        want(|u| u.output),
        "{task_usage}"
    );
    let project_usage = s.get(&format!("/api/projects/{p}/usage")).await.body;
    assert_eq!(project_usage["outputTokens"], want(|u| u.output));
    let metrics = s.metrics_text().await;
    assert!(
        metrics.contains(&format!(
            "baton_tokens_total{{kind=\"output\",model=\"{MODEL}\"}} {}",
            want(|u| u.output)
        )),
        "{metrics}"
    );

    // The conversation id is Baton's, Claude used it, and the settings hold no token.
    let session = s.get(&format!("/api/sessions/{sid}")).await.body;
    assert_eq!(session["conversationId"], conversation);
    let transcript_dir = agent.home.path().join(".claude/projects");
    let transcripts: Vec<_> = files_under(&transcript_dir);
    assert!(
        transcripts
            .iter()
            .any(|t| t.ends_with(format!("{conversation}.jsonl"))),
        "{transcripts:?}"
    );
    let settings_file = s
        .data_dir
        .join(format!("sessions/{sid}/claude-settings.json"));
    let settings = std::fs::read_to_string(&settings_file).unwrap();
    assert!(settings.contains(" hook PermissionRequest"), "{settings}");
    assert!(!settings.contains(token.trim()));
    assert!(!settings.to_lowercase().contains("token"), "{settings}");
    assert!(!agent.home.path().join(".claude/settings.json").exists());
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
    let runs = s.get(&format!("/api/sessions/{sid}/runs")).await.body;
    assert_eq!(runs.as_array().unwrap().len(), 2, "{runs}");
    activities_until(&s, &mut events, &sid, |d| d["activity"] == "idle").await;
    let asked = s
        .ask_until_sent(
            &sid,
            "a second question",
            || model.requests().into_iter().map(|(b, ..)| b).collect(),
            |b| b["messages"].to_string().contains("a second question"),
        )
        .await;
    assert!(
        asked["messages"].to_string().contains(ASK_TOOL),
        "the resumed conversation lacks the first turn: {}",
        asked["messages"]
    );
    s.post(&format!("/api/sessions/{sid}/stop"), json!({}))
        .await;
}

#[tokio::test]
async fn a_denial_from_baton_reaches_the_model_as_the_tools_result() {
    let s = Server::start().await;
    let (p, folder) = s.project_with_folder().await;
    let marker = folder.path().join("never.txt");
    let model = ModelServer::anthropic(&format!("echo no > {}", marker.display())).await;
    let agent = claude_agent(&s, &model, folder.path(), 60_000).await;
    let task = s
        .task(&p, json!({"title": "deny it", "prompt": ASK_TOOL}))
        .await;
    let r = s
        .post(
            "/api/sessions",
            json!({"projectId": p, "agentId": agent.profile, "taskIds": [task]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let sid = r.id();
    let action = pending_action(&s, &sid).await;
    let r = s
        .post(
            &format!(
                "/api/sessions/{sid}/actions/{}",
                action["id"].as_str().unwrap()
            ),
            json!({"decision": "deny", "reason": "not on this machine"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let with_result = model
        .wait_request("the denial", |b| !tool_results(b).is_empty())
        .await;
    let result = &tool_results(&with_result)[0];
    assert_eq!(result["is_error"], true, "{result}");
    assert!(
        result["content"]
            .to_string()
            .contains("not on this machine"),
        "{result}"
    );
    assert!(!marker.exists());
    s.post(&format!("/api/sessions/{sid}/stop"), json!({}))
        .await;
}

#[tokio::test]
async fn the_hook_exits_at_once_and_silently_when_baton_is_not_there() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let start = Instant::now();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["hook", "PermissionRequest"])
        .env("BATON_API_URL", &url)
        .env("BATON_TOKEN", "whatever")
        .env("BATON_SESSION_ID", "sess_x")
        .env("BATON_APPROVAL_WAIT_MS", "60000")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use tokio::io::AsyncWriteExt;
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(br#"{"hook_event_name":"PermissionRequest","tool_name":"Bash"}"#)
        .await
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}
