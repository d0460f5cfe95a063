//! Turning rows into the API shapes. Tasks and sessions carry data from link tables (tags,
//! subtasks, dependencies, session ids, task ids); those are loaded for a whole page of rows at
//! once, one query per link table, never one query per row.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::error::ServiceResult;
use super::runtime::Runtime;
use crate::model::{
    HistoryEntry, Message, Priority, Project, Session, SessionStatus, Subtask, SubtaskStatus, Task,
    TaskStatus,
};
use crate::security::redact;
use crate::store::entity::{
    message, project, session, session_task, subtask, task, task_dependency, task_history, task_tag,
};
use crate::store::json::from_text;

use super::runs::QUESTION_LINES;

pub fn project(row: project::Model) -> Project {
    Project {
        settings: from_text("project.settings", &row.settings),
        id: row.id,
        name: row.name,
        base_path: row.base_path,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

pub fn subtask(row: subtask::Model) -> Subtask {
    Subtask {
        status: SubtaskStatus::parse(&row.status).unwrap_or(SubtaskStatus::Pending),
        id: row.id,
        task_id: row.task_id,
        title: row.title,
        created_at: row.created_at,
        updated_at: row.updated_at,
        completed_at: row.completed_at,
    }
}

pub fn message(row: message::Model) -> Message {
    Message {
        parent_ids: from_text("message.parent_ids", &row.parent_ids),
        id: row.id,
        project_id: row.project_id,
        task_id: row.task_id,
        session_id: row.session_id,
        r#type: row.r#type,
        body: row.body,
        author: row.author,
        created_at: row.created_at,
    }
}

pub fn history(row: task_history::Model) -> HistoryEntry {
    let parse = |text: Option<String>| {
        text.map(|t| serde_json::from_str(&t).unwrap_or(serde_json::Value::String(t)))
    };
    HistoryEntry {
        id: row.id,
        task_id: row.task_id,
        action: row.action,
        field: row.field,
        old_value: parse(row.old_value),
        new_value: parse(row.new_value),
        actor: row.actor,
        created_at: row.created_at,
    }
}

/// Groups `(key, value)` pairs by key, keeping their order.
fn group<K: std::hash::Hash + Eq, V>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = HashMap::new();
    for (k, v) in pairs {
        map.entry(k).or_default().push(v);
    }
    map
}

/// Full task views for `rows`, in the same order.
pub async fn tasks<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<task::Model>,
) -> ServiceResult<Vec<Task>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut tags = group(
        task_tag::Entity::find()
            .filter(task_tag::Column::TaskId.is_in(ids.clone()))
            .order_by_asc(task_tag::Column::Tag)
            .all(conn)
            .await?
            .into_iter()
            .map(|r| (r.task_id, r.tag)),
    );
    let mut subtasks = group(
        subtask::Entity::find()
            .filter(subtask::Column::TaskId.is_in(ids.clone()))
            .order_by_asc(subtask::Column::Position)
            .order_by_asc(subtask::Column::Id)
            .all(conn)
            .await?
            .into_iter()
            .map(|r| (r.task_id.clone(), subtask(r))),
    );
    let mut deps = group(
        task_dependency::Entity::find()
            .filter(task_dependency::Column::TaskId.is_in(ids.clone()))
            .order_by_asc(task_dependency::Column::DependsOnId)
            .all(conn)
            .await?
            .into_iter()
            .map(|r| (r.task_id, r.depends_on_id)),
    );
    let mut executions = super::queue::executions(conn, &ids).await?;
    let mut sessions = group(
        session_task::Entity::find()
            .filter(session_task::Column::TaskId.is_in(ids))
            .order_by_asc(session_task::Column::CreatedAt)
            .order_by_asc(session_task::Column::SessionId)
            .all(conn)
            .await?
            .into_iter()
            .map(|r| (r.task_id, r.session_id)),
    );
    Ok(rows
        .into_iter()
        .map(|row| {
            let session_ids = sessions.remove(&row.id).unwrap_or_default();
            Task {
                tags: tags.remove(&row.id).unwrap_or_default(),
                subtasks: subtasks.remove(&row.id).unwrap_or_default(),
                depends_on: deps.remove(&row.id).unwrap_or_default(),
                session_count: session_ids.len(),
                session_ids,
                execution: executions.remove(&row.id),
                thread_parent: row
                    .thread_message_id
                    .clone()
                    .map(|message_id| crate::model::ThreadParent { message_id }),
                status: TaskStatus::parse(&row.status).unwrap_or(TaskStatus::Pending),
                priority: Priority::from_rank(row.priority),
                id: row.id,
                project_id: row.project_id,
                title: row.title,
                description: row.description,
                prompt: row.prompt,
                created_at: row.created_at,
                updated_at: row.updated_at,
                completed_at: row.completed_at,
            }
        })
        .collect())
}

