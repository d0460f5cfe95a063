//! `/api/messages`: the project message bus.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};

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
