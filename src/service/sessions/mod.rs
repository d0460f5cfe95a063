//! Session records and their links to tasks. (Starting the process in a terminal is the PTY
//! engine's job; this module keeps the record and its rules.)
//!
//! Events follow the Agent Maestro contract: creating a session publishes `session:created`, then
//! for each task `task:updated`, `session:task_added`, `task:session_added`; deleting publishes
//! `session:deleted`, then for each task `task:updated`, `session:task_removed`,
//! `task:session_removed`; linking or unlinking one task publishes `session:updated`,
//! `task:updated` and the two relationship events.

use std::collections::BTreeMap;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use serde_json::json;

mod recording;

use super::error::{ServiceError, ServiceResult};
use super::runtime::RunInfo;
use super::{
    history, ids, lookup, rules, runs, secret_env, tasks::touch, validate, views, Actor, Service,
};
use crate::clock::now_ms;
use crate::events::{Event, Link};
use crate::model::{DeleteSession, ListSessions, NewSession, Session, SessionPatch, SessionStatus};
use crate::store::entity::{agent_profile, project, session, session_task, task};
use crate::store::shapes::Shapes;

/// Rows a caller read already for a session's preparation (a queue round reads those of all its
/// starts in three queries); each is used only if it is the one the input names.
#[derive(Default)]
pub(super) struct Known {
    pub task: Option<task::Model>,
    pub project: Option<project::Model>,
    pub profile: Option<agent_profile::Model>,
}

impl Service {
    pub async fn create_session(&self, input: NewSession, actor: &Actor) -> ServiceResult<Session> {
        self.create_session_for(input, actor, None)
            .await
            .map(|(session, _)| session)
    }

    /// Creates a session; its first run belongs to `task`'s attempt when the queue starts it.
    pub(super) async fn create_session_for(
        &self,
        input: NewSession,
        actor: &Actor,
        task: Option<(&str, u32)>,
    ) -> ServiceResult<(Session, Option<crate::model::Run>)> {
        let prepared = self
            .prepare_session(input, actor, task, Known::default())
            .await?;
        self.record_session(prepared, actor).await
    }

