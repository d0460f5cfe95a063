//! Token usage from an agent's transcript (pure): Claude Code writes one JSON object a line;
//! its assistant lines carry `message.id`, `message.model` and `message.usage`. A message
//! streamed in several blocks appears on several lines with the same id: the last line of an id
//! wins. Sub-agents' messages are in the same transcript (`isSidechain`) and count too.
//!
//! Gemini CLI's chat file is JSON lines too: its model messages (`"type": "gemini"`) carry `id`,
//! `model` and `tokens` (`input` including the `cached` ones, `output`, `thoughts`), and a
//! `{"$set": {"messages": […]}}` line may write earlier messages again (same ids).

use serde_json::Value;

/// The tokens of one model message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageUsage {
    pub message_id: String,
    pub model: String,
    pub input: i64,
    pub output: i64,
    pub cache_read: i64,
    pub cache_write: i64,
}

/// The usage in the complete lines of `chunk` (a part of the transcript read from where the
/// last read ended) and how many bytes of it were complete lines: a line still being written
/// is read next time. One entry per message id, in the order first seen.
pub fn read(chunk: &[u8]) -> (Vec<MessageUsage>, usize) {
    let complete = chunk.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut found: Vec<MessageUsage> = Vec::new();
    for line in chunk[..complete].split(|&b| b == b'\n') {
        for usage in line_usages(line) {
            match found.iter_mut().find(|u| u.message_id == usage.message_id) {
                Some(seen) => *seen = usage,
                None => found.push(usage),
            }
        }
    }
    (found, complete)
}

/// The messages of one line: Claude's one, Gemini's one or those its `$set` writes again.
fn line_usages(line: &[u8]) -> Vec<MessageUsage> {
    if line.is_empty() {
        return Vec::new();
    }
    let Ok(value) = serde_json::from_slice::<Value>(line) else {
        return Vec::new();
    };
    if let Some(messages) = value.pointer("/$set/messages").and_then(Value::as_array) {
        return messages.iter().filter_map(gemini_usage).collect();
    }
    claude_usage(&value)
        .or_else(|| gemini_usage(&value))
        .into_iter()
        .collect()
}

/// A Gemini model message: cached input is a cache read, thoughts are billed as output.
fn gemini_usage(message: &Value) -> Option<MessageUsage> {
    if message.get("type").and_then(Value::as_str) != Some("gemini") {
        return None;
    }
    let tokens = message.get("tokens")?;
    let n = |k: &str| tokens.get(k).and_then(Value::as_i64).unwrap_or(0).max(0);
    Some(MessageUsage {
        message_id: message.get("id")?.as_str()?.to_owned(),
        model: message
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned(),
        input: (n("input") - n("cached")).max(0),
        output: n("output") + n("thoughts"),
        cache_read: n("cached"),
        cache_write: 0,
    })
}

fn claude_usage(value: &Value) -> Option<MessageUsage> {
    let message = value.get("message")?;
    let usage = message.get("usage")?;
    let id = message.get("id")?.as_str()?;
    let n = |k: &str| usage.get(k).and_then(Value::as_i64).unwrap_or(0).max(0);
    Some(MessageUsage {
        message_id: id.to_owned(),
        model: message
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned(),
        input: n("input_tokens"),
        output: n("output_tokens"),
        cache_read: n("cache_read_input_tokens"),
        cache_write: n("cache_creation_input_tokens"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemini_model_messages_count_once_with_cached_input_as_cache_reads() {
        let gemini = |id: &str, output: i64| {
            format!(
                r#"{{"id":"{id}","type":"gemini","content":"hi","tokens":{{"input":120,"output":{output},"cached":20,"thoughts":3,"tool":0,"total":130}},"model":"gemini-2.5-pro"}}"#
            )
        };
        let text = format!(
            "{{\"sessionId\":\"c1\",\"kind\":\"main\"}}\n{{\"id\":\"u1\",\"type\":\"user\",\"content\":[]}}\n{}\n{{\"$set\":{{\"messages\":[{}]}}}}\n{}\n",
            gemini("g1", 7),
            gemini("g1", 9),
            gemini("g2", 1)
        );
        let (found, used) = read(text.as_bytes());
        assert_eq!(used, text.len());
        assert_eq!(
            found,
            vec![
                MessageUsage {
                    message_id: "g1".into(),
                    model: "gemini-2.5-pro".into(),
                    input: 100,
                    output: 12,
                    cache_read: 20,
                    cache_write: 0,
                },
                MessageUsage {
                    message_id: "g2".into(),
                    model: "gemini-2.5-pro".into(),
                    input: 100,
                    output: 4,
                    cache_read: 20,
                    cache_write: 0,
                },
            ]
        );
    }

    fn line(id: &str, output: i64) -> String {
        format!(
            r#"{{"type":"assistant","message":{{"id":"{id}","model":"m1","usage":{{"input_tokens":11,"output_tokens":{output},"cache_creation_input_tokens":5,"cache_read_input_tokens":7}}}}}}"#
        )
    }

    #[test]
    fn one_entry_per_message_the_last_line_wins() {
        let text = format!(
            "{}\n{}\n{{\"type\":\"user\",\"message\":{{\"role\":\"user\"}}}}\n{}\nnot json\n",
            line("a", 1),
            line("b", 4),
            line("a", 13)
        );
        let (found, used) = read(text.as_bytes());
        assert_eq!(used, text.len());
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].message_id, "a");
        assert_eq!(found[0].output, 13);
        assert_eq!(
            (found[0].input, found[0].cache_read, found[0].cache_write),
            (11, 7, 5)
        );
        assert_eq!(found[1].output, 4);
        assert_eq!(found[1].model, "m1");
    }

    #[test]
    fn a_line_still_being_written_waits_for_the_next_read() {
        let whole = format!("{}\n", line("a", 2));
        let partial = &line("b", 3)[..20];
        let text = format!("{whole}{partial}");
        let (found, used) = read(text.as_bytes());
        assert_eq!(used, whole.len());
        assert_eq!(found.len(), 1);
        assert_eq!(read(partial.as_bytes()), (Vec::new(), 0));
    }
}
