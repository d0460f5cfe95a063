//! One operation on many tasks (`POST /api/tasks/bulk`), and a project's numbers
//! (`GET /api/projects/{id}/stats`).
//!
//! A bulk operation is the single-task operation applied to each task in turn: each change is
//! validated and applied whole or not at all, publishes the events a single change would, and a
//! task that fails is reported with why while the others go on. Bad `data` (the same for every
//! task) is a 400 before anything changes.

use std::collections::BTreeMap;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use strum::IntoEnumIterator;

use super::error::{ServiceError, ServiceResult};
use super::{lookup, validate, Actor, Service};
use crate::model::{
    BulkFailure, BulkOperation, BulkRequest, BulkResult, CancelTask, EndReason, ExecuteTask,
    ExecutionState, MessageStats, Priority, ProjectStats, TaskPatch, TaskStatus,
};
use crate::store::entity::{message, run, session, task, task_execution};

/// The most tasks one bulk request may name.
pub const MAX_BULK: usize = 500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusData {
    status: TaskStatus,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriorityData {
    priority: Priority,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TagsData {
    tags: Vec<String>,
}

/// What an operation does to one task, its `data` read once.
enum Change {
    Patch(TaskPatch),
    AddTags(Vec<String>),
    RemoveTags(Vec<String>),
    Delete,
    Execute(ExecuteTask),
    Cancel(CancelTask),
}

/// `data` as `T`; a wrong one is a 400 naming the field inside it (`data.status`).
fn data<T: DeserializeOwned>(data: Option<serde_json::Value>, required: bool) -> ServiceResult<T> {
    let value = match data {
        Some(value) => value,
        None if required => {
            return Err(ServiceError::invalid("data", "required for this operation"))
        }
        None => serde_json::json!({}),
    };
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let field = if path == "." {
            "data".to_owned()
        } else {
            format!("data.{path}")
        };
        ServiceError::invalid(field, err.into_inner().to_string())
    })
}

impl Service {
    pub async fn bulk_tasks(&self, input: BulkRequest, actor: &Actor) -> ServiceResult<BulkResult> {
        if input.task_ids.is_empty() || input.task_ids.len() > MAX_BULK {
            return Err(ServiceError::invalid(
                "taskIds",
                format!("must name 1 to {MAX_BULK} tasks"),
            ));
        }
        let change = match input.operation {
            BulkOperation::UpdateStatus => {
                let d: StatusData = data(input.data, true)?;
                Change::Patch(TaskPatch {
                    status: Some(d.status),
                    ..Default::default()
                })
            }
            BulkOperation::SetPriority => {
                let d: PriorityData = data(input.data, true)?;
                Change::Patch(TaskPatch {
                    priority: Some(d.priority),
                    ..Default::default()
                })
            }
            BulkOperation::AddTags | BulkOperation::RemoveTags => {
                let d: TagsData = data(input.data, true)?;
                let tags = validate::tags(&d.tags).map_err(|e| match e {
                    ServiceError::Invalid { message, .. } => {
                        ServiceError::invalid("data.tags", message)
                    }
                    other => other,
                })?;
                if input.operation == BulkOperation::AddTags {
                    Change::AddTags(tags)
                } else {
                    Change::RemoveTags(tags)
                }
            }
            BulkOperation::Delete => Change::Delete,
            BulkOperation::Execute => Change::Execute(data(input.data, false)?),
            BulkOperation::Cancel => Change::Cancel(data(input.data, false)?),
        };
        let mut ids = input.task_ids.clone();
        let mut seen = std::collections::BTreeSet::new();
        ids.retain(|id| seen.insert(id.clone()));
        // Cancelling a running task frees its slot: the queued ones are cancelled first, so that
        // none of them starts in that slot only to be cancelled a moment later.
        let mut order: Vec<usize> = (0..ids.len()).collect();
        if matches!(change, Change::Cancel(_)) {
            let running: std::collections::BTreeSet<String> = task_execution::Entity::find()
                .select_only()
                .column(task_execution::Column::TaskId)
                .filter(task_execution::Column::TaskId.is_in(ids.clone()))
                .filter(task_execution::Column::State.eq(ExecutionState::Running.as_str()))
                .into_tuple()
                .all(&self.db)
                .await?
                .into_iter()
                .collect();
            order.sort_by_key(|&i| running.contains(&ids[i]));
        }
        let mut outcomes = Vec::with_capacity(ids.len());
        for i in order {
            let id = ids[i].clone();
            let outcome = match &change {
                Change::Patch(patch) => self.update_task(&id, patch.clone(), actor).await.map(drop),
                Change::AddTags(tags) | Change::RemoveTags(tags) => {
                    match self.get_task(&id, actor).await {
                        Ok(task) => {
                            let mut next = task.tags.clone();
                            if matches!(change, Change::AddTags(_)) {
                                next.extend(tags.iter().cloned());
                            } else {
                                next.retain(|t| !tags.contains(t));
                            }
                            let patch = TaskPatch {
                                tags: Some(next),
                                ..Default::default()
                            };
                            self.update_task(&id, patch, actor).await.map(drop)
                        }
                        Err(err) => Err(err),
                    }
                }
                Change::Delete => self.delete_task(&id, actor).await,
                Change::Execute(input) => self.queue_task(&id, input.clone(), actor).await,
                Change::Cancel(input) => {
                    self.cancel_task(&id, input.clone(), actor).await.map(drop)
                }
            };
            outcomes.push((i, id, outcome));
        }
        // Answered in the order asked.
        outcomes.sort_by_key(|(i, ..)| *i);
        let (mut successful, mut failed) = (Vec::new(), Vec::new());
        for (_, id, outcome) in outcomes {
            match outcome {
                Ok(()) => successful.push(id),
                Err(err) => failed.push(BulkFailure {
                    id,
                    error: err.public_message(),
                    code: err.code().to_owned(),
                }),
            }
        }
        if matches!(change, Change::Execute(_)) && !successful.is_empty() {
            // One round starts what can start of the tasks just queued. They are queued whatever
            // it does: should it fail, the queue's own loop tries again.
            if let Err(err) = self.start_queued().await {
                tracing::warn!(%err, "the round after a bulk execute failed; the queue will retry");
                self.wake_queue();
            }
        }
        Ok(BulkResult {
            operation: input.operation,
            affected_count: successful.len() as u32,
            successful,
            failed,
        })
    }

