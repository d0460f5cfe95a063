//! The `baton` program's entry: parse the command line, set up logging and the async runtime,
//! run the command. Shared by the `baton` binary and the desktop app (which answers the same
//! subcommands, so that agents it starts can run `baton …` and `baton mcp` through it).

use std::ffi::OsString;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use super::{Cli, Command, ServeArgs};

/// Whether `args` (program name first) ask for a `baton` subcommand.
pub fn is_command(args: &[OsString]) -> bool {
    let Some(first) = args.get(1).and_then(|a| a.to_str()) else {
        return false;
    };
    Cli::command()
        .get_subcommands()
        .any(|c| c.get_name() == first)
}

/// Runs the `baton` command line given by `args` (program name first).
pub fn main(args: Vec<OsString>) -> ExitCode {
    let cli = Cli::parse_from(args);
    // An agent's hook: no logging set-up, no threads — fast, silent, always 0.
    if let Command::Hook { event, payload } = &cli.command {
        return super::hook::run(event, payload.as_deref());
    }
    // The server says what it does; a client command only speaks up when something is wrong.
    let default_level = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    tracing_subscriber::fmt()
        .with_writer(crate::security::redact::RedactingWriter(std::io::stderr))
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("baton: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let data_dir = cli.global.data_dir.clone();
    let result = match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args, data_dir.as_deref())),
        Command::Mcp => runtime.block_on(crate::mcp::serve_stdio(&cli.global)),
        _ => return runtime.block_on(super::run(cli)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("baton: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs, data_dir: Option<&std::path::Path>) -> Result<(), String> {
    let config = args.config(data_dir)?;
    // Handlers go in before the ready line: a supervisor may signal as soon as it reads it.
    let signals = Signals::install().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let server = crate::server::start(&config)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(data_dir = %config.data_dir.display(), "baton is ready");
    // The one line on stdout that scripts and tests wait for.
    println!("listening on {}", server.url());
    signals.wait().await;
    tracing::info!("shutting down");
    server
        .stop()
        .await
        .map_err(|e| format!("server error: {e}"))
}

/// SIGINT and SIGTERM, listened for from the moment they are installed.
#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn install() -> std::io::Result<Self> {
        Ok(Self)
    }

    async fn wait(self) {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot wait for Ctrl+C");
        }
    }
}
