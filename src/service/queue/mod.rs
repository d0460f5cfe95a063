//! The durable queue: executing tasks. The `task_execution` table is the queue — what is
//! queued, blocked or running survives a restart, and admission resumes after it.
//!
//! The decisions are pure and live beside this file: [`admission`] (which queued tasks start
//! now, under the global and per-project limits, by priority then time queued) and
//! [`lifecycle`] (dependency gating; what a run's end means for its task). This file performs
//! them: `pump` reads the queue, asks them, starts runs (a new session for a task's first run,
//! the same session for the next ones) and records what changed, with one event per change.
//!
//! `pump` runs after every change that can let a task start (an execute, a run's end, a task
//! completed, a setting changed) and when a backoff or cooldown ends; one background task does
//! it, woken by a `Notify` — nothing polls.

pub mod admission;
mod controls;
pub mod lifecycle;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
    TransactionTrait,
};
use serde_json::json;
use tokio::sync::Notify;

use super::access::Admin;
use super::error::{ServiceError, ServiceResult};
use super::{history, lookup, rules, views, Actor, Service};
use crate::clock::now_ms;
use crate::events::Event;
use crate::model::{
    CancelTask, EndReason, ExecuteTask, Executed, Execution, ExecutionState, LoopSpec, NewSession,
    Priority, QueueStatus, QueuedByPriority, Run, Task, TaskStatus,
};
use crate::store::entity::{project, queue_setting, task, task_dependency, task_execution};
use crate::store::json::from_text;
use admission::{Candidate, Limits};
use lifecycle::{Ended, Gate, Next, Plan};

/// The global limit when none was set.
pub const DEFAULT_MAX_CONCURRENT: u32 = 4;
pub const MAX_CONCURRENT: u32 = 64;
pub const MAX_ATTEMPTS: u32 = 100;
pub const MAX_LOOP_RUNS: u32 = 1000;
pub const MAX_COOLDOWN_MS: u64 = 86_400_000;

/// The error `mark_started` gives when the task left the queue between admission and start.
const NOT_QUEUED: &str = "not_queued";

const KEY_MAX: &str = "maxConcurrent";
const KEY_PAUSED: &str = "paused";
const KEY_PAUSED_PROJECT: &str = "paused:";

/// The queue's in-process state: what wakes the pump, and whether Baton is going away.
#[derive(Default)]
pub struct QueueRuntime {
    wake: Notify,
    pump: tokio::sync::Mutex<()>,
    shutting_down: AtomicBool,
    /// A run ended since the queue was last published: the next round publishes it (once for
    /// a burst of ends, not once each).
    moved: AtomicBool,
}

/// How a task's run ended, as the supervisor reports it.
pub struct RunEnd {
    pub run_id: String,
    pub reason: EndReason,
    pub code: Option<i32>,
    pub signal: Option<String>,
    pub exit_means_done: bool,
}

fn state_of(row: &task_execution::Model) -> ExecutionState {
    ExecutionState::parse(&row.state).unwrap_or(ExecutionState::Failed)
}

fn loop_of(row: &task_execution::Model) -> Option<LoopSpec> {
    row.loop_max_runs.map(|max| LoopSpec {
        max_runs: max.max(1) as u32,
        cooldown_ms: row.loop_cooldown_ms.unwrap_or(0).max(0) as u64,
    })
}

/// The execution as a task shows it.
pub fn execution_view(row: &task_execution::Model, position: Option<u32>) -> Execution {
    Execution {
        state: state_of(row),
        agent_id: row.agent_id.clone(),
        reason: row.reason.clone(),
        attempt: row.attempt.max(1) as u32,
        max_attempts: row.max_attempts.max(1) as u32,
        loop_spec: loop_of(row),
        runs: row.runs.max(0) as u32,
        session_id: row.session_id.clone(),
        queue_position: position.filter(|_| state_of(row) == ExecutionState::Queued),
        queued_at: row.queued_at,
        not_before: row.not_before,
    }
}