    pub async fn project_stats(&self, id: &str, actor: &Actor) -> ServiceResult<ProjectStats> {
        let project = lookup::project(&self.db, id).await?;
        actor.may_read(&project.id)?;
        let mut tasks: BTreeMap<String, u32> = TaskStatus::iter()
            .map(|s| (s.as_str().to_owned(), 0))
            .collect();
        let statuses: Vec<String> = task::Entity::find()
            .select_only()
            .column(task::Column::Status)
            .filter(task::Column::ProjectId.eq(id))
            .into_tuple()
            .all(&self.db)
            .await?;
        for status in statuses {
            *tasks.entry(status).or_default() += 1;
        }
        let session_ids: Vec<String> = session::Entity::find()
            .select_only()
            .column(session::Column::Id)
            .filter(session::Column::ProjectId.eq(id))
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut runs: BTreeMap<String, u32> = EndReason::iter()
            .map(|r| (r.as_str().to_owned(), 0))
            .collect();
        let reasons: Vec<Option<String>> = run::Entity::find()
            .select_only()
            .column(run::Column::EndReason)
            .filter(run::Column::SessionId.is_in(session_ids.clone()))
            .into_tuple()
            .all(&self.db)
            .await?;
        for reason in reasons.into_iter().flatten() {
            *runs.entry(reason).or_default() += 1;
        }
        let running_sessions = session_ids
            .iter()
            .filter(|s| self.runtime.get(s).is_some())
            .count() as u32;
        let states: Vec<String> = task_execution::Entity::find()
            .select_only()
            .column(task_execution::Column::State)
            .filter(task_execution::Column::ProjectId.eq(id))
            .into_tuple()
            .all(&self.db)
            .await?;
        let count =
            |state: ExecutionState| states.iter().filter(|s| *s == state.as_str()).count() as u32;
        // Counted in the database: the bodies never leave it.
        let octets = match self.db.get_database_backend() {
            sea_orm::DatabaseBackend::Sqlite => "LENGTH(CAST(body AS BLOB))",
            _ => "OCTET_LENGTH(body)",
        };
        let (messages, bytes): (i64, i64) = message::Entity::find()
            .select_only()
            .column_as(Expr::cust("COUNT(*)"), "count")
            .column_as(
                Expr::cust(format!("CAST(COALESCE(SUM({octets}), 0) AS BIGINT)")),
                "bytes",
            )
            .filter(message::Column::ProjectId.eq(id))
            .into_tuple()
            .one(&self.db)
            .await?
            .unwrap_or((0, 0));
        let rows = crate::store::entity::workspace::Entity::find()
            .filter(crate::store::entity::workspace::Column::ProjectId.eq(id))
            .all(&self.db)
            .await?;
        let workspaces = tokio::task::spawn_blocking(move || {
            rows.into_iter()
                .map(|r| crate::model::WorkspaceDisk {
                    bytes: super::workspace::files::disk_usage(std::path::Path::new(&r.path)),
                    task_id: r.task_id,
                    branch: r.branch,
                })
                .collect()
        })
        .await
        .unwrap_or_default();
        Ok(ProjectStats {
            workspaces,
            tasks,
            runs,
            running_sessions,
            queued: count(ExecutionState::Queued),
            blocked: count(ExecutionState::Blocked),
            messages: MessageStats {
                count: messages.max(0) as u32,
                bytes: bytes.max(0) as u64,
            },
        })
    }
}
