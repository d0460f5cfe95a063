//! Task history: one row per change (who, what, old → new, when), written in the same
//! transaction as the change itself.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::Value;

use super::error::ServiceResult;
use super::{lookup, views, Actor, Service};
use crate::model::HistoryEntry;
use crate::store::entity::task_history;

/// A history row being built.
pub(super) struct Entry {
    row: task_history::ActiveModel,
}

impl Entry {
    pub fn new(task_id: &str, action: &str, actor: &Actor, now: i64) -> Self {
        Self {
            row: task_history::ActiveModel {
                task_id: Set(task_id.to_owned()),
                action: Set(action.to_owned()),
                field: Set(None),
                old_value: Set(None),
                new_value: Set(None),
                actor: Set(actor.to_string()),
                created_at: Set(now),
                ..Default::default()
            },
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.row.field = Set(Some(field.into()));
        self
    }

    pub fn old_value(mut self, value: Value) -> Self {
        self.row.old_value = Set(Some(value.to_string()));
        self
    }

    pub fn new_value(mut self, value: Value) -> Self {
        self.row.new_value = Set(Some(value.to_string()));
        self
    }
}

pub(super) async fn record<C: ConnectionTrait>(conn: &C, entry: Entry) -> ServiceResult<()> {
    // Nothing reads the row back: no `RETURNING` (the queue writes three at every task's run).
    task_history::Entity::insert(entry.row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

impl Service {
    /// The task's history, oldest first.
    pub async fn task_history(
        &self,
        task_id: &str,
        actor: &Actor,
    ) -> ServiceResult<Vec<HistoryEntry>> {
        let task = lookup::task(&self.db, task_id).await?;
        actor.may_read(&task.project_id)?;
        let rows = task_history::Entity::find()
            .filter(task_history::Column::TaskId.eq(task_id))
            .order_by_asc(task_history::Column::Id)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(views::history).collect())
    }
}
