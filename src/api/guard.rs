//! The gate every request passes before a handler sees it, in this order:
//!
//! 1. `Host` must be exactly one of the server's own loopback names with its port (DNS
//!    rebinding: a foreign name that resolves to 127.0.0.1 is refused) — 403;
//! 2. an `Origin`, if sent, must be exactly the server's own origin (a web page on another site,
//!    or `null`, is refused on HTTP and WebSocket alike) — 403;
//! 3. every route but `GET /api/health` and the web UI's static files needs the token: `Authorization: Bearer <token>`, or for
//!    a WebSocket upgrade (browsers cannot set headers there) the subprotocols `baton.v1` and
//!    `bearer.<token>`. A token in the query string is never accepted — 401;
//! 4. a method the route does not have is refused (with `Allow`) before anything else is
//!    looked at — 405;
//! 5. a request that carries a body, or says what type its body is, must say
//!    `Content-Type: application/json` (a cross-site form cannot) — 415. A request without a body
//!    needs no type: the token (never a cookie) is what a cross-site request cannot have;
//! 6. a declared body over 1 MiB is refused before it is read — 413;
//! 7. each token has a rate limit ([`super::rate_limit`]), streams excepted — 429.
//!
//! No CORS headers are ever sent. The caller's identity is put in the request's extensions as an
//! [`Actor`] for the handlers. The guard only authenticates: what the caller may do is decided by
//! the service (`service::access`), the same for every door.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::extract::MAX_BODY;
use super::rate_limit::{is_stream, retry_after_secs, RateLimits, Rates};
use crate::metrics::Metrics;
use crate::security::{SessionTokens, SharedToken};
use crate::service::Actor;

/// The subprotocol a WebSocket client offers (and the server answers) beside its token.
pub const WS_PROTOCOL: &str = "baton.v1";
const WS_BEARER_PREFIX: &str = "bearer.";

/// What the gate lets through.
pub struct Guard {
    hosts: Vec<String>,
    origins: Vec<String>,
    token: SharedToken,
    sessions: SessionTokens,
    limits: RateLimits,
    metrics: Arc<Metrics>,
    /// The methods of each route, by its template (from the OpenAPI document).
    methods: HashMap<String, Vec<Method>>,
}

impl Guard {
    /// Accepts the loopback names on `port`, plus `extra_hosts` (`host:port` forms, for a server
    /// deliberately bound to another interface).
    pub fn new(
        port: u16,
        extra_hosts: &[String],
        token: SharedToken,
        sessions: SessionTokens,
        rates: Rates,
        metrics: Arc<Metrics>,
    ) -> Self {
        let mut hosts = vec![
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
        ];
        hosts.extend(extra_hosts.iter().cloned());
        let origins = hosts.iter().map(|h| format!("http://{h}")).collect();
        Self {
            hosts,
            origins,
            token,
            sessions,
            limits: RateLimits::new(rates),
            metrics,
            methods: HashMap::new(),
        }
    }

    /// Learns each route's methods, so that another method gets 405 with `Allow`.
    pub fn route_methods(mut self, methods: HashMap<String, Vec<Method>>) -> Self {
        self.methods = methods;
        self
    }

