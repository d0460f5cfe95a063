//! `/api/messages`: the project message bus, and its live feed as Server-Sent Events.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::{Extension, Json};
use futures_util::future::ready;
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery};
use super::state::AppState;
use super::ErrorBody;
use crate::model::{ListMessages, Message, NewMessage};
use crate::service::Actor;

type Result<T> = std::result::Result<T, ApiError>;

#[utoipa::path(get, path = "/api/messages", tag = "messages", params(ListMessages),
    responses((status = 200, body = Vec<Message>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiQuery(query): ApiQuery<ListMessages>,
) -> Result<Json<Vec<Message>>> {
    Ok(Json(s.service.list_messages(&query, &actor).await?))
}

#[utoipa::path(post, path = "/api/messages", tag = "messages", request_body = NewMessage,
    responses((status = 201, body = Message), (status = 400, body = ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiJson(input): ApiJson<NewMessage>,
) -> Result<(StatusCode, Json<Message>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.service.post_message(input, &actor).await?),
    ))
}

/// Filters of `GET /api/messages/stream`.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamMessages {
    pub project_id: Option<String>,
    pub task_id: Option<String>,
    pub session_id: Option<String>,
    /// First every stored message after this one, then live. The `Last-Event-ID` header (sent
    /// by `EventSource` when it reconnects) takes precedence.
    pub after: Option<String>,
}

/// How often an idle stream sends a comment, so that proxies and clients see it is alive.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[utoipa::path(get, path = "/api/messages/stream", tag = "messages", params(StreamMessages),
    description = "Server-Sent Events: one `message:created` event per message (`id:` is the message id, `data:` the message), in order, without gaps. Without `after` (or `Last-Event-ID`) only messages posted from now on.",
    responses((status = 200, content_type = "text/event-stream", description = "the stream"),
        (status = 400, body = ErrorBody)))]
pub async fn stream(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<StreamMessages>,
) -> Result<Sse<impl Stream<Item = std::result::Result<SseEvent, Infallible>>>> {
    let last_event = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let query = ListMessages {
        project_id: query.project_id,
        task_id: query.task_id,
        session_id: query.session_id,
        after: last_event.or(query.after),
        limit: None,
    };
    let feed = s.service.message_stream(query, &actor).await?;
    let events = feed
        .take_until(s.shutdown.clone().cancelled_owned())
        .map(|item| match item {
            Ok(message) => Some(Ok(SseEvent::default()
                .event("message:created")
                .id(message.id.clone())
                .json_data(&message)
                .unwrap_or_else(|_| SseEvent::default().comment("unserializable message")))),
            Err(err) => {
                tracing::warn!(%err, "message stream ended");
                None
            }
        })
        .take_while(|item| ready(item.is_some()))
        .filter_map(ready);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}
