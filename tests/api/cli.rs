//! The `baton` CLI as a subprocess against a real server: from outside (the data folder tells
//! it where the server is) and from inside a real agent session (only the environment Baton gave
//! the agent), with every effect checked through the API.

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{Server, DEADLINE};

/// What a CLI run printed, and how it ended.
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("--json printed no JSON ({e}): {}", self.stdout))
    }
}

/// `baton args…` with no `BATON_*` in its environment but the data folder (and `extra`).
async fn baton_env(args: &[&str], extra: &[(&str, &str)]) -> Run {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton"));
    cmd.args(args).stdin(Stdio::null()).kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("BATON_") {
            cmd.env_remove(key);
        }
    }
    for (key, value) in extra {
        cmd.env(key, value);
    }
    let out = tokio::time::timeout(DEADLINE, cmd.output())
        .await
        .expect("the CLI did not finish in time")
        .expect("run the CLI");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub(crate) async fn baton(s: &Server, args: &[&str]) -> Run {
    let dir = s.data_dir.display().to_string();
    let run = baton_env(args, &[("BATON_DATA_DIR", &dir)]).await;
    run
}

/// Like [`baton`], insisting on success.
pub(crate) async fn ok(s: &Server, args: &[&str]) -> Run {
    let run = baton(s, args).await;
    assert_eq!(run.code, 0, "baton {args:?} failed: {}", run.stderr);
    run
}

