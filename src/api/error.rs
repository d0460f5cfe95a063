//! The one place where failures become HTTP responses: `{"error", "code", "details"}` with the
//! right status. Internal details (database errors) are logged here, never sent.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::security::redact;
use crate::service::ServiceError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The body is not JSON at all (syntax), or empty.
    #[error("{message}")]
    MalformedBody { message: String },
    /// A field of the body or query is unknown, missing or of the wrong type.
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    #[error("missing or invalid API token")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("no route for {0}")]
    RouteNotFound(String),
    #[error("method not allowed; this route takes {allow}")]
    MethodNotAllowed { allow: String },
    #[error("request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("too many requests with this token; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, Value) {
        match self {
            ApiError::Service(err) => {
                let status =
                    StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (status, err.code(), err.details())
            }
            ApiError::MalformedBody { .. } => {
                (StatusCode::BAD_REQUEST, "malformed_body", json!({}))
            }
            ApiError::InvalidField { field, message } => (
                StatusCode::BAD_REQUEST,
                "invalid_field",
                json!({ "field": field, "problem": message }),
            ),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", json!({})),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", json!({})),
            ApiError::RouteNotFound(path) => {
                (StatusCode::NOT_FOUND, "not_found", json!({ "path": path }))
            }
            ApiError::MethodNotAllowed { allow } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                json!({ "allow": allow }),
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                json!({}),
            ),
            ApiError::PayloadTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                json!({ "limit": limit }),
            ),
            ApiError::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                json!({ "retryAfterSecs": retry_after_secs }),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, mut details) = self.parts();
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed");
            "internal error".to_owned()
        } else {
            // A serde message may quote what was sent: never a secret.
            redact::redact_text(&self.to_string()).into_owned()
        };
        redact::redact_json(&mut details);
        let body = Json(json!({ "error": message, "code": code, "details": details }));
        match status {
            StatusCode::UNAUTHORIZED => {
                (status, [(header::WWW_AUTHENTICATE, "Bearer")], body).into_response()
            }
            StatusCode::METHOD_NOT_ALLOWED => {
                let allow = match &self {
                    ApiError::MethodNotAllowed { allow } => allow.clone(),
                    _ => String::new(),
                };
                (status, [(header::ALLOW, allow)], body).into_response()
            }
            StatusCode::TOO_MANY_REQUESTS => {
                let wait = match &self {
                    ApiError::RateLimited { retry_after_secs } => retry_after_secs.to_string(),
                    _ => "1".to_owned(),
                };
                (status, [(header::RETRY_AFTER, wait)], body).into_response()
            }
            // The rest of an oversized body is never read: this connection is done.
            StatusCode::PAYLOAD_TOO_LARGE => {
                (status, [(header::CONNECTION, "close")], body).into_response()
            }
            _ => (status, body).into_response(),
        }
    }
}
