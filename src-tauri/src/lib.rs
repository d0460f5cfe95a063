//! Baton's desktop window. It runs the core in-process — store, PTY engine, event bus and the
//! loopback API on 127.0.0.1 (port `$BATON_PORT`, else the one saved in settings, else a free one) — and shows the bundled web UI.
//! The UI talks to the core through Tauri commands (one thin command per service call, in
//! [`commands`]), receives the event bus as the Tauri event `baton://event`, and gets terminal
//! bytes over a `tauri::ipc::Channel` as raw binary. Closing the window with agents running asks
//! first (in the UI), then stops them cleanly.
//!
//! Nothing here holds a rule: every command is a call into `baton::service`.

mod commands;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;

use baton::config::{platform_data_dir, Config};
use baton::service::Service;
use tauri::{Emitter, Manager, WindowEvent};

/// What the commands reach.
pub struct Desktop {
    pub service: Service,
    pub url: String,
    pub data_dir: std::path::PathBuf,
    /// Terminal feeds being forwarded to the window, by attachment id.
    pub attachments: Mutex<HashMap<u64, tauri::async_runtime::JoinHandle<()>>>,
    pub next_attachment: AtomicU64,
}

fn config() -> Result<Config, String> {
    let data_dir = std::env::var_os("BATON_DATA_DIR")
        .map(std::path::PathBuf::from)
        .or_else(platform_data_dir)
        .ok_or("no data folder: set BATON_DATA_DIR")?;
    let port = baton::config::desktop_port(std::env::var("BATON_PORT").ok().as_deref(), &data_dir)?;
    let mut config = Config::new(data_dir);
    config.port = port;
    config.database_url = std::env::var("BATON_DATABASE_URL").ok();
    Ok(config)
}

/// When this process started, for the first-paint figure (`bench/desktop-weight.sh`).
pub static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Without a GPU (no DRM render node) WebKit renders through a software GL (llvmpipe) that costs
/// about 80 MB in its web process and gains nothing: it then draws without GPU compositing. A
/// variable the user set is left as it is.
fn software_rendering_env(
    has_render_node: bool,
    is_set: impl Fn(&str) -> bool,
) -> Vec<&'static str> {
    if has_render_node {
        return Vec::new();
    }
    [
        "WEBKIT_DISABLE_DMABUF_RENDERER",
        "WEBKIT_DISABLE_COMPOSITING_MODE",
    ]
    .into_iter()
    .filter(|name| !is_set(name))
    .collect()
}

fn has_render_node() -> bool {
    std::fs::read_dir("/dev/dri").is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    })
}

/// Chooses WebKit's rendering for this machine: call before GTK starts and before any other
/// thread exists. Public for the blank-window baseline of `bench/desktop-weight.sh`.
pub fn prepare_rendering() {
    for name in software_rendering_env(has_render_node(), |n| std::env::var_os(n).is_some()) {
        std::env::set_var(name, "1");
    }
}

pub fn run() {
    STARTED.get_or_init(std::time::Instant::now);
    prepare_rendering();
    tracing_subscriber::fmt()
        .with_writer(baton::security::redact::RedactingWriter(std::io::stderr))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_notification::init())
        .setup(|app| {
            let config = config()?;
            let server = tauri::async_runtime::block_on(baton::server::start(&config))?;
            tracing::info!(url = server.url(), "core started");
            // The event bus, forwarded to the window as it is published.
            let mut events = server.service().subscribe(&baton::service::Actor::Desktop);
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                loop {
                    match events.recv().await {
                        Ok(published) => {
                            let envelope: serde_json::Value =
                                serde_json::from_str(published.json()).unwrap_or_default();
                            if let Err(err) = handle.emit("baton://event", envelope) {
                                tracing::warn!(%err, "cannot forward an event to the window");
                            }
                        }
                        // The UI reloads on this signal, as after a reconnect.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                            let _ = handle.emit("baton://resync", ());
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    }
                }
            });
            app.manage(Desktop {
                service: server.service().clone(),
                url: server.url().to_owned(),
                data_dir: config.data_dir.clone(),
                attachments: Mutex::new(HashMap::new()),
                next_attachment: AtomicU64::new(1),
            });
            app.manage(Mutex::new(Some(server)));
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                // The UI asks first when agents run, then calls `quit`.
                api.prevent_close();
                if let Err(err) = window.emit("baton://close-requested", ()) {
                    tracing::warn!(%err, "cannot ask the window about closing");
                }
            }
        })
        .invoke_handler(commands::builder().invoke_handler())
        .run(tauri::generate_context!("../tauri.conf.json"));
    if let Err(err) = result {
        eprintln!("baton-desktop: {err}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::software_rendering_env;

    /// The UI calls the commands through `ui/src/generated/desktop.ts`, made from the command
    /// list: a command added, renamed or retyped without regenerating it fails here.
    #[test]
    fn the_checked_in_bindings_are_current() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/generated/desktop.ts");
        let fresh = std::env::temp_dir().join(format!("baton-desktop-{}.ts", std::process::id()));
        super::commands::export_bindings(&fresh).unwrap();
        let current = std::fs::read_to_string(&fresh).unwrap();
        let _ = std::fs::remove_file(&fresh);
        if std::env::var_os("BATON_UPDATE_CONTRACT").is_some() {
            std::fs::write(&path, &current).unwrap();
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == current,
            "ui/src/generated/desktop.ts is stale: run `BATON_UPDATE_CONTRACT=1 cargo test -p baton-desktop --lib bindings` and commit it"
        );
    }

    #[test]
    fn software_rendering_turns_off_what_only_a_gpu_pays_for() {
        assert!(software_rendering_env(true, |_| false).is_empty());
        assert_eq!(
            software_rendering_env(false, |_| false),
            [
                "WEBKIT_DISABLE_DMABUF_RENDERER",
                "WEBKIT_DISABLE_COMPOSITING_MODE"
            ]
        );
        assert_eq!(
            software_rendering_env(false, |n| n == "WEBKIT_DISABLE_COMPOSITING_MODE"),
            ["WEBKIT_DISABLE_DMABUF_RENDERER"],
            "the user's own setting stands"
        );
    }
}