    fn check(&self, req: &Request) -> Result<Actor, ApiError> {
        let headers = req.headers();
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri().authority().map(|a| a.as_str()));
        if !host.is_some_and(|h| self.hosts.iter().any(|ok| ok.eq_ignore_ascii_case(h))) {
            return Err(ApiError::Forbidden(
                "Host is not this server's loopback address",
            ));
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            if !self
                .origins
                .iter()
                .any(|ok| ok.eq_ignore_ascii_case(origin))
            {
                return Err(ApiError::Forbidden("cross-origin requests are not allowed"));
            }
        }
        let path = req.uri().path();
        let reads = matches!(*req.method(), Method::GET | Method::HEAD);
        // Health, and the web UI's files (no data in them; all they do needs the token).
        let public = reads
            && (path == "/api/health"
                || !(path.starts_with("/api/")
                    || path == "/api"
                    || path == "/ws"
                    || path == "/metrics"));
        let actor = if public {
            Actor::User
        } else {
            self.authenticate(headers)?
        };
        if !public && !is_stream(path) {
            if let Err(wait) = self.limits.check(&actor) {
                let caller = match actor {
                    Actor::Session { .. } => "agent",
                    _ => "person",
                };
                self.metrics.rate_limited(caller);
                return Err(ApiError::RateLimited {
                    retry_after_secs: retry_after_secs(wait),
                });
            }
        }
        let method = req.method();
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        if let Some(allowed) = route.and_then(|r| self.methods.get(r)) {
            let head_of_get = *method == Method::HEAD && allowed.contains(&Method::GET);
            if !allowed.contains(method) && !head_of_get {
                let allow = allowed.iter().map(Method::as_str).collect::<Vec<_>>();
                return Err(ApiError::MethodNotAllowed {
                    allow: allow.join(", "),
                });
            }
        }
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let has_body =
            headers.contains_key(header::TRANSFER_ENCODING) || declared.is_some_and(|len| len > 0);
        let may_carry_body = matches!(
            *method,
            Method::POST | Method::PUT | Method::PATCH | Method::DELETE
        );
        let needs_json = may_carry_body && (has_body || headers.contains_key(header::CONTENT_TYPE));
        if needs_json && !is_json(headers) {
            return Err(ApiError::UnsupportedMediaType);
        }
        if declared.is_some_and(|len| len > MAX_BODY as u64) {
            return Err(ApiError::PayloadTooLarge { limit: MAX_BODY });
        }
        Ok(actor)
    }

    fn authenticate(&self, headers: &HeaderMap) -> Result<Actor, ApiError> {
        // Two credentials are one too many: which one a proxy or a framework reads is anyone's
        // guess, so neither is.
        if headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
            return Err(ApiError::Unauthorized);
        }
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let offered = bearer.or_else(|| ws_bearer(headers));
        match offered {
            Some(token) if self.token.matches(token) => Ok(Actor::User),
            Some(token) => match self.sessions.resolve(token) {
                Some(grant) => Ok(Actor::Session {
                    session_id: grant.session_id,
                    project_id: grant.project_id,
                }),
                None => Err(ApiError::Unauthorized),
            },
            None => Err(ApiError::Unauthorized),
        }
    }
}

/// The token offered as a `bearer.<token>` WebSocket subprotocol, when `baton.v1` is offered too.
fn ws_bearer(headers: &HeaderMap) -> Option<&str> {
    let offered: Vec<&str> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if !offered.contains(&WS_PROTOCOL) {
        return None;
    }
    offered
        .iter()
        .find_map(|p| p.strip_prefix(WS_BEARER_PREFIX))
}

/// Whether the request declares a JSON body (`application/json`, parameters allowed).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// The middleware: runs [`Guard::check`] and hands the caller's [`Actor`] on.
pub async fn gate(State(guard): State<Arc<Guard>>, mut req: Request, next: Next) -> Response {
    let mut checked = guard.check(&req);
    if let Ok(Actor::Session { session_id, .. }) = &checked {
        // An agent acting the instant it starts waits until its start is recorded; a start
        // that failed has revoked its token by then.
        guard.sessions.starting(session_id).await;
        if !guard.sessions.is_live(session_id) {
            checked = Err(ApiError::Unauthorized);
        }
    }
    match checked {
        Ok(actor) => {
            req.extensions_mut().insert(actor);
            next.run(req).await
        }
        Err(err) => {
            tracing::debug!(method = %req.method(), path = req.uri().path(), error = %err, "refused");
            // The request body (if any) is left unread, so the connection cannot carry another
            // request: say so, or a client may reuse it and see it die.
            let mut response = err.into_response();
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            response
        }
    }
}
