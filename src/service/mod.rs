//! The service layer: the one place where Baton's rules live. Every door (HTTP API, WebSocket,
//! CLI, MCP, the desktop shell) calls these functions; none of them writes to the store or
//! publishes events by itself.
//!
//! Each mutation runs in one database transaction, under one write lock, and publishes its events
//! only after the commit, while still holding the lock: subscribers see events in commit order,
//! and never an event for a change that was rolled back. SQLite allows one writer at a time
//! anyway; the lock also spares transactions the `SQLITE_BUSY` dance of upgrading a read lock.

pub mod access;
mod agents;
pub mod audit;
mod bulk;
mod commands;
mod dependencies;
mod error;
#[cfg(test)]
mod fixture;
pub mod handover;
mod history;
mod ids;
mod list_cache;
mod lookup;
pub mod mcp_config;
mod message_stream;
mod messages;
mod projects;
pub mod queue;
mod reports;
pub mod rules;
pub mod runs;
pub mod runtime;
pub mod safety;
mod secret_env;
mod sessions;
pub mod signals;
pub mod subscriptions;
mod subtasks;
mod system;
mod tasks;
pub mod terminal_feed;
pub mod validate;
mod views;
pub mod webhook_delivery;
mod webhooks;
pub mod workspace;

use std::fmt;
use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::{Mutex, MutexGuard};

pub use error::{ServiceError, ServiceResult};
pub use runs::{DEFAULT_GRACE, DEFAULT_SIZE};
pub use tasks::TaskPage;

use crate::events::{Event, EventBus};
use crate::metrics::Metrics;

/// Who calls: every service operation takes it and asks [`access::decide`] before acting; it is
/// recorded in task history, as a message's author and in the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The person, through the admin token (UI in a browser, CLI, scripts).
    User,
    /// The person, in the desktop window (Tauri commands).
    Desktop,
    /// An agent, through its session's token: it may act within its own project only.
    Session {
        session_id: String,
        project_id: String,
    },
    /// Baton itself (recovery, cascades).
    System,
}

impl Actor {
    /// Asks the permission decision; a refusal is a 403.
    pub fn may(
        &self,
        operation: access::Operation,
        target: access::Target<'_>,
    ) -> ServiceResult<()> {
        access::decide(self, operation, target).map_err(|denied| ServiceError::Forbidden(denied.0))
    }

    /// May this caller read `project_id`'s records?
    pub fn may_read(&self, project_id: &str) -> ServiceResult<()> {
        self.may(access::Operation::Read, access::Target::Project(project_id))
    }

    /// May this caller change `project_id`'s records?
    pub fn may_write(&self, project_id: &str) -> ServiceResult<()> {
        self.may(
            access::Operation::Write,
            access::Target::Project(project_id),
        )
    }

    /// May this caller act as session `session` of `project` (report for it, type into or watch
    /// its terminal)? Asked before looking anything up, with the caller's own project: an agent
    /// learns nothing of another session, and a session's project is its agent's own.
    pub fn may_act_as(&self, project: &str, session: &str) -> ServiceResult<()> {
        self.may(
            access::Operation::ActAs,
            access::Target::Session { project, session },
        )
    }

    /// May this caller do what only the person may?
    pub fn may_administer(&self, area: access::Admin) -> ServiceResult<()> {
        self.may(access::Operation::Administer(area), access::Target::Any)
    }

    /// The project an agent is confined to, if any (lists are narrowed to it).
    pub fn project_scope(&self) -> Option<&str> {
        match self {
            Actor::Session { project_id, .. } => Some(project_id),
            _ => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User => f.write_str("user"),
            Actor::Desktop => f.write_str("desktop"),
            Actor::Session { session_id, .. } => write!(f, "session:{session_id}"),
            Actor::System => f.write_str("system"),
        }
    }
}

