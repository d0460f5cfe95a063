//! Recording the ends of runs, together when they come together.
//!
//! A run's end is written in one transaction: the run closed, its session's status, and what the
//! end means for its task (`run_ended_in`). Ends that arrive while the write lock is taken wait
//! in [`Ends`]; whichever supervisor gets the lock first records every end waiting, in one
//! transaction and one commit, publishes their events in the order they arrived, and tells each
//! waiting supervisor its end is recorded. When that shared transaction fails, the ends are
//! recorded again one at a time, so that one end that cannot be recorded never keeps the others
//! from being recorded.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryTrait, Value};
use tokio::sync::oneshot;

use super::super::error::{ServiceError, ServiceResult};
use super::super::runtime::Run;
use super::super::{views, Service};
use super::records;
use crate::clock::now_ms;
use crate::events::Event;
use crate::model::{EndReason, SessionStatus, Task};
use crate::pty::Exit;
use crate::store::entity::{run, session, task, task_execution};
use crate::store::shapes::{self, Shapes};

/// Ends waiting for the write lock, and the queue's tasks whose run has exited but whose end is
/// not committed yet.
#[derive(Default)]
pub(in crate::service) struct Ends {
    waiting: Mutex<Vec<Ending>>,
    /// Task ids: their process is gone, so the queue's admission does not count them as running
    /// even while the database still does. Each leaves once its end is committed (or could not
    /// be), so it is never subtracted twice: admission subtracts only ids the database it read
    /// still shows running.
    exited: Mutex<HashSet<String>>,
}

impl Ends {
    fn push(&self, ending: Ending) {
        if let Some(task_id) = &ending.run.info.task_id {
            self.exited_ids().insert(task_id.clone());
        }
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(ending);
    }

