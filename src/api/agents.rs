//! `/api/agents`: agent profiles (how to start each kind of agent).

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath};
use super::state::AppState;
use super::{ErrorBody, Success};
use crate::model::{AgentProfile, AgentProfilePatch, NewAgentProfile};
use crate::service::Actor;

type Result<T> = std::result::Result<T, ApiError>;

#[utoipa::path(get, path = "/api/agents", tag = "agents",
    description = "Every profile, with whether its program is on PATH and its version.",
    responses((status = 200, body = Vec<AgentProfile>)))]
pub async fn list(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Vec<AgentProfile>>> {
    Ok(Json(s.service.list_agent_profiles(&actor).await?))
}

#[utoipa::path(post, path = "/api/agents", tag = "agents", request_body = NewAgentProfile,
    responses((status = 201, body = AgentProfile), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiJson(input): ApiJson<NewAgentProfile>,
) -> Result<(StatusCode, Json<AgentProfile>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.service.create_agent_profile(input, &actor).await?),
    ))
}

#[utoipa::path(get, path = "/api/agents/{id}", tag = "agents", params(("id" = String, Path)),
    responses((status = 200, body = AgentProfile), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AgentProfile>> {
    Ok(Json(s.service.get_agent_profile(&id, &actor).await?))
}

#[utoipa::path(patch, path = "/api/agents/{id}", tag = "agents", request_body = AgentProfilePatch,
    params(("id" = String, Path)),
    responses((status = 200, body = AgentProfile), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<AgentProfilePatch>,
) -> Result<Json<AgentProfile>> {
    Ok(Json(
        s.service.update_agent_profile(&id, patch, &actor).await?,
    ))
}

#[utoipa::path(delete, path = "/api/agents/{id}", tag = "agents", params(("id" = String, Path)),
    responses((status = 200, body = Success), (status = 404, body = ErrorBody),
        (status = 409, description = "built-in profiles cannot be deleted", body = ErrorBody)))]
pub async fn delete(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Success>> {
    s.service.delete_agent_profile(&id, &actor).await?;
    Ok(Json(Success::default()))
}
