//! Turning rows into the API shapes. Tasks and sessions carry data from link tables (tags,
//! subtasks, dependencies, session ids, task ids); those are loaded for a whole page of rows at
//! once, one query per link table, never one query per row.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, Func, Query, UnionType};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::error::ServiceResult;
use super::runtime::Runtime;
use crate::model::{
    HistoryEntry, Message, Priority, Project, Session, SessionStatus, Subtask, SubtaskStatus, Task,
    TaskStatus,
};
use crate::security::redact;
use crate::store::entity::{
    message, project, session, session_task, subtask, task, task_dependency, task_execution,
    task_history, task_tag,
};
use crate::store::json::from_text;
use crate::store::shapes::Shapes;

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
    tasks_with(conn, rows, None).await
}

/// The full view of task `row` whose execution row is known (just written, say): one query
/// fewer than [`task_by_id`], two fewer with the row.
pub async fn task_with<C: ConnectionTrait>(
    conn: &C,
    row: task::Model,
    execution: task_execution::Model,
) -> ServiceResult<Task> {
    Ok(tasks_with(conn, vec![row], Some(vec![execution]))
        .await?
        .remove(0))
}

/// Full task views for `rows` whose execution rows are known (just written), in the same order:
/// one query for all of them (a batch of the queue's starts or ends).
pub async fn tasks_with_executions<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<(task::Model, task_execution::Model)>,
) -> ServiceResult<Vec<Task>> {
    let (rows, executions) = rows.into_iter().unzip();
    tasks_with(conn, rows, Some(executions)).await
}

/// Full task views for `rows`; their executions are read unless given.
async fn tasks_with<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<task::Model>,
    executions: Option<Vec<task_execution::Model>>,
) -> ServiceResult<Vec<Task>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let TaskLinks {
        mut tags,
        mut subtasks,
        mut deps,
        mut sessions,
    } = task_links(conn, &ids).await?;
    let mut executions = match executions {
        Some(rows) => super::queue::execution_views(conn, rows).await?,
        None => super::queue::executions(conn, &ids).await?,
    };
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

/// What tasks carry from their link tables, each list in the order the task shows it.
struct TaskLinks {
    tags: HashMap<String, Vec<String>>,
    subtasks: HashMap<String, Vec<Subtask>>,
    deps: HashMap<String, Vec<String>>,
    sessions: HashMap<String, Vec<String>>,
}

/// The tags, subtasks, dependencies and sessions of tasks `ids`, in one query (a `UNION ALL`
/// of the four tables in common columns): a task's view is built under the write lock at every
/// start and end of the queue's runs, so its round trips count.
async fn task_links<C: ConnectionTrait>(conn: &C, ids: &[String]) -> ServiceResult<TaskLinks> {
    // Built once for each number of ids (`store::shapes`): building the union cost as much as
    // running it.
    static LINKS: Shapes = Shapes::new();
    let backend = conn.get_database_backend();
    let stmt = LINKS.statement(backend, ids, |ids| backend.build(&links_query(ids)));
    let rows = conn.query_all_raw(stmt).await?;
    let mut tag_rows = Vec::new();
    let mut subtask_rows = Vec::new();
    let mut dep_rows = Vec::new();
    let mut session_rows = Vec::new();
    for row in rows {
        let kind: i64 = row.try_get("", "kind")?;
        let task_id: String = row.try_get("", "task_id")?;
        let key = row.try_get::<Option<i64>>("", "k")?.unwrap_or(0);
        let a: String = row.try_get("", "a")?;
        match kind {
            0 => tag_rows.push((task_id, a)),
            1 => subtask_rows.push(subtask::Model {
                id: a,
                task_id,
                title: row.try_get("", "b")?,
                status: row.try_get("", "c")?,
                position: key as i32,
                created_at: row.try_get::<Option<i64>>("", "n1")?.unwrap_or(0),
                updated_at: row.try_get::<Option<i64>>("", "n2")?.unwrap_or(0),
                completed_at: row.try_get("", "n3")?,
            }),
            2 => dep_rows.push((task_id, a)),
            _ => session_rows.push((task_id, key, a)),
        }
    }
    // Each list in the order the task shows it (as the four queries' ORDER BY did).
    tag_rows.sort();
    dep_rows.sort();
    session_rows.sort();
    subtask_rows
        .sort_by(|x, y| (&x.task_id, x.position, &x.id).cmp(&(&y.task_id, y.position, &y.id)));
    Ok(TaskLinks {
        tags: group(tag_rows),
        subtasks: group(
            subtask_rows
                .into_iter()
                .map(|r| (r.task_id.clone(), subtask(r))),
        ),
        deps: group(dep_rows),
        sessions: group(session_rows.into_iter().map(|(t, _, s)| (t, s))),
    })
}

