//! A live, gap-free feed of the message bus for one filter (the SSE stream, `baton msg tail -f`).
//!
//! It subscribes to the event bus *before* reading anything from the store, then serves, in
//! order: the stored messages after the cursor (`after`), then live `message:created` events,
//! skipping those already served from the store. A subscriber that falls behind the bus does not
//! lose messages: it reads what it missed from the store, from the last message it served, and
//! carries on live. Every message is served once, in commit order.

use std::collections::{HashSet, VecDeque};

use futures_util::Stream;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::broadcast::error::RecvError;

use super::error::ServiceResult;
use super::messages::{filtered, visible};
use super::subscriptions::Subscription;
use super::{lookup, views, Actor, Service};
use crate::events::Event;
use crate::model::{ListMessages, Message};
use crate::store::entity::message;

/// How many stored messages one catch-up read takes.
const PAGE: u64 = 500;

/// Where the next catch-up read starts.
enum Cursor {
    /// After this insertion sequence number.
    Seq(i64),
    /// After this message (its sequence number is looked up when needed).
    Id(String),
}

struct Feed {
    service: Service,
    query: ListMessages,
    actor: Actor,
    events: Subscription,
    cursor: Cursor,
    /// Stored messages to serve before anything live.
    backlog: VecDeque<Message>,
    /// Whether the store may hold messages after the cursor that were not served.
    catching_up: bool,
    /// Ids served from the store whose live events may still be queued on the bus.
    served_from_store: HashSet<String>,
}

impl Service {
    /// Messages matching `query` (project, task, session) as they are posted; with
    /// `query.after`, first every stored message after that one.
    pub async fn message_stream(
        &self,
        query: ListMessages,
        actor: &Actor,
    ) -> ServiceResult<impl Stream<Item = ServiceResult<Message>> + Send + 'static> {
        if let Some(project) = &query.project_id {
            actor.may_read(project)?;
            lookup::project_field(&self.db, "projectId", project).await?;
        }
        // Subscribe first: whatever is posted from here on is on the bus or in the store.
        let events = self.subscribe(actor);
        let (cursor, catching_up) = match &query.after {
            Some(after) => {
                let seq = lookup::message_field(&self.db, "after", after).await?.seq;
                (Cursor::Seq(seq), true)
            }
            None => {
                let newest = message::Entity::find()
                    .select_only()
                    .column_as(message::Column::Seq.max(), "max")
                    .into_tuple::<Option<i64>>()
                    .one(&self.db)
                    .await?
                    .flatten()
                    .unwrap_or(0);
                (Cursor::Seq(newest), false)
            }
        };
        let feed = Feed {
            service: self.clone(),
            query,
            actor: actor.clone(),
            events,
            cursor,
            backlog: VecDeque::new(),
            catching_up,
            served_from_store: HashSet::new(),
        };
        Ok(futures_util::stream::unfold(feed, |mut feed| async move {
            let next = feed.next().await?;
            Some((next, feed))
        }))
    }
}

impl Feed {
    /// The next message; `None` when the bus closes (the server stops).
    async fn next(&mut self) -> Option<ServiceResult<Message>> {
        loop {
            if let Some(m) = self.backlog.pop_front() {
                // The cursor already stands after the whole page read into the backlog.
                return Some(Ok(m));
            }
            if self.catching_up {
                if let Err(err) = self.read_store().await {
                    return Some(Err(err));
                }
                continue;
            }
            match self.events.recv().await {
                Ok(published) => {
                    let Event::MessageCreated(m) = &published.event else {
                        continue;
                    };
                    if !visible(&self.query, &self.actor, m) {
                        continue;
                    }
                    if self.served_from_store.remove(&m.id) {
                        continue;
                    }
                    // Events come in commit order: one not read from the store means every
                    // later one was not either.
                    self.served_from_store.clear();
                    self.cursor = Cursor::Id(m.id.clone());
                    return Some(Ok(m.clone()));
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(
                        missed,
                        "message stream fell behind the bus; reading the store"
                    );
                    self.catching_up = true;
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }

    /// Reads the next page of stored messages after the cursor into the backlog.
    async fn read_store(&mut self) -> ServiceResult<()> {
        let db = self.service.db();
        let after = match &self.cursor {
            Cursor::Seq(seq) => *seq,
            Cursor::Id(id) => lookup::message_field(db, "after", id).await?.seq,
        };
        let rows = filtered(&self.query, &self.actor)
            .filter(message::Column::Seq.gt(after))
            .order_by_asc(message::Column::Seq)
            .limit(PAGE)
            .all(db)
            .await?;
        if (rows.len() as u64) < PAGE {
            self.catching_up = false;
        }
        if let Some(last) = rows.last() {
            self.cursor = Cursor::Seq(last.seq);
        }
        for row in rows {
            self.served_from_store.insert(row.id.clone());
            self.backlog.push_back(views::message(row));
        }
        Ok(())
    }
}
