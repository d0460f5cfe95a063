//! Cost limits: a project may set `costLimitUsd` in its settings. Once what its agents used
//! (priced by the price table) reaches it, Baton pauses the project's queue — no new run starts;
//! what runs goes on — and says so with a `BUDGET` message. Resuming the queue is the person's
//! call (raise the limit first, or it pauses again at the next usage read).

use serde_json::{Map, Value};

use super::super::error::ServiceResult;
use super::super::{Actor, Service};
use crate::model::{NewMessage, QueueScope};

/// The project setting that holds the limit, in US dollars.
pub const COST_LIMIT: &str = "costLimitUsd";

/// Why a limit is not one: it must be a number of dollars greater than 0.
pub const NOT_A_LIMIT: &str = "must be a number of US dollars greater than 0";

/// Whether `limit` (a project's or a task's) is a limit.
pub fn is_limit(limit: f64) -> bool {
    limit > 0.0 && limit.is_finite()
}

/// The limit a project's settings set, or why it is not one.
pub fn limit_of(settings: &Map<String, Value>) -> Result<Option<f64>, String> {
    match settings.get(COST_LIMIT) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(limit) if is_limit(limit) => Ok(Some(limit)),
            _ => Err(NOT_A_LIMIT.to_owned()),
        },
    }
}

/// Dollars as a person reads them: cents from $1 on, four decimals below (a test turn costs
/// fractions of a cent).
pub fn usd(amount: f64) -> String {
    if amount >= 1.0 {
        format!("${amount:.2}")
    } else {
        format!("${amount:.4}")
    }
}

/// Whether `spent` reached `limit`.
pub fn reached(spent: f64, limit: Option<f64>) -> bool {
    limit.is_some_and(|l| spent >= l)
}

impl Service {
    /// After usage was recorded for `project_id`: past its cost limit, its queue is paused and
    /// a `BUDGET` message says why (once: a paused queue is left as it is).
    pub(super) async fn check_budget(&self, project_id: &str) -> ServiceResult<()> {
        let project = super::super::lookup::project(&self.db, project_id).await?;
        let settings: Map<String, Value> =
            crate::store::json::from_text("project.settings", &project.settings);
        let Ok(limit) = limit_of(&settings) else {
            return Ok(());
        };
        if limit.is_none() || self.project_paused(project_id).await? {
            return Ok(());
        }
        let spent = self
            .project_usage(project_id, None, &Actor::System)
            .await?
            .cost_usd;
        if !reached(spent, limit) {
            return Ok(());
        }
        let limit = limit.unwrap_or_default();
        tracing::warn!(
            project = project_id,
            spent,
            limit,
            "cost limit reached; queue paused"
        );
        self.pause_queue(
            QueueScope {
                project_id: Some(project_id.to_owned()),
            },
            true,
            &Actor::System,
        )
        .await?;
        self.post_message(
            NewMessage {
                project_id: project_id.to_owned(),
                task_id: None,
                session_id: None,
                r#type: Some("BUDGET".into()),
                body: format!(
                    "Cost limit reached: {} of {}. The project's queue is paused: no new run starts until it is resumed (raise costLimitUsd first).",
                    usd(spent),
                    usd(limit)
                ),
                parent_ids: None,
            },
            &Actor::System,
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn settings(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_limit_is_a_positive_number_of_dollars() {
        assert_eq!(limit_of(&settings(json!({}))), Ok(None));
        assert_eq!(limit_of(&settings(json!({"costLimitUsd": null}))), Ok(None));
        assert_eq!(
            limit_of(&settings(json!({"costLimitUsd": 2.5}))),
            Ok(Some(2.5))
        );
        assert!(limit_of(&settings(json!({"costLimitUsd": 0}))).is_err());
        assert!(limit_of(&settings(json!({"costLimitUsd": "5"}))).is_err());
        assert!(reached(2.5, Some(2.5)));
        assert!(!reached(2.49, Some(2.5)));
        assert!(!reached(1e9, None));
        assert_eq!(usd(0.018), "$0.0180");
        assert_eq!(usd(12.345), "$12.35");
    }
}
