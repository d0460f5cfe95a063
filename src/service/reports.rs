//! What an agent says about its own progress (`baton status "…"`, `baton progress N`, the MCP
//! `report_progress` tool): the session keeps the last line and percentage, and the project's
//! message bus gets a `PROGRESS` message, both in one transaction.

use sea_orm::{ActiveModelTrait, Set, TransactionTrait};

use super::error::{ServiceError, ServiceResult};
use super::messages::{insert, Draft};
use super::{lookup, validate, views, Actor, Service};
use crate::clock::now_ms;
use crate::events::Event;
use crate::model::{Reported, SessionReport};
use crate::store::entity::session;

/// The longest status line kept.
const MAX_STATUS: usize = 500;

impl Service {
    pub async fn report_session(
        &self,
        id: &str,
        report: SessionReport,
        actor: &Actor,
    ) -> ServiceResult<Reported> {
        let text = report
            .text
            .as_deref()
            .map(|t| validate::required_line("text", t, MAX_STATUS))
            .transpose()?;
        if let Some(p) = report.progress {
            if !(0..=100).contains(&p) {
                return Err(ServiceError::invalid("progress", "must be from 0 to 100"));
            }
        }
        let body = match (&text, report.progress) {
            (Some(t), Some(p)) => format!("{p}% — {t}"),
            (Some(t), None) => t.clone(),
            (None, Some(p)) => format!("{p}%"),
            (None, None) => {
                return Err(ServiceError::invalid(
                    "text",
                    "say something: give text, progress or both",
                ))
            }
        };
        actor.may_act_as(actor.project_scope().unwrap_or_default(), id)?;

        let _lock = self.write_lock().await;
        let txn = self.db.begin().await?;
        let row = lookup::session(&txn, id).await?;
        actor.may_act_as(&row.project_id, id)?;
        let linked = views::session_by_id(&txn, &self.runtime, id).await?;
        let now = now_ms();
        let mut active: session::ActiveModel = row.clone().into();
        if let Some(t) = &text {
            active.status_text = Set(Some(t.clone()));
        }
        if let Some(p) = report.progress {
            active.progress = Set(Some(p));
        }
        active.updated_at = Set(now);
        active.update(&txn).await?;
        // A session on exactly one task reports about that task.
        let task_id = match linked.task_ids.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        };
        let message = insert(
            &txn,
            Draft {
                project_id: row.project_id.clone(),
                task_id,
                session_id: Some(id.to_owned()),
                kind: "PROGRESS".into(),
                body,
                parent_ids: Vec::new(),
            },
            actor,
        )
        .await?;
        let session = views::session_by_id(&txn, &self.runtime, id).await?;
        txn.commit().await?;
        let message = views::message(message);
        self.publish_all(vec![
            Event::SessionUpdated(session.clone()),
            Event::MessageCreated(message.clone()),
        ]);
        Ok(Reported { session, message })
    }
}