/// Every queued task as admission sees it (priority from the task).
async fn candidates<C: ConnectionTrait>(conn: &C) -> ServiceResult<Vec<Candidate>> {
    // One query, only the columns admission reads: the queue may hold thousands.
    let backend = conn.get_database_backend();
    let rows = conn.query_all_raw(backend.build(&queued_rows())).await?;
    rows.into_iter()
        .map(|row| {
            Ok(Candidate {
                task_id: row.try_get_by_index(0)?,
                project_id: row.try_get_by_index(1)?,
                queued_at: row
                    .try_get_by_index::<Option<i64>>(2)?
                    .unwrap_or(row.try_get_by_index(3)?),
                not_before: row.try_get_by_index(4)?,
                priority: Priority::from_rank(row.try_get_by_index(5)?),
            })
        })
        .collect()
}

/// The queued tasks: id, project, queued at, updated at, not before, priority.
fn queued_rows() -> SelectStatement {
    use sea_orm::sea_query::ExprTrait;
    let e = task_execution::Entity;
    Query::select()
        .columns([
            (e, task_execution::Column::TaskId),
            (e, task_execution::Column::ProjectId),
            (e, task_execution::Column::QueuedAt),
            (e, task_execution::Column::UpdatedAt),
            (e, task_execution::Column::NotBefore),
        ])
        .column((task::Entity, task::Column::Priority))
        .from(e)
        .inner_join(
            task::Entity,
            Expr::col((task::Entity, task::Column::Id)).equals((e, task_execution::Column::TaskId)),
        )
        .and_where(
            Expr::col((e, task_execution::Column::State)).eq(ExecutionState::Queued.as_str()),
        )
        .take()
}

/// The executions of `task_ids`, with queue positions for the queued ones.
pub(super) async fn executions<C: ConnectionTrait>(
    conn: &C,
    task_ids: &[String],
) -> ServiceResult<HashMap<String, Execution>> {
    let rows = task_execution::Entity::find()
        .filter(task_execution::Column::TaskId.is_in(task_ids.to_vec()))
        .all(conn)
        .await?;
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let positions = if rows.iter().any(|r| state_of(r) == ExecutionState::Queued) {
        admission::positions(candidates(conn).await?)
    } else {
        BTreeMap::new()
    };
    Ok(rows
        .into_iter()
        .map(|row| {
            let view = execution_view(&row, positions.get(&row.task_id).copied());
            (row.task_id, view)
        })
        .collect())
}

/// A task changed by hand to a status outside the queue (completed, cancelled, back to pending…)
/// leaves it: its queued or blocked execution ends, in the same transaction as the change.
pub(super) async fn follow_status<C: ConnectionTrait>(
    conn: &C,
    task_id: &str,
    status: TaskStatus,
    now: i64,
) -> ServiceResult<()> {
    if matches!(status, TaskStatus::Queued | TaskStatus::Blocked) {
        return Ok(());
    }
    let Some(execution) = task_execution::Entity::find_by_id(task_id.to_owned())
        .one(conn)
        .await?
        .filter(|e| {
            matches!(
                state_of(e),
                ExecutionState::Queued | ExecutionState::Blocked
            )
        })
    else {
        return Ok(());
    };
    leave(conn, execution, status, now).await
}

/// Ends a waiting execution whose task was set to `status` by hand.
async fn leave<C: ConnectionTrait>(
    conn: &C,
    execution: task_execution::Model,
    status: TaskStatus,
    now: i64,
) -> ServiceResult<()> {
    let mut active: task_execution::ActiveModel = execution.into();
    active.state = Set(match status {
        TaskStatus::Completed => ExecutionState::Completed,
        _ => ExecutionState::Cancelled,
    }
    .as_str()
    .to_owned());
    active.reason = Set(Some(format!("the task was set to {}", status.as_str())));
    active.updated_at = Set(now);
    active.update(conn).await?;
    Ok(())
}

