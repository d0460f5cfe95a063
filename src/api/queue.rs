//! Executing tasks (`/api/tasks/{id}/execute`, `cancel`, `retry`, `resume`) and the queue
//! itself (`/api/queue`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, OptionalJson};
use super::state::AppState;
use super::ErrorBody;
use crate::model::{
    Affected, BulkRequest, BulkResult, CancelTask, ClearQueue, ExecuteTask, Executed,
    ExecutionState, ProjectStats, QueuePatch, QueuePriority, QueueScope, QueueStatus, Task,
};
use crate::service::Actor;

type Result<T> = std::result::Result<T, ApiError>;

/// 200 with the run when it started at once; 202 when it waits (queued or blocked).
fn answer(executed: Executed) -> (StatusCode, Json<Executed>) {
    let status = if executed.status == ExecutionState::Running {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    (status, Json(executed))
}

#[utoipa::path(post, path = "/api/tasks/{id}/execute", tag = "queue", params(("id" = String, Path)),
    request_body = Option<ExecuteTask>,
    description = "Queues the task for its agent (or blocks it until its dependencies are completed). When a slot is free it starts at once: 200 with the run; otherwise 202 with its place in the queue.",
    responses((status = 200, description = "started", body = Executed),
        (status = 202, description = "queued or blocked", body = Executed),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "already queued, blocked or running; or completed (resume it)", body = ErrorBody)))]
pub async fn execute(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<ExecuteTask>,
) -> Result<(StatusCode, Json<Executed>)> {
    Ok(answer(s.service.execute_task(&id, body, &actor).await?))
}

#[utoipa::path(post, path = "/api/tasks/{id}/cancel", tag = "queue", params(("id" = String, Path)),
    request_body = Option<CancelTask>,
    description = "A queued or blocked task is cancelled; a running one has its run stopped (SIGTERM, SIGKILL after 5 s) and is cancelled.",
    responses((status = 200, body = Task), (status = 404, body = ErrorBody),
        (status = 409, description = "not queued, blocked or running", body = ErrorBody)))]
pub async fn cancel(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<CancelTask>,
) -> Result<Json<Task>> {
    Ok(Json(s.service.cancel_task(&id, body, &actor).await?))
}

#[utoipa::path(post, path = "/api/tasks/{id}/retry", tag = "queue", params(("id" = String, Path)),
    description = "A failed or cancelled task is queued again as its next attempt.",
    responses((status = 200, description = "started", body = Executed),
        (status = 202, description = "queued or blocked", body = Executed),
        (status = 404, body = ErrorBody),
        (status = 409, description = "not failed or cancelled", body = ErrorBody)))]
pub async fn retry(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<Executed>)> {
    Ok(answer(s.service.retry_task(&id, &actor).await?))
}

#[utoipa::path(post, path = "/api/tasks/{id}/resume", tag = "queue", params(("id" = String, Path)),
    description = "A completed task is reopened and queued again, so that its loop runs again.",
    responses((status = 200, description = "started", body = Executed),
        (status = 202, description = "queued or blocked", body = Executed),
        (status = 404, body = ErrorBody),
        (status = 409, description = "not a completed executed task", body = ErrorBody)))]
pub async fn resume(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<Executed>)> {
    Ok(answer(s.service.resume_task(&id, &actor).await?))
}

#[utoipa::path(get, path = "/api/queue", tag = "queue",
    description = "The queue over every project: its limit, what runs, what waits by priority, pauses, and the last hour's throughput. Admin token only.",
    responses((status = 200, body = QueueStatus)))]
pub async fn status(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<QueueStatus>> {
    Ok(Json(s.service.queue_status(&actor).await?))
}

#[utoipa::path(patch, path = "/api/queue", tag = "queue", request_body = QueuePatch,
    description = "Sets how many runs the queue keeps going at once. Admin token only.",
    responses((status = 200, body = QueueStatus), (status = 400, body = ErrorBody)))]
pub async fn update(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiJson(body): ApiJson<QueuePatch>,
) -> Result<Json<QueueStatus>> {
    Ok(Json(s.service.update_queue(body, &actor).await?))
}

#[utoipa::path(delete, path = "/api/queue", tag = "queue", request_body = ClearQueue,
    description = "Sends every queued (and blocked) task back to `pending`; running ones go on. Needs `{\"confirm\": true}`. Admin token only.",
    responses((status = 200, body = Affected), (status = 400, body = ErrorBody)))]
pub async fn clear(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiJson(body): ApiJson<ClearQueue>,
) -> Result<Json<Affected>> {
    Ok(Json(s.service.clear_queue(body, &actor).await?))
}

#[utoipa::path(post, path = "/api/queue/pause", tag = "queue", request_body = Option<QueueScope>,
    description = "Nothing new starts (in one project, with `projectId`); running ones go on. Admin token only.",
    responses((status = 200, body = QueueStatus), (status = 400, body = ErrorBody)))]
pub async fn pause(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    OptionalJson(body): OptionalJson<QueueScope>,
) -> Result<Json<QueueStatus>> {
    Ok(Json(s.service.pause_queue(body, true, &actor).await?))
}

#[utoipa::path(post, path = "/api/queue/resume", tag = "queue", request_body = Option<QueueScope>,
    description = "Undoes a pause (of one project, with `projectId`). Admin token only.",
    responses((status = 200, body = QueueStatus), (status = 400, body = ErrorBody)))]
pub async fn resume_queue(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    OptionalJson(body): OptionalJson<QueueScope>,
) -> Result<Json<QueueStatus>> {
    Ok(Json(s.service.pause_queue(body, false, &actor).await?))
}

#[utoipa::path(post, path = "/api/queue/priority", tag = "queue", request_body = QueuePriority,
    description = "Sets the priority of several tasks at once (their place in the queue): all or none.",
    responses((status = 200, body = Affected), (status = 400, body = ErrorBody)))]
pub async fn priority(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiJson(body): ApiJson<QueuePriority>,
) -> Result<Json<Affected>> {
    Ok(Json(s.service.set_queue_priority(body, &actor).await?))
}

#[utoipa::path(post, path = "/api/tasks/bulk", tag = "tasks", request_body = BulkRequest,
    description = "One operation on many tasks: `update_status` (`data.status`), `set_priority` (`data.priority`), `add_tags` / `remove_tags` (`data.tags`), `delete`, `execute` (`data` as for execute), `cancel` (`data.reason`). Each task's change is applied whole or not at all; those that fail are listed with why, the others go on. Bad `data` is a 400 before anything changes.",
    responses((status = 200, body = BulkResult), (status = 400, body = ErrorBody)))]
pub async fn bulk(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiJson(body): ApiJson<BulkRequest>,
) -> Result<Json<BulkResult>> {
    Ok(Json(s.service.bulk_tasks(body, &actor).await?))
}

#[utoipa::path(get, path = "/api/projects/{id}/stats", tag = "projects", params(("id" = String, Path)),
    description = "Tasks by status, ended runs by reason, running sessions, the project's part of the queue, messages.",
    responses((status = 200, body = ProjectStats), (status = 404, body = ErrorBody)))]
pub async fn stats(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ProjectStats>> {
    Ok(Json(s.service.project_stats(&id, &actor).await?))
}
