//! The audit log: every change asked of Baton, through any door, as a durable record — when, who
//! (`user`, `desktop`, `session:<id>`), through which door, which operation on which ids, and
//! how it ended — with the request body redacted by `security::redact`.
//!
//! The doors describe a change ([`Change`]) once they know its outcome: the HTTP API in a
//! middleware (`api::audit`, which the CLI and `baton mcp` reach as well, saying which door they
//! are), the desktop in its commands. A record that cannot be written is logged and counted
//! (`baton_audit_records_total{outcome="failed"}`); the request it describes goes on.
//! Records older than the retention (default 90 days) are deleted at start and every hour.

use std::time::Duration;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::access::Admin;
use super::error::ServiceResult;
use super::{validate, Actor, Service};
use crate::clock::now_ms;
use crate::model::{AuditEntry, ListAudit};
use crate::security::redact;
use crate::store::entity::audit_log;
use crate::store::json::{from_text, to_text};

/// How long an audit write may take before it is given up (and counted as failed).
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest body kept in a record, in bytes of JSON text; longer ones are cut.
const MAX_BODY_TEXT: usize = 16 * 1024;
/// The retention when none is configured.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;

/// The door a change came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum Door {
    Http,
    Cli,
    Mcp,
    Desktop,
}

impl Door {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The door an HTTP client says it is (`X-Baton-Door`): Baton's own CLI and MCP server say
    /// so; anything else is plain HTTP.
    pub fn from_header(value: Option<&str>) -> Self {
        match value {
            Some("cli") => Door::Cli,
            Some("mcp") => Door::Mcp,
            _ => Door::Http,
        }
    }
}

/// One change, as a door saw it.
#[derive(Clone, Debug)]
pub struct Change {
    pub actor: Actor,
    pub door: Door,
    pub operation: String,
    pub targets: Vec<String>,
    pub status: u16,
    /// The request body, not yet redacted.
    pub body: Option<Value>,
}

/// The ids a request names: the path's parameters (where `template` has `{…}`), the ids the
/// body refers to, and the id of what it created.
pub fn targets(
    template: &str,
    path: &str,
    body: Option<&Value>,
    created: Option<&str>,
) -> Vec<String> {
    let mut ids: Vec<String> = template
        .split('/')
        .zip(path.split('/'))
        .filter(|(t, _)| t.starts_with('{') && t.ends_with('}'))
        .map(|(_, p)| p.to_owned())
        .collect();
    if let Some(Value::Object(members)) = body {
        for name in ["projectId", "taskId", "sessionId"] {
            if let Some(Value::String(id)) = members.get(name) {
                ids.push(id.clone());
            }
        }
        for name in ["taskIds", "dependsOn"] {
            if let Some(Value::Array(list)) = members.get(name) {
                ids.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
            }
        }
    }
    ids.extend(created.map(str::to_owned));
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| !id.is_empty() && seen.insert(id.clone()));
    ids
}

/// What is kept of a body: redacted, and cut to [`MAX_BODY_TEXT`] (then kept as a string).
pub fn kept_body(mut body: Value) -> Value {
    redact::redact_json(&mut body);
    let text = body.to_string();
    if text.len() <= MAX_BODY_TEXT {
        return body;
    }
    let mut end = MAX_BODY_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Value::String(format!("{}…", &text[..end]))
}

impl Service {
    /// Appends `change` to the audit log. Never fails: a lost record is logged and counted.
    pub async fn record_change(&self, change: Change) {
        let row = audit_log::ActiveModel {
            at: Set(now_ms()),
            actor: Set(change.actor.to_string()),
            door: Set(change.door.as_str().to_owned()),
            operation: Set(change.operation),
            // An id is whatever the caller sent: it may be a secret pasted in the wrong place.
            targets: Set(to_text(
                &change
                    .targets
                    .iter()
                    .map(|id| redact::redact_text(id))
                    .collect::<Vec<_>>(),
            )),
            status: Set(i32::from(change.status)),
            body: Set(change.body.map(|b| kept_body(b).to_string())),
            ..Default::default()
        };
        // Under the write lock like every other write: on SQLite a write beside a transaction
        // that has read makes that transaction fail (SQLITE_BUSY_SNAPSHOT) instead of waiting.
        let write = async {
            let _lock = self.write_lock().await;
            row.insert(&self.db).await
        };
        match tokio::time::timeout(WRITE_TIMEOUT, write).await {
            Ok(Ok(_)) => self.metrics.audit_record("written"),
            Ok(Err(err)) => {
                tracing::warn!(%err, "cannot write an audit record; the request went on");
                self.metrics.audit_record("failed");
            }
            Err(_) => {
                tracing::warn!("an audit record took too long to write; the request went on");
                self.metrics.audit_record("failed");
            }
        }
    }

