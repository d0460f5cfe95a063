//! What a service call can fail with. Each door maps these to its own form in one place (the
//! HTTP API in `api::error`).

use sea_orm::DbErr;
use serde_json::Value;

use crate::security::redact;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The resource named by the request (its path) does not exist.
    #[error("{resource} '{id}' not found")]
    NotFound { resource: &'static str, id: String },
    /// A field of the input is wrong; `field` is its name as the client spelled it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The request is well formed but clashes with the current state.
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        details: Value,
    },
    /// The request is understood but Baton will not do it as asked (a dangerous command not
    /// confirmed, a tool that is missing); 422.
    #[error("{message}")]
    Refused {
        code: &'static str,
        message: String,
        details: Value,
    },
    /// The caller may not do this (an agent acting outside its own project or session).
    #[error("{0}")]
    Forbidden(String),
    /// A program or terminal failed (not the caller's fault).
    #[error("{0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

impl ServiceError {
    pub fn not_found(resource: &'static str, id: impl Into<String>) -> Self {
        ServiceError::NotFound {
            resource,
            id: id.into(),
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ServiceError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>, details: Value) -> Self {
        ServiceError::Conflict {
            code,
            message: message.into(),
            details,
        }
    }
}

impl ServiceError {
    pub fn refused(code: &'static str, message: impl Into<String>, details: Value) -> Self {
        ServiceError::Refused {
            code,
            message: message.into(),
            details,
        }
    }

    /// The HTTP status this failure is, for every door (the desktop's audit records use it too).
    pub fn status(&self) -> u16 {
        match self {
            ServiceError::NotFound { .. } => 404,
            ServiceError::Invalid { .. } => 400,
            ServiceError::Conflict { .. } => 409,
            ServiceError::Refused { .. } => 422,
            ServiceError::Forbidden(_) => 403,
            ServiceError::Unavailable(_) => 503,
            ServiceError::Database(_) => 500,
        }
    }

    /// A stable machine-readable code, the same through every door.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::NotFound { .. } => "not_found",
            ServiceError::Invalid { .. } => "invalid_field",
            ServiceError::Conflict { code, .. } | ServiceError::Refused { code, .. } => code,
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::Unavailable(_) => "unavailable",
            ServiceError::Database(_) => "internal",
        }
    }

    /// Specifics for the caller (never internal details, never a secret it sent).
    pub fn details(&self) -> Value {
        let mut details = match self {
            ServiceError::NotFound { resource, id } => {
                serde_json::json!({ "resource": resource, "id": id })
            }
            ServiceError::Invalid { field, message } => {
                serde_json::json!({ "field": field, "problem": message })
            }
            ServiceError::Conflict { details, .. } | ServiceError::Refused { details, .. } => {
                details.clone()
            }
            _ => serde_json::json!({}),
        };
        redact::redact_json(&mut details);
        details
    }

    /// What the caller is told: internal errors are not described, secrets never repeated.
    pub fn public_message(&self) -> String {
        match self {
            ServiceError::Database(_) => "internal error".to_owned(),
            other => redact::redact_text(&other.to_string()).into_owned(),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
