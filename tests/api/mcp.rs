//! `baton mcp` as a subprocess speaking JSON-RPC over stdio (initialize, tools/list,
//! tools/call, resources), with the effects checked through the API.

use std::process::Stdio;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

use crate::common::{Server, DEADLINE};

/// An MCP client over the child's stdin/stdout.
pub(crate) struct Mcp {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    next_id: u64,
}

impl Mcp {
    pub(crate) fn start(env: &[(&str, &str)]) -> Self {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton"));
        cmd.arg("mcp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (key, _) in std::env::vars() {
            if key.starts_with("BATON_") {
                cmd.env_remove(key);
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start baton mcp");
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Self {
            _child: child,
            stdin,
            lines,
            next_id: 1,
        }
    }

    /// Starts `baton mcp` with `env` and goes through the handshake.
    pub(crate) async fn initialized(env: &[(&str, &str)]) -> Self {
        let mut mcp = Self::start(env);
        mcp.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": { "name": "scripted-agent", "version": "1" }
            }),
        )
        .await;
        mcp.send(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))
            .await;
        mcp
    }

    pub(crate) async fn send(&mut self, message: Value) {
        let mut line = message.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// Sends a request and returns its `result` (skipping notifications), with the deadline.
    pub(crate) async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))
            .await;
        loop {
            let line = tokio::time::timeout(DEADLINE, self.lines.next_line())
                .await
                .expect("no answer in time")
                .expect("read stdout")
                .expect("baton mcp exited");
            let message: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout holds only JSON-RPC ({e}): {line}"));
            if message["id"] == id {
                assert!(message.get("error").is_none(), "{method}: {message}");
                return message["result"].clone();
            }
        }
    }

    /// `tools/call`: (is it an error, its text).
    pub(crate) async fn call(&mut self, tool: &str, arguments: Value) -> (bool, String) {
        let result = self
            .request(
                "tools/call",
                json!({ "name": tool, "arguments": arguments }),
            )
            .await;
        let text = result["content"][0]["text"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        (result["isError"] == true, text)
    }
}

