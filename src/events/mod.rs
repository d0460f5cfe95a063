//! The in-process event bus: every change in Baton becomes one typed [`Event`], published once
//! and fanned out to every subscriber (WebSocket clients now; the desktop UI and webhooks later).
//!
//! Publishing never waits: the bus is a `tokio::sync::broadcast` channel, so a subscriber that
//! falls behind loses its place (it sees `Lagged`) instead of slowing the publisher or the other
//! subscribers. Each event is serialized to its wire form once, by the first subscriber that
//! needs it (a WebSocket client, a webhook, the desktop window): none is made for an event that
//! only Baton's own listeners hear.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::model::{
    Message, Project, QueueStatus, Run, Session, SessionAction, Task, TaskConflicts, Workspace,
};

/// How many events a subscriber may fall behind before it is told it lagged.
pub const CAPACITY: usize = 4096;

/// One change, named `resource:verb` on the wire: `{"event": "task:created", "data": {...}}`.
/// The serialization is the wire form, and the OpenAPI document's `Event` schema (a union the
/// UI's types are generated from).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(tag = "event", content = "data")]
pub enum Event {
    #[serde(rename = "project:created")]
    ProjectCreated(Project),
    #[serde(rename = "project:updated")]
    ProjectUpdated(Project),
    #[serde(rename = "project:deleted")]
    ProjectDeleted { id: String },
    #[serde(rename = "task:created")]
    TaskCreated(Task),
    #[serde(rename = "task:updated")]
    TaskUpdated(Task),
    #[serde(rename = "task:deleted", rename_all = "camelCase")]
    TaskDeleted { id: String, project_id: String },
    #[serde(rename = "session:created")]
    SessionCreated(Session),
    #[serde(rename = "session:updated")]
    SessionUpdated(Session),
    #[serde(rename = "session:deleted", rename_all = "camelCase")]
    SessionDeleted { id: String, project_id: String },
    #[serde(rename = "session:task_added")]
    SessionTaskAdded(Link),
    #[serde(rename = "session:task_removed")]
    SessionTaskRemoved(Link),
    #[serde(rename = "task:session_added")]
    TaskSessionAdded(Link),
    #[serde(rename = "task:session_removed")]
    TaskSessionRemoved(Link),
    #[serde(rename = "message:created")]
    MessageCreated(Message),
    /// A session's process started (a new run).
    #[serde(rename = "run:started")]
    RunStarted(Run),
    /// A run ended: its exit, why, and the part of the log it wrote.
    #[serde(rename = "run:ended")]
    RunEnded(Run),
    /// The queue changed (admin and desktop only: it counts every project).
    #[serde(rename = "queue:updated")]
    QueueUpdated(QueueStatus),
    /// A task's worktree was made (or restored).
    #[serde(rename = "workspace:updated")]
    WorkspaceUpdated(Workspace),
    /// A task's worktree was removed (archived, or removed by hand).
    #[serde(rename = "workspace:removed", rename_all = "camelCase")]
    WorkspaceRemoved { task_id: String, project_id: String },
    /// A task's conflicts with sibling tasks (or its base branch) changed.
    #[serde(rename = "task:conflicts")]
    TaskConflicts(TaskConflicts),
    #[serde(rename = "session:action_requested")]
    SessionActionRequested(SessionAction),
    #[serde(rename = "session:action_resolved")]
    SessionActionResolved(SessionAction),
}

/// A session↔task link, as carried by the four relationship events.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub session_id: String,
    pub task_id: String,
    #[serde(skip)]
    pub project_id: String,
}

/// Every event name there is.
pub const NAMES: [&str; 22] = [
    "project:created",
    "project:updated",
    "project:deleted",
    "task:created",
    "task:updated",
    "task:deleted",
    "session:created",
    "session:updated",
    "session:deleted",
    "session:task_added",
    "session:task_removed",
    "task:session_added",
    "task:session_removed",
    "message:created",
    "run:started",
    "run:ended",
    "queue:updated",
    "workspace:updated",
    "task:conflicts",
    "workspace:removed",
    "session:action_requested",
    "session:action_resolved",
];

