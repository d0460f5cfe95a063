//! Starting and stopping the API server: the one start-up function used by `baton serve`, the
//! desktop shell and the tests. It binds first (so `--port 0` resolves to a real port before
//! anything needs the URL), then opens the store, and serves until told to stop.

use std::future::IntoFuture;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::api::guard::Guard;
use crate::api::state::AppState;
use crate::config::{prepare_data_dir, Config};
use crate::events::EventBus;
use crate::pty::LocalHost;
use crate::security::{SessionTokens, SharedToken, TokenError};
use crate::service::runtime::Runtime;
use crate::service::Service;
use crate::store::{self, StoreError};

/// How long open connections get to finish once shutdown starts.
const DRAIN: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot prepare the data folder {path}: {source}")]
    DataDir { path: String, source: io::Error },
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot prepare the database: {0}")]
    Service(#[source] crate::service::ServiceError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    url: String,
    service: Service,
    shutdown: CancellationToken,
    task: JoinHandle<io::Result<()>>,
}

impl Server {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, e.g. `http://127.0.0.1:7420`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn service(&self) -> &Service {
        &self.service
    }

    /// A token that stops the server when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops accepting, closes WebSockets, lets requests in flight finish (up to a few seconds),
    /// stops every agent (SIGKILL after the grace period) and returns once all is down.
    pub async fn stop(self) -> io::Result<()> {
        self.shutdown.cancel();
        let service = self.service.clone();
        let served = self.wait().await;
        service
            .stop_all_sessions(crate::service::DEFAULT_GRACE)
            .await;
        served
    }

    /// Waits until the server stops (after its shutdown token is cancelled).
    pub async fn wait(self) -> io::Result<()> {
        match self.task.await {
            Ok(result) => result,
            Err(join) => Err(io::Error::other(join)),
        }
    }
}

/// Prepares the data folder, the token and the store, binds, and starts serving.
pub async fn start(config: &Config) -> Result<Server, StartError> {
    prepare_data_dir(&config.data_dir).map_err(|source| StartError::DataDir {
        path: config.data_dir.display().to_string(),
        source,
    })?;
    let token = SharedToken::load_or_create(&config.data_dir)?;

    let bind = SocketAddr::new(config.host, config.port);
    let listener = TcpListener::bind(bind)
        .await
        .map_err(|source| StartError::Bind { addr: bind, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| StartError::Bind { addr: bind, source })?;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "listening beyond loopback: anyone who can reach this address and has the token controls your agents");
    }
    let url = format!("http://{}", url_host(addr));

    let db_url = config
        .database_url
        .clone()
        .unwrap_or_else(|| store::connect::sqlite_url(&config.data_dir));
    let db = store::connect(&db_url).await?;
    let local = store::LocalSqlite::for_url(&db_url).map_err(store::StoreError::Open)?;

    let tokens = SessionTokens::default();
    let mut runtime = Runtime::new(
        Arc::new(LocalHost),
        &config.data_dir,
        tokens.clone(),
        token.clone(),
    );
    runtime.cli = config.cli.as_deref().and_then(|program| {
        crate::config::link_cli(&config.data_dir, program)
            .inspect_err(|err| {
                tracing::warn!(%err, "cannot link the baton CLI for agents; `baton` is not on their PATH")
            })
            .ok()
    });
    let service = Service::new(db, EventBus::new(), url.clone(), runtime).with_local_sqlite(local);
    service
        .seed_agent_profiles()
        .await
        .map_err(StartError::Service)?;
    // `--version` probes run in the background from now: `/api/agents` never waits for them.
    service.warm_agent_versions().await;
    let interrupted = service
        .mark_interrupted()
        .await
        .map_err(StartError::Service)?;
    if interrupted > 0 {
        tracing::warn!(
            interrupted,
            "sessions that were running when Baton last stopped are now marked interrupted"
        );
    }
    let shutdown = CancellationToken::new();
    service
        .start_webhooks(config.webhooks.clone(), shutdown.clone())
        .await
        .map_err(StartError::Service)?;
    // Queued work survives a restart: admission resumes here.
    service.start_queue().await.map_err(StartError::Service)?;
    service.start_conflict_watch(shutdown.clone());
    if config.audit_retention_days > 0 {
        service.keep_audit_for(config.audit_retention_days, shutdown.clone());
    }
    let extra_hosts = if addr.ip().is_loopback() {
        Vec::new()
    } else {
        vec![url_host(addr)]
    };
    let app = crate::api::router(
        AppState {
            service: service.clone(),
            shutdown: shutdown.clone(),
        },
        Guard::new(
            addr.port(),
            &extra_hosts,
            token,
            tokens,
            config.rates,
            service.metrics_handle(),
        ),
        &config.ui_dir,
    );
    record_address(&config.data_dir, &url);
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        let serve =
            axum::serve(listener, app).with_graceful_shutdown(stop.clone().cancelled_owned());
        let mut serve = std::pin::pin!(serve.into_future());
        tokio::select! {
            result = &mut serve => result,
            () = async { stop.cancelled().await; tokio::time::sleep(DRAIN).await } => {
                tracing::warn!("connections did not finish in time; closing them");
                Ok(())
            }
        }
    });
    Ok(Server {
        addr,
        url,
        service,
        shutdown,
        task,
    })
}

/// Writes `<data-dir>/server.json` (`{"url", "pid"}`) so that local tools find the running
/// server. Not a secret: the token stays in its own file.
fn record_address(data_dir: &std::path::Path, url: &str) {
    let info = serde_json::json!({ "url": url, "pid": std::process::id() });
    if let Err(err) = std::fs::write(data_dir.join("server.json"), info.to_string()) {
        tracing::warn!(%err, "cannot record the server's address");
    }
}

/// `host:port` as it goes in a URL (IPv6 in brackets).
fn url_host(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) => format!("{ip}:{}", addr.port()),
        IpAddr::V6(ip) => format!("[{ip}]:{}", addr.port()),
    }
}
