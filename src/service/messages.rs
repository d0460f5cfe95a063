//! The message bus: post a message to a project (optionally about a task or from a session,
//! optionally answering earlier messages) and read them back in order, resuming with `after`.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, Set,
};

use super::error::{ServiceError, ServiceResult};
use super::{ids, lookup, validate, views, Actor, Service};
use crate::clock::now_ms;
use crate::events::Event;
use crate::model::{ListMessages, Message, NewMessage};
use crate::store::entity::message;
use crate::store::json::to_text;

const DEFAULT_PAGE: u64 = 100;
const MAX_PARENTS: usize = 32;

impl Service {
    pub async fn post_message(&self, input: NewMessage, actor: &Actor) -> ServiceResult<Message> {
        let kind = validate::message_type(input.r#type.as_deref().unwrap_or("USER"))?;
        if input.body.trim().is_empty() {
            return Err(ServiceError::invalid("body", "must not be empty"));
        }
        let mut parent_ids = input.parent_ids.unwrap_or_default();
        parent_ids.dedup();
        if parent_ids.len() > MAX_PARENTS {
            return Err(ServiceError::invalid(
                "parentIds",
                format!("at most {MAX_PARENTS} parents"),
            ));
        }

        actor.may_write(&input.project_id)?;
        let _lock = self.write_lock().await;
        let project = &input.project_id;
        lookup::project_field(&self.db, "projectId", project).await?;
        if let Some(task_id) = &input.task_id {
            lookup::task_in_project(&self.db, "taskId", task_id, project).await?;
        }
        if let Some(session_id) = &input.session_id {
            lookup::session_in_project(&self.db, "sessionId", session_id, project).await?;
        }
        for parent in &parent_ids {
            let row = lookup::message_field(&self.db, "parentIds", parent).await?;
            if &row.project_id != project {
                return Err(ServiceError::invalid(
                    "parentIds",
                    format!("message '{parent}' belongs to another project"),
                ));
            }
        }
        let row = insert(
            &self.db,
            Draft {
                project_id: project.clone(),
                task_id: input.task_id,
                session_id: input.session_id,
                kind,
                body: input.body,
                parent_ids,
            },
            actor,
        )
        .await?;
        let message = views::message(row);
        self.publish_all(vec![Event::MessageCreated(message.clone())]);
        Ok(message)
    }

    /// Messages oldest first. With `after`, the `limit` messages that follow it (resume without
    /// gaps); without, the newest `limit`.
    pub async fn list_messages(
        &self,
        query: &ListMessages,
        actor: &Actor,
    ) -> ServiceResult<Vec<Message>> {
        if let Some(project_id) = &query.project_id {
            actor.may_read(project_id)?;
        }
        let limit = validate::number(
            "limit",
            query.limit.as_deref(),
            DEFAULT_PAGE,
            1,
            validate::MAX_PAGE,
        )?;
        let select = filtered(query, actor);
        let rows = match &query.after {
            Some(after) => {
                let seq = lookup::message_field(&self.db, "after", after).await?.seq;
                select
                    .filter(message::Column::Seq.gt(seq))
                    .order_by_asc(message::Column::Seq)
                    .limit(limit)
                    .all(&self.db)
                    .await?
            }
            None => {
                let mut newest = select
                    .order_by_desc(message::Column::Seq)
                    .limit(limit)
                    .all(&self.db)
                    .await?;
                newest.reverse();
                newest
            }
        };
        Ok(rows.into_iter().map(views::message).collect())
    }
}

/// The messages `query` and `actor` may see, in no particular order.
pub(super) fn filtered(query: &ListMessages, actor: &Actor) -> Select<message::Entity> {
    let mut select = message::Entity::find();
    if let Some(own) = actor.project_scope() {
        select = select.filter(message::Column::ProjectId.eq(own));
    }
    if let Some(project_id) = &query.project_id {
        select = select.filter(message::Column::ProjectId.eq(project_id.as_str()));
    }
    if let Some(task_id) = &query.task_id {
        select = select.filter(message::Column::TaskId.eq(task_id.as_str()));
    }
    if let Some(session_id) = &query.session_id {
        select = select.filter(message::Column::SessionId.eq(session_id.as_str()));
    }
    select
}

/// The same test as [`filtered`], on a message just published.
pub(super) fn visible(query: &ListMessages, actor: &Actor, m: &Message) -> bool {
    let same = |want: &Option<String>, have: Option<&String>| {
        want.as_ref().is_none_or(|w| have == Some(w))
    };
    actor.project_scope().is_none_or(|own| own == m.project_id)
        && same(&query.project_id, Some(&m.project_id))
        && same(&query.task_id, m.task_id.as_ref())
        && same(&query.session_id, m.session_id.as_ref())
}

/// A checked message, ready to be written.
pub(super) struct Draft {
    pub project_id: String,
    pub task_id: Option<String>,
    pub session_id: Option<String>,
    pub kind: String,
    pub body: String,
    pub parent_ids: Vec<String>,
}

/// Writes a checked message (inside the caller's transaction, if any).
pub(super) async fn insert<C: ConnectionTrait>(
    conn: &C,
    draft: Draft,
    actor: &Actor,
) -> ServiceResult<message::Model> {
    Ok(message::ActiveModel {
        id: Set(ids::new_id("msg")),
        project_id: Set(draft.project_id),
        task_id: Set(draft.task_id),
        session_id: Set(draft.session_id),
        r#type: Set(draft.kind),
        body: Set(draft.body),
        parent_ids: Set(to_text(&draft.parent_ids)),
        author: Set(actor.to_string()),
        created_at: Set(now_ms()),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}