    fn take(&self) -> Vec<Ending> {
        std::mem::take(&mut *self.waiting.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn exited_ids(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.exited.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Of `running` (task ids the database shows running), those whose run has exited.
    pub(in crate::service) fn exited_of<'a>(
        &self,
        running: impl IntoIterator<Item = &'a str>,
    ) -> HashSet<String> {
        let exited = self.exited_ids();
        running
            .into_iter()
            .filter(|id| exited.contains(*id))
            .map(str::to_owned)
            .collect()
    }
}

/// One run's end, waiting to be recorded.
struct Ending {
    run: Arc<Run>,
    exit: Exit,
    reason: EndReason,
    exit_means_done: bool,
    /// Told once the end is recorded (or could not be).
    recorded: oneshot::Sender<ServiceResult<()>>,
}

/// What the transaction wrote for one end.
struct Written {
    closed: Option<run::Model>,
    /// The session as it is now (none when it was deleted meanwhile).
    session: Option<session::Model>,
    status: SessionStatus,
    /// The queue's task and its execution, when the end decided something for it.
    task: Option<(task::Model, task_execution::Model)>,
}

/// One end's rows with what their views need from the link tables (read for a whole batch at
/// once: two queries, whatever its size).
struct Viewed {
    closed: Option<run::Model>,
    /// The session and the ids of its tasks.
    session: Option<(session::Model, Vec<String>)>,
    status: SessionStatus,
    task: Option<Task>,
}

impl Service {
    /// Records the end of a run (see the module's documentation); returns once it is recorded.
    pub(super) async fn finish_run(
        &self,
        run: &Arc<Run>,
        exit: &Exit,
        reason: EndReason,
        exit_means_done: bool,
    ) -> ServiceResult<()> {
        self.runtime.tokens.revoke(&run.session_id);
        let (recorded, told) = oneshot::channel();
        let of_queue = run.info.task_id.is_some();
        self.ends.push(Ending {
            run: Arc::clone(run),
            exit: exit.clone(),
            reason,
            exit_means_done,
            recorded,
        });
        // Its slot is free now: the queue prepares the next start while this end is recorded
        // (and records this end first, with its own starts, if it gets the lock first).
        if of_queue {
            self.wake_queue();
        }
        {
            let _lock = self.write_lock().await;
            // Nothing waits when another supervisor, or the queue, took this end with its own.
            self.record_waiting_ends().await;
        }
        told.await.unwrap_or_else(|_| {
            Err(ServiceError::Unavailable(
                "the end of the run was not recorded".into(),
            ))
        })
    }

    /// Records the ends waiting, if any; the caller holds the write lock. A supervisor calls
    /// this for its own end (and takes any others waiting with it); the queue calls it before
    /// it records its starts, so that a slot's `run:ended` always comes before the
    /// `run:started` that takes it.
    pub(in crate::service) async fn record_waiting_ends(&self) {
        let batch = self.ends.take();
        let any_task = batch.iter().any(|e| e.run.info.task_id.is_some());
        if !batch.is_empty() {
            self.record_ends(batch).await;
        }
        // Their tasks moved on: another round re-gates what depends on them.
        if any_task {
            self.queue_moved().await;
        }
    }

    /// Records `batch` under the write lock; then its tasks count as the database says again
    /// (committed, or failed for good).
    async fn record_ends(&self, batch: Vec<Ending>) {
        let tasks: Vec<String> = batch
            .iter()
            .filter_map(|e| e.run.info.task_id.clone())
            .collect();
        self.write_batch(batch).await;
        let mut exited = self.ends.exited_ids();
        for task_id in &tasks {
            exited.remove(task_id);
        }
    }

    /// Writes `batch`: together, or one at a time if that fails.
    async fn write_batch(&self, batch: Vec<Ending>) {
        match self.write_ends(&batch).await {
            Ok(viewed) => {
                for (ending, viewed) in batch.into_iter().zip(viewed) {
                    self.ended(&ending, viewed);
                    let _ = ending.recorded.send(Ok(()));
                }
            }
            // Alone already: nothing else to save.
            Err(err) if batch.len() == 1 => {
                let _ = batch.into_iter().next().map(|e| e.recorded.send(Err(err)));
            }
            Err(err) => {
                tracing::warn!(%err, ends = batch.len(), "recording ends together failed; one at a time");
                for ending in batch {
                    let alone = self.write_ends(std::slice::from_ref(&ending)).await;
                    let result = alone.map(|mut viewed| self.ended(&ending, viewed.remove(0)));
                    let _ = ending.recorded.send(result);
                }
            }
        }
    }

    /// Writes `endings` in one transaction, and reads what their views need. Nothing is written
    /// unless all of them are.
    async fn write_ends(&self, endings: &[Ending]) -> ServiceResult<Vec<Viewed>> {
        let txn = self.begin_write().await?;
        let mut written = Vec::with_capacity(endings.len());
        for ending in endings {
            written.push(self.write_end(&txn, ending).await?);
        }
        let viewed = viewed(&txn, written).await?;
        txn.commit().await?;
        Ok(viewed)
    }

    /// Writes one end inside `txn`: the run closed, the task's end decided, the session's status.
    async fn write_end<C: ConnectionTrait>(
        &self,
        txn: &C,
        ending: &Ending,
    ) -> ServiceResult<Written> {
        let Ending {
            run,
            exit,
            reason,
            exit_means_done,
            ..
        } = ending;
        let status = if *reason != EndReason::Exited {
            SessionStatus::Stopped
        } else if exit.success() {
            SessionStatus::Completed
        } else {
            SessionStatus::Failed
        };
        let closed = records::close_run(
            txn,
            run,
            records::Closing {
                reason: *reason,
                code: Some(exit.code),
                signal: exit.signal.clone(),
                log_end: run.output.end(),
            },
        )
        .await?;
        // What the end means for the queue's task, in the same commit.
        let task = match &run.info.task_id {
            Some(task_id) => {
                let end = crate::service::queue::RunEnd {
                    run_id: run.info.run_id.clone(),
                    reason: *reason,
                    code: Some(exit.code),
                    signal: exit.signal.clone(),
                    exit_means_done: *exit_means_done,
                };
                self.run_ended_in(txn, task_id, end).await?
            }
            None => None,
        };
        // Its SQL built once (`store::shapes`), in two shapes: with its last output's time, when
        // it printed anything, and without.
        static ENDED: Shapes = Shapes::new();
        static ENDED_AFTER_OUTPUT: Shapes = Shapes::new();
        let now = now_ms();
        let mut values: Vec<Value> = vec![
            status.as_str().into(),
            exit.code.into(),
            exit.signal.clone().into(),
            now.into(),
            run.session_id.as_str().into(),
        ];
        let last = run.output.last_output_ms();
        let printed = last > 0;
        let shapes = if printed {
            values.push(last.into());
            &ENDED_AFTER_OUTPUT
        } else {
            &ENDED
        };
        let backend = txn.get_database_backend();
        let stmt = shapes.with_values(backend, values, |v| {
            let mut update = session::Entity::update_many()
                .col_expr(session::Column::Status, Expr::value(v[0].clone()))
                .col_expr(session::Column::ExitCode, Expr::value(v[1].clone()))
                .col_expr(session::Column::Signal, Expr::value(v[2].clone()))
                .col_expr(session::Column::CompletedAt, Expr::value(v[3].clone()))
                .col_expr(session::Column::UpdatedAt, Expr::value(v[3].clone()));
            if printed {
                update = update.col_expr(session::Column::LastActivity, Expr::value(v[5].clone()));
            }
            let mut query = update
                .filter(session::Column::Id.eq(v[4].clone()))
                .into_query();
            query.returning_all();
            backend.build(&query)
        });
        let session: Option<session::Model> = shapes::one(txn, stmt).await?;
        Ok(Written {
            closed,
            session,
            status,
            task,
        })
    }

    /// After the commit (still under the write lock): the run leaves the running set and the
    /// end's events go out.
    fn ended(&self, ending: &Ending, viewed: Viewed) {
        let run = &ending.run;
        let mut events = Vec::new();
        if let Some((row, task_ids)) = viewed.session {
            // Counted before it leaves the running set: a scrape never sees it in neither.
            self.metrics.session_ended(viewed.status.as_str());
            // Registered runs show their live activity; this one has ended.
            self.runtime.remove(run);
            events.push(Event::SessionUpdated(views::session_with(
                &self.runtime,
                row,
                task_ids,
            )));
            if let Some(closed) = viewed.closed {
                events.push(Event::RunEnded(records::view(closed, &run.project_id)));
            }
        }
        events.extend(viewed.task.map(Event::TaskUpdated));
        self.publish_all(events);
    }
}

/// The views' link data for a batch of written ends, in two queries.
async fn viewed<C: ConnectionTrait>(txn: &C, written: Vec<Written>) -> ServiceResult<Vec<Viewed>> {
    let session_ids = written
        .iter()
        .filter_map(|w| w.session.as_ref().map(|s| s.id.clone()))
        .collect();
    let mut links = views::tasks_of_sessions(txn, session_ids).await?;
    let mut tasks =
        views::tasks_with_executions(txn, written.iter().filter_map(|w| w.task.clone()).collect())
            .await?
            .into_iter();
    Ok(written
        .into_iter()
        .map(|w| Viewed {
            session: w.session.map(|row| {
                let task_ids = links.remove(&row.id).unwrap_or_default();
                (row, task_ids)
            }),
            task: w.task.and_then(|_| tasks.next()),
            closed: w.closed,
            status: w.status,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Admission subtracts a run that has exited only while the database it read still shows it
    /// running: an id it did not read running is never subtracted (no slot counted free twice).
    #[test]
    fn only_runs_read_as_running_are_subtracted() {
        let ends = Ends::default();
        ends.exited_ids().extend(["a".to_owned(), "b".to_owned()]);
        let exited = ends.exited_of(["a", "c"]);
        assert_eq!(exited, HashSet::from(["a".to_owned()]));
        assert!(ends.exited_of(["c", "d"]).is_empty());
    }

    /// A run's end is not read back: `run:started` and `run:ended` show the run as its row
    /// stores it, and the ended one as the database has it after its end (number, attempt,
    /// times, exit, reason, log range).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_run_ended_is_shown_as_its_row_stores_it() {
        use crate::events::Event;
        use crate::model::QueueScope;
        use crate::service::{fixture, Actor};
        let fixture = fixture::paused_queue(serde_json::json!({
            "id": "short", "name": "short", "program": "sh",
            "args": ["-c", "echo working; exit 3"], "promptMode": "none",
        }))
        .await;
        let service = &fixture.service;
        let task = fixture
            .queued_task(serde_json::json!({ "title": "fails once" }))
            .await;
        let mut events = service.subscribe(&Actor::User);
        service
            .pause_queue(QueueScope::default(), false, &Actor::User)
            .await
            .unwrap();
        let (mut started, mut ended) = (None, None);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while ended.is_none() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let published = tokio::time::timeout(left, events.recv())
                .await
                .expect("the run ends in time")
                .expect("the bus");
            match &published.event {
                Event::RunStarted(run) if run.task_id.as_deref() == Some(&*task) => {
                    started = Some(run.clone())
                }
                Event::RunEnded(run) if run.task_id.as_deref() == Some(&*task) => {
                    ended = Some(run.clone())
                }
                _ => {}
            }
        }
        let (started, ended) = (started.expect("run:started first"), ended.unwrap());
        let stored = service.get_run(&ended.id, &Actor::User).await.unwrap();
        assert_eq!(ended, stored);
        assert_eq!(ended.started_at, started.started_at);
        assert_eq!((ended.number, ended.attempt), (1, Some(1)));
        assert_eq!(ended.exit_code, Some(3));
        assert_eq!(ended.end_reason, Some(crate::model::EndReason::Exited));
        assert!(ended.ended_at.unwrap() >= ended.started_at);
        assert!(
            ended.log_end.unwrap() > ended.log_start,
            "its output is in its range"
        );
        fixture.server.stop().await.unwrap();
    }
}
