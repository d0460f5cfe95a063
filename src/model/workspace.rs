//! Workspaces: a task's own git worktree and branch, its diff against the base branch, its
//! conflicts with sibling tasks, archives of removed workspaces, and its files.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A task's workspace.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Workspace {
    pub task_id: String,
    pub project_id: String,
    /// `worktree` (its own folder and branch) or `shared` (the project folder).
    pub mode: String,
    /// Why the task shares the project folder (not a git repository, the project's setting, no
    /// folder), when it does.
    pub reason: Option<String>,
    /// The folder the task's agents run in.
    pub path: Option<String>,
    pub branch: Option<String>,
    pub base_branch: Option<String>,
    pub created_at: Option<i64>,
}

/// How a file changed.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileChange {
    Added,
    Modified,
    Deleted,
    Renamed,
    Copied,
}

/// One hunk of a file's unified diff.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiffHunk {
    /// The `@@ -a,b +c,d @@ …` line.
    pub header: String,
    pub old_start: u32,
    pub old_lines: u32,
    pub new_start: u32,
    pub new_lines: u32,
    /// Each line with its mark: ` ` context, `+` added, `-` removed, `\` a note.
    pub lines: Vec<String>,
}

/// One changed file.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiffFile {
    pub path: String,
    /// Where a renamed or copied file came from.
    pub old_path: Option<String>,
    pub status: FileChange,
    pub additions: u32,
    pub deletions: u32,
    pub binary: bool,
    pub hunks: Vec<DiffHunk>,
    /// Some of its hunk lines were left out (the size cap).
    pub truncated: bool,
}

/// `GET /api/tasks/{id}/diff`: the task's changes against the merge base with its base branch,
/// committed or not, untracked files included.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskDiff {
    pub task_id: String,
    pub branch: String,
    pub base_branch: String,
    /// The commit the diff is taken against.
    pub merge_base: String,
    pub files: Vec<DiffFile>,
    pub additions: u32,
    pub deletions: u32,
    /// Hunk text was left out past the size cap (counts stay exact).
    pub truncated: bool,
}

/// Body of `POST /api/tasks/{id}/commit`.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({ "message": "Fix the login form" }))]
pub struct CommitTask {
    #[schema(schema_with = super::schema::commit_message)]
    pub message: String,
}

/// How to merge a task's branch into its base branch.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MergeStrategy {
    /// Fast-forward when the base has not moved, else a merge commit.
    #[default]
    Auto,
    /// Fast-forward or refuse (409).
    FastForwardOnly,
    /// Always a merge commit.
    MergeCommit,
}

/// Body of `POST /api/tasks/{id}/merge` (optional).
#[serde_with::skip_serializing_none]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MergeTask {
    #[serde(default)]
    pub strategy: Option<MergeStrategy>,
    /// The merge commit's message (default: `Merge <branch> (<task title>)`).
    #[serde(default)]
    pub message: Option<String>,
}

/// A merge that happened.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Merged {
    pub task_id: String,
    pub branch: String,
    pub base_branch: String,
    /// The base branch's new commit.
    pub commit: String,
    pub fast_forward: bool,
}

/// A pull request opened with `gh`.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullRequest {
    pub task_id: String,
    pub branch: String,
    pub url: String,
}

/// Another task (or the base branch) the task's work would conflict with, and where.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskConflict {
    /// The other task; null for the base branch itself.
    pub task_id: Option<String>,
    pub branch: String,
    pub files: Vec<String>,
}

/// `task:conflicts`: a task's conflicts changed.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskConflicts {
    pub task_id: String,
    pub project_id: String,
    pub conflicts: Vec<TaskConflict>,
}

/// Query of `DELETE /api/tasks/{id}/workspace`.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RemoveWorkspace {
    /// Remove even with uncommitted changes or commits neither merged nor pushed (the person
    /// only); default false: such a removal is refused with 409.
    #[param(value_type = Option<bool>)]
    pub force: Option<String>,
}

/// A removed workspace kept in the data folder.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Archive {
    pub id: String,
    /// Null once the task is deleted.
    pub task_id: Option<String>,
    pub project_id: String,
    pub branch: String,
    pub base_branch: String,
    /// The branch's last commit.
    pub head_commit: String,
    /// The worktree's files as they were (a commit on top of `headCommit`).
    pub snapshot_commit: String,
    /// How many files differ from the base branch.
    pub files: u32,
    /// The size of the saved bundle.
    pub bytes: u64,
    pub created_at: i64,
    pub restored_at: Option<i64>,
}

/// One file of an archive, as it differs from the base branch.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArchiveFile {
    pub path: String,
    pub status: FileChange,
}

/// Query of `GET /api/archives`.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListArchives {
    pub project_id: Option<String>,
}

/// Query of `GET /api/tasks/{id}/files` and `/files/content`.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FilePath {
    /// A folder inside the task's workspace, relative to its root (absent or empty: the root).
    #[serde(default)]
    #[param(schema_with = super::schema::folder_path)]
    pub path: Option<String>,
}

/// Query of `GET /api/tasks/{id}/files/content`.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FileContentPath {
    /// A file inside the task's workspace, relative to its root.
    #[param(
        min_length = 1,
        pattern = r"^(?:\.?[^./\x00][^/\x00]*)(?:/\.?[^./\x00][^/\x00]*)*$"
    )]
    pub path: String,
}

/// One entry of a workspace folder.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileEntry {
    pub name: String,
    /// Relative to the workspace root.
    pub path: String,
    /// `file`, `dir` or `symlink`.
    pub kind: String,
    pub size: u64,
    pub modified_at: Option<i64>,
    /// Runs by its shebang, its executable bit or a known extension (`POST …/files/run`).
    pub runnable: bool,
}

/// Body of `POST /api/tasks/{id}/files/run`.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({ "path": "scripts/check.sh", "args": ["--quick"] }))]
pub struct RunFile {
    #[schema(schema_with = super::schema::relative_path)]
    pub path: String,
    #[serde(default)]
    pub args: Option<Vec<String>>,
    /// Run it even when the safety check calls it dangerous (the person only).
    #[serde(default)]
    pub confirm: Option<bool>,
}

/// A reviewer's comment on one line of a task's diff.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewComment {
    #[schema(schema_with = super::schema::comment_path)]
    pub path: String,
    /// The line in the new file (or, for a removed line, in the old one).
    #[schema(minimum = 1, maximum = 2147483647)]
    pub line: u32,
    #[schema(schema_with = super::schema::comment_body)]
    pub body: String,
}

/// Body of `POST /api/tasks/{id}/review`.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({ "comments": [{ "path": "src/lib.rs", "line": 2, "body": "use a constant" }] }))]
pub struct ReviewComments {
    #[schema(min_items = 1, max_items = 200)]
    pub comments: Vec<ReviewComment>,
    /// A word for the whole review.
    #[serde(default)]
    pub summary: Option<String>,
}

/// Where a review went.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewSent {
    /// The `REVIEW` message (its MCP/CLI sees it).
    pub message_id: String,
    /// The task's running session the review was typed into, if one runs.
    pub session_id: Option<String>,
    pub typed: bool,
}