pub async fn task_by_id<C: ConnectionTrait>(conn: &C, id: &str) -> ServiceResult<Task> {
    let row = super::lookup::task(conn, id).await?;
    Ok(tasks(conn, vec![row]).await?.remove(0))
}

/// Full session views for `rows`, in the same order.
pub async fn sessions<C: ConnectionTrait>(
    conn: &C,
    runtime: &Runtime,
    rows: Vec<session::Model>,
) -> ServiceResult<Vec<Session>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut links = group(
        session_task::Entity::find()
            .filter(session_task::Column::SessionId.is_in(ids))
            .order_by_asc(session_task::Column::CreatedAt)
            .order_by_asc(session_task::Column::TaskId)
            .all(conn)
            .await?
            .into_iter()
            .map(|r| (r.session_id, r.task_id)),
    );
    Ok(rows
        .into_iter()
        .map(|row| {
            // A running session shows its live activity and last output time.
            let run = runtime.get(&row.id);
            let last_output = run
                .as_ref()
                .map(|r| r.output.last_output_ms())
                .filter(|&t| t > 0);
            Session {
                activity: run.as_ref().map(|r| r.activity()),
                activity_source: run.as_ref().map(|r| r.activity_source()),
                permission: run.as_ref().and_then(|r| r.permission()),
                conversation_id: row.conversation_id.clone(),
                limited_until: row.limited_until.filter(|&t| t > crate::clock::now_ms()),
                waiting_since: run.as_ref().and_then(|r| r.waiting_since()),
                question: run
                    .as_ref()
                    .filter(|r| r.activity().is_waiting())
                    .map(|r| r.terminal.screen().last_lines(QUESTION_LINES))
                    .unwrap_or_default(),
                last_activity: row.last_activity.max(last_output),
                task_ids: links.remove(&row.id).unwrap_or_default(),
                command: redact::split_argv(&from_text::<Vec<String>>(
                    "session.command",
                    &row.command,
                ))
                .0,
                // Rows written before secrets were kept apart may hold them: hidden here too.
                env: redact::split_env(&from_text("session.env", &row.env)).0,
                status: SessionStatus::parse(&row.status).unwrap_or(SessionStatus::Interrupted),
                id: row.id,
                project_id: row.project_id,
                name: row.name,
                agent_id: row.agent_id,
                cwd: row.cwd,
                pid: row.pid,
                exit_code: row.exit_code,
                signal: row.signal,
                status_text: row.status_text,
                progress: row.progress,
                started_at: row.started_at,
                completed_at: row.completed_at,
                created_at: row.created_at,
                updated_at: row.updated_at,
            }
        })
        .collect())
}

pub async fn session_by_id<C: ConnectionTrait>(
    conn: &C,
    runtime: &Runtime,
    id: &str,
) -> ServiceResult<Session> {
    let row = super::lookup::session(conn, id).await?;
    Ok(sessions(conn, runtime, vec![row]).await?.remove(0))
}
