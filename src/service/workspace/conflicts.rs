//! Conflicts flagged early: for the tasks of a project that have worktrees, each pair of their
//! work (commits and uncommitted files, as snapshot commits) is merged in memory with `git
//! merge-tree` — no worktree touched — and so is each against the base branch. A task's list
//! of conflicts is published as `task:conflicts` when it changes. The check runs after changes
//! settle: a run ending, a session going quiet, a commit, merge or new worktree mark the
//! project, and a background loop checks marked projects after a short quiet time.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::git::Git;
use super::integrate::{identity, merge_tree};
use crate::events::Event;
use crate::model::{TaskConflict, TaskConflicts};
use crate::service::error::ServiceResult;
use crate::service::{Actor, Service};
use crate::store::entity::workspace;

/// How long a project must be quiet before its conflicts are checked again.
const SETTLE: Duration = Duration::from_millis(500);

/// The projects to check and what was last published, by task.
#[derive(Default)]
pub struct ConflictWatch {
    marked: Mutex<HashSet<String>>,
    wake: Notify,
    known: Mutex<HashMap<String, Vec<TaskConflict>>>,
}

impl Service {
    /// Marks `project_id` for a conflict check once its changes settle.
    pub(in crate::service) fn conflicts_may_have_changed(&self, project_id: &str) {
        let watch = &self.conflict_watch;
        watch
            .marked
            .lock()
            .expect("conflict marks")
            .insert(project_id.to_owned());
        watch.wake.notify_one();
    }

    /// What a published event means for the check: a run that ended, or a session whose
    /// activity changed, marks its project.
    pub(in crate::service) fn note_for_conflicts(&self, event: &Event) {
        match event {
            Event::RunEnded(r) => self.conflicts_may_have_changed(&r.project_id),
            Event::SessionUpdated(s) if s.activity.is_some() => {
                self.conflicts_may_have_changed(&s.project_id)
            }
            _ => {}
        }
    }

    /// Starts the background check of marked projects (marked as events are published, and on
    /// workspace changes).
    pub fn start_conflict_watch(&self, shutdown: CancellationToken) {
        let checker = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = checker.conflict_watch.wake.notified() => {}
                }
                // Let a burst of changes settle.
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(SETTLE) => {}
                }
                let marked: Vec<String> = checker
                    .conflict_watch
                    .marked
                    .lock()
                    .expect("conflict marks")
                    .drain()
                    .collect();
                for project in marked {
                    if let Err(err) = checker.check_conflicts(&project).await {
                        tracing::warn!(%err, project, "conflict check failed");
                    }
                }
            }
        });
    }

    /// `GET /api/tasks/{id}/conflicts`: checked now.
    pub async fn task_conflicts(
        &self,
        task_id: &str,
        actor: &Actor,
    ) -> ServiceResult<Vec<TaskConflict>> {
        let task = crate::service::lookup::task(&self.db, task_id).await?;
        actor.may_read(&task.project_id)?;
        let mut all = self.check_conflicts(&task.project_id).await?;
        Ok(all.remove(task_id).unwrap_or_default())
    }

    /// Checks a project's tasks, publishes the lists that changed, and returns them all.
    async fn check_conflicts(
        &self,
        project_id: &str,
    ) -> ServiceResult<BTreeMap<String, Vec<TaskConflict>>> {
        let rows = workspace::Entity::find()
            .filter(workspace::Column::ProjectId.eq(project_id))
            .order_by_asc(workspace::Column::TaskId)
            .all(&self.db)
            .await?;
        let mut found: BTreeMap<String, Vec<TaskConflict>> = rows
            .iter()
            .map(|r| (r.task_id.clone(), Vec::new()))
            .collect();
        let mut snapshots = Vec::new();
        for row in &rows {
            if !std::path::Path::new(&row.path).is_dir() {
                continue;
            }
            let git = Git::new(&row.path);
            snapshots.push((row, self.snapshot_commit(&git).await?));
        }
        for (i, (a, a_commit)) in snapshots.iter().enumerate() {
            let git = Git::new(&a.path);
            if let Err(files) =
                merge_tree(&git, &format!("refs/heads/{}", a.base_branch), a_commit).await?
            {
                found
                    .entry(a.task_id.clone())
                    .or_default()
                    .push(TaskConflict {
                        task_id: None,
                        branch: a.base_branch.clone(),
                        files,
                    });
            }
            for (b, b_commit) in &snapshots[i + 1..] {
                if let Err(files) = merge_tree(&git, a_commit, b_commit).await? {
                    found
                        .entry(a.task_id.clone())
                        .or_default()
                        .push(TaskConflict {
                            task_id: Some(b.task_id.clone()),
                            branch: b.branch.clone(),
                            files: files.clone(),
                        });
                    found
                        .entry(b.task_id.clone())
                        .or_default()
                        .push(TaskConflict {
                            task_id: Some(a.task_id.clone()),
                            branch: a.branch.clone(),
                            files,
                        });
                }
            }
        }
        let mut events = Vec::new();
        {
            let mut known = self.conflict_watch.known.lock().expect("known conflicts");
            for (task_id, list) in &mut found {
                list.sort();
                let before = known.get(task_id).cloned().unwrap_or_default();
                if &before != list {
                    known.insert(task_id.clone(), list.clone());
                    events.push(Event::TaskConflicts(TaskConflicts {
                        task_id: task_id.clone(),
                        project_id: project_id.to_owned(),
                        conflicts: list.clone(),
                    }));
                }
            }
        }
        self.publish_all(events);
        Ok(found)
    }

    /// A commit holding the worktree's files as they are now, on top of its HEAD (HEAD itself
    /// when nothing is uncommitted). Nothing in the worktree changes.
    pub(super) async fn snapshot_commit(&self, git: &Git) -> ServiceResult<String> {
        let tree = self.snapshot_tree(git).await?;
        let head = git.text(&["rev-parse", "HEAD"]).await?;
        let head_tree = git.text(&["rev-parse", "HEAD^{tree}"]).await?;
        if tree == head_tree {
            return Ok(head);
        }
        let git = identity(git).await;
        Ok(git
            .text(&[
                "commit-tree",
                &tree,
                "-p",
                &head,
                "-m",
                "baton: snapshot of the worktree",
            ])
            .await?)
    }
}