/// [`task_links`]' query for tasks `ids`: a `UNION ALL` of the four tables in common columns.
fn links_query(ids: &[String]) -> sea_orm::sea_query::SelectStatement {
    let tags = link_part(
        0,
        task_tag::Entity,
        task_tag::Column::TaskId,
        [("a", task_tag::Column::Tag.into_expr())],
        ids,
    );
    let subtasks = link_part(
        1,
        subtask::Entity,
        subtask::Column::TaskId,
        [
            ("k", subtask::Column::Position.into_expr()),
            ("a", subtask::Column::Id.into_expr()),
            ("b", subtask::Column::Title.into_expr()),
            ("c", subtask::Column::Status.into_expr()),
            ("n1", subtask::Column::CreatedAt.into_expr()),
            ("n2", subtask::Column::UpdatedAt.into_expr()),
            ("n3", subtask::Column::CompletedAt.into_expr()),
        ],
        ids,
    );
    let deps = link_part(
        2,
        task_dependency::Entity,
        task_dependency::Column::TaskId,
        [("a", task_dependency::Column::DependsOnId.into_expr())],
        ids,
    );
    let sessions = link_part(
        3,
        session_task::Entity,
        session_task::Column::TaskId,
        [
            ("k", session_task::Column::CreatedAt.into_expr()),
            ("a", session_task::Column::SessionId.into_expr()),
        ],
        ids,
    );
    tags.to_owned()
        .union(UnionType::All, subtasks)
        .union(UnionType::All, deps)
        .union(UnionType::All, sessions)
        .to_owned()
}

/// The columns of [`task_links`]' union after the kind and the task id, with their types: `k` (a
/// number key), `a` (a text key), `b`, `c` (texts), `n1`–`n3` (numbers).
const LINK_COLUMNS: [(&str, &str); 7] = [
    ("k", "BIGINT"),
    ("a", "TEXT"),
    ("b", "TEXT"),
    ("c", "TEXT"),
    ("n1", "BIGINT"),
    ("n2", "BIGINT"),
    ("n3", "BIGINT"),
];

/// One part of [`task_links`]' union: `kind`, then the rows of `table` for tasks `ids` in the
/// common columns, those it has (`columns`, by name) cast to the column's type and the others a
/// NULL of that type (PostgreSQL needs the types of a union's parts to match).
fn link_part<const N: usize>(
    kind: u8,
    table: impl sea_orm::sea_query::IntoTableRef,
    task_id: impl ColumnTrait,
    columns: [(&str, Expr); N],
    ids: &[String],
) -> sea_orm::sea_query::SelectStatement {
    let mut given: HashMap<&str, Expr> = columns.into_iter().collect();
    let mut select = Query::select();
    select
        .expr_as(Expr::cust(format!("CAST({kind} AS BIGINT)")), "kind")
        .expr_as(task_id.into_expr(), "task_id");
    for (name, sql_type) in LINK_COLUMNS {
        let column = match given.remove(name) {
            Some(expr) => Func::cast_as(expr, sql_type).into(),
            None => Expr::cust(format!("CAST(NULL AS {sql_type})")),
        };
        select.expr_as(column, name);
    }
    debug_assert!(
        given.is_empty(),
        "a column outside LINK_COLUMNS: {:?}",
        given.keys()
    );
    select
        .from(table)
        .and_where(task_id.is_in(ids.iter().cloned()))
        .to_owned()
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
    let mut links = tasks_of_sessions(conn, ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let task_ids = links.remove(&row.id).unwrap_or_default();
            session_with(runtime, row, task_ids)
        })
        .collect())
}

/// The ids of the tasks linked to each of sessions `ids`, in the order a session shows them.
pub async fn tasks_of_sessions<C: ConnectionTrait>(
    conn: &C,
    ids: Vec<String>,
) -> ServiceResult<HashMap<String, Vec<String>>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(group(
        session_task::Entity::find()
            .filter(session_task::Column::SessionId.is_in(ids))
            .order_by_asc(session_task::Column::CreatedAt)
            .order_by_asc(session_task::Column::TaskId)
            .all(conn)
            .await?
            .into_iter()
            .map(|r| (r.session_id, r.task_id)),
    ))
}

/// The ids of the tasks linked to session `session_id`, in the order the session shows them.
pub async fn tasks_of_session<C: ConnectionTrait>(
    conn: &C,
    session_id: &str,
) -> ServiceResult<Vec<String>> {
    let mut links = tasks_of_sessions(conn, vec![session_id.to_owned()]).await?;
    Ok(links.remove(session_id).unwrap_or_default())
}

/// The view of session `row` linked to `task_ids` (in link order): no query.
pub fn session_with(runtime: &Runtime, row: session::Model, task_ids: Vec<String>) -> Session {
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
        task_ids,
        command: redact::split_argv(&from_text::<Vec<String>>("session.command", &row.command)).0,
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
}

pub async fn session_by_id<C: ConnectionTrait>(
    conn: &C,
    runtime: &Runtime,
    id: &str,
) -> ServiceResult<Session> {
    let row = super::lookup::session(conn, id).await?;
    Ok(sessions(conn, runtime, vec![row]).await?.remove(0))
}
