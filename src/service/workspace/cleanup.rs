//! Cleanup that never loses work: removing a task's worktree is refused while it holds
//! uncommitted changes or commits that are neither merged into the base branch nor pushed
//! (unless the person forces it); archiving saves the branch's commits and a snapshot of its
//! uncommitted and untracked files as a git bundle in the data folder (with the list of files
//! beside it) before removing the worktree and branch; restoring brings the same files back,
//! byte for byte (committed work as commits, the rest uncommitted again).

use std::path::{Path, PathBuf};

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;

use super::git::Git;
use super::integrate::uncommitted;
use super::{branch_exists, copy_included, worktree_view, Service};
use crate::clock::now_ms;
use crate::events::Event;
use crate::model::{Archive, ArchiveFile, FileChange, ListArchives, RemoveWorkspace, Workspace};
use crate::service::access::Admin;
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::{ids, lookup, Actor};
use crate::store::entity::{workspace, workspace_archive};

/// What removing a worktree would lose.
struct LostWork {
    uncommitted: Vec<String>,
    /// `<short hash> <subject>` of each commit neither merged nor pushed.
    commits: Vec<String>,
}

impl LostWork {
    fn is_empty(&self) -> bool {
        self.uncommitted.is_empty() && self.commits.is_empty()
    }
}

async fn lost_work(row: &workspace::Model) -> ServiceResult<LostWork> {
    let git = Git::new(&row.path);
    let uncommitted = uncommitted(&git).await?;
    let commits = git
        .text(&[
            "log",
            "--format=%h %s",
            &format!("refs/heads/{}", row.branch),
            "--not",
            &format!("refs/heads/{}", row.base_branch),
            "--remotes",
        ])
        .await?;
    Ok(LostWork {
        uncommitted,
        commits: commits.lines().map(str::to_owned).collect(),
    })
}

fn archive_view(row: &workspace_archive::Model) -> Archive {
    Archive {
        id: row.id.clone(),
        task_id: row.task_id.clone(),
        project_id: row.project_id.clone(),
        branch: row.branch.clone(),
        base_branch: row.base_branch.clone(),
        head_commit: row.head_commit.clone(),
        snapshot_commit: row.snapshot_commit.clone(),
        files: row.files.max(0) as u32,
        bytes: row.bytes.max(0) as u64,
        created_at: row.created_at,
        restored_at: row.restored_at,
    }
}

impl Service {
    fn archives_dir(&self) -> PathBuf {
        self.runtime.data_dir.join("archives")
    }

    /// Removes the worktree folder and the branch, and forgets the workspace.
    async fn drop_worktree(&self, row: &workspace::Model) -> ServiceResult<()> {
        let project = lookup::project(&self.db, &row.project_id).await?;
        if let Some(teardown) = self.workspace_plan(&project).await?.settings.teardown {
            self.run_teardown(&teardown, Path::new(&row.path)).await;
        }
        let git = Git::new(&row.path);
        let common = git.text(&["rev-parse", "--git-common-dir"]).await?;
        let repo = Git::new(Path::new(&row.path).join(common));
        repo.run(&["worktree", "remove", "--force", &row.path])
            .await?;
        repo.run(&["branch", "-D", &row.branch]).await?;
        let _lock = self.write_lock().await;
        workspace::Entity::delete_by_id(row.task_id.clone())
            .exec(&self.db)
            .await?;
        self.publish_all(vec![Event::WorkspaceRemoved {
            task_id: row.task_id.clone(),
            project_id: row.project_id.clone(),
        }]);
        drop(_lock);
        self.conflicts_may_have_changed(&row.project_id);
        Ok(())
    }

