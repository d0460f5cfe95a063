//! `/api/sessions/:id/terminal` (WebSocket) and `/api/sessions/:id/output` (raw bytes).
//!
//! On connect a viewer first gets `{"type":"replay","offset":N}` and the output from byte `N`
//! (the in-memory tail, or `?offset=` it asked for) as binary frames, then live output as binary
//! frames, without a gap or a repeat. It types with binary frames (or text frames that are not a
//! JSON control message) and sends `{"type":"resize","cols":..,"rows":..}`. When the process
//! exits the viewer gets the rest of the output, `{"type":"exit","code":..,"signal":..}`, and a
//! normal close. A viewer too slow to keep up is closed with 1013 and a reason naming the offset
//! to resume from; the agent never waits for it. Any number of viewers may watch and type.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderName};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery};
use super::guard::WS_PROTOCOL;
use super::state::AppState;
use super::ErrorBody;
use crate::pty::{Chunk, Replay, Size};
use crate::service::runtime::Run;
use crate::service::{Actor, ServiceError};

const FRAME: usize = 64 * 1024;
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
const NORMAL: u16 = 1000;
const GOING_AWAY: u16 = 1001;
const TRY_AGAIN_LATER: u16 = 1013;
const MAX_OUTPUT_PAGE: u64 = 16 * 1024 * 1024;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TerminalQuery {
    /// Replay from this byte offset of the session's output (default: the in-memory tail).
    pub offset: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutputQuery {
    /// First byte (default 0).
    pub offset: Option<String>,
    /// At most this many bytes (default and maximum 16 MiB).
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
    let session = state.service.get_session(&id, &actor).await?;
    if let Actor::Session { session_id, .. } = &actor {
        if *session_id != id {
            return Err(ServiceError::Forbidden(
                "an agent may attach to its own terminal only".into(),
            )
            .into());
        }
    }
    let offset = query
        .offset
        .as_deref()
        .map(|o| number("offset", Some(o), 0, u64::MAX))
        .transpose()?;
    let output = state.service.session_output(&id)?;
    let run = state.service.session_run(&id);
    // Subscribe before answering: nothing printed after the handshake is missed.
    let replay = output
        .replay(offset)
        .map_err(|e| ServiceError::Unavailable(format!("cannot read the session log: {e}")))?;
    let ended = json!({ "type": "exit", "code": session.exit_code, "signal": session.signal });
    let shutdown = state.shutdown.clone();
    Ok(ws
        .protocols([WS_PROTOCOL])
        .on_upgrade(move |socket| viewer(socket, replay, run, ended, shutdown)))
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
    let offset = number("offset", query.offset.as_deref(), 0, u64::MAX)?;
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
    replay: Replay,
    run: Option<Arc<Run>>,
    ended: serde_json::Value,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let (mut tx, mut rx) = socket.split();
    let Replay {
        offset,
        history,
        mut live,
    } = replay;
    let mut next = offset + history.len() as u64;
    let mut frames = vec![text(json!({ "type": "replay", "offset": offset }))];
    frames.extend(
        history
            .chunks(FRAME)
            .map(|c| Message::Binary(Bytes::copy_from_slice(c))),
    );
    for frame in frames {
        if !send(&mut tx, frame).await {
            return;
        }
    }
    let Some(run) = run else {
        // Ended before we came: the replay was everything.
        let _ = send(&mut tx, text(ended)).await;
        let _ = send(&mut tx, close(NORMAL, "session has ended")).await;
        return;
    };
    let mut exited = run.terminal.exited();
    loop {
        tokio::select! {
            biased;
            chunk = live.recv() => match chunk {
                Ok(chunk) => {
                    if let Some(frame) = fresh(&chunk, &mut next) {
                        if !send(&mut tx, frame).await { return; }
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    let reason = format!("too slow; reconnect with ?offset={next}");
                    let _ = send(&mut tx, Message::Close(Some(CloseFrame { code: TRY_AGAIN_LATER, reason: Utf8Bytes::from(reason) }))).await;
                    return;
                }
                Err(RecvError::Closed) => return,
            },
            exit = async { exited.wait_for(Option::is_some).await.ok().and_then(|e| e.clone()) } => {
                // Everything the process printed is appended before its exit is announced:
                // take what is still queued, then say how it ended.
                while let Ok(chunk) = live.try_recv() {
                    if let Some(frame) = fresh(&chunk, &mut next) {
                        if !send(&mut tx, frame).await { return; }
                    }
                }
                let message = match exit {
                    Some(e) => json!({ "type": "exit", "code": e.code, "signal": e.signal }),
                    None => ended,
                };
                let _ = send(&mut tx, text(message)).await;
                let _ = send(&mut tx, close(NORMAL, "session has ended")).await;
                return;
            },
            incoming = rx.next() => match incoming {
                Some(Ok(Message::Binary(bytes))) => write(&run, bytes.to_vec()).await,
                Some(Ok(Message::Text(t))) => match serde_json::from_str::<Control>(&t) {
                    Ok(Control::Resize { cols, rows }) if (2..=1000).contains(&cols) && (2..=1000).contains(&rows) => {
                        if let Err(err) = run.terminal.resize(Size { cols, rows }) {
                            tracing::debug!(%err, "resize after exit");
                        }
                    }
                    Ok(Control::Resize { .. }) => {
                        let _ = send(&mut tx, text(json!({ "type": "error", "error": "cols and rows must be from 2 to 1000" }))).await;
                    }
                    Err(_) if t.trim_start().starts_with('{') && t.contains("\"type\"") => {
                        let _ = send(&mut tx, text(json!({ "type": "error", "error": "unknown control message" }))).await;
                    }
                    Err(_) => write(&run, t.as_bytes().to_vec()).await,
                },
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
            },
            () = shutdown.cancelled() => {
                let _ = send(&mut tx, close(GOING_AWAY, "server shutting down")).await;
                return;
            }
        }
    }
}

/// The part of `chunk` past `next`, as a frame (replay and live may overlap at the seam).
fn fresh(chunk: &Chunk, next: &mut u64) -> Option<Message> {
    let end = chunk.offset + chunk.data.len() as u64;
    if end <= *next {
        return None;
    }
    let skip = next.saturating_sub(chunk.offset) as usize;
    *next = end;
    Some(Message::Binary(chunk.data.slice(skip..)))
}

/// Keystrokes go through a blocking write (a PTY's input buffer can fill up), off the runtime.
async fn write(run: &Arc<Run>, bytes: Vec<u8>) {
    let terminal = Arc::clone(&run.terminal);
    match tokio::task::spawn_blocking(move || terminal.write(&bytes)).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::debug!(%err, "input after exit"),
        Err(err) => tracing::warn!(%err, "terminal write task failed"),
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

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}
