//! Workspaces: each task of a git project works in its own git worktree on its own branch
//! (`baton/<slug>-<id>`), made from the project's base branch on the task's first session and
//! reused by every later one. This folder holds the pure parts beside the code that drives git:
//!
//! - `settings.rs`: the project's workspace settings and branch names (pure);
//! - `git.rs`: running `git` with argv;
//! - `diff.rs`: reading a unified diff into files and hunks (pure);
//! - `integrate.rs`: commit, merge, rebase, pull request;
//! - `cleanup.rs`: removal that never loses work, archive and restore;
//! - `files.rs`: the workspace's files, read and run, never outside it;
//! - `review.rs`: a reviewer's line comments, sent to the task's agent;
//! - `scripts.rs`: the project's setup, run and teardown commands;
//! - `conflicts.rs`: conflicts between sibling tasks, flagged before anyone merges;
//! - this file: making a task's worktree, its view, and its diff against the base branch.

mod cleanup;
pub mod conflicts;
pub mod diff;
pub mod files;
pub mod git;
mod integrate;
mod review;
mod scripts;
pub mod settings;

use std::path::{Path, PathBuf};

use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::json;

use super::error::{ServiceError, ServiceResult};
use super::{lookup, Actor, Service};
use crate::clock::now_ms;
use crate::events::Event;
use crate::model::{TaskDiff, Workspace};
use crate::store::entity::{project, workspace};
use crate::store::json::from_text;
use git::{Git, GitError};
use settings::{Mode, Settings};

/// How much hunk text a diff answer keeps (counts stay exact past it).
pub const DIFF_CAP_BYTES: usize = 2 * 1024 * 1024;

impl From<GitError> for ServiceError {
    fn from(err: GitError) -> Self {
        match err {
            GitError::Missing(e) => {
                ServiceError::Unavailable(format!("the git program cannot be run: {e}"))
            }
            GitError::Failed {
                command, stderr, ..
            } => ServiceError::conflict(
                "git_failed",
                format!("git {command} failed: {stderr}"),
                json!({ "command": command, "stderr": stderr }),
            ),
        }
    }
}

/// Where a project's tasks work: in worktrees of `repository`, or all in the project folder.
pub(super) struct Plan {
    pub mode: Mode,
    /// Why the tasks share the folder, when they do.
    pub reason: Option<String>,
    pub settings: Settings,
    /// The repository's top folder, when the project folder is in one.
    pub repository: Option<PathBuf>,
}

impl Service {
    /// The project's workspace plan: its settings (over a `baton.json` at the repository root)
    /// and whether its folder is a git repository.
    pub(super) async fn workspace_plan(&self, project: &project::Model) -> ServiceResult<Plan> {
        let own = settings::parse(&from_text("project.settings", &project.settings))
            .map_err(|w| ServiceError::invalid(w.field, w.problem))?;
        let Some(folder) = &project.base_path else {
            return Ok(Plan {
                mode: Mode::Shared,
                reason: Some("the project has no folder".into()),
                settings: own,
                repository: None,
            });
        };
        let repository = Git::new(folder).toplevel().await;
        let file = match &repository {
            Some(root) => read_baton_json(root)?,
            None => Settings::default(),
        };
        let settings = settings::layered(own, file);
        let (mode, reason) = match (&repository, settings.mode) {
            (None, _) => (
                Mode::Shared,
                Some("the project folder is not a git repository".to_owned()),
            ),
            (Some(_), Some(Mode::Shared)) => (
                Mode::Shared,
                Some("the project's workspaceMode is shared".to_owned()),
            ),
            (Some(_), _) => (Mode::Worktree, None),
        };
        Ok(Plan {
            mode,
            reason,
            settings,
            repository,
        })
    }

