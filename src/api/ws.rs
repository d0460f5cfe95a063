//! `/ws`: the live event stream. Each client gets every event as `{"event", "data"}` text, or
//! the subset it asked for with `{"type":"subscribe","events":[...],"projectId":...}` (answered
//! with `{"type":"subscribed",...}`); `{"type":"ping"}` is answered with `{"type":"pong",
//! "timestamp":...}`.
//!
//! A slow client never holds anyone up: the bus does not wait for it, and a client that falls
//! more than the bus's capacity behind, or cannot take a frame within [`SEND_TIMEOUT`], is
//! closed (code 1013, "try again later") so that it reconnects and reloads instead of silently
//! missing events.

use std::collections::HashSet;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::guard::WS_PROTOCOL;
use super::state::AppState;
use crate::clock::now_ms;
use crate::events::{pattern_matches, Event};
use crate::metrics::WsKind;
use crate::service::subscriptions::Subscription;
use crate::service::Actor;

const SEND_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// Close codes (RFC 6455).
const GOING_AWAY: u16 = 1001;
const TRY_AGAIN_LATER: u16 = 1013;

#[utoipa::path(get, path = "/ws", tag = "events",
    description = "WebSocket upgrade. Authenticate with `Authorization: Bearer`, or offer the subprotocols `baton.v1` and `bearer.<token>`.",
    responses((status = 101, description = "switching to the event stream")))]
pub async fn upgrade(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ws: WebSocketUpgrade,
) -> Response {
    // Subscribe before answering, so that nothing published after the handshake is missed.
    // An agent's token sees its own project's events only.
    let events = state.service.subscribe(&actor);
    let shutdown = state.shutdown.clone();
    let service = state.service.clone();
    ws.protocols([WS_PROTOCOL])
        .max_message_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| async move {
            let _counted = service.metrics().ws_client(WsKind::Events);
            client(socket, events, shutdown).await
        })
}

/// What a client asked to receive.
#[derive(Default)]
struct Filter {
    /// Exact names, or `resource:*` prefixes; `None` = everything.
    events: Option<HashSet<String>>,
    project_id: Option<String>,
}

impl Filter {
    fn accepts(&self, event: &Event) -> bool {
        if let Some(project) = &self.project_id {
            if event.project_id() != project {
                return false;
            }
        }
        let Some(names) = &self.events else {
            return true;
        };
        names.iter().any(|p| pattern_matches(p, event.name()))
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum ClientMessage {
    Subscribe {
        #[serde(default)]
        events: Option<Vec<String>>,
        #[serde(default, rename = "projectId")]
        project_id: Option<String>,
    },
    Ping,
}

async fn client(
    socket: WebSocket,
    mut events: Subscription,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let (mut tx, mut rx) = socket.split();
    let mut filter = Filter::default();
    let close = |code: u16, reason: &'static str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        }))
    };
    loop {
        // Biased: events already published go out before the answer to a later ping, so a pong
        // tells a client that it has seen everything published before its ping.
        let outgoing = tokio::select! {
            biased;
            published = events.recv() => match published {
                Ok(p) if filter.accepts(&p.event) => Message::Text(Utf8Bytes::from(p.json().as_ref())),
                Ok(_) => continue,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "event client fell behind; closing it");
                    let _sent = tx.send(close(TRY_AGAIN_LATER, "fell behind the event stream; reconnect")).await;
                    return;
                }
                Err(RecvError::Closed) => return,
            },
            incoming = rx.next() => match incoming {
                Some(Ok(Message::Text(text))) => reply(&text, &mut filter),
                Some(Ok(Message::Binary(_))) => error_reply("binary frames are not accepted; send JSON text"),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
            },
            () = shutdown.cancelled() => {
                let _sent = tx.send(close(GOING_AWAY, "server shutting down")).await;
                return;
            }
        };
        match tokio::time::timeout(SEND_TIMEOUT, tx.send(outgoing)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return,
            Err(_) => {
                tracing::warn!("event client did not take a frame in time; dropping it");
                return;
            }
        }
    }
}

/// Answers one control message from the client.
fn reply(text: &str, filter: &mut Filter) -> Message {
    match serde_json::from_str::<ClientMessage>(text) {
        Ok(ClientMessage::Ping) => json_message(json!({ "type": "pong", "timestamp": now_ms() })),
        Ok(ClientMessage::Subscribe { events, project_id }) => {
            let events = events.filter(|list| !list.is_empty());
            let ack = json!({ "type": "subscribed", "events": events, "projectId": project_id });
            filter.events = events.map(|list| list.into_iter().collect());
            filter.project_id = project_id;
            json_message(ack)
        }
        Err(err) => error_reply(&format!("unknown message: {err}")),
    }
}

fn error_reply(message: &str) -> Message {
    json_message(json!({ "type": "error", "error": message }))
}

fn json_message(value: serde_json::Value) -> Message {
    Message::Text(Utf8Bytes::from(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any text a client sends gets an answer (pong, subscribed or error), never a panic.
        #[test]
        fn any_client_message_is_answered(text in ".{0,200}") {
            let mut filter = Filter::default();
            let Message::Text(answer) = reply(&text, &mut filter) else {
                panic!("answers are text");
            };
            let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
            proptest::prop_assert!(["pong", "subscribed", "error"].contains(&answer["type"].as_str().unwrap()));
        }
    }
}
