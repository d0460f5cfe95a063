//! How client commands print: the API's JSON as is (`--json`), or tables and short lines for a
//! person. Times are shown as local-free relative ages, so that no time-zone database is needed.

use comfy_table::{presets, ContentArrangement, Table};
use serde_json::Value;

use crate::clock::now_ms;

/// Prints `value` as pretty JSON.
/// A typed answer as the JSON the printers read (what `--json` prints, too).
pub fn value(answer: impl serde::Serialize) -> Value {
    serde_json::to_value(answer).unwrap_or_default()
}

pub fn json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// Prints a table with `headers` and one row per item.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    if rows.is_empty() {
        println!("(none)");
        return;
    }
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.iter().map(|h| h.to_uppercase()));
    for row in rows {
        t.add_row(row);
    }
    // comfy-table pads every line with a leading space in this preset; trim it.
    for line in t.to_string().lines() {
        println!("{}", line.strip_prefix(' ').unwrap_or(line).trim_end());
    }
}

/// Prints `label: value` lines, skipping empty values.
pub fn fields(pairs: &[(&str, String)]) {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in pairs {
        if !v.is_empty() {
            println!("{k:>width$}  {v}");
        }
    }
}

/// A string member, or "".
pub fn s(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A list member joined with ", ".
pub fn list(v: &Value, key: &str) -> String {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| x.to_string())
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// How long ago a Unix-ms time was: `12s`, `5m`, `3h`, `2d`.
pub fn age(v: &Value, key: &str) -> String {
    let Some(at) = v[key].as_i64() else {
        return String::new();
    };
    let secs = (now_ms() - at).max(0) / 1000;
    match secs {
        s if s < 60 => format!("{s}s ago"),
        s if s < 3600 => format!("{}m ago", s / 60),
        s if s < 86_400 => format!("{}h ago", s / 3600),
        s => format!("{}d ago", s / 86_400),
    }
}

/// One message as a line: `PROGRESS  session:abc  60% — tests pass   (msg_…)`.
pub fn message_line(m: &Value) -> String {
    let replies = match list(m, "parentIds") {
        p if p.is_empty() => String::new(),
        p => format!("  ↳ {p}"),
    };
    format!(
        "{:<9} {:<20} {}{}  [{} · {}]",
        s(m, "type"),
        s(m, "author"),
        s(m, "body"),
        replies,
        s(m, "id"),
        age(m, "createdAt")
    )
}

/// An argv as one would type it: arguments with spaces or quotes in single quotes.
pub fn argv(v: &Value, key: &str) -> String {
    let quote = |a: &str| {
        let plain = !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
        if plain {
            a.to_owned()
        } else {
            format!("'{}'", a.replace('\'', "'\\''"))
        }
    };
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(quote)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}