    /// `DELETE /api/tasks/{id}/workspace`: refused (409, listing what would be lost) while the
    /// worktree has uncommitted changes or commits neither merged nor pushed, unless the person
    /// forces it.
    pub async fn remove_workspace(
        &self,
        task_id: &str,
        query: &RemoveWorkspace,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let force = match query.force.as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(ServiceError::invalid("force", "must be true or false")),
        };
        let row = self.worktree_of(task_id, actor).await?;
        actor.may_write(&row.project_id)?;
        let _one = self.workspaces.lock().await;
        let lost = lost_work(&row).await?;
        if !lost.is_empty() {
            if !force {
                return Err(ServiceError::conflict(
                    "would_lose_work",
                    format!(
                        "removing the worktree would lose {} uncommitted file(s) and {} commit(s) neither merged nor pushed: merge, push or archive it, or remove with ?force=true",
                        lost.uncommitted.len(),
                        lost.commits.len()
                    ),
                    json!({ "uncommitted": lost.uncommitted, "commits": lost.commits }),
                ));
            }
            actor.may_administer(Admin::DiscardWork)?;
            tracing::warn!(
                task = task_id,
                files = lost.uncommitted.len(),
                commits = lost.commits.len(),
                "a worktree with unsaved work is removed, forced"
            );
        }
        self.drop_worktree(&row).await
    }

    /// `POST /api/tasks/{id}/archive`: saves the task's work in the data folder, then removes
    /// its worktree and branch.
    pub async fn archive_task(&self, task_id: &str, actor: &Actor) -> ServiceResult<Archive> {
        let row = self.worktree_of(task_id, actor).await?;
        actor.may_write(&row.project_id)?;
        let _one = self.workspaces.lock().await;
        let git = Git::new(&row.path);
        let head = git.text(&["rev-parse", "HEAD"]).await?;
        let snapshot = self.snapshot_commit(&git).await?;
        let base = git
            .text(&["merge-base", &row.base_branch, &snapshot])
            .await?;
        let id = ids::new_id("arch");
        let dir = self.archives_dir();
        std::fs::create_dir_all(&dir).map_err(|e| {
            ServiceError::Unavailable(format!("cannot make the archives folder: {e}"))
        })?;
        let bundle = dir.join(format!("{id}.bundle"));
        let reference = format!("refs/baton/archives/{id}");
        git.run(&["update-ref", &reference, &snapshot]).await?;
        // The commits since the base (or the one snapshot commit when nothing was done).
        let exclude = if base == snapshot {
            format!("{snapshot}^@")
        } else {
            base.clone()
        };
        let bundle_text = bundle.display().to_string();
        let made = git
            .run(&[
                "bundle",
                "create",
                "--quiet",
                &bundle_text,
                &reference,
                "--not",
                &exclude,
            ])
            .await;
        git.run(&["update-ref", "-d", &reference]).await?;
        made?;
        let listing = git
            .run(&[
                "diff",
                "--name-status",
                "-z",
                "--no-renames",
                &base,
                &snapshot,
            ])
            .await?;
        let files = name_status(&listing.stdout);
        let sidecar = serde_json::to_vec(&files).unwrap_or_default();
        std::fs::write(dir.join(format!("{id}.json")), sidecar).map_err(|e| {
            ServiceError::Unavailable(format!("cannot write the archive's file list: {e}"))
        })?;
        let bytes = std::fs::metadata(&bundle).map(|m| m.len()).unwrap_or(0);
        let archive = workspace_archive::ActiveModel {
            id: Set(id.clone()),
            task_id: Set(Some(row.task_id.clone())),
            project_id: Set(row.project_id.clone()),
            branch: Set(row.branch.clone()),
            base_branch: Set(row.base_branch.clone()),
            head_commit: Set(head),
            snapshot_commit: Set(snapshot),
            bundle: Set(format!("archives/{id}.bundle")),
            files: Set(files.len() as i32),
            bytes: Set(bytes as i64),
            created_at: Set(now_ms()),
            restored_at: Set(None),
        }
        .insert(&self.db)
        .await?;
        self.drop_worktree(&row).await?;
        tracing::info!(task = task_id, archive = %id, "archived the task's worktree");
        Ok(archive_view(&archive))
    }

    /// `GET /api/archives`.
    pub async fn list_archives(
        &self,
        query: &ListArchives,
        actor: &Actor,
    ) -> ServiceResult<Vec<Archive>> {
        let mut select =
            workspace_archive::Entity::find().order_by_desc(workspace_archive::Column::CreatedAt);
        let project = query.project_id.as_deref().or(actor.project_scope());
        if let Some(project) = project {
            actor.may_read(project)?;
            select = select.filter(workspace_archive::Column::ProjectId.eq(project));
        }
        Ok(select
            .all(&self.db)
            .await?
            .iter()
            .map(archive_view)
            .collect())
    }

    async fn archive_row(
        &self,
        id: &str,
        actor: &Actor,
    ) -> ServiceResult<workspace_archive::Model> {
        let row = workspace_archive::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or_else(|| ServiceError::not_found("archive", id))?;
        actor.may_read(&row.project_id)?;
        Ok(row)
    }

    /// `GET /api/archives/{id}/files`: the files it holds that differ from the base branch.
    pub async fn archive_files(&self, id: &str, actor: &Actor) -> ServiceResult<Vec<ArchiveFile>> {
        self.archive_row(id, actor).await?;
        let text = std::fs::read(self.archives_dir().join(format!("{id}.json"))).map_err(|e| {
            ServiceError::Unavailable(format!("the archive's file list cannot be read: {e}"))
        })?;
        serde_json::from_slice(&text).map_err(|e| {
            ServiceError::Unavailable(format!("the archive's file list is damaged: {e}"))
        })
    }

    /// `POST /api/archives/{id}/restore`: the task's worktree and branch come back with the same
    /// files; what was uncommitted is uncommitted again.
    pub async fn restore_archive(&self, id: &str, actor: &Actor) -> ServiceResult<Workspace> {
        let archive = self.archive_row(id, actor).await?;
        actor.may_write(&archive.project_id)?;
        let Some(task_id) = archive.task_id.clone() else {
            return Err(ServiceError::conflict(
                "task_deleted",
                "the archive's task was deleted",
                json!({ "archiveId": id }),
            ));
        };
        let _one = self.workspaces.lock().await;
        if workspace::Entity::find_by_id(task_id.clone())
            .one(&self.db)
            .await?
            .is_some()
        {
            return Err(ServiceError::conflict(
                "workspace_exists",
                "the task has a worktree again: archive or remove it first",
                json!({ "taskId": task_id }),
            ));
        }
        let project = lookup::project(&self.db, &archive.project_id).await?;
        let plan = self.workspace_plan(&project).await?;
        let Some(repository) = plan.repository.clone() else {
            return Err(ServiceError::conflict(
                "no_repository",
                "the project folder is no longer a git repository",
                json!({ "projectId": project.id }),
            ));
        };
        let repo = Git::new(&repository);
        if branch_exists(&repo, &archive.branch).await? {
            return Err(ServiceError::conflict(
                "branch_exists",
                format!("a branch named {} exists again", archive.branch),
                json!({ "branch": archive.branch }),
            ));
        }
        let bundle = self.runtime.data_dir.join(&archive.bundle);
        let reference = format!("refs/baton/archives/{id}");
        let bundle_text = bundle.display().to_string();
        repo.run(&[
            "fetch",
            "--quiet",
            &bundle_text,
            &format!("{reference}:{reference}"),
        ])
        .await?;
        let path = self.worktree_path(&plan, &archive.project_id, &task_id)?;
        let path_text = path.display().to_string();
        let made = async {
            repo.run(&["branch", &archive.branch, &archive.head_commit])
                .await?;
            repo.run(&["worktree", "add", "--quiet", &path_text, &archive.branch])
                .await?;
            let worktree = Git::new(&path);
            worktree
                .run(&[
                    "restore",
                    "--source",
                    &archive.snapshot_commit,
                    "--worktree",
                    "--",
                    ".",
                ])
                .await?;
            copy_included(&repo, &path).await
        }
        .await;
        repo.run(&["update-ref", "-d", &reference]).await?;
        made?;
        let now = now_ms();
        let row = {
            let _lock = self.write_lock().await;
            let row = workspace::ActiveModel {
                task_id: Set(task_id.clone()),
                project_id: Set(archive.project_id.clone()),
                path: Set(path_text),
                branch: Set(archive.branch.clone()),
                base_branch: Set(archive.base_branch.clone()),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&self.db)
            .await?;
            let mut done: workspace_archive::ActiveModel = archive.into();
            done.restored_at = Set(Some(now));
            done.update(&self.db).await?;
            self.publish_all(vec![Event::WorkspaceUpdated(worktree_view(&row))]);
            row
        };
        self.conflicts_may_have_changed(&row.project_id);
        Ok(worktree_view(&row))
    }
}

/// `git diff --name-status -z --no-renames` output as files.
fn name_status(raw: &[u8]) -> Vec<ArchiveFile> {
    let mut parts = raw.split(|b| *b == 0).filter(|p| !p.is_empty());
    let mut files = Vec::new();
    while let (Some(status), Some(path)) = (parts.next(), parts.next()) {
        let status = match status.first() {
            Some(b'A') => FileChange::Added,
            Some(b'D') => FileChange::Deleted,
            _ => FileChange::Modified,
        };
        files.push(ArchiveFile {
            path: String::from_utf8_lossy(path).into_owned(),
            status,
        });
    }
    files
}
