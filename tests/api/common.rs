//! Test harness: the real `baton serve` binary on port 0 with a fresh data folder, driven over
//! real HTTP (reqwest) and WebSocket (tokio-tungstenite). Every wait has a deadline.
//!
//! The database is the SQLite file in the data folder, or — when `BATON_TEST_DATABASE_URL` names a
//! PostgreSQL server (`scripts/postgres.sh start`) — a database of the server's own there, named
//! after its data folder, so that a restart in the same folder finds the same data.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const DEADLINE: Duration = Duration::from_secs(20);

/// A running `baton serve` and a client for it.
pub struct Server {
    child: Option<Child>,
    pub url: String,
    pub port: u16,
    pub token: String,
    pub data_dir: PathBuf,
    /// What the server stores in (SQLite or PostgreSQL).
    pub database_url: String,
    /// Keeps the temporary folder alive as long as the server.
    _tmp: Option<tempfile::TempDir>,
    http: reqwest::Client,
}

/// A response: status, headers and the body parsed as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    /// The `details.field` of an error body.
    pub fn field(&self) -> &str {
        self.body["details"]["field"].as_str().unwrap_or("")
    }

    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .expect("response has an id")
            .to_owned()
    }
}

impl Server {
    pub async fn start() -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("data");
        let mut server = Self::start_in(&dir).await;
        server._tmp = Some(tmp);
        server
    }

    /// What a failing test should say about session `sid`: its runs (how each ended) and the
    /// screen its log draws — a real agent that quits says why on its screen.
    pub async fn describe_session(&self, sid: &str) -> String {
        let runs = self.get(&format!("/api/sessions/{sid}/runs")).await.body;
        let log = self.get(&format!("/api/sessions/{sid}/output")).await.body;
        let mut screen = vt100::Parser::new(
            std::num::NonZeroU16::new(40).unwrap(),
            std::num::NonZeroU16::new(120).unwrap(),
            0,
        );
        screen.process(log.as_str().unwrap_or_default().as_bytes());
        format!(
            "runs: {runs}\nscreen:\n{}",
            screen.screen().contents().trim_end()
        )
    }

    /// Session `sid`'s usage once its output tokens are `output` (with the deadline).
    pub async fn wait_usage(&self, sid: &str, output: i64) -> Value {
        let start = std::time::Instant::now();
        loop {
            let usage = self.get(&format!("/api/sessions/{sid}/usage")).await.body;
            if usage["outputTokens"] == output {
                return usage;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "usage {usage} never reached {output} output tokens"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Types `text` into session `sid`'s agent, then Enter as a key of its own (an agent may
    /// take an Enter that comes with the text as a new line), again until `sent()` (a model
    /// server's requests so far) holds one that `carries` it — a resumed agent may not take
    /// input at once. Returns that request.
    pub async fn ask_until_sent(
        &self,
        sid: &str,
        text: &str,
        sent: impl Fn() -> Vec<Value>,
        carries: impl Fn(&Value) -> bool,
    ) -> Value {
        let input = format!("/api/sessions/{sid}/input");
        let start = std::time::Instant::now();
        loop {
            self.post(&input, json!({ "text": text })).await;
            // Keys a person types are this far apart at least.
            tokio::time::sleep(Duration::from_millis(300)).await;
            self.post(&input, json!({ "text": "\r" })).await;
            let typed = std::time::Instant::now();
            while typed.elapsed() < Duration::from_secs(2) {
                if let Some(found) = sent().into_iter().find(&carries) {
                    return found;
                }
                assert!(
                    start.elapsed() < DEADLINE * 3,
                    "the agent never sent {text:?} to its model"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// Starts a server whose data folder is in a temporary folder under `$HOME`, not `/tmp`:
    /// Gemini CLI ignores a settings file under a folder others may write to.
    pub async fn start_private() -> Self {
        let home = std::env::var_os("HOME").expect("HOME");
        let tmp = tempfile::Builder::new()
            .prefix(".baton-test-")
            .tempdir_in(home)
            .expect("temp dir under HOME");
        let mut server = Self::start_in(&tmp.path().join("data")).await;
        server._tmp = Some(tmp);
        server
    }

    /// Starts a server whose data folder is `dir` (kept by the caller).
    pub async fn start_in(dir: &Path) -> Self {
        Self::spawn(dir, "warn", Stdio::inherit(), &[]).await
    }

    /// Starts a server with extra environment variables (`BATON_*` settings).
    pub async fn start_with_env(env: &[(&str, &str)]) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut server = Self::spawn(&tmp.path().join("data"), "warn", Stdio::inherit(), env).await;
        server._tmp = Some(tmp);
        server
    }

    /// Starts a server that logs everything (`RUST_LOG=debug`) to `log`.
    pub async fn start_logged(log: &Path) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let file = std::fs::File::create(log).expect("log file");
        let mut server = Self::spawn(&tmp.path().join("data"), "debug", file.into(), &[]).await;
        server._tmp = Some(tmp);
        server
    }

    async fn spawn(dir: &Path, log_level: &str, log: Stdio, env: &[(&str, &str)]) -> Self {
        let database_url = match postgres_database(dir).await {
            Some(url) => url,
            None => baton::store::connect::sqlite_url(dir),
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
            .envs(env.iter().copied())
            .args([
                "serve",
                "--port",
                "0",
                "--database-url",
                &database_url,
                "--data-dir",
            ])
            .arg(dir)
            .env("RUST_LOG", log_level)
            // Webhook retries in tens of milliseconds, not seconds.
            .env("BATON_WEBHOOK_BACKOFF_MS", "50")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn baton serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(DEADLINE, lines.next_line())
            .await
            .expect("server did not say it was listening in time")
            .expect("read stdout")
            .expect("server exited before listening");
        let url = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected ready line {line:?}"))
            .to_owned();
        let port = url.rsplit(':').next().unwrap().parse().expect("port");
        let token = std::fs::read_to_string(dir.join("token"))
            .expect("token file")
            .trim()
            .to_owned();
        // Nothing more is expected on stdout; keep draining it so the server never blocks.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            child: Some(child),
            url,
            port,
            token,
            data_dir: dir.to_path_buf(),
            database_url,
            _tmp: None,
            http: reqwest::Client::new(),
        }
    }

    /// Sends SIGTERM and waits (with a deadline) for a clean exit.
    pub async fn stop(&mut self) -> std::process::ExitStatus {
        self.signal("TERM").await
    }

    /// Sends `SIG<name>` and waits (with a deadline) for the process to exit.
    pub async fn signal(&mut self, name: &str) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("server is running");
        let pid = child.id().expect("pid").to_string();
        let sent = std::process::Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        tokio::time::timeout(DEADLINE, child.wait())
            .await
            .expect("server did not stop in time after the signal")
            .expect("wait")
    }

    /// Stops this server and starts a new one on the same data folder.
    pub async fn restart(mut self) -> Self {
        let status = self.stop().await;
        assert!(status.success(), "server exited with {status}");
        let tmp = self._tmp.take();
        let mut next = Self::start_in(&self.data_dir).await;
        next._tmp = tmp;
        next
    }

    /// A request builder with the token and nothing else.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token)
    }

    pub async fn send(&self, builder: reqwest::RequestBuilder) -> Resp {
        let response = tokio::time::timeout(DEADLINE, builder.send())
            .await
            .expect("request timed out")
            .expect("request failed");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(self.request(Method::POST, path).json(&body))
            .await
    }

    /// A POST with no body (still declared as JSON, as the API requires).
    pub async fn post_empty(&self, path: &str) -> Resp {
        self.send(
            self.request(Method::POST, path)
                .header("content-type", "application/json"),
        )
        .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send(self.request(Method::PATCH, path).json(&body))
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(self.request(Method::PUT, path).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(self.request(Method::DELETE, path)).await
    }

    /// A DELETE with a JSON body.
    pub async fn delete_with(&self, path: &str, body: Value) -> Resp {
        self.send(self.request(Method::DELETE, path).json(&body))
            .await
    }

    /// Creates a project and returns its id.
    pub async fn project(&self, name: &str) -> String {
        let r = self.post("/api/projects", json!({ "name": name })).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.id()
    }

    /// Creates a task and returns its id.
    pub async fn task(&self, project_id: &str, extra: Value) -> String {
        let mut body = json!({ "projectId": project_id, "title": "a task" });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap_or_default());
        let r = self.post("/api/tasks", body).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.id()
    }

    /// The `/metrics` exposition, as text.
    pub async fn metrics_text(&self) -> String {
        self.request(Method::GET, "/metrics")
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("the metrics text")
    }

    /// Opens the event WebSocket with the token in the Authorization header.
    pub async fn events(&self) -> Events {
        let mut request = self.ws_request("/ws");
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {}", self.token).parse().unwrap(),
        );
        Events::open(request).await
    }

    /// A WebSocket handshake request for `path` with no credentials.
    pub fn ws_request(
        &self,
        path: &str,
    ) -> tokio_tungstenite::tungstenite::handshake::client::Request {
        format!("{}{path}", self.url.replacen("http", "ws", 1))
            .into_client_request()
            .expect("ws request")
    }
}

/// Whether the suite runs on PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var_os("BATON_TEST_DATABASE_URL").is_some()
}