    /// The folder `task`'s sessions run in when it has (or now gets) its own worktree; `None`
    /// when its project shares one folder. Made outside the write lock (a checkout can take a
    /// while), one at a time. The caller read both rows (and checked the task is the project's).
    pub(super) async fn prepare_workspace(
        &self,
        project: &project::Model,
        task: &crate::store::entity::task::Model,
        actor: &Actor,
    ) -> ServiceResult<Option<PathBuf>> {
        let task_id = task.id.as_str();
        if task.project_id != project.id {
            return Ok(None);
        }
        actor.may_write(&project.id)?;
        let _one_at_a_time = self.workspaces.lock().await;
        if let Some(row) = workspace::Entity::find_by_id(task_id)
            .one(&self.reads())
            .await?
        {
            if Path::new(&row.path).is_dir() {
                return Ok(Some(PathBuf::from(row.path)));
            }
        }
        let plan = self.workspace_plan(project).await?;
        let (Mode::Worktree, Some(repository)) = (plan.mode, &plan.repository) else {
            return Ok(None);
        };
        let repo = Git::new(repository);
        let base = match &plan.settings.base_branch {
            Some(b) => b.clone(),
            None => current_branch(&repo).await?,
        };
        let branch = settings::branch_name(&task.title, &task.id);
        let path = self.worktree_path(&plan, &project.id, &task.id)?;
        repo.run(&["worktree", "prune"]).await?;
        let path_text = path.display().to_string();
        if branch_exists(&repo, &branch).await? {
            repo.run(&["worktree", "add", "--quiet", &path_text, &branch])
                .await?;
        } else {
            let verified = repo
                .answer(&[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    &format!("{base}^{{commit}}"),
                ])
                .await?;
            if verified.code != 0 {
                return Err(ServiceError::conflict(
                    "no_base_branch",
                    format!(
                        "the base branch '{base}' does not exist in {}",
                        repository.display()
                    ),
                    json!({ "field": "settings.baseBranch", "baseBranch": base }),
                ));
            }
            repo.run(&[
                "worktree", "add", "--quiet", "-b", &branch, &path_text, &base,
            ])
            .await?;
        }
        copy_included(&repo, &path).await?;
        if let Some(setup) = &plan.settings.setup {
            // The worktree is new and holds no work: a failed setup takes it away again, so
            // that the next attempt starts clean.
            if let Err(err) = self
                .run_setup(setup, &project.id, &task.title, &path, actor)
                .await
            {
                repo.answer(&["worktree", "remove", "--force", &path_text])
                    .await?;
                repo.answer(&["branch", "-D", &branch]).await?;
                return Err(err);
            }
        }
        let now = now_ms();
        let row = workspace::ActiveModel {
            task_id: Set(task.id.clone()),
            project_id: Set(project.id.clone()),
            path: Set(path_text),
            branch: Set(branch),
            base_branch: Set(base),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let row = {
            let _lock = self.write_lock().await;
            workspace::Entity::delete_by_id(task.id.clone())
                .exec(&self.db)
                .await?;
            let row = row.insert(&self.db).await?;
            self.publish_all(vec![Event::WorkspaceUpdated(worktree_view(&row))]);
            row
        };
        self.conflicts_may_have_changed(&row.project_id);
        tracing::info!(task = %task.id, branch = %row.branch, "made the task's worktree");
        Ok(Some(path))
    }

    /// Where a task's worktree goes (`<worktreeRoot or data>/worktrees/<project>/<task>`), its
    /// parent folder made.
    pub(super) fn worktree_path(
        &self,
        plan: &Plan,
        project_id: &str,
        task_id: &str,
    ) -> ServiceResult<PathBuf> {
        let root = plan
            .settings
            .worktree_root
            .clone()
            .unwrap_or_else(|| self.runtime.data_dir.join("worktrees"));
        let folder = root.join(project_id);
        std::fs::create_dir_all(&folder).map_err(|e| {
            ServiceError::Unavailable(format!("cannot make the worktrees folder: {e}"))
        })?;
        Ok(folder.join(task_id))
    }

    /// `GET /api/tasks/{id}/workspace`.
    pub async fn task_workspace(&self, task_id: &str, actor: &Actor) -> ServiceResult<Workspace> {
        let task = lookup::task(&self.db, task_id).await?;
        actor.may_read(&task.project_id)?;
        if let Some(row) = workspace::Entity::find_by_id(task_id).one(&self.db).await? {
            return Ok(worktree_view(&row));
        }
        let project = lookup::project(&self.db, &task.project_id).await?;
        let plan = self.workspace_plan(&project).await?;
        Ok(Workspace {
            task_id: task.id,
            project_id: project.id,
            mode: plan.mode.as_str().to_owned(),
            reason: plan.reason.or_else(|| {
                (plan.mode == Mode::Worktree).then(|| "made on the task's first session".to_owned())
            }),
            path: match plan.mode {
                Mode::Shared => project.base_path,
                Mode::Worktree => None,
            },
            branch: None,
            base_branch: plan.settings.base_branch,
            created_at: None,
        })
    }

    /// The task's worktree row, or a 409 saying it has none.
    pub(super) async fn worktree_of(
        &self,
        task_id: &str,
        actor: &Actor,
    ) -> ServiceResult<workspace::Model> {
        let task = lookup::task(&self.db, task_id).await?;
        actor.may_read(&task.project_id)?;
        workspace::Entity::find_by_id(task_id)
            .one(&self.db)
            .await?
            .ok_or_else(|| {
                ServiceError::conflict(
                    "no_workspace",
                    "the task has no worktree of its own (it has not run yet, or its project shares one folder)",
                    json!({ "taskId": task_id }),
                )
            })
    }

    /// `GET /api/tasks/{id}/diff`: everything the task changed since its branch left the base
    /// branch — commits, uncommitted and untracked files — without touching its index.
    pub async fn task_diff(&self, task_id: &str, actor: &Actor) -> ServiceResult<TaskDiff> {
        let row = self.worktree_of(task_id, actor).await?;
        let git = Git::new(&row.path);
        let merge_base = git.text(&["merge-base", &row.base_branch, "HEAD"]).await?;
        let tree = self.snapshot_tree(&git).await?;
        let patch = git
            .run(&[
                "diff",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "--find-renames",
                "--src-prefix=a/",
                "--dst-prefix=b/",
                &merge_base,
                &tree,
            ])
            .await?;
        let (files, truncated) =
            diff::parse(&String::from_utf8_lossy(&patch.stdout), DIFF_CAP_BYTES);
        Ok(TaskDiff {
            task_id: row.task_id,
            branch: row.branch,
            base_branch: row.base_branch,
            merge_base,
            additions: files.iter().map(|f| f.additions).sum(),
            deletions: files.iter().map(|f| f.deletions).sum(),
            files,
            truncated,
        })
    }

    /// A tree of the worktree's files as they are now (tracked, changed and untracked, as
    /// `.gitignore` allows), written through a copy of its index so the real one is untouched.
    pub(super) async fn snapshot_tree(&self, git: &Git) -> ServiceResult<String> {
        let index = git.text(&["rev-parse", "--git-path", "index"]).await?;
        let index = git.dir().join(index);
        let scratch = self.runtime.data_dir.join("tmp");
        std::fs::create_dir_all(&scratch)
            .map_err(|e| ServiceError::Unavailable(format!("cannot make a scratch folder: {e}")))?;
        let copy = tempfile::Builder::new()
            .prefix("index-")
            .tempfile_in(&scratch)
            .map_err(|e| ServiceError::Unavailable(format!("cannot make a scratch index: {e}")))?;
        if index.is_file() {
            std::fs::copy(&index, copy.path())
                .map_err(|e| ServiceError::Unavailable(format!("cannot copy the index: {e}")))?;
        }
        let scratch_git = git.clone().with_env("GIT_INDEX_FILE", copy.path());
        scratch_git.run(&["add", "--all", "--", "."]).await?;
        Ok(scratch_git.text(&["write-tree"]).await?)
    }
}

/// The view of a task's worktree.
pub(super) fn worktree_view(row: &workspace::Model) -> Workspace {
    Workspace {
        task_id: row.task_id.clone(),
        project_id: row.project_id.clone(),
        mode: Mode::Worktree.as_str().to_owned(),
        reason: None,
        path: Some(row.path.clone()),
        branch: Some(row.branch.clone()),
        base_branch: Some(row.base_branch.clone()),
        created_at: Some(row.created_at),
    }
}

async fn current_branch(repo: &Git) -> ServiceResult<String> {
    let answer = repo
        .answer(&["symbolic-ref", "--quiet", "--short", "HEAD"])
        .await?;
    if answer.code != 0 {
        return Err(ServiceError::conflict(
            "no_base_branch",
            "the project folder is not on a branch (detached HEAD): set settings.baseBranch",
            json!({ "field": "settings.baseBranch" }),
        ));
    }
    Ok(answer.text().trim().to_owned())
}

pub(super) async fn branch_exists(repo: &Git, branch: &str) -> ServiceResult<bool> {
    let answer = repo
        .answer(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ])
        .await?;
    Ok(answer.code == 0)
}

