//! Run rows: opened when a process starts (its number in the session, the log offset it starts
//! at), closed when it ends (exit, reason, the log offset it ended at); read back by session, by
//! task and by id, with the output each one wrote.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};

use super::super::error::{ServiceError, ServiceResult};
use super::super::{lookup, Actor, Service};
use crate::clock::now_ms;
use crate::model::{EndReason, Run};
use crate::store::entity::{run, session, session_task};
use crate::store::shapes::{self, Shapes};

/// What a run row needs when it opens.
pub struct Opening<'a> {
    /// Made before the process starts (it carries it).
    pub id: String,
    pub session_id: &'a str,
    pub task_id: Option<&'a str>,
    pub attempt: Option<u32>,
    pub log_start: u64,
    /// When its process started (Unix ms; [`RunInfo::started_at`]).
    pub started_at: i64,
    /// A new session's first run is number 1 without asking the database.
    pub first: bool,
}

/// Inserts the session's next run (number n + 1).
pub async fn open<C: ConnectionTrait>(conn: &C, opening: Opening<'_>) -> ServiceResult<run::Model> {
    let last = if opening.first {
        0
    } else {
        run::Entity::find()
            .filter(run::Column::SessionId.eq(opening.session_id))
            .order_by_desc(run::Column::Number)
            .limit(1)
            .one(conn)
            .await?
            .map_or(0, |r| r.number)
    };
    let at = opening.started_at;
    let row = run::Model {
        id: opening.id,
        session_id: opening.session_id.to_owned(),
        task_id: opening.task_id.map(str::to_owned),
        number: last + 1,
        attempt: opening.attempt.map(|a| a as i32),
        started_at: at,
        ended_at: None,
        exit_code: None,
        signal: None,
        end_reason: None,
        log_start: opening.log_start as i64,
        log_end: None,
        created_at: at,
        updated_at: at,
    };
    // Written as it is: nothing to read back (no `RETURNING`); its SQL built once.
    static INSERT: Shapes = Shapes::new();
    shapes::insert(&INSERT, conn, &run::ActiveModel::from(row.clone())).await?;
    Ok(row)
}

/// How a run ended.
pub struct Closing {
    pub reason: EndReason,
    pub code: Option<i32>,
    pub signal: Option<String>,
    pub log_end: u64,
}

/// Records the end of run `id` (once: an ended run stays as it ended), in one statement; whether
/// it was open. Its SQL is built once (`store::shapes`): this runs at the end of every run.
pub async fn close<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    closing: &Closing,
    now: i64,
) -> ServiceResult<bool> {
    static CLOSE: Shapes = Shapes::new();
    let backend = conn.get_database_backend();
    let values = vec![
        now.into(),
        closing.code.into(),
        closing.signal.clone().into(),
        closing.reason.as_str().into(),
        (closing.log_end as i64).into(),
        id.into(),
    ];
    let stmt = CLOSE.with_values(backend, values, |v| {
        run::Entity::update_many()
            .col_expr(run::Column::EndedAt, Expr::value(v[0].clone()))
            .col_expr(run::Column::ExitCode, Expr::value(v[1].clone()))
            .col_expr(run::Column::Signal, Expr::value(v[2].clone()))
            .col_expr(run::Column::EndReason, Expr::value(v[3].clone()))
            .col_expr(run::Column::LogEnd, Expr::value(v[4].clone()))
            .col_expr(run::Column::UpdatedAt, Expr::value(v[0].clone()))
            .filter(run::Column::Id.eq(v[5].clone()))
            .filter(run::Column::EndedAt.is_null())
            .build(backend)
    });
    Ok(conn.execute_raw(stmt).await?.rows_affected() > 0)
}