    /// `GET /api/audit`: records, newest first (the person only).
    pub async fn list_audit(
        &self,
        query: &ListAudit,
        actor: &Actor,
    ) -> ServiceResult<Vec<AuditEntry>> {
        actor.may_administer(Admin::Audit)?;
        let limit = validate::number("limit", query.limit.as_deref(), 100, 1, validate::MAX_PAGE)?;
        // Times and sequence numbers: whole numbers the database stores as i64.
        let whole = |field, value: Option<&str>, min| {
            value
                .map(|v| validate::number(field, Some(v), min, min, i64::MAX as u64))
                .transpose()
                .map(|n| n.map(|n| n as i64))
        };
        let since = whole("since", query.since.as_deref(), 0)?;
        let until = whole("until", query.until.as_deref(), 0)?;
        let before = whole("before", query.before.as_deref(), 1)?;
        let mut select = audit_log::Entity::find();
        if let Some(who) = &query.actor {
            select = select.filter(audit_log::Column::Actor.eq(who.as_str()));
        }
        if let Some(op) = &query.operation {
            select = select.filter(audit_log::Column::Operation.contains(op.as_str()));
        }
        if let Some(id) = &query.target {
            // Targets are a JSON array of strings: the id with its quotes is one of them.
            select = select.filter(audit_log::Column::Targets.contains(to_text(id).as_str()));
        }
        if let Some(since) = since {
            select = select.filter(audit_log::Column::At.gte(since));
        }
        if let Some(until) = until {
            select = select.filter(audit_log::Column::At.lt(until));
        }
        if let Some(before) = before {
            select = select.filter(audit_log::Column::Seq.lt(before));
        }
        let rows = select
            .order_by_desc(audit_log::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(entry).collect())
    }

    /// Deletes the records older than `days` days; returns how many.
    pub async fn purge_audit(&self, days: u32) -> ServiceResult<u64> {
        let cutoff = now_ms() - i64::from(days) * 24 * 3600 * 1000;
        let _lock = self.write_lock().await;
        let done = audit_log::Entity::delete_many()
            .filter(audit_log::Column::At.lt(cutoff))
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected)
    }

    /// Purges now and every hour until `shutdown`.
    pub fn keep_audit_for(&self, days: u32, shutdown: CancellationToken) {
        let service = self.clone();
        tokio::spawn(async move {
            let mut hourly = tokio::time::interval(Duration::from_secs(3600));
            loop {
                tokio::select! {
                    _ = hourly.tick() => match service.purge_audit(days).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(deleted = n, days, "audit records past their retention deleted"),
                        Err(err) => tracing::warn!(%err, "cannot delete old audit records"),
                    },
                    () = shutdown.cancelled() => return,
                }
            }
        });
    }
}

fn entry(row: audit_log::Model) -> AuditEntry {
    AuditEntry {
        seq: row.seq,
        at: row.at,
        actor: row.actor,
        door: row.door,
        operation: row.operation,
        targets: from_text("audit_log.targets", &row.targets),
        status: u16::try_from(row.status).unwrap_or(0),
        body: row.body.and_then(|b| serde_json::from_str(&b).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn targets_come_from_the_path_the_body_and_what_was_created() {
        assert_eq!(
            targets(
                "/api/tasks/{id}/subtasks/{sid}",
                "/api/tasks/task_1/subtasks/sub_2",
                None,
                None
            ),
            ["task_1", "sub_2"]
        );
        let body = json!({ "projectId": "proj_1", "taskIds": ["task_1", "task_2"], "title": "x" });
        assert_eq!(
            targets(
                "/api/sessions",
                "/api/sessions",
                Some(&body),
                Some("sess_9")
            ),
            ["proj_1", "task_1", "task_2", "sess_9"]
        );
        assert_eq!(
            targets(
                "/api/tasks/{id}",
                "/api/tasks/task_1",
                Some(&json!({ "dependsOn": ["task_1"] })),
                None
            ),
            ["task_1"],
            "each id once"
        );
        assert!(targets("/api/projects", "/api/projects", Some(&json!([1, 2])), None).is_empty());
    }

    #[test]
    fn a_kept_body_is_redacted_and_bounded() {
        let body = kept_body(json!({ "secret": "abc", "prompt": "key sk-ant-api03-abcdefghijkl" }));
        assert_eq!(
            body,
            json!({ "secret": "[redacted]", "prompt": "key [redacted]" })
        );
        let long = "a".repeat(MAX_BODY_TEXT * 2);
        let kept = kept_body(json!({ "description": long }));
        let text = kept.as_str().expect("cut bodies are kept as text");
        assert!(text.len() <= MAX_BODY_TEXT + "…".len());
    }

    #[test]
    fn doors_are_named_by_their_header() {
        assert_eq!(Door::from_header(Some("cli")), Door::Cli);
        assert_eq!(Door::from_header(Some("mcp")), Door::Mcp);
        assert_eq!(
            Door::from_header(Some("desktop")),
            Door::Http,
            "only the desktop says desktop"
        );
        assert_eq!(Door::from_header(None), Door::Http);
    }
}
