//! Agent signals over HTTP: hook events posted by `baton hook`, the pending actions a person
//! allows or denies, resuming an agent's conversation, and token usage.

use axum::extract::State;
use axum::{Extension, Json};

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::state::AppState;
use super::ErrorBody;
use crate::model::{
    DecideAction, HookAnswer, HookEvent, PriceTable, Session, SessionAction, SetPrices, Usage,
    UsageQuery,
};
use crate::service::Actor;

type Result<T> = std::result::Result<T, ApiError>;

#[utoipa::path(post, path = "/api/sessions/{id}/hooks", tag = "signals", request_body = HookEvent,
    params(("id" = String, Path)),
    description = "One hook event of the session's agent, as `baton hook <event>` posts it with the session's own token. A `PermissionRequest` becomes a pending action; when the agent's profile has `approvalWaitMs`, the answer waits (at most that long) for Allow / Deny and carries the hook's output for the agent.",
    responses((status = 200, body = HookAnswer), (status = 400, body = ErrorBody),
        (status = 403, description = "not the session's own token", body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn hook(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<HookEvent>,
) -> Result<Json<HookAnswer>> {
    Ok(Json(s.service.session_hook(&id, body, &actor).await?))
}

#[utoipa::path(get, path = "/api/sessions/{id}/actions", tag = "signals", params(("id" = String, Path)),
    description = "The session's permission requests, newest first: pending, allowed, denied or expired (answered in the terminal, or no longer asked).",
    responses((status = 200, body = Vec<SessionAction>), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn actions(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<SessionAction>>> {
    Ok(Json(s.service.list_session_actions(&id, &actor).await?))
}

#[utoipa::path(post, path = "/api/sessions/{id}/actions/{actionId}", tag = "signals", request_body = DecideAction,
    params(("id" = String, Path), ("actionId" = String, Path)),
    description = "Allows or denies a pending action; the agent's waiting hook answers with it. The person only: an agent's token gets 403.",
    responses((status = 200, body = SessionAction), (status = 400, body = ErrorBody),
        (status = 403, description = "an agent's token", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "the action is no longer pending", body = ErrorBody)))]
pub async fn decide(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath((id, action_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<DecideAction>,
) -> Result<Json<SessionAction>> {
    Ok(Json(
        s.service
            .decide_session_action(&id, &action_id, body, &actor)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/sessions/{id}/resume", tag = "signals", params(("id" = String, Path)),
    description = "Runs the agent again into the same conversation (`claude --resume <conversationId>`) as a new run of the session.",
    responses((status = 200, body = Session), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "the session runs, or has no conversation to resume", body = ErrorBody)))]
pub async fn resume(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Session>> {
    Ok(Json(s.service.resume_session(&id, &actor).await?))
}

#[utoipa::path(get, path = "/api/sessions/{id}/usage", tag = "signals", params(("id" = String, Path)),
    description = "Tokens the session's agent used (read from its transcript), per model, with the cost from the price table.",
    responses((status = 200, body = Usage), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn session_usage(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Usage>> {
    Ok(Json(s.service.session_usage(&id, &actor).await?))
}

#[utoipa::path(get, path = "/api/tasks/{id}/usage", tag = "signals", params(("id" = String, Path)),
    description = "Tokens used by the runs the queue started for the task, per model, with their cost.",
    responses((status = 200, body = Usage), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn task_usage(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Usage>> {
    Ok(Json(s.service.task_usage(&id, &actor).await?))
}

#[utoipa::path(get, path = "/api/projects/{id}/usage", tag = "signals", params(("id" = String, Path), UsageQuery),
    description = "Tokens used in the project (optionally since a time), per model, with their cost.",
    responses((status = 200, body = Usage), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn project_usage(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<UsageQuery>,
) -> Result<Json<Usage>> {
    Ok(Json(
        s.service.project_usage(&id, query.since, &actor).await?,
    ))
}

#[utoipa::path(get, path = "/api/prices", tag = "signals",
    description = "The price table usage is priced by: US dollars per million tokens, by model-name prefix (the longest prefix of a model's name prices it), and whether it is Baton's own (`built_in`) or set here (`data_dir`).",
    responses((status = 200, body = PriceTable)))]
pub async fn prices(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<PriceTable>> {
    Ok(Json(s.service.price_table(&actor).await?))
}

#[utoipa::path(put, path = "/api/prices", tag = "signals", request_body = SetPrices,
    description = "Replaces the price table (kept as `<data-dir>/prices.json`); usage is priced by it from now on. The person only.",
    responses((status = 200, body = PriceTable), (status = 400, body = ErrorBody),
        (status = 403, description = "an agent's token", body = ErrorBody)))]
pub async fn set_prices(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiJson(body): ApiJson<SetPrices>,
) -> Result<Json<PriceTable>> {
    Ok(Json(s.service.set_prices(body, &actor).await?))
}

#[utoipa::path(delete, path = "/api/prices", tag = "signals",
    description = "Goes back to Baton's own price table. The person only.",
    responses((status = 200, body = PriceTable),
        (status = 403, description = "an agent's token", body = ErrorBody)))]
pub async fn reset_prices(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<PriceTable>> {
    Ok(Json(s.service.reset_prices(&actor).await?))
}
