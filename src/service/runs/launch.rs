//! The launch spec: everything needed to start a session's process, computed once when the
//! session is created and stored with it (argv, cwd and env in the session's columns — secrets
//! in its 0600 file — and the rest as `launch` JSON), then reused by every restart, retry and
//! loop run. The Baton variables an agent gets are made by one function, [`baton_env`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::super::agents::{resolve_program, DEFAULT_QUIET_MS};
use crate::model::PromptMode;
use crate::pty::Size;
use crate::store::entity::agent_profile;
use crate::store::json::from_text;

/// Everything needed to start (and later restart) a session's process.
#[derive(Clone)]
pub struct Launch {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    /// What Baton adds to the server's environment (shown as the session's `env`).
    pub env: BTreeMap<String, String>,
    pub size: Size,
    pub watch: Watch,
    /// A clean exit of the agent means its task is done.
    pub exit_means_done: bool,
    /// Where the prompt is in `argv`, when it is an argument of its own (a resume drops it).
    pub prompt_at: Option<usize>,
    /// The agent's conversation id Baton chose (Claude's `--session-id`).
    pub conversation: Option<String>,
}

/// How to tell that the agent waits for input, and what to type when it first does.
#[derive(Clone)]
pub struct Watch {
    pub quiet_ms: u32,
    pub pattern: Option<Regex>,
    pub typed_prompt: Option<String>,
}

/// Without a profile: the default quiet time, no pattern, nothing to type.
impl Default for Watch {
    fn default() -> Self {
        Self {
            quiet_ms: DEFAULT_QUIET_MS,
            pattern: None,
            typed_prompt: None,
        }
    }
}

/// The part of the spec stored as the session's `launch` JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stored {
    pub cols: u16,
    pub rows: u16,
    pub quiet_ms: u32,
    pub wait_pattern: Option<String>,
    pub typed_prompt: Option<String>,
    #[serde(default)]
    pub exit_means_done: bool,
    #[serde(default)]
    pub prompt_at: Option<usize>,
}

impl Launch {
    pub fn stored(&self) -> Stored {
        Stored {
            cols: self.size.cols,
            rows: self.size.rows,
            quiet_ms: self.watch.quiet_ms,
            wait_pattern: self.watch.pattern.as_ref().map(|p| p.as_str().to_owned()),
            typed_prompt: self.watch.typed_prompt.clone(),
            exit_means_done: self.exit_means_done,
            prompt_at: self.prompt_at,
        }
    }

    /// The spec again, from what the session stored (`argv` and `env` with their secrets put
    /// back). Sessions made before specs were stored take their profile's settings.
    pub fn again(
        argv: Vec<String>,
        cwd: Option<&str>,
        env: BTreeMap<String, String>,
        stored: Option<Stored>,
        profile: Option<&agent_profile::Model>,
    ) -> Self {
        let stored = stored.unwrap_or_else(|| Stored {
            cols: super::DEFAULT_SIZE.cols,
            rows: super::DEFAULT_SIZE.rows,
            quiet_ms: profile.map_or(DEFAULT_QUIET_MS, |p| {
                u32::try_from(p.quiet_ms).unwrap_or(DEFAULT_QUIET_MS)
            }),
            wait_pattern: profile.and_then(|p| p.wait_pattern.clone()),
            typed_prompt: None,
            exit_means_done: profile.is_some_and(|p| p.exit_means_done),
            prompt_at: None,
        });
        Self {
            argv,
            cwd: cwd.map_or_else(default_cwd, PathBuf::from),
            env,
            size: Size {
                cols: stored.cols,
                rows: stored.rows,
            },
            watch: Watch {
                quiet_ms: stored.quiet_ms,
                pattern: stored
                    .wait_pattern
                    .as_deref()
                    .and_then(|p| Regex::new(p).ok()),
                typed_prompt: stored.typed_prompt,
            },
            exit_means_done: stored.exit_means_done,
            prompt_at: stored.prompt_at,
            conversation: None,
        }
    }
}

/// Where a session with no folder of its own (and no project folder) runs: the home folder.
pub fn default_cwd() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// Variables that tell a program it runs unattended, with no one at its terminal: an agent in a
/// Baton session always has its terminal (Gemini CLI with `CI` set reads a prompt from stdin and
/// quits). Not passed on from the server's environment; a profile may still set them.
const UNATTENDED: [&str; 3] = ["CI", "CONTINUOUS_INTEGRATION", "GITHUB_ACTIONS"];

/// What an agent inherits of the server's environment `vars`: all but Baton's own variables (a
/// server run from inside an agent's terminal must not pass that agent's identity on) and the
/// [`UNATTENDED`] markers.
pub fn inherited_env(vars: impl Iterator<Item = (String, String)>) -> BTreeMap<String, String> {
    vars.filter(|(k, _)| !k.starts_with("BATON_") && !UNATTENDED.contains(&k.as_str()))
        .collect()
}

