//! Projects: a named working folder that tasks, sessions and messages belong to.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::nullable;

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: String,
    pub name: String,
    /// An absolute path to an existing folder, or null.
    pub base_path: Option<String>,
    /// Free-form settings object.
    #[schema(schema_with = super::schema::settings)]
    pub settings: serde_json::Map<String, serde_json::Value>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[serde_with::skip_serializing_none]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({ "name": "web app" }))]
pub struct NewProject {
    #[schema(schema_with = super::schema::name)]
    pub name: String,
    #[serde(default)]
    #[schema(schema_with = super::schema::absolute_path_or_null)]
    pub base_path: Option<String>,
    #[serde(default)]
    #[schema(schema_with = super::schema::settings_or_null)]
    pub settings: Option<serde_json::Map<String, serde_json::Value>>,
}

#[serde_with::skip_serializing_none]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProjectPatch {
    #[serde(default)]
    #[schema(schema_with = super::schema::name_or_null)]
    pub name: Option<String>,
    /// `null` clears the base path.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = super::schema::absolute_path_or_null)]
    pub base_path: Option<Option<String>>,
    /// Replaces the settings object.
    #[serde(default)]
    #[schema(schema_with = super::schema::settings_or_null)]
    pub settings: Option<serde_json::Map<String, serde_json::Value>>,
}
