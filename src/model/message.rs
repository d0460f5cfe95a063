//! Messages on the project's message bus: notes, progress reports, questions, decisions.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    pub project_id: String,
    pub task_id: Option<String>,
    pub session_id: Option<String>,
    /// `USER`, `FACT`, `PROGRESS`, `DECISION`, `QUESTION`, `ERROR`, … (upper-case word).
    pub r#type: String,
    pub body: String,
    /// The messages this one answers (threads).
    pub parent_ids: Vec<String>,
    /// `user`, `session:<id>` or `system`.
    pub author: String,
    pub created_at: i64,
}

#[serde_with::skip_serializing_none]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewMessage {
    pub project_id: String,
    #[serde(default)]
    pub task_id: Option<String>,
    #[serde(default)]
    pub session_id: Option<String>,
    /// Defaults to `USER`.
    #[serde(default)]
    #[schema(schema_with = super::schema::message_type_or_null)]
    pub r#type: Option<String>,
    #[schema(schema_with = super::schema::not_blank)]
    pub body: String,
    #[serde(default)]
    #[schema(max_items = 32)]
    pub parent_ids: Option<Vec<String>>,
}

/// Filters and paging of `GET /api/messages`.
#[serde_with::skip_serializing_none]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListMessages {
    pub project_id: Option<String>,
    pub task_id: Option<String>,
    pub session_id: Option<String>,
    /// Resume after this message id: the next `limit` messages, oldest first. Without it, the
    /// newest `limit` messages, oldest first.
    pub after: Option<String>,
    /// 1–1000, default 100.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}
