//! Agents in real terminals: the scripted agent run by the real server in real PTYs.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{agent_bin, Server, Term, DEADLINE};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn output_is_kept_byte_for_byte_and_input_reaches_the_agent() {
    let s = Server::start().await;
    let (p, dir) = s.project_with_folder().await;
    let session = s
        .agent_session(&p, json!({ "command": [agent_bin(), "one", "two words"] }))
        .await;
    assert_eq!(session["status"], "running");
    assert!(session["pid"].as_i64().unwrap() > 0);
    assert_eq!(
        session["cwd"],
        dir.path().to_str().unwrap(),
        "cwd defaults to the project's folder"
    );
    assert_eq!(session["command"], json!([agent_bin(), "one", "two words"]));
    let sid = id(&session);

    let mut term = s.terminal(&sid, "?offset=0").await;
    let banner = term.until("agent> ").await;
    assert!(
        banner.contains("\x1b[1;32mscripted agent ready\x1b[0m \x1b[38;5;208mcolours\x1b[0m\r\n"),
        "{banner:?}"
    );
    assert!(
        banner.contains("args: one|two words\r\n"),
        "argv arrives as given, no shell: {banner:?}"
    );
    term.type_line("hello there").await;
    assert!(term
        .until("you said: hello there\r\n")
        .await
        .contains("hello there"));
    term.until("agent> ").await;

    // The log holds exactly what the viewer saw.
    let out = s
        .send(s.request(reqwest::Method::GET, &format!("/api/sessions/{sid}/output")))
        .await;
    assert_eq!(out.status, 200);
    let log = std::fs::read(s.data_dir.join("sessions").join(&sid).join("output.log")).unwrap();
    assert_eq!(
        log, term.seen,
        "log file == WebSocket stream, byte for byte"
    );
    assert_eq!(out.headers["x-output-end"], log.len().to_string());
    let page = s
        .send(s.request(
            reqwest::Method::GET,
            &format!("/api/sessions/{sid}/output?offset=5&limit=10"),
        ))
        .await;
    assert_eq!(page.headers["x-output-offset"], "5");
    let raw = reqwest::get(format!("{}/api/health", s.url)).await.unwrap();
    assert_eq!(raw.status(), 200);
    let bytes = s
        .request(
            reqwest::Method::GET,
            &format!("/api/sessions/{sid}/output?offset=5&limit=10"),
        )
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[..], &log[5..15]);

    term.type_line("exit 0").await;
    let exit = term.until_exit().await;
    assert_eq!(
        (exit["code"].as_i64(), exit["signal"].as_str()),
        (Some(0), None)
    );
    let done = s
        .wait_session(&sid, |v| {
            v["status"] != "running" && v["status"] != "waiting"
        })
        .await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["exitCode"], 0);
    assert!(done["completedAt"].as_i64().is_some());
}

