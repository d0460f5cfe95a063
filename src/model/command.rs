//! Commands as callers hand them to the safety check (`POST /api/commands/validate`).

use serde::Deserialize;
use utoipa::ToSchema;

pub use crate::service::safety::CommandCheck;

/// A command: a line as a person types it, or an argv array as Baton runs it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum CommandText {
    Line(String),
    Argv(Vec<String>),
}

/// Body of `POST /api/commands/validate`.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({ "command": "rm -rf ~", "projectId": "proj_1" }))]
pub struct ValidateCommand {
    pub command: CommandText,
    /// The project whose folder the command would run in ("the repository root").
    #[serde(default)]
    pub project_id: Option<String>,
}
