//! Agent signals over the real server without a real agent: a session's own token posts hook
//! events as `baton hook` would (with a transcript file written here), and the cost limit of a
//! project pauses its queue once the usage read from that transcript reaches it.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{Server, DEADLINE};

fn assistant_line(id: &str, model: &str, input: i64, output: i64) -> String {
    json!({"type": "assistant", "message": {"id": id, "model": model, "role": "assistant",
        "usage": {"input_tokens": input, "output_tokens": output,
                  "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}}})
    .to_string()
}

async fn as_agent(s: &Server, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", s.url))
        .bearer_auth(token.trim())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_project_past_its_cost_limit_has_its_queue_paused_and_is_told_why() {
    let s = Server::start().await;
    let folder = tempfile::tempdir().unwrap();
    // A limit that is not a positive number of dollars is refused, naming it.
    let r = s
        .post(
            "/api/projects",
            json!({"name": "b", "basePath": folder.path(), "settings": {"costLimitUsd": -1}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.field(), "settings.costLimitUsd");
    let r = s
        .post(
            "/api/projects",
            json!({"name": "b", "basePath": folder.path(), "settings": {"costLimitUsd": 0.01}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let p = r.id();
    let (sid, token) = s.agent_token(&p, folder.path()).await;
    let transcript = folder.path().join("conversation.jsonl");
    // $3 a million input tokens and $15 a million output (the built-in table): $0.0045 so far.
    std::fs::write(
        &transcript,
        format!("{}\n", assistant_line("m1", "claude-sonnet-4-5", 1000, 100)),
    )
    .unwrap();
    let stop = json!({"event": "Stop", "payload": {
        "session_id": "conversation-1", "transcript_path": transcript, "hook_event_name": "Stop"}});
    let (status, answer) = as_agent(
        &s,
        &token,
        &format!("/api/sessions/{sid}/hooks"),
        stop.clone(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"output": null}), "a report prints nothing");
    let session = s.wait_session(&sid, |v| v["activity"] == "idle").await;
    assert_eq!(session["activitySource"], "hook");
    assert_eq!(session["status"], "running");
    assert_eq!(session["conversationId"], "conversation-1");
    let usage = s.wait_usage(&sid, 100).await;
    assert!(
        (usage["costUsd"].as_f64().unwrap() - 0.0045).abs() < 1e-12,
        "{usage}"
    );
    assert_eq!(s.get("/api/queue").await.body["pausedProjects"], json!([]));

    // The same message written again (a longer version of it) and a new one: one row each;
    // $0.0045 + $0.009 + $0.0015 = $0.015, past the limit.
    let more = format!(
        "{}\n{}\n",
        assistant_line("m1", "claude-sonnet-4-5", 1000, 400),
        assistant_line("m2", "claude-sonnet-4-5", 500, 0)
    );
    let mut text = std::fs::read_to_string(&transcript).unwrap();
    text.push_str(&more);
    std::fs::write(&transcript, text).unwrap();
    let (status, _) = as_agent(&s, &token, &format!("/api/sessions/{sid}/hooks"), stop).await;
    assert_eq!(status, 200);
    let usage = s.wait_usage(&sid, 400).await;
    assert_eq!(usage["models"][0]["messages"], 2, "{usage}");
    assert_eq!(usage["inputTokens"], 1500);
    let start = Instant::now();
    loop {
        let queue = s.get("/api/queue").await.body;
        if queue["pausedProjects"] == json!([p]) {
            break;
        }
        assert!(start.elapsed() < DEADLINE, "{queue}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The message follows the pause.
    let budget = budget_messages(&s, &format!("projectId={p}")).await;
    assert_eq!(budget.len(), 1, "{budget:?}");
    assert!(
        budget[0]["body"].as_str().unwrap().contains("$0.01"),
        "{}",
        budget[0]
    );
    let metrics = s.metrics_text().await;
    assert!(
        metrics.contains("baton_tokens_total{kind=\"output\",model=\"claude-sonnet-4-5\"} 400"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_bad_hook_event_is_refused_naming_the_field() {
    let s = Server::start().await;
    let (p, folder) = s.project_with_folder().await;
    let (sid, token) = s.agent_token(&p, folder.path()).await;
    let path = format!("/api/sessions/{sid}/hooks");
    let (status, body) = as_agent(&s, &token, &path, json!({"event": ""})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"]["field"], "event", "{body}");
    let (status, _) = as_agent(&s, &token, &path, json!({"event": "Stop", "payload": [1]})).await;
    assert_eq!(status, 400);
}

/// The `BUDGET` messages `GET /api/messages?<query>` lists, once there is one (with the deadline).
async fn budget_messages(s: &Server, query: &str) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let messages = s.get(&format!("/api/messages?{query}")).await.body;
        let budget: Vec<Value> = messages
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["type"] == "BUDGET")
            .cloned()
            .collect();
        if !budget.is_empty() {
            return budget;
        }
        assert!(start.elapsed() < DEADLINE, "{messages}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_agent_at_its_usage_limit_holds_its_kind_back_until_the_reset_then_continues() {
    let s = Server::start().await;
    let (p, _folder) = s.project_with_folder().await;
    let r = s
        .post(
            "/api/agents",
            json!({"id": "limited", "name": "limited", "program": crate::common::agent_bin(),
                   "resumeAfterLimit": true}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["resumeAfterLimit"], true);
    let sid = s
        .post(
            "/api/sessions",
            json!({"projectId": p, "agentId": "limited"}),
        )
        .await
        .id();
    let mut term = s.terminal(&sid, "").await;
    term.until("agent> ").await;
    // Claude's way of saying it (StopFailure, `…|<epoch seconds>`), resetting in 3 s.
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let reset_ms = (now_s + 3) * 1000;
    let r = s
        .post(
            &format!("/api/sessions/{sid}/hooks"),
            json!({"event": "StopFailure", "payload": {"error": "rate_limit",
                "last_assistant_message": format!("Claude AI usage limit reached|{}", now_s + 3)}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let session = s.get(&format!("/api/sessions/{sid}")).await.body;
    assert_eq!(session["limitedUntil"], reset_ms, "{session}");
    assert_eq!(session["activity"], "idle");

    // A task for the same kind of agent waits in the queue until the reset.
    let mut events = s.events().await;
    let task = s.task(&p, json!({"title": "later"})).await;
    let r = s
        .post(
            &format!("/api/tasks/{task}/execute"),
            json!({"agentId": "limited"}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["status"], "queued", "{}", r.body);
    let started = loop {
        let e = events.next_named("run:started").await;
        if e["data"]["taskId"] == task {
            break e;
        }
    };
    let started_at = started["data"]["startedAt"].as_i64().unwrap();
    assert!(
        started_at >= reset_ms,
        "started at {started_at}, before the reset {reset_ms}"
    );

    // The profile opts in: after the reset, the session is told to continue.
    term.until("you said: continue").await;
    let session = s.get(&format!("/api/sessions/{sid}")).await.body;
    assert!(session["limitedUntil"].is_null(), "{session}");
}

#[tokio::test]
async fn a_task_past_its_cost_limit_finishes_its_run_but_never_runs_again() {
    let s = Server::start().await;
    let (p, folder) = s.project_with_folder().await;
    let r = s
        .post(
            "/api/agents",
            json!({"id": "spender", "name": "spender", "program": crate::common::agent_bin()}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let task = s.task(&p, json!({"title": "spend"})).await;
    let execute = format!("/api/tasks/{task}/execute");
    for bad in [json!(0), json!(-1)] {
        let r = s
            .post(&execute, json!({"agentId": "spender", "costLimitUsd": bad}))
            .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.field(), "costLimitUsd");
    }
    let r = s
        .post(&execute, json!({"agentId": "spender", "costLimitUsd": "5"}))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(s.get(&format!("/api/tasks/{task}")).await.body["execution"].is_null());

    // A loop of up to five runs, with a cent to spend.
    let mut events = s.events().await;
    let r = s
        .post(
            &execute,
            json!({"agentId": "spender", "costLimitUsd": 0.01, "loop": {"maxRuns": 5}}),
        )
        .await;
    assert!(matches!(r.status, 200 | 202), "{}", r.body);
    let started = loop {
        let e = events.next_named("run:started").await;
        if e["data"]["taskId"] == task {
            break e;
        }
    };
    let sid = started["data"]["sessionId"].as_str().unwrap().to_owned();
    let shown = s.get(&format!("/api/tasks/{task}")).await.body;
    assert_eq!(shown["execution"]["costLimitUsd"], 0.01, "{shown}");
    let mut term = s.terminal(&sid, "").await;
    term.until("agent> ").await;

    // The agent's turn used 1,000 input and 1,000 output tokens: $0.003 + $0.015.
    let transcript = folder.path().join("spend.jsonl");
    std::fs::write(
        &transcript,
        format!(
            "{}\n",
            assistant_line("m1", "claude-sonnet-4-5", 1000, 1000)
        ),
    )
    .unwrap();
    let r = s
        .post(
            &format!("/api/sessions/{sid}/hooks"),
            json!({"event": "Stop", "payload": {"session_id": "c-1",
                "transcript_path": transcript, "hook_event_name": "Stop"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let budget = budget_messages(&s, &format!("projectId={p}&taskId={task}")).await;
    assert_eq!(budget.len(), 1, "{budget:?}");
    let body = budget[0]["body"].as_str().unwrap();
    assert!(body.contains("$0.0180 of $0.0100"), "{body}");
    assert!(body.contains("current run goes on"), "{body}");
    // The run goes on until the agent ends it.
    let shown = s.get(&format!("/api/tasks/{task}")).await.body;
    assert_eq!(shown["status"], "in_progress", "{shown}");
    term.type_line("exit 0").await;
    let failed = crate::common::wait_task(&s, &task, |t| t["status"] == "failed").await;
    let reason = failed["execution"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("cost limit was reached: $0.0180 of $0.0100"),
        "{failed}"
    );
    let runs = s.get(&format!("/api/tasks/{task}/runs")).await.body;
    assert_eq!(runs.as_array().unwrap().len(), 1, "no second run: {runs}");

    // Retry keeps the limit, so it is refused; executing with a limit under what was spent too.
    let r = s.post(&format!("/api/tasks/{task}/retry"), json!({})).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["code"], "cost_limit", "{}", r.body);
    let r = s
        .post(
            &execute,
            json!({"agentId": "spender", "costLimitUsd": 0.015}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.field(), "costLimitUsd");
    assert!(
        r.body["error"].as_str().unwrap().contains("$0.0180"),
        "{}",
        r.body
    );
    let r = s
        .post(&execute, json!({"agentId": "spender", "costLimitUsd": 1}))
        .await;
    assert!(matches!(r.status, 200 | 202), "{}", r.body);
}

#[tokio::test]
async fn the_price_table_is_read_replaced_checked_and_reset() {
    let s = Server::start().await;
    let table = s.get("/api/prices").await;
    assert_eq!(table.status, 200);
    assert_eq!(table.body["source"], "built_in");
    assert!(table.body["prices"]["claude-sonnet-4"]["input"].is_number());

    // A session whose transcript says it used 1,000 input and 1,000 output tokens of `m-1`.
    let (p, folder) = s.project_with_folder().await;
    let (sid, token) = s.agent_token(&p, folder.path()).await;
    let transcript = folder.path().join("t.jsonl");
    std::fs::write(
        &transcript,
        format!("{}\n", assistant_line("x1", "m-1", 1000, 1000)),
    )
    .unwrap();
    let stop = json!({"event": "Stop", "payload": {"transcript_path": transcript}});
    let (status, _) = as_agent(&s, &token, &format!("/api/sessions/{sid}/hooks"), stop).await;
    assert_eq!(status, 200);
    let usage = s.wait_usage(&sid, 1000).await;
    assert_eq!(usage["unpriced"], json!(["m-1"]), "{usage}");

    // A wrong price is refused naming it, and changes nothing.
    let r = s
        .put(
            "/api/prices",
            json!({"prices": {"m": {"input": -1, "output": 2, "cacheRead": 0, "cacheWrite": 0}}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.field(), "prices.m.input");
    assert_eq!(s.get("/api/prices").await.body["source"], "built_in");
    // An agent may not change it.
    let r = reqwest::Client::new()
        .put(format!("{}/api/prices", s.url))
        .bearer_auth(token.trim())
        .json(&json!({"prices": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);

    // Set: the usage is priced by it at once ($2 + $10 a million: $0.012).
    let r = s
        .put(
            "/api/prices",
            json!({"prices": {"m": {"input": 2, "output": 10, "cacheRead": 0.2, "cacheWrite": 2.5}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["source"], "data_dir");
    assert_eq!(r.body["prices"]["m"]["output"], 10.0);
    assert!(
        r.body["prices"]["claude-sonnet-4"].is_null(),
        "replaced whole"
    );
    let usage = s.get(&format!("/api/sessions/{sid}/usage")).await.body;
    assert!(
        (usage["costUsd"].as_f64().unwrap() - 0.012).abs() < 1e-12,
        "{usage}"
    );
    assert_eq!(usage["unpriced"], json!([]));

    // Reset: Baton's own table again.
    let r = s.delete("/api/prices").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["source"], "built_in");
    let usage = s.get(&format!("/api/sessions/{sid}/usage")).await.body;
    assert_eq!(usage["unpriced"], json!(["m-1"]), "{usage}");
}