#[tokio::test]
async fn the_agent_sees_its_environment_and_calls_back_with_its_own_token() {
    let s = Server::start().await;
    let (p, dir) = s.project_with_folder().await;
    let t = s.task(&p, json!({})).await;
    let other_project = s.project("other").await;
    let session = s.agent_session(&p, json!({ "taskIds": [t] })).await;
    let sid = id(&session);
    let env = &session["env"];
    assert!(env.get("BATON_TOKEN").is_none(), "the token is not shown");
    assert_eq!(env["TERM"], "xterm-256color");
    let mut term = s.terminal(&sid, "").await;
    term.until("agent> ").await;

    term.type_line("env").await;
    let shown = term.until("agent> ").await;
    for line in [
        format!("BATON_API_URL={}", s.url),
        format!("BATON_PROJECT_ID={p}"),
        format!("BATON_SESSION_ID={sid}"),
        format!("BATON_TASK_IDS={t}"),
        "TERM=xterm-256color".to_owned(),
        "token session".to_owned(),
    ] {
        assert!(shown.contains(&line), "{line} missing from {shown:?}");
    }

    let token_file = dir.path().join("token.txt");
    term.type_line(&format!("token-to {}", token_file.display()))
        .await;
    term.until("token written true").await;
    term.until("agent> ").await;
    let token = std::fs::read_to_string(&token_file).unwrap();
    assert!(token.starts_with("bst_"));
    assert_ne!(token, s.token, "never the admin token");

    // No secret in any process's argument list.
    let pid = session["pid"].as_i64().unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline);
    assert!(
        !cmdline.contains(&token) && !cmdline.contains(&s.token),
        "{cmdline}"
    );
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd);
            assert!(
                !cmd.contains(&token) && !cmd.contains(&s.token),
                "a token in {:?}: {cmd}",
                entry.path()
            );
        }
    }

    // What the agent may do with its token…
    for (call, status) in [
        (format!("call GET /api/sessions/{sid}"), 200),
        (format!("call GET /api/tasks/{t}"), 200),
        (
            format!(r#"call POST /api/tasks {{"projectId":"{p}","title":"split work"}}"#),
            201,
        ),
        (
            format!(
                r#"call POST /api/messages {{"projectId":"{p}","type":"PROGRESS","body":"half done"}}"#
            ),
            201,
        ),
        // …and may not: other projects, project and profile management.
        (format!("call GET /api/projects/{other_project}"), 403),
        (
            format!(r#"call POST /api/tasks {{"projectId":"{other_project}","title":"x"}}"#),
            403,
        ),
        (r#"call POST /api/projects {"name":"x"}"#.to_owned(), 403),
        (
            r#"call POST /api/agents {"name":"x","program":"sh"}"#.to_owned(),
            403,
        ),
        ("call POST /api/token/regenerate".to_owned(), 403),
    ] {
        term.type_line(&call).await;
        let answer = term.until("agent> ").await;
        assert!(
            answer.contains(&format!("status {status}")),
            "{call} → {answer:?}"
        );
    }
    let msgs = s.get(&format!("/api/messages?projectId={p}")).await.body;
    assert_eq!(
        msgs[0]["author"],
        format!("session:{sid}"),
        "the agent is the author"
    );
    let history = s.get(&format!("/api/tasks/{t}/history")).await.body;
    assert!(history
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["actor"] == "user" || h["actor"] == format!("session:{sid}")));

    // It may not type into another session's terminal.
    let other = s.agent_session(&p, json!({})).await;
    let mut req = s.ws_request(&format!("/api/sessions/{}/terminal", id(&other)));
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status().as_u16(), 403),
        other => panic!("expected 403, got {:?}", other.map(|(_, r)| r.status())),
    }

    // Once the session has ended, its token is refused.
    term.type_line("exit 0").await;
    term.until_exit().await;
    s.wait_session(&sid, |v| v["status"] == "completed").await;
    let r = s
        .send(
            reqwest::Client::new()
                .get(format!("{}/api/sessions/{sid}", s.url))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(r.status, 401, "a revoked token");
}

#[tokio::test]
async fn resizes_reach_the_agent_and_two_viewers_share_the_terminal() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    let sid = id(&s.agent_session(&p, json!({ "cols": 90, "rows": 20 })).await);
    let mut a = s.terminal(&sid, "?offset=0").await;
    a.until("agent> ").await;
    a.type_line("size").await;
    a.until("size 90x20").await;
    a.send_json(json!({ "type": "resize", "cols": 132, "rows": 43 }))
        .await;
    a.until("resized 132x43").await;

    let mut b = s.terminal(&sid, "").await;
    b.type_line("from b").await;
    a.until("you said: from b").await;
    b.until("you said: from b").await;
    a.type_line("from a").await;
    b.until("you said: from a").await;

    a.send_json(json!({ "type": "resize", "cols": 0, "rows": 5 }))
        .await;
    a.send_json(json!({ "type": "dance" })).await;
    a.type_line("still here").await;
    a.until("you said: still here").await;
    assert!(
        a.controls.iter().filter(|c| c["type"] == "error").count() >= 2,
        "{:?}",
        a.controls
    );
}

