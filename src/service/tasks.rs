//! Tasks: create, get, list (filters, search, sorting, paging), partial update, delete. Every
//! change is recorded in the task's history.

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde_json::json;
use std::sync::{Arc, OnceLock};

use super::error::{ServiceError, ServiceResult};
use super::{dependencies, history, ids, lookup, rules, validate, views, Actor, Service};
use crate::clock::now_ms;
use crate::events::Event;
use crate::model::{
    ListTasks, NewTask, Priority, SortField, SortOrder, Task, TaskPatch, TaskStatus,
};
use crate::store::entity::{
    message, session, session_task, task, task_dependency, task_execution, task_tag,
};

/// One page of the task list, as the service answers it (and keeps it until the next change).
pub struct TaskPage {
    pub tasks: Vec<Task>,
    /// Tasks matching the filters, before paging.
    pub total: u64,
    json: OnceLock<bytes::Bytes>,
}

impl TaskPage {
    /// The tasks as a JSON array, made once per page.
    pub fn json(&self) -> bytes::Bytes {
        self.json
            .get_or_init(|| serde_json::to_vec(&self.tasks).unwrap_or_default().into())
            .clone()
    }
}

impl Service {
    pub async fn create_task(&self, input: NewTask, actor: &Actor) -> ServiceResult<Task> {
        let title = validate::required_line("title", &input.title, validate::MAX_TITLE)?;
        let tags = validate::tags(input.tags.as_deref().unwrap_or_default())?;
        let status = input.status.unwrap_or(TaskStatus::Pending);
        let priority = input.priority.unwrap_or(Priority::Medium);
        let mut depends_on = input.depends_on.unwrap_or_default();
        depends_on.sort();
        depends_on.dedup();

        actor.may_write(&input.project_id)?;
        let _lock = self.write_lock().await;
        let txn = self.db.begin().await?;
        lookup::project_field(&txn, "projectId", &input.project_id).await?;
        for dep in &depends_on {
            lookup::task_in_project(&txn, "dependsOn", dep, &input.project_id).await?;
        }
        let thread = match &input.thread_parent {
            Some(parent) => Some(thread_parent(&txn, &input.project_id, &parent.message_id).await?),
            None => None,
        };
        let now = now_ms();
        let id = ids::new_id("task");
        task::ActiveModel {
            id: Set(id.clone()),
            project_id: Set(input.project_id.clone()),
            title: Set(title.clone()),
            description: Set(input.description.unwrap_or_default()),
            prompt: Set(input.prompt.unwrap_or_default()),
            status: Set(status.as_str().to_owned()),
            priority: Set(priority.rank()),
            completed_at: Set((status == TaskStatus::Completed).then_some(now)),
            thread_message_id: Set(thread.as_ref().map(|m| m.id.clone())),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        insert_tags(&txn, &id, &tags).await?;
        // The back-link: a reply in the message's thread, about the new task.
        let reply = match &thread {
            Some(parent) => Some(
                super::messages::insert(
                    &txn,
                    super::messages::Draft {
                        project_id: input.project_id.clone(),
                        task_id: Some(id.clone()),
                        session_id: None,
                        kind: "FACT".into(),
                        body: format!("Follow-up task created: {title} ({id})"),
                        parent_ids: vec![parent.id.clone()],
                    },
                    actor,
                )
                .await?,
            ),
            None => None,
        };
        dependencies::insert(&txn, &id, &depends_on, now).await?;
        history::record(
            &txn,
            history::Entry::new(&id, "created", actor, now).new_value(json!(title)),
        )
        .await?;
        let task = views::task_by_id(&txn, &id).await?;
        txn.commit().await?;
        let mut events = vec![Event::TaskCreated(task.clone())];
        events.extend(reply.map(|m| Event::MessageCreated(views::message(m))));
        self.publish_all(events);
        Ok(task)
    }

    pub async fn get_task(&self, id: &str, actor: &Actor) -> ServiceResult<Task> {
        let task = views::task_by_id(&self.db, id).await?;
        actor.may_read(&task.project_id)?;
        Ok(task)
    }

    /// One page of tasks and the total number that match the filters.
    pub async fn list_tasks(
        &self,
        query: &ListTasks,
        actor: &Actor,
    ) -> ServiceResult<Arc<TaskPage>> {
        if let Some(project_id) = &query.project_id {
            actor.may_read(project_id)?;
        }
        let mut select = task::Entity::find();
        if let Some(own) = actor.project_scope() {
            select = select.filter(task::Column::ProjectId.eq(own));
        }
        if let Some(project_id) = &query.project_id {
            select = select.filter(task::Column::ProjectId.eq(project_id.as_str()));
        }
        let status = query.status.as_deref();
        if let Some(statuses) = validate::comma_list::<TaskStatus>("status", status)? {
            select = select.filter(task::Column::Status.is_in(statuses.iter().map(|s| s.as_str())));
        }
        let priority = query.priority.as_deref();
        if let Some(priorities) = validate::comma_list::<Priority>("priority", priority)? {
            select =
                select.filter(task::Column::Priority.is_in(priorities.iter().map(|p| p.rank())));
        }
        if let Some(tag) = &query.tag {
            select = select.filter(
                task::Column::Id.in_subquery(
                    Query::select()
                        .column(task_tag::Column::TaskId)
                        .from(task_tag::Entity)
                        .and_where(task_tag::Column::Tag.eq(tag.trim()))
                        .take(),
                ),
            );
        }
        if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
            let mut any = Condition::any();
            for column in [
                task::Column::Title,
                task::Column::Description,
                task::Column::Prompt,
            ] {
                any = any.add(
                    Expr::expr(Func::lower(Expr::col(column)))
                        .like(LikeExpr::new(pattern.clone()).escape('\\')),
                );
            }
            select = select.filter(any);
        }
        let sort = match query.sort.as_deref() {
            None => SortField::CreatedAt,
            Some("createdAt") => SortField::CreatedAt,
            Some("updatedAt") => SortField::UpdatedAt,
            Some("priority") => SortField::Priority,
            Some("title") => SortField::Title,
            Some(_) => {
                return Err(ServiceError::invalid(
                    "sort",
                    "must be one of createdAt, updatedAt, priority, title",
                ))
            }
        };
        let order = match query.order.as_deref() {
            None | Some("asc") => SortOrder::Asc,
            Some("desc") => SortOrder::Desc,
            Some(_) => return Err(ServiceError::invalid("order", "must be asc or desc")),
        };
        let limit = validate::number(
            "limit",
            query.limit.as_deref(),
            validate::MAX_PAGE,
            1,
            validate::MAX_PAGE,
        )?;
        let offset = validate::number("offset", query.offset.as_deref(), 0, 0, i64::MAX as u64)?;

        // Checked and allowed: an answer computed since the last change will do. Agents see
        // their own project only, so the caller's scope is part of the question.
        let version = self.bus.version();
        let key = format!("{:?}|{query:?}", actor.project_scope());
        if let Some(page) = self.task_lists.get(&key, version) {
            return Ok(page);
        }
        let total = select.clone().count(&self.db).await?;
        let order = match order {
            SortOrder::Asc => Order::Asc,
            SortOrder::Desc => Order::Desc,
        };
        select = match sort {
            SortField::CreatedAt => select.order_by(task::Column::CreatedAt, order.clone()),
            SortField::UpdatedAt => select.order_by(task::Column::UpdatedAt, order.clone()),
            SortField::Priority => select.order_by(task::Column::Priority, order.clone()),
            SortField::Title => select.order_by(
                Expr::expr(Func::lower(Expr::col(task::Column::Title))),
                order.clone(),
            ),
        };
        // Ids are time-ordered: a stable tie-break in the same direction.
        let rows = select
            .order_by(task::Column::Id, order)
            .limit(limit)
            .offset(offset)
            .all(&self.db)
            .await?;
        let page = Arc::new(TaskPage {
            tasks: views::tasks(&self.db, rows).await?,
            total,
            json: OnceLock::new(),
        });
        self.task_lists.put(key, version, page.clone());
        Ok(page)
    }

