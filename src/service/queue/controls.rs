//! The person's controls over the queue: its concurrency, pausing (all, or one project),
//! clearing it, and moving tasks up or down by priority.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::json;

use super::super::access::Admin;
use super::super::error::{ServiceError, ServiceResult};
use super::super::{lookup, views, Actor, Service};
use super::{
    set_priority, set_task_status, KEY_MAX, KEY_PAUSED, KEY_PAUSED_PROJECT, MAX_CONCURRENT,
};
use crate::clock::now_ms;
use crate::events::Event;
use crate::model::{
    Affected, ClearQueue, ExecutionState, QueuePatch, QueuePriority, QueueScope, QueueStatus,
    TaskStatus,
};
use crate::store::entity::{task, task_execution};

impl Service {
    /// `PATCH /api/queue`.
    pub async fn update_queue(
        &self,
        patch: QueuePatch,
        actor: &Actor,
    ) -> ServiceResult<QueueStatus> {
        actor.may_administer(Admin::Queue)?;
        if !(1..=MAX_CONCURRENT).contains(&patch.max_concurrent) {
            return Err(ServiceError::invalid(
                "maxConcurrent",
                format!("must be from 1 to {MAX_CONCURRENT}"),
            ));
        }
        {
            let _lock = self.write_lock().await;
            self.put_setting(&self.db, KEY_MAX, Some(json!(patch.max_concurrent)))
                .await?;
        }
        self.settled().await
    }

    /// `POST /api/queue/pause` and `/resume`: all of it, or one project's part.
    pub async fn pause_queue(
        &self,
        scope: QueueScope,
        paused: bool,
        actor: &Actor,
    ) -> ServiceResult<QueueStatus> {
        actor.may_administer(Admin::Queue)?;
        let key = match &scope.project_id {
            Some(project) => {
                lookup::as_field(lookup::project(&self.db, project).await, "projectId")?;
                format!("{KEY_PAUSED_PROJECT}{project}")
            }
            None => KEY_PAUSED.to_owned(),
        };
        {
            let _lock = self.write_lock().await;
            self.put_setting(&self.db, &key, paused.then_some(json!(true)))
                .await?;
        }
        self.settled().await
    }

    /// Whether the queue of `project_id` is paused (by the person, or by its cost limit).
    pub(in crate::service) async fn project_paused(&self, project_id: &str) -> ServiceResult<bool> {
        Ok(self
            .setting::<bool, _>(&self.db, &format!("{KEY_PAUSED_PROJECT}{project_id}"))
            .await?
            .unwrap_or(false))
    }

    /// The queue after a change of its settings: published, and the pump woken.
    async fn settled(&self) -> ServiceResult<QueueStatus> {
        let status = self.queue_summary().await?;
        self.publish_all(vec![Event::QueueUpdated(status.clone())]);
        self.wake_queue();
        Ok(status)
    }

    /// `DELETE /api/queue {"confirm": true}`: every queued task goes back to `pending`
    /// (blocked ones too: they would enter the queue by themselves). Running ones go on.
    pub async fn clear_queue(&self, input: ClearQueue, actor: &Actor) -> ServiceResult<Affected> {
        actor.may_administer(Admin::Queue)?;
        if !input.confirm {
            return Err(ServiceError::invalid(
                "confirm",
                "must be true: clearing sends every queued task back to pending",
            ));
        }
        let count = {
            let _lock = self.write_lock().await;
            let txn = self.db.begin().await?;
            let waiting = task_execution::Entity::find()
                .filter(task_execution::Column::State.is_in([
                    ExecutionState::Queued.as_str(),
                    ExecutionState::Blocked.as_str(),
                ]))
                .all(&txn)
                .await?;
            let now = now_ms();
            let mut events = Vec::new();
            for execution in &waiting {
                task_execution::Entity::delete_by_id(execution.task_id.clone())
                    .exec(&txn)
                    .await?;
                if let Some(row) = task::Entity::find_by_id(execution.task_id.clone())
                    .one(&txn)
                    .await?
                {
                    set_task_status(&txn, &row, TaskStatus::Pending, actor, now).await?;
                    events.push(Event::TaskUpdated(views::task_by_id(&txn, &row.id).await?));
                }
            }
            txn.commit().await?;
            self.publish_all(events);
            waiting.len() as u32
        };
        self.settled().await?;
        Ok(Affected {
            affected_count: count,
        })
    }

    /// `POST /api/queue/priority {taskIds, priority}`: the tasks' priority (their place in the
    /// queue). All of them or none: an unknown id, or one the caller may not change, is a 4xx.
    pub async fn set_queue_priority(
        &self,
        input: QueuePriority,
        actor: &Actor,
    ) -> ServiceResult<Affected> {
        if input.task_ids.is_empty() {
            return Err(ServiceError::invalid(
                "taskIds",
                "must name at least one task",
            ));
        }
        let count = {
            let _lock = self.write_lock().await;
            let txn = self.db.begin().await?;
            let now = now_ms();
            let mut events = Vec::new();
            let mut seen = std::collections::BTreeSet::new();
            for id in &input.task_ids {
                if !seen.insert(id.clone()) {
                    continue;
                }
                let row = lookup::as_field(lookup::task(&txn, id).await, "taskIds")?;
                actor.may_write(&row.project_id)?;
                if !set_priority(&txn, &row, input.priority, actor, now).await? {
                    continue;
                }
                events.push(Event::TaskUpdated(views::task_by_id(&txn, id).await?));
            }
            txn.commit().await?;
            let count = events.len() as u32;
            self.publish_all(events);
            count
        };
        if count > 0 {
            self.publish_queue().await;
            self.wake_queue();
        }
        Ok(Affected {
            affected_count: count,
        })
    }
}