#[tokio::test]
async fn a_viewer_reconnects_and_resumes_from_an_offset() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    let sid = id(&s.agent_session(&p, json!({})).await);
    let mut first = s.terminal(&sid, "?offset=0").await;
    first.until("agent> ").await;
    first.type_line("burst 200").await;
    first.until("line 199").await;
    first.until("agent> ").await;
    let resume_at = first.seen.len() as u64;
    drop(first);

    let mut other = s.terminal(&sid, "").await;
    other.type_line("after the drop").await;
    other.until("you said: after the drop").await;
    other.until("agent> ").await;

    let mut again = s.terminal(&sid, &format!("?offset={resume_at}")).await;
    assert_eq!(again.offset, resume_at);
    again.until("agent> ").await;
    let log = std::fs::read(s.data_dir.join("sessions").join(&sid).join("output.log")).unwrap();
    assert_eq!(
        again.seen,
        log[resume_at as usize..],
        "exactly the bytes from the offset on"
    );
    let r = s
        .send(s.request(
            reqwest::Method::GET,
            &format!("/api/sessions/{sid}/terminal?offset=x"),
        ))
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn exit_codes_and_signals_are_recorded() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    let failing = id(&s.agent_session(&p, json!({})).await);
    let mut term = s.terminal(&failing, "").await;
    term.until("agent> ").await;
    term.type_line("exit 3").await;
    let exit = term.until_exit().await;
    assert_eq!(exit["code"], 3);
    let done = s.wait_session(&failing, |v| v["status"] == "failed").await;
    assert_eq!(
        (done["exitCode"].as_i64(), done["signal"].as_str()),
        (Some(3), None)
    );

    let killed = s.agent_session(&p, json!({})).await;
    let mut term = s.terminal(&id(&killed), "").await;
    term.until("agent> ").await;
    let pid = killed["pid"].as_i64().unwrap().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .unwrap()
        .success());
    let exit = term.until_exit().await;
    assert_eq!(exit["signal"], "SIGKILL");
    let done = s
        .wait_session(&id(&killed), |v| v["status"] == "failed")
        .await;
    assert_eq!(
        (done["signal"].as_str(), done["exitCode"].as_i64()),
        (Some("SIGKILL"), Some(128 + 9))
    );

    // An ended session replays its output, then says how it ended.
    let mut late = s.terminal(&failing, "?offset=0").await;
    late.until("bye").await;
    assert_eq!(late.until_exit().await["code"], 3);
}

#[tokio::test]
async fn stop_ends_the_agent_within_the_grace_period_and_restart_runs_it_again() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    let sid = id(&s.agent_session(&p, json!({})).await);
    let mut term = s.terminal(&sid, "").await;
    term.until("agent> ").await;
    let started = std::time::Instant::now();
    let r = s
        .post(&format!("/api/sessions/{sid}/stop"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "stopped");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a cooperative agent stops at once"
    );
    assert_eq!(term.until_exit().await["signal"], "SIGHUP");
    let r = s
        .post(&format!("/api/sessions/{sid}/stop"), json!({}))
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (409, Some("not_running"))
    );

    // An agent that ignores SIGTERM is killed when the grace period is over.
    let stubborn = id(&s.agent_session(&p, json!({})).await);
    let mut term = s.terminal(&stubborn, "").await;
    term.until("agent> ").await;
    term.type_line("ignore-term").await;
    term.until("ignoring SIGTERM").await;
    let started = std::time::Instant::now();
    let r = s
        .post(
            &format!("/api/sessions/{stubborn}/stop"),
            json!({ "graceMs": 300 }),
        )
        .await;
    assert_eq!(
        (
            r.status,
            r.body["status"].as_str(),
            r.body["signal"].as_str()
        ),
        (200, Some("stopped"), Some("SIGKILL"))
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(started.elapsed() < Duration::from_secs(5));

    // Restart: a new run in the same session, the old output kept.
    let before = std::fs::read(s.data_dir.join("sessions").join(&sid).join("output.log")).unwrap();
    let r = s.post_empty(&format!("/api/sessions/{sid}/restart")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "running");
    assert!(r.body["completedAt"].is_null() && r.body["exitCode"].is_null());
    let mut term = s.terminal(&sid, &format!("?offset={}", before.len())).await;
    term.until("scripted agent ready").await;
    term.until("agent> ").await;
    let after = std::fs::read(s.data_dir.join("sessions").join(&sid).join("output.log")).unwrap();
    assert!(
        after.starts_with(&before),
        "the first run's output is still there"
    );
    let record = s
        .post("/api/sessions", json!({ "projectId": p }))
        .await
        .id();
    let r = s
        .post_empty(&format!("/api/sessions/{record}/restart"))
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (409, Some("no_command"))
    );
}

