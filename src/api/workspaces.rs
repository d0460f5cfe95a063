//! A task's workspace: its worktree (`/api/tasks/{id}/workspace`), its diff against the base
//! branch, and what Baton does with it.

use axum::extract::State;
use axum::{Extension, Json};

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};
use super::state::AppState;
use super::{ErrorBody, Success};
use crate::model::{
    Archive, ArchiveFile, CommitTask, FileContentPath, FileEntry, FilePath, ListArchives,
    MergeTask, Merged, PullRequest, RemoveWorkspace, ReviewComments, ReviewSent, RunFile, Session,
    TaskConflict, TaskDiff, Workspace,
};
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

#[utoipa::path(get, path = "/api/tasks/{id}/conflicts", tag = "workspaces", params(("id" = String, Path)),
    description = "The sibling tasks (and the base branch: `taskId` null) the task's work would conflict with, with the files — checked now with `git merge-tree` on snapshots of each worktree, committed or not; no worktree is touched. The same lists arrive as `task:conflicts` events when they change.",
    responses((status = 200, body = Vec<TaskConflict>), (status = 404, body = ErrorBody)))]
pub async fn conflicts(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<TaskConflict>>> {
    Ok(Json(s.service.task_conflicts(&id, &actor).await?))
}

#[utoipa::path(post, path = "/api/tasks/{id}/commit", tag = "workspaces", params(("id" = String, Path)),
    request_body = CommitTask,
    description = "Commits everything in the task's worktree (untracked files as .gitignore allows) on its branch.",
    responses((status = 200, body = Workspace), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "no worktree, or nothing to commit", body = ErrorBody)))]
pub async fn commit(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CommitTask>,
) -> Result<Json<Workspace>> {
    Ok(Json(s.service.commit_task(&id, body, &actor).await?))
}

#[utoipa::path(post, path = "/api/tasks/{id}/merge", tag = "workspaces", params(("id" = String, Path)),
    request_body = Option<MergeTask>,
    description = "Merges the task's branch into its base branch: a fast-forward when the base has not moved, else a merge commit (`strategy`). Refused with nothing changed (409) on uncommitted changes (`uncommitted_changes`), a conflict (`merge_conflict`, `details.files`), or a dirty folder that has the base branch checked out (`base_folder_dirty`).",
    responses((status = 200, body = Merged), (status = 404, body = ErrorBody),
        (status = 409, description = "refused; nothing changed", body = ErrorBody)))]
pub async fn merge(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<MergeTask>,
) -> Result<Json<Merged>> {
    Ok(Json(s.service.merge_task(&id, body, &actor).await?))
}

#[utoipa::path(post, path = "/api/tasks/{id}/rebase", tag = "workspaces", params(("id" = String, Path)),
    description = "Replays the task's commits onto its base branch in its worktree; a conflicting rebase is aborted (409 `rebase_conflict`, the files) and nothing changes.",
    responses((status = 200, body = Workspace), (status = 404, body = ErrorBody),
        (status = 409, description = "refused; nothing changed", body = ErrorBody)))]
pub async fn rebase(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Workspace>> {
    Ok(Json(s.service.rebase_task(&id, &actor).await?))
}

#[utoipa::path(post, path = "/api/tasks/{id}/pull-request", tag = "workspaces", params(("id" = String, Path)),
    description = "Pushes the task's branch to `origin` and opens a pull request with the GitHub CLI. 422 `gh_missing` or `gh_not_authenticated` says what is missing.",
    responses((status = 200, body = PullRequest), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, description = "gh missing or not signed in", body = ErrorBody)))]
pub async fn pull_request(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PullRequest>> {
    Ok(Json(s.service.open_pull_request(&id, &actor).await?))
}

#[utoipa::path(delete, path = "/api/tasks/{id}/workspace", tag = "workspaces", params(("id" = String, Path), RemoveWorkspace),
    description = "Removes the task's worktree and branch. Refused (409 `would_lose_work`, listing the uncommitted files and the commits neither merged nor pushed) while it holds work, unless the person forces it (`?force=true`; an agent's token gets 403).",
    responses((status = 200, body = Success), (status = 404, body = ErrorBody),
        (status = 409, description = "it would lose work, or the task has no worktree", body = ErrorBody)))]
pub async fn remove(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<RemoveWorkspace>,
) -> Result<Json<Success>> {
    s.service.remove_workspace(&id, &query, &actor).await?;
    Ok(Json(Success::default()))
}

#[utoipa::path(post, path = "/api/tasks/{id}/archive", tag = "workspaces", params(("id" = String, Path)),
    description = "Saves the task's branch commits and its uncommitted and untracked files (a git bundle in the data folder), then removes its worktree and branch.",
    responses((status = 200, body = Archive), (status = 404, body = ErrorBody),
        (status = 409, description = "the task has no worktree", body = ErrorBody)))]
