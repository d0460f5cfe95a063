//! `/api/tasks`: tasks, their subtasks, dependencies and history.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderName, StatusCode};
use axum::response::IntoResponse;
use axum::{Extension, Json};

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::state::AppState;
use super::{ErrorBody, Success};
use crate::model::{
    HistoryEntry, ListTasks, NewSubtask, NewTask, SetDependencies, Subtask, SubtaskPatch, Task,
    TaskPatch,
};
use crate::service::Actor;

type Result<T> = std::result::Result<T, ApiError>;

const TOTAL_COUNT: HeaderName = HeaderName::from_static("x-total-count");

#[utoipa::path(get, path = "/api/tasks", tag = "tasks", params(ListTasks),
    responses((status = 200, body = Vec<Task>,
        headers(("X-Total-Count" = u64, description = "tasks matching the filters, before paging"))),
        (status = 400, body = ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiQuery(query): ApiQuery<ListTasks>,
) -> Result<impl IntoResponse> {
    let page = s.service.list_tasks(&query, &actor).await?;
    let headers = [
        (TOTAL_COUNT, page.total.to_string()),
        (CONTENT_TYPE, "application/json".to_owned()),
    ];
    Ok((headers, page.json()))
}

#[utoipa::path(post, path = "/api/tasks", tag = "tasks", request_body = NewTask,
    responses((status = 201, body = Task), (status = 400, body = ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiJson(input): ApiJson<NewTask>,
) -> Result<(StatusCode, Json<Task>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.service.create_task(input, &actor).await?),
    ))
}

#[utoipa::path(get, path = "/api/tasks/{id}", tag = "tasks", params(("id" = String, Path)),
    responses((status = 200, body = Task), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Task>> {
    Ok(Json(s.service.get_task(&id, &actor).await?))
}

#[utoipa::path(patch, path = "/api/tasks/{id}", tag = "tasks", request_body = TaskPatch,
    params(("id" = String, Path)),
    responses((status = 200, body = Task), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<TaskPatch>,
) -> Result<Json<Task>> {
    Ok(Json(s.service.update_task(&id, patch, &actor).await?))
}

#[utoipa::path(delete, path = "/api/tasks/{id}", tag = "tasks", params(("id" = String, Path)),
    responses((status = 200, body = Success), (status = 404, body = ErrorBody),
        (status = 409, description = "the task has its own worktree: archive or remove it first", body = ErrorBody)))]
pub async fn delete(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Success>> {
    s.service.delete_task(&id, &actor).await?;
    Ok(Json(Success::default()))
}

#[utoipa::path(post, path = "/api/tasks/{id}/subtasks", tag = "tasks", request_body = NewSubtask,
    params(("id" = String, Path)),
    responses((status = 201, body = Subtask), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn add_subtask(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<NewSubtask>,
) -> Result<(StatusCode, Json<Subtask>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.service.add_subtask(&id, input, &actor).await?),
    ))
}

#[utoipa::path(patch, path = "/api/tasks/{id}/subtasks/{sid}", tag = "tasks", request_body = SubtaskPatch,
    params(("id" = String, Path), ("sid" = String, Path)),
    responses((status = 200, body = Subtask), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_subtask(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath((id, sid)): ApiPath<(String, String)>,
    ApiJson(patch): ApiJson<SubtaskPatch>,
) -> Result<Json<Subtask>> {
    Ok(Json(
        s.service.update_subtask(&id, &sid, patch, &actor).await?,
    ))
}

#[utoipa::path(delete, path = "/api/tasks/{id}/subtasks/{sid}", tag = "tasks",
    params(("id" = String, Path), ("sid" = String, Path)),
    responses((status = 200, body = Success), (status = 404, body = ErrorBody)))]
pub async fn remove_subtask(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath((id, sid)): ApiPath<(String, String)>,
) -> Result<Json<Success>> {
    s.service.remove_subtask(&id, &sid, &actor).await?;
    Ok(Json(Success::default()))
}

#[utoipa::path(put, path = "/api/tasks/{id}/dependencies", tag = "tasks", request_body = SetDependencies,
    params(("id" = String, Path)),
    responses((status = 200, body = Task), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the dependencies would form a cycle; `details.cycle` is its path", body = ErrorBody)))]
pub async fn set_dependencies(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<SetDependencies>,
) -> Result<Json<Task>> {
    Ok(Json(
        s.service
            .set_dependencies(&id, input.depends_on, &actor)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/tasks/{id}/history", tag = "tasks", params(("id" = String, Path)),
    responses((status = 200, body = Vec<HistoryEntry>), (status = 404, body = ErrorBody)))]
pub async fn history(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<HistoryEntry>>> {
    Ok(Json(s.service.task_history(&id, &actor).await?))
}
