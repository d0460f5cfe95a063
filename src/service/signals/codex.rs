//! Codex CLI's side of signals (pure): its rollout file — one JSON object a line, the first a
//! `session_meta` with the conversation's `id` and `cwd` — and the token usage in it. Codex
//! reports the conversation's running totals (`event_msg` of type `token_count`,
//! `info.total_token_usage`), so one usage row per conversation holds the last totals; input
//! tokens include the cached ones, which are counted as cache reads instead.
//!
//! Its `notify` program, set for the session's invocation only (`-c notify=[…]`; the user's
//! `config.toml` is untouched), runs `baton hook Notify <json>` when a turn completes.

use std::path::Path;

use serde_json::Value;

use super::transcript::MessageUsage;

/// `argv` (the program first) with `-c notify=["<cli>", "hook", "Notify"]` right after the
/// program: Codex appends the event's JSON as the last argument.
pub fn with_notify(argv: Vec<String>, cli: &Path) -> Vec<String> {
    // TOML's basic strings take JSON's escapes.
    let program = Value::String(cli.display().to_string()).to_string();
    let notify = format!("notify=[{program}, \"hook\", \"Notify\"]");
    let mut out = Vec::with_capacity(argv.len() + 2);
    let mut rest = argv.into_iter();
    out.extend(rest.next());
    out.extend(["-c".to_owned(), notify]);
    out.extend(rest);
    out
}

/// The conversation a rollout's first line names: its id and folder.
pub fn meta(first_line: &[u8]) -> Option<(String, String)> {
    let value: Value = serde_json::from_slice(first_line).ok()?;
    if value["type"] != "session_meta" {
        return None;
    }
    let payload = &value["payload"];
    Some((
        payload["id"].as_str()?.to_owned(),
        payload["cwd"].as_str().unwrap_or_default().to_owned(),
    ))
}

/// The usage so far of conversation `id` in the rollout's `text`: its last totals, under the
/// model of its last turn.
pub fn usage(id: &str, text: &[u8]) -> Option<MessageUsage> {
    let mut model = None;
    let mut total = None;
    for line in text.split(|&b| b == b'\n') {
        // Cheap tests first: most lines are neither.
        let turn = contains(line, b"\"turn_context\"");
        let count = contains(line, b"\"token_count\"");
        if !turn && !count {
            continue;
        }
        let Ok(value) = serde_json::from_slice::<Value>(line) else {
            continue;
        };
        let payload = &value["payload"];
        if value["type"] == "turn_context" {
            if let Some(m) = payload["model"].as_str() {
                model = Some(m.to_owned());
            }
        } else if payload["type"] == "token_count"
            && payload["info"]["total_token_usage"].is_object()
        {
            total = Some(payload["info"]["total_token_usage"].clone());
        }
    }
    let total = total?;
    let n = |k: &str| total[k].as_i64().unwrap_or(0).max(0);
    let cached = n("cached_input_tokens");
    Some(MessageUsage {
        message_id: format!("codex:{id}"),
        model: model.unwrap_or_else(|| "codex".to_owned()),
        input: (n("input_tokens") - cached).max(0),
        output: n("output_tokens"),
        cache_read: cached,
        cache_write: n("cache_write_input_tokens"),
    })
}

/// When Codex's usage limit resets, if its last `token_count` says a window is used up
/// (`rate_limits.primary` / `secondary` with `used_percent` ≥ 100 and `resets_at` in epoch
/// seconds). The shape is Codex 0.171's as logged with no limit hit; a hit was not seen here.
pub fn limit_reset(text: &[u8]) -> Option<i64> {
    let last = text
        .split(|&b| b == b'\n')
        .filter(|line| contains(line, b"\"rate_limits\""))
        .filter_map(|line| serde_json::from_slice::<Value>(line).ok())
        .rfind(|v| v["payload"]["type"] == "token_count")?;
    let limits = &last["payload"]["rate_limits"];
    ["primary", "secondary"]
        .iter()
        .filter_map(|w| {
            let window = &limits[*w];
            let used = window["used_percent"].as_f64()?;
            (used >= 100.0).then(|| window["resets_at"].as_i64().map(|s| s * 1000))?
        })
        .max()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_runs_the_quoted_cli_for_this_invocation_only() {
        let argv = with_notify(
            vec!["codex".into(), "fix it".into()],
            Path::new("/data \"dir\"/baton"),
        );
        assert_eq!(
            argv,
            [
                "codex",
                "-c",
                r#"notify=["/data \"dir\"/baton", "hook", "Notify"]"#,
                "fix it"
            ]
        );
    }

    #[test]
    fn a_used_up_window_says_when_it_resets() {
        let line = |primary: &str| {
            format!(
                r#"{{"type":"event_msg","payload":{{"type":"token_count","info":null,"rate_limits":{{"primary":{primary},"secondary":null}}}}}}"#
            )
        };
        let full = line(r#"{"used_percent":100.0,"window_minutes":300,"resets_at":1796300000}"#);
        let half = line(r#"{"used_percent":50.0,"window_minutes":300,"resets_at":1796300000}"#);
        assert_eq!(limit_reset(full.as_bytes()), Some(1_796_300_000_000));
        assert_eq!(limit_reset(format!("{full}\n{half}").as_bytes()), None);
        assert_eq!(limit_reset(line("null").as_bytes()), None);
    }

    #[test]
    fn the_first_line_names_the_conversation() {
        let line = br#"{"type":"session_meta","payload":{"id":"01a-b","cwd":"/w","cli_version":"0.171.0"}}"#;
        assert_eq!(meta(line), Some(("01a-b".into(), "/w".into())));
        assert_eq!(meta(br#"{"type":"event_msg","payload":{}}"#), None);
        assert_eq!(meta(b"not json"), None);
    }

    #[test]
    fn the_last_totals_count_and_cached_input_is_a_cache_read() {
        let text = [
            r#"{"type":"session_meta","payload":{"id":"c1","cwd":"/w"}}"#,
            r#"{"type":"turn_context","payload":{"model":"gpt-5-codex"}}"#,
            r#"{"type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":200,"cached_input_tokens":50,"output_tokens":30}}}}"#,
            r#"{"type":"event_msg","payload":{"type":"token_count","info":null}}"#,
            r#"{"type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":500,"cached_input_tokens":120,"cache_write_input_tokens":7,"output_tokens":80}}}}"#,
            "",
        ]
        .join("\n");
        let u = usage("c1", text.as_bytes()).unwrap();
        assert_eq!(u.message_id, "codex:c1");
        assert_eq!(u.model, "gpt-5-codex");
        assert_eq!(
            (u.input, u.cache_read, u.cache_write, u.output),
            (380, 120, 7, 80)
        );
        assert_eq!(usage("c1", b"{\"type\":\"session_meta\"}\n"), None);
    }
}