#[tokio::test]
async fn an_agent_uses_baton_over_mcp_and_the_api_sees_the_effects() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let t = s
        .task(
            &p,
            json!({ "title": "parser", "prompt": "write the parser" }),
        )
        .await;
    let sid = s
        .post("/api/sessions", json!({ "projectId": p, "taskIds": [t] }))
        .await
        .id();
    // What Baton hands an agent, which passes it on to the MCP servers it starts.
    let mut mcp = Mcp::start(&[
        ("BATON_API_URL", &s.url),
        ("BATON_TOKEN", &s.token),
        ("BATON_PROJECT_ID", &p),
        ("BATON_SESSION_ID", &sid),
        ("BATON_TASK_IDS", &t),
    ]);

    let init = mcp
        .request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": { "name": "scripted-agent", "version": "1" }
            }),
        )
        .await;
    assert_eq!(init["serverInfo"]["name"], "baton");
    assert!(
        init["capabilities"]["tools"].is_object() && init["capabilities"]["resources"].is_object()
    );
    mcp.send(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))
        .await;

    let tools = mcp.request("tools/list", json!({})).await;
    let mut names: Vec<&str> = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "add_subtask",
            "cancel_task",
            "commit_work",
            "create_task",
            "execute_task",
            "get_task",
            "list_messages",
            "list_sessions",
            "list_tasks",
            "merge_task",
            "post_message",
            "rebase_task",
            "report_progress",
            "start_session",
            "task_conflicts",
            "task_diff",
            "update_subtask",
            "update_task"
        ]
    );
    let create = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "create_task")
        .unwrap();
    assert_eq!(create["inputSchema"]["required"], json!(["title"]));

    // The workspace tools answer through the same API: this project's folder is no git
    // repository, so the task has no worktree and the tool says so.
    let (err, text) = mcp.call("task_diff", json!({ "stat": true })).await;
    assert!(err && text.contains("no worktree"), "{text}");

    // Split the work, tick a piece off, report, ask, hand a task on.
    let (err, text) = mcp
        .call("add_subtask", json!({ "title": "tokenizer" }))
        .await;
    assert!(!err, "{text}");
    let subtask: Value = serde_json::from_str(&text).unwrap();
    let (err, text) = mcp
        .call(
            "update_subtask",
            json!({ "subtaskId": subtask["id"], "status": "completed" }),
        )
        .await;
    assert!(!err, "{text}");
    let (err, text) = mcp
        .call(
            "report_progress",
            json!({ "text": "tokenizer done", "progress": 30 }),
        )
        .await;
    assert!(!err, "{text}");
    let (err, _) = mcp
        .call(
            "post_message",
            json!({ "body": "recursive descent?", "type": "QUESTION" }),
        )
        .await;
    assert!(!err);
    let (err, text) = mcp
        .call(
            "create_task",
            json!({ "title": "error recovery", "dependsOn": [t] }),
        )
        .await;
    assert!(!err, "{text}");
    let handed: Value = serde_json::from_str(&text).unwrap();

    let task = s.get(&format!("/api/tasks/{t}")).await.body;
    assert_eq!(task["subtasks"][0]["title"], "tokenizer");
    assert_eq!(task["subtasks"][0]["status"], "completed");
    let session = s.get(&format!("/api/sessions/{sid}")).await.body;
    assert_eq!(
        (session["statusText"].as_str(), session["progress"].as_i64()),
        (Some("tokenizer done"), Some(30))
    );
    let messages = s.get(&format!("/api/messages?projectId={p}")).await.body;
    let kinds: Vec<(&str, &str)> = messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["type"].as_str().unwrap(), m["body"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("PROGRESS", "30% — tokenizer done"),
            ("QUESTION", "recursive descent?")
        ]
    );
    assert_eq!(messages[1]["taskId"], t.as_str());
    assert_eq!(
        s.get(&format!("/api/tasks/{}", handed["id"].as_str().unwrap()))
            .await
            .body["dependsOn"],
        json!([t])
    );

    // Hand the new task to another agent.
    let r = s
        .post(
            "/api/agents",
            json!({ "id": "scripted", "name": "scripted", "program": crate::common::agent_bin() }),
        )
        .await;
    assert_eq!(r.status, 201);
    let (err, text) = mcp
        .call(
            "start_session",
            json!({ "taskIds": [handed["id"]], "agentId": "scripted", "name": "helper" }),
        )
        .await;
    assert!(!err, "{text}");
    let started: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(started["status"], "running");
    assert_eq!(started["taskIds"], json!([handed["id"]]));
    let (_, text) = mcp
        .call("list_sessions", json!({ "status": "running" }))
        .await;
    assert!(text.contains("helper"), "{text}");

    // Reading back through MCP: the messages, and the current task as a resource.
    let (_, text) = mcp.call("list_messages", json!({})).await;
    assert!(text.contains("recursive descent?"));
    let resources = mcp.request("resources/list", json!({})).await;
    assert_eq!(resources["resources"][0]["uri"], "baton://task/current");
    let current = mcp
        .request("resources/read", json!({ "uri": "baton://task/current" }))
        .await;
    let content: Value =
        serde_json::from_str(current["contents"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(content["id"], t.as_str());
    assert_eq!(content["prompt"], "write the parser");

    // Bad input is a tool error naming the problem, and changes nothing.
    let (err, text) = mcp
        .call("update_task", json!({ "status": "exploded" }))
        .await;
    assert!(err, "{text}");
    assert!(text.contains("status"), "{text}");
    let (err, text) = mcp
        .call("report_progress", json!({ "progress": 250 }))
        .await;
    assert!(err && text.contains("progress"), "{text}");
    assert_eq!(
        s.get(&format!("/api/tasks/{t}")).await.body["status"],
        "pending"
    );
}

#[tokio::test]
async fn agents_whose_profile_takes_mcp_start_with_baton_mcp_configured() {
    let s = Server::start().await;
    let (p, _folder) = s.project_with_folder().await;
    for (id, style) in [("fake-claude", "claude"), ("fake-codex", "codex")] {
        let r = s
            .post(
                "/api/agents",
                json!({ "id": id, "name": id, "program": crate::common::agent_bin(), "mcp": style }),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        assert_eq!(r.body["mcp"], style);
    }
    let builtin = s.get("/api/agents/claude").await.body;
    assert_eq!(
        builtin["mcp"], "claude",
        "the built-in profiles know their agent"
    );

    let claude = s
        .post(
            "/api/sessions",
            json!({ "projectId": p, "agentId": "fake-claude" }),
        )
        .await
        .body;
    let argv: Vec<String> = serde_json::from_value(claude["command"].clone()).unwrap();
    assert_eq!(argv[argv.len() - 2], "--mcp-config");
    let config: Value = serde_json::from_str(&argv[argv.len() - 1]).unwrap();
    let program = config["mcpServers"]["baton"]["command"].as_str().unwrap();
    assert_eq!(
        std::path::Path::new(program),
        s.data_dir.join("bin").join("baton"),
        "the data folder's link to the CLI"
    );
    assert_eq!(
        std::fs::canonicalize(program).unwrap(),
        std::fs::canonicalize(env!("CARGO_BIN_EXE_baton")).unwrap(),
        "which is the baton that runs the server"
    );
    assert_eq!(config["mcpServers"]["baton"]["args"], json!(["mcp"]));
    assert!(
        !argv.concat().contains(&s.token),
        "no token on a command line"
    );

    let codex = s
        .post(
            "/api/sessions",
            json!({ "projectId": p, "agentId": "fake-codex" }),
        )
        .await
        .body;
    let argv: Vec<String> = serde_json::from_value(codex["command"].clone()).unwrap();
    assert_eq!(argv[1], "-c");
    assert!(
        argv[2].starts_with("mcp_servers.baton.command="),
        "{argv:?}"
    );

    let without = s
        .post(
            "/api/sessions",
            json!({ "projectId": p, "agentId": "fake-claude", "mcp": false }),
        )
        .await
        .body;
    assert_eq!(without["command"].as_array().unwrap().len(), 1, "{without}");
}
