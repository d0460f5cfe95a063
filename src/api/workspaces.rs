//! A task's workspace: its worktree (`/api/tasks/{id}/workspace`), its diff against the base
//! branch, and what Baton does with it.

use axum::extract::State;
use axum::{Extension, Json};

use super::error::ApiError;
use super::extract::ApiPath;
use super::state::AppState;
use super::ErrorBody;
use crate::model::{TaskDiff, Workspace};
use crate::service::Actor;

type Result<T> = std::result::Result<T, ApiError>;

#[utoipa::path(get, path = "/api/tasks/{id}/workspace", tag = "workspaces", params(("id" = String, Path)),
    description = "Where the task's agents work: its own worktree and branch (made on its first session in a git project), or the shared project folder and why.",
    responses((status = 200, body = Workspace), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Workspace>> {
    Ok(Json(s.service.task_workspace(&id, &actor).await?))
}

#[utoipa::path(get, path = "/api/tasks/{id}/diff", tag = "workspaces", params(("id" = String, Path)),
    description = "The task's changes against the merge base with its base branch: commits, uncommitted and untracked files (as .gitignore allows). Per file: status, additions, deletions, binary, unified hunks; hunk text is capped at 2 MiB (`truncated`).",
    responses((status = 200, body = TaskDiff), (status = 404, body = ErrorBody),
        (status = 409, description = "the task has no worktree", body = ErrorBody)))]
pub async fn diff(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TaskDiff>> {
    Ok(Json(s.service.task_diff(&id, &actor).await?))
}
