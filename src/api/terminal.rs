//! `/api/sessions/:id/terminal` (WebSocket) and `/api/sessions/:id/output` (raw bytes).
//!
//! On connect a viewer of a running session first gets `{"type":"screen","offset":N,"data":"…"}`:
//! the current screen (from the server's screen model) to draw on a reset terminal, after which
//! the output continues from byte `N`. With `?offset=` (a reconnect), it gets
//! `{"type":"replay","offset":N}` and the output from byte `N` instead — unless that is more than
//! 1 MiB behind, when it gets the screen. An ended session is replayed from its in-memory tail.
//! Then live output as binary frames, without a gap or a repeat. The server answers the
//! program's terminal queries itself: a viewer's terminal must not answer them. It types with
//! binary frames (or text frames that are not a JSON control message) and sends `{"type":"resize","cols":..,"rows":..}`. When the process
//! exits the viewer gets the rest of the output, `{"type":"exit","code":..,"signal":..}`, and a
//! normal close. A viewer too slow to keep up is closed with 1013 and a reason naming the offset
//! to resume from; the agent never waits for it. Any number of viewers may watch and type. The
//! feed itself is the service's ([`crate::service::terminal_feed`]); this is its WebSocket form.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderName};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery};
use super::guard::WS_PROTOCOL;
use super::state::AppState;
use super::ErrorBody;
use crate::metrics::WsKind;
use crate::service::terminal_feed::{Feed, FeedItem};
use crate::service::{Actor, Service, ServiceError};

const SEND_TIMEOUT: Duration = Duration::from_secs(10);
const NORMAL: u16 = 1000;
const GOING_AWAY: u16 = 1001;
const TRY_AGAIN_LATER: u16 = 1013;
const MAX_OUTPUT_PAGE: u64 = 16 * 1024 * 1024;
/// The largest byte offset a client may name (the document says int64).
const MAX_OFFSET: u64 = i64::MAX as u64;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TerminalQuery {
    /// Replay from this byte offset of the session's output (default: the in-memory tail).
    #[param(value_type = Option<u64>, minimum = 0)]
    pub offset: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutputQuery {
    /// First byte (default 0).
    #[param(value_type = Option<u64>, minimum = 0)]
    pub offset: Option<String>,
    /// At most this many bytes (default and maximum 16 MiB).
    #[param(value_type = Option<u64>, minimum = 0, maximum = 16777216)]
    pub limit: Option<String>,
}

fn number(field: &str, value: Option<&str>, default: u64, max: u64) -> Result<u64, ApiError> {
    crate::service::validate::number(field, value, default, 0, max).map_err(ApiError::from)
}

#[utoipa::path(get, path = "/api/sessions/{id}/terminal", tag = "sessions",
    params(("id" = String, Path), TerminalQuery),
    description = "WebSocket: replay, then live output as binary frames; keystrokes in; resize and exit as JSON text.",
    responses((status = 101, description = "switching to the terminal stream"), (status = 404, body = ErrorBody)))]
pub async fn upgrade(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<TerminalQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let offset = query
        .offset
        .as_deref()
        .map(|o| number("offset", Some(o), 0, MAX_OFFSET))
        .transpose()?;
    // Attach before answering: nothing printed after the handshake is missed.
    let feed = state.service.attach_terminal(&id, offset, &actor).await?;
    let service = state.service.clone();
    let shutdown = state.shutdown.clone();
    Ok(ws
        .protocols([WS_PROTOCOL])
        .on_upgrade(move |socket| async move {
            let _counted = service.metrics().ws_client(WsKind::Terminal);
            viewer(socket, feed, service.clone(), id, actor, shutdown).await
        }))
}

