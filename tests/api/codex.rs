//! The real Codex CLI in a Baton session, against a scripted Responses API on loopback
//! (`model_server.rs`): its in-band state reports (`OSC 7501`) drive the session's activity,
//! its rollout file gives the conversation id and the usage, and `resume` continues the
//! conversation. Installed by `scripts/setup.sh` into `target/agents` (`BATON_TEST_CODEX` may
//! name another one).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{files_under, installed_agent, Server, DEADLINE};
use crate::model_server::ModelServer;

const PROMPT: &str = "say hello to the scripted model";

fn codex_bin() -> PathBuf {
    installed_agent("codex", "BATON_TEST_CODEX")
}

async fn session_until(s: &Server, sid: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let session = s.get(&format!("/api/sessions/{sid}")).await.body;
        if check(&session) {
            return session;
        }
        assert!(start.elapsed() < DEADLINE * 2, "{what}: {session}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn codex_reports_its_state_in_band_its_usage_is_read_and_its_conversation_resumed() {
    let s = Server::start().await;
    let (p, folder) = s.project_with_folder().await;
    let model = ModelServer::responses().await;
    let home = tempfile::tempdir().unwrap();
    let codex_home = home.path().join(".codex");
    std::fs::create_dir_all(&codex_home).unwrap();
    let cwd = folder.path().canonicalize().unwrap();
    std::fs::write(
        codex_home.join("config.toml"),
        format!(
            "model = \"scripted-codex\"\nmodel_provider = \"mock\"\n\n\
             [model_providers.mock]\nname = \"mock\"\nbase_url = \"{}/v1\"\nwire_api = \"responses\"\nenv_key = \"MOCK_KEY\"\n\n\
             [projects.\"{}\"]\ntrust_level = \"trusted\"\n",
            model.url,
            cwd.display()
        ),
    )
    .unwrap();
    std::fs::write(
        s.data_dir.join("prices.json"),
        json!({"scripted-codex": {"input": 1.0, "output": 10.0, "cacheRead": 0.1, "cacheWrite": 0.0}}).to_string(),
    )
    .unwrap();
    let r = s
        .post(
            "/api/agents",
            json!({
                "id": "codex-test", "name": "Codex (scripted model)", "program": codex_bin(),
                "promptMode": "argument", "signals": "codex", "mcp": "none",
                "env": {"HOME": home.path(), "CODEX_HOME": codex_home, "MOCK_KEY": "scripted"},
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let task = s
        .task(&p, json!({"title": "greet", "prompt": PROMPT}))
        .await;
    let r = s
        .post(
            "/api/sessions",
            json!({"projectId": p, "agentId": "codex-test", "taskIds": [task], "cwd": cwd}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let sid = r.id();

    // Its turn: working, then done — reported by Codex itself, not guessed from output.
    let session = session_until(&s, &sid, "the turn to end", |v| {
        v["activity"] == "idle" && v["conversationId"].is_string()
    })
    .await;
    assert_eq!(session["activitySource"], "hook", "{session}");
    assert!(model
        .requests()
        .iter()
        .any(|(b, ..)| b["input"].to_string().contains(PROMPT)));
    let conversation = session["conversationId"].as_str().unwrap().to_owned();
    // Its notify program reported the turn's end too: `baton hook Notify <json>`, from the
    // session's own token.
    let start = Instant::now();
    loop {
        let hooks = s
            .get(&format!("/api/audit?operation=/hooks&target={sid}"))
            .await
            .body;
        let by_session = hooks.as_array().unwrap().iter().any(|r| {
            r["operation"] == "POST /api/sessions/{id}/hooks"
                && r["door"] == "cli"
                && r["status"] == 200
                && r["actor"].as_str().is_some_and(|a| a.contains(&sid))
        });
        if by_session {
            break;
        }
        assert!(start.elapsed() < DEADLINE, "no notify hook: {hooks}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let command = session["command"].to_string();
    assert!(command.contains("notify=["), "{command}");
    let rollouts = files_under(&codex_home.join("sessions"));
    assert!(
        rollouts.iter().any(|r| r
            .to_string_lossy()
            .ends_with(&format!("-{conversation}.jsonl"))),
        "{rollouts:?}"
    );

    // Usage: the totals Codex wrote for its turn, which are what the server sent for the
    // requests of the conversation (those carrying the prompt; a title request is not counted).
    let turn: Vec<_> = model
        .requests()
        .into_iter()
        .filter(|(b, ..)| {
            b["input"].to_string().contains(PROMPT)
                && b["tools"].as_array().is_some_and(|t| !t.is_empty())
        })
        .map(|(_, _, sent)| sent)
        .collect();
    assert!(!turn.is_empty());
    let want = |f: fn(&crate::model_server::Sent) -> i64| turn.iter().map(f).sum::<i64>();
    let usage = s.wait_usage(&sid, want(|u| u.output)).await;
    assert_eq!(usage["inputTokens"], want(|u| u.input), "{usage}");
    assert_eq!(usage["cacheReadTokens"], want(|u| u.cache_read), "{usage}");
    assert_eq!(usage["models"][0]["model"], "scripted-codex", "{usage}");
    let cost = (want(|u| u.input) as f64 * 1.0
        + want(|u| u.output) as f64 * 10.0
        + want(|u| u.cache_read) as f64 * 0.1)
        / 1e6;
    assert!(
        (usage["costUsd"].as_f64().unwrap() - cost).abs() < 1e-9,
        "{usage}"
    );

    // Stopped and resumed: `codex resume <id>`, and the next question carries the first turn.
    let r = s
        .post(&format!("/api/sessions/{sid}/stop"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.post_empty(&format!("/api/sessions/{sid}/resume")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let command: Vec<String> = serde_json::from_value(r.body["command"].clone()).unwrap();
    assert_eq!(
        &command[1..3],
        ["resume", conversation.as_str()],
        "{command:?}"
    );
    assert!(!command.iter().any(|a| a == PROMPT), "{command:?}");
    let asked = s
        .ask_until_sent(
            &sid,
            "a second question",
            || model.requests().into_iter().map(|(b, ..)| b).collect(),
            |b| b["input"].to_string().contains("a second question"),
        )
        .await;
    assert!(
        asked["input"].to_string().contains(PROMPT),
        "{}",
        asked["input"]
    );
    s.post(&format!("/api/sessions/{sid}/stop"), json!({}))
        .await;
    // Codex starts a daemon of its own (`codex app-server --managed-daemon`, under its home)
    // that outlives its terminal's process group, and may start a moment later: end this
    // test's one, watching a little while.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        kill_under(&codex_home);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// SIGKILL to every process whose command line names `dir` (the daemon lingers after SIGTERM).
fn kill_under(dir: &Path) {
    let needle = dir.display().to_string();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(&needle) {
            // SAFETY: a plain kill(2) of a process this test's agent started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}
