//! What counts as a secret, and how it is hidden: one set of rules for the audit log, a
//! session's environment, logs and error bodies.
//!
//! - A **name** is secret-looking when one of its words (split at `_`, `-`, `.` and camelCase)
//!   is `key`, `token`, `secret`, `password`/`passwd`/`pwd`, `credential(s)` or `authorization`:
//!   `ANTHROPIC_API_KEY`, `GITHUB_TOKEN`, `clientSecret`, `DB_PASSWORD`. Its value is hidden
//!   whatever it is.
//! - A **value** is credential-shaped when it contains a known token form: `sk-…` (OpenAI,
//!   Anthropic), `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_…` and `github_pat_…` (GitHub), `xox?-…`
//!   (Slack), `AKIA…` (AWS), `AIza…` (Google), `glpat-…` (GitLab), `bst_…` (Baton's session
//!   tokens), or `Bearer …`. Only the credential itself is replaced within a longer text.
//!
//! Hidden values become [`REDACTED`].

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// What a hidden value is replaced with.
pub const REDACTED: &str = "[redacted]";

static CREDENTIAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"sk-[A-Za-z0-9_\-]{8,}",
        r"|sk_(?:live|test)_[A-Za-z0-9]{8,}",
        r"|gh[pousr]_[A-Za-z0-9]{16,}",
        r"|github_pat_[A-Za-z0-9_]{16,}",
        r"|xox[abposr]-[A-Za-z0-9\-]{8,}",
        r"|AKIA[0-9A-Z]{16}",
        r"|AIza[0-9A-Za-z_\-]{30,}",
        r"|glpat-[A-Za-z0-9_\-]{16,}",
        r"|bst_[A-Za-z0-9]{16,}",
        r"|(?i:bearer)\s+[A-Za-z0-9._~+/=\-]{8,}",
    ))
    .expect("the credential pattern compiles")
});

const SECRET_WORDS: &[&str] = &[
    "key",
    "token",
    "secret",
    "secrets",
    "password",
    "passwd",
    "pwd",
    "credential",
    "credentials",
    "authorization",
];

/// Whether a variable or field called `name` holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    words(name).any(|w| SECRET_WORDS.contains(&w.as_str()) || w.contains("password"))
}

/// The lower-case words of a name: `ANTHROPIC_API_KEY` → anthropic, api, key;
/// `clientSecret` → client, secret.
fn words(name: &str) -> impl Iterator<Item = String> + '_ {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if matches!(c, '_' | '-' | '.' | ' ') {
            out.push(std::mem::take(&mut word));
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            out.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    out.push(word);
    out.into_iter().filter(|w| !w.is_empty())
}

/// Whether `value` holds anything credential-shaped.
pub fn has_credential(value: &str) -> bool {
    CREDENTIAL.is_match(value)
}

/// `text` with every credential-shaped part replaced.
pub fn redact_text(text: &str) -> Cow<'_, str> {
    CREDENTIAL.replace_all(text, REDACTED)
}

