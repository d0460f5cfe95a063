//! The real desktop app in a real window (under Xvfb), driven through WebDriver: tauri-driver
//! with Debian's WebKitWebDriver. The window opens and renders; a project and a task created
//! through the window are there when read back through the loopback API; a session started from
//! the window shows the scripted agent's output in its terminal. A screenshot of the window goes
//! to target/desktop-screenshots/.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::{ClientBuilder, Locator};
use serde_json::{json, Value};

const DEADLINE: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_baton-desktop"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// tauri-driver, on a display of its own when there is none. Its whole process group is stopped
/// with SIGTERM (a SIGKILL would leave WebKitWebDriver running).
struct Driver(tokio::process::Child);

impl Driver {
    async fn start(port: u16, native: u16, data: &Path) -> Self {
        let driver = std::env::var("TAURI_DRIVER").unwrap_or_else(|_| "tauri-driver".into());
        let args = vec![
            driver,
            "--port".into(),
            port.to_string(),
            "--native-port".into(),
            native.to_string(),
        ];
        let mut command = if std::env::var_os("DISPLAY").is_some() {
            let mut c = tokio::process::Command::new(&args[0]);
            c.args(&args[1..]);
            c
        } else {
            let mut c = tokio::process::Command::new("xvfb-run");
            c.args(["-a", "-s", "-screen 0 1280x800x24"]).args(&args);
            c
        };
        let child = command
            .env("BATON_DATA_DIR", data)
            // The WebView keeps its storage under XDG_DATA_HOME: one of its own per run.
            .env("XDG_DATA_HOME", data.join("xdg"))
            .env("RUST_LOG", "warn")
            // No inherited pipes: a WebKitWebDriver left behind must not hold the test's output open.
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: stopping it reaches xvfb-run, Xvfb, tauri-driver and
            // WebKitWebDriver alike.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("start tauri-driver (cargo install tauri-driver; apt install webkit2gtk-driver xvfb)");
        let start = Instant::now();
        while reqwest::get(format!("http://127.0.0.1:{port}/status"))
            .await
            .is_err()
        {
            assert!(start.elapsed() < DEADLINE, "tauri-driver did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self(child)
    }

    async fn stop(mut self) {
        if let Some(pid) = self.0.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", "--", &format!("-{pid}")])
                .status();
        }
        let _ = tokio::time::timeout(Duration::from_secs(20), self.0.wait()).await;
    }
}

/// Waits (with the deadline) for the element, then clicks it. A click that lands on something
/// still covering it (a dialog on its way out) or on an element the UI has just re-rendered is
/// tried again until the deadline; any other error fails at once.
async fn click(client: &fantoccini::Client, locator: Locator<'_>) {
    let start = Instant::now();
    loop {
        let element = client
            .wait()
            .at_most(DEADLINE)
            .for_element(locator)
            .await
            .unwrap();
        match element.click().await {
            Ok(()) => return,
            Err(CmdError::Standard(w))
                if matches!(
                    w.error,
                    ErrorStatus::ElementClickIntercepted
                        | ErrorStatus::StaleElementReference
                        | ErrorStatus::ElementNotInteractable
                ) && start.elapsed() < DEADLINE =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("click on {locator:?}: {e}"),
        }
    }
}

async fn until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

#[tokio::test]
async fn the_desktop_window_drives_the_core() {
    // Bounded as a whole: a stuck window or driver fails the test instead of hanging CI.
    tokio::time::timeout(Duration::from_secs(240), drive())
        .await
        .expect("the desktop test did not finish in 4 minutes");
}

async fn drive() {
    let agent = target_dir().join("baton-test-agent");
    assert!(
        agent.exists(),
        "build the scripted agent first: cargo build -p baton --bins"
    );
    let data = tempfile::tempdir().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let (port, native) = (free_port(), free_port());
    // The API port saved in the desktop's settings is the one it listens on at the next start
    // (regression: start-up read only $BATON_PORT).
    let api_port = free_port();
    std::fs::write(
        data.path().join("settings.json"),
        json!({ "apiPort": api_port }).to_string(),
    )
    .unwrap();
    let driver = Driver::start(port, native, data.path()).await;

    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("wry"));
    caps.insert(
        "tauri:options".into(),
        json!({ "application": env!("CARGO_BIN_EXE_baton-desktop") }),
    );
    eprintln!("desktop test: driver up on {port}; opening a session");
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session on the desktop app");