#[tokio::test]
async fn the_cli_manages_projects_tasks_subtasks_and_messages_with_json_for_scripts() {
    let s = Server::start().await;
    let folder = tempfile::tempdir().unwrap();
    let project = ok(
        &s,
        &[
            "--json",
            "project",
            "create",
            "shop",
            "--path",
            folder.path().to_str().unwrap(),
        ],
    )
    .await
    .json();
    let p = project["id"].as_str().unwrap().to_owned();
    assert_eq!(
        s.get(&format!("/api/projects/{p}")).await.body["name"],
        "shop"
    );

    // With one project there is no need to name it.
    let first = ok(
        &s,
        &[
            "--json",
            "task",
            "create",
            "Checkout page",
            "--priority",
            "high",
            "--tag",
            "web",
        ],
    )
    .await
    .json();
    let t = first["id"].as_str().unwrap().to_owned();
    let second = ok(
        &s,
        &[
            "task",
            "create",
            "Payment API",
            "--prompt",
            "use the sandbox",
        ],
    )
    .await;
    let t2 = second.stdout.trim().to_owned();
    let task = s.get(&format!("/api/tasks/{t}")).await.body;
    assert_eq!(
        (task["priority"].as_str(), task["tags"].clone()),
        (Some("high"), json!(["web"]))
    );
    assert_eq!(
        s.get(&format!("/api/tasks/{t2}")).await.body["prompt"],
        "use the sandbox"
    );

    ok(
        &s,
        &["task", "subtask", "add", "--task", &t, "form", "fields"],
    )
    .await;
    ok(&s, &["task", "subtask", "add", "--task", &t, "validation"]).await;
    ok(&s, &["task", "subtask", "done", "--task", &t, "2"]).await;
    ok(&s, &["task", "depend", "--task", &t, &t2]).await;
    ok(&s, &["task", "update", &t2, "--status", "in_progress"]).await;
    let task = s.get(&format!("/api/tasks/{t}")).await.body;
    let subtasks: Vec<(&str, &str)> = task["subtasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| {
            (
                st["title"].as_str().unwrap(),
                st["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        subtasks,
        [("form fields", "pending"), ("validation", "completed")]
    );
    assert_eq!(task["dependsOn"], json!([t2]));
    assert_eq!(
        s.get(&format!("/api/tasks/{t2}")).await.body["status"],
        "in_progress"
    );

    let listed = ok(&s, &["--json", "task", "list", "--status", "in_progress"])
        .await
        .json();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [t2.as_str()]);
    let table = ok(&s, &["task", "list"]).await.stdout;
    assert!(table.lines().next().unwrap().starts_with("ID"), "{table}");
    assert!(
        table.contains("Checkout page") && table.contains("1/2"),
        "{table}"
    );

    let q = ok(
        &s,
        &[
            "--json", "msg", "post", "card", "or", "invoice?", "--type", "QUESTION", "--task", &t,
        ],
    )
    .await
    .json();
    let q = q["id"].as_str().unwrap().to_owned();
    ok(&s, &["msg", "post", "card", "--reply-to", &q]).await;
    let messages = s.get(&format!("/api/messages?projectId={p}")).await.body;
    assert_eq!(messages[0]["body"], "card or invoice?");
    assert_eq!(
        (messages[0]["type"].as_str(), messages[0]["taskId"].as_str()),
        (Some("QUESTION"), Some(t.as_str()))
    );
    assert_eq!(messages[1]["parentIds"], json!([q]));
    let listed = ok(&s, &["msg", "list"]).await.stdout;
    assert!(
        listed.contains("QUESTION") && listed.contains("card or invoice?"),
        "{listed}"
    );

    ok(&s, &["task", "done", &t2]).await;
    assert_eq!(
        s.get(&format!("/api/tasks/{t2}")).await.body["status"],
        "completed"
    );
    ok(&s, &["task", "delete", &t2]).await;
    assert_eq!(s.get(&format!("/api/tasks/{t2}")).await.status, 404);
}

#[tokio::test]
async fn inside_an_agent_session_the_cli_needs_nothing_but_the_environment_baton_gave() {
    let s = Server::start().await;
    let (p, _folder) = s.project_with_folder().await;
    let t = s.task(&p, json!({ "title": "parser" })).await;
    // A real shell in a real terminal stands in for the agent; it runs `baton` from its PATH.
    let session = s
        .post(
            "/api/sessions",
            json!({ "projectId": p, "taskIds": [t], "command": ["/bin/sh"], "env": { "PS1": "$ " } }),
        )
        .await;
    assert_eq!(session.status, 201, "{:?}", session.body);
    let sid = session.id();
    let mut term = s.terminal(&sid, "?offset=0").await;
    term.until("$ ").await;
    term.type_line(
        "baton status 'reading the grammar' && baton progress 40 && \
         baton task subtask add lexer && baton task subtask done lexer && \
         baton --json task create 'follow-up: error messages' > new.json && \
         baton msg post 'LL or LR?' --type QUESTION && \
         baton task show | grep -q parser && echo CLI-RESULT-$?",
    )
    .await;
    term.until("CLI-RESULT-0").await;

    let session = s.get(&format!("/api/sessions/{sid}")).await.body;
    assert_eq!(
        (session["statusText"].as_str(), session["progress"].as_i64()),
        (Some("reading the grammar"), Some(40))
    );
    let task = s.get(&format!("/api/tasks/{t}")).await.body;
    assert_eq!(task["subtasks"][0]["title"], "lexer");
    assert_eq!(task["subtasks"][0]["status"], "completed");
    let tasks = s.get(&format!("/api/tasks?projectId={p}")).await.body;
    assert!(tasks
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["title"] == "follow-up: error messages"));
    let messages = s.get(&format!("/api/messages?projectId={p}")).await.body;
    let summary: Vec<(&str, &str, &str)> = messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["type"].as_str().unwrap(),
                m["body"].as_str().unwrap(),
                m["author"].as_str().unwrap(),
            )
        })
        .collect();
    let me = format!("session:{sid}");
    assert_eq!(
        summary,
        [
            ("PROGRESS", "reading the grammar", me.as_str()),
            ("PROGRESS", "40%", me.as_str()),
            ("QUESTION", "LL or LR?", me.as_str()),
        ]
    );
    assert!(messages
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["sessionId"] == sid.as_str() && m["taskId"] == t.as_str()));

    // The session's own token is confined to its project.
    let other = s.project("other").await;
    term.type_line(&format!(
        "baton task create intruder --project {other}; echo DENIED-$?"
    ))
    .await;
    let text = term.until("DENIED-1").await;
    assert!(text.contains("baton: "), "one clear line: {text}");
    assert_eq!(
        s.get(&format!("/api/tasks?projectId={other}")).await.body,
        json!([])
    );
}