/// With `BATON_TEST_DATABASE_URL`: the URL of a database for the server in `dir`, created if new.
async fn postgres_database(dir: &Path) -> Option<String> {
    use sea_orm::ConnectionTrait;
    use std::hash::{Hash, Hasher};
    let base = std::env::var("BATON_TEST_DATABASE_URL").ok()?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut hasher);
    let name = format!("t_{:016x}", hasher.finish());
    let admin = sea_orm::Database::connect(format!("{base}/postgres"))
        .await
        .expect("connect to the test PostgreSQL server");
    match admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
    {
        Ok(_) => {}
        Err(err) if err.to_string().contains("already exists") => {}
        Err(err) => panic!("cannot create the test database {name}: {err}"),
    }
    let _ = admin.close().await;
    Some(format!("{base}/{name}"))
}

/// A live connection to `/ws`.
pub struct Events {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Events {
    pub async fn open(request: tokio_tungstenite::tungstenite::handshake::client::Request) -> Self {
        let (ws, response) =
            tokio::time::timeout(DEADLINE, tokio_tungstenite::connect_async(request))
                .await
                .expect("ws connect timed out")
                .expect("ws connect failed");
        assert_eq!(response.status().as_u16(), 101);
        Self { ws }
    }

    pub async fn send(&mut self, value: Value) {
        self.ws
            .send(Message::text(value.to_string()))
            .await
            .expect("ws send");
    }