/// The cloneable handle on the service layer.
#[derive(Clone)]
pub struct Service {
    db: DatabaseConnection,
    /// SQLite in this thread for the queue's hot path (none on PostgreSQL).
    local: Option<Arc<crate::store::LocalSqlite>>,
    bus: EventBus,
    writes: Arc<Mutex<()>>,
    /// The loopback API's base URL, handed to agents as `BATON_API_URL`.
    api_url: Arc<str>,
    runtime: Arc<runtime::Runtime>,
    versions: Arc<agents::VersionCache>,
    metrics: Arc<Metrics>,
    webhooks: Arc<webhook_delivery::Webhooks>,
    /// Ends of runs waiting to be recorded (together: `runs::ending`).
    ends: Arc<runs::Ends>,
    /// The queue's wake-up and shutdown flag.
    queue: Arc<queue::QueueRuntime>,
    /// Task list answers, until the next change.
    task_lists: Arc<list_cache::ListCache<tasks::TaskPage>>,
    /// Git work on workspaces (making, merging, removing worktrees), one at a time.
    workspaces: Arc<Mutex<()>>,
    /// Projects whose task conflicts are to be checked, and what was last published.
    conflict_watch: Arc<workspace::conflicts::ConflictWatch>,
    /// When this service started: a monotonic instant for the uptime, and the wall time.
    started: (std::time::Instant, i64),
}

impl Service {
    pub fn new(
        db: DatabaseConnection,
        bus: EventBus,
        api_url: impl Into<Arc<str>>,
        runtime: runtime::Runtime,
    ) -> Self {
        Self {
            db,
            local: None,
            bus,
            writes: Arc::new(Mutex::new(())),
            api_url: api_url.into(),
            runtime: Arc::new(runtime),
            versions: Arc::default(),
            metrics: Arc::default(),
            webhooks: Arc::default(),
            task_lists: Arc::default(),
            queue: Arc::default(),
            ends: Arc::default(),
            workspaces: Arc::default(),
            conflict_watch: Arc::default(),
            started: (std::time::Instant::now(), crate::clock::now_ms()),
        }
    }

    /// Replaces the admin token (the person only; agents may not). Returns the new one.
    pub fn regenerate_token(&self, actor: &Actor) -> ServiceResult<String> {
        actor.may_administer(access::Admin::Token)?;
        self.runtime
            .admin
            .regenerate()
            .map_err(|e| ServiceError::Unavailable(e.to_string()))
    }

    /// The live side: runs, their terminals and the session tokens.
    pub fn runtime(&self) -> &runtime::Runtime {
        &self.runtime
    }

    /// The counters every door adds to (`GET /metrics`).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The same counters, to keep beside the service (the HTTP guard counts its refusals).
    pub fn metrics_handle(&self) -> Arc<Metrics> {
        Arc::clone(&self.metrics)
    }

    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Runs the queue's hot path (a round's reads and starts, a batch of ends) on `local` (see
    /// `store::local_sqlite`).
    pub fn with_local_sqlite(mut self, local: Option<crate::store::LocalSqlite>) -> Self {
        self.local = local.map(Arc::new);
        self
    }

    /// Begins a transaction of the hot path.
    async fn begin_write(&self) -> Result<crate::store::WriteTxn, sea_orm::DbErr> {
        crate::store::WriteTxn::begin(&self.db, self.local.as_deref()).await
    }

    /// Where the hot path reads outside a transaction.
    fn reads(&self) -> crate::store::Reads<'_> {
        crate::store::Reads::of(&self.db, self.local.as_deref())
    }

    /// Takes the write lock; hold it across the transaction and the publishing of its events.
    async fn write_lock(&self) -> MutexGuard<'_, ()> {
        self.writes.lock().await
    }

    fn publish_all(&self, events: Vec<Event>) {
        // Blocked tasks whose gates these may open are looked at by the queue.
        self.note_events(&events);
        for event in events {
            self.metrics.event_published(event.name());
            // Baton's own listeners are told here rather than subscribing to the bus, where each
            // would wake for every event to look for the few it wants.
            self.note_for_conflicts(&event);
            let published = self.bus.publish(event);
            self.webhooks.offer(&published, &self.metrics);
        }
    }
}