/// Sets a task's priority, with its history; false when it already had it.
pub(super) async fn set_priority<C: ConnectionTrait>(
    conn: &C,
    row: &task::Model,
    priority: Priority,
    actor: &Actor,
    now: i64,
) -> ServiceResult<bool> {
    let old = Priority::from_rank(row.priority);
    if old == priority {
        return Ok(false);
    }
    task::ActiveModel {
        id: Set(row.id.clone()),
        priority: Set(priority.rank()),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(conn)
    .await?;
    history::record(
        conn,
        history::Entry::new(&row.id, "updated", actor, now)
            .field("priority")
            .old_value(json!(old.as_str()))
            .new_value(json!(priority.as_str())),
    )
    .await?;
    Ok(true)
}

/// Sets a task's status on the queue's behalf, with its history; false when it already was.
async fn set_task_status<C: ConnectionTrait>(
    conn: &C,
    row: &task::Model,
    status: TaskStatus,
    actor: &Actor,
    now: i64,
) -> ServiceResult<bool> {
    let old = TaskStatus::parse(&row.status).unwrap_or(TaskStatus::Pending);
    if old == status {
        return Ok(false);
    }
    let completed_at = rules::task_completed_at(old, row.completed_at, status, None, now)?;
    task::ActiveModel {
        id: Set(row.id.clone()),
        status: Set(status.as_str().to_owned()),
        completed_at: Set(completed_at),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(conn)
    .await?;
    history::record(
        conn,
        history::Entry::new(&row.id, "updated", actor, now)
            .field("status")
            .old_value(json!(old.as_str()))
            .new_value(json!(status.as_str())),
    )
    .await?;
    Ok(true)
}

/// The dependencies of `task_id` as gating sees them.
async fn dependencies<C: ConnectionTrait>(
    conn: &C,
    task_id: &str,
) -> ServiceResult<Vec<lifecycle::Dependency>> {
    let ids: Vec<String> = task_dependency::Entity::find()
        .filter(task_dependency::Column::TaskId.eq(task_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|d| d.depends_on_id)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut deps: Vec<lifecycle::Dependency> = task::Entity::find()
        .filter(task::Column::Id.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|t| lifecycle::Dependency {
            status: TaskStatus::parse(&t.status).unwrap_or(TaskStatus::Pending),
            id: t.id,
            title: t.title,
        })
        .collect();
    deps.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(deps)
}

/// `SELECT priority, COUNT(*)` of the queued tasks.
fn queued_by_priority() -> SelectStatement {
    use sea_orm::sea_query::ExprTrait;
    Query::select()
        .column((task::Entity, task::Column::Priority))
        .expr(Expr::cust("COUNT(*)"))
        .from(task_execution::Entity)
        .inner_join(
            task::Entity,
            Expr::col((task::Entity, task::Column::Id))
                .equals((task_execution::Entity, task_execution::Column::TaskId)),
        )
        .and_where(
            Expr::col((task_execution::Entity, task_execution::Column::State))
                .eq(ExecutionState::Queued.as_str()),
        )
        .group_by_col((task::Entity, task::Column::Priority))
        .take()
}

/// A project's own queue settings, from its settings object.
struct ProjectQueue {
    max_concurrent: Option<u32>,
    default_agent: Option<String>,
}

fn project_queue(row: &project::Model) -> ProjectQueue {
    let settings: serde_json::Map<String, serde_json::Value> =
        from_text("project.settings", &row.settings);
    ProjectQueue {
        max_concurrent: settings
            .get("maxConcurrent")
            .and_then(|v| v.as_u64())
            .filter(|&n| n >= 1)
            .map(|n| n.min(u64::from(MAX_CONCURRENT)) as u32),
        default_agent: settings
            .get("defaultAgentId")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
    }
}

impl Service {
    fn queue(&self) -> &QueueRuntime {
        &self.queue
    }

    /// Something changed that may let a task start: the pump looks again.
    pub(super) fn wake_queue(&self) {
        self.queue().wake.notify_one();
    }

    /// Baton is going away: nothing new starts.
    pub(super) fn queue_shutting_down(&self) {
        self.queue().shutting_down.store(true, Ordering::SeqCst);
        self.queue().wake.notify_one();
    }

    /// At start, after `mark_interrupted`: executions that were running belong to runs that
    /// Baton lost; they are queued again (the same attempt). Then the pump starts.
    pub async fn start_queue(&self) -> ServiceResult<()> {
        let lost = task_execution::Entity::find()
            .filter(task_execution::Column::State.eq(ExecutionState::Running.as_str()))
            .all(&self.db)
            .await?;
        let now = now_ms();
        for row in lost {
            let task_id = row.task_id.clone();
            let mut active: task_execution::ActiveModel = row.into();
            active.state = Set(ExecutionState::Queued.as_str().to_owned());
            active.not_before = Set(None);
            active.updated_at = Set(now);
            active.update(&self.db).await?;
            if let Some(task) = task::Entity::find_by_id(task_id).one(&self.db).await? {
                set_task_status(&self.db, &task, TaskStatus::Queued, &Actor::System, now).await?;
            }
        }
        let service = self.clone();
        tokio::spawn(async move {
            let mut next: Option<i64> = None;
            loop {
                if service.queue().shutting_down.load(Ordering::SeqCst) {
                    break;
                }
                match service.pump().await {
                    Ok(wake) => next = wake,
                    Err(err) => tracing::error!(%err, "the queue could not admit tasks"),
                }
                let timer = async {
                    match next {
                        Some(at) => {
                            let ms = (at - now_ms()).max(0) as u64;
                            tokio::time::sleep(Duration::from_millis(ms)).await
                        }
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = service.queue().wake.notified() => {}
                    _ = timer => {}
                }
            }
        });
        Ok(())
    }

    async fn setting<T: serde::de::DeserializeOwned, C: ConnectionTrait>(
        &self,
        conn: &C,
        key: &str,
    ) -> ServiceResult<Option<T>> {
        Ok(queue_setting::Entity::find_by_id(key.to_owned())
            .one(conn)
            .await?
            .and_then(|row| serde_json::from_str(&row.value).ok()))
    }

    async fn put_setting<C: ConnectionTrait>(
        &self,
        conn: &C,
        key: &str,
        value: Option<serde_json::Value>,
    ) -> ServiceResult<()> {
        queue_setting::Entity::delete_by_id(key.to_owned())
            .exec(conn)
            .await?;
        if let Some(value) = value {
            queue_setting::ActiveModel {
                key: Set(key.to_owned()),
                value: Set(value.to_string()),
            }
            .insert(conn)
            .await?;
        }
        Ok(())
    }

    async fn limits<C: ConnectionTrait>(&self, conn: &C) -> ServiceResult<Limits> {
        let running = task_execution::Entity::find()
            .filter(task_execution::Column::State.eq(ExecutionState::Running.as_str()))
            .all(conn)
            .await?;
        let mut by_project: BTreeMap<String, u32> = BTreeMap::new();
        for row in &running {
            *by_project.entry(row.project_id.clone()).or_default() += 1;
        }
        let mut project_limits = BTreeMap::new();
        for row in project::Entity::find().all(conn).await? {
            if let Some(limit) = project_queue(&row).max_concurrent {
                project_limits.insert(row.id, limit);
            }
        }
        let paused_projects: BTreeSet<String> = queue_setting::Entity::find()
            .all(conn)
            .await?
            .into_iter()
            .filter_map(|row| row.key.strip_prefix(KEY_PAUSED_PROJECT).map(str::to_owned))
            .collect();
        Ok(Limits {
            max_concurrent: self
                .setting(conn, KEY_MAX)
                .await?
                .unwrap_or(DEFAULT_MAX_CONCURRENT),
            running: running.len() as u32,
            running_by_project: by_project,
            project_limits,
            paused: self.setting(conn, KEY_PAUSED).await?.unwrap_or(false),
            paused_projects,
        })
    }

    /// The queue as `GET /api/queue` shows it.
    pub async fn queue_status(&self, actor: &Actor) -> ServiceResult<QueueStatus> {
        actor.may_administer(Admin::Queue)?;
        self.queue_summary().await
    }

    async fn queue_summary(&self) -> ServiceResult<QueueStatus> {
        let limits = self.limits(&self.db).await?;
        // Counted in the database (the queue may hold thousands).
        let mut queued = QueuedByPriority::default();
        let backend = self.db.get_database_backend();
        for row in self
            .db
            .query_all_raw(backend.build(&queued_by_priority()))
            .await?
        {
            let priority: i16 = row.try_get_by_index(0)?;
            let n = row.try_get_by_index::<i64>(1)?.max(0) as u32;
            match Priority::from_rank(priority) {
                Priority::High => queued.high += n,
                Priority::Medium => queued.medium += n,
                Priority::Low => queued.low += n,
            }
            queued.total += n;
        }
        let count_states = |since: Option<i64>| {
            let mut select = task_execution::Entity::find()
                .select_only()
                .column(task_execution::Column::State)
                .column_as(Expr::cust("COUNT(*)"), "n")
                .group_by(task_execution::Column::State);
            if let Some(since) = since {
                select = select.filter(task_execution::Column::UpdatedAt.gte(since));
            }
            select.into_tuple::<(String, i64)>().all(&self.db)
        };
        let recent = count_states(Some(now_ms() - 3_600_000)).await?;
        let all = count_states(None).await?;
        let count = |rows: &[(String, i64)], state: ExecutionState| {
            rows.iter()
                .find(|(s, _)| s == state.as_str())
                .map_or(0, |(_, n)| (*n).max(0) as u32)
        };
        let (completed, failed) = (
            count(&recent, ExecutionState::Completed),
            count(&recent, ExecutionState::Failed),
        );
        let blocked = count(&all, ExecutionState::Blocked);
        Ok(QueueStatus {
            max_concurrent: limits.max_concurrent,
            running: limits.running,
            queued,
            blocked,
            paused: limits.paused,
            paused_projects: limits.paused_projects.into_iter().collect(),
            completed_last_hour: completed,
            failed_last_hour: failed,
            success_rate: (completed + failed > 0)
                .then(|| f64::from(completed) / f64::from(completed + failed)),
        })
    }

    async fn publish_queue(&self) {
        match self.queue_summary().await {
            Ok(status) => self.publish_all(vec![Event::QueueUpdated(status)]),
            Err(err) => tracing::warn!(%err, "cannot read the queue"),
        }
    }

    /// `POST /api/tasks/{id}/execute`: queues the task (or blocks it on its dependencies), and
    /// starts it at once when a slot is free.
    pub async fn execute_task(
        &self,
        id: &str,
        input: ExecuteTask,
        actor: &Actor,
    ) -> ServiceResult<Executed> {
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
            if let Some(priority) = input.priority {
                set_priority(&txn, &row, priority, actor, now).await?;
            }
            if existing.is_some() {
                task_execution::Entity::delete_by_id(id.to_owned())
                    .exec(&txn)
                    .await?;
            }
            let gate = lifecycle::gate(&dependencies(&txn, id).await?);
            let (state, reason, task_status) = match &gate {
                Gate::Ready => (ExecutionState::Queued, None, TaskStatus::Queued),
                Gate::Waiting(why) | Gate::Stuck(why) => (
                    ExecutionState::Blocked,
                    Some(why.clone()),
                    TaskStatus::Blocked,
                ),
            };
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
                queued_at: Set(Some(now)),
                not_before: Set(None),
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
        self.publish_queue().await;
        // Start it now if it can: the answer says whether it started.
        self.pump().await?;
        self.executed(id).await
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
        Ok(Some(super::runs::records::view(row, &project)))
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
            self.stop_run(&run, EndReason::Cancelled, super::runs::DEFAULT_GRACE)
                .await?;
        }
        self.publish_queue().await;
        self.wake_queue();
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
            let now = now_ms();
            let gate = lifecycle::gate(&dependencies(&txn, id).await?);
            let (state, reason, status) = match gate {
                Gate::Ready => (ExecutionState::Queued, None, TaskStatus::Queued),
                Gate::Waiting(why) | Gate::Stuck(why) => {
                    (ExecutionState::Blocked, Some(why), TaskStatus::Blocked)
                }
            };
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
        self.publish_queue().await;
        self.pump().await?;
        self.executed(id).await
    }

    /// After a run of the queue's ended (its end recorded): the queue is published and looks
    /// again.
    pub(super) async fn queue_moved(&self) {
        if !self.queue().shutting_down.load(Ordering::SeqCst) {
            self.queue().moved.store(true, Ordering::SeqCst);
            self.wake_queue();
        }
    }

    /// Decides and records what a run's end means for its task, inside the caller's transaction
    /// (the supervisor records the run's end and this in one commit); the events to publish
    /// once it is committed.
    pub(super) async fn run_ended_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        task_id: &str,
        end: RunEnd,
    ) -> ServiceResult<Vec<Event>> {
        let Some(execution) = task_execution::Entity::find_by_id(task_id.to_owned())
            .one(conn)
            .await?
        else {
            return Ok(Vec::new());
        };
        // Cancelled (or changed) while the run ended: nothing more to decide.
        if state_of(&execution) != ExecutionState::Running {
            return Ok(Vec::new());
        }
        let Some(row) = task::Entity::find_by_id(task_id.to_owned())
            .one(conn)
            .await?
        else {
            return Ok(Vec::new());
        };
        let now = now_ms();
        let ended = Ended {
            reason: end.reason,
            code: end.code,
            signal: end.signal,
            task_done: TaskStatus::parse(&row.status) == Some(TaskStatus::Completed),
            exit_means_done: end.exit_means_done,
        };
        let plan = Plan {
            attempt: execution.attempt.max(1) as u32,
            max_attempts: execution.max_attempts.max(1) as u32,
            runs: execution.runs.max(0) as u32,
            loop_spec: loop_of(&execution),
        };
        let next = lifecycle::after_run(&ended, plan, now);
        tracing::info!(
            task = task_id,
            run = end.run_id,
            ?next,
            "a task's run ended"
        );
        let attempt = execution.attempt;
        let mut active: task_execution::ActiveModel = execution.into();
        active.updated_at = Set(now);
        let status = match next {
            Next::Completed => {
                active.state = Set(ExecutionState::Completed.as_str().to_owned());
                active.reason = Set(None);
                TaskStatus::Completed
            }
            Next::Again {
                not_before,
                new_attempt,
            } => {
                active.state = Set(ExecutionState::Queued.as_str().to_owned());
                active.not_before = Set(Some(not_before));
                active.queued_at = Set(Some(now));
                if new_attempt {
                    active.attempt = Set(attempt + 1);
                    active.runs = Set(0);
                }
                TaskStatus::Queued
            }
            Next::Resume => {
                active.state = Set(ExecutionState::Queued.as_str().to_owned());
                TaskStatus::Queued
            }
            Next::Failed(why) => {
                active.state = Set(ExecutionState::Failed.as_str().to_owned());
                active.reason = Set(Some(why));
                TaskStatus::Failed
            }
            Next::Cancelled(why) => {
                active.state = Set(ExecutionState::Cancelled.as_str().to_owned());
                active.reason = Set(Some(why));
                TaskStatus::Cancelled
            }
        };
        active.update(conn).await?;
        set_task_status(conn, &row, status, &Actor::System, now).await?;
        Ok(vec![Event::TaskUpdated(
            views::task_by_id(conn, task_id).await?,
        )])
    }

    /// Inside the transaction that starts a run for `task_id` (in `session_id`): its execution
    /// runs (one more run), and the task is in progress.
    pub(super) async fn mark_started<C: ConnectionTrait>(
        &self,
        conn: &C,
        task_id: &str,
        session_id: &str,
    ) -> ServiceResult<()> {
        let execution = task_execution::Entity::find_by_id(task_id.to_owned())
            .one(conn)
            .await?;
        // Cancelled (or changed by hand) since admission chose it: the start is undone (its
        // transaction rolls back, its process is killed).
        let Some(execution) = execution.filter(|e| state_of(e) == ExecutionState::Queued) else {
            return Err(ServiceError::conflict(
                NOT_QUEUED,
                format!("task '{task_id}' left the queue before it started"),
                json!({}),
            ));
        };
        let now = now_ms();
        let runs = execution.runs + 1;
        let mut active: task_execution::ActiveModel = execution.into();
        active.state = Set(ExecutionState::Running.as_str().to_owned());
        active.runs = Set(runs);
        if !session_id.is_empty() {
            active.session_id = Set(Some(session_id.to_owned()));
        }
        active.not_before = Set(None);
        active.reason = Set(None);
        active.updated_at = Set(now);
        active.update(conn).await?;
        let row = lookup::task(conn, task_id).await?;
        set_task_status(conn, &row, TaskStatus::InProgress, &Actor::System, now).await?;
        Ok(())
    }

    /// One round of the queue: re-gate the blocked tasks, drop executions whose task moved on,
    /// then start what admission allows. Returns when to look again for a backoff or cooldown.
    pub(super) async fn pump(&self) -> ServiceResult<Option<i64>> {
        let _round = self.queue().pump.lock().await;
        if self.queue().shutting_down.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let changed = self.regate().await?;
        let (start, wake) = {
            let limits = self.limits(&self.db).await?;
            admission::admit(candidates(&self.db).await?, &limits, now_ms())
        };
        let mut started = false;
        for task_id in start {
            if self.queue().shutting_down.load(Ordering::SeqCst) {
                break;
            }
            if let Err(err) = self.start_execution(&task_id).await {
                tracing::warn!(%err, task = task_id, "a queued task could not start");
            }
            started = true;
        }
        let moved = self.queue().moved.swap(false, Ordering::SeqCst);
        if changed || started || moved {
            self.publish_queue().await;
        }
        Ok(wake)
    }

    /// Blocked tasks whose dependencies are done are queued; blocked executions whose task was
    /// changed by hand (completed, cancelled, back to pending) are dropped.
    async fn regate(&self) -> ServiceResult<bool> {
        let _lock = self.write_lock().await;
        let txn = self.db.begin().await?;
        // Queued tasks changed by hand leave the queue where they are changed (`update_task`);
        // here only the blocked ones are looked at again.
        let waiting = task_execution::Entity::find()
            .filter(task_execution::Column::State.eq(ExecutionState::Blocked.as_str()))
            .all(&txn)
            .await?;
        let now = now_ms();
        let mut events = Vec::new();
        // Everything the decisions read, in four queries whatever the queue's length.
        let ids: Vec<String> = waiting.iter().map(|e| e.task_id.clone()).collect();
        let tasks: HashMap<String, task::Model> = task::Entity::find()
            .filter(task::Column::Id.is_in(ids))
            .all(&txn)
            .await?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        let blocked: Vec<String> = waiting
            .iter()
            .filter(|e| state_of(e) == ExecutionState::Blocked)
            .map(|e| e.task_id.clone())
            .collect();
        let edges = task_dependency::Entity::find()
            .filter(task_dependency::Column::TaskId.is_in(blocked))
            .all(&txn)
            .await?;
        let dep_ids: Vec<String> = edges.iter().map(|d| d.depends_on_id.clone()).collect();
        let dep_rows: HashMap<String, task::Model> = task::Entity::find()
            .filter(task::Column::Id.is_in(dep_ids))
            .all(&txn)
            .await?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        let deps_of = |id: &str| -> Vec<lifecycle::Dependency> {
            let mut deps: Vec<lifecycle::Dependency> = edges
                .iter()
                .filter(|d| d.task_id == id)
                .filter_map(|d| dep_rows.get(&d.depends_on_id))
                .map(|t| lifecycle::Dependency {
                    id: t.id.clone(),
                    title: t.title.clone(),
                    status: TaskStatus::parse(&t.status).unwrap_or(TaskStatus::Pending),
                })
                .collect();
            deps.sort_by(|a, b| a.id.cmp(&b.id));
            deps
        };
        for execution in waiting {
            let id = execution.task_id.clone();
            let Some(row) = tasks.get(&id).cloned() else {
                task_execution::Entity::delete_by_id(id).exec(&txn).await?;
                continue;
            };
            let status = TaskStatus::parse(&row.status).unwrap_or(TaskStatus::Pending);
            let state = state_of(&execution);
            if !matches!(status, TaskStatus::Queued | TaskStatus::Blocked) {
                leave(&txn, execution, status, now).await?;
                events.push(Event::TaskUpdated(views::task_by_id(&txn, &id).await?));
                continue;
            }
            if state != ExecutionState::Blocked {
                continue;
            }
            let gate = lifecycle::gate(&deps_of(&id));
            let (next, reason, task_status) = match gate {
                Gate::Ready => (ExecutionState::Queued, None, TaskStatus::Queued),
                Gate::Waiting(why) | Gate::Stuck(why) => {
                    (ExecutionState::Blocked, Some(why), TaskStatus::Blocked)
                }
            };
            if next == state && reason == execution.reason {
                continue;
            }
            let mut active: task_execution::ActiveModel = execution.into();
            active.state = Set(next.as_str().to_owned());
            active.reason = Set(reason);
            if next == ExecutionState::Queued {
                active.queued_at = Set(Some(now));
            }
            active.updated_at = Set(now);
            active.update(&txn).await?;
            set_task_status(&txn, &row, task_status, &Actor::System, now).await?;
            events.push(Event::TaskUpdated(views::task_by_id(&txn, &id).await?));
        }
        txn.commit().await?;
        let changed = !events.is_empty();
        self.publish_all(events);
        Ok(changed)
    }

    /// Starts a run for queued task `task_id`: in the session of its earlier runs when there is
    /// one, else in a new session of its agent. A start that fails counts as a run that failed.
    async fn start_execution(&self, task_id: &str) -> ServiceResult<()> {
        let Some(execution) = task_execution::Entity::find_by_id(task_id.to_owned())
            .one(&self.db)
            .await?
            .filter(|e| state_of(e) == ExecutionState::Queued)
        else {
            return Ok(());
        };
        let task_row = lookup::task(&self.db, task_id).await?;
        let attempt = execution.attempt.max(1) as u32;
        // The execution is marked running in the transaction that records the run.
        let started = match &execution.session_id {
            Some(id) if lookup::session(&self.db, id).await.is_ok() => self
                .restart_session_for(id, &Actor::System, Some((task_id, attempt)))
                .await
                .map(drop),
            _ => {
                let input = NewSession {
                    project_id: task_row.project_id.clone(),
                    agent_id: execution.agent_id.clone(),
                    name: Some(crate::service::validate::clip(&task_row.title, 200)),
                    task_ids: Some(vec![task_id.to_owned()]),
                    ..Default::default()
                };
                self.create_session_for(input, &Actor::System, Some((task_id, attempt)))
                    .await
                    .map(drop)
            }
        };
        let Err(err) = started else { return Ok(()) };
        if err.code() == NOT_QUEUED {
            return Ok(());
        }
        tracing::warn!(%err, task = task_id, "the task's agent could not start");
        let why = format!("could not start: {}", err.public_message());
        {
            // A start that failed is a run that failed: attempts and backoff apply.
            let _lock = self.write_lock().await;
            let txn = self.db.begin().await?;
            let session = execution.session_id.clone().unwrap_or_default();
            match self.mark_started(&txn, task_id, &session).await {
                Err(e) if e.code() == NOT_QUEUED => return Ok(()),
                other => other?,
            }
            let end = RunEnd {
                run_id: String::new(),
                reason: EndReason::FailedToStart,
                code: None,
                signal: None,
                exit_means_done: false,
            };
            self.run_ended_in(&txn, task_id, end).await?;
            // Say why on the execution when it failed for good.
            task_execution::Entity::update_many()
                .col_expr(
                    task_execution::Column::Reason,
                    sea_orm::sea_query::Expr::value(why),
                )
                .filter(task_execution::Column::TaskId.eq(task_id))
                .filter(task_execution::Column::State.eq(ExecutionState::Failed.as_str()))
                .exec(&txn)
                .await?;
            let task = views::task_by_id(&txn, task_id).await?;
            txn.commit().await?;
            self.publish_all(vec![Event::TaskUpdated(task)]);
        }
        self.queue_moved().await;
        Err(err)
    }
}
