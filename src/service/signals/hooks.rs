//! What one hook event of an agent means (pure): the activity it reports, the permission it
//! asks, whether pending permission requests are settled by it, and where the agent's
//! transcript and conversation are. Claude Code's events are the reference; the names are
//! theirs.

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::model::Activity;

/// The events a Claude session's settings install hooks for.
pub const CLAUDE_EVENTS: [&str; 12] = [
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PermissionRequest",
    "PostToolUse",
    "PostToolUseFailure",
    "Notification",
    "Stop",
    "StopFailure",
    "SubagentStop",
    "PreCompact",
    "SessionEnd",
];

/// The events a Gemini session's settings install hooks for (Gemini CLI 0.61 names).
pub const GEMINI_EVENTS: [&str; 8] = [
    "SessionStart",
    "BeforeAgent",
    "BeforeTool",
    "AfterTool",
    "Notification",
    "AfterAgent",
    "PreCompress",
    "SessionEnd",
];

/// The longest summary of a tool's input.
const SUMMARY_CHARS: usize = 200;

/// What one hook event says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Meaning {
    /// The activity it reports (`None`: it says nothing about it).
    pub activity: Option<Activity>,
    /// A permission asked that Baton may decide (the hook waits for the answer): the tool and
    /// one line of what it would do.
    pub permission: Option<(String, String)>,
    /// A permission asked in the agent's own terminal only (its hook cannot carry an answer):
    /// the tool and one line of what it would do.
    pub asks: Option<(String, String)>,
    /// Pending permission requests are over (the tool ran, the turn moved on, the agent ended):
    /// answered in the terminal, or no longer asked.
    pub settles_pending: bool,
    /// The agent's transcript, to read usage from (only when the event may follow new model
    /// messages).
    pub transcript: Option<PathBuf>,
    /// The agent's conversation id.
    pub conversation: Option<String>,
    /// Its turn failed on its usage limit: when the limit resets, if it said (Unix ms).
    pub limit: Option<Option<i64>>,
}

