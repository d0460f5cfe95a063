//! Bringing a task's work home: commit its worktree, merge its branch into the base branch
//! (fast-forward or a merge commit; a conflicting merge changes nothing and names the files),
//! rebase it onto the base, push it and open a pull request with `gh`.

use std::path::PathBuf;

use serde_json::json;

use super::git::Git;
use super::{worktree_view, Service};
use crate::events::Event;
use crate::model::{CommitTask, MergeStrategy, MergeTask, Merged, PullRequest, Workspace};
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::{lookup, Actor};
use crate::store::entity::workspace;

/// `git` with an identity (Baton's) when the user has none configured.
pub(super) async fn identity(git: &Git) -> Git {
    let mut git = git.clone();
    for (key, name_var, email_var, fallback) in [
        (
            "user.name",
            "GIT_AUTHOR_NAME",
            "GIT_COMMITTER_NAME",
            "Baton",
        ),
        (
            "user.email",
            "GIT_AUTHOR_EMAIL",
            "GIT_COMMITTER_EMAIL",
            "baton@localhost",
        ),
    ] {
        let set = git
            .answer(&["config", "--get", key])
            .await
            .map(|a| a.code == 0)
            .unwrap_or(false);
        if !set {
            git = git
                .with_env(name_var, fallback)
                .with_env(email_var, fallback);
        }
    }
    git
}

/// The worktree's changed and untracked paths (`git status`), empty when clean.
pub(super) async fn uncommitted(git: &Git) -> ServiceResult<Vec<String>> {
    changed_files(git, "--untracked-files=all").await
}

/// The paths `git status` lists, untracked ones as `untracked` says.
async fn changed_files(git: &Git, untracked: &str) -> ServiceResult<Vec<String>> {
    let answer = git
        .run(&["status", "--porcelain=v1", "-z", untracked])
        .await?;
    Ok(answer
        .stdout
        .split(|b| *b == 0)
        .filter(|e| e.len() > 3)
        .map(|e| String::from_utf8_lossy(&e[3..]).into_owned())
        .collect())
}

/// A 409 `uncommitted_changes` listing the files when the worktree is not clean.
async fn refuse_uncommitted(git: &Git) -> ServiceResult<()> {
    let dirty = uncommitted(git).await?;
    if dirty.is_empty() {
        return Ok(());
    }
    Err(ServiceError::conflict(
        "uncommitted_changes",
        "the task's worktree has uncommitted changes: commit them first",
        json!({ "files": dirty }),
    ))
}

/// The folder where `branch` is checked out, if any (`git worktree list`).
async fn checked_out_at(git: &Git, branch: &str) -> ServiceResult<Option<PathBuf>> {
    let list = git.text(&["worktree", "list", "--porcelain"]).await?;
    let mut folder = None;
    for line in list.lines() {
        if let Some(path) = line.strip_prefix("worktree ") {
            folder = Some(PathBuf::from(path));
        } else if line == format!("branch refs/heads/{branch}") {
            return Ok(folder);
        }
    }
    Ok(None)
}

async fn is_ancestor(git: &Git, older: &str, newer: &str) -> ServiceResult<bool> {
    Ok(git
        .answer(&["merge-base", "--is-ancestor", older, newer])
        .await?
        .code
        == 0)
}

