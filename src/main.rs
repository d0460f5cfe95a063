//! The `baton` binary: parses the command line and runs the chosen command.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use baton::cli::{Cli, Command, ServeArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
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
    let result = match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("baton: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let config = args.config()?;
    let server = baton::server::start(&config)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(data_dir = %config.data_dir.display(), "baton is ready");
    // The one line on stdout that scripts and tests wait for.
    println!("listening on {}", server.url());
    wait_for_signal()
        .await
        .map_err(|e| format!("cannot wait for signals: {e}"))?;
    tracing::info!("shutting down");
    server
        .stop()
        .await
        .map_err(|e| format!("server error: {e}"))
}

async fn wait_for_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