fn text(payload: &Value, key: &str) -> Option<String> {
    payload
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// One line saying what a tool would do: its command, file or pattern, else its input.
pub fn summary(tool: &str, input: &Value) -> String {
    let field = ["command", "file_path", "path", "url", "pattern", "prompt"]
        .iter()
        .find_map(|k| input.get(*k).and_then(Value::as_str));
    let line = match field {
        Some(v) => v.to_owned(),
        None if input.is_null() => tool.to_owned(),
        None => input.to_string(),
    };
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > SUMMARY_CHARS {
        let cut: String = line.chars().take(SUMMARY_CHARS - 1).collect();
        format!("{cut}…")
    } else {
        line
    }
}

/// What hook event `event` with its `payload` (the JSON the agent gave the hook) says.
pub fn meaning(event: &str, payload: &Value) -> Meaning {
    let mut m = Meaning {
        conversation: text(payload, "session_id"),
        ..Meaning::default()
    };
    let transcript = || text(payload, "transcript_path").map(PathBuf::from);
    match event {
        "SessionStart" => m.activity = Some(Activity::Idle),
        "UserPromptSubmit" => {
            m.activity = Some(Activity::Working);
            m.settles_pending = true;
        }
        "PreToolUse" => m.activity = Some(Activity::Working),
        "PermissionRequest" => {
            let tool = text(payload, "tool_name").unwrap_or_else(|| "a tool".to_owned());
            let input = payload.get("tool_input").cloned().unwrap_or(Value::Null);
            m.activity = Some(Activity::WaitingPermission);
            m.permission = Some((tool.clone(), summary(&tool, &input)));
        }
        "PostToolUse" | "PostToolUseFailure" => {
            m.activity = Some(Activity::Working);
            m.settles_pending = true;
            m.transcript = transcript();
        }
        "StopFailure" => {
            m.activity = Some(Activity::Idle);
            m.settles_pending = true;
            m.transcript = transcript();
            if text(payload, "error").as_deref() == Some("rate_limit") {
                let said = text(payload, "last_assistant_message").unwrap_or_default();
                m.limit = Some(limit_reset(&said, &chrono::Local::now()));
            }
        }
        "Notification" => {
            // Claude: a permission prompt is already known from `PermissionRequest`; an idle
            // prompt or a question means the person is needed. Gemini: `ToolPermission` is its
            // confirmation dialog, answered in its terminal.
            let kind = text(payload, "notification_type").unwrap_or_default();
            if kind == "ToolPermission" {
                m.activity = Some(Activity::WaitingPermission);
                m.asks = Some(gemini_asks(payload.get("details").unwrap_or(&Value::Null)));
            } else if kind != "permission_prompt" {
                m.activity = Some(Activity::WaitingInput);
            }
        }
        // Gemini CLI's turn: it starts, runs tools, ends.
        "BeforeAgent" => {
            m.activity = Some(Activity::Working);
            m.settles_pending = true;
        }
        "BeforeTool" => m.activity = Some(Activity::Working),
        "AfterTool" => {
            m.activity = Some(Activity::Working);
            m.transcript = transcript();
        }
        "AfterAgent" => {
            m.activity = Some(Activity::Idle);
            m.transcript = transcript();
        }
        "PreCompress" => m.transcript = transcript(),
        // Codex CLI's `notify` program: its turn ended. (Its `thread-id` is not the id
        // `codex resume` takes: the conversation comes from its rollout file.)
        "Notify" if text(payload, "type").as_deref() == Some("agent-turn-complete") => {
            m.activity = Some(Activity::Idle);
        }
        "Stop" => {
            m.activity = Some(Activity::Idle);
            m.settles_pending = true;
            m.transcript = transcript();
        }
        "SubagentStop" | "PreCompact" => m.transcript = transcript(),
        "SessionEnd" => {
            m.activity = Some(Activity::Idle);
            m.settles_pending = true;
            m.transcript = transcript();
        }
        _ => {}
    }
    m
}

/// What Gemini's confirmation asks, from its notification's `details`: a shell command, a file
/// edit, an MCP tool, else its title.
fn gemini_asks(details: &Value) -> (String, String) {
    let kind = text(details, "type").unwrap_or_default();
    let (tool, input) = match kind.as_str() {
        "exec" => (
            "Shell".to_owned(),
            json!({ "command": text(details, "command") }),
        ),
        "edit" => (
            "Edit".to_owned(),
            json!({ "file_path": text(details, "filePath").or_else(|| text(details, "fileName")) }),
        ),
        "mcp" => (
            text(details, "toolName").unwrap_or_else(|| "an MCP tool".to_owned()),
            json!({ "path": text(details, "serverName") }),
        ),
        _ => (
            text(details, "title").unwrap_or_else(|| "a tool".to_owned()),
            Value::Null,
        ),
    };
    let summary = summary(&tool, &input);
    (tool, summary)
}

/// When a usage limit resets, from what the agent said: Claude's `…usage limit reached|<epoch
/// seconds>`, or `… resets 3pm` / `resets 3:30pm` (the agent's local time, taken as this
/// machine's: the next such time after `now`).
pub fn limit_reset<Tz: chrono::TimeZone>(said: &str, now: &chrono::DateTime<Tz>) -> Option<i64> {
    use chrono::{Duration, NaiveTime};
    if let Some((_, tail)) = said.rsplit_once('|') {
        let digits: String = tail
            .trim()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(seconds) = digits.parse::<i64>() {
            return Some(seconds * 1000);
        }
    }
    let lower = said.to_lowercase();
    let (_, after) = lower.split_once("resets")?;
    let word: String = after
        .trim_start()
        .trim_start_matches("at ")
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == ':')
        .collect();
    let (clock, pm) = match (word.strip_suffix("am"), word.strip_suffix("pm")) {
        (Some(c), _) => (c, false),
        (_, Some(c)) => (c, true),
        _ => return None,
    };
    let (h, m) = clock.split_once(':').unwrap_or((clock, "0"));
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    if !(1..=12).contains(&h) || m > 59 {
        return None;
    }
    let hour = h % 12 + if pm { 12 } else { 0 };
    let at = NaiveTime::from_hms_opt(hour, m, 0)?;
    let mut day = now.date_naive();
    for _ in 0..2 {
        let candidate = day
            .and_time(at)
            .and_local_timezone(now.timezone())
            .earliest()?;
        if candidate > *now {
            return Some(candidate.timestamp_millis());
        }
        day += Duration::days(1);
    }
    None
}

