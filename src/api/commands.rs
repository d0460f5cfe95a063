//! `POST /api/commands/validate`: the safety check of a command, changing nothing.

use axum::extract::State;
use axum::{Extension, Json};

use super::error::ApiError;
use super::extract::ApiJson;
use super::state::AppState;
use super::ErrorBody;
use crate::model::{CommandCheck, ValidateCommand};
use crate::service::Actor;

#[utoipa::path(post, path = "/api/commands/validate", tag = "commands",
    request_body = ValidateCommand,
    description = "Checks a command (a line, or an argv array) the way Baton checks every command it runs for someone: `dangers` make it refused (422 `dangerous_command`) unless the person confirms; `warnings` do not stop it.",
    responses((status = 200, body = CommandCheck), (status = 400, body = ErrorBody),
        (status = 404, description = "no such project", body = ErrorBody)))]
pub async fn validate(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiJson(body): ApiJson<ValidateCommand>,
) -> Result<Json<CommandCheck>, ApiError> {
    Ok(Json(s.service.validate_command(body, &actor).await?))
}
