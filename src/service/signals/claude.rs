//! Claude Code's side of signals (pure): the per-session settings file that installs Baton's
//! hooks (passed with `--settings`, never written into the user's own settings), and the argv
//! that starts a conversation with an id Baton chose or resumes it.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::hooks::CLAUDE_EVENTS;

/// Seconds Claude gives a hook that only reports (it answers in well under one).
const REPORT_TIMEOUT_S: u64 = 10;

/// The settings that run `<cli> hook <event>` for every event. The command is a shell line to
/// Claude: the CLI's path is quoted. No token: the hook finds it in the agent's environment.
/// The permission hook may wait `approval_wait_ms` for a decision, so Claude gives it longer.
pub fn settings(cli: &Path, approval_wait_ms: u32) -> Value {
    let program = shell_words::quote(&cli.display().to_string()).into_owned();
    let mut hooks = Map::new();
    for event in CLAUDE_EVENTS {
        let timeout = if event == "PermissionRequest" {
            u64::from(approval_wait_ms).div_ceil(1000) + REPORT_TIMEOUT_S
        } else {
            REPORT_TIMEOUT_S
        };
        hooks.insert(
            event.to_owned(),
            json!([{ "hooks": [{
                "type": "command",
                "command": format!("{program} hook {event}"),
                "timeout": timeout,
            }]}]),
        );
    }
    json!({ "hooks": hooks })
}

/// Whether a run starts the conversation or resumes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conversation<'a> {
    Start(&'a str),
    Resume(&'a str),
}

/// `argv` (the program first) with the settings file and the conversation's option put right
/// after the program, before any prompt. For a resume, pass the argv without the prompt.
pub fn argv(argv: Vec<String>, settings_file: &Path, conversation: Conversation) -> Vec<String> {
    let (flag, id) = match conversation {
        Conversation::Start(id) => ("--session-id", id),
        Conversation::Resume(id) => ("--resume", id),
    };
    let mut out = Vec::with_capacity(argv.len() + 4);
    let mut rest = argv.into_iter();
    out.extend(rest.next());
    out.extend([
        "--settings".to_owned(),
        settings_file.display().to_string(),
        flag.to_owned(),
        id.to_owned(),
    ]);
    out.extend(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_runs_the_quoted_cli_and_no_token_is_written() {
        let s = settings(Path::new("/data dir/bin/baton"), 120_000);
        for event in CLAUDE_EVENTS {
            let hook = &s["hooks"][event][0]["hooks"][0];
            assert_eq!(hook["type"], "command");
            assert_eq!(
                hook["command"],
                format!("'/data dir/bin/baton' hook {event}")
            );
        }
        assert_eq!(
            s["hooks"]["PermissionRequest"][0]["hooks"][0]["timeout"],
            130
        );
        assert_eq!(s["hooks"]["Stop"][0]["hooks"][0]["timeout"], 10);
        assert!(!s.to_string().to_lowercase().contains("token"));
    }

    #[test]
    fn the_conversation_id_goes_before_the_prompt() {
        let started = argv(
            vec![
                "claude".into(),
                "--model".into(),
                "x".into(),
                "fix it".into(),
            ],
            Path::new("/s.json"),
            Conversation::Start("c-1"),
        );
        assert_eq!(
            started,
            [
                "claude",
                "--settings",
                "/s.json",
                "--session-id",
                "c-1",
                "--model",
                "x",
                "fix it"
            ]
        );
        let resumed = argv(
            vec!["claude".into(), "--model".into(), "x".into()],
            Path::new("/s.json"),
            Conversation::Resume("c-1"),
        );
        assert_eq!(
            resumed,
            [
                "claude",
                "--settings",
                "/s.json",
                "--resume",
                "c-1",
                "--model",
                "x"
            ]
        );
    }
}
