//! The HTTP door's part of the audit log: every state-changing request (POST, PUT, PATCH,
//! DELETE) that passed the guard is described to `service::audit` once it is answered — the
//! caller, the door (`X-Baton-Door: cli|mcp` from Baton's own clients, else `http`), the route,
//! the ids it named or created, the status and the body (redacted by the service).

use axum::body::{to_bytes, Body};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::ApiError;
use super::extract::MAX_BODY;
use super::state::AppState;
use crate::service::audit::{targets, Change, Door};
use crate::service::Actor;

/// The header by which Baton's CLI and MCP server name themselves.
pub const DOOR_HEADER: &str = "x-baton-door";

/// The middleware (inside the guard: the caller is known).
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let changes = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let (Some(template), Some(actor), true) = (
        req.extensions()
            .get::<MatchedPath>()
            .map(|m| m.as_str().to_owned()),
        req.extensions().get::<Actor>().cloned(),
        changes,
    ) else {
        return next.run(req).await;
    };
    let operation = format!("{} {template}", req.method());
    let path = req.uri().path().to_owned();
    let door = Door::from_header(req.headers().get(DOOR_HEADER).and_then(|v| v.to_str().ok()));
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return ApiError::PayloadTooLarge { limit: MAX_BODY }.into_response();
    };
    // What is typed into a terminal is not kept (a password typed at a prompt, say), as
    // keystrokes over the terminal WebSocket are not: the record says that it was typed. An
    // agent's hook events carry its prompts and tool inputs: the record says one arrived.
    let typed = template.ends_with("/input") || template.ends_with("/hooks");
    let sent = (!bytes.is_empty() && !typed).then(|| {
        serde_json::from_slice::<Value>(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    });
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;

    // What a create made: the `id` of its JSON answer.
    let status = response.status();
    let (parts, body) = response.into_parts();
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let (body, created) = if status == axum::http::StatusCode::CREATED && is_json {
        match to_bytes(body, MAX_BODY).await {
            Ok(bytes) => {
                let id = serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned));
                (Body::from(bytes), id)
            }
            Err(_) => (Body::empty(), None),
        }
    } else {
        (body, None)
    };
    state
        .service
        .record_change(Change {
            actor,
            door,
            targets: targets(&template, &path, sent.as_ref(), created.as_deref()),
            operation,
            status: status.as_u16(),
            body: sent,
        })
        .await;
    Response::from_parts(parts, body)
}

#[utoipa::path(get, path = "/api/audit", tag = "system", params(crate::model::ListAudit),
    description = "The audit log, newest first: every change asked through any door (HTTP, CLI, MCP, desktop), with its actor, operation, target ids, outcome status and redacted body. The admin token only.",
    responses((status = 200, body = Vec<crate::model::AuditEntry>), (status = 400, body = super::ErrorBody),
        (status = 403, body = super::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    axum::Extension(actor): axum::Extension<Actor>,
    super::extract::ApiQuery(query): super::extract::ApiQuery<crate::model::ListAudit>,
) -> Result<axum::Json<Vec<crate::model::AuditEntry>>, ApiError> {
    Ok(axum::Json(s.service.list_audit(&query, &actor).await?))
}
