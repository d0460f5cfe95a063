//! Task dependencies: a task may depend on other tasks of its project; a change that would close
//! a cycle is refused with 409 and the cycle's path.

use std::collections::HashMap;

use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait,
};
use serde_json::json;

use super::error::{ServiceError, ServiceResult};
use super::{history, lookup, rules, tasks::touch, views, Actor, Service};
use crate::clock::now_ms;
use crate::events::Event;
use crate::model::Task;
use crate::store::entity::{task, task_dependency};

impl Service {
    /// Replaces the tasks `task_id` depends on with `depends_on`.
    pub async fn set_dependencies(
        &self,
        task_id: &str,
        mut depends_on: Vec<String>,
        actor: &Actor,
    ) -> ServiceResult<Task> {
        depends_on.sort();
        depends_on.dedup();
        let _lock = self.write_lock().await;
        let txn = self.db.begin().await?;
        let before = views::task_by_id(&txn, task_id).await?;
        actor.may_write(&before.project_id)?;
        for dep in &depends_on {
            lookup::task_in_project(&txn, "dependsOn", dep, &before.project_id).await?;
        }
        if before.depends_on == depends_on {
            return Ok(before);
        }
        // Every edge of the project, to look for a way back to this task.
        let edges: Vec<task_dependency::Model> = task_dependency::Entity::find()
            .filter(
                task_dependency::Column::TaskId.in_subquery(
                    Query::select()
                        .column(task::Column::Id)
                        .from(task::Entity)
                        .and_where(task::Column::ProjectId.eq(before.project_id.as_str()))
                        .take(),
                ),
            )
            .all(&txn)
            .await?;
        let mut graph: HashMap<String, Vec<String>> = HashMap::new();
        for edge in edges.into_iter().filter(|e| e.task_id != task_id) {
            graph
                .entry(edge.task_id)
                .or_default()
                .push(edge.depends_on_id);
        }
        if let Some(cycle) = rules::find_cycle(task_id, &depends_on, &graph) {
            return Err(ServiceError::conflict(
                "dependency_cycle",
                format!("dependencies would form a cycle: {}", cycle.join(" -> ")),
                json!({ "field": "dependsOn", "cycle": cycle }),
            ));
        }
        let now = now_ms();
        task_dependency::Entity::delete_many()
            .filter(task_dependency::Column::TaskId.eq(task_id))
            .exec(&txn)
            .await?;
        insert(&txn, task_id, &depends_on, now).await?;
        history::record(
            &txn,
            history::Entry::new(task_id, "dependencies_changed", actor, now)
                .field("dependsOn")
                .old_value(json!(before.depends_on))
                .new_value(json!(depends_on)),
        )
        .await?;
        touch(&txn, task_id, now).await?;
        let task = views::task_by_id(&txn, task_id).await?;
        txn.commit().await?;
        self.publish_all(vec![Event::TaskUpdated(task.clone())]);
        self.wake_queue();
        Ok(task)
    }
}

/// Inserts the edges `task_id → each of depends_on` (checked by the caller).
pub(super) async fn insert<C: ConnectionTrait>(
    conn: &C,
    task_id: &str,
    depends_on: &[String],
    now: i64,
) -> ServiceResult<()> {
    for dep in depends_on {
        task_dependency::ActiveModel {
            task_id: Set(task_id.to_owned()),
            depends_on_id: Set(dep.clone()),
            created_at: Set(now),
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}
