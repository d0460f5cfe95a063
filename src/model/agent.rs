//! Agent profiles: how to start one kind of agent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How a task's prompt reaches the agent.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum PromptMode {
    /// As an argument: replaces `{prompt}` in the args, or is appended when there is none.
    Argument,
    /// Typed into the terminal (and Enter pressed) once the agent first waits for input.
    Type,
    /// Not at all.
    None,
}

impl PromptMode {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// How Baton's own MCP server (`baton mcp`) is configured for an agent when it starts.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum McpStyle {
    /// The agent is not told about Baton's MCP server.
    None,
    /// Claude Code: `--mcp-config <json>` (appended last: the option takes several values).
    Claude,
    /// Codex CLI: `-c mcp_servers.baton.…` overrides, forwarding the `BATON_*` variables.
    Codex,
    /// Gemini CLI: a settings file named by `GEMINI_CLI_SYSTEM_SETTINGS_PATH`.
    Gemini,
}

impl McpStyle {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// How an agent reports what it does, besides its output.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SignalStyle {
    /// Only its output (quiet time, wait pattern).
    None,
    /// Claude Code's hooks, installed per session with `--settings <file>` (never in the user's
    /// own settings), and `--session-id` so that the conversation can be resumed.
    Claude,
    /// Codex CLI: its in-band state reports (`OSC 7501`), its rollout file for the conversation
    /// id and usage, `codex resume <id>`.
    Codex,
    /// Gemini CLI: its hooks, installed per session in the settings file named by
    /// `GEMINI_CLI_SYSTEM_SETTINGS_PATH` (never the user's own), its chat file for usage, and
    /// `--session-id` / `--resume <id>`.
    Gemini,
}

impl SignalStyle {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// The variable that tells an agent's permission hook (and Baton) how long to wait for a
/// decision: set from the profile's `approvalWaitMs`, or in a session's own `env`.
pub const APPROVAL_WAIT_VAR: &str = "BATON_APPROVAL_WAIT_MS";
/// The longest a permission hook may wait for a decision made in Baton.
pub const MAX_APPROVAL_WAIT_MS: u32 = 600_000;

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentProfile {
    pub id: String,
    pub name: String,
    /// The program: a name looked up on `PATH`, or a path.
    pub program: String,
    pub args: Vec<String>,
    /// Extra environment for the agent.
    pub env: BTreeMap<String, String>,
    pub prompt_mode: PromptMode,
    /// A regex; the agent counts as waiting when the last line of its output matches it.
    pub wait_pattern: Option<String>,
    /// Quiet for this long (ms) and the agent counts as waiting.
    pub quiet_ms: u32,
    /// How Baton's MCP server is configured for this agent (`none` when it cannot be).
    pub mcp: McpStyle,
    /// A clean exit (0) of the agent means its task is done (batch agents such as `claude -p`).
    pub exit_means_done: bool,
    /// How the agent reports its state besides its output (`claude`: its hooks).
    pub signals: SignalStyle,
    /// How long the agent's permission hook waits for Allow / Deny from Baton (0: it does not
    /// wait; the agent's own prompt in its terminal still answers).
    pub approval_wait_ms: u32,
    /// Once a usage limit the agent reported resets, Baton continues its session (types
    /// `continue` into a running one, resumes a stopped one).
    pub resume_after_limit: bool,
    /// Shipped with Baton (may be edited, not deleted).
    pub builtin: bool,
    /// Whether the program is found on `PATH`.
    pub available: bool,
    /// Where it was found.
    pub path: Option<String>,
    /// The first line of `program --version`, when it answers within a second or two.
    pub version: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({ "name": "My shell", "program": "sh", "args": ["-i"], "quietMs": 2000 }))]
pub struct NewAgentProfile {
    /// Letters, digits, `_`, `-`, `.`; generated when absent.
    #[serde(default)]
    #[schema(schema_with = super::schema::client_id_or_null)]
    pub id: Option<String>,
    #[schema(schema_with = super::schema::name)]
    pub name: String,
    #[schema(schema_with = super::schema::program)]
    pub program: String,
    #[serde(default)]
    #[schema(schema_with = super::schema::args_or_null)]
    pub args: Option<Vec<String>>,
    #[serde(default)]
    #[schema(schema_with = super::schema::env_or_null)]
    pub env: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub prompt_mode: Option<PromptMode>,
    #[serde(default)]
    pub wait_pattern: Option<String>,
    #[serde(default)]
    #[schema(minimum = 50, maximum = 600000)]
    pub quiet_ms: Option<u32>,
    /// Default `none`.
    #[serde(default)]
    pub mcp: Option<McpStyle>,
    /// Default false: a task is done when it is marked done.
    #[serde(default)]
    pub exit_means_done: Option<bool>,
    /// Default `none`.
    #[serde(default)]
    pub signals: Option<SignalStyle>,
    /// Default 0 (the hook does not wait).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 600000)]
    pub approval_wait_ms: Option<u32>,
    /// Default false.
    #[serde(default)]
    pub resume_after_limit: Option<bool>,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentProfilePatch {
    #[serde(default)]
    #[schema(schema_with = super::schema::name_or_null)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(schema_with = super::schema::program_or_null)]
    pub program: Option<String>,
    #[serde(default)]
    #[schema(schema_with = super::schema::args_or_null)]
    pub args: Option<Vec<String>>,
    #[serde(default)]
    #[schema(schema_with = super::schema::env_or_null)]
    pub env: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub prompt_mode: Option<PromptMode>,
    /// `null` removes the pattern.
    #[serde(default, deserialize_with = "super::nullable")]
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    #[schema(value_type = Option<String>)]
    pub wait_pattern: Option<Option<String>>,
    #[serde(default)]
    #[schema(minimum = 50, maximum = 600000)]
    pub quiet_ms: Option<u32>,
    #[serde(default)]
    pub mcp: Option<McpStyle>,
    #[serde(default)]
    pub exit_means_done: Option<bool>,
    /// Default `none`.
    #[serde(default)]
    pub signals: Option<SignalStyle>,
    /// Default 0 (the hook does not wait).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 600000)]
    pub approval_wait_ms: Option<u32>,
    /// Default false.
    #[serde(default)]
    pub resume_after_limit: Option<bool>,
}