    /// The next JSON text frame.
    pub async fn next(&mut self) -> Value {
        self.next_within(DEADLINE)
            .await
            .expect("no WebSocket message in time")
    }

    /// The next JSON text frame, or `None` when none came within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(until, self.ws.next())
                .await
                .ok()?
                .expect("WebSocket closed")
                .expect("WebSocket error");
            match frame {
                Message::Text(text) => {
                    return Some(serde_json::from_str(&text).expect("JSON frame"))
                }
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// The next events, which must be exactly `names` in this order.
    pub async fn expect(&mut self, names: &[&str]) -> Vec<Value> {
        let mut got = Vec::new();
        for _ in names {
            got.push(self.next().await);
        }
        let got_names: Vec<&str> = got
            .iter()
            .map(|e| e["event"].as_str().unwrap_or("?"))
            .collect();
        assert_eq!(got_names, names, "events: {got:#?}");
        got
    }

    /// The next event named `name`, passing over others (each wait has the deadline).
    pub async fn next_named(&mut self, name: &str) -> Value {
        loop {
            let event = self.next().await;
            if event["event"] == name {
                return event;
            }
        }
    }

    /// Asserts that nothing was published before now: a ping's pong is the very next frame.
    pub async fn expect_quiet(&mut self) {
        self.send(json!({ "type": "ping" })).await;
        let next = self.next().await;
        assert_eq!(next["type"], "pong", "expected no event, got {next}");
    }
}

/// Polls a task until `check` holds (with the deadline); the task.
pub async fn wait_task(s: &Server, id: &str, check: impl Fn(&Value) -> bool) -> Value {
    let start = std::time::Instant::now();
    loop {
        let t = s.get(&format!("/api/tasks/{id}")).await.body;
        if check(&t) {
            return t;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "task never reached the state: {t}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The scripted agent program (`tests/agent/scripted_agent.rs`).
pub fn agent_bin() -> &'static str {
    env!("CARGO_BIN_EXE_baton-test-agent")
}

impl Server {
    /// Creates a project whose base path is a fresh folder (kept alive by the returned guard).
    pub async fn project_with_folder(&self) -> (String, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("project folder");
        let r = self
            .post(
                "/api/projects",
                json!({ "name": "agents", "basePath": dir.path() }),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        (r.id(), dir)
    }

    /// Starts the scripted agent in a new session of `project`; `extra` is merged into the body.
    pub async fn agent_session(&self, project: &str, extra: Value) -> Value {
        let mut body = json!({ "projectId": project, "command": [agent_bin()] });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap_or_default());
        let r = self.post("/api/sessions", body).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body
    }

    /// An agent running in `project` and its own token (`BATON_TOKEN`), read from inside its
    /// terminal: the session id and the token.
    pub async fn agent_token(&self, project: &str, folder: &Path) -> (String, String) {
        let sid = self.agent_session(project, json!({})).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut term = self.terminal(&sid, "").await;
        term.until("agent> ").await;
        let file = folder.join(format!("token-{sid}"));
        term.type_line(&format!("token-to {}", file.display()))
            .await;
        term.until("token written true").await;
        term.until("agent> ").await;
        (
            sid,
            std::fs::read_to_string(&file).expect("the agent wrote its token"),
        )
    }

    /// Attaches to a session's terminal (`query` like `?offset=0`, or empty).
    pub async fn terminal(&self, session_id: &str, query: &str) -> Term {
        let mut request = self.ws_request(&format!("/api/sessions/{session_id}/terminal{query}"));
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {}", self.token).parse().unwrap(),
        );
        Term::open(request).await
    }

    /// Polls a session until `check` holds (with the deadline).
    pub async fn wait_session(&self, id: &str, check: impl Fn(&Value) -> bool) -> Value {
        let start = std::time::Instant::now();
        loop {
            let s = self.get(&format!("/api/sessions/{id}")).await.body;
            if check(&s) {
                return s;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "session never reached the state: {s}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A viewer of a session's terminal.
pub struct Term {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Every output byte received, replay included.
    pub seen: Vec<u8>,
    /// Where `until` looks from.
    cursor: usize,
    /// The offset the replay (or the screen) started at.
    pub offset: u64,
    /// The screen the server drew first, for a running session without `?offset=`.
    pub screen: Option<String>,
    /// JSON control messages received (replay, exit, errors).
    pub controls: Vec<Value>,
    pub closed: Option<u16>,
}

impl Term {
    pub async fn open(request: tokio_tungstenite::tungstenite::handshake::client::Request) -> Self {
        let (ws, _) = tokio::time::timeout(DEADLINE, tokio_tungstenite::connect_async(request))
            .await
            .expect("terminal connect timed out")
            .expect("terminal connect failed");
        let mut term = Self {
            ws,
            seen: Vec::new(),
            cursor: 0,
            offset: 0,
            screen: None,
            controls: Vec::new(),
            closed: None,
        };
        term.read_one().await;
        let first = term
            .controls
            .first()
            .cloned()
            .expect("the first frame is the replay header or the screen");
        match first["type"].as_str() {
            Some("replay") => {}
            Some("screen") => {
                let data = first["data"]
                    .as_str()
                    .expect("the screen's data")
                    .to_owned();
                // The screen shows what was printed: searchable like replayed output.
                term.seen.extend_from_slice(data.as_bytes());
                term.screen = Some(data);
            }
            other => panic!("unexpected first frame {other:?}"),
        }
        term.offset = first["offset"].as_u64().unwrap();
        term
    }

    /// Reads one frame; false once the socket is closed.
    async fn read_one(&mut self) -> bool {
        if self.closed.is_some() {
            return false;
        }
        let frame = tokio::time::timeout(DEADLINE, self.ws.next())
            .await
            .expect("no terminal frame in time");
        match frame {
            Some(Ok(Message::Binary(b))) => self.seen.extend_from_slice(&b),
            Some(Ok(Message::Text(t))) => self
                .controls
                .push(serde_json::from_str(&t).expect("JSON control")),
            Some(Ok(Message::Close(frame))) => {
                self.closed = Some(frame.map(|f| u16::from(f.code)).unwrap_or(1005));
                return false;
            }
            Some(Ok(_)) => {}
            None | Some(Err(_)) => {
                self.closed = Some(1006);
                return false;
            }
        }
        true
    }

    /// Reads until `needle` appears after the previous match; returns everything up to it.
    pub async fn until(&mut self, needle: &str) -> String {
        loop {
            if let Some(at) = find(&self.seen[self.cursor..], needle.as_bytes()) {
                let end = self.cursor + at + needle.len();
                let text = String::from_utf8_lossy(&self.seen[self.cursor..end]).into_owned();
                self.cursor = end;
                return text;
            }
            assert!(
                self.read_one().await,
                "terminal closed before {needle:?}; saw {:?}",
                String::from_utf8_lossy(&self.seen[self.cursor..])
            );
        }
    }

    /// Types `line` and Enter.
    pub async fn type_line(&mut self, line: &str) {
        self.ws
            .send(Message::binary(format!("{line}\r").into_bytes()))
            .await
            .expect("send input");
    }

    pub async fn send_json(&mut self, value: Value) {
        self.ws
            .send(Message::text(value.to_string()))
            .await
            .expect("send control");
    }

    /// Reads to the end: returns the exit message, after checking the socket closed normally.
    pub async fn until_exit(&mut self) -> Value {
        while self.read_one().await {}
        assert_eq!(self.closed, Some(1000), "closed normally");
        self.controls
            .iter()
            .rev()
            .find(|c| c["type"] == "exit")
            .cloned()
            .expect("an exit message")
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A Server-Sent Events reader (`GET /api/messages/stream`), parsed with `eventsource-stream`.
pub struct Sse {
    events: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = Result<eventsource_stream::Event, String>> + Send>,
    >,
}

impl Sse {
    /// Opens `path` (with the admin token and any extra headers) and checks it is an SSE stream.
    pub async fn open(server: &Server, path: &str, headers: &[(&str, &str)]) -> Self {
        let mut request = server.request(Method::GET, path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Self::from_request(request, path).await
    }

    /// Opens `path` with `token` instead of the admin token.
    pub async fn open_as(server: &Server, path: &str, token: &str) -> Self {
        let request = reqwest::Client::new()
            .get(format!("{}{path}", server.url))
            .bearer_auth(token);
        Self::from_request(request, path).await
    }

    async fn from_request(request: reqwest::RequestBuilder, path: &str) -> Self {
        use eventsource_stream::Eventsource;
        let response = tokio::time::timeout(DEADLINE, request.send())
            .await
            .expect("stream did not answer in time")
            .expect("stream request");
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "{path}"
        );
        let events = response
            .bytes_stream()
            .eventsource()
            .map(|r| r.map_err(|e| e.to_string()));
        Self {
            events: Box::pin(events),
        }
    }

    /// The next event (comments and keep-alives are not events), with the deadline.
    pub async fn next(&mut self) -> eventsource_stream::Event {
        tokio::time::timeout(DEADLINE, self.events.next())
            .await
            .expect("no event in time")
            .expect("stream ended")
            .expect("malformed stream")
    }

    /// The next `n` events' messages, checking each event is `message:created` with the
    /// message id as its SSE id.
    pub async fn messages(&mut self, n: usize) -> Vec<Value> {
        let mut out = Vec::new();
        for _ in 0..n {
            let event = self.next().await;
            assert_eq!(event.event, "message:created");
            let message: Value = serde_json::from_str(&event.data).expect("JSON data");
            assert_eq!(event.id, message["id"].as_str().unwrap());
            out.push(message);
        }
        out
    }
}

/// Every file under `dir`, in its sub-folders too.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// A real agent CLI the tests run: `$<var>`, else the one `scripts/setup.sh` installs into
/// `target/agents` (from `tests/agents/package.json`).
pub fn installed_agent(program: &str, var: &str) -> PathBuf {
    let path = std::env::var_os(var).map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/agents/node_modules/.bin")
                .join(program)
        },
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "the {program} CLI is not installed at {} (run scripts/setup.sh)",
        path.display()
    );
    path
}
