//! Starting an agent with Baton's MCP server (`baton mcp`) already configured, in the way each
//! agent CLI takes MCP servers. Only the path of the `baton` program goes into arguments or
//! files: the token reaches `baton mcp` through the environment the agent passes on, never
//! through a command line (visible to every local user) or a file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::model::McpStyle;

/// The variables `baton mcp` needs from the agent's environment.
const FORWARDED: [&str; 5] = [
    "BATON_API_URL",
    "BATON_TOKEN",
    "BATON_PROJECT_ID",
    "BATON_SESSION_ID",
    "BATON_TASK_IDS",
];

/// What configuring MCP adds to a launch.
#[derive(Debug, Default, PartialEq)]
pub struct McpSetup {
    /// The argv with the MCP arguments added.
    pub argv: Vec<String>,
    /// Extra environment for the agent.
    pub env: BTreeMap<String, String>,
    /// A settings file to write before starting: (path, contents).
    pub file: Option<(PathBuf, String)>,
}

/// Adds Baton's MCP server to `argv` as `style` says. `session_dir` holds per-session files.
pub fn configure(style: McpStyle, cli: &Path, argv: Vec<String>, session_dir: &Path) -> McpSetup {
    let command = cli.display().to_string();
    match style {
        McpStyle::None => McpSetup {
            argv,
            ..McpSetup::default()
        },
        // `--mcp-config` takes several values: last, so that it swallows nothing else.
        McpStyle::Claude => {
            let config = json!({ "mcpServers": { "baton": {
                "type": "stdio", "command": command, "args": ["mcp"]
            }}});
            let mut argv = argv;
            argv.extend(["--mcp-config".to_owned(), config.to_string()]);
            McpSetup {
                argv,
                ..McpSetup::default()
            }
        }
        // `-c key=value` overrides (TOML values) right after the program, before any prompt.
        // Codex starts MCP servers with a minimal environment: `env_vars` forwards ours.
        McpStyle::Codex => {
            let toml_string = |s: &str| serde_json::Value::from(s).to_string();
            let vars: Vec<String> = FORWARDED.iter().map(|v| toml_string(v)).collect();
            let overrides = [
                format!("mcp_servers.baton.command={}", toml_string(&command)),
                "mcp_servers.baton.args=[\"mcp\"]".to_owned(),
                format!("mcp_servers.baton.env_vars=[{}]", vars.join(",")),
            ];
            let mut out = Vec::with_capacity(argv.len() + 6);
            let mut rest = argv.into_iter();
            out.extend(rest.next());
            for o in overrides {
                out.push("-c".to_owned());
                out.push(o);
            }
            out.extend(rest);
            McpSetup {
                argv: out,
                ..McpSetup::default()
            }
        }
        // Gemini CLI has no flag for it: a settings file of this session's, named by the
        // variable that replaces the system settings file. `$VAR`s are expanded by Gemini.
        McpStyle::Gemini => {
            let env: serde_json::Map<String, serde_json::Value> = FORWARDED
                .iter()
                .map(|v| ((*v).to_owned(), format!("${v}").into()))
                .collect();
            let settings = json!({ "mcpServers": { "baton": {
                "command": command, "args": ["mcp"], "env": env
            }}});
            let path = session_dir.join("gemini-settings.json");
            McpSetup {
                argv,
                env: BTreeMap::from([(
                    "GEMINI_CLI_SYSTEM_SETTINGS_PATH".to_owned(),
                    path.display().to_string(),
                )]),
                file: Some((path, format!("{settings:#}\n"))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn claude_gets_an_mcp_config_after_everything_else() {
        let got = configure(
            McpStyle::Claude,
            Path::new("/opt/baton/baton"),
            argv(&["claude", "fix the bug"]),
            Path::new("/d"),
        );
        assert_eq!(
            &got.argv[..3],
            &argv(&["claude", "fix the bug", "--mcp-config"])
        );
        let config: serde_json::Value = serde_json::from_str(&got.argv[3]).unwrap();
        assert_eq!(config["mcpServers"]["baton"]["command"], "/opt/baton/baton");
        assert_eq!(config["mcpServers"]["baton"]["args"], json!(["mcp"]));
        assert!(
            !got.argv[3].contains("TOKEN"),
            "no secret on the command line"
        );
    }

    #[test]
    fn codex_gets_overrides_before_the_prompt_and_forwards_the_variables() {
        let got = configure(
            McpStyle::Codex,
            Path::new("/opt/my \"baton\"/baton"),
            argv(&["codex", "fix the bug"]),
            Path::new("/d"),
        );
        assert_eq!(got.argv[0], "codex");
        assert_eq!(got.argv.last().unwrap(), "fix the bug");
        assert_eq!(got.argv[1], "-c");
        assert_eq!(
            got.argv[2], r#"mcp_servers.baton.command="/opt/my \"baton\"/baton""#,
            "a TOML string, quotes escaped"
        );
        assert!(got.argv[6].contains(r#""BATON_TOKEN""#), "{:?}", got.argv);
    }

    #[test]
    fn gemini_gets_a_settings_file_named_by_its_variable() {
        let got = configure(
            McpStyle::Gemini,
            Path::new("/opt/baton"),
            argv(&["gemini"]),
            Path::new("/data/sessions/s1"),
        );
        assert_eq!(got.argv, argv(&["gemini"]));
        let (path, text) = got.file.unwrap();
        assert_eq!(path, Path::new("/data/sessions/s1/gemini-settings.json"));
        assert_eq!(
            got.env["GEMINI_CLI_SYSTEM_SETTINGS_PATH"],
            "/data/sessions/s1/gemini-settings.json"
        );
        let settings: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            settings["mcpServers"]["baton"]["env"]["BATON_TOKEN"],
            "$BATON_TOKEN"
        );
    }

    #[test]
    fn none_changes_nothing() {
        let got = configure(
            McpStyle::None,
            Path::new("/b"),
            argv(&["aider"]),
            Path::new("/d"),
        );
        assert_eq!(
            got,
            McpSetup {
                argv: argv(&["aider"]),
                ..McpSetup::default()
            }
        );
    }
}
