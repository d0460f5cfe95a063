//! Where Baton keeps its data and how the server listens.
//!
//! The data folder is `--data-dir`, else `BATON_DATA_DIR`, else the platform's data folder
//! (`~/.local/share/baton` on Linux). It holds the SQLite database and the admin token, and is
//! kept owner-only (mode 0700).

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

/// The default API port of `baton serve` (`--port 0` picks a free one).
pub const DEFAULT_PORT: u16 = 7420;

#[derive(Clone, Debug)]
pub struct Config {
    pub data_dir: PathBuf,
    pub host: IpAddr,
    pub port: u16,
    /// A database URL (`postgres://…`) instead of the SQLite file in the data folder.
    /// It may hold a password: never log it.
    pub database_url: Option<String>,
    /// The built web UI served at `/`.
    pub ui_dir: PathBuf,
    /// How webhook deliveries are tried and retried.
    pub webhooks: crate::service::webhook_delivery::Policy,
    /// A program that answers `baton …` subcommands (the `baton` binary, or the desktop app):
    /// agents get it on their `PATH` as `baton`, and MCP-capable agents run `baton mcp` with it.
    pub cli: Option<PathBuf>,
    /// Audit records older than this many days are deleted (0: kept for ever).
    pub audit_retention_days: u32,
    /// Requests per second allowed per token (see `api::rate_limit`).
    pub rates: crate::api::rate_limit::Rates,
}

impl Config {
    /// A loopback server on `port` with its data in `data_dir`.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            database_url: None,
            ui_dir: crate::api::ui::default_dir(),
            webhooks: Default::default(),
            cli: std::env::current_exe().ok(),
            audit_retention_days: crate::service::audit::DEFAULT_RETENTION_DAYS,
            rates: Default::default(),
        }
    }
}

/// The desktop's own settings file in the data folder (what its Settings dialog saves).
pub const DESKTOP_SETTINGS: &str = "settings.json";

/// The API port saved in `<data-dir>/settings.json` (`{"apiPort": N}`), if any.
pub fn saved_port(data_dir: &Path) -> Option<u16> {
    let text = std::fs::read_to_string(data_dir.join(DESKTOP_SETTINGS)).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["apiPort"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
}

/// The desktop's API port: `$BATON_PORT` when set, else the one saved in its settings, else 0
/// (a free one).
pub fn desktop_port(env: Option<&str>, data_dir: &Path) -> Result<u16, String> {
    match env {
        Some(port) => port
            .parse()
            .map_err(|_| format!("BATON_PORT is not a port: {port}")),
        None => Ok(saved_port(data_dir).unwrap_or(0)),
    }
}

/// The platform's data folder for Baton, if the platform has one.
pub fn platform_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("dev", "Baton", "baton")
        .map(|dirs| dirs.data_dir().to_path_buf())
}

/// Creates the data folder if needed and makes it owner-only.
pub fn prepare_data_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode != 0o700 {
            tracing::info!(path = %dir.display(), "restricting the data folder to its owner (0700)");
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// Makes `<data-dir>/bin/baton` a link to `program`, so that agents find the CLI by its name
/// whatever the program's own file is called. Returns the link.
pub fn link_cli(data_dir: &Path, program: &Path) -> io::Result<PathBuf> {
    let bin = data_dir.join("bin");
    std::fs::create_dir_all(&bin)?;
    let link = bin.join("baton");
    if std::fs::read_link(&link).is_ok_and(|to| to == program) {
        return Ok(link);
    }
    // Replaced atomically: an agent starting right now sees the old link or the new one.
    let staging = bin.join(format!(".baton-{}", std::process::id()));
    let _stale = std::fs::remove_file(&staging);
    #[cfg(unix)]
    std::os::unix::fs::symlink(program, &staging)?;
    #[cfg(not(unix))]
    std::fs::copy(program, &staging).map(|_| ())?;
    std::fs::rename(&staging, &link)?;
    Ok(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: the desktop saved its port setting and promised "used from the next start",
    /// but start-up read only the environment.
    #[test]
    fn the_desktop_port_comes_from_the_environment_then_the_saved_settings() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            desktop_port(None, dir.path()),
            Ok(0),
            "nothing saved: a free port"
        );
        std::fs::write(dir.path().join(DESKTOP_SETTINGS), r#"{"apiPort": 7777}"#).unwrap();
        assert_eq!(desktop_port(None, dir.path()), Ok(7777));
        assert_eq!(
            desktop_port(Some("7001"), dir.path()),
            Ok(7001),
            "the environment wins"
        );
        assert!(desktop_port(Some("x"), dir.path()).is_err());
        std::fs::write(dir.path().join(DESKTOP_SETTINGS), r#"{"apiPort": null}"#).unwrap();
        assert_eq!(desktop_port(None, dir.path()), Ok(0));
        std::fs::write(dir.path().join(DESKTOP_SETTINGS), "not json").unwrap();
        assert_eq!(desktop_port(None, dir.path()), Ok(0));
    }
}
