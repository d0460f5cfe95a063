//! Delivering webhooks: every event a hook asked for becomes a `webhook_delivery` row, and one
//! worker per hook POSTs its rows oldest first, so each hook receives its events in order.
//!
//! The table is the queue: a delivery is written before it is tried, survives a restart (workers
//! resume the pending rows at start), and records every attempt. A failed attempt (no answer in
//! time, or a status other than 2xx) is retried after a backoff that doubles, up to
//! [`Policy::max_attempts`]; later events of that hook wait behind it. Publishing hands the
//! dispatcher the events some hook wants ([`Webhooks::offer`], without waiting: it does not
//! subscribe to the bus, so that with no hook for them events cost it nothing); a slow or dead
//! receiver never slows the bus or anyone else.
//!
//! Each POST carries the event envelope as its body and `X-Baton-Event`, `X-Baton-Delivery` and
//! `X-Baton-Signature-256: sha256=<HMAC-SHA256 of the body>`. Secrets are never logged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::error::ServiceResult;
use super::{ids, Service};
use crate::clock::now_ms;
use crate::events::{pattern_matches, Published};
use crate::metrics::Metrics;
use crate::model::DeliveryStatus;
use crate::security::signature::sign;
use crate::store::entity::{webhook, webhook_delivery};
use crate::store::json::from_text;

/// How deliveries are tried.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The wait after the first failed attempt; it doubles after each further one.
    pub backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
    /// Attempts before a delivery is given up (`failed`).
    pub max_attempts: u32,
    /// How long a receiver has to answer.
    pub timeout: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            max_attempts: 8,
            timeout: Duration::from_secs(10),
        }
    }
}

