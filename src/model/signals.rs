//! What agents signal besides their output: hook events, the permission requests they turn into
//! (pending actions the person decides), and token usage with its cost.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One hook event of the session's agent, as `baton hook <event>` posts it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HookEvent {
    /// The agent's name for the event (`SessionStart`, `PreToolUse`, `PermissionRequest`, `Stop`, …).
    #[schema(min_length = 1, max_length = 64)]
    pub event: String,
    /// The JSON object the agent gave the hook on its standard input.
    #[serde(default)]
    #[cfg_attr(feature = "specta", specta(type = Option<serde_json::Value>))]
    #[schema(value_type = Option<Object>)]
    pub payload: Option<serde_json::Map<String, serde_json::Value>>,
}

/// What the hook prints back to the agent: nothing, or its answer (a permission decision).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookAnswer {
    /// Printed by the hook as it is, when present.
    #[cfg_attr(feature = "specta", specta(type = Option<serde_json::Value>))]
    #[schema(value_type = Option<Object>)]
    pub output: Option<serde_json::Value>,
}

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
pub enum ActionStatus {
    Pending,
    Allowed,
    Denied,
    /// Answered elsewhere (in the agent's own terminal) or no longer asked.
    Expired,
}

impl ActionStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// Something a session's agent asks the person to decide: a tool it wants to run.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionAction {
    pub id: String,
    pub session_id: String,
    pub project_id: String,
    /// `permission`.
    pub kind: String,
    pub tool: String,
    /// One line: what the tool would do.
    pub summary: String,
    #[cfg_attr(feature = "specta", specta(type = serde_json::Value))]
    #[schema(value_type = Object)]
    pub input: serde_json::Value,
    pub status: ActionStatus,
    pub reason: Option<String>,
    /// Who decided: `user`, `admin`, or `terminal` when it was answered in the agent's terminal.
    pub decided_by: Option<String>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Deny,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecideAction {
    pub decision: Decision,
    /// Told to the agent with a denial.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

/// What a model's tokens cost: US dollars per million tokens of each kind.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelPrice {
    #[schema(minimum = 0)]
    pub input: f64,
    #[schema(minimum = 0)]
    pub output: f64,
    #[schema(minimum = 0)]
    pub cache_read: f64,
    #[schema(minimum = 0)]
    pub cache_write: f64,
}

/// The price table: by model-name prefix (the longest prefix of a model's name prices it).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceTable {
    pub prices: std::collections::BTreeMap<String, ModelPrice>,
    /// `built_in` (Baton's own table) or `data_dir` (`<data-dir>/prices.json`, as set here).
    pub source: String,
}

/// `PUT /api/prices`: the table to use from now on, replacing Baton's own.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetPrices {
    /// By model-name prefix; `""` prices every model no longer prefix matches.
    pub prices: std::collections::BTreeMap<String, ModelPrice>,
}

/// Tokens of one model, and what they cost.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModelUsage {
    pub model: String,
    /// Model messages counted.
    pub messages: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    /// US dollars from the price table; `null` when the model has no price.
    pub cost_usd: Option<f64>,
}

/// A session's, task's or project's usage: per model and in total.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub models: Vec<ModelUsage>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    /// The sum of the priced models' costs.
    pub cost_usd: f64,
    /// Models used that have no price (their cost is not in `costUsd`).
    pub unpriced: Vec<String>,
}

/// Query of `GET /api/projects/{id}/usage`.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// Only usage recorded since this time (Unix ms).
    #[param(minimum = 0)]
    pub since: Option<i64>,
}