    /// Applies the fields present in `patch`. A patch that changes nothing returns the task as it
    /// is, with no event and no history.
    pub async fn update_task(
        &self,
        id: &str,
        patch: TaskPatch,
        actor: &Actor,
    ) -> ServiceResult<Task> {
        let title = patch
            .title
            .as_deref()
            .map(|t| validate::required_line("title", t, validate::MAX_TITLE))
            .transpose()?;
        let tags = patch.tags.as_deref().map(validate::tags).transpose()?;

        let _lock = self.write_lock().await;
        let txn = self.db.begin().await?;
        let before = views::task_by_id(&txn, id).await?;
        actor.may_write(&before.project_id)?;
        let now = now_ms();
        let mut after = before.clone();
        if let Some(title) = title {
            after.title = title;
        }
        if let Some(description) = patch.description {
            after.description = description;
        }
        if let Some(prompt) = patch.prompt {
            after.prompt = prompt;
        }
        if let Some(priority) = patch.priority {
            after.priority = priority;
        }
        if let Some(tags) = tags {
            after.tags = tags;
        }
        after.status = patch.status.unwrap_or(before.status);
        after.completed_at = rules::task_completed_at(
            before.status,
            before.completed_at,
            after.status,
            patch.completed_at,
            now,
        )?;
        let changes = rules::task_changes(&before, &after);
        if changes.is_empty() {
            return Ok(before);
        }
        task::ActiveModel {
            id: Set(id.to_owned()),
            title: Set(after.title.clone()),
            description: Set(after.description.clone()),
            prompt: Set(after.prompt.clone()),
            status: Set(after.status.as_str().to_owned()),
            priority: Set(after.priority.rank()),
            completed_at: Set(after.completed_at),
            updated_at: Set(now),
            ..Default::default()
        }
        .update(&txn)
        .await?;
        if after.status != before.status {
            super::queue::follow_status(&txn, id, after.status, now).await?;
        }
        if after.priority != before.priority {
            super::queue::follow_priority(&txn, id, after.priority).await?;
        }
        if after.tags != before.tags {
            task_tag::Entity::delete_many()
                .filter(task_tag::Column::TaskId.eq(id))
                .exec(&txn)
                .await?;
            insert_tags(&txn, id, &after.tags).await?;
        }
        for change in changes {
            history::record(
                &txn,
                history::Entry::new(id, "updated", actor, now)
                    .field(change.field)
                    .old_value(change.old)
                    .new_value(change.new),
            )
            .await?;
        }
        let task = views::task_by_id(&txn, id).await?;
        txn.commit().await?;
        self.publish_all(vec![Event::TaskUpdated(task.clone())]);
        if after.status != before.status {
            // Done tasks let their dependents start; a task moved out of the queue leaves it.
            self.wake_queue();
        }
        Ok(task)
    }

