//! Sessions: one agent process in one terminal (this module holds the record; the PTY engine
//! runs the process).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SessionStatus {
    Starting,
    Running,
    /// The agent waits for input.
    Waiting,
    Completed,
    Failed,
    Stopped,
    /// Baton itself went away while the session ran.
    Interrupted,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// Whether a process is (or is about to be) alive in this state.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            SessionStatus::Starting | SessionStatus::Running | SessionStatus::Waiting
        )
    }

    /// The names of the active states, for a query's filter.
    pub fn active_names() -> Vec<&'static str> {
        use strum::IntoEnumIterator;
        Self::iter()
            .filter(|s| s.is_active())
            .map(Self::as_str)
            .collect()
    }
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub id: String,
    pub project_id: String,
    pub task_ids: Vec<String>,
    pub name: String,
    pub agent_id: Option<String>,
    /// The argv the agent runs with (empty for a record with no process).
    pub command: Vec<String>,
    pub cwd: Option<String>,
    /// The environment Baton hands the agent, never including its token.
    pub env: BTreeMap<String, String>,
    pub status: SessionStatus,
    pub pid: Option<i32>,
    pub exit_code: Option<i32>,
    /// The signal that ended the process (`SIGTERM`, …).
    pub signal: Option<String>,
    /// While a process runs: `working`, `waiting_input`, `waiting_permission` or `idle`.
    pub activity: Option<Activity>,
    /// What decided `activity`: the agent's hooks or its output.
    pub activity_source: Option<ActivitySource>,
    /// While it waits for a permission: which tool, and the action to decide.
    pub permission: Option<PermissionAsked>,
    /// The agent's own conversation id (Claude's `--session-id`), for `resume`.
    pub conversation_id: Option<String>,
    /// The agent reported its usage limit: until then (Unix ms) the queue starts nothing with
    /// its agent profile. Absent once the time has passed.
    pub limited_until: Option<i64>,
    /// While it waits: since when (Unix ms).
    pub waiting_since: Option<i64>,
    /// While it waits: the last non-empty lines of its screen (what it asks), at most three.
    pub question: Vec<String>,
    /// The last status line the agent reported (`baton status "…"`).
    pub status_text: Option<String>,
    /// The last percentage the agent reported (`baton progress N`), 0–100.
    pub progress: Option<i32>,
    pub started_at: Option<i64>,
    pub last_activity: Option<i64>,
    pub completed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    /// Printing (output) or mid-turn (hooks).
    Working,
    /// Needs the person: quiet, its input box shown, or it said so.
    WaitingInput,
    /// Asks permission to run a tool (hooks only): see `permission`.
    WaitingPermission,
    /// Its turn ended (hooks only).
    Idle,
}

impl Activity {
    /// Whether it needs the person (the session's status is then `waiting`).
    pub fn is_waiting(self) -> bool {
        matches!(self, Activity::WaitingInput | Activity::WaitingPermission)
    }
}

/// What decided a session's activity.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivitySource {
    /// The agent's own hooks (exact).
    Hook,
    /// Its output: quiet time or wait pattern (a guess).
    Output,
}

/// The permission an agent waits for.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermissionAsked {
    /// The pending action to decide (`POST /api/sessions/:id/actions/:actionId`).
    pub action_id: Option<String>,
    pub tool: String,
    pub summary: String,
}

#[serde_with::skip_serializing_none]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewSession {
    /// A client-chosen id (letters, digits, `_`, `-`, `.`; at most 128); generated when absent.
    #[serde(default)]
    #[schema(schema_with = super::schema::client_id_or_null)]
    pub id: Option<String>,
    pub project_id: String,
    #[serde(default)]
    pub task_ids: Option<Vec<String>>,
    #[serde(default)]
    #[schema(schema_with = super::schema::name_or_null)]
    pub name: Option<String>,
    /// An agent profile: starts its program in a terminal.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// Or an explicit argv to start (never a shell string). With neither, the session is a
    /// record only (the caller runs the agent itself).
    #[serde(default)]
    #[schema(schema_with = super::schema::command_or_null)]
    pub command: Option<Vec<String>>,
    /// Working folder; defaults to the project's base path (else the home folder).
    #[serde(default)]
    #[schema(schema_with = super::schema::absolute_path_or_null)]
    pub cwd: Option<String>,
    /// Extra environment for this session.
    #[serde(default)]
    #[schema(schema_with = super::schema::env_or_null)]
    pub env: Option<BTreeMap<String, String>>,
    /// Configure Baton's MCP server for the agent when its profile knows how (default true).
    #[serde(default)]
    pub mcp: Option<bool>,
    /// Terminal size, default 120×32.
    #[serde(default)]
    #[schema(minimum = 2, maximum = 1000)]
    pub cols: Option<u16>,
    #[serde(default)]
    #[schema(minimum = 2, maximum = 1000)]
    pub rows: Option<u16>,
    /// Run a `command` the safety check calls dangerous anyway (the person only; see
    /// `POST /api/commands/validate`).
    #[serde(default)]
    pub confirm: Option<bool>,
}

/// Query of `DELETE /api/sessions/:id`.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteSession {
    /// Stop a running session first (`true`), or refuse with 409 (`false`, the default).
    #[param(value_type = Option<bool>)]
    pub force: Option<String>,
}

/// Body of `POST /api/sessions/:id/stop` (optional).
#[serde_with::skip_serializing_none]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StopSession {
    /// How long after SIGTERM before SIGKILL (default 5000 ms, at most 600000).
    #[serde(default)]
    #[schema(maximum = 600000)]
    pub grace_ms: Option<u64>,
}

#[serde_with::skip_serializing_none]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionPatch {
    #[serde(default)]
    #[schema(schema_with = super::schema::name_or_null)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<SessionStatus>,
    /// The end time to record when `status` becomes an end state (defaults to now).
    #[serde(default)]
    pub completed_at: Option<i64>,
}

/// Filters of `GET /api/sessions`.
#[serde_with::skip_serializing_none]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListSessions {
    /// Sessions linked to this task.
    pub task_id: Option<String>,
    pub project_id: Option<String>,
    /// Comma-separated statuses.
    #[param(value_type = Option<Vec<SessionStatus>>, style = Form, explode = false, min_items = 1)]
    pub status: Option<String>,
}

/// Body of `POST /api/sessions/:id/report`: what an agent says about its own progress. At
/// least one of the two.
#[serde_with::skip_serializing_none]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionReport {
    /// One line: what the agent is doing now.
    #[serde(default)]
    #[schema(schema_with = super::schema::title_or_null)]
    pub text: Option<String>,
    /// How far along, 0–100.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100)]
    pub progress: Option<i32>,
}

/// Body of `POST /api/sessions/:id/input`: text typed into the session's terminal, as if on
/// its keyboard (`"y\r"`, `"\u001b"` for Esc).
#[serde_with::skip_serializing_none]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionInput {
    #[schema(min_length = 1, max_length = 16384)]
    pub text: String,
}

/// The answer to a report: the session as it is now and the `PROGRESS` message posted.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reported {
    pub session: Session,
    pub message: super::Message,
}
