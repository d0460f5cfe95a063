//! `/api/projects`: thin handlers around the service's project calls.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath};
use super::{ErrorBody, Success};
use crate::model::{NewProject, Project, ProjectPatch};
use crate::service::Actor;

use super::state::AppState;

type Result<T> = std::result::Result<T, ApiError>;

#[utoipa::path(get, path = "/api/projects", tag = "projects",
    responses((status = 200, body = Vec<Project>)))]
pub async fn list(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Vec<Project>>> {
    Ok(Json(s.service.list_projects(&actor).await?))
}

#[utoipa::path(post, path = "/api/projects", tag = "projects", request_body = NewProject,
    responses((status = 201, body = Project), (status = 400, body = ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiJson(input): ApiJson<NewProject>,
) -> Result<(StatusCode, Json<Project>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.service.create_project(input, &actor).await?),
    ))
}

#[utoipa::path(get, path = "/api/projects/{id}", tag = "projects",
    params(("id" = String, Path)),
    responses((status = 200, body = Project), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Project>> {
    Ok(Json(s.service.get_project(&id, &actor).await?))
}

#[utoipa::path(patch, path = "/api/projects/{id}", tag = "projects", request_body = ProjectPatch,
    params(("id" = String, Path)),
    responses((status = 200, body = Project), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<ProjectPatch>,
) -> Result<Json<Project>> {
    Ok(Json(s.service.update_project(&id, patch, &actor).await?))
}

#[utoipa::path(delete, path = "/api/projects/{id}", tag = "projects",
    params(("id" = String, Path)),
    responses((status = 200, body = Success), (status = 404, body = ErrorBody),
        (status = 409, description = "the project has running sessions", body = ErrorBody)))]
pub async fn delete(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Success>> {
    s.service.delete_project(&id, &actor).await?;
    Ok(Json(Success::default()))
}
