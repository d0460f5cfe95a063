//! The service layer: the one place where Baton's rules live. Every door (HTTP API, WebSocket,
//! CLI, MCP, the desktop shell) calls these functions; none of them writes to the store or
//! publishes events by itself.
//!
//! Each mutation runs in one database transaction, under one write lock, and publishes its events
//! only after the commit, while still holding the lock: subscribers see events in commit order,
//! and never an event for a change that was rolled back. SQLite allows one writer at a time
//! anyway; the lock also spares transactions the `SQLITE_BUSY` dance of upgrading a read lock.

mod dependencies;
mod error;
mod history;
mod ids;
mod lookup;
mod messages;
mod projects;
pub mod rules;
mod sessions;
mod subtasks;
mod tasks;
pub mod validate;
mod views;

use std::fmt;
use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::{Mutex, MutexGuard};

pub use error::{ServiceError, ServiceResult};

use crate::events::{Event, EventBus};

/// Who made a change: recorded in task history and as a message's author.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The person, through the admin token (UI, CLI, scripts).
    User,
    /// An agent, through its session's token.
    Session(String),
    /// Baton itself (recovery, cascades).
    System,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User => f.write_str("user"),
            Actor::Session(id) => write!(f, "session:{id}"),
            Actor::System => f.write_str("system"),
        }
    }
}

/// The cloneable handle on the service layer.
#[derive(Clone)]
pub struct Service {
    db: DatabaseConnection,
    bus: EventBus,
    writes: Arc<Mutex<()>>,
    /// The loopback API's base URL, handed to agents as `BATON_API_URL`.
    api_url: Arc<str>,
}

impl Service {
    pub fn new(db: DatabaseConnection, bus: EventBus, api_url: impl Into<Arc<str>>) -> Self {
        Self {
            db,
            bus,
            writes: Arc::new(Mutex::new(())),
            api_url: api_url.into(),
        }
    }

    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Takes the write lock; hold it across the transaction and the publishing of its events.
    async fn write_lock(&self) -> MutexGuard<'_, ()> {
        self.writes.lock().await
    }

    fn publish_all(&self, events: Vec<Event>) {
        for event in events {
            self.bus.publish(event);
        }
    }
}