    /// Deletes a task with its subtasks, links and history. Events: `task:deleted`, then
    /// `session:updated` for each session that had it, then `task:updated` for each task that
    /// depended on it (its `dependsOn` shrank).
    pub async fn delete_task(&self, id: &str, actor: &Actor) -> ServiceResult<()> {
        let _lock = self.write_lock().await;
        let txn = self.db.begin().await?;
        let row = lookup::task(&txn, id).await?;
        actor.may_write(&row.project_id)?;
        // Its worktree would be forgotten with it (folder and branch left behind, unseen).
        if let Some(ws) = crate::store::entity::workspace::Entity::find_by_id(id)
            .one(&txn)
            .await?
        {
            return Err(ServiceError::conflict(
                "has_workspace",
                format!(
                    "the task has its own worktree on {}: archive it or remove it first",
                    ws.branch
                ),
                json!({ "branch": ws.branch, "path": ws.path }),
            ));
        }
        let session_ids: Vec<String> = session_task::Entity::find()
            .filter(session_task::Column::TaskId.eq(id))
            .order_by_asc(session_task::Column::CreatedAt)
            .all(&txn)
            .await?
            .into_iter()
            .map(|l| l.session_id)
            .collect();
        let dependents: Vec<String> = task_dependency::Entity::find()
            .filter(task_dependency::Column::DependsOnId.eq(id))
            .order_by_asc(task_dependency::Column::TaskId)
            .all(&txn)
            .await?
            .into_iter()
            .map(|d| d.task_id)
            .collect();
        let now = now_ms();
        for dependent in &dependents {
            history::record(
                &txn,
                history::Entry::new(dependent, "dependency_deleted", actor, now)
                    .field("dependsOn")
                    .old_value(json!(id)),
            )
            .await?;
            touch(&txn, dependent, now).await?;
        }
        task::Entity::delete_by_id(id.to_owned()).exec(&txn).await?;
        // Out of the queue too (a run it had goes on in its session, as the task's no more).
        task_execution::Entity::delete_by_id(id.to_owned())
            .exec(&txn)
            .await?;
        let sessions = views::sessions(
            &txn,
            &self.runtime,
            session::Entity::find()
                .filter(session::Column::Id.is_in(session_ids.clone()))
                .all(&txn)
                .await?,
        )
        .await?;
        let dependents = views::tasks(
            &txn,
            task::Entity::find()
                .filter(task::Column::Id.is_in(dependents))
                .order_by_asc(task::Column::Id)
                .all(&txn)
                .await?,
        )
        .await?;
        txn.commit().await?;

        let mut events = vec![Event::TaskDeleted {
            id: id.to_owned(),
            project_id: row.project_id,
        }];
        // In the order the sessions were linked.
        for sid in &session_ids {
            if let Some(s) = sessions.iter().find(|s| &s.id == sid) {
                events.push(Event::SessionUpdated(s.clone()));
            }
        }
        events.extend(dependents.into_iter().map(Event::TaskUpdated));
        self.publish_all(events);
        self.wake_queue();
        Ok(())
    }
}

