//! What callers ask of one task: execute it, cancel it, retry it, resume it. Each records its
//! change, publishes it, and lets the pump start what can start.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde_json::json;

use super::super::error::{ServiceError, ServiceResult};
use super::super::signals::budget;
use super::super::{lookup, views, Actor, Service};
use super::*;

impl Service {
    /// `POST /api/tasks/{id}/execute`: queues the task (or blocks it on its dependencies), and
    /// starts it at once when a slot is free.
    pub async fn execute_task(
        &self,
        id: &str,
        input: ExecuteTask,
        actor: &Actor,
    ) -> ServiceResult<Executed> {
        self.queue_task(id, input, actor).await?;
        // Start it now if it can (the answer says whether it started).
        self.start_queued().await?;
        self.executed(id).await
    }

    /// One round of the queue, now, after tasks were queued: it starts what can start, and
    /// publishes the queue once, as it stands after admission.
    pub(in crate::service) async fn start_queued(&self) -> ServiceResult<()> {
        self.queue().moved.store(true, Ordering::SeqCst);
        self.pump().await?;
        Ok(())
    }

    /// Queues task `id` (or blocks it on its dependencies) and publishes it; nothing starts yet.
    /// Bulk `execute` queues each of its tasks this way, then lets one round start them.
    pub(in crate::service) async fn queue_task(
        &self,
        id: &str,
        input: ExecuteTask,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let max_attempts = input.max_attempts.unwrap_or(1);
        if !(1..=MAX_ATTEMPTS).contains(&max_attempts) {
            return Err(ServiceError::invalid(
                "maxAttempts",
                format!("must be from 1 to {MAX_ATTEMPTS}"),
            ));
        }
        if let Some(spec) = &input.loop_spec {
            if !(1..=MAX_LOOP_RUNS).contains(&spec.max_runs) {
                return Err(ServiceError::invalid(
                    "loop.maxRuns",
                    format!("must be from 1 to {MAX_LOOP_RUNS}"),
                ));
            }
            if spec.cooldown_ms > MAX_COOLDOWN_MS {
                return Err(ServiceError::invalid(
                    "loop.cooldownMs",
                    format!("must be at most {MAX_COOLDOWN_MS}"),
                ));
            }
        }
        if let Some(limit) = input.cost_limit_usd {
            if !budget::is_limit(limit) {
                return Err(ServiceError::invalid("costLimitUsd", budget::NOT_A_LIMIT));
            }
            let spent = self.task_usage(id, actor).await?.cost_usd;
            if budget::reached(spent, Some(limit)) {
                return Err(ServiceError::invalid(
                    "costLimitUsd",
                    format!(
                        "the task's agents already used {}: set more than that",
                        budget::usd(spent)
                    ),
                ));
            }
        }
        {
            let _lock = self.write_lock().await;
            let txn = self.db.begin().await?;
            let row = lookup::task(&txn, id).await?;
            actor.may_write(&row.project_id)?;
            let project = lookup::project(&txn, &row.project_id).await?;
            let agent_id = match input
                .agent_id
                .clone()
                .or(project_queue(&project).default_agent)
            {
                Some(agent) => agent,
                None => {
                    return Err(ServiceError::invalid(
                        "agentId",
                        "required: the project has no defaultAgentId setting",
                    ))
                }
            };
            lookup::as_field(self.profile_row(&agent_id).await, "agentId")?;
            let existing = task_execution::Entity::find_by_id(id.to_owned())
                .one(&txn)
                .await?;
            if let Some(open) = existing.as_ref().filter(|e| state_of(e).is_open()) {
                return Err(ServiceError::conflict(
                    "already_executing",
                    format!("task '{id}' is already {}", state_of(open).as_str()),
                    json!({ "state": state_of(open).as_str() }),
                ));
            }
            let status = TaskStatus::parse(&row.status).unwrap_or(TaskStatus::Pending);
            if status == TaskStatus::Completed {
                return Err(ServiceError::conflict(
                    "completed",
                    format!("task '{id}' is completed: resume it to run it again"),
                    json!({ "status": status.as_str() }),
                ));
            }
            let now = now_ms();
            let priority = input
                .priority
                .unwrap_or_else(|| Priority::from_rank(row.priority));
            set_priority(&txn, &row, priority, actor, now).await?;
            if existing.is_some() {
                task_execution::Entity::delete_by_id(id.to_owned())
                    .exec(&txn)
                    .await?;
            }
            let (state, reason, task_status) =
                lifecycle::gate(&dependencies(&txn, id).await?).placement();
            task_execution::ActiveModel {
                task_id: Set(id.to_owned()),
                project_id: Set(row.project_id.clone()),
                agent_id: Set(Some(agent_id)),
                state: Set(state.as_str().to_owned()),
                reason: Set(reason),
                attempt: Set(1),
                max_attempts: Set(max_attempts as i32),
                loop_max_runs: Set(input.loop_spec.map(|l| l.max_runs as i32)),
                loop_cooldown_ms: Set(input.loop_spec.map(|l| l.cooldown_ms as i64)),
                runs: Set(0),
                session_id: Set(None),
                priority: Set(priority.rank()),
                queued_at: Set(Some(now)),
                not_before: Set(None),
                cost_limit_micros: Set(input.cost_limit_usd.map(task_execution::micros)),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await?;
            set_task_status(&txn, &row, task_status, actor, now).await?;
            let task = views::task_by_id(&txn, id).await?;
            txn.commit().await?;
            self.publish_all(vec![Event::TaskUpdated(task)]);
        }
        Ok(())
    }

    /// What `execute`, `retry` and `resume` answer: the task, where it stands, and its run
    /// when it started.
    async fn executed(&self, id: &str) -> ServiceResult<Executed> {
        let task = views::task_by_id(&self.db, id).await?;
        let execution = task.execution.clone();
        let state = execution
            .as_ref()
            .map_or(ExecutionState::Queued, |e| e.state);
        let run = if state == ExecutionState::Running {
            self.current_task_run(id).await?
        } else {
            None
        };
        Ok(Executed {
            status: state,
            queue_position: execution.and_then(|e| e.queue_position),
            run,
            task,
        })
    }

    async fn current_task_run(&self, task_id: &str) -> ServiceResult<Option<Run>> {
        use sea_orm::QueryOrder;
        let row = crate::store::entity::run::Entity::find()
            .filter(crate::store::entity::run::Column::TaskId.eq(task_id))
            .order_by_desc(crate::store::entity::run::Column::StartedAt)
            .one(&self.db)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let project = lookup::task(&self.db, task_id).await?.project_id;
        Ok(Some(crate::service::runs::records::view(row, &project)))
    }

    /// `POST /api/tasks/{id}/cancel`: a queued or blocked task is cancelled; a running one has
    /// its run stopped first.
    pub async fn cancel_task(
        &self,
        id: &str,
        input: CancelTask,
        actor: &Actor,
    ) -> ServiceResult<Task> {
        let reason = input
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| crate::service::validate::required_line("reason", r, 500))
            .transpose()?;
        let session = {
            let _lock = self.write_lock().await;
            let txn = self.db.begin().await?;
            let row = lookup::task(&txn, id).await?;
            actor.may_write(&row.project_id)?;
            let Some(execution) = task_execution::Entity::find_by_id(id.to_owned())
                .one(&txn)
                .await?
                .filter(|e| state_of(e).is_open())
            else {
                return Err(ServiceError::conflict(
                    "not_executing",
                    format!("task '{id}' is not queued, blocked or running"),
                    json!({ "status": row.status }),
                ));
            };
            let was = state_of(&execution);
            let session = execution.session_id.clone();
            let now = now_ms();
            let mut active: task_execution::ActiveModel = execution.into();
            active.state = Set(ExecutionState::Cancelled.as_str().to_owned());
            active.reason = Set(Some(reason.clone().unwrap_or_else(|| "cancelled".into())));
            active.updated_at = Set(now);
            active.update(&txn).await?;
            set_task_status(&txn, &row, TaskStatus::Cancelled, actor, now).await?;
            let task = views::task_by_id(&txn, id).await?;
            txn.commit().await?;
            self.publish_all(vec![Event::TaskUpdated(task)]);
            session.filter(|_| was == ExecutionState::Running)
        };
        if let Some(run) = session.and_then(|s| self.runtime.get(&s)) {
            self.stop_run(
                &run,
                EndReason::Cancelled,
                crate::service::runs::DEFAULT_GRACE,
            )
            .await?;
        }
        self.queue_moved().await;
        views::task_by_id(&self.db, id).await
    }

