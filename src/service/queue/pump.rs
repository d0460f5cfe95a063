//! The queue's pump: one round re-gates the blocked tasks and starts what admission allows; a
//! start and an end of a task's run are recorded here (inside the transaction that records the
//! run, so that both are one commit).

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    QueryTrait, SelectTwoModel, SelectorTrait, Set, TransactionTrait,
};
use serde_json::json;

use super::super::error::{ServiceError, ServiceResult};
use super::super::sessions::{Known, PreparedSession};
use super::super::{lookup, views, Actor, Service};
use super::gates::Marked;
use super::*;
use crate::store::shapes::{self, Shapes};

impl Service {
    /// After a run of the queue's ended (its end recorded): the queue is published and looks
    /// again.
    pub(in crate::service) async fn queue_moved(&self) {
        if !self.queue().shutting_down.load(Ordering::SeqCst) {
            self.queue().moved.store(true, Ordering::SeqCst);
            self.wake_queue();
        }
    }

    /// Decides and records what a run's end means for its task, inside the caller's transaction
    /// (the supervisor records the run's end and this in one commit); the task and execution
    /// rows as written, for its `task:updated` (none when there was nothing to decide).
    pub(in crate::service) async fn run_ended_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        task_id: &str,
        end: RunEnd,
    ) -> ServiceResult<Option<(task::Model, task_execution::Model)>> {
        // Its SQL built once (`store::shapes`): this read runs at the end of every queued run.
        static EXECUTION_WITH_TASK: Shapes = Shapes::new();
        let backend = conn.get_database_backend();
        let stmt = EXECUTION_WITH_TASK.statement(backend, &[task_id.to_owned()], |ids| {
            task_execution::Entity::find_by_id(ids[0].clone())
                .find_also_related(task::Entity)
                .limit(1)
                .build(backend)
        });
        let read = match conn.query_one_raw(stmt).await? {
            Some(row) => Some(
                SelectTwoModel::<task_execution::Model, task::Model>::from_raw_query_result(row)?,
            ),
            None => None,
        };
        let Some((execution, Some(row))) = read else {
            return Ok(None);
        };
        // Cancelled (or changed) while the run ended: nothing more to decide.
        if state_of(&execution) != ExecutionState::Running {
            return Ok(None);
        }
        let budget = self.budget_of(&execution).await?;
        let now = now_ms();
        let ended = Ended {
            reason: end.reason,
            code: end.code,
            signal: end.signal,
            task_done: TaskStatus::parse(&row.status) == Some(TaskStatus::Completed),
            exit_means_done: end.exit_means_done,
            budget,
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
        // Read in this transaction: the row as it is now is the read one with these changes.
        let execution = sea_orm::TryIntoModel::try_into_model(active.clone())?;
        task_execution::Entity::update_many()
            .set(active)
            .filter(task_execution::Column::TaskId.eq(task_id))
            .exec(conn)
            .await?;
        let row = set_task_status(conn, &row, status, &Actor::System, now).await?;
        Ok(Some((row, execution)))
    }

    /// Inside the transaction that starts a run for `task_id` (in `session_id`): its execution
    /// runs (one more run), and the task is in progress. Returns both rows as they are now. Three
    /// statements in the usual case: this runs under the write lock at every start.
    pub(in crate::service) async fn mark_started<C: ConnectionTrait>(
        &self,
        conn: &C,
        task_id: &str,
        session_id: &str,
    ) -> ServiceResult<(task::Model, task_execution::Model)> {
        let now = now_ms();
        // Its SQL built once (`store::shapes`), with the session or without.
        static START: Shapes = Shapes::new();
        static START_IN_SESSION: Shapes = Shapes::new();
        let in_session = !session_id.is_empty();
        let mut values: Vec<sea_orm::Value> = vec![now.into(), task_id.into()];
        let shapes = if in_session {
            values.push(session_id.into());
            &START_IN_SESSION
        } else {
            &START
        };
        let backend = conn.get_database_backend();
        let stmt = shapes.with_values(backend, values, |v| {
            let mut update = task_execution::Entity::update_many()
                .col_expr(
                    task_execution::Column::State,
                    Expr::value(ExecutionState::Running.as_str()),
                )
                .col_expr(
                    task_execution::Column::Runs,
                    sea_orm::sea_query::ExprTrait::add(Expr::col(task_execution::Column::Runs), 1),
                )
                .col_expr(
                    task_execution::Column::NotBefore,
                    Expr::value(Option::<i64>::None),
                )
                .col_expr(
                    task_execution::Column::Reason,
                    Expr::value(Option::<String>::None),
                )
                .col_expr(task_execution::Column::UpdatedAt, Expr::value(v[0].clone()));
            if in_session {
                update =
                    update.col_expr(task_execution::Column::SessionId, Expr::value(v[2].clone()));
            }
            let mut query = update
                .filter(task_execution::Column::TaskId.eq(v[1].clone()))
                .filter(task_execution::Column::State.eq(ExecutionState::Queued.as_str()))
                .into_query();
            query.returning_all();
            backend.build(&query)
        });
        let execution: Option<task_execution::Model> = shapes::one(conn, stmt).await?;
        // Cancelled (or changed by hand) since admission chose it: the start is undone (its
        // transaction rolls back, its process is killed).
        let Some(execution) = execution else {
            return Err(ServiceError::conflict(
                NOT_QUEUED,
                format!("task '{task_id}' left the queue before it started"),
                json!({}),
            ));
        };
        // A queued execution's task is queued (the two change together), so the move is tried
        // without reading the task first; anything else takes the general way.
        let moved = move_task_status(
            conn,
            task_id,
            TaskStatus::Queued,
            TaskStatus::InProgress,
            &Actor::System,
            now,
        )
        .await?;
        let task = match moved {
            Some(task) => task,
            None => {
                let row = lookup::task(conn, task_id).await?;
                set_task_status(conn, &row, TaskStatus::InProgress, &Actor::System, now).await?
            }
        };
        Ok((task, execution))
    }

    /// One round of the queue: re-gate the blocked tasks, drop executions whose task moved on,
    /// then start what admission allows. Returns when to look again for a backoff or cooldown.
    pub(in crate::service) async fn pump(&self) -> ServiceResult<Option<i64>> {
        let _round = self.queue().pump.lock().await;
        if self.queue().shutting_down.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let changed = self.regate().await?;
        let (start, wake) = {
            let reads = self.reads();
            let limits = self.limits(&reads).await?;
            admitted(&reads, limits, now_ms()).await?
        };
        // The loop's timer follows the latest round's answer, wherever that round ran.
        let at = wake.unwrap_or(0);
        if self.queue().next_at.swap(at, Ordering::SeqCst) != at {
            self.wake_queue();
        }
        // The round's starts are prepared side by side (reads, plans, processes: no lock),
        // then recorded one by one in admission order, so `run:started` keeps that order.
        let started = !start.is_empty();
        // A failed read fails the round as a failed admission does: nothing has started.
        let mut reads = self.round_reads(&start).await?;
        let prepared = futures_util::future::join_all(
            start
                .iter()
                .map(|id| self.prepare_start(id, reads.take(id))),
        )
        .await;
        // New sessions in a row are recorded together (one commit); any other step in between
        // is recorded after those before it.
        let mut new = Vec::new();
        for (task_id, step) in start.iter().zip(prepared) {
            if self.queue().shutting_down.load(Ordering::SeqCst) {
                break; // what was prepared and not recorded is killed as it drops
            }
            let (earlier, err) = match step {
                StartStep::Skip => continue,
                StartStep::New(session) => {
                    new.push((task_id.as_str(), *session));
                    continue;
                }
                StartStep::Again {
                    session_id,
                    attempt,
                } => {
                    self.record_new(std::mem::take(&mut new)).await;
                    let started = self
                        .restart_session_for(
                            &session_id,
                            &Actor::System,
                            Some((task_id, attempt)),
                            false,
                        )
                        .await;
                    match started {
                        Ok(_) => continue,
                        Err(err) => (Some(session_id), err),
                    }
                }
                StartStep::Failed(earlier, err) => {
                    self.record_new(std::mem::take(&mut new)).await;
                    (earlier, err)
                }
            };
            if let Err(err) = self.start_failed(task_id, earlier, err).await {
                tracing::warn!(%err, task = task_id, "a queued task could not start");
            }
        }
        if !self.queue().shutting_down.load(Ordering::SeqCst) {
            self.record_new(new).await;
        }
        let moved = self.queue().moved.swap(false, Ordering::SeqCst);
        if changed || started || moved {
            self.queue_changed();
        }
        Ok(wake)
    }

    /// The marked blocked tasks (see `gates`) whose dependencies are done are queued, and the
    /// others' reasons kept current. (A task changed by hand leaves the queue in the transaction
    /// that changes it: `follow_status`.)
    async fn regate(&self) -> ServiceResult<bool> {
        // Most rounds have nothing marked: no read, no lock, no transaction for them.
        let marked = self.gates_to_check();
        if marked == Marked::Nothing {
            return Ok(false);
        }
        let regated = self.regate_marked(marked).await;
        if regated.is_err() {
            // What was marked is looked at again.
            self.mark_all_gates();
        }
        regated
    }

    async fn regate_marked(&self, marked: Marked) -> ServiceResult<bool> {
        // Noted tasks: the blocked ones among them and their dependents (none, mostly).
        let marked = match marked {
            Marked::Tasks(ids) => match self.blocked_among(ids).await? {
                found if found.is_empty() => return Ok(false),
                found => Marked::Tasks(found),
            },
            other => other,
        };
        let _lock = self.write_lock().await;
        let txn = self.db.begin().await?;
        // Queued tasks changed by hand leave the queue where they are changed (`update_task`);
        // here only the blocked ones are looked at again.
        // The marked ones by id (looked up, not found among every blocked row), still blocked.
        let waiting: Vec<_> = match marked {
            Marked::Tasks(ids) => task_execution::Entity::find()
                .filter(task_execution::Column::TaskId.is_in(ids))
                .all(&txn)
                .await?
                .into_iter()
                .filter(|row| state_of(row) == ExecutionState::Blocked)
                .collect(),
            _ => {
                task_execution::Entity::find()
                    .filter(task_execution::Column::State.eq(ExecutionState::Blocked.as_str()))
                    .all(&txn)
                    .await?
            }
        };
        let now = now_ms();
        let mut events = Vec::new();
        // Everything the decisions read, in three queries whatever the queue's length.
        let ids: Vec<String> = waiting.iter().map(|e| e.task_id.clone()).collect();
        let tasks: HashMap<String, task::Model> = task::Entity::find()
            .filter(task::Column::Id.is_in(ids.clone()))
            .all(&txn)
            .await?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        let mut deps = dependencies_of(&txn, ids).await?;
        for execution in waiting {
            let id = execution.task_id.clone();
            let Some(row) = tasks.get(&id) else { continue };
            let (next, reason, task_status) =
                lifecycle::gate(&deps.remove(&id).unwrap_or_default()).placement();
            if next == ExecutionState::Blocked && reason == execution.reason {
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
            set_task_status(&txn, row, task_status, &Actor::System, now).await?;
            events.push(Event::TaskUpdated(views::task_by_id(&txn, &id).await?));
        }
        txn.commit().await?;
        let changed = !events.is_empty();
        self.publish_all(events);
        Ok(changed)
    }

    /// What a round's starts read, in three queries: the executions with their tasks, and the
    /// projects and agent profiles those name (instead of three queries for each start).
    async fn round_reads(&self, start: &[String]) -> ServiceResult<RoundReads> {
        if start.is_empty() {
            return Ok(RoundReads::default());
        }
        // Their SQL built once for each number of starts (`store::shapes`).
        static ROWS: Shapes = Shapes::new();
        static PROJECTS: Shapes = Shapes::new();
        static PROFILES: Shapes = Shapes::new();
        let reads = self.reads();
        let backend = reads.get_database_backend();
        let stmt = ROWS.statement(backend, start, |ids| {
            task_execution::Entity::find()
                .filter(task_execution::Column::TaskId.is_in(ids.to_vec()))
                .find_also_related(task::Entity)
                .build(backend)
        });
        let rows = reads
            .query_all_raw(stmt)
            .await?
            .into_iter()
            .map(SelectTwoModel::<task_execution::Model, task::Model>::from_raw_query_result)
            .collect::<Result<Vec<_>, _>>()?;
        let project_ids: BTreeSet<String> = rows
            .iter()
            .filter_map(|(_, t)| t.as_ref().map(|t| t.project_id.clone()))
            .collect();
        let agent_ids: BTreeSet<String> = rows
            .iter()
            .filter_map(|(e, _)| e.agent_id.clone())
            .collect();
        let project_ids: Vec<String> = project_ids.into_iter().collect();
        let stmt = PROJECTS.statement(backend, &project_ids, |ids| {
            project::Entity::find()
                .filter(project::Column::Id.is_in(ids.to_vec()))
                .build(backend)
        });
        let projects: Vec<project::Model> = shapes::rows(&reads, stmt).await?;
        let agent_ids: Vec<String> = agent_ids.into_iter().collect();
        let stmt = PROFILES.statement(backend, &agent_ids, |ids| {
            agent_profile::Entity::find()
                .filter(agent_profile::Column::Id.is_in(ids.to_vec()))
                .build(backend)
        });
        let profiles: Vec<agent_profile::Model> = shapes::rows(&reads, stmt).await?;
        Ok(RoundReads {
            rows: rows
                .into_iter()
                .map(|(e, t)| (e.task_id.clone(), (e, t)))
                .collect(),
            projects: projects.into_iter().map(|p| (p.id.clone(), p)).collect(),
            profiles: profiles.into_iter().map(|p| (p.id.clone(), p)).collect(),
        })
    }

    /// The first half of starting queued task `task_id`: a new session's checks, plan and
    /// process (in the session of its earlier runs when there is one: that restart is done
    /// whole when recorded). Takes no lock. `read` is what the round read for it (none: the
    /// task is gone).
    async fn prepare_start(&self, task_id: &str, read: Option<StartReads>) -> StartStep<'_> {
        let Some(StartReads {
            execution,
            task: task_row,
            project,
            profile,
        }) = read
        else {
            return StartStep::Skip;
        };
        if state_of(&execution) != ExecutionState::Queued {
            return StartStep::Skip;
        }
        let attempt = execution.attempt.max(1) as u32;
        let earlier = execution.session_id.clone();
        let prepared = async {
            if let Some(id) = &earlier {
                if lookup::session(&self.reads(), id).await.is_ok() {
                    return Ok(StartStep::Again {
                        session_id: id.clone(),
                        attempt,
                    });
                }
            }
            let task_row = match task_row {
                Some(row) => row,
                None => lookup::task(&self.reads(), task_id).await?, // its 404
            };
            let input = NewSession {
                project_id: task_row.project_id.clone(),
                agent_id: execution.agent_id.clone(),
                name: Some(crate::service::validate::clip(&task_row.title, 200)),
                task_ids: Some(vec![task_id.to_owned()]),
                ..Default::default()
            };
            let known = Known {
                task: Some(task_row),
                project,
                profile,
            };
            let session = self
                .prepare_session(input, &Actor::System, Some((task_id, attempt)), known)
                .await?;
            ServiceResult::Ok(StartStep::New(Box::new(session)))
        }
        .await;
        prepared.unwrap_or_else(|err| StartStep::Failed(earlier, err))
    }

    /// Records new sessions of a round, together, in order; a start that fails counts as a run
    /// that failed.
    async fn record_new(&self, new: Vec<(&str, PreparedSession<'_>)>) {
        if new.is_empty() {
            return;
        }
        let (task_ids, sessions): (Vec<&str>, Vec<_>) = new.into_iter().unzip();
        let answers = self.record_sessions(sessions, &Actor::System).await;
        for (task_id, answer) in task_ids.into_iter().zip(answers) {
            if let Err(err) = answer {
                if let Err(err) = self.start_failed(task_id, None, err).await {
                    tracing::warn!(%err, task = task_id, "a queued task could not start");
                }
            }
        }
    }

    /// A start that failed is a run that failed: attempts and backoff apply. Returns the start's
    /// error once that is recorded (nothing when the task had left the queue).
    async fn start_failed(
        &self,
        task_id: &str,
        earlier: Option<String>,
        err: ServiceError,
    ) -> ServiceResult<()> {
        if err.code() == NOT_QUEUED {
            return Ok(());
        }
        tracing::warn!(%err, task = task_id, "the task's agent could not start");
        let why = format!("could not start: {}", err.public_message());
        {
            let _lock = self.write_lock().await;
            let txn = self.db.begin().await?;
            let session = earlier.unwrap_or_default();
            match self.mark_started(&txn, task_id, &session).await {
                Err(e) if e.code() == NOT_QUEUED => return Ok(()),
                other => drop(other?),
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

/// What a round read for its starts (see [`Service::round_reads`]).
#[derive(Default)]
struct RoundReads {
    rows: HashMap<String, (task_execution::Model, Option<task::Model>)>,
    projects: HashMap<String, project::Model>,
    profiles: HashMap<String, agent_profile::Model>,
}

/// What one start takes of its round's reads.
struct StartReads {
    execution: task_execution::Model,
    task: Option<task::Model>,
    project: Option<project::Model>,
    profile: Option<agent_profile::Model>,
}

impl RoundReads {
    /// `task_id`'s rows (none when its execution is gone); each is handed out once.
    fn take(&mut self, task_id: &str) -> Option<StartReads> {
        let (execution, task) = self.rows.remove(task_id)?;
        let project = task
            .as_ref()
            .and_then(|t| self.projects.get(&t.project_id).cloned());
        let profile = execution
            .agent_id
            .as_ref()
            .and_then(|a| self.profiles.get(a).cloned());
        Some(StartReads {
            execution,
            task,
            project,
            profile,
        })
    }
}

/// Where one start of a round stands between its two halves.
enum StartStep<'a> {
    /// The task left the queue meanwhile.
    Skip,
    /// A new session, started, to record.
    New(Box<PreparedSession<'a>>),
    /// The next run in the session of its earlier runs.
    Again { session_id: String, attempt: u32 },
    /// It could not start (in the session of its earlier runs, if any).
    Failed(Option<String>, ServiceError),
}
