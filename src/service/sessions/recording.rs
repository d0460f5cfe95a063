//! Recording prepared sessions: a session's row, its links, its first run and its task started,
//! in one transaction under the write lock; then its process is supervised and its events go
//! out. The queue records a round's new sessions together — one transaction, one commit — and
//! falls back to one at a time when that fails, so that one start that cannot be recorded never
//! undoes the others. Any start whose record fails is rolled back and its process killed (see
//! `runs::Unsupervised`).

use sea_orm::ConnectionTrait;

use super::super::error::ServiceResult;
use super::super::{runs, views, Actor, Service};
use super::{ensure_new, link, link_of, PreparedSession};
use crate::clock::now_ms;
use crate::events::Event;
use crate::model::{Session, SessionStatus};
use crate::store::entity::{run, session, task, task_execution};
use crate::store::json::to_text;
use crate::store::shapes::{self, Shapes};

/// What the transaction wrote for one session.
pub(in crate::service) struct Written {
    row: session::Model,
    opened: Option<run::Model>,
    /// Its tasks, in link order: the queue's task that started (its rows as written), or another.
    tasks: Vec<Linked>,
}

enum Linked {
    Started(Box<(task::Model, task_execution::Model)>),
    Other(String),
}

/// One session's rows and its tasks' views (read for a whole batch at once).
pub(in crate::service) struct Viewed {
    row: session::Model,
    opened: Option<run::Model>,
    tasks: Vec<crate::model::Task>,
}

/// A recorded session and its first run, if it started one.
pub(in crate::service) type Recorded = (Session, Option<crate::model::Run>);

impl Service {
    /// Records one prepared session (see the module's documentation).
    pub(in crate::service) async fn record_session(
        &self,
        prepared: PreparedSession<'_>,
        actor: &Actor,
    ) -> ServiceResult<Recorded> {
        let _lock = self.write_lock().await;
        self.record_alone(prepared, actor).await
    }

    /// Records `prepared` sessions in order, together when that works; each gets its own
    /// answer. Events go out in the same order.
    pub(in crate::service) async fn record_sessions(
        &self,
        prepared: Vec<PreparedSession<'_>>,
        actor: &Actor,
    ) -> Vec<ServiceResult<Recorded>> {
        let _lock = self.write_lock().await;
        // The ends of runs whose slots these starts may take go first.
        self.record_waiting_ends().await;
        match self.write_sessions(&prepared, actor).await {
            Ok(viewed) => prepared
                .into_iter()
                .zip(viewed)
                .map(|(p, v)| Ok(self.after_session(p, v)))
                .collect(),
            // Alone already: nothing else to save.
            Err(err) if prepared.len() == 1 => vec![Err(err)],
            Err(err) => {
                tracing::warn!(%err, starts = prepared.len(), "recording starts together failed; one at a time");
                let mut answers = Vec::with_capacity(prepared.len());
                for p in prepared {
                    answers.push(self.record_alone(p, actor).await);
                }
                answers
            }
        }
    }

    /// Records one session in its own transaction; the caller holds the write lock.
    async fn record_alone(
        &self,
        prepared: PreparedSession<'_>,
        actor: &Actor,
    ) -> ServiceResult<Recorded> {
        let mut viewed = self
            .write_sessions(std::slice::from_ref(&prepared), actor)
            .await?;
        Ok(self.after_session(prepared, viewed.remove(0)))
    }

