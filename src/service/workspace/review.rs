//! The review loop without copy-paste: a reviewer's line comments on a task's diff are posted
//! as a `REVIEW` message on the task (what its agent's MCP and CLI read) and typed into the
//! task's running agent's terminal as one line followed by Enter.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::Service;
use crate::model::{NewMessage, ReviewComment, ReviewComments, ReviewSent, SessionStatus};
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::{lookup, Actor};
use crate::store::entity::{session, session_task};

const MAX_COMMENTS: usize = 200;
const MAX_BODY: usize = 4000;

/// The review as a message (one comment a line) and as one typed line.
pub fn review_text(comments: &[ReviewComment], summary: Option<&str>) -> (String, String) {
    let mut full = String::from("Review of your changes:\n");
    let mut line = String::from("Review of your changes:");
    if let Some(summary) = summary.map(str::trim).filter(|s| !s.is_empty()) {
        full.push_str(summary);
        full.push('\n');
        line.push(' ');
        line.push_str(&one_line(summary));
        line.push(';');
    }
    for (i, c) in comments.iter().enumerate() {
        full.push_str(&format!("- {}:{}: {}\n", c.path, c.line, c.body.trim()));
        if i > 0 {
            line.push(';');
        }
        line.push_str(&format!(" {}:{}: {}", c.path, c.line, one_line(&c.body)));
    }
    (full.trim_end().to_owned(), line)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Service {
    /// `POST /api/tasks/{id}/review`.
    pub async fn send_review(
        &self,
        task_id: &str,
        input: ReviewComments,
        actor: &Actor,
    ) -> ServiceResult<ReviewSent> {
        let task = lookup::task(&self.db, task_id).await?;
        actor.may_write(&task.project_id)?;
        if input.comments.is_empty() || input.comments.len() > MAX_COMMENTS {
            return Err(ServiceError::invalid(
                "comments",
                format!("must hold 1 to {MAX_COMMENTS} comments"),
            ));
        }
        for (i, c) in input.comments.iter().enumerate() {
            if c.path.trim().is_empty() || c.path.chars().count() > 1000 || c.path.contains('\0') {
                return Err(ServiceError::invalid(
                    format!("comments[{i}].path"),
                    "must name a file",
                ));
            }
            if c.line == 0 || c.line > i32::MAX as u32 {
                return Err(ServiceError::invalid(
                    format!("comments[{i}].line"),
                    "must be from 1 to 2147483647",
                ));
            }
            if c.body.trim().is_empty()
                || c.body.chars().count() > MAX_BODY
                || c.body.contains('\0')
            {
                return Err(ServiceError::invalid(
                    format!("comments[{i}].body"),
                    format!("must be 1 to {MAX_BODY} characters"),
                ));
            }
        }
        let (full, typed_line) = review_text(&input.comments, input.summary.as_deref());
        // The task's newest running session, if any.
        let linked: Vec<String> = session_task::Entity::find()
            .filter(session_task::Column::TaskId.eq(task_id))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|l| l.session_id)
            .collect();
        let running = session::Entity::find()
            .filter(session::Column::Id.is_in(linked))
            .filter(session::Column::Status.eq(SessionStatus::Running.as_str()))
            .order_by_desc(session::Column::CreatedAt)
            .one(&self.db)
            .await?
            .filter(|s| self.runtime.get(&s.id).is_some());
        let message = self
            .post_message(
                NewMessage {
                    project_id: task.project_id.clone(),
                    task_id: Some(task.id.clone()),
                    session_id: running.as_ref().map(|s| s.id.clone()),
                    r#type: Some("REVIEW".into()),
                    body: full,
                    parent_ids: None,
                },
                actor,
            )
            .await?;
        let mut typed = false;
        if let Some(s) = &running {
            let mut bytes = typed_line.into_bytes();
            bytes.push(b'\r');
            typed = self
                .write_terminal(&s.id, bytes, &Actor::System)
                .await
                .is_ok();
        }
        Ok(ReviewSent {
            message_id: message.id,
            session_id: running.map(|s| s.id),
            typed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_review_is_a_message_and_one_typed_line() {
        let comments = vec![
            ReviewComment {
                path: "src/a.rs".into(),
                line: 3,
                body: "use a\nconstant".into(),
            },
            ReviewComment {
                path: "README.md".into(),
                line: 1,
                body: "typo".into(),
            },
        ];
        let (full, line) = review_text(&comments, Some("Close."));
        assert_eq!(
            full,
            "Review of your changes:\nClose.\n- src/a.rs:3: use a\nconstant\n- README.md:1: typo"
        );
        assert_eq!(
            line,
            "Review of your changes: Close.; src/a.rs:3: use a constant; README.md:1: typo"
        );
        assert!(!line.contains('\n'));
    }
}
