//! `/`: the web UI (the same build the desktop window bundles), served from a folder.
//!
//! These files are public — they hold no data; every call they make needs the token, which the
//! page takes from the URL fragment (never sent to a server). They go out with a strict Content
//! Security Policy: scripts and styles from this origin only, connections to this server only.
//! They are compressed (gzip or brotli, as the browser accepts), and the hashed files under
//! `/assets/` are cached for good (`immutable`) while `index.html` is checked each time.

use std::path::{Path, PathBuf};

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::Router;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::services::{ServeDir, ServeFile};

/// The folder of the built UI: `--ui-dir`, else `$BATON_UI_DIR`, else `ui/dist` of this source
/// tree (a development build).
pub fn default_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("ui")
        .join("dist")
}

/// Routes serving `dir` at `/` (or a page saying how to build it).
pub fn routes<S: Clone + Send + Sync + 'static>(dir: &Path) -> Router<S> {
    let index = dir.join("index.html");
    if !index.is_file() {
        return Router::new().route("/", axum::routing::get(not_built));
    }
    Router::new()
        .fallback_service(ServeDir::new(dir).fallback(ServeFile::new(index)))
        .layer(axum::middleware::from_fn(secure_headers))
        // Fast levels: these files are compressed on each request (about 0.5 MB in all).
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
}

async fn not_built() -> Html<&'static str> {
    Html("<!doctype html><title>Baton</title><p>The web UI is not built: run <code>npm ci &amp;&amp; npm run build</code> in <code>ui/</code>, or start <code>baton serve --ui-dir DIR</code>.</p>")
}

async fn secure_headers(req: Request, next: Next) -> Response {
    // Vite names these files by their content: a new build has new names.
    let immutable = req.uri().path().starts_with("/assets/");
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let mut response = next.run(req).await.into_response();
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         connect-src 'self' ws://{host}; img-src 'self' data:; font-src 'self' data:; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
    );
    let ok = response.status().is_success();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let cache = if immutable && ok {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}