/// What `git merge-tree --write-tree --name-only` says of merging `ours` and `theirs`: the
/// merged tree, or the conflicting files.
pub(super) async fn merge_tree(
    git: &Git,
    ours: &str,
    theirs: &str,
) -> ServiceResult<Result<String, Vec<String>>> {
    let answer = git
        .answer(&[
            "merge-tree",
            "--write-tree",
            "--name-only",
            "--no-messages",
            ours,
            theirs,
        ])
        .await?;
    let text = answer.text();
    let mut lines = text.lines();
    let tree = lines.next().unwrap_or_default().to_owned();
    match answer.code {
        0 => Ok(Ok(tree)),
        1 => {
            let mut files: Vec<String> = lines
                .take_while(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            files.dedup();
            Ok(Err(files))
        }
        _ => Err(super::git::failed(&["merge-tree", ours, theirs], answer).into()),
    }
}

impl Service {
    /// The task's worktree for a change: the caller may change its project.
    async fn worktree_to_change(
        &self,
        task_id: &str,
        actor: &Actor,
    ) -> ServiceResult<workspace::Model> {
        let row = self.worktree_of(task_id, actor).await?;
        actor.may_write(&row.project_id)?;
        Ok(row)
    }

    fn workspace_changed(&self, row: &workspace::Model) {
        self.publish_all(vec![Event::WorkspaceUpdated(worktree_view(row))]);
        self.conflicts_may_have_changed(&row.project_id);
    }

    /// `POST /api/tasks/{id}/commit`: commits everything in the worktree (untracked files as
    /// `.gitignore` allows) on the task's branch.
    pub async fn commit_task(
        &self,
        task_id: &str,
        input: CommitTask,
        actor: &Actor,
    ) -> ServiceResult<Workspace> {
        let message = crate::service::validate::required_text("message", &input.message, 10_000)?;
        let row = self.worktree_to_change(task_id, actor).await?;
        let _one = self.workspaces.lock().await;
        let git = identity(&Git::new(&row.path)).await;
        if uncommitted(&git).await?.is_empty() {
            return Err(ServiceError::conflict(
                "nothing_to_commit",
                "the task's worktree has no changes to commit",
                json!({ "taskId": task_id }),
            ));
        }
        git.run(&["add", "--all", "--", "."]).await?;
        git.run(&["commit", "--quiet", "--no-verify", "-m", &message])
            .await?;
        self.workspace_changed(&row);
        Ok(worktree_view(&row))
    }

    /// `POST /api/tasks/{id}/merge`: merges the task's branch into its base branch. Refused
    /// (409, nothing changed) when the worktree has uncommitted changes, when the merge would
    /// conflict (the files are listed), or when the base branch's own folder is not clean.
    pub async fn merge_task(
        &self,
        task_id: &str,
        input: MergeTask,
        actor: &Actor,
    ) -> ServiceResult<Merged> {
        let row = self.worktree_to_change(task_id, actor).await?;
        let task = lookup::task(&self.db, task_id).await?;
        let _one = self.workspaces.lock().await;
        let git = identity(&Git::new(&row.path)).await;
        refuse_uncommitted(&git).await?;
        let base_ref = format!("refs/heads/{}", row.base_branch);
        let branch_ref = format!("refs/heads/{}", row.branch);
        let base = git.text(&["rev-parse", "--verify", &base_ref]).await?;
        let head = git.text(&["rev-parse", "--verify", &branch_ref]).await?;
        if is_ancestor(&git, &head, &base).await? {
            return Err(ServiceError::conflict(
                "nothing_to_merge",
                format!("{} has nothing that {} lacks", row.branch, row.base_branch),
                json!({ "branch": row.branch, "baseBranch": row.base_branch }),
            ));
        }
        let tree = match merge_tree(&git, &base, &head).await? {
            Ok(tree) => tree,
            Err(files) => {
                return Err(ServiceError::conflict(
                    "merge_conflict",
                    format!(
                        "merging {} into {} conflicts in {}",
                        row.branch,
                        row.base_branch,
                        files.join(", ")
                    ),
                    json!({ "files": files }),
                ))
            }
        };
        let strategy = input.strategy.unwrap_or(MergeStrategy::Auto);
        let fast_forward =
            is_ancestor(&git, &base, &head).await? && strategy != MergeStrategy::MergeCommit;
        if !fast_forward && strategy == MergeStrategy::FastForwardOnly {
            return Err(ServiceError::conflict(
                "not_fast_forward",
                format!(
                    "{} has moved on: rebase the task or allow a merge commit",
                    row.base_branch
                ),
                json!({ "baseBranch": row.base_branch }),
            ));
        }
        let commit = if fast_forward {
            head.clone()
        } else {
            let message = input.message.clone().unwrap_or_else(|| {
                format!(
                    "Merge {} ({})",
                    row.branch,
                    crate::service::validate::clip(&task.title, 200)
                )
            });
            git.text(&[
                "commit-tree",
                &tree,
                "-p",
                &base,
                "-p",
                &head,
                "-m",
                &message,
            ])
            .await?
        };
        // Move the base branch: in the folder that has it checked out (its files follow), or
        // the ref alone when no folder has it.
        match checked_out_at(&git, &row.base_branch).await? {
            Some(folder) => {
                let there = Git::new(&folder);
                // Untracked files there do not stand in a fast-forward's way.
                let dirty = changed_files(&there, "--untracked-files=no").await?;
                if !dirty.is_empty() {
                    return Err(ServiceError::conflict(
                        "base_folder_dirty",
                        format!(
                            "{} is checked out in {} with uncommitted changes: commit or stash them first",
                            row.base_branch,
                            folder.display()
                        ),
                        json!({ "folder": folder, "files": dirty }),
                    ));
                }
                there
                    .run(&["merge", "--ff-only", "--quiet", &commit])
                    .await?;
            }
            None => {
                git.run(&["update-ref", &base_ref, &commit, &base]).await?;
            }
        }
        tracing::info!(task = task_id, branch = %row.branch, base = %row.base_branch, fast_forward, "merged");
        self.workspace_changed(&row);
        Ok(Merged {
            task_id: row.task_id,
            branch: row.branch,
            base_branch: row.base_branch,
            commit,
            fast_forward,
        })
    }

    /// `POST /api/tasks/{id}/rebase`: replays the task's commits onto its base branch, in its
    /// worktree. A conflicting rebase is aborted (nothing changes) and names the files.
    pub async fn rebase_task(&self, task_id: &str, actor: &Actor) -> ServiceResult<Workspace> {
        let row = self.worktree_to_change(task_id, actor).await?;
        let _one = self.workspaces.lock().await;
        let git = identity(&Git::new(&row.path)).await;
        refuse_uncommitted(&git).await?;
        let answer = git.answer(&["rebase", "--quiet", &row.base_branch]).await?;
        if answer.code != 0 {
            let files = git
                .text(&["diff", "--name-only", "--diff-filter=U"])
                .await
                .unwrap_or_default();
            git.answer(&["rebase", "--abort"]).await?;
            return Err(ServiceError::conflict(
                "rebase_conflict",
                format!(
                    "rebasing onto {} conflicts; nothing changed",
                    row.base_branch
                ),
                json!({ "files": files.lines().collect::<Vec<_>>() }),
            ));
        }
        self.workspace_changed(&row);
        Ok(worktree_view(&row))
    }

    /// `POST /api/tasks/{id}/pull-request`: pushes the branch and opens a pull request with
    /// `gh`. A 422 says what is missing when `gh` is not installed or not signed in.
    pub async fn open_pull_request(
        &self,
        task_id: &str,
        actor: &Actor,
    ) -> ServiceResult<PullRequest> {
        let row = self.worktree_to_change(task_id, actor).await?;
        let task = lookup::task(&self.db, task_id).await?;
        let path = std::env::var("PATH").ok();
        if crate::pty::find_program("gh", path.as_deref()).is_none() {
            return Err(ServiceError::refused(
                "gh_missing",
                "the GitHub CLI (gh) is not installed: install it and run `gh auth login`",
                json!({ "program": "gh" }),
            ));
        }
        let gh = |args: Vec<String>| {
            let dir = row.path.clone();
            async move {
                tokio::process::Command::new("gh")
                    .args(args)
                    .current_dir(dir)
                    .env("GH_PROMPT_DISABLED", "1")
                    .stdin(std::process::Stdio::null())
                    .output()
                    .await
            }
        };
        let auth = gh(vec!["auth".into(), "status".into()])
            .await
            .map_err(|e| ServiceError::Unavailable(format!("gh cannot run: {e}")))?;
        if !auth.status.success() {
            return Err(ServiceError::refused(
                "gh_not_authenticated",
                "the GitHub CLI (gh) is not signed in: run `gh auth login`",
                json!({ "program": "gh" }),
            ));
        }
        let _one = self.workspaces.lock().await;
        let git = Git::new(&row.path);
        git.run(&["push", "--quiet", "--set-upstream", "origin", &row.branch])
            .await?;
        let created = gh(vec![
            "pr".into(),
            "create".into(),
            "--base".into(),
            row.base_branch.clone(),
            "--head".into(),
            row.branch.clone(),
            "--title".into(),
            task.title.clone(),
            "--body".into(),
            task.description.clone(),
        ])
        .await
        .map_err(|e| ServiceError::Unavailable(format!("gh cannot run: {e}")))?;
        if !created.status.success() {
            return Err(ServiceError::conflict(
                "pull_request_failed",
                format!(
                    "gh pr create failed: {}",
                    String::from_utf8_lossy(&created.stderr).trim()
                ),
                json!({}),
            ));
        }
        Ok(PullRequest {
            task_id: row.task_id,
            branch: row.branch,
            url: String::from_utf8_lossy(&created.stdout).trim().to_owned(),
        })
    }
}