    /// Writes `prepared` sessions in one transaction, and their views; the caller holds the
    /// write lock. Nothing is written unless all of them are.
    async fn write_sessions(
        &self,
        prepared: &[PreparedSession<'_>],
        actor: &Actor,
    ) -> ServiceResult<Vec<Viewed>> {
        let txn = self.begin_write().await?;
        let mut written = Vec::with_capacity(prepared.len());
        for p in prepared {
            written.push(self.write_session(&txn, p, actor).await?);
        }
        let viewed = viewed(&txn, written).await?;
        txn.commit().await?;
        Ok(viewed)
    }

    /// The rows of one session, written inside `txn`.
    async fn write_session<C: ConnectionTrait>(
        &self,
        txn: &C,
        prepared: &PreparedSession<'_>,
        actor: &Actor,
    ) -> ServiceResult<Written> {
        let p = prepared;
        if p.chosen_id {
            ensure_new(txn, &p.id).await?;
        }
        let now = now_ms();
        let row = session::Model {
            id: p.id.clone(),
            project_id: p.project_id.clone(),
            name: p.name.clone(),
            agent_id: p.agent_id.clone(),
            command: to_text(&p.argv),
            cwd: p.launch.as_ref().map(|l| l.cwd.display().to_string()),
            env: to_text(&p.env),
            status: SessionStatus::Running.as_str().to_owned(),
            pid: p.started.as_ref().map(|r| r.run().terminal.pid() as i32),
            exit_code: None,
            signal: None,
            status_text: None,
            progress: None,
            started_at: Some(now),
            last_activity: Some(now),
            completed_at: None,
            launch: p.launch.as_ref().map(|l| to_text(&l.stored())),
            conversation_id: p.launch.as_ref().and_then(|l| l.conversation.clone()),
            limited_until: None,
            created_at: now,
            updated_at: now,
        };
        // The row is written as it is: nothing to read back (no `RETURNING`); its SQL built once.
        static INSERT: Shapes = Shapes::new();
        shapes::insert(&INSERT, txn, &session::ActiveModel::from(row.clone())).await?;
        // The queue's task starts (its status moves, which bumps it); the others are bumped.
        let mut started_task = None;
        for task_id in &p.task_ids {
            match &p.task {
                Some((queued, _)) if queued == task_id && p.started.is_some() => {
                    started_task = Some(self.mark_started(txn, task_id, &p.id).await?);
                    link(txn, &p.id, task_id, actor, now, false).await?;
                }
                _ => link(txn, &p.id, task_id, actor, now, true).await?,
            }
        }
        let opened = match p.started {
            Some(_) => Some(
                runs::records::open(
                    txn,
                    runs::records::Opening {
                        id: p.run_id.clone(),
                        session_id: &p.id,
                        task_id: p.task.as_ref().map(|(t, _)| t.as_str()),
                        attempt: p.task.as_ref().map(|(_, a)| *a),
                        log_start: p.log_start,
                        started_at: p
                            .started
                            .as_ref()
                            .map_or_else(now_ms, |s| s.run().info.started_at),
                        first: true,
                    },
                )
                .await?,
            ),
            None => None,
        };
        let tasks = p
            .task_ids
            .iter()
            .map(
                |task_id| match started_task.take_if(|(row, _)| row.id == *task_id) {
                    Some(rows) => Linked::Started(Box::new(rows)),
                    None => Linked::Other(task_id.clone()),
                },
            )
            .collect();
        Ok(Written { row, opened, tasks })
    }

    /// After the commit (under the write lock): the process is supervised and the events go out.
    fn after_session(&self, prepared: PreparedSession<'_>, written: Viewed) -> Recorded {
        let session = views::session_with(&self.runtime, written.row, prepared.task_ids);
        if let (Some(started), Some(launch)) = (prepared.started, &prepared.launch) {
            self.supervise(started, launch);
        }
        let run = written
            .opened
            .map(|row| runs::records::view(row, &session.project_id));
        let mut events = vec![Event::SessionCreated(session.clone())];
        for task in written.tasks {
            let link = link_of(&session, &task.id);
            events.push(Event::TaskUpdated(task));
            events.push(Event::SessionTaskAdded(link.clone()));
            events.push(Event::TaskSessionAdded(link));
        }
        events.extend(run.clone().map(Event::RunStarted));
        self.publish_all(events);
        (session, run)
    }
}

/// The task views of a batch of written sessions: the started tasks' in one query, any other
/// linked task's on its own (a queue session has none).
async fn viewed<C: ConnectionTrait>(txn: &C, written: Vec<Written>) -> ServiceResult<Vec<Viewed>> {
    let started = written
        .iter()
        .flat_map(|w| &w.tasks)
        .filter_map(|t| match t {
            Linked::Started(rows) => Some((**rows).clone()),
            Linked::Other(_) => None,
        })
        .collect();
    let mut started = views::tasks_with_executions(txn, started)
        .await?
        .into_iter();
    let mut viewed = Vec::with_capacity(written.len());
    for w in written {
        let mut tasks = Vec::with_capacity(w.tasks.len());
        for linked in w.tasks {
            tasks.push(match linked {
                // One view per started task, in order (read alone if it were ever missing).
                Linked::Started(rows) => match started.next() {
                    Some(view) => view,
                    None => views::task_by_id(txn, &rows.0.id).await?,
                },
                Linked::Other(id) => views::task_by_id(txn, &id).await?,
            });
        }
        viewed.push(Viewed {
            row: w.row,
            opened: w.opened,
            tasks,
        });
    }
    Ok(viewed)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::model::{CancelTask, NewSession, TaskStatus};
    use crate::service::fixture;

    fn alive(pid: u32) -> bool {
        // SAFETY: signal 0 only asks whether the process exists.
        unsafe { libc::kill(pid as i32, 0) == 0 }
    }

    /// Two starts prepared in one round, one of whose tasks is cancelled before they are
    /// recorded: the shared transaction fails, the other start is recorded alone, and the
    /// cancelled one leaves no session behind and no process running.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_start_that_cannot_be_recorded_does_not_undo_the_others_of_its_round() {
        // Queued, not started: the queue is paused.
        let fixture = fixture::paused_queue(serde_json::json!({
            "id": "sleeper", "name": "sleeper", "program": "sleep", "args": ["30"],
            "promptMode": "none",
        }))
        .await;
        let (service, project) = (&fixture.service, &fixture.project);
        let user = Actor::User;
        let mut tasks = Vec::new();
        for title in ["kept", "cancelled"] {
            tasks.push(
                fixture
                    .queued_task(serde_json::json!({ "title": title }))
                    .await,
            );
        }
        let mut prepared = Vec::new();
        for id in &tasks {
            let input = NewSession {
                project_id: project.clone(),
                agent_id: Some("sleeper".into()),
                task_ids: Some(vec![id.clone()]),
                ..Default::default()
            };
            let session = service
                .prepare_session(
                    input,
                    &Actor::System,
                    Some((id, 1)),
                    crate::service::sessions::Known::default(),
                )
                .await
                .unwrap();
            prepared.push(session);
        }
        let (kept_session, cancelled_session) = (prepared[0].id.clone(), prepared[1].id.clone());
        let cancelled_pid = prepared[1].started.as_ref().unwrap().run().terminal.pid();
        assert!(alive(cancelled_pid));
        service
            .cancel_task(&tasks[1], CancelTask::default(), &user)
            .await
            .unwrap();

        let answers = service.record_sessions(prepared, &Actor::System).await;

        let (session, run) = answers[0].as_ref().expect("the other start is recorded");
        assert_eq!(session.id, kept_session);
        assert_eq!(run.as_ref().unwrap().task_id.as_deref(), Some(&*tasks[0]));
        let kept = service.get_task(&tasks[0], &user).await.unwrap();
        assert_eq!(kept.status, TaskStatus::InProgress);
        assert_eq!(kept.session_ids, vec![kept_session.clone()]);
        let err = answers[1]
            .as_ref()
            .expect_err("the cancelled task cannot start");
        assert_eq!(err.code(), crate::service::queue::NOT_QUEUED);
        assert!(service
            .get_session(&cancelled_session, &user)
            .await
            .is_err());
        let cancelled = service.get_task(&tasks[1], &user).await.unwrap();
        assert_eq!(cancelled.status, TaskStatus::Cancelled);
        assert!(cancelled.session_ids.is_empty());
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive(cancelled_pid) {
            assert!(
                Instant::now() < deadline,
                "the cancelled start's process still runs"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        fixture.server.stop().await.unwrap();
    }
}
