//! `/api/sessions`: session records and their task links.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::state::AppState;
use super::{ErrorBody, Success};
use crate::model::{ListSessions, NewSession, Session, SessionPatch};
use crate::service::Actor;

type Result<T> = std::result::Result<T, ApiError>;

#[utoipa::path(get, path = "/api/sessions", tag = "sessions", params(ListSessions),
    responses((status = 200, body = Vec<Session>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    ApiQuery(query): ApiQuery<ListSessions>,
) -> Result<Json<Vec<Session>>> {
    Ok(Json(s.service.list_sessions(&query).await?))
}

#[utoipa::path(post, path = "/api/sessions", tag = "sessions", request_body = NewSession,
    responses((status = 201, body = Session), (status = 400, body = ErrorBody),
        (status = 409, description = "a session with this id exists", body = ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiJson(input): ApiJson<NewSession>,
) -> Result<(StatusCode, Json<Session>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.service.create_session(input, &actor).await?),
    ))
}

#[utoipa::path(get, path = "/api/sessions/{id}", tag = "sessions", params(("id" = String, Path)),
    responses((status = 200, body = Session), (status = 404, body = ErrorBody)))]
pub async fn get(State(s): State<AppState>, ApiPath(id): ApiPath<String>) -> Result<Json<Session>> {
    Ok(Json(s.service.get_session(&id).await?))
}

#[utoipa::path(patch, path = "/api/sessions/{id}", tag = "sessions", request_body = SessionPatch,
    params(("id" = String, Path)),
    responses((status = 200, body = Session), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "an ended session cannot become active again", body = ErrorBody)))]
pub async fn update(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<SessionPatch>,
) -> Result<Json<Session>> {
    Ok(Json(s.service.update_session(&id, patch).await?))
}

#[utoipa::path(delete, path = "/api/sessions/{id}", tag = "sessions", params(("id" = String, Path)),
    responses((status = 200, body = Success), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Success>> {
    s.service.delete_session(&id, &actor).await?;
    Ok(Json(Success::default()))
}

#[utoipa::path(post, path = "/api/sessions/{sid}/tasks/{tid}", tag = "sessions",
    params(("sid" = String, Path), ("tid" = String, Path)),
    responses((status = 200, body = Session), (status = 404, body = ErrorBody),
        (status = 409, description = "the task is already in the session", body = ErrorBody)))]
pub async fn add_task(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath((sid, tid)): ApiPath<(String, String)>,
) -> Result<Json<Session>> {
    Ok(Json(s.service.add_session_task(&sid, &tid, &actor).await?))
}

#[utoipa::path(delete, path = "/api/sessions/{sid}/tasks/{tid}", tag = "sessions",
    params(("sid" = String, Path), ("tid" = String, Path)),
    responses((status = 200, body = Session), (status = 404, body = ErrorBody)))]
pub async fn remove_task(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath((sid, tid)): ApiPath<(String, String)>,
) -> Result<Json<Session>> {
    Ok(Json(
        s.service.remove_session_task(&sid, &tid, &actor).await?,
    ))
}
