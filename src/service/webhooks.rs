//! Webhooks: which URL gets which events, signed with which secret. Only the person (the admin
//! token) manages them; the secret is shown once, when the hook is made, and never logged.
//! Delivering is [`super::webhook_delivery`]'s job.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::access::Admin;
use super::error::{ServiceError, ServiceResult};
use super::{ids, validate, Actor, Service};
use crate::clock::now_ms;
use crate::events::pattern_is_known;
use crate::model::{CreatedWebhook, Delivery, DeliveryStatus, ListDeliveries, NewWebhook, Webhook};
use crate::security::signature::new_secret;
use crate::store::entity::{webhook, webhook_delivery};
use crate::store::json::{from_text, to_text};

const MIN_SECRET: usize = 16;
const MAX_URL: usize = 2048;
const MAX_EVENTS: usize = 64;

impl Service {
    pub async fn create_webhook(
        &self,
        input: NewWebhook,
        actor: &Actor,
    ) -> ServiceResult<CreatedWebhook> {
        actor.may_administer(Admin::Webhooks)?;
        let url = check_url(&input.url)?;
        let events = check_events(&input.events)?;
        let secret = match input.secret {
            Some(s) if s.chars().count() < MIN_SECRET => {
                return Err(ServiceError::invalid(
                    "secret",
                    format!(
                        "must be at least {MIN_SECRET} characters (or leave it out to get one)"
                    ),
                ))
            }
            Some(s) => s,
            None => new_secret()
                .map_err(|e| ServiceError::Unavailable(format!("cannot make a secret: {e}")))?,
        };
        let now = now_ms();
        let row = {
            let _lock = self.write_lock().await;
            webhook::ActiveModel {
                id: Set(ids::new_id("hook")),
                url: Set(url),
                secret: Set(secret.clone()),
                events: Set(to_text(&events)),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&self.db)
            .await?
        };
        self.webhooks.started(&row);
        Ok(CreatedWebhook {
            webhook: view(row),
            secret,
        })
    }

    pub async fn list_webhooks(&self, actor: &Actor) -> ServiceResult<Vec<Webhook>> {
        actor.may_administer(Admin::Webhooks)?;
        let rows = webhook::Entity::find()
            .order_by_asc(webhook::Column::CreatedAt)
            .order_by_asc(webhook::Column::Id)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(view).collect())
    }

    /// Deletes a hook, its pending deliveries and its history.
    pub async fn delete_webhook(&self, id: &str, actor: &Actor) -> ServiceResult<()> {
        actor.may_administer(Admin::Webhooks)?;
        let _lock = self.write_lock().await;
        let deleted = webhook::Entity::delete_by_id(id.to_owned())
            .exec(&self.db)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(ServiceError::not_found("webhook", id));
        }
        self.webhooks.stopped(id);
        Ok(())
    }

    /// A hook's deliveries, newest first.
    pub async fn list_deliveries(
        &self,
        id: &str,
        query: &ListDeliveries,
        actor: &Actor,
    ) -> ServiceResult<Vec<Delivery>> {
        actor.may_administer(Admin::Webhooks)?;
        let limit = validate::number("limit", query.limit.as_deref(), 100, 1, validate::MAX_PAGE)?;
        if webhook::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .is_none()
        {
            return Err(ServiceError::not_found("webhook", id));
        }
        let mut select =
            webhook_delivery::Entity::find().filter(webhook_delivery::Column::WebhookId.eq(id));
        if let Some(status) = &query.status {
            let status = DeliveryStatus::parse(status).ok_or_else(|| {
                ServiceError::invalid("status", "must be pending, delivered or failed")
            })?;
            select = select.filter(webhook_delivery::Column::Status.eq(status.as_str()));
        }
        let rows = select
            .order_by_desc(webhook_delivery::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(delivery_view).collect())
    }
}

fn check_url(url: &str) -> ServiceResult<String> {
    let url = url.trim();
    if url.len() > MAX_URL {
        return Err(ServiceError::invalid(
            "url",
            format!("must be at most {MAX_URL} characters"),
        ));
    }
    static SHAPE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(crate::model::schema::HTTP_URL).expect("the URL pattern compiles")
    });
    if !SHAPE.is_match(url) {
        return Err(ServiceError::invalid(
            "url",
            "must be an http:// or https:// URL with a host name or address",
        ));
    }
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ServiceError::invalid("url", format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ServiceError::invalid(
            "url",
            "must be an http:// or https:// URL with a host",
        ));
    }
    Ok(parsed.to_string())
}

fn check_events(events: &[String]) -> ServiceResult<Vec<String>> {
    if events.is_empty() {
        return Err(ServiceError::invalid(
            "events",
            "name at least one event (`task:created`, `task:*` or `*`)",
        ));
    }
    if events.len() > MAX_EVENTS {
        return Err(ServiceError::invalid(
            "events",
            format!("at most {MAX_EVENTS} entries"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for event in events {
        let event = event.trim();
        if !pattern_is_known(event) {
            return Err(ServiceError::invalid(
                "events",
                format!(
                    "unknown event '{event}' (see the events table; `resource:*` and `*` work too)"
                ),
            ));
        }
        if !out.iter().any(|e| e == event) {
            out.push(event.to_owned());
        }
    }
    Ok(out)
}

pub(super) fn view(row: webhook::Model) -> Webhook {
    Webhook {
        events: from_text("webhook.events", &row.events),
        id: row.id,
        url: row.url,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn delivery_view(row: webhook_delivery::Model) -> Delivery {
    Delivery {
        status: DeliveryStatus::parse(&row.status).unwrap_or(DeliveryStatus::Pending),
        payload: serde_json::from_str(&row.payload).unwrap_or(serde_json::Value::Null),
        id: row.id,
        webhook_id: row.webhook_id,
        event: row.event,
        attempts: row.attempts,
        response_status: row.response_status,
        error: row.error,
        created_at: row.created_at,
        last_attempt_at: row.last_attempt_at,
        delivered_at: row.delivered_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(check_url("https://example.test/hook").is_ok());
        for bad in ["ftp://x/y", "not a url", "http://", "file:///etc/passwd"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn events_are_known_names_or_patterns_without_repeats() {
        let got = check_events(&["task:*".into(), "task:*".into(), "message:created".into()]);
        assert_eq!(got.unwrap(), ["task:*", "message:created"]);
        assert!(check_events(&[]).is_err());
        assert!(check_events(&["task:exploded".into()]).is_err());
    }
}