#[tokio::test]
async fn errors_are_one_line_on_stderr_with_a_non_zero_exit() {
    // No server ever ran with this data folder.
    let empty = tempfile::tempdir().unwrap();
    let run = baton_env(
        &["task", "list"],
        &[("BATON_DATA_DIR", empty.path().to_str().unwrap())],
    )
    .await;
    assert_ne!(run.code, 0);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("baton: Baton is not running"),
        "{}",
        run.stderr
    );

    // It ran, and stopped.
    let mut s = Server::start().await;
    let dir = s.data_dir.display().to_string();
    s.stop().await;
    let run = baton_env(&["project", "list"], &[("BATON_DATA_DIR", &dir)]).await;
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .contains("Baton is not running: nothing answers at http://127.0.0.1:"),
        "{}",
        run.stderr
    );

    let s = Server::start().await;
    let run = baton(&s, &["task", "show", "task_nope"]).await;
    assert_ne!(run.code, 0);
    assert_eq!(run.stderr.trim(), "baton: task 'task_nope' not found");
    let run = baton(&s, &["project", "create", "  "]).await;
    assert_ne!(run.code, 0);
    assert_eq!(run.stderr.trim(), "baton: name: must not be empty");
    assert_eq!(
        s.get("/api/projects").await.body,
        json!([]),
        "nothing was written"
    );
    let run = baton_env(
        &["project", "list"],
        &[("BATON_API_URL", &s.url), ("BATON_TOKEN", "wrong")],
    )
    .await;
    assert!(run.stderr.contains("refused the token"), "{}", run.stderr);
    let run = baton(&s, &["progress", "140", "--session", "x"]).await;
    assert!(run.stderr.contains("from 0 to 100"), "{}", run.stderr);
    let run = baton(&s, &["status", "hello"]).await;
    assert!(run.stderr.contains("which session?"), "{}", run.stderr);
}

#[tokio::test]
async fn completions_are_printed_for_bash_zsh_and_fish() {
    for (shell, marker) in [
        ("bash", "_baton()"),
        ("zsh", "#compdef baton"),
        ("fish", "complete -c baton"),
    ] {
        let run = baton_env(&["completions", shell], &[]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.contains(marker), "{shell}");
        assert!(
            run.stdout.contains("subtask"),
            "{shell}: nested subcommands are completed"
        );
    }
}

/// A program run in a real terminal of the test's own (not Baton's), read in the background.
struct LocalTerm {
    writer: Box<dyn Write + Send>,
    seen: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    master: Box<dyn portable_pty::MasterPty + Send>,
}