/// What agents inherit of this server's environment ([`inherited_env`]), read once: Baton never
/// changes its own environment, and every start would otherwise read and filter it again.
pub fn server_env() -> &'static BTreeMap<String, String> {
    static INHERITED: std::sync::OnceLock<BTreeMap<String, String>> = std::sync::OnceLock::new();
    INHERITED.get_or_init(|| inherited_env(std::env::vars()))
}

/// The variables every agent gets, so that `baton` in its terminal acts on its own session and
/// tasks. Called for every run: the server may listen elsewhere now, and the tasks may have
/// changed.
pub fn baton_env(
    env: &mut BTreeMap<String, String>,
    api_url: &str,
    project_id: &str,
    session_id: &str,
    task_ids: &[String],
) {
    env.insert("TERM".into(), "xterm-256color".into());
    env.insert("COLORTERM".into(), "truecolor".into());
    env.insert("BATON_API_URL".into(), api_url.to_owned());
    env.insert("BATON_PROJECT_ID".into(), project_id.to_owned());
    env.insert("BATON_SESSION_ID".into(), session_id.to_owned());
    env.insert("BATON_TASK_IDS".into(), task_ids.join(","));
}

/// `argv` (without its first prompt) made to resume Codex's conversation: `codex resume <id> …`.
pub fn codex_resumed(
    mut argv: Vec<String>,
    prompt_at: Option<usize>,
    conversation: &str,
) -> Vec<String> {
    if let Some(prompt) = prompt_at.filter(|&p| p > 0 && p < argv.len()) {
        argv.remove(prompt);
    }
    let at = argv.len().min(1);
    argv.splice(at..at, ["resume".to_owned(), conversation.to_owned()]);
    argv
}

/// `argv` of a run that started conversation `conversation` (`--session-id <id>`), made to
/// resume it (`--resume <id>`) without the first prompt. `None` when it did not start one.
pub fn resumed(
    mut argv: Vec<String>,
    prompt_at: Option<usize>,
    conversation: &str,
) -> Option<Vec<String>> {
    let at = argv
        .windows(2)
        .position(|w| w[0] == "--session-id" && w[1] == conversation)?;
    argv[at] = "--resume".to_owned();
    if let Some(prompt) = prompt_at.filter(|&p| p > at + 1 && p < argv.len()) {
        argv.remove(prompt);
    }
    Some(argv)
}

/// Where [`profile_argv`] puts the prompt when it is an argument of its own.
pub fn prompt_position(profile: &agent_profile::Model, prompt: Option<&str>) -> Option<usize> {
    let mode = PromptMode::parse(&profile.prompt_mode).unwrap_or(PromptMode::None);
    let args: Vec<String> = from_text("agent_profile.args", &profile.args);
    let placeholder = args.iter().any(|a| a.contains("{prompt}"));
    (prompt.is_some() && mode == PromptMode::Argument && !placeholder).then_some(1 + args.len())
}

