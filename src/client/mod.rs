//! A client of the loopback API, for the doors that run in another process: the `baton` CLI and
//! `baton mcp`. It finds the server, sends the token, and turns failures into one clear sentence.
//! It holds no rules of its own: every request lands in the service layer through the API.
//!
//! The server is `BATON_API_URL` + `BATON_TOKEN` (what Baton gives every agent), else the
//! address the running server recorded in `<data-dir>/server.json` with the token beside it.

mod agent_env;
mod api;
mod discover;
pub mod tls;

use std::time::Duration;

use futures_util::{Stream, StreamExt};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

pub use agent_env::AgentEnv;
pub use discover::{discover, Endpoint};

/// Why a request did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("Baton is not running: {0}")]
    NotRunning(String),
    #[error("{0}")]
    Setup(String),
    /// The API answered with an error body.
    #[error("{message}")]
    Api {
        status: u16,
        code: String,
        message: String,
        details: Value,
    },
    #[error("{0}")]
    Protocol(String),
}

pub type ClientResult<T> = Result<T, ClientError>;

/// A terminal's WebSocket.
pub type Terminal =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A connection to one Baton server.
#[derive(Clone)]
pub struct Client {
    endpoint: Endpoint,
    http: reqwest::Client,
    /// Which of Baton's doors this client is (`cli`, `mcp`), said in `X-Baton-Door` for the
    /// audit log.
    door: &'static str,
}

impl Client {
    pub fn new(endpoint: Endpoint, door: &'static str) -> ClientResult<Self> {
        tls::choose_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ClientError::Setup(format!("cannot make an HTTP client: {e}")))?;
        Ok(Self {
            endpoint,
            http,
            door,
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub async fn get(&self, path: &str) -> ClientResult<Value> {
        self.call(Method::GET, path, None::<&()>).await
    }

    pub async fn post(&self, path: &str, body: &impl Serialize) -> ClientResult<Value> {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &impl Serialize) -> ClientResult<Value> {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &impl Serialize) -> ClientResult<Value> {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> ClientResult<Value> {
        self.call(Method::DELETE, path, None::<&()>).await
    }

    /// A DELETE with a body (`DELETE /api/queue {"confirm": true}`).
    pub async fn delete_as<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> ClientResult<T> {
        typed(path, self.call(Method::DELETE, path, Some(body)).await?)
    }

    /// A typed answer.
    pub async fn get_as<T: DeserializeOwned>(&self, path: &str) -> ClientResult<T> {
        typed(path, self.get(path).await?)
    }

    pub async fn post_as<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> ClientResult<T> {
        typed(path, self.post(path, body).await?)
    }

    pub async fn patch_as<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> ClientResult<T> {
        typed(path, self.patch(path, body).await?)
    }

    pub async fn put_as<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> ClientResult<T> {
        typed(path, self.put(path, body).await?)
    }

    /// Raw bytes (`/api/sessions/:id/output`).
    pub async fn get_bytes(&self, path: &str) -> ClientResult<bytes::Bytes> {
        let response = self.send(self.request(Method::GET, path)).await?;
        let response = check(response).await?;
        response
            .bytes()
            .await
            .map_err(|e| ClientError::Protocol(format!("the answer broke off: {e}")))
    }

    /// `GET /api/messages/stream`: messages as they are posted (after `after`, if given).
    pub async fn message_stream(
        &self,
        query: &crate::model::ListMessages,
    ) -> ClientResult<impl Stream<Item = ClientResult<Value>>> {
        use eventsource_stream::Eventsource;
        let response = self
            .send(
                self.request(Method::GET, "/api/messages/stream")
                    .query(query),
            )
            .await?;
        let response = check(response).await?;
        Ok(response
            .bytes_stream()
            .eventsource()
            .filter_map(|event| async move {
                match event {
                    Ok(e) if e.event == "message:created" => {
                        Some(serde_json::from_str(&e.data).map_err(|err| {
                            ClientError::Protocol(format!("a malformed message: {err}"))
                        }))
                    }
                    Ok(_) => None,
                    Err(err) => Some(Err(ClientError::Protocol(format!(
                        "the stream broke off: {err}"
                    )))),
                }
            }))
    }

    /// Opens the WebSocket at `path` (`ws://…`), with the token.
    async fn websocket(&self, path: &str) -> ClientResult<Terminal> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::Error;
        let url = format!("{}{path}", self.endpoint.url.replacen("http", "ws", 1));
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| ClientError::Setup(format!("bad server address {url}: {e}")))?;
        let auth = format!("Bearer {}", self.endpoint.token)
            .parse()
            .map_err(|_| ClientError::Setup("the token holds characters a header cannot".into()))?;
        request.headers_mut().insert("authorization", auth);
        match tokio_tungstenite::connect_async(request).await {
            Ok((ws, _)) => Ok(ws),
            Err(Error::Http(response)) => {
                let body = response
                    .body()
                    .as_deref()
                    .and_then(|b| serde_json::from_slice(b).ok())
                    .unwrap_or(Value::Null);
                Err(api_error(response.status(), &body))
            }
            Err(Error::Io(_)) => Err(self.not_running()),
            Err(other) => Err(ClientError::Protocol(format!(
                "cannot open {path}: {other}"
            ))),
        }
    }

    fn not_running(&self) -> ClientError {
        ClientError::NotRunning(format!(
            "nothing answers at {} (start it with `baton serve` or open the desktop app)",
            self.endpoint.url
        ))
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.endpoint.url))
            .bearer_auth(&self.endpoint.token)
            .header(crate::api::audit::DOOR_HEADER, self.door)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> ClientResult<Value> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = check(self.send(request).await?).await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ClientError::Protocol(format!("the answer broke off: {e}")))?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::Protocol(format!("the server did not answer JSON: {e}")))
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> ClientResult<reqwest::Response> {
        request.send().await.map_err(|err| {
            if err.is_connect() {
                self.not_running()
            } else {
                ClientError::Protocol(format!(
                    "request to {} failed: {}",
                    self.endpoint.url,
                    err.without_url()
                ))
            }
        })
    }
}

/// Passes a 2xx answer on; turns anything else into [`ClientError::Api`].
async fn check(response: reqwest::Response) -> ClientResult<reqwest::Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body: Value = response.json().await.unwrap_or(Value::Null);
    Err(api_error(status, &body))
}

/// An error answer of the API (`{"error","code","details"}`) as a [`ClientError::Api`].
fn api_error(status: StatusCode, body: &Value) -> ClientError {
    let message = body["error"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| match status {
            StatusCode::UNAUTHORIZED => "the server refused the token".to_owned(),
            other => format!("the server answered {other}"),
        });
    ClientError::Api {
        status: status.as_u16(),
        code: body["code"].as_str().unwrap_or("").to_owned(),
        message,
        details: body["details"].clone(),
    }
}

/// An answer read as the model type it should be.
fn typed<T: DeserializeOwned>(path: &str, value: Value) -> ClientResult<T> {
    serde_json::from_value(value)
        .map_err(|e| ClientError::Protocol(format!("unexpected answer from {path}: {e}")))
}