async fn insert_tags<C: ConnectionTrait>(
    conn: &C,
    task_id: &str,
    tags: &[String],
) -> ServiceResult<()> {
    for tag in tags {
        task_tag::ActiveModel {
            task_id: Set(task_id.to_owned()),
            tag: Set(tag.clone()),
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}

/// Sets a task's `updatedAt` (a change to its subtasks, dependencies or sessions).
pub(super) async fn touch<C: ConnectionTrait>(
    conn: &C,
    task_id: &str,
    now: i64,
) -> ServiceResult<()> {
    task::ActiveModel {
        id: Set(task_id.to_owned()),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(conn)
    .await?;
    Ok(())
}

/// The message a follow-up task answers: a `QUESTION` or `FACT` of the same project.
async fn thread_parent<C: ConnectionTrait>(
    conn: &C,
    project_id: &str,
    message_id: &str,
) -> ServiceResult<message::Model> {
    const FIELD: &str = "threadParent.messageId";
    let row = lookup::message_field(conn, FIELD, message_id).await?;
    if row.project_id != project_id {
        return Err(ServiceError::invalid(
            FIELD,
            format!("message '{message_id}' belongs to another project"),
        ));
    }
    if !matches!(row.r#type.as_str(), "QUESTION" | "FACT") {
        return Err(ServiceError::invalid(
            FIELD,
            format!("must be a QUESTION or FACT message, not {}", row.r#type),
        ));
    }
    Ok(row)
}

/// Escapes `%`, `_` and `\` so that user text matches literally inside a `LIKE … ESCAPE '\'`.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_in_user_text_are_escaped() {
        assert_eq!(super::escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }
}