#[tokio::test]
async fn a_running_session_is_deleted_only_with_force() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    let session = s.agent_session(&p, json!({})).await;
    let sid = id(&session);
    let r = s.delete(&format!("/api/sessions/{sid}")).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (409, Some("session_running"))
    );
    let r = s.delete(&format!("/api/sessions/{sid}?force=true")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(s.get(&format!("/api/sessions/{sid}")).await.status, 404);
    assert!(
        !s.data_dir.join("sessions").join(&sid).exists(),
        "its log is gone too"
    );
    let pid = session["pid"].as_i64().unwrap();
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists() || process_is_zombie(pid));
}

fn process_is_zombie(pid: i64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.contains(") Z "))
        .unwrap_or(true)
}

#[tokio::test]
async fn a_missing_program_is_a_400_naming_it_and_leaves_nothing_behind() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    let t = s.task(&p, json!({})).await;
    let mut events = s.events().await;
    let r = s.post("/api/sessions", json!({ "id": "ghost", "projectId": p, "taskIds": [t], "command": ["no-such-agent-xyz", "--go"] })).await;
    assert_eq!((r.status, r.field()), (400, "command"), "{:?}", r.body);
    assert!(r.body["error"]
        .as_str()
        .unwrap()
        .contains("no-such-agent-xyz"));
    for (body, field) in [
        (json!({ "projectId": p, "command": [] }), "command"),
        (
            json!({ "projectId": p, "command": [agent_bin()], "cwd": "/no/such/dir" }),
            "cwd",
        ),
        (
            json!({ "projectId": p, "command": [agent_bin()], "cols": 0 }),
            "cols",
        ),
        (
            json!({ "projectId": p, "command": [agent_bin()], "env": { "BATON_TOKEN": "x" } }),
            "env",
        ),
        (
            json!({ "projectId": p, "agentId": "no-such-profile" }),
            "agentId",
        ),
    ] {
        let r = s.post("/api/sessions", body.clone()).await;
        assert_eq!((r.status, r.field()), (400, field), "{body} → {:?}", r.body);
    }
    assert_eq!(s.get("/api/sessions/ghost").await.status, 404);
    assert_eq!(s.get("/api/sessions").await.body, json!([]));
    assert_eq!(
        s.get(&format!("/api/tasks/{t}")).await.body["sessionIds"],
        json!([])
    );
    assert!(!s.data_dir.join("sessions").join("ghost").exists());
    events.expect_quiet().await;
}

#[tokio::test]
async fn twenty_sessions_run_at_once() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    let mut terms: Vec<(String, Term)> = Vec::new();
    for _ in 0..20 {
        let sid = id(&s.agent_session(&p, json!({})).await);
        let term = s.terminal(&sid, "?offset=0").await;
        terms.push((sid, term));
    }
    for (i, (_, term)) in terms.iter_mut().enumerate() {
        term.until("agent> ").await;
        term.type_line(&format!("I am number {i}")).await;
    }
    for (i, (_, term)) in terms.iter_mut().enumerate() {
        term.until(&format!("you said: I am number {i}")).await;
        term.type_line("exit 0").await;
    }
    for (sid, term) in terms.iter_mut() {
        assert_eq!(term.until_exit().await["code"], 0);
        s.wait_session(sid, |v| v["status"] == "completed").await;
    }
}

