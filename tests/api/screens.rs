//! The server's screen model, with real PTYs: it answers a program's terminal queries exactly
//! once whatever the number of viewers (none included), a viewer of a running session gets the
//! current screen rather than a replay, and the size a session is started with is the size its
//! program sees from its first byte.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{agent_bin, Server, DEADLINE};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// Waits (with a deadline) until the file holds at least `min` bytes; returns its text.
async fn recorded(file: &Path, min: usize) -> String {
    let start = Instant::now();
    loop {
        let bytes = std::fs::read(file).unwrap_or_default();
        if bytes.len() >= min {
            return String::from_utf8_lossy(&bytes).into_owned();
        }
        assert!(
            start.elapsed() < DEADLINE,
            "only {:?} was received",
            String::from_utf8_lossy(&bytes)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn queries_are_answered_once_by_the_server_whatever_the_number_of_viewers() {
    let s = Server::start().await;
    let (p, dir) = s.project_with_folder().await;
    let file = dir.path().join("received");
    let session = s
        .agent_session(
            &p,
            json!({ "command": [agent_bin(), "--record", file.to_str().unwrap(), "da", "cpr", "bg"],
                    "cols": 90, "rows": 30 }),
        )
        .await;
    let sid = id(&session);
    // Nobody watches: the server answers all three, in order, with the cursor where it was
    // (after "recording at 90x30\r\n": row 2, column 1).
    let expected = "\x1b[?1;2c\x1b[2;1R\x1b]11;rgb:0f0f/1111/1515\x1b\\";
    assert_eq!(recorded(&file, expected.len()).await, expected);

    // Five viewers come and go, then two watch at once: the screen each gets shows the program,
    // and nothing more reaches it.
    for _ in 0..5 {
        let term = s.terminal(&sid, "").await;
        let screen = term
            .screen
            .clone()
            .expect("a running session is shown as its screen");
        assert!(screen.contains("recording at 90x30"), "{screen:?}");
        assert!(
            !screen.contains("\x1b[c"),
            "the screen holds no query: {screen:?}"
        );
    }
    let mut a = s.terminal(&sid, "").await;
    let mut b = s.terminal(&sid, "").await;
    // Typing still works, and each keystroke arrives once.
    a.type_line("x").await;
    a.until("got x<0d>").await;
    b.until("got x<0d>").await;
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{expected}x\r"),
        "exactly one answer to each query, and the typed key"
    );
}

#[tokio::test]
async fn a_viewer_gets_the_screen_at_once_and_a_reconnect_gets_exact_bytes() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    let session = s
        .agent_session(
            &p,
            json!({ "command": [agent_bin()], "cols": 60, "rows": 10 }),
        )
        .await;
    let sid = id(&session);
    let mut first = s.terminal(&sid, "?offset=0").await;
    first.until("agent> ").await;
    first.type_line("burst 500").await;
    first.until("agent> ").await;
    let end = first.offset + first.seen.len() as u64;

    let term = s.terminal(&sid, "").await;
    let screen = term.screen.clone().expect("the screen");
    assert_eq!(
        term.offset, end,
        "the screen is as of the last byte printed"
    );
    // The last rows of the burst are on the screen, earlier lines come first as scrollback.
    assert!(screen.contains("agent> "), "{screen:?}");
    assert!(screen.contains("line 499"), "{screen:?}");
    let scrollback = screen.find("line 0\x1b[0m\r\n").expect("scrollback first");
    assert!(scrollback < screen.find("line 499").unwrap());

    // A reconnect from a recent offset gets exactly the bytes it missed.
    let resume = end - 7;
    let mut again = s.terminal(&sid, &format!("?offset={resume}")).await;
    assert!(again.screen.is_none());
    assert_eq!(again.offset, resume);
    again.type_line("hi").await;
    let text = again.until("you said: hi").await;
    assert!(text.starts_with("agent> "), "{text:?}");
}

#[tokio::test]
async fn the_program_has_the_requested_size_from_its_first_byte() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    let session = s
        .agent_session(
            &p,
            json!({ "command": [agent_bin()], "cols": 108, "rows": 45 }),
        )
        .await;
    let mut term = s.terminal(&id(&session), "?offset=0").await;
    term.until("started at 108x45\r\n").await;
    let bad = s
        .post(
            "/api/sessions",
            json!({ "projectId": p, "command": [agent_bin()], "cols": 1 }),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["details"]["field"], "cols");
}

#[tokio::test]
async fn a_waiting_agent_shows_its_question_and_takes_a_quick_reply() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    s.post(
        "/api/agents",
        json!({ "id": "asks", "name": "Asks", "program": agent_bin(), "quietMs": 100000,
                "waitPattern": "agent> $" }),
    )
    .await;
    let sid = s
        .post(
            "/api/sessions",
            json!({ "projectId": p, "agentId": "asks" }),
        )
        .await
        .id();
    let waiting = s.wait_session(&sid, |v| v["status"] == "waiting").await;
    let question: Vec<&str> = waiting["question"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(question.last(), Some(&"agent>"), "{question:?}");
    assert!(
        question.iter().any(|l| l.starts_with("started at")),
        "{question:?}"
    );
    assert!(waiting["waitingSince"].as_i64().unwrap() > 0);

    let r = s
        .post(
            &format!("/api/sessions/{sid}/input"),
            json!({ "text": "y\r" }),
        )
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let mut term = s.terminal(&sid, "?offset=0").await;
    term.until("you said: y").await;
    let r = s
        .post(&format!("/api/sessions/{sid}/input"), json!({ "text": "" }))
        .await;
    assert_eq!((r.status, r.field()), (400, "text"));
    let r = s
        .post(
            &format!("/api/sessions/{sid}/input"),
            json!({ "keys": "y" }),
        )
        .await;
    assert_eq!(r.status, 400);
    let working = s.get(&format!("/api/sessions/{sid}")).await.body;
    if working["status"] == "running" {
        assert_eq!(working["question"], json!([]), "no question while it works");
    }
}

/// Regression: a resize made every agent "working" (its redraw counted as work).
#[tokio::test]
async fn a_redraw_after_a_resize_is_not_work() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    s.post(
        "/api/agents",
        json!({ "id": "quiet", "name": "Q", "program": agent_bin(), "quietMs": 400 }),
    )
    .await;
    let sid = s
        .post(
            "/api/sessions",
            json!({ "projectId": p, "agentId": "quiet" }),
        )
        .await
        .id();
    s.wait_session(&sid, |v| v["status"] == "waiting").await;
    let mut events = s.events().await;
    let mut term = s.terminal(&sid, "?offset=0").await;
    for (cols, rows) in [(100, 30), (90, 25), (110, 40)] {
        term.send_json(json!({ "type": "resize", "cols": cols, "rows": rows }))
            .await;
        term.until(&format!("resized {cols}x{rows}")).await;
    }
    // Something that is work, after the redraw window (500 ms; nothing to await for its end):
    // that one flips it.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    term.type_line("burst 3").await;
    let mut statuses = Vec::new();
    loop {
        let e = events.next().await;
        if e["event"] == "session:updated" && e["data"]["id"] == sid.as_str() {
            statuses.push(e["data"]["status"].as_str().unwrap().to_owned());
            if statuses.last().map(String::as_str) == Some("running") {
                break;
            }
        }
    }
    let first_run = statuses.iter().position(|s| s == "running").unwrap();
    assert_eq!(
        first_run,
        statuses.len() - 1,
        "only the typed command made it work, not the redraws: {statuses:?}"
    );
}