/// Hides secrets in a JSON value, in place: the values of secret-named members, credentials in
/// every string, and in a list of strings (an argv) the values of secret-named options.
pub fn redact_json(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Cow::Owned(hidden) = redact_text(s) {
                *s = hidden;
            }
        }
        Value::Array(items) if items.iter().all(Value::is_string) => {
            let strings: Vec<String> = items
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect();
            *items = split_argv(&strings)
                .0
                .into_iter()
                .map(Value::String)
                .collect();
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::Object(members) => {
            for (name, member) in members.iter_mut() {
                if is_secret_name(name) && !member.is_null() {
                    *member = Value::String(REDACTED.to_owned());
                } else {
                    redact_json(member);
                }
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Whether an environment variable is a secret: by its name, or by its value's shape.
pub fn is_secret_var(name: &str, value: &str) -> bool {
    is_secret_name(name) || has_credential(value)
}

/// Splits an environment into what may be shown and stored (secrets replaced by
/// [`REDACTED`]) and the secrets themselves.
pub fn split_env(
    env: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut shown = BTreeMap::new();
    let mut secret = BTreeMap::new();
    for (name, value) in env {
        if is_secret_var(name, value) {
            shown.insert(name.clone(), REDACTED.to_owned());
            secret.insert(name.clone(), value.clone());
        } else {
            shown.insert(name.clone(), value.clone());
        }
    }
    (shown, secret)
}

/// Splits a command's arguments into what may be shown and stored, and the secret ones by
/// position: a credential-shaped argument, the value of a secret-named option
/// (`--api-key=…`, or the argument after `--api-key`).
pub fn split_argv(argv: &[String]) -> (Vec<String>, BTreeMap<usize, String>) {
    let mut shown = Vec::with_capacity(argv.len());
    let mut secret = BTreeMap::new();
    let mut value_of_secret_option = false;
    for (i, arg) in argv.iter().enumerate() {
        let option = arg.starts_with('-').then(|| arg.trim_start_matches('-'));
        let hidden = match option.and_then(|o| o.split_once('=')) {
            _ if value_of_secret_option => REDACTED.to_owned(),
            Some((name, _)) if is_secret_name(name) => {
                let flag = arg.split_once('=').map_or(arg.as_str(), |(flag, _)| flag);
                format!("{flag}={REDACTED}")
            }
            _ => redact_text(arg).into_owned(),
        };
        value_of_secret_option = option.is_some_and(|o| !o.contains('=') && is_secret_name(o));
        if hidden != *arg {
            secret.insert(i, arg.clone());
        }
        shown.push(hidden);
    }
    (shown, secret)
}

/// Puts back into `env` the values `kept` for the variables that show [`REDACTED`] (an
/// environment shown redacted and sent back, or read from a row that never held its secrets).
pub fn put_back(env: &mut BTreeMap<String, String>, kept: &BTreeMap<String, String>) {
    for (name, value) in env.iter_mut() {
        if let (true, Some(original)) = (value == REDACTED, kept.get(name)) {
            value.clone_from(original);
        }
    }
}

/// A log writer (for `tracing_subscriber`) that hides credentials in every line it writes,
/// whatever a log statement put in it: a path, an error, a program's message.
pub struct RedactingWriter<M>(pub M);

impl<'a, M: tracing_subscriber::fmt::MakeWriter<'a>> tracing_subscriber::fmt::MakeWriter<'a>
    for RedactingWriter<M>
{
    type Writer = LineRedactor<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        LineRedactor {
            inner: self.0.make_writer(),
            line: Vec::new(),
        }
    }
}

/// Collects one log event and writes it, redacted, when dropped (the formatter makes one per
/// event).
pub struct LineRedactor<W: std::io::Write> {
    inner: W,
    line: Vec<u8>,
}

impl<W: std::io::Write> std::io::Write for LineRedactor<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let line = std::mem::take(&mut self.line);
        let text = String::from_utf8_lossy(&line);
        self.inner.write_all(redact_text(&text).as_bytes())?;
        self.inner.flush()
    }
}