#[tokio::test]
async fn a_server_killed_outright_takes_its_agents_along_and_marks_them_interrupted() {
    let mut s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    let session = s.agent_session(&p, json!({})).await;
    let sid = id(&session);
    let pid = session["pid"].as_i64().unwrap();
    let mut term = s.terminal(&sid, "").await;
    term.until("agent> ").await;
    let status = s.signal("KILL").await;
    assert!(!status.success());
    // The parent-death signal ends the agent with the server.
    let start = std::time::Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}")).exists() && !process_is_zombie(pid) {
        assert!(
            start.elapsed() < DEADLINE,
            "agent {pid} outlived the server"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let data = s.data_dir.clone();
    let s2 = Server::start_in(&data).await;
    let after = s2.get(&format!("/api/sessions/{sid}")).await.body;
    assert_eq!(after["status"], "interrupted");
    assert!(after["completedAt"].as_i64().is_some());
    // Exactly once: a further restart leaves it as it is.
    let updated = after["updatedAt"].clone();
    let s3 = s2.restart().await;
    assert_eq!(
        s3.get(&format!("/api/sessions/{sid}")).await.body["updatedAt"],
        updated
    );
    // Its output is still there to read.
    let log = s3
        .send(s3.request(reqwest::Method::GET, &format!("/api/sessions/{sid}/output")))
        .await;
    assert!(log
        .body
        .as_str()
        .unwrap_or_default()
        .contains("scripted agent ready"));
}

#[tokio::test]
async fn shutting_the_server_down_stops_its_agents() {
    let mut s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    let session = s.agent_session(&p, json!({})).await;
    let sid = id(&session);
    let mut term = s.terminal(&sid, "").await;
    term.until("agent> ").await;
    assert!(s.stop().await.success());
    let pid = session["pid"].as_i64().unwrap();
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists() || process_is_zombie(pid));
    let data = s.data_dir.clone();
    let s2 = Server::start_in(&data).await;
    assert_eq!(
        s2.get(&format!("/api/sessions/{sid}")).await.body["status"],
        "stopped"
    );
}

#[tokio::test]
async fn working_and_waiting_arrive_as_events() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    let r = s
        .post(
            "/api/agents",
            json!({ "id": "scripted", "name": "Scripted", "program": agent_bin(), "quietMs": 400 }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let mut events = s.events().await;
    events
        .send(json!({ "type": "subscribe", "events": ["session:updated"] }))
        .await;
    events.next().await;
    let session = s
        .post(
            "/api/sessions",
            json!({ "projectId": p, "agentId": "scripted" }),
        )
        .await;
    assert_eq!(session.status, 201, "{:?}", session.body);
    let sid = session.id();
    let waiting = events.next().await;
    assert_eq!(waiting["data"]["id"], sid.as_str());
    assert_eq!(
        (
            waiting["data"]["activity"].as_str(),
            waiting["data"]["status"].as_str()
        ),
        (Some("waiting_input"), Some("waiting"))
    );
    assert_eq!(waiting["data"]["activitySource"], "output");

    let mut term = s.terminal(&sid, "").await;
    term.type_line("burst 5").await;
    let working = events.next().await;
    assert_eq!(working["data"]["activity"], "working");
    let waiting = events.next().await;
    assert_eq!(waiting["data"]["activity"], "waiting_input");
    assert_eq!(
        s.get(&format!("/api/sessions/{sid}")).await.body["activity"],
        "waiting_input"
    );
}

#[tokio::test]
async fn a_prompt_pattern_says_waiting_without_the_quiet_time() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    s.post("/api/agents", json!({ "id": "prompted", "name": "P", "program": agent_bin(), "quietMs": 600000, "waitPattern": "agent> $" })).await;
    let mut events = s.events().await;
    events
        .send(json!({ "type": "subscribe", "events": ["session:updated"] }))
        .await;
    events.next().await;
    let sid = s
        .post(
            "/api/sessions",
            json!({ "projectId": p, "agentId": "prompted" }),
        )
        .await
        .id();
    let e = events.next().await;
    assert_eq!(
        (e["data"]["id"].as_str(), e["data"]["activity"].as_str()),
        (Some(sid.as_str()), Some("waiting_input"))
    );
}