    /// Everything a new session needs before its record: checked, read, planned, and its
    /// process started (not yet supervised: see [`runs::Unsupervised`]); `known` holds rows the
    /// caller read already. No lock is taken, so the queue prepares a round's starts side by
    /// side, then records them in order.
    pub(super) async fn prepare_session(
        &self,
        input: NewSession,
        actor: &Actor,
        task: Option<(&str, u32)>,
        known: Known,
    ) -> ServiceResult<PreparedSession<'_>> {
        let Known {
            task: mut known_task,
            project: known_project,
            profile: known_profile,
        } = known;
        let id = match &input.id {
            Some(id) => {
                ids::check_client_id("id", id)?;
                id.clone()
            }
            None => ids::new_id("sess"),
        };
        let agent_id = input
            .agent_id
            .as_deref()
            .map(|a| validate::required_line("agentId", a, validate::MAX_NAME))
            .transpose()?;
        let name = match &input.name {
            Some(name) => validate::required_line("name", name, validate::MAX_NAME)?,
            None => agent_id.clone().unwrap_or_else(|| "session".to_owned()),
        };
        let mut task_ids = input.task_ids.clone().unwrap_or_default();
        dedup_keep_order(&mut task_ids);
        // An id Baton made is new; one the caller chose may be taken (checked again when it
        // is recorded; here so that nothing of the session there is touched).
        if input.id.is_some() {
            ensure_new(&self.reads(), &id).await?;
        }
        let project = match known_project.filter(|p| p.id == input.project_id) {
            Some(row) => row,
            None => lookup::project_field(&self.reads(), "projectId", &input.project_id).await?,
        };
        actor.may_write(&project.id)?;
        let mut tasks = Vec::with_capacity(task_ids.len());
        for task_id in &task_ids {
            let read = known_task.take_if(|t| t.id == *task_id && t.project_id == input.project_id);
            tasks.push(match read {
                Some(row) => row,
                None => {
                    lookup::task_in_project(&self.reads(), "taskIds", task_id, &input.project_id)
                        .await?
                }
            });
        }
        // A task's own worktree (a checkout can take a while).
        let starts = input.command.is_some() || input.agent_id.is_some();
        let workspace = match (&input.cwd, tasks.first()) {
            (None, Some(task)) if starts => {
                // Boxed: a new worktree's setup runs as a session of its own.
                Box::pin(self.prepare_workspace(&project, task, actor)).await?
            }
            _ => None,
        };
        if let Some(command) = &input.command {
            let cwd = match &workspace {
                Some(w) => Some(w.clone()),
                None => input
                    .cwd
                    .as_ref()
                    .or(project.base_path.as_ref())
                    .map(Into::into),
            };
            self.guard_command(
                "command",
                command,
                cwd.as_deref(),
                input.confirm.unwrap_or(false),
                actor,
            )?;
        }
        let prompt = tasks
            .into_iter()
            .map(|t| t.prompt)
            .find(|p| !p.trim().is_empty());
        let launch = self
            .plan_launch(
                &input,
                &id,
                &project,
                &task_ids,
                runs::LaunchFrom {
                    prompt,
                    workspace,
                    profile: known_profile,
                },
            )
            .await?;
        // The process starts before its record: its token's requests wait until the record is
        // made (`SessionTokens::starting`), so an agent that acts at once (reports, marks its
        // task done) can never be undone by the record of its own start.
        let run_id = ids::new_id("run");
        let mut started = None;
        let mut log_start = 0;
        if let Some(l) = &launch {
            let output = self.open_output(&id)?;
            log_start = output.end();
            let info = RunInfo {
                run_id: run_id.clone(),
                log_start,
                number: 1,
                task_id: task.map(|(t, _)| t.to_owned()),
                attempt: task.map(|(_, a)| a),
                started_at: now_ms(),
            };
            started = Some(
                self.start_process(&id, &project.id, l, output, info)
                    .await?,
            );
        }
        let (env, argv) = match &launch {
            Some(l) => {
                // A session id Baton made is new: its folder has no kept secrets to remove.
                let fresh = input.id.is_none();
                let dir = self.runtime.session_dir(&id);
                let shown = secret_env::keep(&dir, &l.env, &l.argv, fresh)?;
                (shown.env, shown.argv)
            }
            None => (
                self.agent_env(&input.project_id, &id, &task_ids),
                Vec::new(),
            ),
        };
        Ok(PreparedSession {
            id,
            chosen_id: input.id.is_some(),
            project_id: project.id,
            name,
            agent_id,
            task_ids,
            task: task.map(|(t, a)| (t.to_owned(), a)),
            launch,
            env,
            argv,
            run_id,
            log_start,
            started,
        })
    }

    pub async fn get_session(&self, id: &str, actor: &Actor) -> ServiceResult<Session> {
        let session = views::session_by_id(&self.db, &self.runtime, id).await?;
        actor.may_read(&session.project_id)?;
        Ok(session)
    }

    pub async fn list_sessions(
        &self,
        query: &ListSessions,
        actor: &Actor,
    ) -> ServiceResult<Vec<Session>> {
        if let Some(project_id) = &query.project_id {
            actor.may_read(project_id)?;
        }
        let mut select = session::Entity::find();
        if let Some(own) = actor.project_scope() {
            select = select.filter(session::Column::ProjectId.eq(own));
        }
        if let Some(project_id) = &query.project_id {
            select = select.filter(session::Column::ProjectId.eq(project_id.as_str()));
        }
        let status = query.status.as_deref();
        if let Some(statuses) = validate::comma_list::<SessionStatus>("status", status)? {
            select =
                select.filter(session::Column::Status.is_in(statuses.iter().map(|s| s.as_str())));
        }
        if let Some(task_id) = &query.task_id {
            let linked: Vec<String> = session_task::Entity::find()
                .filter(session_task::Column::TaskId.eq(task_id.as_str()))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|l| l.session_id)
                .collect();
            select = select.filter(session::Column::Id.is_in(linked));
        }
        let rows = select
            .order_by_asc(session::Column::CreatedAt)
            .order_by_asc(session::Column::Id)
            .all(&self.db)
            .await?;
        views::sessions(&self.db, &self.runtime, rows).await
    }

    pub async fn update_session(
        &self,
        id: &str,
        patch: SessionPatch,
        actor: &Actor,
    ) -> ServiceResult<Session> {
        let name = patch
            .name
            .as_deref()
            .map(|n| validate::required_line("name", n, validate::MAX_NAME))
            .transpose()?;
        let _lock = self.write_lock().await;
        let row = lookup::session(&self.db, id).await?;
        actor.may_write(&row.project_id)?;
        let old_status = SessionStatus::parse(&row.status).unwrap_or(SessionStatus::Interrupted);
        let now = now_ms();
        let mut active: session::ActiveModel = row.clone().into();
        if let Some(name) = name.filter(|n| *n != row.name) {
            active.name = Set(name);
        }
        let new_status = patch.status.unwrap_or(old_status);
        if patch.status.is_some() || patch.completed_at.is_some() {
            let completed_at = rules::session_transition(
                old_status,
                row.completed_at,
                new_status,
                patch.completed_at,
                now,
            )?;
            if new_status != old_status {
                active.status = Set(new_status.as_str().to_owned());
            }
            if completed_at != row.completed_at {
                active.completed_at = Set(completed_at);
            }
        }
        if !active.is_changed() {
            return views::session_by_id(&self.db, &self.runtime, id).await;
        }
        active.updated_at = Set(now);
        active.update(&self.db).await?;
        let session = views::session_by_id(&self.db, &self.runtime, id).await?;
        self.publish_all(vec![Event::SessionUpdated(session.clone())]);
        Ok(session)
    }

    /// Deletes a session, its links and its output log. A running session is refused (409)
    /// unless `force`, which stops it first.
    pub async fn delete_session(
        &self,
        id: &str,
        input: &DeleteSession,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let force = match input.force.as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(ServiceError::invalid("force", "must be true or false")),
        };
        let row = lookup::session(&self.db, id).await?;
        actor.may_write(&row.project_id)?;
        if let Some(run) = self.runtime.get(id) {
            if !force {
                return Err(ServiceError::conflict(
                    "session_running",
                    format!("session '{id}' is running; stop it first or delete with ?force=true"),
                    json!({ "status": row.status }),
                ));
            }
            self.stop_session_within(id, std::time::Duration::from_secs(1), actor)
                .await?;
            drop(run);
        }
        let _lock = self.write_lock().await;
        let txn = self.db.begin().await?;
        let session = views::session_by_id(&txn, &self.runtime, id).await?;
        let now = now_ms();
        for task_id in &session.task_ids {
            record_unlink(&txn, id, task_id, actor, now).await?;
        }
        session::Entity::delete_by_id(id.to_owned())
            .exec(&txn)
            .await?;
        let tasks = task_views_in_order(&txn, &session.task_ids).await?;
        txn.commit().await?;

        let mut events = vec![Event::SessionDeleted {
            id: id.to_owned(),
            project_id: session.project_id.clone(),
        }];
        for task in tasks {
            let link = link_of(&session, &task.id);
            events.push(Event::TaskUpdated(task));
            events.push(Event::SessionTaskRemoved(link.clone()));
            events.push(Event::TaskSessionRemoved(link));
        }
        self.publish_all(events);
        let dir = self.runtime.session_dir(id);
        if let Err(err) = std::fs::remove_dir_all(&dir) {
            if err.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(%err, path = %dir.display(), "cannot remove a session's files");
            }
        }
        Ok(())
    }

    /// Links a task to a session (409 when already linked; the task must be of the same project).
    pub async fn add_session_task(
        &self,
        session_id: &str,
        task_id: &str,
        actor: &Actor,
    ) -> ServiceResult<Session> {
        let _lock = self.write_lock().await;
        let txn = self.db.begin().await?;
        let session = lookup::session(&txn, session_id).await?;
        actor.may_write(&session.project_id)?;
        let task = lookup::task(&txn, task_id).await?;
        if task.project_id != session.project_id {
            return Err(ServiceError::invalid(
                "taskId",
                format!("task '{task_id}' belongs to another project than the session"),
            ));
        }
        if find_link(&txn, session_id, task_id).await?.is_some() {
            return Err(ServiceError::conflict(
                "already_linked",
                format!("task '{task_id}' is already in session '{session_id}'"),
                json!({ "sessionId": session_id, "taskId": task_id }),
            ));
        }
        let now = now_ms();
        link(&txn, session_id, task_id, actor, now, true).await?;
        self.finish_link_change(txn, session_id, task_id, now, true)
            .await
    }

    /// Unlinks a task from a session (404 when it was not linked).
    pub async fn remove_session_task(
        &self,
        session_id: &str,
        task_id: &str,
        actor: &Actor,
    ) -> ServiceResult<Session> {
        let _lock = self.write_lock().await;
        let txn = self.db.begin().await?;
        actor.may_write(&lookup::session(&txn, session_id).await?.project_id)?;
        lookup::task(&txn, task_id).await?;
        let Some(existing) = find_link(&txn, session_id, task_id).await? else {
            return Err(ServiceError::not_found(
                "session task link",
                format!("{session_id}/{task_id}"),
            ));
        };
        let now = now_ms();
        session_task::Entity::delete_by_id((existing.session_id, existing.task_id))
            .exec(&txn)
            .await?;
        record_unlink(&txn, session_id, task_id, actor, now).await?;
        self.finish_link_change(txn, session_id, task_id, now, false)
            .await
    }

    /// Bumps the session, commits, and publishes the four events of a link change.
    async fn finish_link_change(
        &self,
        txn: sea_orm::DatabaseTransaction,
        session_id: &str,
        task_id: &str,
        now: i64,
        added: bool,
    ) -> ServiceResult<Session> {
        session::ActiveModel {
            id: Set(session_id.to_owned()),
            updated_at: Set(now),
            ..Default::default()
        }
        .update(&txn)
        .await?;
        let session = views::session_by_id(&txn, &self.runtime, session_id).await?;
        let task = views::task_by_id(&txn, task_id).await?;
        txn.commit().await?;
        let link = link_of(&session, task_id);
        let (session_event, task_event) = if added {
            (
                Event::SessionTaskAdded(link.clone()),
                Event::TaskSessionAdded(link),
            )
        } else {
            (
                Event::SessionTaskRemoved(link.clone()),
                Event::TaskSessionRemoved(link),
            )
        };
        self.publish_all(vec![
            Event::SessionUpdated(session.clone()),
            Event::TaskUpdated(task),
            session_event,
            task_event,
        ]);
        Ok(session)
    }

    /// The environment an agent of this session gets (without its token).
    fn agent_env(
        &self,
        project_id: &str,
        session_id: &str,
        task_ids: &[String],
    ) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("BATON_API_URL".to_owned(), self.api_url.to_string()),
            ("BATON_PROJECT_ID".to_owned(), project_id.to_owned()),
            ("BATON_SESSION_ID".to_owned(), session_id.to_owned()),
            ("BATON_TASK_IDS".to_owned(), task_ids.join(",")),
        ])
    }
}