pub async fn archive(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Archive>> {
    Ok(Json(s.service.archive_task(&id, &actor).await?))
}

#[utoipa::path(get, path = "/api/archives", tag = "workspaces", params(ListArchives),
    description = "Archived workspaces, newest first (an agent's token: its own project's).",
    responses((status = 200, body = Vec<Archive>)))]
pub async fn archives(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiQuery(query): ApiQuery<ListArchives>,
) -> Result<Json<Vec<Archive>>> {
    Ok(Json(s.service.list_archives(&query, &actor).await?))
}

#[utoipa::path(get, path = "/api/archives/{id}/files", tag = "workspaces", params(("id" = String, Path)),
    description = "The files an archive holds that differ from the base branch.",
    responses((status = 200, body = Vec<ArchiveFile>), (status = 404, body = ErrorBody)))]
pub async fn archive_files(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<ArchiveFile>>> {
    Ok(Json(s.service.archive_files(&id, &actor).await?))
}

#[utoipa::path(post, path = "/api/archives/{id}/restore", tag = "workspaces", params(("id" = String, Path)),
    description = "The task's worktree and branch come back with the same files, byte for byte; what was uncommitted is uncommitted again.",
    responses((status = 200, body = Workspace), (status = 404, body = ErrorBody),
        (status = 409, description = "the task has a worktree, its branch exists again, or the task was deleted", body = ErrorBody)))]
pub async fn restore(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Workspace>> {
    Ok(Json(s.service.restore_archive(&id, &actor).await?))
}

#[utoipa::path(get, path = "/api/tasks/{id}/files", tag = "workspaces", params(("id" = String, Path), FilePath),
    description = "A folder of the task's workspace (its worktree, or the shared project folder): entries with kind, size, modification time and whether they are runnable. A path that leaves the workspace (`..`, absolute, a symlink pointing out) is a 400.",
    responses((status = 200, body = Vec<FileEntry>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "no worktree and no project folder", body = ErrorBody)))]
pub async fn files(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<FilePath>,
) -> Result<Json<Vec<FileEntry>>> {
    Ok(Json(
        s.service
            .list_files(&id, query.path.as_deref(), &actor)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/tasks/{id}/files/content", tag = "workspaces", params(("id" = String, Path), FileContentPath),
    description = "A workspace file's raw bytes (`application/octet-stream`), at most 1 MiB; `X-Baton-Truncated: true` when there was more. Paths that leave the workspace are a 400.",
    responses((status = 200, description = "the file's bytes", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "no worktree and no project folder", body = ErrorBody)))]
pub async fn file_content(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<FileContentPath>,
) -> Result<axum::response::Response> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let (bytes, truncated) = s
        .service
        .file_content(&id, Some(&query.path), &actor)
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::HeaderName::from_static("x-baton-truncated"),
                if truncated { "true" } else { "false" },
            ),
        ],
        bytes,
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/tasks/{id}/files/run", tag = "workspaces", params(("id" = String, Path)),
    request_body = RunFile,
    description = "Runs a workspace file by its shebang, executable bit or extension (argv only, never a shell string) as a new session of the task in its workspace, its output streamed like any session's. Checked for safety first (422 unless the person confirms).",
    responses((status = 201, body = Session), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "no worktree and no project folder", body = ErrorBody),
        (status = 422, description = "a dangerous command", body = ErrorBody)))]
pub async fn run_file(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RunFile>,
) -> Result<(axum::http::StatusCode, Json<Session>)> {
    let session = s.service.run_file(&id, body, &actor).await?;
    Ok((axum::http::StatusCode::CREATED, Json(session)))
}

#[utoipa::path(post, path = "/api/tasks/{id}/workspace/run", tag = "workspaces", params(("id" = String, Path)),
    description = "Starts the project's run command (`settings.run`, an argv array: a dev server, tests) in the task's worktree, in a terminal of its own, with a free loopback port in `BATON_PORT`.",
    responses((status = 201, body = Session), (status = 404, body = ErrorBody),
        (status = 409, description = "no worktree, or no run command", body = ErrorBody),
        (status = 422, description = "a dangerous command", body = ErrorBody)))]
pub async fn run_script(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<(axum::http::StatusCode, Json<Session>)> {
    let session = s.service.start_run_script(&id, &actor).await?;
    Ok((axum::http::StatusCode::CREATED, Json(session)))
}

#[utoipa::path(post, path = "/api/tasks/{id}/review", tag = "workspaces", params(("id" = String, Path)),
    request_body = ReviewComments,
    description = "Sends a reviewer's line comments to the task's agent: posted as a `REVIEW` message on the task (what its MCP and CLI read), and typed into its running session's terminal as one line followed by Enter.",
    responses((status = 200, body = ReviewSent), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn review(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReviewComments>,
) -> Result<Json<ReviewSent>> {
    Ok(Json(s.service.send_review(&id, body, &actor).await?))
}
