//! A task's cost limit (`execute {costLimitUsd}`): what its agents used, priced by the price
//! table, against the limit its execution set. Reaching it lets the running run go on, but no new
//! run of the task starts: the run's end fails the task (`lifecycle::after_run`), a task waiting
//! for its next run (a loop's cooldown, a retry's backoff) fails at once, and a `BUDGET` message
//! says so, once per execution.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set, TransactionTrait,
};

use super::super::error::ServiceResult;
use super::super::{lookup, views, Actor, Service};
use super::lifecycle::Budget;
use super::*;
use crate::model::NewMessage;
use crate::service::signals::budget::usd;
use crate::store::entity::message;

impl Service {
    /// The execution's cost limit and what its task's agents used so far; none without a limit.
    pub(in crate::service) async fn budget_of(
        &self,
        execution: &task_execution::Model,
    ) -> ServiceResult<Option<Budget>> {
        let Some(limit_usd) = execution.cost_limit_usd() else {
            return Ok(None);
        };
        let spent_usd = self
            .task_usage(&execution.task_id, &Actor::System)
            .await?
            .cost_usd;
        Ok(Some(Budget {
            spent_usd,
            limit_usd,
        }))
    }

    /// After usage was recorded for a run of `task_id`: past its execution's cost limit, a task
    /// waiting for its next run fails now, and a `BUDGET` message says so (once).
    pub(in crate::service) async fn check_task_budget(&self, task_id: &str) -> ServiceResult<()> {
        let Some(execution) = task_execution::Entity::find_by_id(task_id.to_owned())
            .one(&self.db)
            .await?
            .filter(|e| e.cost_limit_micros.is_some() && state_of(e).is_open())
        else {
            return Ok(());
        };
        let Some(budget) = self.budget_of(&execution).await?.filter(Budget::reached) else {
            return Ok(());
        };
        let told = message::Entity::find()
            .filter(message::Column::TaskId.eq(task_id))
            .filter(message::Column::Type.eq("BUDGET"))
            .filter(message::Column::CreatedAt.gte(execution.created_at))
            .count(&self.db)
            .await?
            > 0;
        if told {
            return Ok(());
        }
        tracing::warn!(
            task = task_id,
            spent = budget.spent_usd,
            limit = budget.limit_usd,
            "a task's cost limit was reached"
        );
        let running = {
            let _lock = self.write_lock().await;
            let txn = self.db.begin().await?;
            let row = lookup::task(&txn, task_id).await?;
            let current = task_execution::Entity::find_by_id(task_id.to_owned())
                .one(&txn)
                .await?
                .filter(|e| state_of(e).is_open());
            let running = current
                .as_ref()
                .is_some_and(|e| state_of(e) == ExecutionState::Running);
            if let Some(current) = current.filter(|_| !running) {
                let now = now_ms();
                let mut active: task_execution::ActiveModel = current.into();
                active.state = Set(ExecutionState::Failed.as_str().to_owned());
                active.reason = Set(Some(budget.why()));
                active.not_before = Set(None);
                active.updated_at = Set(now);
                active.update(&txn).await?;
                set_task_status(&txn, &row, TaskStatus::Failed, &Actor::System, now).await?;
                let task = views::task_by_id(&txn, task_id).await?;
                txn.commit().await?;
                self.publish_all(vec![Event::TaskUpdated(task)]);
            }
            running
        };
        let then = if running {
            "Its current run goes on; no new run of it starts"
        } else {
            "It will not run again"
        };
        self.post_message(
            NewMessage {
                project_id: execution.project_id.clone(),
                task_id: Some(task_id.to_owned()),
                session_id: None,
                r#type: Some("BUDGET".into()),
                body: format!(
                    "Task cost limit reached: {} of {}. {then} (execute it again with a higher costLimitUsd to go on).",
                    usd(budget.spent_usd),
                    usd(budget.limit_usd)
                ),
                parent_ids: None,
            },
            &Actor::System,
        )
        .await?;
        self.queue_moved().await;
        Ok(())
    }
}
