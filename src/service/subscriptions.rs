//! Subscribing to the event bus is a service operation like any other: the caller travels with
//! the subscription, and an event is delivered only when [`access::may_see`] lets the caller see
//! its project. `/ws`, the SSE message stream, the desktop window and webhook deliveries all
//! read the bus through here, so an agent's token streams its own project's events only.

use std::sync::Arc;

use tokio::sync::broadcast::{error::RecvError, Receiver};

use super::{access, Actor, Service};
use crate::events::Published;

/// One caller's filtered view of the bus.
pub struct Subscription {
    events: Receiver<Arc<Published>>,
    actor: Actor,
}

impl Subscription {
    /// The next event the caller may see. `Lagged` and `Closed` are passed on as the bus says
    /// them (the caller fell behind; the server stops).
    pub async fn recv(&mut self) -> Result<Arc<Published>, RecvError> {
        loop {
            let published = self.events.recv().await?;
            if access::may_see(&self.actor, published.event.project_id()) {
                return Ok(published);
            }
        }
    }
}

impl Service {
    /// Subscribes `actor` to the events it may see, from now on.
    pub fn subscribe(&self, actor: &Actor) -> Subscription {
        Subscription {
            events: self.bus.subscribe(),
            actor: actor.clone(),
        }
    }
}