/// Whether `pattern` (an exact name, `resource:*`, or `*`) selects the event `name`.
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix(":*") {
        _ if pattern == "*" => true,
        Some(resource) => name.split(':').next() == Some(resource),
        None => pattern == name,
    }
}

/// Whether `pattern` can ever select an event (a known name, a known resource's `:*`, or `*`).
pub fn pattern_is_known(pattern: &str) -> bool {
    NAMES.iter().any(|name| pattern_matches(pattern, name))
}

impl Event {
    /// The wire name, e.g. `task:created`.
    pub fn name(&self) -> &'static str {
        match self {
            Event::ProjectCreated(_) => "project:created",
            Event::ProjectUpdated(_) => "project:updated",
            Event::ProjectDeleted { .. } => "project:deleted",
            Event::TaskCreated(_) => "task:created",
            Event::TaskUpdated(_) => "task:updated",
            Event::TaskDeleted { .. } => "task:deleted",
            Event::SessionCreated(_) => "session:created",
            Event::SessionUpdated(_) => "session:updated",
            Event::SessionDeleted { .. } => "session:deleted",
            Event::SessionTaskAdded(_) => "session:task_added",
            Event::SessionTaskRemoved(_) => "session:task_removed",
            Event::TaskSessionAdded(_) => "task:session_added",
            Event::TaskSessionRemoved(_) => "task:session_removed",
            Event::MessageCreated(_) => "message:created",
            Event::RunStarted(_) => "run:started",
            Event::RunEnded(_) => "run:ended",
            Event::QueueUpdated(_) => "queue:updated",
            Event::WorkspaceUpdated(_) => "workspace:updated",
            Event::TaskConflicts(_) => "task:conflicts",
            Event::SessionActionRequested(_) => "session:action_requested",
            Event::SessionActionResolved(_) => "session:action_resolved",
            Event::WorkspaceRemoved { .. } => "workspace:removed",
        }
    }

    /// The project the change belongs to, for subscribers that narrow to one project.
    pub fn project_id(&self) -> &str {
        match self {
            Event::ProjectCreated(p) | Event::ProjectUpdated(p) => &p.id,
            Event::ProjectDeleted { id } => id,
            Event::TaskCreated(t) | Event::TaskUpdated(t) => &t.project_id,
            Event::TaskDeleted { project_id, .. } | Event::SessionDeleted { project_id, .. } => {
                project_id
            }
            Event::SessionCreated(s) | Event::SessionUpdated(s) => &s.project_id,
            Event::SessionTaskAdded(l)
            | Event::SessionTaskRemoved(l)
            | Event::TaskSessionAdded(l)
            | Event::TaskSessionRemoved(l) => &l.project_id,
            Event::MessageCreated(m) => &m.project_id,
            Event::RunStarted(r) | Event::RunEnded(r) => &r.project_id,
            // Every project's: no project (an agent's subscription never sees it).
            Event::QueueUpdated(_) => "",
            Event::WorkspaceUpdated(w) => &w.project_id,
            Event::TaskConflicts(c) => &c.project_id,
            Event::WorkspaceRemoved { project_id, .. } => project_id,
            Event::SessionActionRequested(a) | Event::SessionActionResolved(a) => &a.project_id,
        }
    }

    /// The envelope `{"event": ..., "data": ...}` as JSON text.
    pub fn to_envelope(&self) -> String {
        // Our own plain structs always serialize.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// An event as subscribers receive it: the typed value and its wire form, made once, when first
/// asked for.
#[derive(Debug)]
pub struct Published {
    pub event: Event,
    json: std::sync::OnceLock<Arc<str>>,
}

impl Published {
    pub fn new(event: Event) -> Self {
        Self {
            event,
            json: std::sync::OnceLock::new(),
        }
    }

    /// The event's wire form (`{"event": name, "data": …}`), serialized by the first caller.
    pub fn json(&self) -> &Arc<str> {
        self.json
            .get_or_init(|| Arc::from(self.event.to_envelope()))
    }
}

/// The bus. Cloning it gives another handle on the same channel.
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<Published>>,
    /// How many events were published: every change publishes, so an answer computed at one
    /// version is current until the next (what the list cache keys on).
    version: Arc<std::sync::atomic::AtomicU64>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(CAPACITY);
        Self {
            tx,
            version: Arc::default(),
        }
    }

    /// Publishes `event` to every current subscriber; never blocks. Returns it as they receive
    /// it.
    pub fn publish(&self, event: Event) -> Arc<Published> {
        tracing::debug!(event = event.name(), "publish");
        self.version
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let published = Arc::new(Published::new(event));
        // An error only means nobody listens right now.
        let _unheard = self.tx.send(Arc::clone(&published));
        published
    }

    /// The number of events published so far.
    pub fn version(&self) -> u64 {
        self.version.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.tx.subscribe()
    }

    /// How many subscribers listen now.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event's wire form is made when first asked for, once, whoever asks: every subscriber
    /// gets the same text.
    #[test]
    fn an_events_wire_form_is_made_once_when_asked_for() {
        let bus = EventBus::new();
        let mut heard = bus.subscribe();
        let published = bus.publish(Event::ProjectDeleted {
            id: "proj_1".into(),
        });
        let received = heard.try_recv().expect("a subscriber hears it");
        assert!(Arc::ptr_eq(&published, &received));
        let first = Arc::clone(received.json());
        assert!(Arc::ptr_eq(&first, published.json()), "made once");
        let value: serde_json::Value = serde_json::from_str(&first).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"event": "project:deleted", "data": {"id": "proj_1"}})
        );
    }

    #[test]
    fn patterns_select_names_resources_or_everything() {
        assert!(pattern_matches("task:created", "task:created"));
        assert!(!pattern_matches("task:created", "task:updated"));
        assert!(pattern_matches("task:*", "task:session_added"));
        assert!(!pattern_matches("task:*", "session:task_added"));
        assert!(pattern_matches("*", "message:created"));
        assert!(pattern_is_known("session:*") && !pattern_is_known("sessions:*"));
        assert!(!pattern_is_known("task:exploded"));
    }

    #[test]
    fn envelope_names_the_event_and_carries_its_data() {
        let event = Event::TaskDeleted {
            id: "task_1".into(),
            project_id: "proj_1".into(),
        };
        let value: serde_json::Value = serde_json::from_str(&event.to_envelope()).unwrap();
        assert_eq!(value["event"], "task:deleted");
        assert_eq!(value["event"], event.name());
        assert_eq!(
            value["data"],
            serde_json::json!({"id": "task_1", "projectId": "proj_1"})
        );
        assert_eq!(event.project_id(), "proj_1");
    }

    #[test]
    fn link_events_carry_both_ids_but_not_the_project() {
        let link = Link {
            session_id: "s".into(),
            task_id: "t".into(),
            project_id: "p".into(),
        };
        let event = Event::TaskSessionAdded(link);
        let value: serde_json::Value = serde_json::from_str(&event.to_envelope()).unwrap();
        assert_eq!(value["event"], event.name());
        assert_eq!(
            value["data"],
            serde_json::json!({"sessionId": "s", "taskId": "t"})
        );
    }

    #[tokio::test]
    async fn a_lagging_subscriber_does_not_block_the_publisher() {
        let bus = EventBus::new();
        let mut slow = bus.subscribe();
        for i in 0..(CAPACITY + 10) {
            bus.publish(Event::ProjectDeleted { id: i.to_string() });
        }
        assert!(matches!(
            slow.recv().await,
            Err(broadcast::error::RecvError::Lagged(_))
        ));
    }
}