#[utoipa::path(get, path = "/api/sessions/{id}/output", tag = "sessions",
    params(("id" = String, Path), OutputQuery),
    description = "Raw bytes of the session's log. `X-Output-Offset` is the first byte returned, `X-Output-End` the log's length.",
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = ErrorBody)))]
pub async fn output(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<OutputQuery>,
) -> Result<Response, ApiError> {
    state.service.get_session(&id, &actor).await?;
    let offset = number("offset", query.offset.as_deref(), 0, MAX_OFFSET)?;
    let limit = number(
        "limit",
        query.limit.as_deref(),
        MAX_OUTPUT_PAGE,
        MAX_OUTPUT_PAGE,
    )?;
    let out = state.service.session_output(&id)?;
    let end = out.end();
    let bytes = out
        .read(offset, limit)
        .map_err(|e| ServiceError::Unavailable(format!("cannot read the session log: {e}")))?;
    let start = offset.min(end);
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                HeaderName::from_static("x-output-offset"),
                start.to_string(),
            ),
            (HeaderName::from_static("x-output-end"), end.to_string()),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Control {
    Resize { cols: u16, rows: u16 },
}

async fn viewer(
    socket: WebSocket,
    mut feed: Feed,
    service: Service,
    id: String,
    actor: Actor,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let (mut tx, mut rx) = socket.split();
    loop {
        tokio::select! {
            biased;
            item = feed.next() => {
                let frames = match item {
                    Some(FeedItem::Data(bytes)) => vec![Message::Binary(bytes)],
                    Some(FeedItem::Lagged { resume_at }) => vec![close(
                        TRY_AGAIN_LATER,
                        Utf8Bytes::from(format!("too slow; reconnect with ?offset={resume_at}")),
                    )],
                    Some(item) => {
                        let mut frames: Vec<Message> = item.control().map(text).into_iter().collect();
                        if matches!(item, FeedItem::Exit { .. }) {
                            frames.push(close(NORMAL, Utf8Bytes::from_static("session has ended")));
                        }
                        frames
                    }
                    None => return,
                };
                for frame in frames {
                    if !send(&mut tx, frame).await {
                        return;
                    }
                }
            },
            incoming = rx.next() => {
                let refused = match incoming {
                    Some(Ok(Message::Binary(bytes))) => service.write_terminal(&id, bytes.to_vec(), &actor).await.err(),
                    Some(Ok(Message::Text(t))) => match serde_json::from_str::<Control>(&t) {
                        Ok(Control::Resize { cols, rows }) => service.resize_terminal(&id, cols, rows, &actor).err(),
                        Err(_) if t.trim_start().starts_with('{') && t.contains("\"type\"") => {
                            Some(ServiceError::invalid("type", "unknown control message"))
                        }
                        Err(_) => service.write_terminal(&id, t.as_bytes().to_vec(), &actor).await.err(),
                    },
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => None,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                };
                if let Some(err) = refused {
                    if !send(&mut tx, text(json!({ "type": "error", "error": err.to_string() }))).await {
                        return;
                    }
                }
            },
            () = shutdown.cancelled() => {
                let _ = send(&mut tx, close(GOING_AWAY, Utf8Bytes::from_static("server shutting down"))).await;
                return;
            }
        }
    }
}

async fn send(
    tx: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    message: Message,
) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, tx.send(message)).await,
        Ok(Ok(()))
    )
}

fn text(value: serde_json::Value) -> Message {
    Message::Text(Utf8Bytes::from(value.to_string()))
}

fn close(code: u16, reason: Utf8Bytes) -> Message {
    Message::Close(Some(CloseFrame { code, reason }))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// A terminal's control messages: any text is a resize or not, never a panic.
        #[test]
        fn any_text_frame_is_a_control_message_or_not(text in ".{0,120}", cols: u16, rows: u16) {
            let _ = serde_json::from_str::<Control>(&text);
            let resize = serde_json::json!({ "type": "resize", "cols": cols, "rows": rows });
            let parsed = serde_json::from_str::<Control>(&resize.to_string());
            let same = matches!(parsed, Ok(Control::Resize { cols: c, rows: r }) if c == cols && r == rows);
            proptest::prop_assert!(same, "a resize must parse as itself");
        }
    }
}
