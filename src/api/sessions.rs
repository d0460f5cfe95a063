//! `/api/sessions`: session records and their task links.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};
use super::state::AppState;
use super::{ErrorBody, Success};
use crate::model::{
    DeleteSession, ListSessions, NewSession, Reported, Session, SessionInput, SessionPatch,
    SessionReport, StopSession,
};
use crate::service::Actor;

type Result<T> = std::result::Result<T, ApiError>;

#[utoipa::path(get, path = "/api/sessions", tag = "sessions", params(ListSessions),
    responses((status = 200, body = Vec<Session>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiQuery(query): ApiQuery<ListSessions>,
) -> Result<Json<Vec<Session>>> {
    Ok(Json(s.service.list_sessions(&query, &actor).await?))
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
pub async fn get(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Session>> {
    Ok(Json(s.service.get_session(&id, &actor).await?))
}

#[utoipa::path(patch, path = "/api/sessions/{id}", tag = "sessions", request_body = SessionPatch,
    params(("id" = String, Path)),
    responses((status = 200, body = Session), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "an ended session cannot become active again", body = ErrorBody)))]
pub async fn update(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<SessionPatch>,
) -> Result<Json<Session>> {
    Ok(Json(s.service.update_session(&id, patch, &actor).await?))
}

#[utoipa::path(delete, path = "/api/sessions/{id}", tag = "sessions", params(("id" = String, Path), DeleteSession),
    responses((status = 200, body = Success), (status = 404, body = ErrorBody),
        (status = 409, description = "the session is running (use ?force=true)", body = ErrorBody)))]
pub async fn delete(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<DeleteSession>,
) -> Result<Json<Success>> {
    s.service.delete_session(&id, &query, &actor).await?;
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

#[utoipa::path(post, path = "/api/sessions/{id}/stop", tag = "sessions", request_body = Option<StopSession>,
    params(("id" = String, Path)),
    description = "SIGHUP and SIGTERM to the process group, SIGKILL after the grace period; answers once the end is recorded.",
    responses((status = 200, body = Session), (status = 404, body = ErrorBody),
        (status = 409, description = "the session is not running", body = ErrorBody)))]
pub async fn stop(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<StopSession>,
) -> Result<Json<Session>> {
    Ok(Json(s.service.stop_session(&id, &body, &actor).await?))
}

#[utoipa::path(post, path = "/api/sessions/{id}/restart", tag = "sessions", params(("id" = String, Path)),
    description = "Starts the session's command again as a new run (stopping the current one first); its output continues the same log.",
    responses((status = 200, body = Session), (status = 404, body = ErrorBody),
        (status = 409, description = "the session has no command (a record only)", body = ErrorBody)))]
pub async fn restart(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Session>> {
    Ok(Json(s.service.restart_session(&id, &actor).await?))
}

#[utoipa::path(post, path = "/api/sessions/{id}/report", tag = "sessions", request_body = SessionReport,
    params(("id" = String, Path)),
    description = "What an agent says about its own progress: the session keeps the last status line and percentage, and a PROGRESS message is posted (about the session's task when it has exactly one). A session token may report for its own session only.",
    responses((status = 201, body = Reported), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn report(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    ApiJson(report): ApiJson<SessionReport>,
) -> Result<(StatusCode, Json<Reported>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.service.report_session(&id, report, &actor).await?),
    ))
}

#[utoipa::path(post, path = "/api/sessions/{id}/input", tag = "sessions", request_body = SessionInput,
    params(("id" = String, Path)),
    description = "Types text into the session's terminal as if on its keyboard (quick replies: `y\\r`, Enter as `\\r`, Esc as `\\u001b`). An agent may type into its own terminal only.",
    responses((status = 204, description = "typed"), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "no running process", body = ErrorBody)))]
pub async fn input(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<SessionInput>,
) -> Result<StatusCode> {
    s.service.get_session(&id, &actor).await?;
    s.service.type_into(&id, &input.text, &actor).await?;
    Ok(StatusCode::NO_CONTENT)
}