/// A session checked and started by [`Service::prepare_session`], for
/// [`Service::record_session`].
pub(super) struct PreparedSession<'a> {
    id: String,
    /// The caller chose the id (one Baton made is new).
    chosen_id: bool,
    project_id: String,
    name: String,
    agent_id: Option<String>,
    task_ids: Vec<String>,
    task: Option<(String, u32)>,
    launch: Option<runs::Launch>,
    /// As recorded: secrets kept apart.
    env: BTreeMap<String, String>,
    argv: Vec<String>,
    run_id: String,
    log_start: u64,
    started: Option<runs::Unsupervised<'a>>,
}

/// 409 when a session with `id` exists.
async fn ensure_new<C: ConnectionTrait>(conn: &C, id: &str) -> ServiceResult<()> {
    if session::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .is_some()
    {
        return Err(ServiceError::conflict(
            "already_exists",
            format!("a session with id '{id}' already exists"),
            json!({ "field": "id", "id": id }),
        ));
    }
    Ok(())
}

async fn find_link<C: ConnectionTrait>(
    conn: &C,
    session_id: &str,
    task_id: &str,
) -> ServiceResult<Option<session_task::Model>> {
    Ok(
        session_task::Entity::find_by_id((session_id.to_owned(), task_id.to_owned()))
            .one(conn)
            .await?,
    )
}