/// Settings from `baton.json` at the repository root, when there is one.
fn read_baton_json(root: &Path) -> ServiceResult<Settings> {
    let path = root.join("baton.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Settings::default());
    };
    let value: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
        .map_err(|e| ServiceError::invalid("baton.json", format!("is not a JSON object: {e}")))?;
    settings::parse(&value)
        .map_err(|w| ServiceError::invalid(format!("baton.json: {}", w.field), w.problem))
}

/// Copies the untracked files the repository's `.worktreeinclude` names (gitignore syntax; e.g.
/// `.env`) into a new worktree.
async fn copy_included(repo: &Git, worktree: &Path) -> ServiceResult<()> {
    let Some(root) = repo.toplevel().await else {
        return Ok(());
    };
    let list = root.join(".worktreeinclude");
    if !list.is_file() {
        return Ok(());
    }
    let from = format!("--exclude-from={}", list.display());
    let answer = Git::new(&root)
        .run(&["ls-files", "-z", "--others", "--ignored", &from])
        .await?;
    for name in answer.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let relative = PathBuf::from(String::from_utf8_lossy(name).into_owned());
        let (source, target) = (root.join(&relative), worktree.join(&relative));
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).ok();
        }
        std::fs::copy(&source, &target).map_err(|e| {
            ServiceError::Unavailable(format!(
                "cannot copy {} into the worktree: {e}",
                relative.display()
            ))
        })?;
    }
    Ok(())
}