#[tokio::test]
async fn the_task_prompt_is_handed_over_as_the_profile_says() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    let t = s.task(&p, json!({ "prompt": "fix the login bug" })).await;
    s.post("/api/agents", json!({ "id": "by-arg", "name": "A", "program": agent_bin(), "args": ["--task", "{prompt}"], "promptMode": "argument" })).await;
    s.post("/api/agents", json!({ "id": "by-typing", "name": "T", "program": agent_bin(), "promptMode": "type", "quietMs": 200, "waitPattern": "agent> $" })).await;

    let sid = s
        .post(
            "/api/sessions",
            json!({ "projectId": p, "taskIds": [t], "agentId": "by-arg" }),
        )
        .await
        .id();
    let mut term = s.terminal(&sid, "?offset=0").await;
    term.until("args: --task|fix the login bug").await;

    let sid = s
        .post(
            "/api/sessions",
            json!({ "projectId": p, "taskIds": [t], "agentId": "by-typing" }),
        )
        .await
        .id();
    let mut term = s.terminal(&sid, "?offset=0").await;
    term.until("args: \r\n").await;
    term.until("you said: fix the login bug").await;
}

/// Regression: a typed prompt went into whatever screen showed at the first quiet moment (Gemini
/// picked an entry of its login menu with it). Now it waits for the profile's input box.
#[tokio::test]
async fn a_typed_prompt_waits_for_the_input_box_and_never_goes_elsewhere() {
    let s = Server::start().await;
    let (p, dir) = s.project_with_folder().await;
    let t = s.task(&p, json!({ "prompt": "fix the login bug" })).await;
    // Without the pattern of its input box, a typing profile is refused.
    let r = s
        .post(
            "/api/agents",
            json!({ "name": "T", "program": agent_bin(), "promptMode": "type" }),
        )
        .await;
    assert_eq!((r.status, r.field()), (400, "waitPattern"));
    // This agent shows a "menu" and never its input box: quiet after 100 ms, it must never get
    // the prompt, and the session says why.
    let file = dir.path().join("received");
    let r = s
        .post(
            "/api/agents",
            json!({ "id": "menu", "name": "M", "program": agent_bin(),
            "args": ["--record", file.to_str().unwrap()], "promptMode": "type", "quietMs": 100,
            "waitPattern": "Type your message" }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let sid = s
        .post(
            "/api/sessions",
            json!({ "projectId": p, "taskIds": [t], "agentId": "menu" }),
        )
        .await
        .id();
    let session = s
        .wait_session(&sid, |v| {
            v["statusText"] == "waiting for the agent's input box"
        })
        .await;
    assert_eq!(session["status"], "waiting");
    // A viewer types: that reaches it, and still no prompt arrives with it.
    let mut term = s.terminal(&sid, "").await;
    term.type_line("1").await;
    term.until("got 1<0d>").await;
    // Nothing can be awaited for a prompt that must never come: give it three quiet periods.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "1\r",
        "only what was typed"
    );
}

#[tokio::test]
async fn agent_profiles_are_listed_with_availability_and_managed() {
    let s = Server::start().await;
    let list = s.get("/api/agents").await;
    assert_eq!(list.status, 200);
    let ids: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    for builtin in ["claude", "codex", "gemini", "aider", "opencode", "shell"] {
        assert!(ids.contains(&builtin), "{builtin} missing from {ids:?}");
    }
    let shell = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "shell")
        .unwrap();
    assert_eq!(
        (shell["available"].as_bool(), shell["builtin"].as_bool()),
        (Some(true), Some(true))
    );
    assert!(shell["path"].as_str().is_some());

    let r = s
        .post(
            "/api/agents",
            json!({ "id": "mine", "name": "Mine", "program": agent_bin(), "env": { "MODE": "x" } }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(
        (r.body["available"].as_bool(), r.body["builtin"].as_bool()),
        (Some(true), Some(false))
    );
    let r = s
        .post(
            "/api/agents",
            json!({ "name": "Nope", "program": "definitely-not-installed-xyz" }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["available"].as_bool()),
        (201, Some(false)),
        "listed, marked unavailable"
    );
    let r = s
        .patch(
            "/api/agents/mine",
            json!({ "name": "Renamed", "waitPattern": "> $" }),
        )
        .await;
    assert_eq!(
        (r.body["name"].as_str(), r.body["waitPattern"].as_str()),
        (Some("Renamed"), Some("> $"))
    );
    for (body, field) in [
        (
            json!({ "name": "x", "program": "sh", "waitPattern": "(" }),
            "waitPattern",
        ),
        (json!({ "name": "x", "program": "" }), "program"),
        (
            json!({ "name": "x", "program": "sh", "quietMs": 1 }),
            "quietMs",
        ),
        (
            json!({ "name": "x", "program": "sh", "promptMode": "shout" }),
            "promptMode",
        ),
        (
            json!({ "name": "x", "program": "sh", "env": { "A=B": "1" } }),
            "env",
        ),
    ] {
        let r = s.post("/api/agents", body.clone()).await;
        assert_eq!((r.status, r.field()), (400, field), "{body} → {:?}", r.body);
    }
    let r = s.delete("/api/agents/shell").await;
    assert_eq!((r.status, r.body["code"].as_str()), (409, Some("builtin")));
    assert_eq!(s.delete("/api/agents/mine").await.status, 200);
    assert_eq!(s.get("/api/agents/mine").await.status, 404);
}

/// A viewer that never reads must not hold up the agent or the other viewers.
#[tokio::test]
async fn a_stuck_viewer_slows_neither_the_agent_nor_other_viewers() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    let bytes = 48 * 1024 * 1024;
    let sid = id(&s
        .agent_session(
            &p,
            json!({ "command": [agent_bin(), "--generate", bytes.to_string()] }),
        )
        .await);
    let _stuck = s.terminal(&sid, "?offset=0").await; // never read again
    let mut reader = s.terminal(&sid, "?offset=0").await;
    let exit = reader.until_exit().await;
    assert_eq!(exit["code"], 0);
    assert_eq!(
        reader.seen.len(),
        bytes,
        "the reading viewer got everything"
    );
    let done = s.wait_session(&sid, |v| v["status"] == "completed").await;
    assert_eq!(done["exitCode"], 0, "the agent finished");
    let log = std::fs::metadata(s.data_dir.join("sessions").join(&sid).join("output.log")).unwrap();
    assert_eq!(log.len(), bytes as u64);
}

/// Regression: a restart after the server moved to another port handed the agent the old URL.
#[tokio::test]
async fn a_restarted_session_gets_the_current_api_url_and_tasks() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    let t = s.task(&p, json!({})).await;
    let sid = id(&s.agent_session(&p, json!({})).await);
    s.post(&format!("/api/sessions/{sid}/stop"), json!({}))
        .await;
    s.post_empty(&format!("/api/sessions/{sid}/tasks/{t}"))
        .await;
    let s = s.restart().await; // another port
    let r = s.post_empty(&format!("/api/sessions/{sid}/restart")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["env"]["BATON_API_URL"], s.url.as_str());
    assert_eq!(r.body["env"]["BATON_TASK_IDS"], t.as_str());
    let mut term = s.terminal(&sid, "").await;
    term.type_line(&format!("call GET /api/tasks/{t}")).await;
    term.until("status 200").await;
}

/// `/api/agents` answers at once: a program's `--version` is probed in the background and cached
/// (a slow probe once held every listing for up to 2 s per profile).
#[tokio::test]
async fn agent_versions_are_probed_in_the_background() {
    use std::os::unix::fs::PermissionsExt;
    let s = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("slowagent");
    std::fs::write(
        &program,
        "#!/bin/sh\nif [ \"$1\" = --version ]; then sleep 1; echo 'slowagent 9.9'; fi\n",
    )
    .unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = s
        .post(
            "/api/agents",
            json!({ "id": "slow", "name": "Slow", "program": program.to_str().unwrap() }),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["available"], true);
    assert_eq!(r.body["version"], Value::Null, "not waited for");
    let start = std::time::Instant::now();
    loop {
        let slow = s.get("/api/agents/slow").await.body;
        if slow["version"] == "slowagent 9.9" {
            break;
        }
        assert!(start.elapsed() < DEADLINE, "the version never came: {slow}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
