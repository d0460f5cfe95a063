//! `/api/runs` and the runs of a session or a task: every start of a process, and the output
//! each one wrote.

use axum::extract::State;
use axum::http::{header, HeaderName};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use super::error::ApiError;
use super::extract::ApiPath;
use super::state::AppState;
use super::ErrorBody;
use crate::model::Run;
use crate::service::Actor;

type Result<T> = std::result::Result<T, ApiError>;

#[utoipa::path(get, path = "/api/sessions/{id}/runs", tag = "runs", params(("id" = String, Path)),
    description = "The session's runs, first to last (a restart is the next run).",
    responses((status = 200, body = Vec<Run>), (status = 404, body = ErrorBody)))]
pub async fn of_session(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<Run>>> {
    Ok(Json(s.service.list_session_runs(&id, &actor).await?))
}

#[utoipa::path(get, path = "/api/tasks/{id}/runs", tag = "runs", params(("id" = String, Path)),
    description = "The task's runs, in the order they started: those the queue started for it, and those of sessions linked to it (started by hand).",
    responses((status = 200, body = Vec<Run>), (status = 404, body = ErrorBody)))]
pub async fn of_task(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<Run>>> {
    Ok(Json(s.service.list_task_runs(&id, &actor).await?))
}

#[utoipa::path(get, path = "/api/runs/{id}", tag = "runs", params(("id" = String, Path)),
    responses((status = 200, body = Run), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Run>> {
    Ok(Json(s.service.get_run(&id, &actor).await?))
}

#[utoipa::path(get, path = "/api/runs/{id}/output", tag = "runs", params(("id" = String, Path)),
    description = "The raw bytes this run wrote to its session's log (so far, while it runs; at most 16 MiB from its start). `X-Output-Offset` is where they start in the session's log.",
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = ErrorBody)))]
pub async fn output(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response> {
    let (run, bytes) = s.service.run_output(&id, &actor).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                HeaderName::from_static("x-output-offset"),
                run.log_start.to_string(),
            ),
        ],
        bytes,
    )
        .into_response())
}