impl LocalTerm {
    fn spawn(args: &[&str], env: &[(&str, &str)]) -> Self {
        let pair = portable_pty::native_pty_system()
            .openpty(portable_pty::PtySize {
                rows: 30,
                cols: 100,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = portable_pty::CommandBuilder::new(env!("CARGO_BIN_EXE_baton"));
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Self {
            writer,
            seen,
            child,
            master: pair.master,
        }
    }

    /// Resizes this terminal (the program in it gets SIGWINCH).
    fn resize(&self, cols: u16, rows: u16) {
        self.master
            .resize(portable_pty::PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
    }

    async fn until(&self, needle: &str) {
        let start = Instant::now();
        loop {
            let text = String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned();
            if text.contains(needle) {
                return;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "never saw {needle:?}; saw {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn exit_code(&mut self) -> u32 {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.exit_code();
            }
            assert!(start.elapsed() < DEADLINE, "the CLI did not exit");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn attach_types_into_the_session_and_detaches_with_ctrl_bracket_leaving_it_running() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let sid = s
        .post(
            "/api/sessions",
            json!({ "projectId": p, "command": ["/bin/cat"] }),
        )
        .await
        .id();
    let dir = s.data_dir.display().to_string();
    let mut attached = LocalTerm::spawn(&["session", "attach", &sid], &[("BATON_DATA_DIR", &dir)]);
    attached.until("detach with Ctrl-]").await;
    // Raw mode: the keys go through as typed, and `cat` in the session answers.
    attached.writer.write_all(b"ping from afar\r").unwrap();
    attached.until("ping from afar\r\nping from afar").await;
    attached.writer.write_all(&[0x1d]).unwrap();
    attached.until("detached").await;
    assert_eq!(attached.exit_code().await, 0);
    assert_eq!(
        s.get(&format!("/api/sessions/{sid}")).await.body["status"],
        "running"
    );

    let logs = ok(&s, &["session", "logs", &sid]).await;
    assert!(logs.stdout.contains("ping from afar"), "{}", logs.stdout);
}

#[tokio::test]
async fn logs_follow_prints_everything_until_the_agent_exits() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let sid = s
        .post(
            "/api/sessions",
            json!({ "projectId": p, "command": ["/bin/sh", "-c", "echo first; read x; echo second $x"] }),
        )
        .await
        .id();
    let dir = s.data_dir.display().to_string();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton"));
    cmd.args(["session", "logs", "-f", &sid])
        .env("BATON_DATA_DIR", &dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().unwrap();
    let mut term = s.terminal(&sid, "").await;
    term.until("first").await;
    term.type_line("done").await;
    let out = tokio::time::timeout(DEADLINE, child.wait_with_output())
        .await
        .expect("logs -f ends when the agent exits")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("first") && stdout.contains("second done"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("exited with code 0"), "{stderr}");
}

#[tokio::test]
async fn sessions_start_and_stop_and_messages_are_followed_until_the_server_stops() {
    let mut s = Server::start().await;
    let p = s.project("p").await;
    let t = s.task(&p, json!({ "title": "watch" })).await;
    let agent = crate::common::agent_bin();
    let started = ok(
        &s,
        &[
            "--json", "session", "start", "--task", &t, "--name", "watcher", "--", agent,
        ],
    )
    .await
    .json();
    let sid = started["id"].as_str().unwrap().to_owned();
    let session = s.get(&format!("/api/sessions/{sid}")).await.body;
    assert_eq!(
        (session["status"].as_str(), session["taskIds"].clone()),
        (Some("running"), json!([t]))
    );
    let table = ok(&s, &["session", "list"]).await.stdout;
    assert!(
        table.contains("watcher") && table.contains("running"),
        "{table}"
    );
    ok(&s, &["session", "stop", &sid, "--grace-ms", "1000"]).await;
    assert_eq!(
        s.get(&format!("/api/sessions/{sid}")).await.body["status"],
        "stopped"
    );
    let run = baton(&s, &["session", "start", "--agent", "shell", "--", agent]).await;
    assert!(run.stderr.contains("one of the two"), "{}", run.stderr);

    // msg tail -f: the last few, then new ones as they come, one JSON object per line.
    s.post(
        "/api/messages",
        json!({ "projectId": p, "body": "old news" }),
    )
    .await;
    let dir = s.data_dir.display().to_string();
    let mut tail = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["--json", "msg", "tail", "-n", "1", "-f"])
        .env("BATON_DATA_DIR", &dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines =
        tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(tail.stdout.take().unwrap()));
    assert_eq!(next_body(&mut lines).await, "old news");
    for body in ["fresh", "fresher"] {
        s.post("/api/messages", json!({ "projectId": p, "body": body }))
            .await;
    }
    assert_eq!(next_body(&mut lines).await, "fresh");
    assert_eq!(next_body(&mut lines).await, "fresher");
    s.stop().await;
    let out = tokio::time::timeout(DEADLINE, tail.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the server stopped"));
}

async fn next_body(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
) -> String {
    let line = tokio::time::timeout(DEADLINE, lines.next_line())
        .await
        .expect("a line in time")
        .unwrap()
        .expect("tail still running");
    serde_json::from_str::<Value>(&line).unwrap()["body"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn attach_gives_the_session_this_terminal_size_and_follows_it() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let sid = s
        .post(
            "/api/sessions",
            json!({ "projectId": p, "command": [crate::common::agent_bin()], "cols": 120, "rows": 32 }),
        )
        .await
        .id();
    let dir = s.data_dir.display().to_string();
    let mut attached = LocalTerm::spawn(&["session", "attach", &sid], &[("BATON_DATA_DIR", &dir)]);
    // The scripted agent prints its size on SIGWINCH: first the attaching terminal's 100x30,
    attached.until("resized 100x30").await;
    // then whatever this window becomes.
    attached.resize(90, 25);
    attached.until("resized 90x25").await;
    attached.writer.write_all(&[0x1d]).unwrap();
    assert_eq!(attached.exit_code().await, 0);
}
