//! The durable queue: executing tasks. The `task_execution` table is the queue — what is
//! queued, blocked or running survives a restart, and admission resumes after it.
//!
//! The decisions are pure and live beside this file: [`admission`] (which queued tasks start
//! now, under the global and per-project limits, by priority then time queued) and
//! [`lifecycle`] (dependency gating; what a run's end means for its task). The rest performs
//! them: `execute.rs` takes what callers ask of a task (execute, cancel, retry, resume),
//! `pump.rs` reads the queue, asks the decisions, starts runs (a new session for a task's first
//! run, the same session for the next ones) and records their ends, `controls.rs` holds the
//! queue's settings. This file has what they share: the queue's state, its reads and counts.
//!
//! `pump` runs after every change that can let a task start (an execute, a run's end, a task
//! completed, a setting changed) and when a backoff or cooldown ends; one background task does
//! it, woken by a `Notify` — nothing polls.

pub mod admission;
mod budget;
mod controls;
mod execute;
mod gates;
pub mod lifecycle;
mod pump;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    QueryTrait, Set,
};
use serde_json::json;
use tokio::sync::Notify;

use super::access::Admin;
use super::error::ServiceResult;
use super::{history, rules, Actor, Service};
use crate::clock::now_ms;
use crate::events::Event;
use crate::model::{
    CancelTask, EndReason, ExecuteTask, Executed, Execution, ExecutionState, LoopSpec, NewSession,
    Priority, QueueStatus, QueuedByPriority, Run, Task, TaskStatus,
};
use crate::store::entity::{
    agent_profile, project, queue_setting, session, task, task_dependency, task_execution,
};
use crate::store::json::from_text;
use crate::store::shapes::{self, Shapes};
use admission::{Candidate, Limits};
use lifecycle::{Ended, Next, Plan};

/// The global limit when none was set.
pub const DEFAULT_MAX_CONCURRENT: u32 = 4;
pub const MAX_CONCURRENT: u32 = 64;
pub const MAX_ATTEMPTS: u32 = 100;
pub const MAX_LOOP_RUNS: u32 = 1000;
pub const MAX_COOLDOWN_MS: u64 = 86_400_000;

/// The error `mark_started` gives when the task left the queue between admission and start.
pub(in crate::service) const NOT_QUEUED: &str = "not_queued";

/// The shortest time between two `queue:updated` from the queue's rounds.
const PUBLISH_INTERVAL: Duration = Duration::from_millis(100);

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
    /// Wakes the publisher: a round changed the queue. Rounds ask, the publisher reads and
    /// publishes after them (off the rounds' path; the rounds of one `PUBLISH_INTERVAL` are
    /// published once).
    publish: Notify,
    /// When the last round said to look again (Unix ms; 0: not needed). A round may run outside
    /// the pump's loop (an execute starts what it can at once); the loop's timer follows this.
    next_at: std::sync::atomic::AtomicI64,
    /// The blocked tasks the next round looks at again (see `gates`).
    gates: std::sync::Mutex<gates::GateMarks>,
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
        cost_limit_usd: row.cost_limit_usd(),
    }
}

/// Every queued task as admission sees it (priority from the task).
async fn candidates<C: ConnectionTrait>(conn: &C) -> ServiceResult<Vec<Candidate>> {
    let backend = conn.get_database_backend();
    read_candidates(conn, backend.build(&queued_rows())).await
}

/// A place in the queue's order: priority rank, time queued, task id (unique). Where a page of
/// the queue ended, or where a queued task stands.
type PageEnd = (i16, i64, String);

/// The queued rows served after `place` (`later`), or before it.
fn beside(place: PageEnd, later: bool) -> Expr {
    use sea_orm::sea_query::ExprTrait;
    let (p, k, id) = place;
    let rank = || Expr::col((task_execution::Entity, task_execution::Column::Priority));
    let task = || Expr::col((task_execution::Entity, task_execution::Column::TaskId));
    // Higher priority first; then earlier, then the smaller id.
    let (higher, earlier, smaller) = if later {
        (rank().lt(p), queued_key().gt(k), task().gt(id))
    } else {
        (rank().gt(p), queued_key().lt(k), task().lt(id))
    };
    higher.or(rank()
        .eq(p)
        .and(earlier.or(queued_key().eq(k).and(smaller))))
}