/// Records the end of `run`, whose row it opened ([`close`]); the row as it is now is built
/// from what the run knows instead of read back (a run's row changes only when it opens and
/// closes). Read only when the run had ended already, or is gone.
pub async fn close_run<C: ConnectionTrait>(
    conn: &C,
    run: &crate::service::runtime::Run,
    closing: Closing,
) -> ServiceResult<Option<run::Model>> {
    let now = now_ms();
    let info = &run.info;
    if !close(conn, &info.run_id, &closing, now).await? {
        return Ok(run::Entity::find_by_id(info.run_id.clone())
            .one(conn)
            .await?);
    }
    Ok(Some(run::Model {
        id: info.run_id.clone(),
        session_id: run.session_id.clone(),
        task_id: info.task_id.clone(),
        number: info.number as i32,
        attempt: info.attempt.map(|a| a as i32),
        started_at: info.started_at,
        ended_at: Some(now),
        exit_code: closing.code,
        signal: closing.signal,
        end_reason: Some(closing.reason.as_str().to_owned()),
        log_start: info.log_start as i64,
        log_end: Some(closing.log_end as i64),
        created_at: info.started_at,
        updated_at: now,
    }))
}

pub fn view(row: run::Model, project_id: &str) -> Run {
    Run {
        id: row.id,
        session_id: row.session_id,
        project_id: project_id.to_owned(),
        task_id: row.task_id,
        number: row.number.max(0) as u32,
        attempt: row.attempt.map(|a| a.max(0) as u32),
        started_at: row.started_at,
        ended_at: row.ended_at,
        exit_code: row.exit_code,
        signal: row.signal,
        end_reason: row.end_reason.as_deref().and_then(EndReason::parse),
        log_start: row.log_start.max(0) as u64,
        log_end: row.log_end.map(|e| e.max(0) as u64),
    }
}

/// The most output one request reads.
pub const MAX_OUTPUT: u64 = 16 * 1024 * 1024;

impl Service {
    pub async fn list_session_runs(
        &self,
        session_id: &str,
        actor: &Actor,
    ) -> ServiceResult<Vec<Run>> {
        let session = lookup::session(&self.db, session_id).await?;
        actor.may_read(&session.project_id)?;
        let rows = run::Entity::find()
            .filter(run::Column::SessionId.eq(session_id))
            .order_by_asc(run::Column::Number)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| view(r, &session.project_id))
            .collect())
    }

    pub async fn list_task_runs(&self, task_id: &str, actor: &Actor) -> ServiceResult<Vec<Run>> {
        let task = lookup::task(&self.db, task_id).await?;
        actor.may_read(&task.project_id)?;
        // The queue's runs for it, and the runs of the sessions linked to it (started by hand).
        let linked: Vec<String> = session_task::Entity::find()
            .filter(session_task::Column::TaskId.eq(task_id))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|l| l.session_id)
            .collect();
        let rows = run::Entity::find()
            .filter(
                Condition::any()
                    .add(run::Column::TaskId.eq(task_id))
                    .add(run::Column::SessionId.is_in(linked)),
            )
            .order_by_asc(run::Column::StartedAt)
            .order_by_asc(run::Column::Id)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| view(r, &task.project_id))
            .collect())
    }

    pub async fn get_run(&self, id: &str, actor: &Actor) -> ServiceResult<Run> {
        let row = run::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .ok_or_else(|| ServiceError::not_found("run", id))?;
        let project_id = session::Entity::find_by_id(row.session_id.clone())
            .one(&self.db)
            .await?
            .map(|s| s.project_id)
            .ok_or_else(|| ServiceError::not_found("run", id))?;
        actor.may_read(&project_id)?;
        Ok(view(row, &project_id))
    }

    /// The bytes run `id` wrote to its session's log (up to now, while it runs), at most
    /// [`MAX_OUTPUT`] from its start.
    pub async fn run_output(&self, id: &str, actor: &Actor) -> ServiceResult<(Run, Vec<u8>)> {
        let run = self.get_run(id, actor).await?;
        let output = self.session_output(&run.session_id)?;
        let end = run.log_end.unwrap_or_else(|| output.end());
        let len = end.saturating_sub(run.log_start).min(MAX_OUTPUT);
        let bytes = output
            .read(run.log_start, len)
            .map_err(|e| ServiceError::Unavailable(format!("cannot read the session log: {e}")))?;
        Ok((run, bytes))
    }
}
