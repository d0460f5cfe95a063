//! Subtasks: add, update (title, status), remove. They live inside their task: each change
//! bumps the task's `updatedAt`, is recorded in its history and publishes `task:updated`.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use serde_json::json;

use super::error::{ServiceError, ServiceResult};
use super::{history, ids, lookup, tasks::touch, validate, views, Actor, Service};
use crate::clock::now_ms;
use crate::events::Event;
use crate::model::{NewSubtask, Subtask, SubtaskPatch, SubtaskStatus};
use crate::store::entity::subtask;

impl Service {
    pub async fn add_subtask(
        &self,
        task_id: &str,
        input: NewSubtask,
        actor: &Actor,
    ) -> ServiceResult<Subtask> {
        let title = validate::required_line("title", &input.title, validate::MAX_TITLE)?;
        let status = input.status.unwrap_or(SubtaskStatus::Pending);
        let _lock = self.write_lock().await;
        let txn = self.db.begin().await?;
        actor.may_write(&lookup::task(&txn, task_id).await?.project_id)?;
        let last = subtask::Entity::find()
            .filter(subtask::Column::TaskId.eq(task_id))
            .order_by_desc(subtask::Column::Position)
            .limit(1)
            .one(&txn)
            .await?;
        let now = now_ms();
        let row = subtask::ActiveModel {
            id: Set(ids::new_id("sub")),
            task_id: Set(task_id.to_owned()),
            title: Set(title),
            status: Set(status.as_str().to_owned()),
            position: Set(last.map_or(0, |s| s.position + 1)),
            completed_at: Set((status == SubtaskStatus::Completed).then_some(now)),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        let created = views::subtask(row);
        history::record(
            &txn,
            history::Entry::new(task_id, "subtask_added", actor, now)
                .field("subtasks")
                .new_value(
                    json!({ "id": created.id, "title": created.title, "status": created.status }),
                ),
        )
        .await?;
        touch(&txn, task_id, now).await?;
        let task = views::task_by_id(&txn, task_id).await?;
        txn.commit().await?;
        self.publish_all(vec![Event::TaskUpdated(task)]);
        Ok(created)
    }

    pub async fn update_subtask(
        &self,
        task_id: &str,
        subtask_id: &str,
        patch: SubtaskPatch,
        actor: &Actor,
    ) -> ServiceResult<Subtask> {
        let title = patch
            .title
            .as_deref()
            .map(|t| validate::required_line("title", t, validate::MAX_TITLE))
            .transpose()?;
        let _lock = self.write_lock().await;
        let txn = self.db.begin().await?;
        let before = find(&txn, task_id, subtask_id, actor).await?;
        let now = now_ms();
        let mut active: subtask::ActiveModel = before.clone().into();
        let mut changes = Vec::new();
        if let Some(title) = title.filter(|t| *t != before.title) {
            changes.push(("title", json!(before.title), json!(title)));
            active.title = Set(title);
        }
        if let Some(status) = patch.status.filter(|s| s.as_str() != before.status) {
            changes.push(("status", json!(before.status), json!(status)));
            active.status = Set(status.as_str().to_owned());
            active.completed_at = Set((status == SubtaskStatus::Completed).then_some(now));
        }
        if changes.is_empty() {
            return Ok(views::subtask(before));
        }
        active.updated_at = Set(now);
        let updated = views::subtask(active.update(&txn).await?);
        for (field, old, new) in changes {
            history::record(
                &txn,
                history::Entry::new(task_id, "subtask_updated", actor, now)
                    .field(format!("subtasks.{subtask_id}.{field}"))
                    .old_value(old)
                    .new_value(new),
            )
            .await?;
        }
        touch(&txn, task_id, now).await?;
        let task = views::task_by_id(&txn, task_id).await?;
        txn.commit().await?;
        self.publish_all(vec![Event::TaskUpdated(task)]);
        Ok(updated)
    }

    pub async fn remove_subtask(
        &self,
        task_id: &str,
        subtask_id: &str,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let _lock = self.write_lock().await;
        let txn = self.db.begin().await?;
        let row = find(&txn, task_id, subtask_id, actor).await?;
        let now = now_ms();
        subtask::Entity::delete_by_id(row.id.clone())
            .exec(&txn)
            .await?;
        history::record(
            &txn,
            history::Entry::new(task_id, "subtask_removed", actor, now)
                .field("subtasks")
                .old_value(json!({ "id": row.id, "title": row.title, "status": row.status })),
        )
        .await?;
        touch(&txn, task_id, now).await?;
        let task = views::task_by_id(&txn, task_id).await?;
        txn.commit().await?;
        self.publish_all(vec![Event::TaskUpdated(task)]);
        Ok(())
    }
}

/// The subtask `subtask_id` of task `task_id` (404 for either missing or a mismatch).
async fn find<C: sea_orm::ConnectionTrait>(
    conn: &C,
    task_id: &str,
    subtask_id: &str,
    actor: &Actor,
) -> ServiceResult<subtask::Model> {
    actor.may_write(&lookup::task(conn, task_id).await?.project_id)?;
    subtask::Entity::find_by_id(subtask_id.to_owned())
        .one(conn)
        .await?
        .filter(|s| s.task_id == task_id)
        .ok_or_else(|| ServiceError::not_found("subtask", subtask_id))
}