/// Where queued `row` stands in the queue's order.
fn place_of(row: &task_execution::Model) -> PageEnd {
    (
        row.priority,
        row.queued_at.unwrap_or(row.updated_at),
        row.task_id.clone(),
    )
}

/// Queued tasks in served order, one page after `after` (keyset pagination on priority, time
/// queued and task id: the order of [`admission::order`], unique, so one query a page). The
/// second value is where the next page starts, or `None` after the last page. Admission reads
/// the queue this way: a round usually fills its free slots from the first page, however long the
/// queue.
async fn candidates_page<C: ConnectionTrait>(
    conn: &C,
    after: Option<PageEnd>,
    size: u64,
) -> ServiceResult<(Vec<Candidate>, Option<PageEnd>)> {
    use sea_orm::sea_query::Order;
    let backend = conn.get_database_backend();
    let rank = || Expr::col((task_execution::Entity, task_execution::Column::Priority));
    let id = || Expr::col((task_execution::Entity, task_execution::Column::TaskId));
    let mut query = queued_rows();
    if let Some(end) = after {
        query.and_where(beside(end, true));
    }
    query
        .order_by_expr(rank(), Order::Desc)
        .order_by_expr(queued_key(), Order::Asc)
        .order_by_expr(id(), Order::Asc)
        .limit(size);
    let page = read_candidates(conn, backend.build(&query)).await?;
    if (page.len() as u64) < size {
        return Ok((page, None));
    }
    let end = page
        .last()
        .map(|last| (last.priority.rank(), last.queued_at, last.task_id.clone()));
    Ok((page, end))
}

/// When a task was queued, as the queue orders it (always written when it is queued).
fn queued_key() -> Expr {
    Expr::col((task_execution::Entity, task_execution::Column::QueuedAt))
}

async fn read_candidates<C: ConnectionTrait>(
    conn: &C,
    statement: sea_orm::Statement,
) -> ServiceResult<Vec<Candidate>> {
    // Only the columns admission reads: the queue may hold thousands.
    let rows = conn.query_all_raw(statement).await?;
    rows.into_iter()
        .map(|row| {
            // By name: the local writer's rows are keyed by name (see `store::local_writer`).
            Ok(Candidate {
                task_id: row.try_get("", "task_id")?,
                project_id: row.try_get("", "project_id")?,
                queued_at: row
                    .try_get::<Option<i64>>("", "queued_at")?
                    .unwrap_or(row.try_get("", "updated_at")?),
                not_before: row.try_get("", "not_before")?,
                priority: Priority::from_rank(row.try_get("", "priority")?),
                agent_id: row.try_get("", "agent_id")?,
            })
        })
        .collect()
}

/// The queued tasks: id, project, queued at, updated at, not before, priority, agent (one
/// table: the execution keeps its task's priority, see `follow_priority`).
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
            (e, task_execution::Column::Priority),
            (e, task_execution::Column::AgentId),
        ])
        .from(e)
        .and_where(
            Expr::col((e, task_execution::Column::State)).eq(ExecutionState::Queued.as_str()),
        )
        .take()
}

/// The tasks admission starts now, reading the queue a page at a time, and when to look again.
async fn admitted<C: ConnectionTrait>(
    conn: &C,
    mut limits: Limits,
    now: i64,
) -> ServiceResult<(Vec<String>, Option<i64>)> {
    const PAGE: u64 = 64;
    let (mut start, mut wake) = (Vec::new(), None::<i64>);
    let mut after = None;
    // The first page is sized to the free slots (with room for tasks that must wait); the
    // queue is read on only when those do not fill them.
    let free = u64::from(limits.max_concurrent.saturating_sub(limits.running));
    let mut size = (2 * free).clamp(8, PAGE);
    while limits.may_start_any() {
        let (page, next) = candidates_page(conn, after, size).await?;
        size = PAGE;
        let (started, w) = admission::admit_page(page, &mut limits, now);
        start.extend(started);
        wake = match (wake, w) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match next {
            Some(end) => after = Some(end),
            None => break,
        }
    }
    Ok((start, wake))
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
    execution_views(conn, rows).await
}

