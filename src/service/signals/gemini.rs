//! Gemini CLI's side of signals (pure): its hooks, added to the per-session settings file that
//! `GEMINI_CLI_SYSTEM_SETTINGS_PATH` names (next to Baton's MCP server when that is configured
//! there too; never the user's own settings), and the argv that starts a conversation with an id
//! Baton chose (`--session-id`; `--resume <id>` continues it, see `launch::resumed`).
//!
//! Gemini refuses a system settings file under a folder that others may write to (such as
//! `/tmp`): the data folder must not be one.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::hooks::GEMINI_EVENTS;

/// Milliseconds Gemini gives a hook (they only report: well under one second).
const REPORT_TIMEOUT_MS: u64 = 10_000;

/// `base` (the settings Baton already writes for the session, or `{}`) with a hook running
/// `<cli> hook <event>` for every event. No token: the hook finds it in the agent's environment.
pub fn settings(cli: &Path, base: Value) -> Value {
    let program = shell_words::quote(&cli.display().to_string()).into_owned();
    let mut out = match base {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let mut hooks = Map::new();
    for event in GEMINI_EVENTS {
        hooks.insert(
            event.to_owned(),
            json!([{ "hooks": [{
                "type": "command",
                "name": format!("baton-{event}"),
                "command": format!("{program} hook {event}"),
                "timeout": REPORT_TIMEOUT_MS,
            }]}]),
        );
    }
    out.insert("hooks".to_owned(), Value::Object(hooks));
    Value::Object(out)
}

/// `argv` (the program first) with `--session-id <conversation>` right after the program.
pub fn argv(argv: Vec<String>, conversation: &str) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len() + 2);
    let mut rest = argv.into_iter();
    out.extend(rest.next());
    out.extend(["--session-id".to_owned(), conversation.to_owned()]);
    out.extend(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_runs_the_quoted_cli_beside_the_mcp_server_and_no_token_is_written() {
        let mcp = json!({"mcpServers": {"baton": {"command": "/b", "args": ["mcp"]}}});
        let s = settings(Path::new("/data dir/bin/baton"), mcp);
        for event in GEMINI_EVENTS {
            let hook = &s["hooks"][event][0]["hooks"][0];
            assert_eq!(hook["type"], "command");
            assert_eq!(
                hook["command"],
                format!("'/data dir/bin/baton' hook {event}")
            );
            assert_eq!(hook["timeout"], 10_000);
        }
        assert_eq!(s["mcpServers"]["baton"]["command"], "/b", "kept");
        assert!(!s.to_string().to_lowercase().contains("token"));
        assert!(settings(Path::new("/b"), Value::Null)["hooks"].is_object());
    }

    #[test]
    fn the_conversation_id_goes_right_after_the_program() {
        assert_eq!(
            argv(vec!["gemini".into(), "-m".into(), "x".into()], "c-1"),
            ["gemini", "--session-id", "c-1", "-m", "x"]
        );
        // And `launch::resumed` makes it a resume of the same conversation.
        assert_eq!(
            crate::service::runs::launch::resumed(
                argv(vec!["gemini".into(), "-m".into(), "x".into()], "c-1"),
                None,
                "c-1"
            ),
            Some(
                ["gemini", "--resume", "c-1", "-m", "x"]
                    .map(String::from)
                    .to_vec()
            )
        );
    }
}