impl<W: std::io::Write> Drop for LineRedactor<W> {
    fn drop(&mut self) {
        let _ = std::io::Write::flush(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_names_by_their_words() {
        for name in [
            "ANTHROPIC_API_KEY",
            "OPENAI_API_KEY",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "DB_PASSWORD",
            "MYSQL_ROOT_PASSWORD",
            "PGPASSWORD",
            "clientSecret",
            "accessToken",
            "secret",
            "token",
            "Authorization",
            "GOOGLE_APPLICATION_CREDENTIALS",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "PATH",
            "HOME",
            "TERM",
            "KEYBOARD_LAYOUT",
            "monkey",
            "TOKENIZERS_PARALLELISM",
            "CLAUDE_CODE_MAX_OUTPUT_TOKENS",
            "projectId",
            "title",
            "BATON_API_URL",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn credentials_are_found_and_cut_out_of_text() {
        for credential in [
            "sk-ant-api03-abcdefghijklmnop",
            "sk-proj-ABCDEFGH12345678",
            "sk_live_abcdefgh1234",
            "ghp_0123456789abcdefABCDEF",
            "github_pat_11ABCDEFG0123456789_abc",
            "xoxb-123456789-abcdefgh",
            "AKIAIOSFODNN7EXAMPLE",
            "AIzaSyA-0123456789abcdefghijklmnopqrs",
            "glpat-0123456789abcdefghij",
            "bst_0123456789abcdef0123",
            "Bearer abc.def.ghi-123",
        ] {
            assert!(has_credential(credential), "{credential}");
            let text = format!("use {credential} please");
            assert_eq!(redact_text(&text), format!("use {REDACTED} please"));
        }
        for plain in [
            "sk-1",
            "a task about skis",
            "AKIA",
            "the bearer of news",
            "",
        ] {
            assert!(!has_credential(plain), "{plain}");
            assert!(matches!(redact_text(plain), Cow::Borrowed(_)));
        }
    }

    #[test]
    fn json_members_and_strings_are_hidden_everywhere() {
        let mut body = json!({
            "title": "deploy with sk-ant-api03-abcdefghijklmnop",
            "secret": "my-webhook-secret-123",
            "env": { "ANTHROPIC_API_KEY": "anything", "PATH": "/bin", "NUM_TOKENS": 12 },
            "list": [{ "password": "hunter2" }, "ghp_0123456789abcdefABCDEF"],
            "command": ["agent", "--api-key", "plainlooking", "--fast"],
            "token": null,
            "n": 3,
        });
        redact_json(&mut body);
        assert_eq!(
            body,
            json!({
                "title": format!("deploy with {REDACTED}"),
                "secret": REDACTED,
                "env": { "ANTHROPIC_API_KEY": REDACTED, "PATH": "/bin", "NUM_TOKENS": 12 },
                "list": [{ "password": REDACTED }, REDACTED],
                "command": ["agent", "--api-key", REDACTED, "--fast"],
                "token": null,
                "n": 3,
            })
        );
    }

    #[test]
    fn log_lines_are_written_redacted() {
        use std::io::Write;
        let mut out = Vec::new();
        {
            let mut line = LineRedactor {
                inner: &mut out,
                line: Vec::new(),
            };
            write!(line, "refused path=/api/tasks/sk-ant-api03-").unwrap();
            writeln!(line, "abcdefghijkl done").unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("refused path=/api/tasks/{REDACTED} done\n")
        );
    }

    #[test]
    fn a_commands_secret_arguments_are_found_by_shape_and_by_option_name() {
        let argv: Vec<String> = [
            "agent",
            "--api-key",
            "0123abcd",
            "--token=xyz",
            "--model",
            "big",
            "use sk-ant-api03-abcdefghijkl",
            "--max-tokens",
            "100",
        ]
        .map(String::from)
        .to_vec();
        let (shown, secret) = split_argv(&argv);
        assert_eq!(
            shown,
            [
                "agent",
                "--api-key",
                REDACTED,
                &format!("--token={REDACTED}"),
                "--model",
                "big",
                &format!("use {REDACTED}"),
                "--max-tokens",
                "100",
            ]
        );
        assert_eq!(secret.keys().copied().collect::<Vec<_>>(), [2, 3, 6]);
        assert_eq!(secret[&3], "--token=xyz");
    }

    #[test]
    fn an_environment_splits_into_shown_and_secret() {
        let env = BTreeMap::from([
            ("ANTHROPIC_API_KEY".to_owned(), "k".to_owned()),
            ("EXTRA".to_owned(), "xoxb-123456789-abcdefgh".to_owned()),
            ("MODE".to_owned(), "fast".to_owned()),
        ]);
        let (shown, secret) = split_env(&env);
        assert_eq!(shown["ANTHROPIC_API_KEY"], REDACTED);
        assert_eq!(shown["EXTRA"], REDACTED);
        assert_eq!(shown["MODE"], "fast");
        assert_eq!(secret.len(), 2);
        assert_eq!(secret["ANTHROPIC_API_KEY"], "k");
    }

    proptest::proptest! {
        /// Any text, credentials spliced in anywhere: nothing credential-shaped is left, and
        /// text without credentials is left as it was.
        #[test]
        fn redacted_text_holds_no_credential(
            before in ".{0,80}",
            after in ".{0,80}",
            credential in proptest::prop_oneof![
                proptest::prelude::Just(String::new()),
                "sk-[a-zA-Z0-9_-]{8,30}",
                "ghp_[a-zA-Z0-9]{16,30}",
                "AKIA[0-9A-Z]{16}",
                "(B|b)earer +[a-zA-Z0-9._~+/=-]{8,20}",
            ],
        ) {
            let text = format!("{before}{credential}{after}");
            let hidden = redact_text(&text);
            proptest::prop_assert!(!has_credential(&hidden), "{:?} -> {:?}", text, hidden);
            if !has_credential(&text) {
                proptest::prop_assert_eq!(hidden.as_ref(), text.as_str());
            }
        }

        #[test]
        fn any_json_can_be_redacted(body in "[ -~]{0,200}") {
            if let Ok(mut value) = serde_json::from_str::<Value>(&body) {
                redact_json(&mut value);
                proptest::prop_assert!(!has_credential(&value.to_string()));
            }
        }
    }
}