/// The views of execution `rows` (read only for the queue positions of queued ones).
pub(super) async fn execution_views<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<task_execution::Model>,
) -> ServiceResult<HashMap<String, Execution>> {
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let queued: Vec<&task_execution::Model> = rows
        .iter()
        .filter(|r| state_of(r) == ExecutionState::Queued)
        .collect();
    // A few (a task's view, a round's starts): each counts the rows before it; many (a list):
    // the whole queue is read once.
    let positions = if queued.len() > COUNTED_POSITIONS {
        admission::positions(candidates(conn).await?)
    } else {
        let mut positions = BTreeMap::new();
        for row in queued {
            positions.insert(row.task_id.clone(), position_of(conn, row).await?);
        }
        positions
    };
    Ok(rows
        .into_iter()
        .map(|row| {
            let view = execution_view(&row, positions.get(&row.task_id).copied());
            (row.task_id, view)
        })
        .collect())
}

/// Up to this many queued rows in a view, each one's position is counted on its own.
const COUNTED_POSITIONS: usize = 8;

/// The position of queued `row`: one more than the queued rows served before it (a count over
/// the queue-order index).
async fn position_of<C: ConnectionTrait>(
    conn: &C,
    row: &task_execution::Model,
) -> ServiceResult<u32> {
    use sea_orm::sea_query::ExprTrait;
    let e = task_execution::Entity;
    let query = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .from(e)
        .and_where(
            Expr::col((e, task_execution::Column::State)).eq(ExecutionState::Queued.as_str()),
        )
        .and_where(beside(place_of(row), false))
        .take();
    let backend = conn.get_database_backend();
    let ahead = match conn.query_one_raw(backend.build(&query)).await? {
        Some(row) => row.try_get::<i64>("", "n")?,
        None => 0,
    };
    Ok(u32::try_from(ahead).unwrap_or(0) + 1)
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
    follow_priority(conn, &row.id, priority).await?;
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

/// A task's priority changed: its execution's copy (the queue's order) follows, in the same
/// transaction.
pub(super) async fn follow_priority<C: ConnectionTrait>(
    conn: &C,
    task_id: &str,
    priority: Priority,
) -> ServiceResult<()> {
    task_execution::Entity::update_many()
        .col_expr(
            task_execution::Column::Priority,
            Expr::value(priority.rank()),
        )
        .filter(task_execution::Column::TaskId.eq(task_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Sets a task's status on the queue's behalf, with its history; the task as it is now. `row` is
/// the task as read in the same transaction.
async fn set_task_status<C: ConnectionTrait>(
    conn: &C,
    row: &task::Model,
    status: TaskStatus,
    actor: &Actor,
    now: i64,
) -> ServiceResult<task::Model> {
    let old = TaskStatus::parse(&row.status).unwrap_or(TaskStatus::Pending);
    if old == status {
        return Ok(row.clone());
    }
    let completed_at = rules::task_completed_at(old, row.completed_at, status, None, now)?;
    let updated = task::Model {
        status: status.as_str().to_owned(),
        completed_at,
        updated_at: now,
        ..row.clone()
    };
    // The row as it is now is `row` with these three changes: nothing to read back. Its SQL is
    // built once (`store::shapes`): every end of a queued run moves its task.
    static SET_STATUS: Shapes = Shapes::new();
    let backend = conn.get_database_backend();
    let values = vec![
        status.as_str().into(),
        completed_at.into(),
        now.into(),
        row.id.as_str().into(),
    ];
    let stmt = SET_STATUS.with_values(backend, values, |v| {
        task::Entity::update_many()
            .col_expr(task::Column::Status, Expr::value(v[0].clone()))
            .col_expr(task::Column::CompletedAt, Expr::value(v[1].clone()))
            .col_expr(task::Column::UpdatedAt, Expr::value(v[2].clone()))
            .filter(task::Column::Id.eq(v[3].clone()))
            .build(backend)
    });
    let written = conn.execute_raw(stmt).await?;
    if written.rows_affected() == 0 {
        return Err(sea_orm::DbErr::RecordNotUpdated.into());
    }
    record_status(conn, &row.id, old, status, actor, now).await?;
    Ok(updated)
}

/// A status change in the task's history.
async fn record_status<C: ConnectionTrait>(
    conn: &C,
    task_id: &str,
    old: TaskStatus,
    new: TaskStatus,
    actor: &Actor,
    now: i64,
) -> ServiceResult<()> {
    history::record(
        conn,
        history::Entry::new(task_id, "updated", actor, now)
            .field("status")
            .old_value(json!(old.as_str()))
            .new_value(json!(new.as_str())),
    )
    .await
}

/// Moves task `task_id` from status `from` to `to` when it has `from` (one statement, no read
/// first), recorded in its history; `None` when it had another status (or is gone). Only for
/// moves that keep `completedAt` empty.
async fn move_task_status<C: ConnectionTrait>(
    conn: &C,
    task_id: &str,
    from: TaskStatus,
    to: TaskStatus,
    actor: &Actor,
    now: i64,
) -> ServiceResult<Option<task::Model>> {
    debug_assert!(from != TaskStatus::Completed && to != TaskStatus::Completed);
    // Its SQL built once (`store::shapes`): every start of a queued run moves its task.
    static MOVE: Shapes = Shapes::new();
    let backend = conn.get_database_backend();
    let values = vec![
        to.as_str().into(),
        now.into(),
        task_id.into(),
        from.as_str().into(),
    ];
    let stmt = MOVE.with_values(backend, values, |v| {
        let mut query = task::Entity::update_many()
            .col_expr(task::Column::Status, Expr::value(v[0].clone()))
            .col_expr(task::Column::CompletedAt, Expr::value(Option::<i64>::None))
            .col_expr(task::Column::UpdatedAt, Expr::value(v[1].clone()))
            .filter(task::Column::Id.eq(v[2].clone()))
            .filter(task::Column::Status.eq(v[3].clone()))
            .into_query();
        query.returning_all();
        backend.build(&query)
    });
    let moved: Option<task::Model> = shapes::one(conn, stmt).await?;
    if moved.is_some() {
        record_status(conn, task_id, from, to, actor, now).await?;
    }
    Ok(moved)
}

/// The dependencies of `task_id` as gating sees them.
async fn dependencies<C: ConnectionTrait>(
    conn: &C,
    task_id: &str,
) -> ServiceResult<Vec<lifecycle::Dependency>> {
    let mut of = dependencies_of(conn, vec![task_id.to_owned()]).await?;
    Ok(of.remove(task_id).unwrap_or_default())
}

/// The dependencies of each of `task_ids` as gating sees them (sorted by id), in two queries
/// whatever their number.
async fn dependencies_of<C: ConnectionTrait>(
    conn: &C,
    task_ids: Vec<String>,
) -> ServiceResult<HashMap<String, Vec<lifecycle::Dependency>>> {
    let edges = task_dependency::Entity::find()
        .filter(task_dependency::Column::TaskId.is_in(task_ids))
        .all(conn)
        .await?;
    if edges.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<String> = edges.iter().map(|d| d.depends_on_id.clone()).collect();
    let rows: HashMap<String, task::Model> = task::Entity::find()
        .filter(task::Column::Id.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|t| (t.id.clone(), t))
        .collect();
    let mut of: HashMap<String, Vec<lifecycle::Dependency>> = HashMap::new();
    for edge in edges {
        if let Some(t) = rows.get(&edge.depends_on_id) {
            of.entry(edge.task_id)
                .or_default()
                .push(lifecycle::Dependency {
                    id: t.id.clone(),
                    title: t.title.clone(),
                    status: TaskStatus::parse(&t.status).unwrap_or(TaskStatus::Pending),
                });
        }
    }
    for deps in of.values_mut() {
        deps.sort_by(|a, b| a.id.cmp(&b.id));
    }
    Ok(of)
}

/// `SELECT priority, COUNT(*)` of the queued tasks.
fn queued_by_priority() -> SelectStatement {
    use sea_orm::sea_query::ExprTrait;
    let e = task_execution::Entity;
    Query::select()
        .column((e, task_execution::Column::Priority))
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .from(e)
        .and_where(
            Expr::col((e, task_execution::Column::State)).eq(ExecutionState::Queued.as_str()),
        )
        .group_by_col((e, task_execution::Column::Priority))
        .take()
}

/// How many executions are in a state (read by name: see `store::local_sqlite`).
#[derive(sea_orm::FromQueryResult)]
struct StateCount {
    state: String,
    n: i64,
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
        self.queue().publish.notify_one();
    }

    /// Asks the publisher for a `queue:updated` with the queue as it is once it gets to it.
    pub(super) fn queue_changed(&self) {
        self.queue().publish.notify_one();
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
        let publisher = self.clone();
        tokio::spawn(async move {
            loop {
                publisher.queue().publish.notified().await;
                if publisher.queue().shutting_down.load(Ordering::SeqCst) {
                    break;
                }
                publisher.publish_queue().await;
                // At most one summary per interval: what changed meanwhile is published once,
                // at its end (a busy queue runs hundreds of rounds a second, and each summary
                // counts the whole queue).
                tokio::time::sleep(PUBLISH_INTERVAL).await;
            }
        });
        let service = self.clone();
        tokio::spawn(async move {
            loop {
                if service.queue().shutting_down.load(Ordering::SeqCst) {
                    break;
                }
                if let Err(err) = service.pump().await {
                    tracing::error!(%err, "the queue could not admit tasks");
                }
                let next =
                    Some(service.queue().next_at.load(Ordering::SeqCst)).filter(|&at| at > 0);
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
        // Every round reads these: their SQL is built once (`store::shapes`).
        static RUNNING: Shapes = Shapes::new();
        static PROJECTS: Shapes = Shapes::new();
        static SETTINGS: Shapes = Shapes::new();
        static LIMITED: Shapes = Shapes::new();
        let backend = conn.get_database_backend();
        let running: Vec<task_execution::Model> = shapes::all(&RUNNING, conn, Vec::new(), |_| {
            task_execution::Entity::find()
                .filter(task_execution::Column::State.eq(ExecutionState::Running.as_str()))
                .build(backend)
        })
        .await?;
        // The queue's live runs, by task (with its project): the executions running, and the
        // runs whose task left the queue while they ran (cancelled: the process is being
        // stopped), which hold their slot until their process exits as any run does — else the
        // next task would start before their `run:ended`, one over the limit.
        let mut live: BTreeMap<String, String> = running
            .into_iter()
            .map(|row| (row.task_id, row.project_id))
            .collect();
        for run in self.runtime.all() {
            if let Some(task) = &run.info.task_id {
                live.entry(task.clone())
                    .or_insert_with(|| run.project_id.clone());
            }
        }
        // Runs that have exited hold no slot, even before their end is committed.
        let exited = self.ends.exited_of(live.keys().map(String::as_str));
        live.retain(|task, _| !exited.contains(task));
        let mut by_project: BTreeMap<String, u32> = BTreeMap::new();
        for project in live.values() {
            *by_project.entry(project.clone()).or_default() += 1;
        }
        let mut project_limits = BTreeMap::new();
        let projects: Vec<project::Model> = shapes::all(&PROJECTS, conn, Vec::new(), |_| {
            project::Entity::find().build(backend)
        })
        .await?;
        for row in projects {
            if let Some(limit) = project_queue(&row).max_concurrent {
                project_limits.insert(row.id, limit);
            }
        }
        // Every queue setting in one read: the limit, the pause, the paused projects.
        let settings: Vec<queue_setting::Model> = shapes::all(&SETTINGS, conn, Vec::new(), |_| {
            queue_setting::Entity::find().build(backend)
        })
        .await?;
        let value = |key: &str| {
            settings
                .iter()
                .find(|row| row.key == key)
                .and_then(|row| serde_json::from_str::<serde_json::Value>(&row.value).ok())
        };
        let max_concurrent = value(KEY_MAX)
            .and_then(|v| v.as_u64())
            .map_or(DEFAULT_MAX_CONCURRENT, |n| n as u32);
        let paused = value(KEY_PAUSED).and_then(|v| v.as_bool()).unwrap_or(false);
        let paused_projects: BTreeSet<String> = settings
            .iter()
            .filter_map(|row| row.key.strip_prefix(KEY_PAUSED_PROJECT).map(str::to_owned))
            .collect();
        // Agents that reported their usage limit: none of their kind starts until it resets.
        let mut limited_agents: BTreeMap<String, i64> = BTreeMap::new();
        let limited: Vec<session::Model> =
            shapes::all(&LIMITED, conn, vec![now_ms().into()], |v| {
                session::Entity::find()
                    .filter(session::Column::LimitedUntil.gt(v[0].clone()))
                    .build(backend)
            })
            .await?;
        for row in limited {
            if let (Some(agent), Some(until)) = (row.agent_id, row.limited_until) {
                let at = limited_agents.entry(agent).or_default();
                *at = (*at).max(until);
            }
        }
        Ok(Limits {
            limited_agents,
            max_concurrent,
            running: live.len() as u32,
            running_by_project: by_project,
            project_limits,
            paused,
            paused_projects,
        })
    }

    /// The queue as `GET /api/queue` shows it.
    pub async fn queue_status(&self, actor: &Actor) -> ServiceResult<QueueStatus> {
        actor.may_administer(Admin::Queue)?;
        self.queue_summary().await
    }

    async fn queue_summary(&self) -> ServiceResult<QueueStatus> {
        // Published after every round: read where the hot path reads (by column name).
        let reads = self.reads();
        let limits = self.limits(&reads).await?;
        // Counted in the database (the queue may hold thousands).
        let mut queued = QueuedByPriority::default();
        let backend = reads.get_database_backend();
        for row in reads
            .query_all_raw(backend.build(&queued_by_priority()))
            .await?
        {
            let priority: i16 = row.try_get("", "priority")?;
            let n = row.try_get::<i64>("", "n")?.max(0) as u32;
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
            select.into_model::<StateCount>().all(&reads)
        };
        let recent = count_states(Some(now_ms() - 3_600_000)).await?;
        let all = count_states(None).await?;
        let count = |rows: &[StateCount], state: ExecutionState| {
            rows.iter()
                .find(|r| r.state == state.as_str())
                .map_or(0, |r| r.n.max(0) as u32)
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::fixture;

    /// Read a page at a time, the queue comes out whole, once each, in admission's order — with
    /// pages ending inside runs of tasks of the same priority queued at the same millisecond.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_queue_read_page_by_page_is_the_whole_queue_in_order() {
        let fixture = fixture::paused_queue(serde_json::json!({
            "id": "idle", "name": "idle", "program": "true", "promptMode": "none",
        }))
        .await;
        let service = &fixture.service;
        for i in 0..11 {
            let priority = ["high", "medium", "low"][i % 3];
            fixture
                .queued_task(serde_json::json!({ "title": format!("t{i}"), "priority": priority }))
                .await;
        }
        // Two times queued for eleven tasks: ties on priority and time, broken by the id.
        let all = task_execution::Entity::find()
            .all(service.db())
            .await
            .unwrap();
        for (n, row) in all.iter().enumerate() {
            task_execution::Entity::update_many()
                .col_expr(
                    task_execution::Column::QueuedAt,
                    Expr::value(1_000 + (n % 2) as i64),
                )
                .filter(task_execution::Column::TaskId.eq(row.task_id.clone()))
                .exec(service.db())
                .await
                .unwrap();
        }
        let mut expected = candidates(service.db()).await.unwrap();
        admission::order(&mut expected);
        assert_eq!(expected.len(), 11);
        for size in [1, 2, 3, 4, 11, 12] {
            let (mut read, mut after) = (Vec::new(), None);
            loop {
                let (page, next) = candidates_page(service.db(), after, size).await.unwrap();
                assert!(page.len() as u64 <= size);
                read.extend(page);
                match next {
                    Some(end) => after = Some(end),
                    None => break,
                }
            }
            let ids = |c: &[Candidate]| c.iter().map(|c| c.task_id.clone()).collect::<Vec<_>>();
            assert_eq!(ids(&read), ids(&expected), "pages of {size}");
        }
        fixture.server.stop().await.unwrap();
    }
}
