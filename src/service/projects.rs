//! Projects: create, list, get, update, delete (refused while sessions run in it).

use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use serde_json::json;

use super::access::Admin;
use super::error::{ServiceError, ServiceResult};
use super::{ids, lookup, validate, views, Actor, Service};
use crate::clock::now_ms;
use crate::events::Event;
use crate::model::{NewProject, Project, ProjectPatch, SessionStatus};
use crate::store::entity::{project, session};
use crate::store::json::to_text;

impl Service {
    pub async fn create_project(&self, input: NewProject, actor: &Actor) -> ServiceResult<Project> {
        actor.may_administer(Admin::Projects)?;
        let name = validate::required_line("name", &input.name, validate::MAX_NAME)?;
        let base_path = input
            .base_path
            .as_deref()
            .map(validate::base_path)
            .transpose()?;
        if let Some(settings) = &input.settings {
            check_settings(settings)?;
        }
        let now = now_ms();
        let row = project::ActiveModel {
            id: Set(ids::new_id("proj")),
            name: Set(name),
            base_path: Set(base_path),
            settings: Set(to_text(&input.settings.unwrap_or_default())),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let _lock = self.write_lock().await;
        let row = row.insert(&self.db).await?;
        let project = views::project(row);
        self.publish_all(vec![Event::ProjectCreated(project.clone())]);
        Ok(project)
    }

    pub async fn list_projects(&self, actor: &Actor) -> ServiceResult<Vec<Project>> {
        let mut select = project::Entity::find();
        if let Some(own) = actor.project_scope() {
            select = select.filter(project::Column::Id.eq(own));
        }
        let rows = select
            .order_by_asc(project::Column::CreatedAt)
            .order_by_asc(project::Column::Id)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(views::project).collect())
    }

    pub async fn get_project(&self, id: &str, actor: &Actor) -> ServiceResult<Project> {
        let row = lookup::project(&self.db, id).await?;
        actor.may_read(&row.id)?;
        Ok(views::project(row))
    }

    pub async fn update_project(
        &self,
        id: &str,
        patch: ProjectPatch,
        actor: &Actor,
    ) -> ServiceResult<Project> {
        actor.may_administer(Admin::Projects)?;
        let name = patch
            .name
            .as_deref()
            .map(|n| validate::required_line("name", n, validate::MAX_NAME))
            .transpose()?;
        let base_path = match &patch.base_path {
            Some(Some(path)) => Some(Some(validate::base_path(path)?)),
            Some(None) => Some(None),
            None => None,
        };
        if let Some(settings) = &patch.settings {
            check_settings(settings)?;
        }
        let _lock = self.write_lock().await;
        let row = lookup::project(&self.db, id).await?;
        let before = views::project(row.clone());
        let mut active: project::ActiveModel = row.into();
        if let Some(name) = name {
            active.name = Set(name);
        }
        if let Some(base_path) = base_path {
            active.base_path = Set(base_path);
        }
        if let Some(settings) = &patch.settings {
            active.settings = Set(to_text(settings));
        }
        if !active.is_changed() {
            return Ok(before);
        }
        active.updated_at = Set(now_ms());
        let project = views::project(active.update(&self.db).await?);
        self.publish_all(vec![Event::ProjectUpdated(project.clone())]);
        Ok(project)
    }

    /// Deletes a project with its tasks, sessions and messages; refused with 409 while any of
    /// its sessions is active.
    pub async fn delete_project(&self, id: &str, actor: &Actor) -> ServiceResult<()> {
        actor.may_administer(Admin::Projects)?;
        let _lock = self.write_lock().await;
        let txn = self.db.begin().await?;
        lookup::project(&txn, id).await?;
        let active: Vec<String> = session::Entity::find()
            .filter(session::Column::ProjectId.eq(id))
            .filter(session::Column::Status.is_in(SessionStatus::active_names()))
            .all(&txn)
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect();
        if !active.is_empty() {
            return Err(ServiceError::conflict(
                "project_busy",
                format!(
                    "project has {} running session(s); stop them first",
                    active.len()
                ),
                json!({ "sessionIds": active }),
            ));
        }
        project::Entity::delete_by_id(id.to_owned())
            .exec(&txn)
            .await?;
        txn.commit().await?;
        self.publish_all(vec![Event::ProjectDeleted { id: id.to_owned() }]);
        Ok(())
    }

    /// How many sessions of `project_id` are active (for status pages and the delete rule).
    pub async fn count_active_sessions(&self, project_id: &str) -> ServiceResult<u64> {
        Ok(session::Entity::find()
            .filter(session::Column::ProjectId.eq(project_id))
            .filter(session::Column::Status.is_in(SessionStatus::active_names()))
            .count(&self.db)
            .await?)
    }
}

/// The settings Baton reads itself (the workspace ones, the cost limit) must make sense; others
/// are free-form.
fn check_settings(settings: &serde_json::Map<String, serde_json::Value>) -> ServiceResult<()> {
    super::signals::budget::limit_of(settings).map_err(|problem| {
        ServiceError::invalid(
            format!("settings.{}", super::signals::budget::COST_LIMIT),
            problem,
        )
    })?;
    super::workspace::settings::parse(settings)
        .map(drop)
        .map_err(|w| ServiceError::invalid(w.field, w.problem))
}