/// The activity a state reported in-band means (`OSC 7501;state=…`, Codex CLI): `working` while
/// it works a turn, `done` when the turn ended, `idle` at start.
pub fn in_band(state: &str) -> Option<Activity> {
    match state {
        "working" => Some(Activity::Working),
        "done" | "idle" => Some(Activity::Idle),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_event_says_what_it_means() {
        let base = json!({"session_id": "c1", "transcript_path": "/t.jsonl", "cwd": "/w"});
        let with = |extra: Value| {
            let mut p = base.clone();
            p.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            p
        };
        let table: Vec<(&str, Value, Option<Activity>, bool, bool)> = vec![
            (
                "SessionStart",
                base.clone(),
                Some(Activity::Idle),
                false,
                false,
            ),
            (
                "UserPromptSubmit",
                base.clone(),
                Some(Activity::Working),
                true,
                false,
            ),
            (
                "PreToolUse",
                base.clone(),
                Some(Activity::Working),
                false,
                false,
            ),
            (
                "PostToolUse",
                base.clone(),
                Some(Activity::Working),
                true,
                true,
            ),
            ("Stop", base.clone(), Some(Activity::Idle), true, true),
            ("SubagentStop", base.clone(), None, false, true),
            ("PreCompact", base.clone(), None, false, true),
            ("SessionEnd", base.clone(), Some(Activity::Idle), true, true),
            (
                "Notification",
                with(json!({"notification_type": "idle_prompt"})),
                Some(Activity::WaitingInput),
                false,
                false,
            ),
            (
                "Notification",
                with(json!({"notification_type": "permission_prompt"})),
                None,
                false,
                false,
            ),
            // Gemini CLI's names.
            (
                "BeforeAgent",
                base.clone(),
                Some(Activity::Working),
                true,
                false,
            ),
            (
                "BeforeTool",
                base.clone(),
                Some(Activity::Working),
                false,
                false,
            ),
            (
                "AfterTool",
                base.clone(),
                Some(Activity::Working),
                false,
                true,
            ),
            (
                "AfterAgent",
                base.clone(),
                Some(Activity::Idle),
                false,
                true,
            ),
            ("PreCompress", base.clone(), None, false, true),
            ("SomethingNew", base.clone(), None, false, false),
        ];
        // Codex's notify: the turn ended; its thread id is not taken for the conversation.
        let m = meaning(
            "Notify",
            &json!({"type": "agent-turn-complete", "thread-id": "t-1", "turn-id": "u-1"}),
        );
        assert_eq!(m.activity, Some(Activity::Idle));
        assert_eq!(m.conversation, None);
        assert_eq!(meaning("Notify", &json!({"type": "other"})).activity, None);
        for (event, payload, activity, settles, transcript) in table {
            let m = meaning(event, &payload);
            assert_eq!(m.activity, activity, "{event}");
            assert_eq!(m.settles_pending, settles, "{event}");
            assert_eq!(m.transcript.is_some(), transcript, "{event}");
            assert_eq!(m.conversation.as_deref(), Some("c1"), "{event}");
            assert!(m.permission.is_none(), "{event}");
            assert!(m.asks.is_none(), "{event}");
        }
    }

    #[test]
    fn geminis_confirmation_is_a_permission_asked_in_its_terminal() {
        let ask = |details: Value| {
            meaning(
                "Notification",
                &json!({"session_id": "c1", "notification_type": "ToolPermission",
                        "message": "Tool Confirm Shell Command requires execution",
                        "details": details}),
            )
        };
        let m = ask(json!({"type": "exec", "title": "Confirm Shell Command",
                           "command": "echo hi > out.txt", "rootCommand": "echo"}));
        assert_eq!(m.activity, Some(Activity::WaitingPermission));
        assert_eq!(m.asks, Some(("Shell".into(), "echo hi > out.txt".into())));
        assert!(m.permission.is_none(), "Baton cannot answer it");
        let m = ask(
            json!({"type": "edit", "title": "Confirm Edit", "fileName": "a.rs",
                           "filePath": "/w/a.rs"}),
        );
        assert_eq!(m.asks, Some(("Edit".into(), "/w/a.rs".into())));
        let m = ask(json!({"type": "info", "title": "Confirm Web Fetch"}));
        assert_eq!(
            m.asks,
            Some(("Confirm Web Fetch".into(), "Confirm Web Fetch".into()))
        );
    }

    #[test]
    fn a_permission_request_names_the_tool_and_what_it_would_do() {
        let m = meaning(
            "PermissionRequest",
            &json!({"tool_name": "Bash", "tool_input": {"command": "rm -rf\n  build", "description": "clean"}}),
        );
        assert_eq!(m.activity, Some(Activity::WaitingPermission));
        assert_eq!(
            m.permission,
            Some(("Bash".to_owned(), "rm -rf build".to_owned()))
        );
        let m = meaning("PermissionRequest", &json!({}));
        assert_eq!(
            m.permission,
            Some(("a tool".to_owned(), "a tool".to_owned()))
        );
        assert!(m.conversation.is_none());
    }

    #[test]
    fn a_usage_limit_says_when_it_resets() {
        use chrono::TimeZone;
        let tz = chrono::FixedOffset::east_opt(3600).unwrap();
        // 2026-12-03 10:00 at UTC+1.
        let now = tz.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap();
        let at = |h, m, day| {
            tz.with_ymd_and_hms(2026, 12, day, h, m, 0)
                .unwrap()
                .timestamp_millis()
        };
        assert_eq!(
            limit_reset("Claude AI usage limit reached|1796300000", &now),
            Some(1_796_300_000_000)
        );
        assert_eq!(
            limit_reset("5-hour limit reached ∙ resets 3pm (Europe/Paris)", &now),
            Some(at(15, 0, 3))
        );
        assert_eq!(
            limit_reset("You've hit your limit · resets 9:30am", &now),
            Some(at(9, 30, 4))
        );
        assert_eq!(
            limit_reset("limit reached, resets at 12am", &now),
            Some(at(0, 0, 4))
        );
        assert_eq!(limit_reset("API Error: Request rejected (429)", &now), None);
        assert_eq!(limit_reset("resets 13pm", &now), None);
        let m = meaning(
            "StopFailure",
            &json!({"error": "rate_limit", "last_assistant_message": "usage limit reached|1796300000"}),
        );
        assert_eq!(m.limit, Some(Some(1_796_300_000_000)));
        assert_eq!(m.activity, Some(Activity::Idle));
        let m = meaning("StopFailure", &json!({"error": "server_error"}));
        assert_eq!(m.limit, None);
    }

    #[test]
    fn in_band_states_say_working_or_idle() {
        assert_eq!(in_band("working"), Some(Activity::Working));
        assert_eq!(in_band("done"), Some(Activity::Idle));
        assert_eq!(in_band("idle"), Some(Activity::Idle));
        assert_eq!(in_band("dancing"), None);
    }

    #[test]
    fn a_summary_is_one_bounded_line() {
        assert_eq!(
            summary("Edit", &json!({"file_path": "/a/b.rs", "old": "x"})),
            "/a/b.rs"
        );
        assert_eq!(summary("X", &json!({"n": 1})), "{\"n\":1}");
        let long = summary("Bash", &json!({"command": "x".repeat(500)}));
        assert_eq!(long.chars().count(), SUMMARY_CHARS);
        assert!(long.ends_with('…'));
    }
}
