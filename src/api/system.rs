//! `/api/health` (no token), `/api/version`, `/api/system/status`, `/metrics` and the token.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::{Extension, Json};

use crate::model::SystemStatus;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` while the server answers.
    status: &'static str,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    name: &'static str,
    version: &'static str,
    api_version: u32,
}

#[utoipa::path(get, path = "/api/health", tag = "system", security(()),
    responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[utoipa::path(get, path = "/api/version", tag = "system", responses((status = 200, body = Version)))]
pub async fn version() -> Json<Version> {
    Json(Version {
        name: env!("CARGO_PKG_NAME"),
        version: env!("CARGO_PKG_VERSION"),
        api_version: 1,
    })
}

#[derive(Serialize, ToSchema)]
pub struct NewToken {
    /// The new admin token; the old one is refused from now on.
    token: String,
}

#[utoipa::path(post, path = "/api/token/regenerate", tag = "system",
    description = "Replaces the admin token (stored in `<data-dir>/token`). Agents' session tokens may not.",
    responses((status = 200, body = NewToken), (status = 403, body = super::ErrorBody)))]
pub async fn regenerate_token(
    State(s): State<super::state::AppState>,
    Extension(actor): Extension<crate::service::Actor>,
) -> Result<Json<NewToken>, super::error::ApiError> {
    Ok(Json(NewToken {
        token: s.service.regenerate_token(&actor)?,
    }))
}

#[utoipa::path(get, path = "/api/system/status", tag = "system",
    description = "Uptime, version, sessions by status, running processes, queue sizes and the database's size.",
    responses((status = 200, body = SystemStatus)))]
pub async fn status(
    State(s): State<super::state::AppState>,
    Extension(actor): Extension<crate::service::Actor>,
) -> Result<Json<SystemStatus>, super::error::ApiError> {
    Ok(Json(s.service.system_status(&actor).await?))
}

#[utoipa::path(get, path = "/metrics", tag = "system",
    description = "Prometheus text format: running sessions, sessions by status and by end state, output bytes, API requests by route and status, WebSocket clients, message-bus appends, webhook deliveries by outcome. Needs the token like every other route.",
    responses((status = 200, content_type = "text/plain; version=0.0.4", description = "the exposition")))]
pub async fn metrics(
    State(s): State<super::state::AppState>,
    Extension(actor): Extension<crate::service::Actor>,
) -> Result<impl IntoResponse, super::error::ApiError> {
    let text = s.service.metrics_text(&actor).await?;
    Ok(([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text))
}
