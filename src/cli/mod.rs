//! The `baton` command line: `baton serve` runs the headless server. (Subcommands for tasks,
//! sessions and messages come with the CLI issue; they will call the API, not the store.)

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{platform_data_dir, Config, DEFAULT_PORT};

#[derive(Debug, Parser)]
#[command(
    name = "baton",
    version,
    about = "Run many AI coding agents at once: tasks, sessions, live terminals, a loopback API.",
    long_about = "Baton keeps projects, tasks, sessions and messages in a database and serves them \
                  over a loopback HTTP + WebSocket API guarded by a token.\n\n\
                  The data folder (database and API token) is --data-dir, else $BATON_DATA_DIR, \
                  else the platform's data folder (~/.local/share/baton on Linux). The token is \
                  in <data folder>/token; send it as `Authorization: Bearer <token>`."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server in the foreground until SIGINT or SIGTERM.
    #[command(
        long_about = "Run the API server in the foreground until SIGINT or SIGTERM.\n\n\
                      When it is ready it prints exactly one line to stdout, \
                      `listening on http://127.0.0.1:PORT`; logs go to stderr (RUST_LOG sets \
                      the level). Every route but GET /api/health needs the token; the OpenAPI \
                      document is at /api/openapi.json."
    )]
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Folder for the database and the API token (created with mode 0700).
    #[arg(long, env = "BATON_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on. Keep the loopback default unless you know why not: the token is
    /// then the only protection.
    #[arg(long, default_value = "127.0.0.1", value_name = "IP")]
    pub host: IpAddr,
    /// Port to listen on; 0 picks a free one (the ready line says which).
    #[arg(long, default_value_t = DEFAULT_PORT, value_name = "N")]
    pub port: u16,
    /// Use this database instead of the SQLite file in the data folder (e.g. postgres://…).
    #[arg(
        long,
        env = "BATON_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,
    /// The built web UI to serve at `/` (default: ui/dist of the source tree). Open it as
    /// http://127.0.0.1:PORT/#token=<token>.
    #[arg(long, env = "BATON_UI_DIR", value_name = "DIR")]
    pub ui_dir: Option<PathBuf>,
    /// The wait before a failed webhook delivery is retried; it doubles after each failure
    /// (up to 5 minutes), for 8 attempts in all.
    #[arg(
        long,
        env = "BATON_WEBHOOK_BACKOFF_MS",
        default_value_t = 1000,
        value_name = "MS"
    )]
    pub webhook_backoff_ms: u64,
}

impl ServeArgs {
    /// The server configuration these arguments describe.
    pub fn config(&self) -> Result<Config, String> {
        let data_dir = match &self.data_dir {
            Some(dir) => dir.clone(),
            None => platform_data_dir().ok_or(
                "no platform data folder could be found; pass --data-dir or set BATON_DATA_DIR",
            )?,
        };
        let data_dir = if data_dir.is_absolute() {
            data_dir
        } else {
            std::env::current_dir()
                .map_err(|e| format!("cannot resolve the data folder: {e}"))?
                .join(data_dir)
        };
        Ok(Config {
            data_dir,
            host: self.host,
            port: self.port,
            database_url: self.database_url.clone(),
            ui_dir: self
                .ui_dir
                .clone()
                .unwrap_or_else(crate::api::ui::default_dir),
            webhooks: crate::service::webhook_delivery::Policy {
                backoff: std::time::Duration::from_millis(self.webhook_backoff_ms),
                ..Default::default()
            },
        })
    }
}