/// The argv of a profile, with the prompt handed over as it says.
pub fn profile_argv(
    profile: &agent_profile::Model,
    prompt: Option<String>,
) -> (Vec<String>, Watch) {
    let mode = PromptMode::parse(&profile.prompt_mode).unwrap_or(PromptMode::None);
    let args: Vec<String> = from_text("agent_profile.args", &profile.args);
    let mut argv = vec![resolve_program(&profile.program)];
    let placeholder = args.iter().any(|a| a.contains("{prompt}"));
    match (&prompt, mode) {
        (Some(p), PromptMode::Argument) if placeholder => {
            argv.extend(args.iter().map(|a| a.replace("{prompt}", p)));
        }
        (Some(p), PromptMode::Argument) => {
            argv.extend(args);
            argv.push(p.clone());
        }
        _ => argv.extend(args.into_iter().filter(|a| !a.contains("{prompt}"))),
    }
    let watch = Watch {
        quiet_ms: u32::try_from(profile.quiet_ms).unwrap_or(DEFAULT_QUIET_MS),
        pattern: profile
            .wait_pattern
            .as_deref()
            .and_then(|p| Regex::new(p).ok()),
        typed_prompt: prompt.filter(|_| mode == PromptMode::Type),
    };
    (argv, watch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::json::to_text;

    #[test]
    fn an_agent_inherits_neither_batons_identity_nor_an_unattended_marker() {
        let vars = [
            ("PATH", "/usr/bin"),
            ("CI", "true"),
            ("GITHUB_ACTIONS", "true"),
            ("BATON_TOKEN", "secret"),
            ("CIRCLE", "kept"),
        ];
        let env = inherited_env(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        assert_eq!(
            env.into_iter().collect::<Vec<_>>(),
            [
                ("CIRCLE".to_owned(), "kept".to_owned()),
                ("PATH".to_owned(), "/usr/bin".to_owned())
            ]
        );
    }

    fn profile(args: &[&str], mode: PromptMode) -> agent_profile::Model {
        agent_profile::Model {
            id: "p".into(),
            name: "p".into(),
            program: "agent".into(),
            args: to_text(&args),
            env: "{}".into(),
            prompt_mode: mode.as_str().into(),
            builtin: false,
            wait_pattern: Some(r"\$ $".into()),
            quiet_ms: 700,
            mcp: "none".into(),
            exit_means_done: true,
            signals: "none".into(),
            approval_wait_ms: 0,
            resume_after_limit: false,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn prompts_are_handed_over_as_the_profile_says() {
        let p = Some("fix the bug".to_owned());
        let plain = profile(&["--yes"], PromptMode::Argument);
        let (argv, w) = profile_argv(&plain, p.clone());
        assert_eq!(argv, ["agent", "--yes", "fix the bug"]);
        assert_eq!(prompt_position(&plain, p.as_deref()), Some(2));
        assert_eq!(prompt_position(&plain, None), None);
        assert!(w.typed_prompt.is_none());
        let (argv, _) = profile_argv(
            &profile(&["-m", "{prompt}", "-v"], PromptMode::Argument),
            p.clone(),
        );
        assert_eq!(argv, ["agent", "-m", "fix the bug", "-v"]);
        let inside = profile(&["-m", "{prompt}"], PromptMode::Argument);
        assert_eq!(prompt_position(&inside, p.as_deref()), None);
        let (argv, w) = profile_argv(&profile(&["-v"], PromptMode::Type), p.clone());
        assert_eq!(
            (argv, w.typed_prompt),
            (vec!["agent".to_owned(), "-v".to_owned()], p.clone())
        );
        let (argv, w) = profile_argv(&profile(&["{prompt}"], PromptMode::None), p);
        assert_eq!((argv, w.typed_prompt), (vec!["agent".to_owned()], None));
        assert_eq!(w.quiet_ms, 700);
        assert!(w.pattern.unwrap().is_match("~/src $ "));
    }

    #[test]
    fn a_resume_continues_the_conversation_without_the_first_prompt() {
        let argv: Vec<String> = [
            "claude",
            "--settings",
            "/s",
            "--session-id",
            "c1",
            "-v",
            "fix it",
            "--mcp-config",
            "{}",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            resumed(argv.clone(), Some(6), "c1").unwrap(),
            [
                "claude",
                "--settings",
                "/s",
                "--resume",
                "c1",
                "-v",
                "--mcp-config",
                "{}"
            ]
        );
        assert_eq!(resumed(argv.clone(), None, "c1").unwrap().len(), argv.len());
        assert!(resumed(argv, Some(6), "other").is_none());
        let codex: Vec<String> = ["codex", "-m", "x", "fix it"].map(String::from).to_vec();
        assert_eq!(
            codex_resumed(codex, Some(3), "c2"),
            ["codex", "resume", "c2", "-m", "x"]
        );
        let codex: Vec<String> = ["codex", "-m", "x", "fix it"].map(String::from).to_vec();
        assert_eq!(
            codex_resumed(codex, Some(3), "c2"),
            ["codex", "resume", "c2", "-m", "x"]
        );
    }

    #[test]
    fn a_stored_spec_comes_back_the_same_and_an_old_session_falls_back_like_a_new_one() {
        let (argv, watch) = profile_argv(&profile(&["-v"], PromptMode::Type), Some("go".into()));
        let launch = Launch {
            argv: argv.clone(),
            cwd: "/work".into(),
            env: BTreeMap::new(),
            size: Size { cols: 90, rows: 20 },
            watch,
            exit_means_done: true,
            prompt_at: Some(2),
            conversation: None,
        };
        let again = Launch::again(
            argv.clone(),
            Some("/work"),
            BTreeMap::new(),
            Some(launch.stored()),
            None,
        );
        assert_eq!(again.stored(), launch.stored());
        assert_eq!(again.cwd, launch.cwd);
        // No stored spec and no folder: the same folder a new session gets, not `/`.
        let old = Launch::again(
            argv,
            None,
            BTreeMap::new(),
            None,
            Some(&profile(&[], PromptMode::None)),
        );
        assert_eq!(old.cwd, default_cwd());
        assert_eq!((old.watch.quiet_ms, old.exit_means_done), (700, true));
    }
}