    eprintln!("desktop test: session open");
    // The core runs inside the window's process: its API is on loopback with its token.
    let info: Value = until("the core to start", || async {
        std::fs::read_to_string(data.path().join("server.json"))
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
    })
    .await;
    let url = info["url"].as_str().unwrap().to_owned();
    assert_eq!(
        url,
        format!("http://127.0.0.1:{api_port}"),
        "the saved API port is used"
    );
    let token = std::fs::read_to_string(data.path().join("token"))
        .unwrap()
        .trim()
        .to_owned();
    let http = reqwest::Client::new();
    let api = |path: String| {
        let req = http.get(format!("{url}{path}")).bearer_auth(&token);
        async move { req.send().await.ok()?.json::<Value>().await.ok() }
    };
    let r = http
        .post(format!("{url}/api/agents"))
        .bearer_auth(&token)
        .json(&json!({ "id": "scripted", "name": "Scripted agent", "program": agent, "quietMs": 600 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    eprintln!("desktop test: core at {url}");
    // The window opens on the board (a first start: no project yet).
    let create = client
        .wait()
        .at_most(DEADLINE)
        .for_element(Locator::XPath("//button[text()='Create a project']"))
        .await
        .unwrap();
    create.click().await.unwrap();
    client
        .find(Locator::Css("input[name=name]"))
        .await
        .unwrap()
        .send_keys("Desktop project")
        .await
        .unwrap();
    client
        .find(Locator::Css("input[name=basePath]"))
        .await
        .unwrap()
        .send_keys(folder.path().to_str().unwrap())
        .await
        .unwrap();
    click(&client, Locator::XPath("//button[text()='Create']")).await;
    let project = until("the project through the API", || async {
        api("/api/projects".into())
            .await
            .and_then(|v| v.get(0).cloned())
    })
    .await;
    assert_eq!(project["name"], "Desktop project");
    // The dialog closes once the new project is the one shown; until then it covers the board
    // (a click on "New task" before that is intercepted by the dialog's backdrop).
    until("the new-project dialog to close", || async {
        client
            .find(Locator::Css("input[name=basePath]"))
            .await
            .is_err()
            .then_some(())
    })
    .await;

    eprintln!("desktop test: project created in the window");
    // A task created in the window is there through the loopback API.
    click(&client, Locator::XPath("//button[contains(., 'New task')]")).await;
    client
        .wait()
        .at_most(DEADLINE)
        .for_element(Locator::Css("input[name=title]"))
        .await
        .unwrap()
        .send_keys("Ship the desktop app")
        .await
        .unwrap();
    click(&client, Locator::XPath("//button[text()='Create task']")).await;
    let pid = project["id"].as_str().unwrap().to_owned();
    let task = until("the task through the API", || async {
        api(format!("/api/tasks?projectId={pid}"))
            .await
            .and_then(|v| v.get(0).cloned())
    })
    .await;
    assert_eq!(task["title"], "Ship the desktop app");
    let tid = task["id"].as_str().unwrap().to_owned();

    eprintln!("desktop test: task created in the window");
    // A session started from the window shows the agent's output in its terminal.
    click(&client, Locator::Css(&format!("[data-task='{tid}']"))).await;
    click(&client, Locator::XPath("//button[contains(., 'Run with')]")).await;
    click(&client, Locator::Css("button[data-agent=scripted]")).await;
    let screen = r#"
        const host = document.querySelector('.pane .xterm-host');
        const term = host && host.__xterm;
        if (!term) return '';
        const buf = term.buffer.active, lines = [];
        for (let y = 0; y < buf.length; y++) lines.push(buf.getLine(y).translateToString(true));
        return lines.join('\n');"#;
    until("the agent's banner in the window's terminal", || async {
        let text = client.execute(screen, vec![]).await.ok()?;
        text.as_str()
            .filter(|t| t.contains("scripted agent ready"))
            .map(str::to_owned)
    })
    .await;
    let session = until("the session through the API", || async {
        api(format!("/api/sessions?taskId={tid}"))
            .await
            .and_then(|v| v.get(0).cloned())
    })
    .await;
    assert_eq!(
        session["status"]
            .as_str()
            .map(|s| s == "running" || s == "waiting"),
        Some(true)
    );

    // What the window changed is in the audit log, as the desktop's, through its own door.
    let audit = api("/api/audit?actor=desktop".into())
        .await
        .expect("the audit log");
    let operations: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["door"] == "desktop" && r["status"] == 200)
        .filter_map(|r| r["operation"].as_str())
        .collect();
    for operation in ["create_project", "create_task", "start_session"] {
        assert!(
            operations.contains(&operation),
            "{operation} is not in the audit log: {audit}"
        );
    }

    // Typing in the window's terminal reaches the agent over the Tauri channel. The line goes
    // through xterm's own input path (what a keystroke becomes), not WebDriver key synthesis into
    // xterm's hidden textarea, which sometimes loses keys in WebKitGTK under Xvfb.
    let typed = client
        .execute(
            "const t = document.querySelector('.pane .xterm-host').__xterm; t.focus(); t.input('hello desktop\\r', true); return true;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(typed, Value::Bool(true));
    until("the answer in the window", || async {
        let text = client.execute(screen, vec![]).await.ok()?;
        text.as_str()
            .filter(|t| t.contains("you said: hello desktop"))
            .map(str::to_owned)
    })
    .await;

    // The queue through the window's own commands: the panel reads it, a card queues a task
    // for a batch agent, and the task completes by itself.
    client
        .wait()
        .at_most(DEADLINE)
        .for_element(Locator::Css(".queue-panel"))
        .await
        .unwrap();
    let r = http
        .post(format!("{url}/api/agents"))
        .bearer_auth(&token)
        .json(
            &json!({ "id": "batch", "name": "Batch", "program": agent, "args": ["--batch"],
                       "promptMode": "none", "exitMeansDone": true }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let queued = http
        .post(format!("{url}/api/tasks"))
        .bearer_auth(&token)
        .json(&json!({ "projectId": pid, "title": "Queued from the window" }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    click(&client, Locator::XPath("//button[text()='Board']")).await;
    click(
        &client,
        Locator::Css(&format!(
            "[data-task='{queued}'] button[data-action=execute]"
        )),
    )
    .await;
    click(&client, Locator::Css("button[data-queue-agent=batch]")).await;
    until("the queued task completed", || async {
        api(format!("/api/tasks/{queued}"))
            .await
            .filter(|t| t["status"] == "completed")
    })
    .await;
    let audit = api("/api/audit?actor=desktop".into()).await.unwrap();
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["operation"] == "execute_task" && r["door"] == "desktop"),
        "execute_task is not in the audit log: {audit}"
    );
    click(
        &client,
        Locator::XPath("//button[starts-with(., 'Terminals')]"),
    )
    .await;

    let shots = target_dir().parent().unwrap().join("desktop-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    std::fs::write(shots.join("window.png"), client.screenshot().await.unwrap()).unwrap();

    // Closing the window with an agent running asks first; "no" keeps everything running.
    let close =
        "window.__TAURI_INTERNALS__.invoke('plugin:window|close', { label: 'main' }); return true;";
    client.execute(close, vec![]).await.unwrap();
    let question = until("the close confirmation", || async {
        client.get_alert_text().await.ok()
    })
    .await;
    assert!(question.contains("1 agent(s) are running"), "{question}");
    client.dismiss_alert().await.unwrap();
    let still = api(format!("/api/sessions/{}", session["id"].as_str().unwrap()))
        .await
        .unwrap();
    assert!(
        matches!(still["status"].as_str(), Some("running" | "waiting")),
        "{still}"
    );

    // "Yes" stops the agent cleanly and quits.
    client.execute(close, vec![]).await.unwrap();
    until("the close confirmation again", || async {
        client.get_alert_text().await.ok()
    })
    .await;
    client.accept_alert().await.unwrap();
    let agent_pid = session["pid"].as_i64().unwrap();
    until("the app to quit", || async {
        reqwest::get(format!("{url}/api/health"))
            .await
            .err()
            .map(|_| ())
    })
    .await;
    until("the agent to end", || async {
        let stat = std::fs::read_to_string(format!("/proc/{agent_pid}/stat")).unwrap_or_default();
        (stat.is_empty() || stat.contains(") Z ")).then_some(())
    })
    .await;
    let _ = client.close().await;
    driver.stop().await;

    // Read back with the headless server on the same data: stopped cleanly, not interrupted.
    let mut serve = tokio::process::Command::new(target_dir().join("baton"))
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("baton serve");
    let mut lines =
        tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(serve.stdout.take().unwrap()));
    let ready = lines.next_line().await.unwrap().unwrap();
    let url = ready.trim_start_matches("listening on ").to_owned();
    let token = std::fs::read_to_string(data.path().join("token"))
        .unwrap()
        .trim()
        .to_owned();
    let after: Value = reqwest::Client::new()
        .get(format!(
            "{url}/api/sessions/{}",
            session["id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["status"], "stopped", "{after}");
}

/// The desktop binary is the `baton` CLI too (what agents it starts run as `baton`), and needs
/// no display for it.
#[test]
fn the_desktop_binary_answers_baton_subcommands_without_a_window() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_baton-desktop"))
        .args(["completions", "bash"])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("run the desktop binary");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("_baton()"));

    let empty = tempfile_dir();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_baton-desktop"))
        .args(["task", "list"])
        .env("BATON_DATA_DIR", &empty)
        .env_remove("BATON_API_URL")
        .env_remove("BATON_TOKEN")
        .output()
        .expect("run the desktop binary");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("baton: Baton is not running"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&empty);
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-desktop-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
