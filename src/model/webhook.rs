//! Webhooks: an HTTP endpoint that receives chosen events, signed, in order, with retries.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: String,
    pub url: String,
    /// Event names (`task:created`), resource patterns (`task:*`) or `*`.
    pub events: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The answer to creating a hook: the only time its secret is shown.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The HMAC-SHA256 key of `X-Baton-Signature-256`. Not shown again.
    pub secret: String,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({ "url": "http://127.0.0.1:9/hook", "events": ["task:*"] }))]
pub struct NewWebhook {
    /// `http://` or `https://`.
    #[schema(schema_with = super::schema::http_url)]
    pub url: String,
    /// At least 16 characters; generated when absent.
    #[serde(default)]
    #[schema(min_length = 16)]
    pub secret: Option<String>,
    /// Event names (`task:created`), resource patterns (`task:*`) or `*`.
    #[schema(schema_with = super::schema::event_patterns)]
    pub events: Vec<String>,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not yet delivered; retried with backoff.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up after the last attempt.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// One event for one hook (`X-Baton-Delivery` is its id).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: String,
    pub webhook_id: String,
    pub event: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// The receiver's last HTTP status, if it answered.
    pub response_status: Option<i32>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// The body POSTed: the event envelope.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: i64,
    pub last_attempt_at: Option<i64>,
    pub delivered_at: Option<i64>,
}

/// Paging of `GET /api/webhooks/:id/deliveries` (newest first).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListDeliveries {
    /// `pending`, `delivered` or `failed`.
    #[param(value_type = Option<DeliveryStatus>)]
    pub status: Option<String>,
    /// 1–1000, default 100.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}
