//! Finding rows by id, with the right error when they are missing: `NotFound` for the resource a
//! path names, `Invalid` (naming the field) for an id given inside a request body.

use sea_orm::{ConnectionTrait, EntityTrait};

use super::error::{ServiceError, ServiceResult};
use crate::store::entity::{message, project, session, task};

pub async fn project<C: ConnectionTrait>(conn: &C, id: &str) -> ServiceResult<project::Model> {
    project::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::not_found("project", id))
}

pub async fn task<C: ConnectionTrait>(conn: &C, id: &str) -> ServiceResult<task::Model> {
    task::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::not_found("task", id))
}

pub async fn session<C: ConnectionTrait>(conn: &C, id: &str) -> ServiceResult<session::Model> {
    session::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::not_found("session", id))
}

/// Turns a `NotFound` into an `Invalid` naming `field`: for ids that arrive in a body or query.
pub fn as_field<T>(result: ServiceResult<T>, field: &str) -> ServiceResult<T> {
    result.map_err(|err| match err {
        ServiceError::NotFound { resource, id } => {
            ServiceError::invalid(field, format!("no {resource} with id '{id}'"))
        }
        other => other,
    })
}

/// A project referenced from a body or query (`projectId`).
pub async fn project_field<C: ConnectionTrait>(
    conn: &C,
    field: &str,
    id: &str,
) -> ServiceResult<project::Model> {
    as_field(project(conn, id).await, field)
}

/// A task referenced from a body that must belong to `project_id`.
pub async fn task_in_project<C: ConnectionTrait>(
    conn: &C,
    field: &str,
    id: &str,
    project_id: &str,
) -> ServiceResult<task::Model> {
    let row = as_field(task(conn, id).await, field)?;
    if row.project_id != project_id {
        return Err(ServiceError::invalid(
            field,
            format!("task '{id}' belongs to another project"),
        ));
    }
    Ok(row)
}

/// A session referenced from a body that must belong to `project_id`.
pub async fn session_in_project<C: ConnectionTrait>(
    conn: &C,
    field: &str,
    id: &str,
    project_id: &str,
) -> ServiceResult<session::Model> {
    let row = as_field(session(conn, id).await, field)?;
    if row.project_id != project_id {
        return Err(ServiceError::invalid(
            field,
            format!("session '{id}' belongs to another project"),
        ));
    }
    Ok(row)
}

/// A message referenced from a body or query (`parentIds`, `after`).
pub async fn message_field<C: ConnectionTrait>(
    conn: &C,
    field: &str,
    id: &str,
) -> ServiceResult<message::Model> {
    use sea_orm::{ColumnTrait, QueryFilter};
    message::Entity::find()
        .filter(message::Column::Id.eq(id))
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::invalid(field, format!("no message with id '{id}'")))
}