/// Inserts a link row, records it in the task's history and bumps the task (unless the caller
/// changes it anyway: `bump` false).
async fn link<C: ConnectionTrait>(
    conn: &C,
    session_id: &str,
    task_id: &str,
    actor: &Actor,
    now: i64,
    bump: bool,
) -> ServiceResult<()> {
    // Its SQL built once: every queued run's session links its task.
    static INSERT: Shapes = Shapes::new();
    let row = session_task::ActiveModel {
        session_id: Set(session_id.to_owned()),
        task_id: Set(task_id.to_owned()),
        created_at: Set(now),
    };
    crate::store::shapes::insert(&INSERT, conn, &row).await?;
    history::record(
        conn,
        history::Entry::new(task_id, "session_linked", actor, now)
            .field("sessionIds")
            .new_value(json!(session_id)),
    )
    .await?;
    if bump {
        touch(conn, task_id, now).await?;
    }
    Ok(())
}

/// Records an unlink in the task's history and bumps the task (the link row is deleted by the
/// caller, or with its session).
async fn record_unlink<C: ConnectionTrait>(
    conn: &C,
    session_id: &str,
    task_id: &str,
    actor: &Actor,
    now: i64,
) -> ServiceResult<()> {
    history::record(
        conn,
        history::Entry::new(task_id, "session_unlinked", actor, now)
            .field("sessionIds")
            .old_value(json!(session_id)),
    )
    .await?;
    touch(conn, task_id, now).await
}

async fn task_views_in_order<C: ConnectionTrait>(
    conn: &C,
    ids: &[String],
) -> ServiceResult<Vec<crate::model::Task>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(views::task_by_id(conn, id).await?);
    }
    Ok(out)
}

fn link_of(session: &Session, task_id: &str) -> Link {
    Link {
        session_id: session.id.clone(),
        task_id: task_id.to_owned(),
        project_id: session.project_id.clone(),
    }
}

fn dedup_keep_order(ids: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
}