impl Policy {
    /// The wait after attempt number `attempt` (1-based) failed.
    pub fn wait_after(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// The hooks Baton knows, and their workers once delivery has started.
#[derive(Default)]
pub struct Webhooks {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    hooks: HashMap<String, Hook>,
    engine: Option<Arc<Engine>>,
    /// The dispatcher's inbox, once delivery has started.
    dispatch: Option<Dispatch>,
}

struct Dispatch {
    events: mpsc::Sender<Arc<Published>>,
    /// The stored hooks are being loaded at start: every event goes to the dispatcher (which
    /// asks again which hooks want it), so none published meanwhile is missed.
    loading: bool,
}

struct Hook {
    patterns: Vec<String>,
    /// Wakes the hook's worker when a delivery is queued.
    wake: Arc<Notify>,
    stop: CancellationToken,
}

impl Hook {
    fn wants(&self, event: &str) -> bool {
        self.patterns.iter().any(|p| pattern_matches(p, event))
    }
}

/// What workers share.
struct Engine {
    db: DatabaseConnection,
    /// The service's write lock: SQLite refuses (rather than waits for) a transaction that
    /// would upgrade to writing while another writes, so every writer takes turns.
    writes: Arc<tokio::sync::Mutex<()>>,
    metrics: Arc<Metrics>,
    http: reqwest::Client,
    policy: Policy,
    shutdown: CancellationToken,
}

impl Webhooks {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A hook was created (or loaded at start): deliveries for it begin.
    pub(super) fn started(&self, row: &webhook::Model) {
        let mut inner = self.lock();
        let hook = Hook {
            patterns: from_text("webhook.events", &row.events),
            wake: Arc::new(Notify::new()),
            stop: inner
                .engine
                .as_ref()
                .map(|e| e.shutdown.child_token())
                .unwrap_or_default(),
        };
        if let Some(engine) = &inner.engine {
            tokio::spawn(worker(
                Arc::clone(engine),
                row.clone(),
                Arc::clone(&hook.wake),
                hook.stop.clone(),
            ));
        }
        inner.hooks.insert(row.id.clone(), hook);
    }

    /// A hook was deleted: its worker stops (its rows went with it).
    pub(super) fn stopped(&self, id: &str) {
        if let Some(hook) = self.lock().hooks.remove(id) {
            hook.stop.cancel();
        }
    }

    /// Hands `published` to the dispatcher when a hook wants it. Never waits: a dispatcher so far
    /// behind that its inbox is full loses the event (counted `dropped`).
    pub(super) fn offer(&self, published: &Arc<Published>, metrics: &Metrics) {
        let inner = self.lock();
        let Some(dispatch) = &inner.dispatch else {
            return;
        };
        let name = published.event.name();
        if !dispatch.loading && !inner.hooks.values().any(|h| h.wants(name)) {
            return;
        }
        match dispatch.events.try_send(Arc::clone(published)) {
            // Closed: delivery has stopped with Baton.
            Ok(()) | Err(TrySendError::Closed(_)) => {}
            Err(TrySendError::Full(_)) => {
                tracing::error!(
                    event = name,
                    "the webhook dispatcher fell behind; the event was not delivered"
                );
                metrics.webhook_delivery("dropped");
            }
        }
    }

    /// The hooks that want `event`, with their wake-ups.
    fn subscribers(&self, event: &str) -> Vec<(String, Arc<Notify>)> {
        self.lock()
            .hooks
            .iter()
            .filter(|(_, h)| h.wants(event))
            .map(|(id, h)| (id.clone(), Arc::clone(&h.wake)))
            .collect()
    }
}

impl Service {
    /// Starts delivering: a worker per stored hook (resuming pending deliveries) and the
    /// dispatcher that turns events into deliveries. Stops when `shutdown` is cancelled.
    pub async fn start_webhooks(
        &self,
        policy: Policy,
        shutdown: CancellationToken,
    ) -> ServiceResult<()> {
        // The inbox is open before the hooks load: no event published from here on is missed.
        let (inbox, mut events) = mpsc::channel(crate::events::CAPACITY);
        self.webhooks.lock().dispatch = Some(Dispatch {
            events: inbox,
            loading: true,
        });
        crate::client::tls::choose_provider();
        let http = reqwest::Client::builder()
            .timeout(policy.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Baton-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                super::ServiceError::Unavailable(format!("cannot make an HTTP client: {e}"))
            })?;
        let engine = Arc::new(Engine {
            db: self.db.clone(),
            writes: Arc::clone(&self.writes),
            metrics: Arc::clone(&self.metrics),
            http,
            policy,
            shutdown: shutdown.clone(),
        });
        self.webhooks.lock().engine = Some(engine);
        for row in webhook::Entity::find().all(&self.db).await? {
            self.webhooks.started(&row);
        }
        if let Some(dispatch) = &mut self.webhooks.lock().dispatch {
            dispatch.loading = false;
        }
        let service = self.clone();
        tokio::spawn(async move {
            loop {
                let published = tokio::select! {
                    received = events.recv() => received,
                    () = shutdown.cancelled() => return,
                };
                match published {
                    Some(p) => {
                        let name = p.event.name();
                        let hooks = service.webhooks.subscribers(name);
                        if hooks.is_empty() {
                            continue;
                        }
                        // One turn of the write lock per event, however many hooks want it.
                        let _lock = service.write_lock().await;
                        for (hook, wake) in hooks {
                            match queue(&service.db, &hook, name, p.json()).await {
                                Ok(()) => wake.notify_one(),
                                Err(err) => {
                                    tracing::error!(%err, hook, event = name, "cannot queue a webhook delivery");
                                    service.metrics.webhook_delivery("dropped");
                                }
                            }
                        }
                    }
                    None => return,
                }
            }
        });
        Ok(())
    }
}

/// Writes one pending delivery.
async fn queue(
    db: &DatabaseConnection,
    hook: &str,
    event: &str,
    payload: &str,
) -> ServiceResult<()> {
    webhook_delivery::ActiveModel {
        id: Set(ids::new_id("dlv")),
        webhook_id: Set(hook.to_owned()),
        event: Set(event.to_owned()),
        payload: Set(payload.to_owned()),
        status: Set(DeliveryStatus::Pending.as_str().to_owned()),
        attempts: Set(0),
        response_status: Set(None),
        error: Set(None),
        created_at: Set(now_ms()),
        last_attempt_at: Set(None),
        delivered_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Delivers one hook's rows, oldest first, until the hook is deleted or Baton stops.
async fn worker(
    engine: Arc<Engine>,
    hook: webhook::Model,
    wake: Arc<Notify>,
    stop: CancellationToken,
) {
    loop {
        let next = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::WebhookId.eq(hook.id.as_str()))
            .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
            .order_by_asc(webhook_delivery::Column::Seq)
            .one(&engine.db)
            .await;
        let row = match next {
            Ok(Some(row)) => row,
            Ok(None) => {
                tokio::select! {
                    () = wake.notified() => continue,
                    () = stop.cancelled() => return,
                }
            }
            Err(err) => {
                tracing::error!(%err, hook = hook.id, "cannot read webhook deliveries; retrying");
                tokio::select! {
                    () = tokio::time::sleep(engine.policy.backoff) => continue,
                    () = stop.cancelled() => return,
                }
            }
        };
        if !deliver(&engine, &hook, row, &stop).await {
            return;
        }
    }
}

/// Tries one delivery until it succeeds or is given up. `false` when told to stop meanwhile.
async fn deliver(
    engine: &Engine,
    hook: &webhook::Model,
    row: webhook_delivery::Model,
    stop: &CancellationToken,
) -> bool {
    let signature = sign(hook.secret.as_bytes(), row.payload.as_bytes());
    let mut attempt = u32::try_from(row.attempts).unwrap_or(0);
    let mut active: webhook_delivery::ActiveModel = row.clone().into();
    loop {
        attempt += 1;
        let sent = engine
            .http
            .post(&hook.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Baton-Event", &row.event)
            .header("X-Baton-Delivery", &row.id)
            .header("X-Baton-Signature-256", &signature)
            .body(row.payload.clone())
            .send();
        let outcome = tokio::select! {
            outcome = sent => outcome,
            () = stop.cancelled() => return false,
        };
        let (status, error) = match outcome {
            Ok(response) if response.status().is_success() => {
                (Some(response.status().as_u16()), None)
            }
            Ok(response) => (
                Some(response.status().as_u16()),
                Some(format!("the receiver answered {}", response.status())),
            ),
            // Without the URL: it may carry credentials.
            Err(err) => (None, Some(describe(err))),
        };
        let now = now_ms();
        let done = error.is_none();
        let gave_up = !done && attempt >= engine.policy.max_attempts;
        active.attempts = Set(i32::try_from(attempt).unwrap_or(i32::MAX));
        active.last_attempt_at = Set(Some(now));
        active.response_status = Set(status.map(i32::from));
        active.error = Set(error);
        active.status = Set(if done {
            DeliveryStatus::Delivered
        } else if gave_up {
            DeliveryStatus::Failed
        } else {
            DeliveryStatus::Pending
        }
        .as_str()
        .to_owned());
        if done {
            active.delivered_at = Set(Some(now));
        }
        let recorded = {
            let _lock = engine.writes.lock().await;
            active.clone().update(&engine.db).await
        };
        match recorded {
            Ok(_) => {}
            // Deleted with its hook meanwhile.
            Err(sea_orm::DbErr::RecordNotUpdated) => return !stop.is_cancelled(),
            Err(err) => tracing::error!(%err, hook = hook.id, "cannot record a webhook attempt"),
        }
        if done {
            engine.metrics.webhook_delivery("delivered");
            return true;
        }
        if gave_up {
            tracing::warn!(
                hook = hook.id,
                delivery = row.id,
                attempt,
                "webhook delivery failed; giving up"
            );
            engine.metrics.webhook_delivery("failed");
            return true;
        }
        engine.metrics.webhook_delivery("retried");
        tokio::select! {
            () = tokio::time::sleep(engine.policy.wait_after(attempt)) => {}
            () = stop.cancelled() => return false,
        }
    }
}

/// Why a request failed, in words and without the URL.
fn describe(err: reqwest::Error) -> String {
    if err.is_timeout() {
        "no answer in time".to_owned()
    } else if err.is_connect() {
        "cannot connect to the receiver".to_owned()
    } else {
        err.without_url().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let p = Policy {
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
            ..Policy::default()
        };
        let waits: Vec<u128> = (1..=5).map(|a| p.wait_after(a).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 500, 500]);
        assert_eq!(p.wait_after(40), Duration::from_millis(500), "no overflow");
    }

    /// The dispatcher is handed only what some hook wants (everything while the hooks load),
    /// and publishing never waits for it: with its inbox full, an event is dropped.
    #[tokio::test]
    async fn the_dispatcher_is_offered_only_what_a_hook_wants_and_never_waited_for() {
        use crate::events::{Event, EventBus};
        let hooks = Webhooks::default();
        let metrics = Metrics::new();
        let bus = EventBus::new();
        let deleted = |id: &str| bus.publish(Event::ProjectDeleted { id: id.into() });
        // Before delivery starts there is no dispatcher to offer anything to.
        hooks.offer(&deleted("before"), &metrics);
        let (inbox, mut events) = mpsc::channel(2);
        hooks.lock().dispatch = Some(Dispatch {
            events: inbox,
            loading: true,
        });
        hooks.offer(&deleted("while loading"), &metrics);
        hooks.started(&webhook::Model {
            id: "wh".into(),
            url: "http://127.0.0.1:9/".into(),
            secret: "s".into(),
            events: r#"["task:*"]"#.into(),
            created_at: 0,
            updated_at: 0,
        });
        hooks.lock().dispatch.as_mut().unwrap().loading = false;
        hooks.offer(&deleted("no hook asked"), &metrics);
        let task = |id: &str| {
            bus.publish(Event::TaskDeleted {
                id: id.into(),
                project_id: "p".into(),
            })
        };
        hooks.offer(&task("wanted"), &metrics);
        hooks.offer(&task("over the inbox"), &metrics);
        let mut offered = Vec::new();
        while let Ok(p) = events.try_recv() {
            offered.push(p.json().to_string());
        }
        assert_eq!(offered.len(), 2, "{offered:?}");
        assert!(offered[0].contains("while loading"), "{offered:?}");
        assert!(offered[1].contains("\"wanted\""), "{offered:?}");
    }
}
