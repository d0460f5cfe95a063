//! Task history: one row per change (who, what, old → new, when), written in the same
//! transaction as the change itself.

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::Value;

use super::error::ServiceResult;
use super::{lookup, views, Actor, Service};
use crate::model::HistoryEntry;
use crate::store::entity::task_history;
use crate::store::shapes::Shapes;

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
    // Nothing reads the row back: no `RETURNING`. Its SQL is built once (`store::shapes`): the
    // queue writes three at every task's run.
    static INSERT: Shapes = Shapes::new();
    const COLUMNS: [task_history::Column; 7] = [
        task_history::Column::TaskId,
        task_history::Column::Action,
        task_history::Column::Field,
        task_history::Column::OldValue,
        task_history::Column::NewValue,
        task_history::Column::Actor,
        task_history::Column::CreatedAt,
    ];
    let values = COLUMNS
        .iter()
        .map(|c| {
            entry
                .row
                .get(*c)
                .into_value()
                .unwrap_or(sea_orm::Value::String(None))
        })
        .collect();
    let backend = conn.get_database_backend();
    let stmt = INSERT.with_values(backend, values, |v| {
        let mut insert = Query::insert();
        insert
            .into_table(task_history::Entity)
            .columns(COLUMNS)
            .values_panic(v.iter().cloned().map(Expr::val));
        backend.build(&insert)
    });
    conn.execute_raw(stmt).await?;
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