    /// `POST /api/tasks/{id}/retry`: a failed or cancelled task is queued again, attempt n + 1.
    pub async fn retry_task(&self, id: &str, actor: &Actor) -> ServiceResult<Executed> {
        self.reopen(
            id,
            actor,
            &[ExecutionState::Failed, ExecutionState::Cancelled],
            "retry",
        )
        .await
    }

    /// `POST /api/tasks/{id}/resume`: a completed task is reopened, so its loop runs again.
    pub async fn resume_task(&self, id: &str, actor: &Actor) -> ServiceResult<Executed> {
        self.reopen(id, actor, &[ExecutionState::Completed], "resume")
            .await
    }

    async fn reopen(
        &self,
        id: &str,
        actor: &Actor,
        from: &[ExecutionState],
        verb: &str,
    ) -> ServiceResult<Executed> {
        {
            let _lock = self.write_lock().await;
            let txn = self.db.begin().await?;
            let row = lookup::task(&txn, id).await?;
            actor.may_write(&row.project_id)?;
            let execution = task_execution::Entity::find_by_id(id.to_owned())
                .one(&txn)
                .await?;
            let Some(execution) = execution.filter(|e| from.contains(&state_of(e))) else {
                let allowed: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
                return Err(ServiceError::conflict(
                    "wrong_state",
                    format!(
                        "only an executed task that is {} can {verb}",
                        allowed.join(" or ")
                    ),
                    json!({ "status": row.status }),
                ));
            };
            if let Some(budget) = self.budget_of(&execution).await?.filter(|b| b.reached()) {
                return Err(ServiceError::conflict(
                    "cost_limit",
                    format!(
                        "task '{id}' reached its cost limit ({} of {}): execute it again with a higher costLimitUsd",
                        budget::usd(budget.spent_usd),
                        budget::usd(budget.limit_usd)
                    ),
                    json!({ "field": "costLimitUsd", "spentUsd": budget.spent_usd, "limitUsd": budget.limit_usd }),
                ));
            }
            let now = now_ms();
            let (state, reason, status) =
                lifecycle::gate(&dependencies(&txn, id).await?).placement();
            let attempt = execution.attempt + 1;
            let max_attempts = execution.max_attempts.max(attempt);
            let mut active: task_execution::ActiveModel = execution.into();
            active.state = Set(state.as_str().to_owned());
            active.reason = Set(reason);
            active.attempt = Set(attempt);
            active.max_attempts = Set(max_attempts);
            active.runs = Set(0);
            active.queued_at = Set(Some(now));
            active.not_before = Set(None);
            active.updated_at = Set(now);
            active.update(&txn).await?;
            set_task_status(&txn, &row, status, actor, now).await?;
            let task = views::task_by_id(&txn, id).await?;
            txn.commit().await?;
            self.publish_all(vec![Event::TaskUpdated(task)]);
        }
        self.start_queued().await?;
        self.executed(id).await
    }
}
