//! `baton hook <event> [json]`: what an agent's own hooks run (Claude's and Gemini's settings
//! name it for every event; Codex's `notify` passes the JSON as the last argument). It reads the
//! event's JSON from that argument or stdin and posts it to Baton with the session's token
//! from its environment. It must never break or slow the agent: it always exits 0, gives up
//! quickly when Baton is not there, and prints nothing unless Baton answered with a decision.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{json, Value};

use crate::model::{HookAnswer, APPROVAL_WAIT_VAR};

/// The most of stdin read (a hook's JSON is small; a tool's input may not be).
const MAX_INPUT: u64 = 4 * 1024 * 1024;
/// How long a report may take, all told.
const REPORT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long connecting may take (a local server answers at once or is not there).
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// Runs the hook for `event` (its JSON in `payload`, else on stdin); always succeeds.
pub fn run(event: &str, payload: Option<&str>) -> ExitCode {
    let payload = match payload {
        Some(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        None => read_stdin(),
    };
    if let Some(output) = post(event, payload) {
        println!("{output}");
    }
    ExitCode::SUCCESS
}

fn post(event: &str, payload: Value) -> Option<Value> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (url, token, session) = (
        var("BATON_API_URL")?,
        var("BATON_TOKEN")?,
        var("BATON_SESSION_ID")?,
    );
    // A permission request may wait for the person's decision, as long as the profile says.
    let timeout = if event == "PermissionRequest" {
        let wait = var(APPROVAL_WAIT_VAR)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        Duration::from_millis(wait) + REPORT_TIMEOUT
    } else {
        REPORT_TIMEOUT
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(async move {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(timeout)
            .build()
            .ok()?;
        let response = client
            .post(format!(
                "{}/api/sessions/{session}/hooks",
                url.trim_end_matches('/')
            ))
            .bearer_auth(token)
            .header("X-Baton-Door", "cli")
            .json(&json!({ "event": event, "payload": payload }))
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json::<HookAnswer>().await.ok()?.output
    })
}

/// The event's JSON from stdin (`null` when there is none, or it is not JSON).
fn read_stdin() -> Value {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Value::Null;
    }
    let mut text = Vec::new();
    if stdin.lock().take(MAX_INPUT).read_to_end(&mut text).is_err() {
        return Value::Null;
    }
    serde_json::from_slice(&text).unwrap_or(Value::Null)
}
