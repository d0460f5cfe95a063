//! `/api/webhooks`: signed HTTP callbacks for chosen events, and their delivery records.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::state::AppState;
use super::{ErrorBody, Success};
use crate::model::{CreatedWebhook, Delivery, ListDeliveries, NewWebhook, Webhook};
use crate::service::Actor;

type Result<T> = std::result::Result<T, ApiError>;

#[utoipa::path(get, path = "/api/webhooks", tag = "webhooks",
    description = "Every hook (secrets are never shown again after creation). Admin token only.",
    responses((status = 200, body = Vec<Webhook>), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Vec<Webhook>>> {
    Ok(Json(s.service.list_webhooks(&actor).await?))
}

#[utoipa::path(post, path = "/api/webhooks", tag = "webhooks", request_body = NewWebhook,
    description = "Each matching event is POSTed to `url` as the event envelope with `X-Baton-Event`, `X-Baton-Delivery` and `X-Baton-Signature-256: sha256=<HMAC-SHA256 of the body keyed with the secret>`; in order per hook, retried with doubling backoff. The answer holds the secret, once.",
    responses((status = 201, body = CreatedWebhook), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiJson(input): ApiJson<NewWebhook>,
) -> Result<(StatusCode, Json<CreatedWebhook>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.service.create_webhook(input, &actor).await?),
    ))
}

#[utoipa::path(delete, path = "/api/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    description = "Deletes the hook with its pending deliveries and their records.",
    responses((status = 200, body = Success), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Success>> {
    s.service.delete_webhook(&id, &actor).await?;
    Ok(Json(Success::default()))
}

#[utoipa::path(get, path = "/api/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path), ListDeliveries),
    description = "The hook's deliveries, newest first: status, attempts, the receiver's last answer and the body sent.",
    responses((status = 200, body = Vec<Delivery>), (status = 404, body = ErrorBody)))]
pub async fn deliveries(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<ListDeliveries>,
) -> Result<Json<Vec<Delivery>>> {
    Ok(Json(s.service.list_deliveries(&id, &query, &actor).await?))
}
